"""``StepRecorder``: score every sample with the weights of every moment of ``fit()``.

Notebook 03 uses it to show which weights earned the logged accuracy of each batch.
"""

from __future__ import annotations

import numpy as np

from helpers import checks
from helpers.reproducibility import import_keras_quietly

keras = import_keras_quietly()


class StepRecorder(keras.callbacks.Callback):
    """Score every sample of a binary classifier at the end of each epoch, or before each batch.

    The accuracy is Keras's binary accuracy (probability > 0.5) in float32, so the end-of-epoch
    value is what ``evaluate()`` reports. Scoring a model without Dropout or BatchNormalization
    in inference mode changes nothing, so training is not disturbed.

    Args:
        x: Inputs to score.
        y: Their 0/1 labels.
        per_step: Also record just before every batch's update; that needs one batch per
            call (compile with ``steps_per_execution=1``). Defaults to False.

    Attributes:
        rows: One dict per recorded moment: ``epoch`` (1-based), ``step`` (k: before batch
            k+1; the number of batches: end of epoch), ``accuracy``, ``wrong`` (indices of
            the misclassified samples).
        predictions: The matching arrays of predicted probabilities.
    """

    def __init__(self, x, y, *, per_step: bool = False):
        super().__init__()
        self.x = np.asarray(x, dtype="float32")
        self.y = np.asarray(y).ravel()
        checks.samples(self.x, self.y)
        self.per_step = checks.flag("per_step", per_step)
        self.rows: list[dict] = []
        self.predictions: list[np.ndarray] = []
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.rows, self.predictions = [], []
        if self.per_step and int(getattr(self.model, "steps_per_execution", 1) or 1) > 1:
            raise ValueError(
                "StepRecorder(per_step=True) needs one batch per call; compile the model with "
                f"steps_per_execution=1 (it has {self.model.steps_per_execution})"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_begin(self, batch, logs=None):
        if self.per_step:
            self._record(self._epoch, batch)

    def on_epoch_end(self, epoch, logs=None):
        self._record(epoch + 1, self.params.get("steps") or 0)

    def _record(self, epoch: int, step: int) -> None:
        p = np.asarray(self.model.predict_on_batch(self.x)).ravel()
        correct = (p > 0.5) == (self.y == 1)  # Keras's binary accuracy: threshold 0.5
        accuracy = float(np.float32(correct.mean()))  # float32, as evaluate() reports it
        wrong = np.flatnonzero(~correct).tolist()
        self.rows.append({"epoch": epoch, "step": step, "accuracy": accuracy, "wrong": wrong})
        self.predictions.append(p)
