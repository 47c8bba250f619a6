"""The gap between logged training accuracy and validation accuracy, in three measured parts.

Introduced in ``notebooks/02_validation_above_training.ipynb``. With the
kit's sign convention (:mod:`helpers.gap`: the number logged during training
first, the number measured afterwards second)::

    gap = accuracy - val_accuracy                       (what fit() logged)
        = (accuracy - training)     drift: the epoch's moving weights vs its end
        + (training - inference)    dropout: Dropout on vs off, same weights, same digits
        + (inference - val_accuracy) generalisation: training vs validation digits

where *training* and *inference* are the training digits measured with the
end-of-epoch weights in training and inference mode (the latter is what
``evaluate()`` says). The parts telescope, so they sum to the gap exactly by
construction; what they show is their sizes. Drift and dropout follow
:func:`helpers.decompose_gap`'s parts; generalisation is the honest
comparison of the two sets.

Example:
    >>> s = GapSplit(epoch=10, logged=0.90, training=0.91, inference=0.99, validation=0.96)
    >>> round(s.gap, 4), round(s.drift + s.dropout + s.generalisation, 4)
    (-0.06, -0.06)
"""

from __future__ import annotations

import dataclasses

from helpers.table import Table

GAP_HEADER = "gap (fit − val)"  # accuracy − val_accuracy, as helpers.gap orders it


@dataclasses.dataclass(frozen=True)
class GapSplit:
    """Logged training accuracy minus validation accuracy, in three parts.

    ``drift + dropout + generalisation == gap`` (exactly, by construction).

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

    drift = property(
        lambda self: self.logged - self.training,
        doc="The epoch's logged average minus the end-of-epoch weights, Dropout on in both.",
    )
    dropout = property(
        lambda self: self.training - self.inference,
        doc="Dropout on minus Dropout off: same weights, same digits.",
    )
    generalisation = property(
        lambda self: self.inference - self.validation,
        doc="Training minus validation digits, both measured like ``evaluate()``.",
    )
    gap = property(
        lambda self: self.logged - self.validation,
        doc="The gap the post saw, in the kit's sign: ``accuracy - val_accuracy``.",
    )

    @property
    def table(self) -> Table:
        """The split as a running sum, from ``val_accuracy`` to what ``fit()`` logged."""
        return Table(
            [
                {
                    "step": "val_accuracy (validation digits, Dropout off)",
                    "part": None,
                    "accuracy": self.validation,
                },
                {
                    "step": "+ generalisation: training digits, evaluate()",
                    "part": self.generalisation,
                    "accuracy": self.inference,
                },
                {
                    "step": "+ dropout: Dropout on, end-of-epoch weights",
                    "part": self.dropout,
                    "accuracy": self.training,
                },
                {
                    "step": "+ drift: the epoch's moving weights = fit() logged",
                    "part": self.drift,
                    "accuracy": self.logged,
                },
            ]
        )

    @property
    def summary(self) -> str:
        """One line with the numbers, sign stated."""
        return (
            f"epoch {self.epoch}: accuracy − val_accuracy = {self.gap:+.4f} = generalisation "
            f"{self.generalisation:+.4f} + dropout {self.dropout:+.4f} + drift {self.drift:+.4f}"
        )

    def row(self) -> dict:
        """The split as one table row."""
        return {
            "epoch": self.epoch,
            "logged": self.logged,
            "validation": self.validation,
            GAP_HEADER: self.gap,
            "generalisation": self.generalisation,
            "dropout": self.dropout,
            "drift": self.drift,
        }


def compare_splits(runs: dict, epoch: int | None = None) -> Table:
    """One epoch's :class:`GapSplit` for several runs, one row each.

    Args:
        runs: Name -> :class:`~helpers.scenarios.mnist.MnistRun`, e.g.
            ``{"post": run, "dropout 0": no_dropout}``.
        epoch: The epoch to split in every run; None takes each run's last.
            Defaults to None.

    Returns:
        A :class:`~helpers.Table` with the settings that vary and the parts.
    """
    return Table(
        [
            {
                "run": name,
                "n_train": run.settings["n_train"],
                "batch": run.settings["batch_size"],
                **run.split(epoch).row(),
            }
            for name, run in runs.items()
        ]
    )
