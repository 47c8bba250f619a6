"""Scenario 01: the post's data, its checkpointed training, and the ablation tables.

Introduced in ``notebooks/01_checkpoint_mismatch.ipynb``. The post trains a
tiny network on two samples (one batch per epoch) with
``ModelCheckpoint(monitor="loss", save_best_only=True)``. The loss ``fit()``
logs for epoch e is computed *before* that epoch's update, with Dropout on;
the checkpoint saved at epoch e holds the weights *after* the update, and
``evaluate()`` runs them with Dropout off. :func:`train_checkpointed` runs the
post's training with its checkpoints in :func:`~helpers.scratch_dir`;
:class:`CheckpointRun` reads the saved files back. The gap is the kit's one
convention (:mod:`helpers.gap`): what ``fit()`` logged minus ``evaluate()``.
"""

from __future__ import annotations

import contextlib
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import checks
from helpers.gap import HEADER, gap
from helpers.gap_probe import GapProbe
from helpers.models import build_checkpoint_mlp
from helpers.modes import preserved_state
from helpers.reproducibility import import_tensorflow_quietly, scratch_dir
from helpers.table import Table

tf, keras = import_tensorflow_quietly()

LN2 = math.log(2)  # evaluate()'s floor on the post's data: one picture, two labels
CHECKPOINT_MONITORS = ("loss", "val_loss")  # the keys a checkpoint here can monitor


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


def _file_epoch(path: Path) -> int:
    return int(re.match(r"\d+", path.name)[0])


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

    def monitor_key(self, monitor: str | None = None) -> str:
        """The monitored key ``monitor`` names; None means the first one trained with."""
        return checks.choice("monitor", monitor or next(iter(self.folders)), tuple(self.folders))

    def files(self, monitor=None) -> list[Path]:
        """The saved files, oldest first. Names start with Keras's ``{epoch}``."""
        return sorted(self.folders[self.monitor_key(monitor)].glob("*.weights.h5"), key=_file_epoch)

    def saved_epochs(self, monitor=None) -> list[int]:
        """The epochs (1-based, as in ``Epoch 21/50``) at which a file was written."""
        return [_file_epoch(p) for p in self.files(monitor)]

    def best_epoch(self, monitor=None) -> int:
        """The epoch whose end-of-epoch weights the best checkpoint holds."""
        return self.saved_epochs(monitor)[-1]

    def best_logged(self, monitor=None) -> float:
        """The monitored value ``fit()`` logged at the best checkpoint's epoch."""
        return float(self.history[self.monitor_key(monitor)][self.best_epoch(monitor) - 1])

    def evaluate_best(self, x, y, monitor=None) -> float:
        """Load the best checkpoint into :attr:`model` and return ``evaluate()``'s loss."""
        self.model.load_weights(self.files(monitor)[-1])
        with _quiet_retracing():
            return float(self.model.evaluate(x, y, batch_size=32, verbose=0))

    def evaluate_epoch(self, epoch: int, x, y) -> float:
        """``evaluate()`` of the weights at the end of ``epoch`` (0 = initial); model restored."""
        epoch = checks.integer("epoch", epoch, low=0, high=len(self.weights) - 1, example=1)
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
                values.append(
                    float(
                        np.mean(keras.ops.convert_to_numpy(loss(y, self.model(x, training=False))))
                    )
                )
        return np.array(values)

    def listing(self, monitor=None) -> Table:
        """Each saved file beside the history entry of the epoch in its name."""
        rows = []
        for path, n in zip(self.files(monitor), self.saved_epochs(monitor)):
            rows.append(
                {
                    "file (Keras 3)": path.name,
                    "progress bar": f"Epoch {n}/{self.epochs}",
                    "history index": n - 1,
                    "logged loss": float(self.history["loss"][n - 1]),
                    "the post's Keras would write": f"{n - 1}_{self.history['loss'][n - 1]:.5f}.hdf5",
                }
            )
        return Table(rows)


def train_checkpointed(
    x,
    y,
    *,
    dropout=(0.2, 0.15),
    epochs: int = 50,
    batch_size: int = 32,
    shuffle: bool = True,
    monitor="loss",
    validation_data=None,
    seed: int | None = 0,
    probe: bool = False,
    progress=None,
) -> CheckpointRun:
    """Train the post's network with a best-only ``ModelCheckpoint`` per monitored key.

    Files are named ``{epoch:02d}_{<monitor>:.5f}.weights.h5`` (the post's
    template, in Keras 3's weights format) in a fresh folder under
    :func:`~helpers.scratch_dir`. With the same seed, the history is the
    plain ``model.fit(x, y, batch_size=32, epochs=50, callbacks=[mcp])`` of
    the notebook's section 1, bit for bit (the notebook asserts it).

    Args:
        x: Training inputs.
        y: One-hot targets.
        dropout: The two dropout rates. Defaults to the post's (0.2, 0.15).
        epochs: Epochs. Defaults to the post's 50.
        batch_size: Batch size. Defaults to 32, as in the post.
        shuffle: ``fit()``'s ``shuffle``. Defaults to True.
        monitor: A key or a tuple of keys from :data:`CHECKPOINT_MONITORS`;
            one checkpoint each, all in the same ``fit()``. Defaults to "loss".
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
        ValueError: for a bad setting or ``"val_loss"`` without validation
            data, before any training.
    """
    from helpers.widgets import progress_callback

    monitors = (monitor,) if isinstance(monitor, str) else tuple(monitor)
    for key in monitors:
        checks.choice("monitor", key, CHECKPOINT_MONITORS)
    if "val_loss" in monitors and validation_data is None:
        raise ValueError(
            "`monitor='val_loss'` needs `validation_data=(x_val, y_val)`; "
            "pass the data you will evaluate on"
        )
    epochs = checks.positive_int("epochs", epochs, example=50)
    batch_size = checks.positive_int("batch_size", batch_size, example=32)
    shuffle, probe = checks.flag("shuffle", shuffle), checks.flag("probe", probe)
    if seed is not None:
        keras.utils.set_random_seed(checks.seed("seed", seed))
    model = build_checkpoint_mlp(dropout=dropout)
    folders, callbacks = {}, []
    for key in monitors:
        folders[key] = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=scratch_dir()))
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                str(folders[key] / f"{{epoch:02d}}_{{{key}:.5f}}.weights.h5"),
                monitor=key,
                save_best_only=True,
                save_weights_only=True,
            )
        )
    gap_probe = GapProbe(x, y, batch_size=batch_size, initial=True) if probe else None
    callbacks += [gap_probe] if probe else []
    weights = []
    callbacks.append(
        keras.callbacks.LambdaCallback(
            on_train_begin=lambda logs: weights.append(model.get_weights()),
            on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()),
        )
    )
    with _quiet_retracing():
        history = model.fit(
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            shuffle=shuffle,
            validation_data=validation_data,
            verbose=0,
            callbacks=callbacks + progress_callback(progress),
        )
    return CheckpointRun(model, history.history, folders, weights, gap_probe)


def best_checkpoint_gap(run: CheckpointRun, x, y, monitor=None) -> float:
    """``gap = best logged − evaluate(best file)`` (:func:`helpers.gap.gap`), on ``(x, y)``."""
    return gap(run.best_logged(monitor), run.evaluate_best(x, y, monitor))


def seed_sweep(seeds, x=None, y=None, *, fix: bool = True, **kwargs) -> Table:
    """The mismatch (``monitor="loss"``) and, with ``fix=True``, the fix, per seed.

    The fix is ``monitor="val_loss"`` with ``(x, y)`` as validation data, in
    the same ``fit()`` (validation does not change training). It costs a
    validation pass every epoch, as much again as the training itself here,
    so ``fix=False`` leaves it out for a cheaper sweep of the mismatch alone.
    Extra keyword arguments go to :func:`train_checkpointed`. The gap column
    follows :mod:`helpers.gap`: ``fit()`` logged − ``evaluate()``.
    """
    if x is None:
        x, y = post_data()
    fix = checks.flag("fix", fix)
    rows = []
    for seed in seeds:
        run = train_checkpointed(
            x,
            y,
            seed=checks.seed("seed", seed),
            monitor=("loss", "val_loss") if fix else "loss",
            validation_data=(x, y) if fix else None,
            **kwargs,
        )
        evaluated = run.evaluate_best(x, y, "loss")
        row = {
            "seed": int(seed),
            "best epoch": run.best_epoch("loss"),
            "best logged loss": run.best_logged("loss"),
            "evaluate(best)": evaluated,
            HEADER: gap(run.best_logged("loss"), evaluated),
        }
        if fix:
            best_val = float(min(run.history["val_loss"]))
            row.update(
                {
                    "val best epoch": run.best_epoch("val_loss"),
                    "min val_loss": best_val,
                    "fix error": abs(run.evaluate_best(x, y, "val_loss") - best_val),
                }
            )
        rows.append(row)
    return Table(rows)


def summarize(runs: dict, x, y, monitor="loss") -> Table:
    """One row per named run: best epoch, best logged value, ``evaluate()`` of that file, gap.

    The gap column follows :mod:`helpers.gap`: ``fit()`` logged − ``evaluate()``.
    """
    rows = []
    for name, run in runs.items():
        evaluated = run.evaluate_best(x, y, monitor)
        rows.append(
            {
                "run": name,
                "best epoch": run.best_epoch(monitor),
                f"best logged {monitor}": run.best_logged(monitor),
                "evaluate(best file)": evaluated,
                HEADER: gap(run.best_logged(monitor), evaluated),
            }
        )
    return Table(rows)
