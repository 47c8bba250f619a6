"""Scenario 01's data and checkpointed ``fit()`` in one call, for the explorer and the tests;
``notebooks/01_checkpoint_mismatch.ipynb`` writes the same run out in plain Keras first."""

from __future__ import annotations

import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers import build_checkpoint_mlp, checks, preserved_state, scratch_dir
from helpers.reproducibility import import_tensorflow_quietly
from helpers.widgets import progress_callback

keras = import_tensorflow_quietly()[1]

LN2 = math.log(2)  # evaluate()'s floor on the post's data: one picture, two labels
CHECKPOINT_MONITORS = ("loss", "val_loss")  # the keys a checkpoint here monitors


def post_data() -> tuple[np.ndarray, np.ndarray]:
    """The post's training set: one 2×2 picture twice, labelled 1 and 2 (of 3)."""
    x = np.array([[[1, 2], [3, 4]], [[1, 2], [3, 4]]])
    return x, keras.utils.to_categorical(np.array([1, 2]), 3)


@dataclass
class CheckpointRun:
    """One ``fit()`` with a best-only ``ModelCheckpoint`` per monitored key (``folders``);
    ``weights[k]``: ``model.get_weights()`` at the end of epoch k (0: the initial weights)."""

    model: object
    history: dict
    folders: dict
    weights: list

    def files(self, monitor: str = "loss") -> list[Path]:
        """The saved files, oldest first. Names start with Keras 3's 1-based ``{epoch}``."""
        folder = self.folders[checks.choice("monitor", monitor, tuple(self.folders))]
        return sorted(folder.glob("*.weights.h5"), key=lambda p: int(re.match(r"\d+", p.name)[0]))

    def best_epoch(self, monitor: str = "loss") -> int:
        """The epoch (1-based, as in ``Epoch 21/50``) whose end the best file holds."""
        return int(re.match(r"\d+", self.files(monitor)[-1].name)[0])

    def best_logged(self, monitor: str = "loss") -> float:
        """The value of ``monitor`` that ``fit()`` logged at the best file's epoch."""
        return float(self.history[monitor][self.best_epoch(monitor) - 1])

    def evaluate_best(self, x, y, monitor: str = "loss") -> float:
        """Load the best file into :attr:`model` and return ``evaluate()``'s loss."""
        self.model.load_weights(self.files(monitor)[-1])
        return float(self.model.evaluate(x, y, batch_size=32, verbose=0))

    def inference_losses(self, x, y) -> np.ndarray:
        """``evaluate()``'s loss of each ``weights[k]`` by a forward pass; the model is put back."""
        loss = keras.losses.get(self.model.loss)
        x, y = np.asarray(x, "float32"), np.asarray(y, "float32")
        values = []
        with preserved_state(self.model):
            for weights in self.weights:
                self.model.set_weights(weights)
                values.append(float(np.mean(loss(y, self.model(x, training=False)))))
        return np.array(values)


def train_checkpointed(
    x,
    y,
    *,
    dropout=(0.2, 0.15),
    epochs=50,
    shuffle=True,
    validation_data=None,
    seed=0,
    progress=None,
) -> CheckpointRun:
    """The notebook's section 1, the same history bit for bit: the post's network, ``fit()``
    and a best-only checkpoint on ``loss`` (and one on ``val_loss`` with ``validation_data``),
    writing the post's file names into fresh folders under :func:`~helpers.scratch_dir`."""
    epochs = checks.positive_int("epochs", epochs, example=50)
    shuffle = checks.flag("shuffle", shuffle)
    keras.utils.set_random_seed(checks.seed("seed", seed))
    model = build_checkpoint_mlp(dropout=dropout)
    keys = CHECKPOINT_MONITORS[: 1 if validation_data is None else 2]
    folders = {k: Path(tempfile.mkdtemp(prefix=f"{k}-", dir=scratch_dir())) for k in keys}
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            str(folders[k] / f"{{epoch:02d}}_{{{k}:.5f}}.weights.h5"),
            monitor=k,
            save_best_only=True,
            save_weights_only=True,
        )
        for k in keys
    ]
    weights = []
    record = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: weights.append(model.get_weights()),
        on_epoch_end=lambda epoch, logs: weights.append(model.get_weights()),
    )
    history = model.fit(
        x,
        y,
        batch_size=32,
        epochs=epochs,
        shuffle=shuffle,
        validation_data=validation_data,
        verbose=0,
        callbacks=[*callbacks, record, *progress_callback(progress)],
    )
    return CheckpointRun(model, history.history, folders, weights)
