"""The order in which ``fit()`` feeds NumPy rows, read off ``fit()`` itself.

``fit(shuffle=True)`` draws its orders from TensorFlow's global random state inside Keras's
input pipeline, so the faithful record is a ``fit()`` that watches its own inputs.
"""

from __future__ import annotations

import numpy as np

from helpers import checks
from helpers.reproducibility import import_keras_quietly

keras = import_keras_quietly()


class _Recorder(keras.layers.Layer):
    """An identity layer that remembers the row indices it sees in training."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen: list[np.ndarray] = []

    def call(self, inputs, training=None):
        if training:
            self.seen.append(keras.ops.convert_to_numpy(inputs)[:, 0].astype(int))
        return inputs


def spy_model():
    """A one-weight model whose first layer records the row indices ``fit()`` feeds it.

    It runs eagerly, so the layer sees values; build it once and pass it to
    :func:`fit_orders` to record many orders without building again.
    """
    spy = keras.Sequential([keras.Input((1,)), _Recorder(), keras.layers.Dense(1)])
    spy.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    return spy


def fit_orders(
    n: int, *, epochs: int = 3, batch_size: int = 32, shuffle: bool = True, seed: int = 0, spy=None
) -> np.ndarray:
    """The rows, in the order ``fit()`` feeds them, epoch by epoch.

    After ``keras.utils.set_random_seed(seed)`` (how the posts seed), a :func:`spy_model` is
    fitted on the row indices; what its first layer saw is the answer. Building a model draws
    nothing from the random state, so a spy built earlier records the same orders.

    Args:
        n: Number of rows.
        epochs: Epochs to record. Defaults to 3.
        batch_size: ``fit()``'s batch size. Defaults to 32.
        shuffle: ``fit()``'s ``shuffle``. Defaults to True.
        seed: The seed set before ``fit()``. Defaults to 0.
        spy: A :func:`spy_model` to reuse; a new one if None.

    Returns:
        An int array of shape ``(epochs, n)``: row ``e`` is epoch ``e + 1``'s order.

    Example:
        >>> fit_orders(4, epochs=2, shuffle=False).tolist()
        [[0, 1, 2, 3], [0, 1, 2, 3]]
    """
    n = checks.positive_int("n", n, example=500)
    epochs = checks.positive_int("epochs", epochs, example=3)
    batch_size = checks.positive_int("batch_size", batch_size, example=32)
    shuffle = checks.flag("shuffle", shuffle)
    keras.utils.set_random_seed(checks.seed("seed", seed))
    spy = spy or spy_model()
    spy.layers[0].seen = []
    rows = np.arange(n, dtype="float32")[:, None]
    spy.fit(
        rows,
        np.zeros(n, "float32"),
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        verbose=0,
    )
    return np.concatenate(spy.layers[0].seen).reshape(epochs, n)
