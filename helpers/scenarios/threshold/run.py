"""Scenario 03's data, the post's run, and the fast runner that replays it.

Introduced in ``notebooks/03_fit_says_one.ipynb``. The post's task is a 1-D
threshold: x from -20 to 30 in steps of 0.1, label 1 where x >= 10, a
four-weight network, Adam at learning rate 0.1, batches of 128, and a rule
that stops training once the *logged* accuracy reaches 1.0.

* :func:`post_fit` is the post's code: ``fit()`` on arrays, Keras shuffling.
* :class:`ThresholdRunner` is the same ``fit()`` on the same model, data and
  batches, compiled once and re-initialised per seed; its
  :meth:`~ThresholdRunner.trajectory` replays the same training steps in one
  compiled loop for the many-seed tables. The tests check both against
  :func:`post_fit` bit for bit.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from helpers.fit_order import fit_orders
from helpers.models import build_threshold_model
from helpers.reproducibility import import_tensorflow_quietly
from helpers.stop_at_threshold import StopAtThreshold
from helpers.table import Table

tf, keras = import_tensorflow_quietly()

OUTCOMES = (
    "stopped, evaluate() < 1  (the symptom)",
    "stopped, evaluate() = 1",
    "never stopped, evaluate() = 1",
    "never stopped, evaluate() < 1",
)
STOP_MONITORS = ("accuracy", "val_accuracy", "eval_accuracy")


def threshold_data() -> tuple[np.ndarray, np.ndarray]:
    """The post's data: 500 points, label 1 where x >= 10.

    Labels are made as the post makes them, ``0 if x < 10 else 1`` on the
    float values of ``np.arange(-20, 30, 0.1)``; the point printed as 10.0
    is really 10.000000000000426, so it is labelled 1.

    Returns:
        ``(x, y)``: x of shape (500, 1) float64 (the post's one-column
        DataFrame), y of shape (500,) int.

    Example:
        >>> x, y = threshold_data()
        >>> x.shape, int(y.sum()), float(x[299, 0]) < 10 <= float(x[300, 0])
        ((500, 1), 200, True)
    """
    x = np.arange(-20, 30, 0.1)
    y = np.array([0 if value < 10 else 1 for value in x])
    return x.reshape(-1, 1), y


def outcome(stopped: bool, perfect: bool) -> str:
    """The row of :data:`OUTCOMES` for a run that stopped (or not) on perfect (or imperfect) weights.

    Example:
        >>> outcome(True, False) == OUTCOMES[0]
        True
    """
    return OUTCOMES[(0 if stopped else 2) + (1 if stopped == perfect else 0)]


@dataclasses.dataclass
class Run:
    """One training run and what it ended with."""

    seed: int
    history: dict
    stop: StopAtThreshold | None
    evaluate_accuracy: float
    weights: list
    order: np.ndarray | None = None  # each epoch's sample order, when known

    @property
    def stopped_epoch(self) -> int:
        """1-based epoch at which the stopping rule fired; 0 if it never did."""
        return self.stop.stopped_epoch if self.stop else 0

    @property
    def fit_accuracy(self) -> float:
        """The last ``accuracy`` that ``fit()`` logged."""
        return float(self.history["accuracy"][-1])

    @property
    def outcome(self) -> str:
        return outcome(self.stopped_epoch > 0, self.evaluate_accuracy >= 1.0)


def accuracy_by_evaluate(model, x, y) -> float:
    """``model.evaluate(x, y)``'s accuracy."""
    return float(model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"])


def post_fit(
    seed: int = 0,
    *,
    epochs: int = 300,
    monitor: str = "accuracy",
    validation: bool = False,
    callbacks=(),
) -> Run:
    """The post's run: ``fit()`` on arrays, batch 128, stop once ``monitor`` >= 1.0.

    ``keras.utils.set_random_seed`` does what the post's ``random_seed()``
    does (Python, NumPy and TensorFlow seeds) and also resets Keras 3's own
    generator, so the run does not depend on what ran before it.

    Args:
        seed: The seed. Defaults to 0.
        epochs: Most epochs to run. Defaults to the post's 300.
        monitor: The key the stopping rule watches. Defaults to "accuracy".
        validation: Pass the training set as ``validation_data`` (the post's
            fix). Defaults to False.
        callbacks: More callbacks, run before the stopping rule.

    Returns:
        A :class:`Run`.
    """
    x, y = threshold_data()
    keras.utils.set_random_seed(seed)
    model = build_threshold_model()
    stop = StopAtThreshold(monitor, 1.0)
    history = model.fit(
        x,
        y,
        batch_size=128,
        epochs=epochs,
        verbose=0,
        validation_data=(x, y) if validation else None,
        callbacks=[*callbacks, stop],
    )
    return Run(seed, history.history, stop, accuracy_by_evaluate(model, x, y), model.get_weights())


# -- sample orders -------------------------------------------------------------


def epoch_orders(seed: int, epochs: int, n: int) -> np.ndarray:
    """A fresh uniform permutation per epoch: what ``shuffle=True`` promises.

    Example:
        >>> epoch_orders(0, 3, 5).shape
        (3, 5)
    """
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(epochs)])


def keras_shuffle_orders(
    seed: int = 0, *, epochs: int = 3, n: int = 500, batch_size: int = 128, spy=None
) -> np.ndarray:
    """The sample order ``fit(shuffle=True)`` uses in each epoch, for the post's 500 points.

    :func:`helpers.fit_order.fit_orders` with this scenario's defaults.

    Args:
        seed: The seed set before ``fit()``. Defaults to 0.
        epochs: How many epochs to record. Defaults to 3.
        n: Number of samples. Defaults to 500.
        batch_size: Defaults to 128.
        spy: A :func:`helpers.fit_order.spy_model` to reuse; a new one if None.

    Returns:
        An int array of shape (epochs, n): row e is epoch e+1's order.
    """
    return fit_orders(n, epochs=epochs, batch_size=batch_size, seed=seed, spy=spy)


# -- inside an epoch ------------------------------------------------------------


def decision_boundary(weights) -> float:
    """The x at which the model's output crosses 0.5, from its weights.

    The network is sigmoid(w2 * relu(w1 * z + b1) + b2) with z the
    normalised x, so the output is 0.5 where relu(w1 * z + b1) = -b2 / w2.

    Args:
        weights: ``model.get_weights()`` of a threshold model (Normalization
            mean, variance, count, then the two Dense layers).

    Returns:
        The boundary in x units, or nan if the output never crosses 0.5.

    Example:
        >>> decision_boundary([[0.0], [1.0], 0, [[2.0]], [-20.0], [[1.0]], [-0.5]])
        10.25
    """
    mean, variance, _, w1, b1, w2, b2 = (np.asarray(w, dtype="float64") for w in weights)
    w1, b1, w2, b2 = (float(np.ravel(v)[0]) for v in (w1, b1, w2, b2))
    hidden = -b2 / w2 if w2 else math.nan
    if not hidden > 0 or not w1:
        return math.nan  # the crossing would need relu < 0: the output is constant there
    scale = max(math.sqrt(float(np.ravel(variance)[0])), keras.config.epsilon())
    return float((hidden - b1) / w1 * scale + np.ravel(mean)[0])


def batch_table(run: Run, recorder, probe, epoch: int) -> Table:
    """Each batch of one epoch: what ``fit()`` counted, and when.

    Args:
        run: A run from ``ThresholdRunner(per_batch=True)`` (its ``order``
            says which samples each batch held).
        recorder: Its :class:`~helpers.step_recorder.StepRecorder` (``per_step=True``).
        probe: Its :class:`~helpers.gap_probe.GapProbe` (``per_batch=True``).
        epoch: The epoch, 1-based.

    Returns:
        One row per batch: its size; the accuracy ``fit()`` counted for it;
        the same samples scored with the weights just before and just
        after its update; all 500 samples before its update; the boundary.
    """
    moments = [r for r in recorder.rows if r["epoch"] == epoch]
    predictions = [p for r, p in zip(recorder.rows, recorder.predictions) if r["epoch"] == epoch]
    fit = probe.table.where(source="batch", metric="accuracy", epoch=epoch).column("value")
    if len(moments) != len(fit) + 1:
        raise ValueError(
            f"no per-batch record of epoch {epoch!r}; record with per_step=True "
            "and GapProbe(per_batch=True) on a per-batch run"
        )
    y, size, rows = recorder.y == 1, probe.batch_size, []
    order = run.order[epoch - 1]
    home = np.empty(len(order), dtype=int)
    home[order] = np.arange(len(order)) // size + 1  # sample index -> its batch in this epoch
    for k, counted in enumerate(fit):
        batch = order[k * size : (k + 1) * size]
        before, after = (
            float(np.mean((predictions[j][batch] > 0.5) == y[batch])) for j in (k, k + 1)
        )
        rows.append(
            {
                "batch": k + 1,
                "samples": len(batch),
                "fit counted": counted,
                "same samples, weights before": before,
                "same samples, weights after": after,
                "all 500, weights before": moments[k]["accuracy"],
                "wrong then (in batch)": ", ".join(
                    f"{recorder.x[i, 0]:.1f} ({home[i]})" for i in moments[k]["wrong"]
                )
                or "none",
                "boundary before": moments[k]["boundary"],
            }
        )
    return Table(rows)
