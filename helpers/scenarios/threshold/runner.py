"""``ThresholdRunner``: the post's ``fit()``, fast enough for many seeds, bit for bit.

Introduced in ``notebooks/03_fit_says_one.ipynb``, where it is shown once to
give the same numbers as the post's code written out in plain Keras.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from helpers import checks
from helpers.fit_order import spy_model
from helpers.models import build_threshold_model
from helpers.reproducibility import import_tensorflow_quietly
from helpers.scenarios.threshold.run import (
    Run,
    accuracy_by_evaluate,
    epoch_orders,
    keras_shuffle_orders,
    threshold_data,
)
from helpers.stop_at_threshold import StopAtThreshold

tf, keras = import_tensorflow_quietly()

_KERAS_ORDERS: dict[tuple, np.ndarray] = {}  # (seed, samples, batch_size) -> the order fit() reuses


def first_epoch(values, threshold: float = 1.0) -> int:
    """The first 1-based epoch whose value reaches ``threshold``; 0 if none does.

    Example:
        >>> first_epoch([0.9, 1.0, 0.98, 1.0])
        2
    """
    return next((e for e, v in enumerate(values, start=1) if v >= threshold), 0)


@dataclasses.dataclass
class Trajectory:
    """Per-epoch numbers of one run, from :meth:`ThresholdRunner.trajectory`.

    Attributes:
        seed: The seed.
        accuracy: The ``accuracy`` ``fit()`` logged, per epoch.
        loss: The ``loss`` ``fit()`` logged, per epoch.
        end_accuracy: The accuracy of the end-of-epoch weights on all 500
            points, per epoch: what ``evaluate()`` (and ``val_accuracy`` on
            the training set) says.
        active: Inputs on which the hidden ReLU is positive, at the start
            (index 0) and after each epoch.
    """

    seed: int
    accuracy: list
    loss: list
    end_accuracy: list
    active: list

    @property
    def post_stop(self) -> int:
        """Where the post's rule (logged ``accuracy`` >= 1) fires; 0 if never."""
        return first_epoch(self.accuracy)

    @property
    def fix_stop(self) -> int:
        """Where the fix (end-of-epoch accuracy >= 1) fires; 0 if never."""
        return first_epoch(self.end_accuracy)


class ThresholdRunner:
    """The post's model and ``fit()``, compiled once and re-initialised per seed.

    A run equals :func:`~helpers.scenarios.threshold.run.post_fit` given the
    same batches: the weights are copied from a fresh model built after
    ``keras.utils.set_random_seed(seed)`` and Adam's state is reset, so only
    the tracing is saved; one call runs a whole epoch
    (``steps_per_execution``) unless ``per_batch=True``. The batches are
    those Keras 3 feeds the post's code (one order, read by
    :func:`~helpers.scenarios.threshold.run.keras_shuffle_orders`, reused
    every epoch) or a fresh order per epoch (``reshuffle=True``).

    Args:
        learning_rate: Adam's learning rate. Defaults to the post's 0.1.
        batch_size: Defaults to the post's 128 (batches 128, 128, 128, 116).
        adapt: ``adapt()`` the Normalization layer on x first (the post
            does not). Defaults to False.
        per_batch: One batch per call, so callbacks see every batch (slower).
            Defaults to False.
    """

    def __init__(
        self,
        *,
        learning_rate: float = 0.1,
        batch_size: int = 128,
        adapt: bool = False,
        per_batch: bool = False,
    ):
        self.x, self.y = threshold_data()
        self.batch_size = checks.integer(
            "batch_size", batch_size, low=1, high=len(self.y), example=128
        )
        self.learning_rate = checks.number(
            "learning_rate", learning_rate, low=0, low_open=True, example=0.1
        )
        self.adapt = checks.flag("adapt", adapt)
        self.steps = math.ceil(len(self.y) / self.batch_size)
        self.model = self._fresh(0)
        self.model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
            loss="binary_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=1 if checks.flag("per_batch", per_batch) else self.steps,
        )
        self.model.optimizer.build(self.model.trainable_variables)
        self._optimizer_start = [v.numpy().copy() for v in self.model.optimizer.variables]
        self._spy = spy_model()
        self._loop = tf.function(self._epochs_loop)

    def _fresh(self, seed: int):
        keras.utils.set_random_seed(seed)
        return build_threshold_model(
            learning_rate=self.learning_rate,
            compile=False,
            normalization=self.x if self.adapt else None,
        )

    def orders(self, seed: int, epochs: int, reshuffle: bool = False) -> np.ndarray:
        """Each epoch's sample order for a run, shape (epochs, 500)."""
        if reshuffle:
            return epoch_orders(seed, epochs, len(self.y))
        key = (int(seed), len(self.y), self.batch_size)
        if key not in _KERAS_ORDERS:  # a function of these alone, shared by every runner
            _KERAS_ORDERS[key] = keras_shuffle_orders(
                key[0], epochs=1, n=key[1], batch_size=key[2], spy=self._spy
            )
        return np.repeat(_KERAS_ORDERS[key], epochs, axis=0)

    def _start(self, seed: int, learning_rate: float | None) -> None:
        """Fresh weights for ``seed``, Adam's initial state, and the learning rate."""
        self.model.set_weights(self._fresh(seed).get_weights())
        for variable, value in zip(self.model.optimizer.variables, self._optimizer_start):
            variable.assign(value)
        rate = (
            self.learning_rate
            if learning_rate is None
            else checks.number("learning_rate", learning_rate, low=0, low_open=True, example=0.1)
        )
        self.model.optimizer.learning_rate.assign(rate)

    def _dataset(self, order: np.ndarray):
        x, y = self.x.astype("float32")[order], self.y[order]
        batch = self.batch_size  # each epoch batched on its own: 128, 128, 128, 116
        return tf.data.Dataset.from_tensor_slices((x, y)).flat_map(
            lambda xe, ye: tf.data.Dataset.from_tensor_slices((xe, ye)).batch(batch)
        )

    def run(
        self,
        seed: int = 0,
        *,
        epochs: int = 300,
        monitor: str | None = "accuracy",
        threshold: float = 1.0,
        reshuffle: bool = False,
        validation: bool = False,
        learning_rate: float | None = None,
        callbacks=(),
    ) -> Run:
        """Train from seed ``seed`` with ``fit()``; stop once ``monitor`` >= ``threshold``.

        Args:
            seed: Seeds the initial weights and the sample order. Defaults to 0.
            epochs: Most epochs to run. Defaults to the post's 300.
            monitor: The key the stopping rule watches; None: no rule.
                Defaults to "accuracy".
            threshold: Defaults to 1.0.
            reshuffle: A fresh order every epoch instead of Keras 3's single
                order. Defaults to False.
            validation: Pass the training set as ``validation_data``.
                Defaults to False.
            learning_rate: Adam's learning rate for this run; None: the
                runner's. Defaults to None.
            callbacks: More callbacks, run before the stopping rule.

        Returns:
            A :class:`~helpers.scenarios.threshold.run.Run`; its ``order``
            holds every epoch's sample order.

        Like the post, this calls ``keras.utils.set_random_seed(seed)``.
        """
        epochs = checks.positive_int("epochs", epochs, example=300)
        stop = StopAtThreshold(monitor, threshold) if monitor is not None else None
        order = self.orders(seed, epochs, reshuffle)
        self._start(seed, learning_rate)
        x32 = self.x.astype("float32")
        # The training set as validation data, batched as fit() batches arrays (batch_size);
        # a dataset because re-creating the arrays' input pipeline every epoch is slow.
        held = tf.data.Dataset.from_tensor_slices((x32, self.y)).batch(self.batch_size)
        history = self.model.fit(
            self._dataset(order),
            epochs=epochs,
            steps_per_epoch=self.steps,
            verbose=0,
            shuffle=False,
            validation_data=held if validation else None,
            callbacks=[*callbacks, *([stop] if stop else [])],
        )
        self.model.optimizer.learning_rate.assign(self.learning_rate)
        return Run(
            seed,
            history.history,
            stop,
            accuracy_by_evaluate(self.model, x32, self.y),
            self.model.get_weights(),
            order,
        )

    def trajectory(
        self,
        seed: int = 0,
        *,
        epochs: int = 300,
        reshuffle: bool = False,
        learning_rate: float | None = None,
    ) -> Trajectory:
        """The same training steps as :meth:`run`, all epochs in one compiled loop.

        Calls the model's own ``train_step`` on the same batches, resets the
        metrics at each epoch's start as ``fit()`` does, and scores all 500
        points with the end-of-epoch weights -- no callbacks, no input
        pipeline, so it is several times faster. It stops once both rules
        (logged ``accuracy`` >= 1 and end-of-epoch accuracy >= 1) have
        fired, or after ``epochs``; stopping never changes the epochs
        before it. Arguments as in :meth:`run`.
        """
        epochs = checks.positive_int("epochs", epochs, example=300)
        order = self.orders(seed, epochs, reshuffle)
        self._start(seed, learning_rate)
        out = self._loop(tf.constant(order), tf.constant(epochs))
        self.model.optimizer.learning_rate.assign(self.learning_rate)
        accuracy, loss, end, active = (v.numpy().tolist() for v in out)
        return Trajectory(int(seed), accuracy, loss, end, [int(a) for a in active])

    def _epochs_loop(self, orders, epochs):
        model, size = self.model, self.batch_size
        x, y = tf.constant(self.x.astype("float32")), tf.constant(self.y)
        positive = tf.equal(y, 1)

        def active():
            return tf.reduce_sum(tf.cast(model.layers[1](model.layers[0](x)) > 0, tf.int32))

        logged, losses, ends = (
            tf.TensorArray(tf.float32, size=0, dynamic_size=True) for _ in range(3)
        )
        alive = tf.TensorArray(tf.int32, size=0, dynamic_size=True).write(0, active())
        fired, perfect = tf.constant(False), tf.constant(False)
        for e in tf.range(epochs):
            xs, ys = tf.gather(x, orders[e]), tf.gather(y, orders[e])
            model.reset_metrics()
            for k in range(self.steps):
                logs = model.train_step(
                    (xs[k * size : (k + 1) * size], ys[k * size : (k + 1) * size])
                )
            logged = logged.write(e, tf.cast(logs["accuracy"], tf.float32))
            losses = losses.write(e, tf.cast(logs["loss"], tf.float32))
            end = tf.reduce_mean(
                tf.cast(tf.equal(model(x, training=False)[:, 0] > 0.5, positive), tf.float32)
            )
            ends = ends.write(e, end)
            alive = alive.write(e + 1, active())
            fired = tf.logical_or(fired, logs["accuracy"] >= 1.0)
            perfect = tf.logical_or(perfect, end >= 1.0)
            if tf.logical_and(fired, perfect):
                break
        return logged.stack(), losses.stack(), ends.stack(), alive.stack()
