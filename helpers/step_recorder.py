"""``StepRecorder``: score every sample with the weights of every moment of training.

Introduced in ``notebooks/03_fit_says_one.ipynb``, where it shows which
weights earned the logged accuracy of each batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers import checks
from helpers.reproducibility import import_keras_quietly

keras = import_keras_quietly()


class StepRecorder(keras.callbacks.Callback):
    """Score every sample of a binary classifier at every moment of ``fit()``.

    Records the predicted probabilities on ``x`` at the end of each epoch
    and, with ``per_step=True``, also just before each batch's update (that
    needs one batch per call: compile with ``steps_per_execution=1``). The
    accuracy is Keras's binary accuracy (probability > 0.5) in float32, so
    the end-of-epoch value is what ``evaluate()`` reports. Inference on a
    model without Dropout or BatchNormalization changes nothing, so training
    is not disturbed.

    Optionally writes the end-of-epoch accuracy into the epoch's logs as
    ``log_key``, so a callback listed after it (a stopping rule) can watch
    the accuracy of the weights themselves, and ``History`` records it.

    Args:
        x: Inputs to score.
        y: Their 0/1 labels.
        per_step: Also record before every batch. Defaults to False.
        log_key: Logs key for the end-of-epoch accuracy, e.g.
            ``"eval_accuracy"``; None writes nothing. Defaults to None.
        boundary: A function of ``model.get_weights()`` recorded at every
            moment as ``boundary`` (e.g. a decision boundary); None records
            None. Defaults to None.

    Attributes:
        rows: One dict per recorded moment: epoch (1-based), step (k: before
            batch k+1; the number of batches: end of epoch), accuracy,
            boundary, wrong (indices of the misclassified samples).
        predictions: Matching arrays of predicted probabilities.

    Example:
        >>> recorder = StepRecorder([[0.0], [1.0]], [0, 1], log_key="eval_accuracy")
        >>> recorder.rows
        []
    """

    def __init__(
        self,
        x,
        y,
        *,
        per_step: bool = False,
        log_key: str | None = None,
        boundary: Callable | None = None,
    ):
        super().__init__()
        self.x = np.asarray(x, dtype="float32")
        self.y = np.asarray(y).ravel()
        checks.samples(self.x, self.y)
        if log_key is not None and (not isinstance(log_key, str) or not log_key):
            raise ValueError(
                f"invalid `log_key`: {log_key!r}; expected a string such as 'eval_accuracy' or None"
            )
        if boundary is not None and not callable(boundary):
            raise ValueError(
                f"invalid `boundary`: {boundary!r}; expected a function of model.get_weights()"
            )
        self.per_step = checks.flag("per_step", per_step)
        self.log_key, self.boundary = log_key, boundary
        self.rows: list[dict] = []
        self.predictions: list[np.ndarray] = []
        self._epoch = 0

    def on_train_begin(self, logs=None):
        self.rows, self.predictions = [], []
        if self.per_step and int(getattr(self.model, "steps_per_execution", 1) or 1) > 1:
            raise ValueError(
                "StepRecorder(per_step=True) needs one batch per call; "
                "use ThresholdRunner(per_batch=True) or compile with steps_per_execution=1"
            )

    def _record(self, epoch: int, step: int) -> float:
        p = np.asarray(self.model.predict_on_batch(self.x)).ravel()
        correct = (p > 0.5) == (self.y == 1)  # Keras's binary accuracy: threshold 0.5
        accuracy = float(np.float32(correct.mean()))  # float32, as evaluate() reports it
        boundary = self.boundary(self.model.get_weights()) if self.boundary else None
        self.rows.append(
            {
                "epoch": epoch,
                "step": step,
                "accuracy": accuracy,
                "boundary": boundary,
                "wrong": np.flatnonzero(~correct).tolist(),
            }
        )
        self.predictions.append(p)
        return accuracy

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_begin(self, batch, logs=None):
        if self.per_step:
            self._record(self._epoch, batch)

    def on_epoch_end(self, epoch, logs=None):
        accuracy = self._record(epoch + 1, self.params.get("steps") or 0)
        if self.log_key is not None and logs is not None:
            logs[self.log_key] = accuracy
