"""BatchNormalization's statistics: how far the moving ones lag, and recalibrating them.

Training mode normalises with the batch's statistics and moves ``moving = momentum * moving +
(1 - momentum) * batch``; inference uses the moving ones. :func:`recalibrate_batchnorm`
recomputes them from data ("PreciseBN", Wu & Johnson, *Rethinking "Batch" in BatchNorm*, 2021).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np

from helpers import checks
from helpers.modes import forced_mode, numpy_value
from helpers.reproducibility import import_keras_quietly
from helpers.table import Table


def _keras():
    return import_keras_quietly()


def travelled(momentum: float, updates: int) -> float:
    """The fraction of the way to a fixed target moving statistics travel in ``updates``
    steps: ``1 - momentum**updates`` (the start still weighs ``momentum**updates``).

    Example:
        >>> round(travelled(0.99, 5), 4)
        0.049
        >>> round(travelled(0.01, 1), 2)
        0.99
    """
    return 1.0 - checks.momentum("momentum", momentum) ** checks.integer(
        "updates", updates, low=0, example=5
    )


def updates_needed(momentum: float, fraction: float = 0.99) -> int:
    """The smallest ``N`` with ``travelled(momentum, N) >= fraction`` (momentum in [0, 1)).

    Example:
        >>> updates_needed(0.99), updates_needed(0.99, 0.5), updates_needed(0.01)
        (459, 69, 1)
    """
    momentum = checks.momentum("momentum", momentum)
    if momentum == 1:
        raise ValueError(
            "invalid `momentum`: 1.0; with momentum 1 the moving statistics never move"
        )
    fraction = checks.number(
        "fraction", fraction, low=0, high=1, low_open=True, high_open=True, example=0.99
    )
    if momentum == 0:
        return 1
    n = max(1, math.ceil(math.log(1 - fraction) / math.log(momentum)))
    while travelled(momentum, n - 1) >= fraction and n > 1:  # guard against rounding in log()
        n -= 1
    return n


def batchnorm_layers(model) -> list:
    """Every BatchNormalization layer inside ``model``, nested models and layers opened.

    Example:
        >>> from helpers.models import build_resnet50
        >>> len(batchnorm_layers(build_resnet50(32, compile=False)))
        53
    """
    keras = _keras()
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"expected a Keras model, got {type(model).__name__}")
    return [
        layer
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


def _updating_layers(model) -> list:
    """The BatchNormalization layers that ``fit()`` would update."""
    found = batchnorm_layers(model)
    if not found:
        raise ValueError(
            f"model {getattr(model, 'name', model)!r} has no BatchNormalization layer; "
            "there are no statistics to inspect or recalibrate"
        )
    for layer in found:
        if getattr(layer, "renorm", False):
            raise ValueError(
                f"layer {layer.name!r} uses batch renormalization (renorm=True), "
                "whose statistics follow other rules; recalibration does not support it"
            )
    active = [layer for layer in found if layer.trainable]
    if not active:
        raise ValueError(
            f"every BatchNormalization layer of {getattr(model, 'name', model)!r} is frozen "
            "(trainable=False): they always use their moving statistics and fit() never updates "
            "them, so there is nothing to recalibrate; set `layer.trainable = True` first"
        )
    return active


def _check_x(x) -> int:
    """The number of samples in ``x``, an array or a structure of arrays as in ``fit()``."""
    keras = _keras()
    arrays = keras.tree.flatten(x)
    if not arrays or not all(hasattr(a, "shape") for a in arrays):
        raise TypeError(
            f"`x` must be an array or a structure of arrays (as in fit()), got {type(x).__name__}"
        )
    n = len(arrays[0]) if np.ndim(arrays[0]) else 0
    if n == 0:
        raise ValueError("`x` holds no samples; pass the training inputs, e.g. x_train")
    return n


@contextlib.contextmanager
def _batch_statistics_mode(layers: list) -> Iterator[None]:
    """Make ``layers`` (only them) run in training mode with momentum 0, so after a forward
    pass their moving statistics *are* the batch's, computed by Keras's own code; restored on exit.
    """
    saved = [
        (layer, layer.momentum, numpy_value(layer.moving_mean), numpy_value(layer.moving_variance))
        for layer in layers
    ]
    try:
        with forced_mode(layers, training=True):
            for layer in layers:
                layer.momentum = 0.0
                # moving * 0 + batch * 1 is exact, unless `moving` holds inf or NaN: start clean.
                layer.moving_mean.assign(np.zeros_like(numpy_value(layer.moving_mean)))
                layer.moving_variance.assign(np.zeros_like(numpy_value(layer.moving_variance)))
            yield
    finally:
        for layer, momentum, mean, variance in saved:
            layer.momentum = momentum
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(variance)


def _population_statistics(model, x, layers: list, batch_size: int | None) -> list[tuple]:
    """Each layer's mean and variance over all of ``x``, batch by batch, combined exactly:
    ``mean = E[mean_b]``, ``var = E[var_b + mean_b**2] - mean**2`` (float64, weighted by size)."""
    keras = _keras()
    n = _check_x(x)
    example = "32 (the batch size used in fit())"
    step = (
        n if batch_size is None else checks.positive_int("batch_size", batch_size, example=example)
    )
    sums = [[0.0, 0.0] for _ in layers]
    with _batch_statistics_mode(layers):
        for start in range(0, n, step):
            xb = keras.tree.map_structure(lambda a, start=start: a[start : start + step], x)
            size = min(step, n - start)
            model(xb, training=False)
            for acc, layer in zip(sums, layers):
                mean = numpy_value(layer.moving_mean).astype("float64")
                var = numpy_value(layer.moving_variance).astype("float64")
                acc[0] = acc[0] + size * mean
                acc[1] = acc[1] + size * (var + mean**2)
    out = []
    for (s1, s2), layer in zip(sums, layers):
        mean = s1 / n
        out.append((layer, mean, np.maximum(s2 / n - mean**2, 0.0)))
    return out


def batch_statistics(model, x, *, batch_size: int | None = None) -> dict[str, tuple]:
    """The statistics each BatchNormalization layer computes from ``x`` in training mode.

    Args:
        model: A Keras model with BatchNormalization layers (left unchanged).
        x: Inputs.
        batch_size: None treats all of ``x`` as one batch; otherwise the population
            statistics over its batches. Defaults to None.

    Returns:
        ``{layer path: (mean, variance)}``, float64 per channel, in layer order.
    """
    layers = _updating_layers(model)
    return {
        _key(layer): (mean, var)
        for layer, mean, var in _population_statistics(model, x, layers, batch_size)
    }


def _key(layer) -> str:
    """A layer's path in the model (``"inner/bn"`` when nested), unique where names may not be."""
    return getattr(layer, "path", None) or layer.name


def compare_statistics(model, x, *, batch_size: int | None = None, layers=None) -> Table:
    """Moving statistics beside the batch statistics, one row per BatchNormalization layer.

    Columns: ``layer``, ``depth``, ``batch var`` and ``moving var`` (channel means), ``var
    ratio`` (moving / batch, channel median), and ``mean travelled`` / ``var travelled``: how
    far the moving values have come from their start towards the batch's (a least-squares
    slope over channels; compare :func:`travelled`).

    Args:
        model: A Keras model with BatchNormalization layers.
        x: Inputs, e.g. the training data.
        batch_size: As in :func:`batch_statistics`. Defaults to None.
        layers: Paths or depths of the layers to list; None lists all.
    """
    stats = batch_statistics(model, x, batch_size=batch_size)
    by_name = {_key(layer): layer for layer in batchnorm_layers(model)}
    names = list(stats)
    if layers is not None:
        wanted = [
            names[i] if isinstance(i, (int, np.integer)) and not isinstance(i, bool) else i
            for i in layers
        ]
        unknown = [w for w in wanted if w not in stats]
        if unknown:
            raise ValueError(
                f"unknown BatchNormalization layer {unknown[0]!r}; available: {names[:3]} … "
                f"({len(names)} layers) or depths 0..{len(names) - 1}"
            )
        names = wanted
    rows = []
    for name in names:
        mean, var = stats[name]
        layer = by_name[name]
        moving_mean = numpy_value(layer.moving_mean).astype("float64")
        moving_var = numpy_value(layer.moving_variance).astype("float64")
        rows.append(
            {
                "layer": name,
                "depth": list(stats).index(name),
                "batch var": float(var.mean()),
                "moving var": float(moving_var.mean()),
                "var ratio": float(np.median(moving_var / np.maximum(var, 1e-12))),
                "mean travelled": _slope(moving_mean, mean),
                "var travelled": _slope(moving_var - 1.0, var - 1.0),
            }
        )
    return Table(rows)


def _slope(moved: np.ndarray, target: np.ndarray) -> float:
    """Least-squares ``s`` in ``moved ≈ s * target`` (0 when the target is 0)."""
    denominator = float(np.sum(target * target))
    return float(np.sum(moved * target) / denominator) if denominator > 0 else 0.0


def recalibrate_batchnorm(model, x, *, batch_size: int = 32) -> Table:
    """Recompute every BatchNormalization layer's moving statistics from data (PreciseBN).

    ``x`` runs through the model batch by batch, each BatchNormalization layer normalising with
    its batch's statistics as in ``fit()`` (other layers in inference mode); the per-batch
    statistics are combined into the population mean and variance of all of ``x`` and written
    into ``moving_mean`` and ``moving_variance``. That is the fix, so the model changes in
    place, but nothing else does: weights, optimizer, metrics and random state are untouched.
    Frozen layers (``trainable=False``) are left alone, as ``fit()`` leaves them.

    Args:
        model: A Keras model with BatchNormalization layers (any kind, nested too).
        x: Inputs, usually the training data.
        batch_size: ``fit()``'s batch size (the layers' training statistics depend on it).
            Defaults to 32.

    Returns:
        A :class:`~helpers.Table`, one row per layer: ``layer``, ``samples``, and the
        channel-averaged ``mean`` and ``variance`` before and after.

    Example:
        >>> import numpy as np, keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
        >>> x = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
        >>> table = recalibrate_batchnorm(model, x, batch_size=2)
        >>> model.layers[0].moving_mean.numpy(), model.layers[0].moving_variance.numpy().round(3)
        (array([ 2., 20.], dtype=float32), array([ 2.667, 66.667], dtype=float32))
    """
    checks.backend("recalibrate_batchnorm()")
    batch_size = checks.positive_int("batch_size", batch_size, example="32 (as in fit())")
    layers = _updating_layers(model)
    n = _check_x(x)
    results = _population_statistics(model, x, layers, batch_size)
    rows = []
    for layer, mean, var in results:
        before_mean, before_var = numpy_value(layer.moving_mean), numpy_value(layer.moving_variance)
        layer.moving_mean.assign(mean.astype(layer.moving_mean.dtype))
        layer.moving_variance.assign(var.astype(layer.moving_variance.dtype))
        rows.append(
            {
                "layer": _key(layer),
                "samples": n,
                "mean before": float(before_mean.mean()),
                "mean after": float(mean.mean()),
                "variance before": float(before_var.mean()),
                "variance after": float(var.mean()),
            }
        )
    return Table(rows)
