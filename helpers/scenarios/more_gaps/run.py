"""Scenario 05's data, models and replayed runs, each returning ``(model, History)``;
``notebooks/05_more_gaps.ipynb`` writes them out in plain Keras and asserts the replays equal."""

from __future__ import annotations

import functools

from helpers import checks
from helpers.data import load_mnist
from helpers.reproducibility import import_tensorflow_quietly
from helpers.widgets import progress_callback

keras = import_tensorflow_quietly()[1]
layers = keras.layers

BLOCKS = 2  # section 4's base: conv → BN → ReLU → pool, twice


def flat_digits(*, test: bool = False):
    """The first 3,000 shipped digits (or the 500 test digits), flat, in [0, 1], with labels."""
    (x, y), (x_test, y_test) = load_mnist(n_train=3000, n_test=500)
    x, y = (x_test, y_test) if checks.flag("test", test) else (x, y)
    return x.reshape(len(x), -1).astype("float32") / 255, y


def small_digits(*, shifted: bool):
    """Section 4's 14×14 digits (of the 4,500 shipped): 0-4, or (``shifted``) 5-9 in inverted
    colours; labels 0-4."""
    (x, y), _ = load_mnist(n_train=4500)
    x = x[:, ::2, ::2, None].astype("float32") / 255
    keep = y >= 5 if checks.flag("shifted", shifted) else y < 5
    x, y = x[keep], y[keep].astype("int64")
    return (1.0 - x, y - 5) if shifted else (x, y)


def build_mlp(*, hidden=32, outputs=10, l2=0.0, dropout=0.0, batchnorm=False):
    """The notebook's network on flat digits, uncompiled: Dense(hidden) → [BatchNormalization] →
    ReLU → [Dropout] → Dense(outputs), ``L2(l2)`` on both kernels.

    Example:
        >>> build_mlp().count_params(), build_mlp(hidden=16, outputs=1).count_params()
        (25450, 12577)
    """
    reg = keras.regularizers.L2(l2) if checks.number("l2", l2, low=0, example=0.05) else None
    x = inp = keras.Input((784,))
    x = layers.Dense(checks.positive_int("hidden", hidden, example=32), kernel_regularizer=reg)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x) if batchnorm else x)
    x = layers.Dropout(dropout)(x) if checks.rate("dropout", dropout) else x
    activation = "sigmoid" if outputs == 1 else "softmax"
    return keras.Model(inp, layers.Dense(outputs, activation, kernel_regularizer=reg)(x))


@functools.lru_cache(maxsize=8)
def train_weighted(ratio: float = 10.0, seed: int = 0):
    """Section 2: 0s against the rest, ``class_weight={0: 1, 1: ratio}``, a ``bce`` metric."""
    ratio = checks.number("class_weight", ratio, low=0, low_open=True, example=10)
    keras.utils.set_random_seed(checks.seed("seed", seed))
    model = build_mlp(hidden=16, outputs=1)
    bce = keras.metrics.BinaryCrossentropy(name="bce")
    model.compile("adam", "binary_crossentropy", metrics=[bce])
    x, y = flat_digits()
    y = (y == 0).astype("float32")[:, None]
    return model, model.fit(x, y, epochs=3, batch_size=32, class_weight={0: 1, 1: ratio}, verbose=0)


@functools.lru_cache(maxsize=4)
def train_batchnorm(seed: int = 0):
    """Section 5: ``build_mlp(batchnorm=True)``, 2 epochs on 3,000 digits."""
    keras.utils.set_random_seed(checks.seed("seed", seed))
    model = build_mlp(batchnorm=True)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, model.fit(*flat_digits(), epochs=2, batch_size=32, verbose=0)


def build_conv_base(momentum: float = 0.99):
    """Section 4's base: two blocks of Conv2D → BatchNormalization → ReLU → MaxPool, then global
    average pooling; layers named ``conv1``, ``bn1``, ``conv2``, ``bn2``.

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
    base = build_conv_base(0.9)  # converges in 3 short epochs (0.99 would not: notebook 04)
    model = keras.Sequential([base, layers.Dense(5, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[:1500], y[:1500], epochs=3, batch_size=32, verbose=0)
    return tuple(base.get_weights())


def pretrained_base(seed: int = 0):
    """A new base pre-trained on the digits 0-4 (once per seed), handed over with Keras's default
    BatchNormalization momentum 0.99, like a downloaded model."""
    base = build_conv_base(0.99)
    base.set_weights(list(_pretrained_weights(checks.seed("seed", seed))))
    return base


def fine_tune(unfrozen=1, *, seed=0, progress=None):
    """Section 4: unfreeze the top ``unfrozen`` blocks of :func:`pretrained_base`, call it with
    ``training=False`` under a new head, and fit one epoch on the shifted task;
    ``progress(epoch, epochs, logs)`` is called per epoch."""
    unfrozen = checks.integer("unfrozen", unfrozen, low=0, high=BLOCKS, example=1)
    top = [
        f"{kind}{i}" for i in range(BLOCKS - unfrozen + 1, BLOCKS + 1) for kind in ("conv", "bn")
    ]
    base = pretrained_base()
    for layer in base.layers:
        layer.trainable = layer.name in top
    keras.utils.set_random_seed(checks.seed("seed", seed))
    inputs = keras.Input((14, 14, 1))
    model = keras.Model(inputs, layers.Dense(5, activation="softmax")(base(inputs, training=False)))
    model.compile(
        keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    x, y = small_digits(shifted=True)
    callbacks = progress_callback(progress)
    return model, model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=callbacks)
