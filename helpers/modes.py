"""Evaluate a model with chosen layer families in training mode.

Introduced in ``notebooks/00_start_here.ipynb``. ``fit()`` runs every layer
in training mode (Dropout drops, BatchNormalization uses the batch's own
statistics); ``evaluate()`` runs them in inference mode. The functions here
measure any mix of the two *without changing the model*: every variable --
weights, BatchNorm moving statistics, random-seed state -- is restored bit
for bit afterwards.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable, Iterator

import numpy as np

from helpers import checks
from helpers.reproducibility import import_tensorflow_quietly

FAMILIES = ("dropout", "batchnorm", "other")
MODES = ("inference", "training")


def _keras():
    return import_tensorflow_quietly()[1]


def _noise_types():
    layers = _keras().layers
    names = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
             "GaussianDropout", "GaussianNoise", "AlphaDropout")
    return tuple(getattr(layers, n) for n in names if hasattr(layers, n))


def leaf_layers(model) -> list:
    """All layers of ``model`` that hold no sub-layers, nested models opened."""
    found = []
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            found.extend(leaf_layers(layer))
        else:
            found.append(layer)
    return found


def layer_family(layer) -> str | None:
    """Which family of training-mode behaviour a layer belongs to.

    Returns:
        ``"batchnorm"`` for BatchNormalization, ``"dropout"`` for Dropout and
        the noise layers, ``"other"`` for other layers that act differently
        in training mode (recurrent or attention dropout, data augmentation,
        custom layers whose ``call`` takes ``training``), ``None`` for layers
        that behave the same in both modes.
    """
    keras = _keras()
    if isinstance(layer, keras.layers.BatchNormalization):
        return "batchnorm"
    if isinstance(layer, _noise_types()):
        return "dropout"
    if "training" not in inspect.signature(layer.call).parameters:
        return None
    if not type(layer).__module__.startswith("keras"):
        return "other"  # a custom layer that looks at `training`: assume it matters
    # Built-in layers accept `training` for many reasons (Dense does, for
    # quantisation); only these actually behave differently in training mode.
    if getattr(layer, "dropout", 0) or getattr(layer, "recurrent_dropout", 0):
        return "other"  # RNN cells, attention with internal dropout
    if type(layer).__name__.startswith("Random"):
        return "other"  # data augmentation layers act only in training mode
    return None


def families_present(model) -> dict[str, int]:
    """Count the layers of each family in ``model``.

    Example:
        >>> from helpers.models import build_checkpoint_mlp
        >>> families_present(build_checkpoint_mlp())
        {'dropout': 2}
    """
    counts: dict[str, int] = {}
    for layer in leaf_layers(model):
        family = layer_family(layer)
        if family:
            counts[family] = counts.get(family, 0) + 1
    return counts


def _state_variables(model) -> list:
    variables = list(model.variables)  # includes BN statistics and seed states
    variables += [v for v in getattr(model, "metrics_variables", []) if not any(v is w for w in variables)]
    return variables


@contextlib.contextmanager
def preserved_state(model) -> Iterator[None]:
    """Restore every variable of ``model`` when the block exits.

    Covers trainable weights, BatchNorm moving statistics, the state of
    every random-seed generator (so dropout masks after the block are the
    ones they would have been) and the compiled metrics' accumulators.
    """
    variables = _state_variables(model)
    saved = [np.array(v.numpy(), copy=True) for v in variables]
    try:
        yield
    finally:
        for variable, value in zip(variables, saved):
            variable.assign(value)


@contextlib.contextmanager
def forced_mode(layers: Iterable, training: bool) -> Iterator[None]:
    """Make ``layers`` run with ``training=training`` whatever the model is called with.

    Each layer's ``call`` is wrapped for the duration of the block and
    restored on exit, so Keras's own code does the work in either mode.
    """
    patched = []
    try:
        for layer in layers:
            original = layer.call

            def call(*args, _original=original, **kwargs):
                kwargs["training"] = training
                return _original(*args, **kwargs)

            had_own = "call" in vars(layer)
            object.__setattr__(layer, "call", call)  # bypass Keras's attribute tracking
            patched.append((layer, original, had_own))
        yield
    finally:
        for layer, original, had_own in reversed(patched):
            if had_own:
                object.__setattr__(layer, "call", original)
            else:
                object.__delattr__(layer, "call")


def _forced_inference(layers: Iterable) -> contextlib.AbstractContextManager:
    """Make ``layers`` run in inference mode even inside ``training=True``."""
    return forced_mode(layers, training=False)


def _resolve_active(model, mode) -> set[str]:
    if isinstance(mode, str):
        if mode not in MODES:
            raise ValueError(
                f"invalid `mode`: {mode!r}; expected 'inference', 'training', or a "
                f"collection of layer families from {FAMILIES}, e.g. mode={{'dropout'}}"
            )
        return set(FAMILIES) if mode == "training" else set()
    active = set(mode)
    unknown = active - set(FAMILIES)
    if unknown:
        raise ValueError(
            f"unknown layer families {sorted(unknown)!r} in `mode`; expected a subset "
            f"of {FAMILIES}"
        )
    return active


def evaluate_in_mode(model, x, y, *, mode="inference", sample_weight=None,
                     batch_size: int = 32) -> dict[str, float]:
    """Like ``model.evaluate(..., return_dict=True)``, in a chosen mode.

    ``mode="inference"`` *is* ``model.evaluate``. ``mode="training"`` runs
    every layer as ``fit()`` does -- Dropout drops, BatchNormalization
    normalises with each batch's statistics -- but applies no update. A
    collection such as ``{"dropout"}`` switches on only those families
    (see :func:`layer_family`); the rest stay in inference mode. Nothing
    about the model changes: see :func:`preserved_state`.

    Args:
        model: A compiled Keras model.
        x: Inputs.
        y: Targets.
        mode: ``"inference"``, ``"training"``, or a collection of families
            from ``("dropout", "batchnorm", "other")``. Defaults to
            ``"inference"``.
        sample_weight: Optional per-sample weights. Defaults to None.
        batch_size: Batch size; in training mode BatchNormalization uses
            each batch's statistics, so pass the batch size used in
            ``fit()``. Defaults to 32, like ``fit()``.

    Returns:
        A dict from metric name (``"loss"``, ``"accuracy"``, …) to value.

    Raises:
        ValueError: for an uncompiled model, mismatched data, a bad mode or
            batch size.
    """
    checks.compiled(model, "evaluate_in_mode()")
    batch_size = checks.positive_int("batch_size", batch_size, example=32)
    active = _resolve_active(model, mode)
    n = checks.samples(x, y, sample_weight)
    if not active:
        result = model.evaluate(x, y, sample_weight=sample_weight, batch_size=int(batch_size),
                                verbose=0, return_dict=True)
        return {k: float(v) for k, v in result.items()}
    keras = _keras()
    frozen = [layer for layer in leaf_layers(model) if layer_family(layer) not in active | {None}]
    take = lambda data, s: None if data is None else keras.tree.map_structure(lambda a: a[s], data)
    with preserved_state(model), _forced_inference(frozen):
        model.reset_metrics()
        loss_sum = 0.0
        for start in range(0, n, int(batch_size)):
            s = slice(start, start + int(batch_size))
            xb, yb, wb = take(x, s), take(y, s), take(sample_weight, s)
            y_pred = model(xb, training=True)
            loss = model.compute_loss(x=xb, y=yb, y_pred=y_pred, sample_weight=wb, training=False)
            # Keras weights each batch's loss by its size; so do we.
            loss_sum += float(loss) * len(keras.tree.flatten(xb)[0])
            model.compute_metrics(xb, yb, y_pred, sample_weight=wb)
        result = {k: float(v) for k, v in model.get_metrics_result().items()}
        result["loss"] = loss_sum / n
    return result
