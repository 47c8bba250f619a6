"""``LoggingProbe``: a :class:`~helpers.gap_probe.GapProbe` whose measurements other callbacks can watch.

Introduced in ``notebooks/03_fit_says_one.ipynb``.
"""

from __future__ import annotations

from helpers.gap_probe import GapProbe


class LoggingProbe(GapProbe):
    """A ``GapProbe`` that also writes its end-of-epoch values into the logs.

    ``fit()`` passes one ``logs`` dict along its callbacks, so a callback
    listed after this one -- ``StopAtThreshold``, ``EarlyStopping``,
    ``ModelCheckpoint`` -- can watch ``eval_accuracy``: the accuracy of the
    end-of-epoch weights on the probe's data (what ``evaluate()`` says),
    under a name that does not pretend to be validation data. ``History``
    records it too. It extends ``GapProbe`` through its public hook
    (``on_epoch_end``) and its latest measurement, :attr:`last`.

    Args:
        x, y: The data to measure, usually the training set.
        sample_weight: Optional sample weights. Defaults to None.
        prefix: Put before each metric's name. Defaults to ``"eval_"``.
        **kwargs: Passed to :class:`~helpers.gap_probe.GapProbe`.

    Example:
        >>> probe = LoggingProbe(x_train, y_train, batch_size=128)  # doctest: +SKIP
        >>> stop = StopAtThreshold("eval_accuracy", 1.0)  # doctest: +SKIP
        >>> model.fit(x_train, y_train, batch_size=128, callbacks=[probe, stop])  # doctest: +SKIP
    """

    def __init__(self, x, y, sample_weight=None, *, prefix: str = "eval_", **kwargs):
        super().__init__(x, y, sample_weight, **kwargs)
        if not isinstance(prefix, str) or not prefix or prefix == "val_":
            raise ValueError(
                f"invalid `prefix`: {prefix!r}; expected a name such as 'eval_' "
                "('val_' would pass training data off as validation data)"
            )
        self.prefix = prefix

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None:
            logs.update(
                {
                    self.prefix + metric: value
                    for metric, value in self.last.get("inference", {}).items()
                    if self.metrics is None or metric in self.metrics
                }
            )
