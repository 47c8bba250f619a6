"""Scenario 01: the "best" ``ModelCheckpoint`` evaluates worse than the best logged loss.

Introduced in ``notebooks/01_checkpoint_mismatch.ipynb``. The post trains a
tiny network on two samples (one batch per epoch) with
``ModelCheckpoint(monitor="loss", save_best_only=True)``. The loss ``fit()``
logs for epoch e is computed *before* that epoch's update, with Dropout on;
the checkpoint saved at epoch e holds the weights *after* the update, and
``evaluate()`` runs them with Dropout off. The functions here run the post's
training with checkpoints in :func:`~helpers.scratch_dir`, read the saved
files back, and measure each part of the gap.
"""

from __future__ import annotations

import contextlib
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
import numpy as np

from helpers.gap_probe import GapProbe
from helpers.models import build_checkpoint_mlp
from helpers.modes import preserved_state
from helpers.reproducibility import import_tensorflow_quietly, scratch_dir
from helpers.table import Table

tf, keras = import_tensorflow_quietly()

LN2 = math.log(2)  # evaluate()'s floor on the post's data: one picture, two labels
MONITORS = ("loss", "val_loss")


@contextlib.contextmanager
def _quiet_retracing():
    """Mute TensorFlow's "triggered tf.function retracing" warning for the block.

    The notebook trains many tiny models on purpose, each with its own
    compiled functions; the warning would only add noise to the output.
    """
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


def post_data() -> tuple[np.ndarray, np.ndarray]:
    """The post's training set: the same 2×2 picture twice, labelled 1 and 2 (of 3).

    Example:
        >>> x, y = post_data()
        >>> x.shape, y.argmax(axis=1).tolist()
        ((2, 2, 2), [1, 2])
    """
    x = np.array([[[1, 2], [3, 4]], [[1, 2], [3, 4]]])
    return x, keras.utils.to_categorical(np.array([1, 2]), 3)


def post_validation_data() -> tuple[tuple, tuple]:
    """The post's validation experiment: two different training pictures and a test set.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` as in the post.
    """
    x_train = np.array([[[1, 2], [3, 4]], [[2, 1], [4, 3]]])
    x_test = np.array([[[2, 2], [3, 3]], [[1, 1], [4, 4]]])
    one_hot = lambda labels: keras.utils.to_categorical(np.array(labels), 3)
    return (x_train, one_hot([1, 2])), (x_test, one_hot([0, 2]))


@dataclass
class CheckpointRun:
    """One ``fit()`` with ``ModelCheckpoint(save_best_only=True)`` per monitored key.

    Attributes:
        model: The trained model (``evaluate_best`` loads files into it).
        history: ``History.history``: key -> one value per epoch.
        folders: Monitored key -> folder holding that checkpoint's files.
        weights: ``model.get_weights()`` at the end of every epoch, index =
            epoch (0 = the initial weights), kept in memory: the model is tiny.
        probe: The :class:`~helpers.GapProbe` attached, or None.
    """

    model: object
    history: dict
    folders: dict
    weights: list
    probe: GapProbe | None = None

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])

    def _key(self, monitor):
        monitor = monitor or next(iter(self.folders))
        if monitor not in self.folders:
            raise KeyError(f"no checkpoint monitored {monitor!r}; monitored keys: {list(self.folders)}")
        return monitor

    def files(self, monitor=None) -> list[Path]:
        """The saved files, oldest first. Names start with Keras's ``{epoch}``."""
        folder = self.folders[self._key(monitor)]
        return sorted(folder.glob("*.weights.h5"), key=lambda p: int(re.match(r"\d+", p.name)[0]))

    def saved_epochs(self, monitor=None) -> list[int]:
        """The epochs (1-based, as in ``Epoch 21/50``) at which a file was written."""
        return [int(re.match(r"\d+", p.name)[0]) for p in self.files(monitor)]

    def best_epoch(self, monitor=None) -> int:
        """The epoch whose end-of-epoch weights the best checkpoint holds."""
        return self.saved_epochs(monitor)[-1]

    def best_logged(self, monitor=None) -> float:
        """The monitored value ``fit()`` logged at the best checkpoint's epoch."""
        return float(self.history[self._key(monitor)][self.best_epoch(monitor) - 1])

    def evaluate_best(self, x, y, monitor=None) -> float:
        """Load the best checkpoint into :attr:`model` and return ``evaluate()``'s loss."""
        self.model.load_weights(self.files(monitor)[-1])
        with _quiet_retracing():
            return float(self.model.evaluate(x, y, batch_size=32, verbose=0))

    def evaluate_epoch(self, epoch: int, x, y) -> float:
        """``evaluate()`` of the weights at the end of ``epoch`` (0 = initial); model restored."""
        if not 0 <= epoch < len(self.weights):
            raise ValueError(f"invalid `epoch`: {epoch!r}; expected 0..{len(self.weights) - 1}")
        with preserved_state(self.model), _quiet_retracing():
            self.model.set_weights(self.weights[epoch])
            return float(self.model.evaluate(x, y, batch_size=32, verbose=0))

    def inference_losses(self, x, y) -> np.ndarray:
        """The loss with Dropout off for the weights of every epoch (index 0 = initial).

        One direct forward pass per epoch: the number ``evaluate()`` returns
        (to float rounding), without building an input pipeline each time.
        """
        loss = keras.losses.get(self.model.loss)
        x, y = np.asarray(x, "float32"), np.asarray(y, "float32")
        values = []
        with preserved_state(self.model):
            for weights in self.weights:
                self.model.set_weights(weights)
                values.append(float(np.mean(keras.ops.convert_to_numpy(loss(y, self.model(x, training=False))))))
        return np.array(values)

    def listing(self, monitor=None) -> Table:
        """Each saved file beside the history entry of the epoch in its name."""
        rows = []
        for path, n in zip(self.files(monitor), self.saved_epochs(monitor)):
            rows.append({"file (Keras 3)": path.name, "progress bar": f"Epoch {n}/{self.epochs}",
                         "history index": n - 1, "logged loss": float(self.history["loss"][n - 1]),
                         "the post's Keras would write": f"{n - 1}_{self.history['loss'][n - 1]:.5f}.hdf5"})
        return Table(rows)


def train_checkpointed(x, y, *, dropout=(0.2, 0.15), epochs: int = 50, batch_size: int = 32,
                       shuffle: bool = True, monitor="loss", validation_data=None,
                       seed: int | None = 0, probe: bool = False, progress=None) -> CheckpointRun:
    """Train the post's network with a best-only ``ModelCheckpoint`` per monitored key.

    Files are named ``{epoch:02d}_{<monitor>:.5f}.weights.h5`` (the post's
    template, in Keras 3's weights format) in a fresh folder under
    :func:`~helpers.scratch_dir`.

    Args:
        x: Training inputs.
        y: One-hot targets.
        dropout: The two dropout rates. Defaults to the post's (0.2, 0.15).
        epochs: Epochs. Defaults to the post's 50.
        batch_size: Batch size. Defaults to 32, as in the post.
        shuffle: ``fit()``'s ``shuffle``. Defaults to True.
        monitor: A key or a tuple of keys from ``("loss", "val_loss")``; one
            checkpoint each, all in the same ``fit()``. Defaults to "loss".
        validation_data: ``(x_val, y_val)``; needed for ``"val_loss"``.
            Defaults to None.
        seed: Passed to ``keras.utils.set_random_seed`` before building the
            model; None keeps the current random state. Defaults to 0.
        probe: Attach a :class:`~helpers.GapProbe` on ``(x, y)`` with
            ``initial=True``. Defaults to False.
        progress: Called as ``progress(epoch, epochs, logs)``. Defaults to None.

    Returns:
        A :class:`CheckpointRun`.

    Raises:
        ValueError: for an unknown key, ``"val_loss"`` without validation
            data, or a bad number of epochs.
    """
    from helpers.widgets import progress_callback

    monitors = (monitor,) if isinstance(monitor, str) else tuple(monitor)
    for key in monitors:
        if key not in MONITORS:
            raise ValueError(f"invalid `monitor`: {key!r}; expected one of {MONITORS}")
        if key == "val_loss" and validation_data is None:
            raise ValueError("`monitor='val_loss'` needs `validation_data=(x_val, y_val)`; "
                             "pass the data you will evaluate on")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"invalid `epochs`: {epochs!r}; expected a positive int such as 50")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = build_checkpoint_mlp(dropout=dropout)
    folders, callbacks = {}, []
    for key in monitors:
        folders[key] = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=scratch_dir()))
        callbacks.append(keras.callbacks.ModelCheckpoint(
            str(folders[key] / f"{{epoch:02d}}_{{{key}:.5f}}.weights.h5"), monitor=key,
            save_best_only=True, save_weights_only=True))
    gap_probe = GapProbe(x, y, batch_size=batch_size, initial=True) if probe else None
    callbacks += [gap_probe] if probe else []
    weights = []
    callbacks.append(keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: weights.append(model.get_weights()),
        on_epoch_end=lambda epoch, logs: weights.append(model.get_weights())))
    with _quiet_retracing():
        history = model.fit(x, y, batch_size=batch_size, epochs=int(epochs), shuffle=shuffle,
                            validation_data=validation_data, verbose=0,
                            callbacks=callbacks + progress_callback(progress))
    return CheckpointRun(model, history.history, folders, weights, gap_probe)


@dataclass(repr=False)
class GapAtBest:
    """The best checkpoint's gap, split into its two causes (see :func:`gap_at_best`)."""

    epoch: int
    logged: float     # fit()'s loss at that epoch: weights before the update, Dropout on
    before: float     # evaluate() of the weights before the update (end of the previous epoch)
    after: float      # evaluate() of the weights after the update: what the checkpoint holds

    @property
    def dropout_part(self) -> float:
        return self.before - self.logged

    @property
    def step_part(self) -> float:
        return self.after - self.before

    @property
    def table(self) -> Table:
        e = self.epoch
        return Table([
            {"measurement": f"fit() logged, epoch {e}", "weights": f"end of epoch {e - 1}",
             "Dropout": "on", "loss": self.logged},
            {"measurement": "evaluate() before the update", "weights": f"end of epoch {e - 1}",
             "Dropout": "off", "loss": self.before},
            {"measurement": "evaluate() of the checkpoint", "weights": f"end of epoch {e}",
             "Dropout": "off", "loss": self.after},
            {"measurement": "gap = dropout part + one-step part", "weights": "",
             "Dropout": "", "loss": self.after - self.logged},
            {"measurement": "  dropout part (this epoch's masks)", "weights": "", "Dropout": "",
             "loss": self.dropout_part},
            {"measurement": "  one-step part (the epoch's SGD update)", "weights": "", "Dropout": "",
             "loss": self.step_part},
        ])

    def __repr__(self):
        return str(self.table)

    def _repr_html_(self):
        return self.table._repr_html_()


def gap_at_best(run: CheckpointRun, monitor="loss") -> GapAtBest:
    """Measure the best checkpoint's epoch before and after its update.

    Needs a run trained with ``probe=True``: the probe's epoch e-1 (epoch 0
    = initial weights) holds ``evaluate()`` of the weights the logged loss of
    epoch e was computed with.
    """
    if run.probe is None:
        raise ValueError("this run has no GapProbe; train it with `train_checkpointed(..., probe=True)`")
    e = run.best_epoch(monitor)
    inference = run.probe.series("loss", "inference")  # index = epoch, 0 = initial weights
    return GapAtBest(e, float(run.history["loss"][e - 1]), float(inference[e - 1]), float(inference[e]))


def dropout_draws(model, x, y, n: int = 2000) -> np.ndarray:
    """The training-mode loss of ``(x, y)`` under ``n`` fresh sets of Dropout masks.

    The weights stay fixed; each draw is one forward pass of the whole data
    set with Dropout on, as ``fit()`` computes its logged loss. The model,
    including its random-seed state, is restored afterwards.
    """
    x, y = np.asarray(x, "float32"), np.asarray(y, "float32")
    loss = keras.losses.get(model.loss)
    with preserved_state(model):
        y_pred = model(np.concatenate([x] * n), training=True)  # n copies, independent masks
        per_sample = keras.ops.convert_to_numpy(loss(np.concatenate([y] * n), y_pred))
    return per_sample.reshape(n, len(x)).mean(axis=1)


def seed_sweep(seeds, x=None, y=None, **kwargs) -> Table:
    """The mismatch (``monitor="loss"``) and the fix (``"val_loss"`` on ``(x, y)``), per seed.

    One ``fit()`` per seed carries both checkpoints; validation does not
    change training. Extra keyword arguments go to :func:`train_checkpointed`.
    """
    if x is None:
        x, y = post_data()
    rows = []
    for seed in seeds:
        run = train_checkpointed(x, y, seed=int(seed), monitor=("loss", "val_loss"),
                                 validation_data=(x, y), **kwargs)
        evaluated = run.evaluate_best(x, y, "loss")
        fixed = run.evaluate_best(x, y, "val_loss")
        rows.append({"seed": int(seed), "best epoch": run.best_epoch("loss"),
                     "best logged loss": run.best_logged("loss"), "evaluate(best)": evaluated,
                     "gap": evaluated - run.best_logged("loss"),
                     "val best epoch": run.best_epoch("val_loss"),
                     "min val_loss": float(min(run.history["val_loss"])),
                     "fix error": abs(fixed - float(min(run.history["val_loss"])))})
    return Table(rows)


def summarize(runs: dict, x, y, monitor="loss") -> Table:
    """One row per named run: best epoch, best logged value, ``evaluate()`` of that file, gap."""
    rows = []
    for name, run in runs.items():
        evaluated = run.evaluate_best(x, y, monitor)
        rows.append({"run": name, "best epoch": run.best_epoch(monitor),
                     f"best logged {monitor}": run.best_logged(monitor),
                     "evaluate(best file)": evaluated, "gap": evaluated - run.best_logged(monitor)})
    return Table(rows)


def plot_checkpoint_run(run: CheckpointRun, *, evaluated=None, inference=None, monitor=None,
                        ax=None, title=None):
    """Logged loss, ``evaluate()`` per epoch, the saved epochs and the best file's ``evaluate()``.

    The per-epoch ``evaluate()`` curve is ``val_loss`` if the run has it,
    else ``inference`` (from :meth:`CheckpointRun.inference_losses`), else the
    probe's.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    monitor = run._key(monitor)
    epochs = np.arange(1, run.epochs + 1)
    ax.plot(epochs, run.history["loss"], color="tab:red", marker="o", ms=3, lw=1,
            label="loss logged by fit() (Dropout on, before the update)")
    if "val_loss" in run.history:
        ax.plot(epochs, run.history["val_loss"], color="tab:blue", lw=1.5,
                label="val_loss = evaluate() at the epoch's end")
    elif inference is not None:
        ax.plot(np.arange(len(inference)), inference, color="tab:blue", lw=1.5,
                label="evaluate() at the epoch's end")
    elif run.probe is not None:
        ax.plot(run.probe.epochs("loss", "inference"), run.probe.series("loss", "inference"),
                color="tab:blue", lw=1.5, label="evaluate() at the epoch's end (GapProbe)")
    saved = run.saved_epochs(monitor)
    ax.plot(saved, [run.history[monitor][e - 1] for e in saved], "o", mfc="none", mec="black",
            ms=9, label=f"checkpoint saved ({monitor} improved)")
    if evaluated is not None:
        ax.plot([run.best_epoch(monitor)], [evaluated], "*", color="black", ms=14,
                label="evaluate() of the best checkpoint")
    ax.axhline(LN2, color="grey", ls=":", lw=1, label="ln 2 (evaluate()'s floor on the post's data)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("categorical cross-entropy")
    ax.set_title(title or f"Best checkpoint by {monitor}")
    # Below the axes: inside, it would hide the noisy logged curve it explains.
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return ax


@dataclass
class ExploreResult:
    """What :func:`explore_checkpoint` returns: the Explorer shows ``figure`` and ``summary``."""

    figure: object
    summary: str
    run: CheckpointRun


def explore_checkpoint(dropout_1: float = 0.2, dropout_2: float = 0.15, epochs: int = 50,
                       shuffle: bool = True, monitor: str = "loss", seed: int = 0,
                       progress=None) -> ExploreResult:
    """The explorer's plain function: train on the post's data and compare.

    ``monitor="val_loss"`` passes the training data as ``validation_data``;
    with ``"loss"`` the per-epoch ``evaluate()`` curve comes from
    :meth:`CheckpointRun.inference_losses`, which is faster.

    Returns:
        An :class:`ExploreResult` with ``figure``, ``summary`` and ``run``.
    """
    x, y = post_data()
    run = train_checkpointed(x, y, dropout=(dropout_1, dropout_2), epochs=epochs, shuffle=shuffle,
                             monitor=monitor, validation_data=(x, y) if monitor == "val_loss" else None,
                             seed=seed, progress=progress)
    inference = None if monitor == "val_loss" else run.inference_losses(x, y)
    evaluated = run.evaluate_best(x, y)
    best = run.best_logged()
    figure = Figure(figsize=(6.4, 3.6), dpi=80)  # not pyplot's: shown once, where the caller wants
    ax = figure.add_subplot()
    plot_checkpoint_run(run, evaluated=evaluated, inference=inference, ax=ax, title=(
        f"monitor={monitor!r}: best logged {best:.3f} (epoch {run.best_epoch()}), "
        f"evaluate() {evaluated:.3f}"))
    summary = (f"Best {monitor} logged: {best:.4f} at epoch {run.best_epoch()}; evaluate() of that "
               f"checkpoint: {evaluated:.4f} (gap {evaluated - best:+.4f}); "
               f"{len(run.saved_epochs())} files saved.")
    return ExploreResult(figure, summary, run)


def checkpoint_explorer(**defaults) -> "Explorer":
    """An :class:`~helpers.widgets.Explorer` over :func:`explore_checkpoint`.

    Keyword arguments override the controls' starting values.
    """
    import ipywidgets as w

    from helpers.widgets import Explorer

    values = dict(dropout_1=0.2, dropout_2=0.15, epochs=50, shuffle=True, monitor="loss", seed=0)
    unknown = set(defaults) - set(values)
    if unknown:
        raise TypeError(f"unknown setting(s) {sorted(unknown)}; expected some of {sorted(values)}")
    values.update(defaults)
    slider = dict(min=0.0, max=0.9, step=0.05, readout_format=".2f", continuous_update=False)
    controls = {
        "dropout_1": w.FloatSlider(value=values["dropout_1"], description="dropout 1", **slider),
        "dropout_2": w.FloatSlider(value=values["dropout_2"], description="dropout 2", **slider),
        "epochs": w.IntSlider(value=values["epochs"], min=5, max=150, step=5, description="epochs",
                              continuous_update=False),
        "shuffle": w.Checkbox(value=values["shuffle"], description="shuffle"),
        "monitor": w.Dropdown(options=list(MONITORS), value=values["monitor"], description="monitor"),
        "seed": w.IntSlider(value=values["seed"], min=0, max=9, description="seed",
                            continuous_update=False),
    }
    return Explorer(explore_checkpoint, controls,
                    title="Which epoch does the best checkpoint hold, and what does evaluate() say?")


def fit_orders(n_samples: int = 2, *, epochs: int = 3, batch_size: int = 32, shuffle: bool = True,
               seed: int = 0) -> list[tuple]:
    """The order in which ``fit()`` feeds ``n_samples`` NumPy rows, epoch by epoch.

    A one-weight model records the sample indices it is fed (eagerly), so the
    orders are ``fit()``'s own after ``keras.utils.set_random_seed(seed)``.
    """
    keras.utils.set_random_seed(seed)
    seen = []

    def record(batch):
        if tf.executing_eagerly():  # skip the symbolic build pass
            seen.extend(int(v) for v in keras.ops.convert_to_numpy(batch).ravel())
        return batch

    model = keras.Sequential([keras.Input((1,)), keras.layers.Lambda(record), keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd", run_eagerly=True)
    data = np.arange(n_samples, dtype="float32").reshape(-1, 1)
    model.fit(data, data, batch_size=batch_size, epochs=epochs, shuffle=shuffle, verbose=0)
    return [tuple(seen[i:i + n_samples]) for i in range(0, len(seen), n_samples)]
