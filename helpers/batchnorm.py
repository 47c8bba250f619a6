"""BatchNormalization's statistics: inspect them, and recalibrate them.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``. In training mode a
BatchNormalization layer normalises with the statistics of the batch in
front of it and nudges its *moving* statistics towards them::

    moving = momentum * moving + (1 - momentum) * batch

Inference (``evaluate()``, ``predict()``) normalises with the moving
statistics instead. They start at mean 0 and variance 1, so after ``N``
updates they have covered only ``1 - momentum**N`` of the way to the batch
statistics (:func:`travelled`, :func:`updates_needed`: plain arithmetic). :func:`compare_statistics` measures
that gap layer by layer; :func:`recalibrate_batchnorm` closes it without
training, by recomputing every layer's population statistics from the data
("PreciseBN", Wu & Johnson, *Rethinking "Batch" in BatchNorm*, 2021).
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
    """How far moving statistics have gone from their start after ``updates`` steps.

    Each update keeps ``momentum`` of the old value, so after ``N`` updates
    towards a fixed target the start still weighs ``momentum**N`` and the
    fraction of the way travelled is ``1 - momentum**N``.

    Args:
        momentum: BatchNormalization's momentum (Keras's default is 0.99).
        updates: Number of training steps (batches) so far.

    Returns:
        The fraction travelled, from 0 to 1.

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
    """The number of updates after which ``travelled(momentum, N) >= fraction``.

    Args:
        momentum: BatchNormalization's momentum, in [0, 1).
        fraction: Target fraction of the way, in (0, 1). Defaults to 0.99.

    Returns:
        The smallest such ``N``.

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


def _check_x(x, batch_size) -> int:
    keras = _keras()
    if batch_size is not None:
        checks.positive_int("batch_size", batch_size, example="32 (the batch size used in fit())")
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
    """Make ``layers`` normalise with batch statistics and store them as their moving ones.

    Inside the block each layer runs in training mode whatever the model is
    called with (every other layer keeps inference mode, so Dropout stays
    off and no random state moves), and its momentum is 0, so after a
    forward pass its moving mean and variance *are* that batch's statistics,
    computed by Keras's own code exactly as ``fit()`` computes them. Momentum,
    ``call`` and the moving statistics are restored on exit.
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
    """Each layer's mean and variance over all of ``x``, features taken batch by batch.

    Per-batch means and variances are combined exactly, weighting each batch
    by its size: ``mean = E[mean_b]``, ``var = E[var_b + mean_b**2] - mean**2``
    (float64). With one batch this is that batch's statistics.
    """
    keras = _keras()
    n = _check_x(x, batch_size)
    step = n if batch_size is None else int(batch_size)
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

    The model is unchanged afterwards: nothing but the moving statistics is
    touched during the measurement, and they are restored.

    Args:
        model: A Keras model with BatchNormalization layers.
        x: Inputs.
        batch_size: Batch size; None treats all of ``x`` as one batch (the
            post's three images are one batch). With several batches the
            statistics are the population ones (see
            :func:`recalibrate_batchnorm`). Defaults to None.

    Returns:
        ``{layer path: (mean, variance)}`` (the path is the name, prefixed
        by any nested model's), float64 arrays with one value per channel,
        in layer order.
    """
    layers = _updating_layers(model)
    return {
        _key(layer): (mean, var)
        for layer, mean, var in _population_statistics(model, x, layers, batch_size)
    }


def _key(layer) -> str:
    """A layer's path in the model (``"inner/bn"`` when nested), unique where names may not be."""
    return getattr(layer, "path", None) or layer.name


def predict_with_batch_statistics(model, x) -> np.ndarray:
    """The model's outputs with every BatchNormalization layer using the batch's statistics.

    All of ``x`` is one batch, as in the post's ``fit()``; every other layer
    stays in inference mode. The model is unchanged afterwards.

    Returns:
        The outputs as NumPy arrays (in the model's output structure).
    """
    layers = _updating_layers(model)
    _check_x(x, None)
    with _batch_statistics_mode(layers):
        return _keras().tree.map_structure(np.asarray, model(x, training=False))


def compare_statistics(model, x, *, batch_size: int | None = None, layers=None) -> Table:
    """Moving statistics beside the batch statistics, one row per BatchNormalization layer.

    Columns: ``layer``; ``depth`` (its index among the BN layers);
    ``batch var`` and ``moving var`` (each averaged over channels); ``var
    ratio`` (moving / batch, channel median: 1 means inference normalises
    like training); ``mean travelled`` and ``var travelled``: how far the
    moving values have come from their start (mean 0, variance 1) towards
    the batch's, a least-squares slope over channels (compare with
    :func:`travelled`).

    Args:
        model: A Keras model with BatchNormalization layers.
        x: Inputs, e.g. the training data.
        batch_size: As in :func:`batch_statistics`. Defaults to None.
        layers: Paths (names, prefixed by any nested model's) or depths of
            the layers to list; None lists all. Defaults to None.

    Returns:
        A :class:`~helpers.Table`.
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

    Runs ``x`` through the model batch by batch with every weight frozen and
    every BatchNormalization layer normalising with its batch's statistics,
    as in ``fit()``; other layers (Dropout, noise) stay in inference mode.
    Each layer's per-batch means and variances are then combined into the
    population mean and variance of all of ``x`` (``E[mean_b]`` and
    ``E[var_b + mean_b**2] - E[mean_b]**2``, Wu & Johnson 2021, weighting
    batches by size) and written into ``moving_mean`` and
    ``moving_variance``. Nothing else changes -- not the weights, the
    optimizer, the metrics or any random state. The model is changed in
    place, on purpose: that is the fix.

    Layers with ``trainable=False`` are left alone: ``fit()`` never updates
    them either.

    Tested on the TensorFlow and JAX backends.

    Args:
        model: A Keras model with BatchNormalization layers (functional,
            sequential, subclassed or nested).
        x: Inputs (an array, or the structure the model takes), usually the
            training data.
        batch_size: Batch size; use the one from ``fit()``, since the
            statistics the layers see in training depend on it. Defaults
            to 32, like ``fit()``.

    Returns:
        A :class:`~helpers.Table` with one row per recalibrated layer:
        ``layer``, ``samples``, and the channel-averaged ``mean`` and
        ``variance`` before and after.

    Raises:
        ValueError: if the model has no (trainable) BatchNormalization
            layer, ``x`` is empty, or ``batch_size`` is not a positive int.

    Example:
        >>> import numpy as np, keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
        >>> x = np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
        >>> table = recalibrate_batchnorm(model, x, batch_size=2)
        >>> model.layers[0].moving_mean.numpy(), model.layers[0].moving_variance.numpy().round(3)
        (array([ 2., 20.], dtype=float32), array([ 2.667, 66.667], dtype=float32))
    """
    if batch_size is None:
        raise ValueError(
            "invalid `batch_size`: None; expected a positive int such as 32 "
            "(the batch size used in fit())"
        )
    checks.backend("recalibrate_batchnorm()")
    layers = _updating_layers(model)
    n = _check_x(x, batch_size)
    results = _population_statistics(model, x, layers, int(batch_size))
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
