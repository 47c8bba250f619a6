"""WeightRecorder: the weights each batch starts from, and Keras's per-batch logs."""

import numpy as np
import pytest

from helpers.weight_recorder import WeightRecorder
from tests.conftest import make_tiny


class _StandIn:
    """Just enough of a model for the hooks: weights that change when told."""

    steps_per_execution = 1

    def __init__(self):
        self.value = 0.0

    def get_weights(self):
        return [np.array([self.value])]


def test_hooks_record_the_weights_before_each_batch_and_the_logs_after():
    recorder, model = WeightRecorder(epochs=[2]), _StandIn()
    recorder.set_model(model)
    for run in range(2):  # one instance serves two fit() calls: state is reset per run
        recorder.on_train_begin()
        for epoch in range(2):
            recorder.on_epoch_begin(epoch)
            for batch in range(3):
                recorder.on_train_batch_begin(batch)
                model.value += 1  # the "update"
                recorder.on_train_batch_end(batch, logs={"loss": np.float32(batch / 2)})
        recorder.on_train_end()
        assert sorted(recorder.weights) == [(2, 0), (2, 1), (2, 2)]  # epoch 1 was not asked for
        assert [recorder.weights[(2, b)][0][0] for b in range(3)] == [
            6 * run + 3,
            6 * run + 4,
            6 * run + 5,
        ]
        assert (
            recorder.logs[(2, 1)] == {"loss": 0.5} and type(recorder.logs[(2, 1)]["loss"]) is float
        )
        assert recorder.final[0][0] == 6 * run + 6
        assert recorder.batches(2) == [0, 1, 2]
    with pytest.raises(KeyError, match=r"no batches recorded for epoch 1; recorded epochs: \[2\]"):
        recorder.batches(1)


@pytest.mark.parametrize(
    "epochs, pattern",
    [
        (0, "invalid `epochs`: 0; expected a list"),
        ("2", "invalid `epochs`: '2'; expected a list"),
        ([0], "invalid `epochs`: 0; expected an int >= 1"),
        ([True], "invalid `epochs`: True; expected an int >= 1"),
    ],
)
def test_bad_epochs_are_clear_errors(epochs, pattern):
    with pytest.raises(ValueError, match=pattern):
        WeightRecorder(epochs=epochs)


def test_replayed_losses_match_what_keras_logged(keras, tiny_data):
    # No Dropout and fixed batches: each batch's loss can be recomputed from the weights it began with.
    x, y = tiny_data
    model = make_tiny(keras, batchnorm=True)
    recorder = WeightRecorder()
    history = model.fit(
        x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[recorder]
    )
    replay, loss_fn = keras.models.clone_model(model), keras.losses.BinaryCrossentropy()
    losses = []
    for b in recorder.batches(2):
        replay.set_weights(recorder.weights[(2, b)])
        losses.append(
            float(loss_fn(y[16 * b : 16 * b + 16], replay(x[16 * b : 16 * b + 16], training=True)))
        )
    sizes = [16, 16, 8]
    running = np.cumsum(np.multiply(losses, sizes)) / np.cumsum(sizes)
    assert running == pytest.approx([recorder.logs[(2, b)]["loss"] for b in range(3)], abs=1e-6)
    assert running[-1] == pytest.approx(history.history["loss"][-1], abs=1e-6)


def test_steps_per_execution_above_one_is_refused(keras):
    model = make_tiny(keras, compile=False)
    model.compile(optimizer="sgd", loss="binary_crossentropy", steps_per_execution=2)
    recorder = WeightRecorder()
    recorder.set_model(model)
    with pytest.raises(ValueError, match="steps_per_execution=2"):
        recorder.on_train_begin()
