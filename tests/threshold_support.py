"""Test-only code for scenario 03: the post's ``fit()`` run for real, to check the fast runner against.

:func:`post_fit` is the post's own code (``fit()`` on arrays, Keras shuffling); :func:`fit_on`
is the same ``fit()`` fed a runner's row orders as a dataset (any order, reshuffled or not), which
is how the tests check :meth:`ThresholdRunner.trajectory` beyond seed 0's default run.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from helpers import StopAtThreshold
from helpers.models import build_threshold_model
from helpers.reproducibility import import_tensorflow_quietly
from helpers.scenarios.threshold.run import ThresholdRunner, threshold_data

tf, keras = import_tensorflow_quietly()


@dataclasses.dataclass
class Fitted:
    """One real ``fit()``: its history, where the stopping rule fired, ``evaluate()``, weights."""

    history: dict
    stopped_epoch: int
    evaluate_accuracy: float
    weights: list


def _finish(model, history, stop, x, y) -> Fitted:
    accuracy = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    stopped = stop.stopped_epoch if stop else 0
    return Fitted(history.history, stopped, float(accuracy), model.get_weights())


def post_fit(seed: int = 0, *, epochs: int = 300, monitor: str | None = "accuracy") -> Fitted:
    """The post's run: ``fit()`` on the arrays, batch 128, stop once ``monitor`` >= 1.0."""
    x, y = threshold_data()
    keras.utils.set_random_seed(seed)
    model = build_threshold_model()
    stop = StopAtThreshold(monitor, 1.0) if monitor else None
    history = model.fit(
        x, y, batch_size=128, epochs=epochs, verbose=0, callbacks=[stop] if stop else []
    )
    return _finish(model, history, stop, x, y)


def fit_on(
    runner: ThresholdRunner,
    seed: int = 0,
    *,
    epochs: int = 60,
    monitor: str | None = None,
    validation: bool = False,
    reshuffle: bool = False,
    learning_rate: float | None = None,
    callbacks=(),
) -> Fitted:
    """``fit()`` on the runner's model and row orders (a dataset), as the post's run would go.

    The weights and Adam's state are reset for ``seed`` (:meth:`ThresholdRunner.reset`); with
    ``validation`` the training set is passed as ``validation_data`` (the post's fix).
    """
    order = runner.orders(seed, epochs, reshuffle)
    runner.reset(seed, learning_rate)
    x, y, size = runner.x.astype("float32"), runner.y, runner.batch_size
    batches = tf.data.Dataset.from_tensor_slices((x[order], y[order])).flat_map(
        lambda xe, ye: tf.data.Dataset.from_tensor_slices((xe, ye)).batch(size)
    )
    stop = StopAtThreshold(monitor, 1.0) if monitor else None
    history = runner.model.fit(
        batches,
        epochs=epochs,
        steps_per_epoch=runner.steps,
        shuffle=False,  # the dataset holds the order
        verbose=0,
        validation_data=tf.data.Dataset.from_tensor_slices((x, y)).batch(size)
        if validation
        else None,
        callbacks=[*callbacks, *([stop] if stop else [])],
    )
    fitted = _finish(runner.model, history, stop, x, y)
    runner.model.optimizer.learning_rate.assign(runner.learning_rate)
    return fitted


def same_weights(a, b) -> bool:
    """Whether two ``get_weights()`` lists are equal bit for bit."""
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))
