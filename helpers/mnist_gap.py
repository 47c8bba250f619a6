"""Scenario 02: validation accuracy above training accuracy on 1/20 of MNIST.

Introduced in ``notebooks/02_validation_above_training.ipynb``. The post
trained a small CNN with two Dropout layers on 3,000 MNIST digits and saw
``val_acc`` above ``acc`` for all 50 epochs, while ``evaluate()`` ranked the
training set first. The functions here prepare the data exactly as the post
did, train its model with :class:`~helpers.GapProbe` attached, and split the
gap between the two logged numbers into its measured parts:

* **drift** -- the logged training accuracy averages the epoch's batches,
  each measured before its own update; the end-of-epoch weights are better;
* **dropout** -- the logged number is measured with Dropout on; validation
  runs with it off;
* **generalisation** -- validation digits versus training digits, both with
  the end-of-epoch weights in inference mode (the honest comparison).

Example:
    >>> split = GapSplit(epoch=10, logged=0.90, training=0.91, inference=0.99, validation=0.96)
    >>> round(split.drift + split.dropout + split.generalisation, 6) == round(split.total, 6)
    True
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from helpers.data import load_mnist
from helpers.gap_probe import GapProbe
from helpers.models import build_mnist_cnn
from helpers.modes import layer_family, preserved_state
from helpers.plots import STYLE, plot_probe
from helpers.reproducibility import import_tensorflow_quietly
from helpers.table import Table
from helpers.widgets import Explorer, progress_callback

tf, keras = import_tensorflow_quietly()

POST_DROPOUT = (0.25, 0.5)
POST_BATCH_SIZE = 64
POST_EPOCHS = 50
N_LABELS = 10
# The model has no BatchNormalization, so a measurement's batch size changes
# nothing but its speed: 500 digits per forward pass is ~2x faster than 64.
PROBE_BATCH_SIZE = 500
PROBES = (None, "inference", "training")
EXPLORER_EPOCHS = 2  # the explorer's default: a re-run within 10 s on a quiet 2-core CPU


def prepare(x, y):
    """Shape, scale and encode digits as the post did.

    Args:
        x: ``uint8`` images ``(n, 28, 28)``.
        y: Integer labels ``(n,)`` in 0..9.

    Returns:
        ``(x, y)``: ``float32`` images ``(n, 28, 28, 1)`` in [0, 1] and
        one-hot labels ``(n, 10)``.

    Example:
        >>> x, y = prepare(np.full((2, 28, 28), 255, "uint8"), np.array([3, 7]))
        >>> x.shape, x.dtype, float(x.max()), y.shape, y.argmax(1).tolist()
        ((2, 28, 28, 1), dtype('float32'), 1.0, (2, 10), [3, 7])
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"invalid digit images of shape {x.shape}; expected (n, 28, 28) as from load_mnist()")
    if y.shape != (len(x),):
        raise ValueError(f"invalid labels of shape {y.shape}; expected ({len(x)},), one integer label per image")
    images = x.reshape(len(x), 28, 28, 1).astype("float32") / 255
    return images, keras.utils.to_categorical(y, N_LABELS)


def load_post_data(source: str = "shipped", *, n_train: int = 3000, n_test: int = 500):
    """The post's data, prepared: 1/20 of MNIST by default.

    Args:
        source: ``"shipped"`` (offline subset) or ``"keras"`` (the official
            files, downloaded once). Defaults to ``"shipped"``.
        n_train: Training digits. Defaults to 3000.
        n_test: Test digits, used as ``validation_data``. Defaults to 500.

    Returns:
        ``(x_train, y_train), (x_val, y_val)`` as :func:`prepare` returns them.
    """
    (x_train, y_train), (x_val, y_val) = load_mnist(source, n_train=n_train, n_test=n_test)
    return prepare(x_train, y_train), prepare(x_val, y_val)


@dataclasses.dataclass(frozen=True)
class GapSplit:
    """Validation accuracy minus logged training accuracy, in three parts.

    ``logged + drift + dropout + generalisation == validation`` exactly.

    Attributes:
        epoch: The epoch (1-based, as in ``fit()``'s progress bar).
        logged: Training accuracy as ``fit()`` logged it.
        training: Training accuracy with the end-of-epoch weights, Dropout on.
        inference: The same with Dropout off: what ``evaluate()`` says.
        validation: ``val_accuracy`` as ``fit()`` logged it.
    """

    epoch: int
    logged: float
    training: float
    inference: float
    validation: float

    @property
    def drift(self) -> float:
        """End-of-epoch weights minus the epoch's logged average, Dropout on in both."""
        return self.training - self.logged

    @property
    def dropout(self) -> float:
        """What switching Dropout off adds, same weights, same digits."""
        return self.inference - self.training

    @property
    def generalisation(self) -> float:
        """Validation minus training digits, both measured like ``evaluate()``."""
        return self.validation - self.inference

    @property
    def total(self) -> float:
        """The gap the post saw: ``val_accuracy - accuracy``."""
        return self.validation - self.logged

    @property
    def table(self) -> Table:
        """The split as a running sum, one row per step."""
        return Table([
            {"step": "fit() logged training accuracy", "change": None, "accuracy": self.logged},
            {"step": "+ drift: end-of-epoch weights (Dropout on)", "change": self.drift, "accuracy": self.training},
            {"step": "+ dropout off: evaluate() on training data", "change": self.dropout, "accuracy": self.inference},
            {"step": "+ generalisation: validation digits", "change": self.generalisation, "accuracy": self.validation},
        ])

    @property
    def summary(self) -> str:
        """One line with the numbers."""
        return (f"epoch {self.epoch}: val_accuracy - accuracy = {self.total:+.4f} = drift {self.drift:+.4f}"
                f" + dropout {self.dropout:+.4f} + generalisation {self.generalisation:+.4f}")


@dataclasses.dataclass
class MnistRun:
    """One training run of the post's model and everything measured in it.

    Attributes:
        model: The trained model.
        history: What ``fit()`` returned.
        probe: The :class:`~helpers.GapProbe` attached, or None.
        end: Training-data accuracy after the last epoch, ``{"training": …,
            "inference": …}``.
        settings: The arguments of :func:`train_post`.
    """

    model: object
    history: object
    probe: GapProbe | None
    end: dict
    settings: dict

    def split(self, epoch: int | None = None) -> GapSplit:
        """The gap at ``epoch`` (the last one if None), split into its parts.

        Any epoch needs a probe created with ``probe="training"``; the last
        epoch is always available.
        """
        logs = self.history.history
        epochs = len(logs["accuracy"])
        epoch = epochs if epoch is None else epoch
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or not 1 <= epoch <= epochs:
            raise ValueError(f"invalid `epoch`: {epoch!r}; expected an int from 1 to {epochs}")
        if epoch == epochs:
            training, inference = self.end["training"], self.end["inference"]
        elif self.probe is not None and self.settings["probe"] == "training":
            training = _at(self.probe, "training", epoch)
            inference = _at(self.probe, "inference", epoch)
        else:
            raise ValueError(f"epoch {epoch} was not measured; train with probe='training', "
                             f"or split the last epoch ({epochs})")
        return GapSplit(int(epoch), float(logs["accuracy"][epoch - 1]), training, inference,
                        float(logs["val_accuracy"][epoch - 1]))

    def logs(self) -> Table:
        """What ``fit()`` logged, one row per epoch, with the gap the post saw."""
        logs = self.history.history
        return Table([{"epoch": e, "accuracy": t, "val_accuracy": v, "val - train": v - t}
                      for e, (t, v) in enumerate(zip(logs["accuracy"], logs["val_accuracy"]), start=1)])

    def splits(self) -> Table:
        """:meth:`split` for every epoch, one row each."""
        rows = []
        for e in range(1, len(self.history.history["accuracy"]) + 1):
            s = self.split(e)
            rows.append({"epoch": e, "logged": s.logged, "drift": s.drift, "dropout": s.dropout,
                         "generalisation": s.generalisation, "validation": s.validation, "total": s.total})
        return Table(rows)


def compare_splits(runs: dict, epoch: int | None = None) -> Table:
    """One epoch's :class:`GapSplit` for several runs, one row each.

    Args:
        runs: Name -> :class:`MnistRun`, e.g. ``{"post": run, "dropout 0": no_dropout}``.
        epoch: The epoch to split in every run; None takes each run's last.
            Defaults to None.

    Returns:
        A :class:`~helpers.Table` with the settings that vary and the parts.
    """
    rows = []
    for name, run in runs.items():
        s = run.split(epoch)
        rows.append({"run": name, "n_train": run.settings["n_train"], "batch": run.settings["batch_size"],
                     "epoch": s.epoch, "logged": s.logged, "drift": s.drift, "dropout": s.dropout,
                     "generalisation": s.generalisation, "validation": s.validation, "val - logged": s.total})
    return Table(rows)


def expected_answers(run: MnistRun, one_batch: MnistRun, no_dropout: MnistRun) -> dict:
    """The notebook's exercise answers, computed from its own runs.

    Kept out of the notebook so that a check cell does not print the answer
    it checks; computed, not typed, so the answers follow the measurements.
    """
    logs = no_dropout.history.history
    above = [t > v for t, v in zip(logs["accuracy"], logs["val_accuracy"])]
    stays = next((e for e in range(1, len(above) + 1) if all(above[e - 1:])), None)
    return {
        "val_key": next(k for k in run.history.history if k.startswith("val_") and "acc" in k),
        "one_batch_epoch4": float(one_batch.history.history["accuracy"][3]),
        "dropout_epoch3": run.split(3).dropout,
        "no_dropout_from": stays,
    }


def _trunk_and_head(model):
    """``model``'s forward pass as two compiled functions, split before its first mode-dependent layer.

    The post's convolutions and pooling compute the same in training and
    inference mode; only the layers from the first Dropout on differ. So the
    trunk runs once and the head once per mode, which halves the cost of
    measuring both modes.
    """
    if not isinstance(model, keras.Sequential):
        raise ValueError(f"invalid `model`: {type(model).__name__}; expected a keras.Sequential "
                         "such as build_mnist_cnn()")
    layers = model.layers
    split = next((i for i, layer in enumerate(layers) if layer_family(layer) is not None), len(layers))

    def trunk(x):
        for layer in layers[:split]:
            x = layer(x)
        return x

    def head(x, training):
        for layer in layers[split:]:
            x = layer(x, training=training)
        return x

    return tf.function(trunk, reduce_retracing=True), tf.function(head, reduce_retracing=True)


def _accuracies(model, x, y, *, batch_size: int, draws: int = 1, forward=None):
    """Accuracy on ``x``/``y`` in inference mode and in ``draws`` training-mode passes.

    The same numbers, to the last digit, as ``model.evaluate()`` and
    :func:`helpers.evaluate_in_mode` with ``mode="training"`` (same layers,
    same batches, same dropout masks, Keras's float32 ratio), at about half
    their joint cost. The model is left exactly as it was.

    Returns:
        ``(inference, [training, ...])``.
    """
    trunk, head = forward or _trunk_and_head(model)
    labels = np.argmax(y, axis=1)
    batches = [slice(i, i + batch_size) for i in range(0, len(x), batch_size)]
    features = [trunk(x[s]) for s in batches]  # the mode-free layers, once for every pass

    def accuracy(training):
        hits = sum(int(np.sum(np.argmax(head(f, training), axis=1) == labels[s])) for f, s in zip(features, batches))
        return float(np.float32(hits) / np.float32(len(x)))  # float32, as Keras's accuracy metric

    with preserved_state(model):  # training-mode passes advance the dropout seeds; undo that
        return accuracy(False), [accuracy(True) for _ in range(draws)]


class _PostProbe(GapProbe):
    """A :class:`~helpers.GapProbe` for the post's model, recording accuracy only.

    Records what ``GapProbe(x, y, metrics=["accuracy"], ...)`` records, with
    the same numbers, but measures both modes in one pass through the
    convolutions (:func:`_accuracies`). :attr:`last` keeps the latest
    measurement in both modes, even with ``training_mode=False``.
    """

    def on_train_begin(self, logs=None):
        self._forward, self.last = None, {}
        super().on_train_begin(logs)

    def _measure(self, epoch: int) -> None:  # replaces GapProbe's two full passes
        self._forward = self._forward or _trunk_and_head(self.model)
        inference, (training,) = _accuracies(self.model, self.x, self.y, batch_size=self.batch_size,
                                             forward=self._forward)
        self._add(epoch, "inference", "accuracy", inference)
        if self.training_mode:
            self._add(epoch, "training", "accuracy", training)
        self.last = {"training": training, "inference": inference}


def _at(probe: GapProbe, source: str, epoch: int) -> float:
    values = probe.series("accuracy", source)[probe.epochs("accuracy", source) == epoch]
    return float(values[0])


def _check_int(name: str, value, low: int, high: int, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"invalid `{name}`: {value!r}; expected an int from {low} to {high}, e.g. {example}")
    return int(value)


def train_post(dropout=POST_DROPOUT, *, epochs: int = 10, batch_size: int = POST_BATCH_SIZE,
               n_train: int = 3000, shuffle: bool = True, probe: str | None = "training",
               probe_batch_size: int = PROBE_BATCH_SIZE, initial: bool = False, seed: int | None = 0,
               data=None, progress: Callable | None = None) -> MnistRun:
    """Train the post's CNN as the post did, measuring the training data.

    The post's settings by default (dropout 0.25/0.5, Adam, batch 64,
    validation on the 500 test digits); only the epoch count differs (the
    post ran 50). The final weights are always measured on the training
    data in training and in inference mode (by the probe's last
    measurement, or once after ``fit()``), so the last epoch can always be
    split (:meth:`MnistRun.split`).

    Args:
        dropout: The two dropout rates. Defaults to the post's (0.25, 0.5).
        epochs: Epochs. Defaults to 10.
        batch_size: ``fit()``'s batch size. Defaults to the post's 64.
        n_train: Training digits from the shipped subset (up to 4,500).
            Defaults to 3000.
        shuffle: ``fit()``'s ``shuffle``. Defaults to True, as in the post.
        probe: ``"training"`` records accuracy on the training data after
            every epoch in both modes; ``"inference"`` only as
            ``evaluate()`` does; None attaches no probe. Defaults to
            ``"training"``.
        probe_batch_size: Batch size of the probe's measurements. Defaults
            to 500 (the model has no BatchNormalization, so only speed
            depends on it).
        initial: Also measure the initial weights (epoch 0). Defaults to
            False.
        seed: Passed to ``keras.utils.set_random_seed`` before building the
            model, so each run is repeatable on its own; None leaves the
            random state alone. Defaults to 0.
        data: ``((x_train, y_train), (x_val, y_val))`` already prepared;
            None loads :func:`load_post_data` with ``n_train``. Defaults to
            None.
        progress: Called as ``progress(epoch, epochs, logs)`` after every
            epoch. Defaults to None.

    Returns:
        A :class:`MnistRun`.

    Raises:
        ValueError: for a bad epoch count, batch size, probe or dropout rate.
    """
    epochs = _check_int("epochs", epochs, 1, 500, "10")
    batch_size = _check_int("batch_size", batch_size, 1, 100_000, "64 (the post's)")
    probe_batch_size = _check_int("probe_batch_size", probe_batch_size, 1, 100_000, "500")
    if probe not in PROBES:
        raise ValueError(f"invalid `probe`: {probe!r}; expected one of {PROBES}")
    if seed is not None:
        keras.utils.set_random_seed(_check_int("seed", seed, 0, 2**31 - 1, "0"))
    (x, y), (x_val, y_val) = data if data is not None else load_post_data(n_train=n_train)
    model = build_mnist_cnn(dropout)
    callbacks, gap_probe = [], None
    if probe is not None:
        gap_probe = _PostProbe(x, y, batch_size=probe_batch_size, metrics=["accuracy"],
                               training_mode=probe == "training", initial=initial)
        callbacks.append(gap_probe)
    callbacks += progress_callback(progress)  # after the probe: an epoch counts once measured
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=shuffle, verbose=0,
                        validation_data=(x_val, y_val), callbacks=callbacks)
    if gap_probe is not None:
        end = dict(gap_probe.last)  # measured after the last epoch, in both modes
    else:
        inference, (training,) = _accuracies(model, x, y, batch_size=probe_batch_size)
        end = {"training": training, "inference": inference}
    settings = dict(dropout=tuple(dropout), epochs=epochs, batch_size=batch_size, n_train=len(x),
                    shuffle=shuffle, probe=probe, seed=seed)
    return MnistRun(model, history, gap_probe, end, settings)


def post_printout(history, train_score: float, val_score: float) -> str:
    """The post's printout: ``evaluate()`` on both sets, then first and last five.

    Reads Keras 3's ``accuracy``/``val_accuracy``, or the post's
    ``acc``/``val_acc`` if that is what the history holds.

    Args:
        history: ``fit()``'s return value (or anything with ``.history``).
        train_score: ``evaluate()`` accuracy on the training data.
        val_score: ``evaluate()`` accuracy on the test (validation) data.

    Returns:
        The text, values rounded to 4 decimals.
    """
    logs = history.history
    key = next((k for k in ("accuracy", "acc") if k in logs and f"val_{k}" in logs), None)
    if key is None:
        raise KeyError(f"no training/validation accuracy in the history; available keys: {sorted(logs)}")
    fmt = lambda values: "[" + ", ".join(f"{v:.4f}" for v in values) + "]"
    train, val = logs[key], logs[f"val_{key}"]
    return "\n".join([
        f"Validation: {val_score:.4f}", f"Training:   {train_score:.4f}", "-" * 20,
        f"First 5 samples validation: {fmt(val[:5])}", f"First 5 samples training:   {fmt(train[:5])}",
        "-" * 20,
        f"Last 5 samples validation:  {fmt(val[-5:])}", f"Last 5 samples training:    {fmt(train[-5:])}",
    ])


def dropout_spread(model, x, y, *, draws: int = 5, batch_size: int = PROBE_BATCH_SIZE) -> np.ndarray:
    """Training-mode accuracy under ``draws`` different sets of dropout masks.

    Shows how much of a training-mode measurement is the luck of the masks.
    The first draw uses the masks that the next measurement would use, so
    right after ``fit()`` it repeats the run's last training-mode value. The
    convolutions run once for all draws; the model is left exactly as it
    was (:func:`helpers.preserved_state`).

    Returns:
        One accuracy per draw.
    """
    draws = _check_int("draws", draws, 2, 100, "5")
    return np.array(_accuracies(model, x, y, batch_size=batch_size, draws=draws)[1])


def plot_gap_split(split: GapSplit, *, ax=None, title: str | None = None):
    """A waterfall from the logged training accuracy to the validation accuracy.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    steps = [("logged\nby fit()", split.logged, None, STYLE["fit"]["color"]),
             ("drift", split.drift, split.logged, STYLE["training"]["color"]),
             ("dropout\noff", split.dropout, split.training, STYLE["inference"]["color"]),
             ("general-\nisation", split.generalisation, split.inference, STYLE["validation"]["color"]),
             ("validation", split.validation, None, STYLE["validation"]["color"])]
    for i, (label, value, base, color) in enumerate(steps):
        bottom = 0 if base is None else base
        ax.bar(i, value, bottom=bottom, color=color, alpha=0.45 if base is not None else 0.9)
        top = bottom + value if base is not None else value
        ax.annotate(f"{value:+.3f}" if base is not None else f"{value:.3f}", (i, max(top, bottom)),
                    ha="center", va="bottom", fontsize="small")
    ax.set_xticks(range(len(steps)), [s[0] for s in steps], fontsize="small")
    low = min(split.logged, split.training, split.inference, split.validation)
    ax.set_ylim(max(0.0, low - 0.1), min(1.0, max(split.inference, split.validation) + 0.04))
    ax.set_ylabel("accuracy")
    ax.set_title(title or f"Where the gap comes from (epoch {split.epoch})")
    return ax


@dataclasses.dataclass
class ExploreResult:
    """What :func:`explore_mnist` returns: a figure, a summary line, the run."""

    figure: object
    summary: str
    run: MnistRun


def explorer_figure(run: MnistRun) -> Figure:
    """The explorer's picture of a run: accuracy per epoch and the last epoch's gap.

    Accuracy curves per epoch (logged, validation, end-of-epoch inference
    mode) on the left; the last epoch's gap split into drift, dropout and
    generalisation on the right. A new Figure, not pyplot's, so it is shown
    once, where the caller displays it.

    Args:
        run: A :class:`MnistRun` trained with a probe.

    Returns:
        The Figure.
    """
    if run.probe is None:
        raise ValueError("the run has no probe to draw; train it with probe='inference' or 'training'")
    dropout1, dropout2 = run.settings["dropout"]
    figure = Figure(figsize=(9.6, 3.6), dpi=80)
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    plot_probe(run.probe, "accuracy", sources=["fit", "inference", "validation"], ax=left,
               title=f"Accuracy, dropout ({dropout1:g}, {dropout2:g})")
    left.set_xlim(0.5, run.settings["epochs"] + 0.5)
    plot_gap_split(run.split(), ax=right)
    figure.tight_layout()
    return figure


def explore_mnist(dropout1: float = POST_DROPOUT[0], dropout2: float = POST_DROPOUT[1],
                  epochs: int = EXPLORER_EPOCHS, progress: Callable | None = None) -> ExploreResult:
    """Train the post's CNN with two dropout rates; plot the gap and its parts.

    The explorer's plain function: :func:`train_post` (probe in inference
    mode), then :func:`explorer_figure`. Seed 0, so two settings are
    compared on the same initial weights.

    Args:
        dropout1: Rate of the Dropout after the convolutions. Defaults to 0.25.
        dropout2: Rate of the Dropout before the last layer. Defaults to 0.5.
        epochs: Epochs, 1 to 50. Defaults to 2: a short run, re-run within
            10 s on a quiet 2-core CPU.
        progress: ``progress(epoch, epochs, logs)``. Defaults to None.

    Returns:
        An :class:`ExploreResult`.
    """
    epochs = _check_int("epochs", epochs, 1, POST_EPOCHS, str(EXPLORER_EPOCHS))
    run = train_post((dropout1, dropout2), epochs=epochs, probe="inference", progress=progress)
    return ExploreResult(explorer_figure(run), run.split().summary, run)


def mnist_explorer() -> Explorer:
    """The scenario's explorer: two dropout rates and the epoch count.

    Returns:
        An :class:`~helpers.widgets.Explorer` around :func:`explore_mnist`.
    """
    import ipywidgets as widgets

    rate = dict(min=0.0, max=0.9, step=0.05, continuous_update=False, readout_format=".2f")
    controls = {
        "dropout1": widgets.FloatSlider(value=POST_DROPOUT[0], description="dropout 1", **rate),
        "dropout2": widgets.FloatSlider(value=POST_DROPOUT[1], description="dropout 2", **rate),
        "epochs": widgets.IntSlider(value=EXPLORER_EPOCHS, min=1, max=POST_EPOCHS, description="epochs",
                                    continuous_update=False),
    }
    return Explorer(explore_mnist, controls, title="Validation above training? Change dropout and epochs")
