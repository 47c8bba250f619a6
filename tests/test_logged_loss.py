"""What fit() logs per batch: the loss of the weights the batch started from (notebook 00's claim).

Notebook 00 shows it with a callback in plain Keras; this test replays the claim on a model with
BatchNormalization, on every backend the kit supports (tests/test_backends.py runs it on JAX).
"""

import numpy as np
import pytest

from tests.conftest import make_tiny


def test_replayed_losses_match_what_keras_logged(keras, tiny_data):
    # No Dropout and fixed batches: each batch's loss can be recomputed from the weights it began with.
    class Weights(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start, self.logged = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.start.append(self.model.get_weights())

        def on_train_batch_end(self, batch, logs=None):
            self.logged.append(float(logs["loss"]))

    x, y = tiny_data
    model, recorder = make_tiny(keras, batchnorm=True), Weights()
    history = model.fit(
        x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[recorder]
    )
    replay, loss_fn = keras.models.clone_model(model), keras.losses.BinaryCrossentropy()
    losses = []
    for b, weights in enumerate(recorder.start[3:]):  # epoch 2: batches of 16, 16, 8
        replay.set_weights(weights)
        batch = slice(16 * b, 16 * b + 16)
        losses.append(float(loss_fn(y[batch], replay(x[batch], training=True))))
    sizes = [16, 16, 8]
    running = np.cumsum(np.multiply(losses, sizes)) / np.cumsum(sizes)
    assert running == pytest.approx(recorder.logged[3:], abs=1e-6)
    assert running[-1] == pytest.approx(history.history["loss"][-1], abs=1e-6)
    # The weights after the last update differ from the last batch's start: the log is not of them.
    assert not all(np.array_equal(a, b) for a, b in zip(recorder.start[-1], model.get_weights()))
