"""Scenario 05, sections 4 and 5: BatchNormalization when fine-tuning and when predicting.

Introduced in ``notebooks/05_more_gaps.ipynb``. A small convolutional base is
pre-trained on the digits 0-4 (14×14 pixels, so it trains in seconds) and
fine-tuned on a shifted task -- the digits 5-9 with black and white swapped --
so that the new data's statistics differ from the ones the base's
BatchNormalization layers stored, as they do when an ImageNet base meets
medical scans or drawings.
"""

from __future__ import annotations

import functools

import numpy as np

from helpers import checks
from helpers.data import load_mnist
from helpers.modes import preserved_state
from helpers.reproducibility import import_tensorflow_quietly
from helpers.table import Table

keras = import_tensorflow_quietly()[1]
layers = keras.layers

BLOCKS = 2  # conv → BN → ReLU → pool, twice
NEW_CLASSES = 5  # the new task's digits 5-9
PRETRAIN_MOMENTUM = 0.9  # converges in the short pre-training (see pretrained_base)


def small_digits(*, shifted: bool):
    """The 4,500 shipped training digits at 14×14, split by task.

    Args:
        shifted: False: the pre-training task, digits 0-4 (labels 0-4).
            True: the new task, digits 5-9 with black and white swapped
            (labels 0-4).

    Returns:
        ``(x, y)``: ``float32`` images (n, 14, 14, 1) in [0, 1], ``int`` labels.
    """
    (x, y), _ = load_mnist(n_train=4500)
    x = x[:, ::2, ::2, None].astype("float32") / 255
    keep = y >= 5 if checks.flag("shifted", shifted) else y < 5
    x, y = x[keep], y[keep].astype("int64")
    return (1.0 - x, y - 5) if shifted else (x, y)


def build_conv_base(momentum: float = 0.99):
    """The base: two blocks of Conv2D → BatchNormalization → ReLU → MaxPool, then global pooling.

    Layers are named ``conv1``, ``bn1``, ``conv2``, ``bn2`` so that blocks can
    be (un)frozen by name.

    Example:
        >>> build_conv_base().count_params()
        1320
    """
    momentum = checks.momentum("momentum", momentum)
    x = inp = keras.Input((14, 14, 1))
    for i, filters in enumerate((8, 16), start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=momentum, name=f"bn{i}")(x)
        x = layers.MaxPooling2D(name=f"pool{i}")(layers.ReLU(name=f"relu{i}")(x))
    return keras.Model(inp, layers.GlobalAveragePooling2D(name="gap")(x), name="base")


@functools.lru_cache(maxsize=4)
def _pretrained_weights(seed: int) -> tuple:
    x, y = small_digits(shifted=False)
    keras.utils.set_random_seed(seed)
    base = build_conv_base(PRETRAIN_MOMENTUM)
    model = keras.Sequential([base, layers.Dense(5, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1500], y[:1500], epochs=3, batch_size=32, verbose=0)
    return tuple(base.get_weights())


def pretrained_base(seed: int = 0):
    """A base pre-trained on digits 0-4, as a downloaded pre-trained base would come.

    Pre-trained for 3 epochs with BatchNormalization momentum 0.9, so that
    its moving statistics have converged (with Keras's 0.99 they would not
    have in so few steps: notebook 04's lesson), then handed over with
    Keras's default momentum 0.99, like any downloaded model. The weights
    are computed once per seed and cached; every call returns a new model.
    """
    base = build_conv_base(0.99)
    base.set_weights(list(_pretrained_weights(checks.seed("seed", seed))))
    return base


def unfreeze_top(base, blocks: int, *, freeze_batchnorm: bool = False) -> list[str]:
    """Freeze ``base`` except its last ``blocks`` blocks; returns the names of the trainable layers.

    Args:
        base: A model from :func:`build_conv_base`.
        blocks: How many blocks, counted from the top, to unfreeze (0-2).
        freeze_batchnorm: Keep the BatchNormalization layers frozen even in
            the unfrozen blocks. Defaults to False.
    """
    blocks = checks.integer("unfrozen", blocks, low=0, high=BLOCKS, example=1)
    freeze_batchnorm = checks.flag("freeze_batchnorm", freeze_batchnorm)
    top = {f"{kind}{i}" for i in range(BLOCKS - blocks + 1, BLOCKS + 1) for kind in ("conv", "bn")}
    base.trainable = True
    for layer in base.layers:
        frozen_bn = freeze_batchnorm and isinstance(layer, layers.BatchNormalization)
        layer.trainable = layer.name in top and not frozen_bn
    return [layer.name for layer in base.layers if layer.trainable and layer.weights]


def head_on(base):
    """The new task's model, as Keras's transfer-learning guide builds it: ``base(inputs, training=False)``."""
    inputs = keras.Input((14, 14, 1))
    features = base(inputs, training=False)
    return keras.Model(inputs, layers.Dense(NEW_CLASSES, activation="softmax")(features))


def fine_tune(
    unfrozen: int = 1,
    *,
    freeze_batchnorm: bool = False,
    seed: int = 0,
    epochs: int = 1,
    progress_callbacks=(),
):
    """Section 4 replayed: unfreeze the top blocks of the pre-trained base and fit the shifted task.

    Returns:
        ``(model, history)``. The compile() and fit() are the notebook's.
    """
    x, y = small_digits(shifted=True)
    base = pretrained_base()
    unfreeze_top(base, unfrozen, freeze_batchnorm=freeze_batchnorm)
    keras.utils.set_random_seed(checks.seed("seed", seed))
    model = head_on(base)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x,
        y,
        epochs=checks.positive_int("epochs", epochs, example=1),
        batch_size=32,
        verbose=0,
        callbacks=list(progress_callbacks),
    )
    return model, history


def moved_statistics(base, reference) -> Table:
    """Which BatchNormalization layers' moving statistics changed, comparing ``base`` with ``reference``."""
    rows = []
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            other = reference.get_layer(layer.name)
            change = float(
                np.abs(layer.moving_variance.numpy() - other.moving_variance.numpy()).max()
            )
            rows.append(
                {
                    "layer": layer.name,
                    "trainable": layer.trainable,
                    "largest change in moving variance": change,
                }
            )
    return Table(rows)


def batched_outputs(model, x, batch_size: int, *, training: bool) -> np.ndarray:
    """``model(x_batch, training=training)`` batch by batch, concatenated: what a hand-written loop predicts.

    In training mode each call also moves the BatchNormalization moving
    statistics, as fit() would; wrap the call in
    :func:`helpers.modes.preserved_state` to keep the model unchanged.
    """
    batch_size = checks.positive_int("batch_size", batch_size, example=8)
    training = checks.flag("training", training)
    return np.concatenate(
        [
            np.asarray(model(x[i : i + batch_size], training=training))
            for i in range(0, len(x), batch_size)
        ]
    )


def batch_size_spread(model, x, batch_sizes=(1, 8, 64), *, training: bool = True) -> Table:
    """The same samples' outputs in batches of several sizes, against the largest batch size's.

    Columns: ``batch_size``; ``largest change`` (in any probability, against
    the last batch size); ``spread across samples`` (the largest standard
    deviation of an output over the samples: 0 means every sample got the
    same output). The model is left exactly as it was.
    """
    with preserved_state(model):
        outputs = {b: batched_outputs(model, x, b, training=training) for b in batch_sizes}
    last = outputs[list(outputs)[-1]]
    return Table(
        [
            {
                "batch_size": b,
                "largest change": float(np.abs(out - last).max()),
                "spread across samples": float(out.std(axis=0).max()),
            }
            for b, out in outputs.items()
        ]
    )
