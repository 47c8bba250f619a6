"""Scenario 03: ``fit()`` logs accuracy 1.0, ``evaluate()`` on the same data disagrees.

Introduced in ``notebooks/03_fit_says_one.ipynb``. The post's task is a 1-D
threshold: x from -20 to 30 in steps of 0.1, label 1 where x >= 10, a
four-weight network, Adam at learning rate 0.1, batches of 128, and a rule
that stops training once the *logged* accuracy reaches 1.0.

* :func:`post_fit` is the post's code: ``fit()`` on arrays, Keras shuffling.
* :class:`ThresholdRunner` is the same ``fit()`` on the same model, data and
  batches, fast enough for many seeds; the tests check it against
  :func:`post_fit` bit for bit.
* :func:`seed_table` runs many seeds and reads off where each stopping rule
  fires; :class:`StepRecorder` scores all 500 samples at every moment of an
  epoch; :func:`explore_threshold` is the explorer's plain function.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from helpers.gap_probe import GapProbe
from helpers.models import build_threshold_model
from helpers.plots import STYLE
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
MONITORS = ("accuracy", "val_accuracy", "eval_accuracy")


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


def _outcome(stopped: bool, perfect: bool) -> str:
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
        return _outcome(self.stopped_epoch > 0, self.evaluate_accuracy >= 1.0)


def _evaluate(model, x, y) -> float:
    return float(model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"])


def post_fit(seed: int = 0, *, epochs: int = 300, monitor: str = "accuracy",
             validation: bool = False, callbacks=()) -> Run:
    """The post's run: ``fit()`` on arrays, batch 128, stop once ``monitor`` >= 1.0.

    ``keras.utils.set_random_seed`` does what the post's ``random_seed()``
    does (Python, NumPy and TensorFlow seeds) and also resets Keras 3's own
    generator, so the run does not depend on what ran before it.

    Args:
        seed: The seed. Defaults to 0.
        epochs: Most epochs to run. Defaults to the post's 300.
        monitor: The key the stopping rule watches. Defaults to "accuracy".
        validation: Pass the training set as ``validation_data`` (the
            accepted answer's fix). Defaults to False.
        callbacks: More callbacks, run before the stopping rule.

    Returns:
        A :class:`Run`.
    """
    x, y = threshold_data()
    keras.utils.set_random_seed(seed)
    model = build_threshold_model()
    stop = StopAtThreshold(monitor, 1.0)
    history = model.fit(x, y, batch_size=128, epochs=epochs, verbose=0,
                        validation_data=(x, y) if validation else None,
                        callbacks=[*callbacks, stop])
    return Run(seed, history.history, stop, _evaluate(model, x, y), model.get_weights())


# -- sample orders -------------------------------------------------------------


def epoch_orders(seed: int, epochs: int, n: int) -> np.ndarray:
    """A fresh uniform permutation per epoch: what ``shuffle=True`` promises.

    Example:
        >>> epoch_orders(0, 3, 5).shape
        (3, 5)
    """
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(epochs)])


class _Recorder(keras.layers.Layer):
    """An identity layer that remembers the samples it sees in training."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen: list[np.ndarray] = []

    def call(self, inputs, training=None):
        if training:
            self.seen.append(keras.ops.convert_to_numpy(inputs)[:, 0].astype(int))
        return inputs


def _spy_model():
    spy = keras.Sequential([keras.Input((1,)), _Recorder(), keras.layers.Dense(1)])
    spy.compile(optimizer="sgd", loss="mse", run_eagerly=True)  # eager: the layer sees values
    return spy


def fit_orders(seed: int = 0, *, epochs: int = 3, n: int = 500, batch_size: int = 128,
               _spy=None) -> np.ndarray:
    """The sample order ``fit()`` uses in each epoch, read off a spy model.

    After ``keras.utils.set_random_seed(seed)`` (the post's seeding), a model
    whose first layer records its inputs is fitted on ``arange(n)`` with the
    default ``shuffle=True``.

    Args:
        seed: The seed set before ``fit()``. Defaults to 0.
        epochs: How many epochs to record. Defaults to 3.
        n: Number of samples. Defaults to 500.
        batch_size: Defaults to 128.

    Returns:
        An int array of shape (epochs, n): row e is epoch e+1's order.
    """
    spy = _spy or _spy_model()
    spy.layers[0].seen = []
    keras.utils.set_random_seed(seed)
    spy.fit(np.arange(n, dtype="float32")[:, None], np.zeros(n), batch_size=batch_size,
            epochs=epochs, verbose=0)
    return np.concatenate(spy.layers[0].seen).reshape(epochs, n)


# -- fast, faithful runs ---------------------------------------------------------


def _positive_int(name: str, value, example: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"invalid `{name}`: {value!r}; expected a positive int such as {example}")
    return int(value)


class ThresholdRunner:
    """The post's model and ``fit()``, compiled once and re-initialised per seed.

    A run equals :func:`post_fit` given the same batches: the weights are
    copied from a fresh model built after ``keras.utils.set_random_seed(seed)``
    and Adam's state is reset, so only the tracing is saved; one call runs a
    whole epoch (``steps_per_execution``) unless ``per_batch=True``. The
    batches are those Keras 3 feeds the post's code (``reshuffle=False``: one
    order, read by :func:`fit_orders`, reused every epoch) or a fresh order
    per epoch (``reshuffle=True``, :func:`epoch_orders`).

    Args:
        learning_rate: Adam's learning rate. Defaults to the post's 0.1.
        batch_size: Defaults to the post's 128 (batches 128, 128, 128, 116).
        adapt: ``adapt()`` the Normalization layer on x first (the post
            does not). Defaults to False.
        per_batch: One batch per call, so callbacks see every batch (slower).
            Defaults to False.
    """

    def __init__(self, *, learning_rate: float = 0.1, batch_size: int = 128,
                 adapt: bool = False, per_batch: bool = False):
        self.x, self.y = threshold_data()
        self.batch_size = _positive_int("batch_size", batch_size, 128)
        self.learning_rate, self.adapt = learning_rate, bool(adapt)
        self.steps = math.ceil(len(self.y) / self.batch_size)
        self.model = self._fresh(0)  # validates learning_rate
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                           loss="binary_crossentropy", metrics=["accuracy"],
                           steps_per_execution=1 if per_batch else self.steps)
        self.model.optimizer.build(self.model.trainable_variables)
        self._optimizer_start = [v.numpy().copy() for v in self.model.optimizer.variables]
        self._spy = _spy_model()

    def _fresh(self, seed: int):
        keras.utils.set_random_seed(seed)
        return build_threshold_model(learning_rate=self.learning_rate, compile=False,
                                     normalization=self.x if self.adapt else None)

    def orders(self, seed: int, epochs: int, reshuffle: bool = False) -> np.ndarray:
        """Each epoch's sample order for a run, shape (epochs, 500)."""
        if reshuffle:
            return epoch_orders(seed, epochs, len(self.y))
        once = fit_orders(seed, epochs=1, n=len(self.y), batch_size=self.batch_size, _spy=self._spy)
        return np.repeat(once, epochs, axis=0)

    def _dataset(self, order: np.ndarray):
        x, y = self.x.astype("float32")[order], self.y[order]
        batch = self.batch_size  # each epoch batched on its own: 128, 128, 128, 116
        return tf.data.Dataset.from_tensor_slices((x, y)).flat_map(
            lambda xe, ye: tf.data.Dataset.from_tensor_slices((xe, ye)).batch(batch))

    def run(self, seed: int = 0, *, epochs: int = 300, monitor: str | None = "accuracy",
            threshold: float = 1.0, reshuffle: bool = False, validation: bool = False,
            callbacks=()) -> Run:
        """Train from seed ``seed``; stop once ``monitor`` >= ``threshold``.

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
            callbacks: More callbacks, run before the stopping rule.

        Returns:
            A :class:`Run`; its ``order`` holds every epoch's sample order.

        Like the post, this calls ``keras.utils.set_random_seed(seed)``.
        """
        epochs = _positive_int("epochs", epochs, 300)
        stop = StopAtThreshold(monitor, threshold) if monitor is not None else None
        order = self.orders(seed, epochs, reshuffle)
        self.model.set_weights(self._fresh(seed).get_weights())
        for variable, value in zip(self.model.optimizer.variables, self._optimizer_start):
            variable.assign(value)
        x32 = self.x.astype("float32")
        # The training set as validation data, batched as fit() batches arrays (batch_size);
        # a dataset because re-creating the arrays' input pipeline every epoch is slow.
        held = tf.data.Dataset.from_tensor_slices((x32, self.y)).batch(self.batch_size)
        history = self.model.fit(self._dataset(order), epochs=epochs, steps_per_epoch=self.steps,
                                 verbose=0, shuffle=False, validation_data=held if validation else None,
                                 callbacks=[*callbacks, *([stop] if stop else [])])
        return Run(seed, history.history, stop, _evaluate(self.model, x32, self.y),
                   self.model.get_weights(), order)


# -- many seeds ----------------------------------------------------------------


class _UntilBothRules(keras.callbacks.Callback):
    """Stop once the logged and the end-of-epoch accuracy have both reached 1."""

    def __init__(self, recorder):
        super().__init__()
        self.recorder = recorder

    def on_train_begin(self, logs=None):
        self.best = 0.0

    def on_epoch_end(self, epoch, logs=None):
        self.best = max(self.best, logs["accuracy"])
        end = max(r["accuracy"] for r in self.recorder.rows)
        self.model.stop_training = self.best >= 1.0 and end >= 1.0


def _first(values, threshold=1.0) -> int:
    return next((e for e, v in enumerate(values, start=1) if v >= threshold), 0)


def seed_table(seeds=range(20), *, epochs: int = 300, reshuffle: bool = False,
               runner: ThresholdRunner | None = None) -> Table:
    """Train each seed once and read off where each stopping rule fires.

    Stopping never changes the epochs before it, so one run per seed, kept
    going until both rules have fired (or ``epochs``), shows both: the
    post's rule (logged ``accuracy`` >= 1) and the fix (``val_accuracy``
    on the training set >= 1, which is the end-of-epoch accuracy that
    :class:`StepRecorder` measures, i.e. ``evaluate()``).

    Args:
        seeds: The seeds. Defaults to 0..19.
        epochs: Most epochs per run. Defaults to the post's 300.
        reshuffle: See :meth:`ThresholdRunner.run`. Defaults to False.
        runner: A :class:`ThresholdRunner`; a default one if None.

    Returns:
        A Table, one row per seed.
    """
    runner = runner or ThresholdRunner()
    rows = []
    for seed in seeds:
        recorder = StepRecorder(runner.x, runner.y)
        run = runner.run(int(seed), epochs=epochs, monitor=None, reshuffle=reshuffle,
                         callbacks=[recorder, _UntilBothRules(recorder)])
        fit, end = run.history["accuracy"], [r["accuracy"] for r in recorder.rows]
        post, fix = _first(fit), _first(end)
        rows.append({"seed": int(seed),
                     "accuracy: stops at": post or None, "evaluate there": end[(post or epochs) - 1],
                     "outcome": _outcome(bool(post), end[(post or epochs) - 1] >= 1.0),
                     "val_accuracy: stops at": fix or None, "fit logged there": fit[(fix or epochs) - 1],
                     "outcome (fix)": _outcome(bool(fix), bool(fix))})
    return Table(rows)


def outcome_counts(tables, column: str = "outcome") -> Table:
    """How often each outcome happened, per seed table.

    Args:
        tables: One :func:`seed_table`, or a dict name -> table to compare.
        column: ``"outcome"`` (the post's rule) or ``"outcome (fix)"``.

    Returns:
        A Table: one row per outcome; with one table, columns runs, share
        and seeds; with several, one column of counts per table.
    """
    if isinstance(tables, Table):
        outcomes = tables.column(column)
        return Table([{"outcome": o, "runs": outcomes.count(o), "share": outcomes.count(o) / len(outcomes),
                       "seeds": " ".join(str(r["seed"]) for r in tables if r[column] == o)}
                      for o in OUTCOMES], digits=2)
    return Table([{"outcome": o, **{name: t.column(column).count(o) for name, t in tables.items()}}
                  for o in OUTCOMES])


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


class StepRecorder(keras.callbacks.Callback):
    """Score every sample with the weights of every moment of training.

    Records the predictions on ``x`` before each batch's update (when
    ``per_step=True``; needs one batch per call, see ``ThresholdRunner(
    per_batch=True)``) and at the end of each epoch. Inference on this model
    changes nothing, so training is not disturbed.

    Optionally writes the end-of-epoch accuracy into the epoch's logs as
    ``log_key``, so a callback listed after it (a stopping rule) can watch
    the accuracy of the weights themselves.

    Args:
        x: Inputs to score.
        y: Their 0/1 labels.
        per_step: Also record before every batch. Defaults to False.
        log_key: Logs key for the end-of-epoch accuracy, e.g.
            ``"eval_accuracy"``; None writes nothing. Defaults to None.

    Attributes:
        rows: One dict per recorded moment: epoch (1-based), step (k: before
            batch k+1; the number of batches: end of epoch), accuracy,
            boundary (with ``per_step`` only), wrong (the misclassified x).
        predictions: Matching arrays of predicted probabilities.
    """

    def __init__(self, x, y, *, per_step: bool = False, log_key: str | None = None):
        super().__init__()
        self.x = np.asarray(x, dtype="float32").reshape(-1, 1)
        self.y = np.asarray(y).ravel()
        if len(self.x) != len(self.y):
            raise ValueError(f"`x` has {len(self.x)} samples but `y` has {len(self.y)}; pass matching arrays")
        if log_key is not None and (not isinstance(log_key, str) or not log_key):
            raise ValueError(f"invalid `log_key`: {log_key!r}; expected a string such as 'eval_accuracy' or None")
        self.per_step, self.log_key = bool(per_step), log_key
        self.rows: list[dict] = []
        self.predictions: list[np.ndarray] = []

    def on_train_begin(self, logs=None):
        self.rows, self.predictions = [], []
        if self.per_step and int(getattr(self.model, "steps_per_execution", 1) or 1) > 1:
            raise ValueError("StepRecorder(per_step=True) needs one batch per call; "
                             "use ThresholdRunner(per_batch=True) or compile with steps_per_execution=1")

    def _record(self, epoch: int, step: int) -> float:
        p = np.asarray(self.model.predict_on_batch(self.x)).ravel()
        correct = (p > 0.5) == (self.y == 1)  # Keras's binary accuracy: threshold 0.5
        accuracy = float(np.float32(correct.mean()))  # float32, as evaluate() reports it
        boundary = decision_boundary(self.model.get_weights()) if self.per_step else None
        self.rows.append({"epoch": epoch, "step": step, "accuracy": accuracy, "boundary": boundary,
                          "wrong": [round(float(v), 1) for v in self.x[~correct, 0]]})
        self.predictions.append(p)
        return accuracy

    def on_train_batch_begin(self, batch, logs=None):
        if self.per_step:
            self._record(self._epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        accuracy = self._record(epoch + 1, self.params.get("steps") or 0)
        if self.log_key is not None and logs is not None:
            logs[self.log_key] = accuracy

    def epoch_rows(self, epoch: int) -> Table:
        """The recorded moments of one epoch."""
        return Table([r for r in self.rows if r["epoch"] == epoch])


def batch_table(run: Run, recorder: StepRecorder, probe: GapProbe, epoch: int) -> Table:
    """Each batch of one epoch: what ``fit()`` counted, and when.

    Args:
        run: A run from ``ThresholdRunner(per_batch=True)`` (its ``order``
            says which samples each batch held).
        recorder: Its ``StepRecorder(per_step=True)``.
        probe: Its ``GapProbe(per_batch=True)``.
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
        raise ValueError(f"no per-batch record of epoch {epoch!r}; record with per_step=True "
                         "and GapProbe(per_batch=True) on a per-batch run")
    y, size, rows = recorder.y == 1, probe.batch_size, []
    order = run.order[epoch - 1]
    home = np.empty(len(order), dtype=int)
    home[order] = np.arange(len(order)) // size + 1  # sample index -> its batch in this epoch
    for k, counted in enumerate(fit):
        batch = order[k * size:(k + 1) * size]
        before, after = (float(np.mean((predictions[j][batch] > 0.5) == y[batch])) for j in (k, k + 1))
        wrong = np.flatnonzero((predictions[k] > 0.5) != y)
        rows.append({"batch": k + 1, "samples": len(batch), "fit counted": counted,
                     "same samples, weights before": before, "same samples, weights after": after,
                     "all 500, weights before": moments[k]["accuracy"],
                     "wrong then (in batch)": ", ".join(
                         f"{recorder.x[i, 0]:.1f} ({home[i]})" for i in wrong) or "none",
                     "boundary before": moments[k]["boundary"]})
    return Table(rows)


class LoggingProbe(GapProbe):
    """A :class:`~helpers.GapProbe` that also writes its end-of-epoch values into the logs.

    ``fit()`` passes one ``logs`` dict along its callbacks, so a callback
    listed after this one -- ``StopAtThreshold``, ``EarlyStopping``,
    ``ModelCheckpoint`` -- can watch ``eval_accuracy``: the accuracy of the
    end-of-epoch weights on the probe's data, under a name that does not
    pretend to be validation data. ``History`` records it too.

    Args:
        x, y: The data to measure, usually the training set.
        prefix: Put before each metric's name. Defaults to ``"eval_"``.
        **kwargs: Passed to :class:`~helpers.GapProbe`.
    """

    def __init__(self, x, y, sample_weight=None, *, prefix: str = "eval_", **kwargs):
        super().__init__(x, y, sample_weight, **kwargs)
        if not isinstance(prefix, str) or not prefix or prefix == "val_":
            raise ValueError(f"invalid `prefix`: {prefix!r}; expected a name such as 'eval_' "
                             "('val_' would pass training data off as validation data)")
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None:
            logs.update({self.prefix + r["metric"]: r["value"] for r in self.rows
                         if r["epoch"] == epoch + 1 and r["source"] == "inference"})


# -- pictures and the explorer ----------------------------------------------------


def plot_boundary(recorder: StepRecorder, epochs, *, ax=None, title=None):
    """The decision boundary before every batch of some epochs.

    Args:
        recorder: A ``StepRecorder(per_step=True)`` that went through ``fit()``.
        epochs: The epochs to draw, e.g. ``range(29, 32)``.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    epochs = list(epochs)
    steps = max(r["step"] for r in recorder.rows)
    rows = [r for r in recorder.rows if r["epoch"] in epochs
            and (r["step"] < steps or r["epoch"] == epochs[-1])]
    if not rows:
        raise ValueError(f"no recorded epochs among {epochs!r}; record with StepRecorder(per_step=True)")
    t = np.array([r["epoch"] - 1 + r["step"] / steps for r in rows])
    b = np.array([r["boundary"] for r in rows])
    perfect = np.array([not r["wrong"] for r in rows])
    ax.axhspan(9.9, 10.0, color="tab:green", alpha=0.15, label="boundary here: all 500 right")
    ax.plot(t, b, color="0.5", lw=1)
    ax.plot(t[perfect], b[perfect], "o", color="tab:green", label="all 500 right")
    ax.plot(t[~perfect], b[~perfect], "o", color="tab:red", label="some wrong")
    for ti, bi, r in zip(t, b, rows):
        if r["wrong"]:
            ax.annotate(str(len(r["wrong"])), (ti, bi), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize="small", color="tab:red")
    for e in epochs[:-1]:
        ax.axvline(e, color="0.8", lw=0.8)
    ax.set_xticks([e - 0.5 for e in epochs], [f"epoch {e}" for e in epochs])
    ax.set_xlabel("each dot: the weights just before a batch (last dot: end of the last epoch)")
    ax.set_ylabel("x where the output crosses 0.5")
    ax.set_title(title or "The boundary moves across the gap within each epoch")
    ax.legend(fontsize="small", loc="best")
    return ax


def plot_errors(run: Run, recorder: StepRecorder, *, n: int = 500, ax=None, title=None):
    """Misclassified samples per epoch: counted by ``fit()`` vs at the epoch's end.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    epochs = np.arange(1, len(run.history["accuracy"]) + 1)
    fit = np.rint((1 - np.array(run.history["accuracy"])) * n)
    end = np.rint([(1 - r["accuracy"]) * n for r in recorder.rows if r["step"] == recorder.rows[-1]["step"]])
    ax.step(epochs, fit, where="mid", color=STYLE["fit"]["color"], label="counted by fit() during the epoch")
    ax.step(epochs, end[:len(epochs)], where="mid", color=STYLE["inference"]["color"],
            label="end-of-epoch weights = evaluate()")
    if run.stopped_epoch:
        ax.axvline(run.stopped_epoch, color="0.3", ls="--", lw=1, label=f"stopped (epoch {run.stopped_epoch})")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"misclassified (of {n})")
    ax.set_title(title or "Errors per epoch, two ways")
    ax.legend(fontsize="small")
    return ax


def explore_threshold(learning_rate: float = 0.1, epochs: int = 300, batch_size: int = 128,
                      monitor: str = "accuracy", progress=None, *, seed: int = 0,
                      reshuffle: bool = False) -> SimpleNamespace:
    """Train the post's model once and compare what ``fit()`` logged with ``evaluate()``.

    The explorer's plain function (see :func:`threshold_explorer`).

    Args:
        learning_rate: Adam's learning rate. Defaults to 0.1.
        epochs: Most epochs. Defaults to 300.
        batch_size: Defaults to 128.
        monitor: What the stopping rule watches: ``"accuracy"`` (the post),
            ``"val_accuracy"`` (the accepted answer: the training set passed
            as validation data) or ``"eval_accuracy"`` (the end-of-epoch
            accuracy written into the logs by a measuring callback).
            Defaults to "accuracy".
        progress: ``progress(epoch, epochs, logs)`` callable. Defaults to None.
        seed: Defaults to 0.
        reshuffle: A fresh sample order every epoch. Defaults to False.

    Returns:
        ``figure`` (a Figure), ``summary`` (one sentence), ``run`` (a :class:`Run`)
        and ``recorder`` (its :class:`StepRecorder`, end-of-epoch accuracy per epoch).

    Raises:
        ValueError: for an unknown ``monitor`` or out-of-range settings.
    """
    from helpers.widgets import progress_callback

    if monitor not in MONITORS:
        raise ValueError(f"invalid `monitor`: {monitor!r}; expected one of {MONITORS}")
    if _positive_int("epochs", epochs, 300) > 1000:
        raise ValueError(f"invalid `epochs`: {epochs!r}; expected at most 1000 (the post used 300)")
    if _positive_int("batch_size", batch_size, 128) > 500:
        raise ValueError(f"invalid `batch_size`: {batch_size!r}; expected at most 500, the data's size")
    runner = ThresholdRunner(learning_rate=learning_rate, batch_size=batch_size)
    recorder = StepRecorder(runner.x, runner.y, log_key="eval_accuracy")
    run = runner.run(seed, epochs=epochs, monitor=monitor, reshuffle=reshuffle,
                     validation=monitor == "val_accuracy",
                     callbacks=[recorder, *progress_callback(progress)])
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")  # not pyplot's: shown only when asked
    ax = fig.subplots()
    plot_errors(run, recorder, ax=ax, title=f"learning rate {learning_rate:g}, batch {batch_size}, "
                                             f"stop on {monitor}, seed {seed}")
    done = len(run.history["accuracy"])
    summary = (f"Stopped at epoch {run.stopped_epoch}" if run.stopped_epoch
               else f"Never stopped in {done} epochs") + (
        f": fit() logged accuracy {run.fit_accuracy:.3f}, evaluate() says {run.evaluate_accuracy:.3f}.")
    return SimpleNamespace(figure=fig, summary=summary, run=run, recorder=recorder)


def threshold_explorer(*, run_now: bool = False):
    """Controls for :func:`explore_threshold`: learning rate, epochs, batch size, monitored key, seed."""
    import ipywidgets as widgets

    from helpers.widgets import Explorer

    style = {"description_width": "initial"}
    controls = {
        "learning_rate": widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0, step=0.25,
                                                description="learning rate", style=style),
        "epochs": widgets.IntSlider(value=300, min=10, max=300, step=10, description="epochs", style=style),
        "batch_size": widgets.Dropdown(options=[16, 32, 64, 128, 250, 500], value=128,
                                       description="batch size", style=style),
        "monitor": widgets.Dropdown(options=list(MONITORS), value="accuracy",
                                    description="stop on", style=style),
        "seed": widgets.IntSlider(value=0, min=0, max=49, description="seed", style=style),
        "reshuffle": widgets.Checkbox(value=False, description="reshuffle every epoch", style=style),
    }
    return Explorer(explore_threshold, controls, run_now=run_now,
                    title="Stop at accuracy 1.0: what fit() logged vs evaluate()")
