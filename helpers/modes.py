"""Evaluate a model with chosen layer families in training mode, leaving the model unchanged.

``fit()`` runs Dropout and BatchNormalization in training mode, ``evaluate()`` in inference
mode; these functions measure any mix of the two and restore every variable bit for bit.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import math
import weakref
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from helpers import checks
from helpers.reproducibility import import_keras_quietly

FAMILIES = ("dropout", "batchnorm", "other")
MODES = ("inference", "training")


def _keras():
    return import_keras_quietly()


# The Keras layers that add random noise in training mode only (the "dropout" family).
NOISE_LAYERS = (
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianDropout",
    "GaussianNoise",
    "AlphaDropout",
)


def noise_types() -> tuple:
    """The classes of :data:`NOISE_LAYERS` this Keras version has."""
    layers = _keras().layers
    return tuple(getattr(layers, n) for n in NOISE_LAYERS if hasattr(layers, n))


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
    if isinstance(layer, noise_types()):
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


def numpy_value(variable) -> np.ndarray:
    """A NumPy copy of a Keras variable's value, on every backend.

    ``np.asarray(variable.value)`` avoids NumPy 2's deprecation warnings on both backends
    (``variable.numpy()`` warns on JAX); copied because JAX may donate the buffer later.
    """
    return np.array(np.asarray(variable.value), copy=True)


def _state_variables(model) -> list:
    variables = list(model.variables)  # includes BN statistics and seed states
    variables += [
        v for v in getattr(model, "metrics_variables", []) if not any(v is w for w in variables)
    ]
    return variables


@contextlib.contextmanager
def preserved_state(model) -> Iterator[None]:
    """Restore every variable of ``model`` when the block exits: weights, BatchNorm
    statistics, seed generators (later dropout masks stay the same) and metric accumulators."""
    with _restored(_state_variables(model)):
        yield


def fingerprint(model) -> dict[str, str]:
    """A digest of every variable of ``model`` and its optimizer: path -> hash of the bytes.

    Comparing two fingerprints shows which variables an operation changed, bit for bit,
    without keeping a copy of every weight.
    """
    variables = list(model.variables)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    return {
        v.path: hashlib.blake2b(
            np.ascontiguousarray(numpy_value(v)).tobytes(), digest_size=16
        ).hexdigest()
        for v in variables
    }


@contextlib.contextmanager
def patched_calls(layers: Iterable, wrap: Callable) -> Iterator[None]:
    """Replace each layer's ``call`` by ``wrap(layer, original_call)`` for the block.

    The originals come back on exit, even after an error, so the model is left as it was.
    """
    patched = []
    try:
        for layer in layers:
            original = layer.call
            had_own = "call" in vars(layer)
            # object.__setattr__ bypasses Keras's attribute tracking
            object.__setattr__(layer, "call", wrap(layer, original))
            patched.append((layer, original, had_own))
        yield
    finally:
        for layer, original, had_own in reversed(patched):
            if had_own:
                object.__setattr__(layer, "call", original)
            else:
                object.__delattr__(layer, "call")


def forced_mode(layers: Iterable, training: bool):
    """Make ``layers`` run with ``training=training`` whatever the model is called with
    (Keras's own ``call`` does the work; restored on exit)."""

    def wrap(layer, original):
        def call(*args, **kwargs):
            kwargs["training"] = training
            return original(*args, **kwargs)

        return call

    return patched_calls(layers, wrap)


def _resolve_active(mode) -> set[str]:
    if isinstance(mode, str):
        if mode not in MODES:
            raise ValueError(
                f"invalid `mode`: {mode!r}; expected 'inference', 'training', or a "
                f"collection of layer families from {FAMILIES}, e.g. mode={{'dropout'}}"
            )
        return set(FAMILIES) if mode == "training" else set()
    unknown = set(mode) - set(FAMILIES)
    if unknown:
        raise ValueError(
            f"unknown layer families {sorted(unknown)!r} in `mode`; expected a subset of {FAMILIES}"
        )
    return set(mode)


def make_batches(x, y=None, sample_weight=None, *, batch_size: int = 32) -> list[tuple]:
    """Cut data once into the batches ``evaluate()`` would cut it into, with its conversions
    (floats cast to ``floatx``, lists to tuples, one ``sample_weight`` for every output).

    Example:
        >>> [len(b[0]) for b in make_batches(np.zeros((5, 2)), np.zeros(5), batch_size=2)]
        [2, 2, 1]
    """
    keras = _keras()
    n = checks.samples(x, y, sample_weight)
    batch_size = checks.positive_int("batch_size", batch_size, example=32)
    if (
        sample_weight is not None
        and keras.tree.is_nested(y)
        and not keras.tree.is_nested(sample_weight)
    ):
        sample_weight = keras.tree.map_structure(lambda _: sample_weight, y)

    def floatx(a):
        a = np.asarray(a)
        return a.astype(keras.config.floatx()) if a.dtype.kind == "f" else a

    data = keras.tree.lists_to_tuples(
        keras.tree.map_structure(floatx, keras.utils.pack_x_y_sample_weight(x, y, sample_weight))
    )
    return [
        keras.tree.map_structure(
            lambda a, start=start: keras.ops.convert_to_tensor(a[start : start + batch_size]),
            data,
        )
        for start in range(0, n, batch_size)
    ]


def evaluate_batches(model, batches: list, *, mode="inference") -> dict[str, float]:
    """:func:`evaluate_in_mode` on batches from :func:`make_batches`: the fast path.

    Inference mode runs the model's own compiled test function, so the numbers are
    ``evaluate()``'s to the last bit without its per-call set-up. Other modes run a compiled
    copy of ``model.test_step`` (cached per model and mode) with the chosen families forced
    into training mode. Every variable is restored afterwards.
    """
    checks.compiled(model, "evaluate_batches()")
    backend = checks.backend("evaluate_batches()")
    active = _resolve_active(mode)
    model.make_test_function()  # no-op when it exists; compile() discards it
    if active:
        step, per_call = _training_step(model, active, backend), 1
        switched = [layer for layer in leaf_layers(model) if layer_family(layer) in active]
        kept = _state_variables(model)  # BatchNorm statistics and seed states move
    else:
        step, per_call = model.test_function, model.steps_per_execution
        switched, kept = [], list(model.metrics_variables)
    with _restored(kept), forced_mode(switched, training=True):
        model.reset_metrics()
        feed, calls = iter(batches), math.ceil(len(batches) / per_call)
        if backend == "jax":
            # The JAX trainer's functions are pure -- state in, state out -- and donate the
            # state they are given, so they get copies; the model's variables are read only.
            state = tuple(
                [_keras().ops.copy(v.value) for v in variables]
                for variables in (
                    model.trainable_variables,
                    model.non_trainable_variables,
                    model.metrics_variables,
                )
            )
            for _ in range(calls):
                logs, state = step(state, feed)
            for variable, value in zip(model.metrics_variables, state[2]):
                variable.assign(value)  # read as evaluate() reads them, then restored
        else:
            for _ in range(calls):
                logs = step(feed)
        metrics = model.get_metrics_result()
        # As evaluate() does: the metrics, unless a custom test_step returns other keys.
        return _floats(metrics if isinstance(logs, dict) and set(logs) == set(metrics) else logs)


def _floats(logs) -> dict[str, float]:
    """Keras's own log clean-up: nested dicts flattened, values as floats, keys sorted."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(_floats(value))
        else:
            result[key] = float(np.asarray(value))
    return result


# model -> {key: (test_function weakref, step)}; entries leave with the model.
_STEPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _training_step(model, active: set[str], backend: str):
    """A compiled copy of ``model.test_step``, one batch per call, called as the model's own
    test function is; always run inside :func:`forced_mode` (else it traces inference mode)."""
    key = (frozenset(active), tuple(layer.trainable for layer in leaf_layers(model)))
    cached = _STEPS.setdefault(model, {}).get(key)
    if cached and cached[0]() is model.test_function:  # not recompiled since
        return cached[1]
    ref = weakref.ref(model)  # the cache must not keep the model alive

    # Compiled as Keras compiles its own steps; the one backend-specific part of the kit.
    if backend == "jax":
        import jax

        def one(state, data):
            return ref().test_step(state, data)

        compiled = one if model.run_eagerly else jax.jit(one)

        def step(state, iterator):
            return compiled(state, next(iterator))
    else:
        import tensorflow as tf

        def one(data):
            return ref().test_step(data)

        compiled = one
        if not model.run_eagerly:
            compiled = tf.function(one, reduce_retracing=True, jit_compile=model.jit_compile)

        def step(iterator):
            return compiled(next(iterator))

    _STEPS[model][key] = (weakref.ref(model.test_function), step)
    return step


@contextlib.contextmanager
def _restored(variables: list) -> Iterator[None]:
    """Put ``variables`` back to their values when the block exits."""
    saved = [numpy_value(v) for v in variables]
    try:
        yield
    finally:
        for variable, value in zip(variables, saved):
            variable.assign(value)


def evaluate_in_mode(
    model, x, y, *, mode="inference", sample_weight=None, batch_size: int = 32
) -> dict[str, float]:
    """Like ``model.evaluate(..., return_dict=True)``, in a chosen mode; the model is unchanged.

    ``mode="inference"`` gives exactly ``evaluate()``'s numbers; ``"training"`` runs every layer
    as ``fit()`` does, without an update; a collection such as ``{"dropout"}`` switches on only
    those families (from ``FAMILIES``). TensorFlow and JAX; other backends raise
    ``NotImplementedError``. ``batch_size`` is ``fit()``'s (BatchNormalization's batch
    statistics depend on it).

    Returns:
        A dict from metric name (``"loss"``, ``"accuracy"``, …) to value.
    """
    checks.compiled(model, "evaluate_in_mode()")
    checks.backend("evaluate_in_mode()")
    _resolve_active(mode)  # a bad mode fails before the data is cut into batches
    return evaluate_batches(
        model, make_batches(x, y, sample_weight, batch_size=batch_size), mode=mode
    )
