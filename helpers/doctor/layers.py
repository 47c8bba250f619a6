"""Which layers act differently in ``fit()``, and running chosen ones in training mode.

Introduced in ``notebooks/06_the_doctor.ipynb``. ``fit()`` calls every layer
with ``training=True``; ``evaluate()`` and ``predict()`` with
``training=False``. Three families of layers care, one cause each:

* ``dropout``: Dropout, its spatial variants, GaussianDropout, AlphaDropout
  and GaussianNoise (noise drawn afresh on every call);
* ``batchnorm``: BatchNormalization (the batch's statistics against the
  moving ones; a frozen layer, ``trainable=False``, runs in inference mode
  in ``fit()`` too, as Keras 3 rules);
* ``augmentation``: every other layer that acts only in training -- the
  ``Random*`` preprocessing layers, recurrent or attention dropout, and
  custom layers whose ``call`` takes ``training``.

:func:`training_mode` switches chosen layers to training mode for a block
by wrapping their ``call`` (Keras's own code does the work), and can record
the moments of each BatchNormalization layer's inputs on the way.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterable, Iterator

import keras
import numpy as np

from helpers.modes import noise_types, patched_calls

FAMILIES = ("dropout", "batchnorm", "augmentation")


def all_layers(model) -> list:
    """Every layer inside ``model``: nested models and layers held by custom layers opened."""
    return list(model._flatten_layers(include_self=False, recursive=True))


def family(layer) -> str | None:
    """The family of training-mode behaviour of one layer, or None when it has none.

    Example:
        >>> family(keras.layers.Dropout(0.5)), family(keras.layers.Dense(3))
        ('dropout', None)
    """
    if isinstance(layer, keras.layers.BatchNormalization):
        return "batchnorm"
    if isinstance(layer, noise_types()):
        return "dropout"
    if getattr(layer, "layers", None):  # a container: its own layers are classified
        return None
    try:
        takes_training = "training" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return None
    if not takes_training:
        return None
    if not type(layer).__module__.startswith("keras"):
        return "augmentation"  # a custom layer that looks at `training`: assume it matters
    if getattr(layer, "dropout", 0) or getattr(layer, "recurrent_dropout", 0):
        return "augmentation"
    if type(layer).__name__.startswith("Random"):
        return "augmentation"
    return None  # built-in layers that take `training` for other reasons (Dense does)


def by_family(model) -> dict[str, list]:
    """``{family: [layers]}`` for the families present in ``model``."""
    found: dict[str, list] = {}
    for layer in all_layers(model):
        name = family(layer)
        if name:
            found.setdefault(name, []).append(layer)
    return found


class Moments:
    """Per-channel input moments of BatchNormalization layers, accumulated over batches.

    ``mean`` is the population mean ``E[mean_b]`` and ``variance`` the
    population variance ``E[var_b + mean_b**2] - mean**2`` over every batch
    seen (batches weighted by their size), as PreciseBN computes them.
    """

    def __init__(self):
        self.sums: dict[int, list] = {}

    def add(self, layer, inputs) -> None:
        axes = [a for a in range(len(inputs.shape)) if a != layer.axis % len(inputs.shape)]
        size = int(np.prod([inputs.shape[a] for a in axes]))
        mean = keras.ops.convert_to_numpy(keras.ops.mean(inputs, axis=axes)).astype("float64")
        var = keras.ops.convert_to_numpy(keras.ops.var(inputs, axis=axes)).astype("float64")
        entry = self.sums.setdefault(id(layer), [layer, 0, 0.0, 0.0])
        entry[1] += size
        entry[2] = entry[2] + size * mean
        entry[3] = entry[3] + size * (var + mean**2)

    def add_groups(self, layer, means, variances, size: int) -> None:
        """Several batches' per-channel means and variances, ``size`` values each."""
        means, variances = np.asarray(means, "float64"), np.asarray(variances, "float64")
        entry = self.sums.setdefault(id(layer), [layer, 0, 0.0, 0.0])
        entry[1] += size * len(means)
        entry[2] = entry[2] + size * means.sum(axis=0)
        entry[3] = entry[3] + size * (variances + means**2).sum(axis=0)

    def population(self) -> list[tuple]:
        """``[(layer, mean, variance)]`` for every layer seen."""
        out = []
        for layer, count, s1, s2 in self.sums.values():
            mean = s1 / count
            out.append((layer, mean, np.maximum(s2 / count - mean**2, 0.0)))
        return out


def ghost_normalize(layer, inputs, size: int, moments: Moments | None = None):
    """BatchNormalization in training mode on each consecutive group of ``size`` rows at once.

    The same arithmetic as Keras's layer in training mode -- each group
    normalised with its own mean and (biased) variance, then scaled by
    ``gamma`` and shifted by ``beta`` -- done for all groups in one call
    instead of one call per group. The moving statistics are not updated
    (the doctor restores them anyway). ``inputs`` holds a whole number of
    groups.
    """
    ops = keras.ops
    rank = len(inputs.shape)
    axis = layer.axis % rank
    groups = inputs.shape[0] // size
    dtype = inputs.dtype
    x = ops.cast(inputs, "float32") if dtype in ("float16", "bfloat16") else inputs
    x = ops.reshape(x, (groups, size, *inputs.shape[1:]))
    axes = [1] + [a + 1 for a in range(1, rank) if a != axis]
    mean = ops.mean(x, axis=axes, keepdims=True)
    var = ops.var(x, axis=axes, keepdims=True)
    if moments is not None:
        count = int(np.prod([x.shape[a] for a in axes]))
        moments.add_groups(
            layer,
            ops.convert_to_numpy(ops.reshape(mean, (groups, -1))),
            ops.convert_to_numpy(ops.reshape(var, (groups, -1))),
            count,
        )
    shape = [1] * (rank + 1)
    shape[axis + 1] = inputs.shape[axis]
    out = (x - mean) * ops.rsqrt(var + layer.epsilon)
    if layer.scale:
        out = out * ops.reshape(ops.cast(layer.gamma, out.dtype), shape)
    if layer.center:
        out = out + ops.reshape(ops.cast(layer.beta, out.dtype), shape)
    return ops.cast(ops.reshape(out, inputs.shape), dtype)


@contextlib.contextmanager
def training_mode(
    layers: Iterable, moments: Moments | None = None, *, batch_size: int | None = None
) -> Iterator[None]:
    """Make ``layers`` run with ``training=True`` whatever the model is called with.

    Each layer's ``call`` is wrapped for the block and restored on exit; the
    rest of the model keeps the mode it is called with. Variables the layers
    update (BatchNormalization statistics, seed generators) change: use
    :func:`helpers.doctor.state.unchanged` around the block. With
    ``moments``, each trainable BatchNormalization layer's inputs are
    recorded first.

    With ``batch_size``, a BatchNormalization layer handed a larger batch
    normalises each consecutive group of ``batch_size`` rows with that
    group's own statistics (Keras's own ``call`` on each group), exactly as
    ``fit()``'s batches of ``batch_size`` would: the model can then be called
    on many batches at once, which costs far fewer calls.
    """

    def wrap(layer, original):
        is_bn = family(layer) == "batchnorm"
        record = moments is not None and is_bn and layer.trainable
        ghost = batch_size if is_bn and layer.trainable else None

        def call(inputs, *args, **kwargs):
            kwargs["training"] = True
            rows = inputs.shape[0]
            if ghost is None or rows is None or rows <= ghost:
                if record:
                    moments.add(layer, inputs)
                return original(inputs, *args, **kwargs)
            full = rows // ghost * ghost
            parts = [
                ghost_normalize(layer, block, size, moments if record else None)
                for block, size in ((inputs[:full], ghost), (inputs[full:], rows - full))
                if size
            ]
            return parts[0] if len(parts) == 1 else keras.ops.concatenate(parts, axis=0)

        return call

    with patched_calls(layers, wrap):
        yield
