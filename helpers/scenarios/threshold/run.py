"""Scenario 03's data, decision boundary and fast runner (``notebooks/03_fit_says_one.ipynb``)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from helpers import checks
from helpers.fit_order import fit_orders, spy_model
from helpers.models import build_threshold_model
from helpers.reproducibility import import_tensorflow_quietly
from helpers.table import Table

tf, keras = import_tensorflow_quietly()


def threshold_data() -> tuple[np.ndarray, np.ndarray]:
    """The post's data: ``x`` of shape (500, 1), ``y = 0 if x < 10 else 1`` on the float values."""
    x = np.arange(-20, 30, 0.1)
    return x.reshape(-1, 1), np.array([0 if value < 10 else 1 for value in x])


def decision_boundary(weights) -> float:
    """Where sigmoid(w2 · relu(w1 · z + b1) + b2), z the normalised x, crosses 0.5; nan if never.

    >>> decision_boundary([[0.0], [1.0], 0, [[2.0]], [-20.0], [[1.0]], [-0.5]])
    10.25
    """
    mean, variance, _, w1, b1, w2, b2 = (float(np.ravel(w)[0]) for w in weights)
    hidden = -b2 / w2 if w2 else math.nan
    if not hidden > 0 or not w1:
        return math.nan  # the crossing would need relu < 0: the output is constant there
    return (hidden - b1) / w1 * max(math.sqrt(variance), keras.config.epsilon()) + mean


@dataclasses.dataclass
class Trajectory:
    """Per epoch: ``accuracy`` and ``loss`` as ``fit()`` logged them, ``evaluate()``'s accuracy."""

    accuracy: list
    loss: list
    end_accuracy: list

    @property
    def post_stop(self) -> int:
        """The 1-based epoch where the post's rule (logged ``accuracy`` >= 1) fires; 0 if never."""
        return next((e for e, v in enumerate(self.accuracy, 1) if v >= 1.0), 0)

    @property
    def fix_stop(self) -> int:
        """Where the fix (``val_accuracy`` = end-of-epoch accuracy >= 1) fires; 0 if never."""
        return next((e for e, v in enumerate(self.end_accuracy, 1) if v >= 1.0), 0)


class ThresholdRunner:
    """The post's model and training steps, compiled once and re-initialised per seed:
    :meth:`trajectory` calls the model's ``train_step`` on the batches ``fit()`` feeds, in one
    compiled loop: ``fit()``'s numbers, several times faster. ``adapt``: adapt Normalization on x."""

    learning_rate = 0.1

    def __init__(self, *, batch_size: int = 128, adapt: bool = False):
        self.x, self.y = threshold_data()
        self.batch_size = checks.integer("batch_size", batch_size, low=1, high=500, example=128)
        self.adapt = checks.flag("adapt", adapt)
        self.steps = math.ceil(len(self.y) / self.batch_size)
        self.model = self._fresh(0)
        loss, adam = "binary_crossentropy", keras.optimizers.Adam(self.learning_rate)
        self.model.compile(optimizer=adam, loss=loss, metrics=["accuracy"])
        self.model.optimizer.build(self.model.trainable_variables)
        self._optimizer_start = [v.numpy().copy() for v in self.model.optimizer.variables]
        self._spy, self._orders = spy_model(), {}
        self._loop = tf.function(self._epochs_loop)

    def _fresh(self, seed: int):
        keras.utils.set_random_seed(seed)
        return build_threshold_model(compile=False, normalization=self.x if self.adapt else None)

    def orders(self, seed: int, epochs: int, reshuffle: bool = False) -> np.ndarray:
        """Each epoch's row order, shape (epochs, 500): ``fit()``'s, or a fresh one per epoch."""
        if reshuffle:
            rng = np.random.default_rng(seed)
            return np.stack([rng.permutation(len(self.y)) for _ in range(epochs)])
        if seed not in self._orders:  # Keras 3 with a seed: one order, reused every epoch
            self._orders[seed] = fit_orders(
                len(self.y), epochs=1, batch_size=self.batch_size, seed=seed, spy=self._spy
            )
        return np.repeat(self._orders[seed], epochs, axis=0)

    def reset(self, seed: int, learning_rate: float | None = None) -> None:
        """Seed ``seed``'s initial weights (as the post seeds), Adam's initial state, a rate."""
        self.model.set_weights(self._fresh(seed).get_weights())
        for variable, value in zip(self.model.optimizer.variables, self._optimizer_start):
            variable.assign(value)
        rate = self.learning_rate if learning_rate is None else learning_rate
        checks.number("learning_rate", rate, low=0, low_open=True, example=0.1)
        self.model.optimizer.learning_rate.assign(rate)

    def trajectory(
        self, seed: int = 0, *, epochs: int = 300, reshuffle: bool = False, learning_rate=None
    ) -> Trajectory:
        """Train ``seed`` until both rules have fired, or ``epochs``; ``reshuffle``: a fresh
        order every epoch instead of Keras 3's single seeded one; ``learning_rate``: this run's."""
        epochs = checks.positive_int("epochs", epochs, example=300)
        order = self.orders(seed, epochs, reshuffle)
        self.reset(seed, learning_rate)
        out = self._loop(tf.constant(order), tf.constant(epochs))
        self.model.optimizer.learning_rate.assign(self.learning_rate)
        return Trajectory(*(v.numpy().tolist() for v in out))

    def _epochs_loop(self, orders, epochs):
        model, size = self.model, self.batch_size
        x, y = tf.constant(self.x.astype("float32")), tf.constant(self.y)
        logged, losses, ends = (tf.TensorArray(tf.float32, 0, dynamic_size=True) for _ in "abc")
        fired, perfect = tf.constant(False), tf.constant(False)
        for e in tf.range(epochs):
            xs, ys = tf.gather(x, orders[e]), tf.gather(y, orders[e])
            model.reset_metrics()  # as fit() does at each epoch's start
            for k in range(self.steps):
                logs = model.train_step(
                    (xs[k * size : (k + 1) * size], ys[k * size : (k + 1) * size])
                )
            right = tf.equal(model(x, training=False)[:, 0] > 0.5, tf.equal(y, 1))
            end = tf.reduce_mean(tf.cast(right, tf.float32))
            logged = logged.write(e, tf.cast(logs["accuracy"], tf.float32))
            losses = losses.write(e, tf.cast(logs["loss"], tf.float32))
            ends = ends.write(e, end)
            fired = tf.logical_or(fired, logs["accuracy"] >= 1.0)
            perfect = tf.logical_or(perfect, end >= 1.0)
            if tf.logical_and(fired, perfect):
                break
        return logged.stack(), losses.stack(), ends.stack()


def seed_table(seeds=range(20), *, runner: ThresholdRunner | None = None, **kwargs) -> Table:
    """One row per seed: where the post's rule and the fix stop, and ``evaluate()`` there.
    Stopping never changes the epochs before it: one :meth:`ThresholdRunner.trajectory`
    (``kwargs``) per seed shows both rules."""
    runner = runner or ThresholdRunner()
    rows = []
    for seed in seeds:
        t = runner.trajectory(int(seed), **kwargs)
        at = (t.post_stop or len(t.accuracy)) - 1  # where the rule stopped, or the last epoch
        rows.append(
            {
                "seed": int(seed),
                "accuracy: stops at": t.post_stop or None,
                "evaluate there": t.end_accuracy[at],
                "symptom": bool(t.post_stop) and t.end_accuracy[at] < 1.0,
                "val_accuracy: stops at": t.fix_stop or None,
                "fit logged there": t.accuracy[(t.fix_stop or len(t.accuracy)) - 1],
            }
        )
    return Table(rows)


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a share ``k / n`` (95 % for the default ``z``)."""
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def shares(tables: dict) -> Table:
    """One row per :func:`seed_table`: seeds, rule fired, symptom (stopped on ``evaluate()`` < 1)
    with its share and Wilson 95 % interval, and runs never stopped although ``evaluate()`` = 1."""
    rows = []
    for name, table in tables.items():
        k, n = sum(table.column("symptom")), len(table)
        low, high = wilson_interval(k, n)
        fired = sum(bool(v) for v in table.column("accuracy: stops at"))
        perfect = sum(r["evaluate there"] >= 1.0 for r in table if not r["accuracy: stops at"])
        row = {"runs": name, "seeds": n, "rule fired": fired, "symptom": k, "symptom share": k / n}
        row["95% interval"], row["never stopped, evaluate() = 1"] = f"{low:.2f}–{high:.2f}", perfect
        rows.append(row)
    return Table(rows, digits=2)
