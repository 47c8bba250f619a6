"""The four posts' models, ported faithfully to Keras 3.

One builder per post; the knobs the notebooks turn are keyword arguments defaulting to the
post's values, and ``compile=True`` (the default) compiles the model as its post did.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpers import checks
from helpers.reproducibility import import_keras_quietly

keras = import_keras_quietly()
layers = keras.layers


def build_checkpoint_mlp(
    dropout: Sequence[float] = (0.2, 0.15), *, learning_rate: float = 0.01, compile: bool = True
):
    """The ModelCheckpoint post's network (scenario 01), its hidden layers linear as in the post.

    Args:
        dropout: The two dropout rates. Defaults to the post's (0.2, 0.15).
        learning_rate: SGD's learning rate. Defaults to 0.01, Keras's default then and now.

    Example:
        >>> build_checkpoint_mlp().count_params()
        2499
    """
    d1, d2 = _rates(dropout)
    model = keras.Sequential(
        [
            keras.Input(shape=(2, 2)),
            layers.Flatten(),
            layers.Dropout(d1),
            layers.Dense(64),
            layers.Dropout(d2),
            layers.Dense(32),
            layers.Dense(3, activation="softmax"),
        ],
        name="checkpoint_mlp",
    )
    if compile:
        model.compile(
            loss="categorical_crossentropy",
            optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        )
    return model


def build_mnist_cnn(dropout: Sequence[float] = (0.25, 0.5), *, compile: bool = True):
    """The MNIST post's small CNN (scenario 02).

    Args:
        dropout: The two dropout rates. Defaults to the post's (0.25, 0.5).

    Example:
        >>> model = build_mnist_cnn(dropout=(0.1, 0.0))
        >>> [layer.rate for layer in model.layers if isinstance(layer, layers.Dropout)]
        [0.1, 0.0]
        >>> model.count_params()
        157386
    """
    d1, d2 = _rates(dropout)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(d1),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dropout(d2),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_cnn",
    )
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy", metrics=["accuracy"]
        )
    return model


def build_threshold_model(*, learning_rate: float = 0.1, normalization=None, compile: bool = True):
    """The 1-D threshold post's network (scenario 03).

    Args:
        learning_rate: Adam's learning rate. Defaults to the post's 0.1.
        normalization: Data to ``adapt()`` the Normalization layer on. Defaults to None,
            the post's identity.
    """
    learning_rate = checks.number("learning_rate", learning_rate, low=0, low_open=True, example=0.1)
    norm = layers.Normalization()
    if normalization is not None:
        norm.adapt(normalization)
    model = keras.Sequential(
        [
            keras.Input(shape=(1,)),
            norm,
            layers.Dense(1, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="threshold_model",
    )
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
    return model


def build_resnet50(input_size: int = 197, *, momentum: float = 0.99, compile: bool = True):
    """The BatchNorm post's network (scenario 04): Keras's ResNet50, accuracy logged as ``acc``.

    Args:
        input_size: Side of the square one-channel input. Defaults to the post's 197.
        momentum: BatchNormalization momentum. Defaults to Keras's and the post's 0.99.
    """
    input_size = checks.integer(
        "input_size", input_size, low=32, example="197 (32 is ResNet50's minimum)"
    )
    momentum = checks.momentum("momentum", momentum)
    model = keras.applications.ResNet50(
        weights=None, input_shape=(input_size, input_size, 1), classes=3
    )
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = float(momentum)
    if compile:
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    return model


def _rates(dropout) -> tuple[float, float]:
    """The two checked dropout rates, named as the explorers name them."""
    try:
        pair = tuple(dropout)
    except TypeError:
        pair = ()
    if len(pair) != 2:
        raise ValueError(f"invalid `dropout`: {dropout!r}; expected two rates, e.g. (0.2, 0.15)")
    return checks.rate("dropout_1", pair[0]), checks.rate("dropout_2", pair[1])
