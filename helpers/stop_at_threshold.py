"""``StopAtThreshold``: the threshold post's stopping rule as a reusable Keras callback."""

from __future__ import annotations

import warnings

from helpers import checks
from helpers.reproducibility import import_keras_quietly

keras = import_keras_quietly()


class StopAtThreshold(keras.callbacks.Callback):
    """Stop training at the end of the first epoch where ``logs[monitor] >= threshold``.

    For ``monitor="accuracy"`` the logs hold the *average over the epoch's batches*, each
    scored with the weights of its own moment; watch ``"val_accuracy"`` (or a key a measuring
    callback listed before this one writes) to stop on the weights themselves. A missing key
    warns once per ``fit()`` and training goes on. Afterwards :attr:`stopped_epoch` (1-based,
    0 if never), :attr:`stopped_value` and :attr:`values` (every epoch's) say what it saw.

    Args:
        monitor: The logged key to watch. Defaults to ``"accuracy"``.
        threshold: Stop once the value is at least this. Defaults to 1.0.

    Example:
        >>> stop = StopAtThreshold(monitor="val_accuracy", threshold=1.0)
        >>> stop.on_train_begin()
        >>> stop.on_epoch_end(0, logs={"val_accuracy": 0.998})
        >>> stop.stopped_epoch
        0
    """

    def __init__(self, monitor: str = "accuracy", threshold: float = 1.0):
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(
                f"invalid `monitor`: {monitor!r}; expected a logged key such as "
                "'accuracy' or 'val_accuracy'"
            )
        threshold = checks.number("threshold", threshold, example=1.0)
        self.monitor = monitor
        self.threshold = float(threshold)
        self._reset()

    def _reset(self) -> None:
        self.stopped_epoch = 0
        self.stopped_value: float | None = None
        self.values: list[float | None] = []
        self._warned = False

    def on_train_begin(self, logs=None):
        # Per-run state lives here, so one instance can serve several fit() calls.
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            self.values.append(None)
            if not self._warned:
                warnings.warn(
                    f"StopAtThreshold is watching {self.monitor!r}, which is not in the logs; "
                    f"available keys: {sorted(logs)}. Training will not stop early. "
                    "(Keys starting with 'val_' need `validation_data=`.)",
                    stacklevel=2,
                )
                self._warned = True
            return
        value = float(value)
        self.values.append(value)
        if value >= self.threshold and not self.stopped_epoch:
            self.stopped_epoch = epoch + 1  # 1-based, as in fit()'s progress bar
            self.stopped_value = value
            if self.model is not None:
                self.model.stop_training = True
