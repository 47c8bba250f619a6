"""``WeightRecorder``: keep the weights each batch starts from, and what Keras logged.

Introduced in ``notebooks/00_start_here.ipynb``, where it supplies independent
evidence of what ``fit()`` logs: with the weights a batch started from, the
batch's loss can be recomputed by hand and compared with Keras's numbers.
"""

from __future__ import annotations

from helpers import checks
from helpers.reproducibility import import_keras_quietly

keras = import_keras_quietly()


class WeightRecorder(keras.callbacks.Callback):
    """Copy the model's weights at the start of every batch; keep Keras's per-batch logs.

    ``on_train_batch_begin`` stores ``model.get_weights()``: the weights
    the coming batch is measured with and its gradient computed from.
    ``on_train_batch_end`` stores the logs Keras reports then (for the loss
    and the metrics, the running means over the epoch so far). At the end of
    training :attr:`final` holds the weights training ended with, so the
    weights *after* every batch's update are known too: the next batch's
    start, or :attr:`final` after the last batch of the last epoch.

    Each recorded batch costs one copy of the weights in memory; pass
    ``epochs=`` to keep only the epochs you need. Recording changes nothing
    in the training. Needs one batch per call (``steps_per_execution=1``,
    Keras's default), since Keras calls batch hooks once per call. Tested on the
    TensorFlow and JAX backends (on JAX, reading ``self.model`` in a hook brings
    the trainer's state back into the variables first).

    Args:
        epochs: The 1-based epochs to record, e.g. ``[2]``; None records
            every epoch. Defaults to None.

    Attributes:
        weights: ``{(epoch, batch): [arrays]}``, epoch 1-based as in
            ``fit()``'s progress bar, batch 0-based as in Keras's hooks.
        logs: ``{(epoch, batch): {key: float}}``, what Keras logged after
            that batch.
        final: The weights at the end of training (None before).

    Raises:
        ValueError: for a bad ``epochs``, or at ``fit()`` when the model
            was compiled with ``steps_per_execution > 1``.

    Example:
        >>> recorder = WeightRecorder(epochs=[2])
        >>> recorder.on_train_begin()
        >>> recorder.on_epoch_begin(0)
        >>> recorder.on_train_batch_end(0, logs={"loss": 0.5})
        >>> recorder.logs  # epoch 1 is not recorded
        {}
    """

    def __init__(self, epochs=None):
        super().__init__()
        checks.backend("WeightRecorder")
        if epochs is not None:
            if isinstance(epochs, (str, bytes)) or not hasattr(epochs, "__iter__"):
                raise ValueError(
                    f"invalid `epochs`: {epochs!r}; expected a list of 1-based "
                    "epochs, e.g. [2], or None for all"
                )
            epochs = {checks.positive_int("epochs", e, example=[2]) for e in epochs}
        self.epochs = epochs
        self._reset()

    def _reset(self) -> None:
        self.weights: dict[tuple[int, int], list] = {}
        self.logs: dict[tuple[int, int], dict[str, float]] = {}
        self.final: list | None = None
        self._epoch = 0

    def on_train_begin(self, logs=None):
        # Per-run state lives here, so one instance can serve several fit() calls.
        self._reset()
        steps = (
            int(getattr(self.model, "steps_per_execution", 1) or 1) if self.model is not None else 1
        )
        if steps > 1:
            raise ValueError(
                f"WeightRecorder needs one batch per call, but the model was compiled "
                f"with steps_per_execution={steps}; compile with steps_per_execution=1"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def _recording(self) -> bool:
        return self.epochs is None or self._epoch in self.epochs

    def on_train_batch_begin(self, batch, logs=None):
        if self._recording():
            self.weights[(self._epoch, batch)] = self.model.get_weights()

    def on_train_batch_end(self, batch, logs=None):
        if self._recording():
            self.logs[(self._epoch, batch)] = {k: float(v) for k, v in (logs or {}).items()}

    def on_train_end(self, logs=None):
        self.final = self.model.get_weights()

    def batches(self, epoch: int) -> list[int]:
        """The recorded batches of one epoch, in order."""
        found = sorted(b for e, b in self.weights if e == epoch)
        if not found:
            recorded = sorted({e for e, _ in self.weights})
            raise KeyError(f"no batches recorded for epoch {epoch!r}; recorded epochs: {recorded}")
        return found
