"""Scenario 03: ``fit()`` logs accuracy 1.0, ``evaluate()`` on the same data disagrees.

Introduced in ``notebooks/03_fit_says_one.ipynb``.

* :mod:`.run`: the post's data and run, sample orders, what happens inside an epoch;
* :mod:`.runner`: :class:`ThresholdRunner`, the post's ``fit()`` fast enough for many seeds;
* :mod:`.seeds`: many seeds -- where each stopping rule fires, shares with intervals;
* :mod:`.figures`: plots and the explorer; :mod:`.answers`: the exercises' expected values.
"""

from helpers.scenarios.threshold.figures import explore, explorer, plot_boundary, plot_errors
from helpers.scenarios.threshold.run import (
    OUTCOMES,
    STOP_MONITORS,
    Run,
    batch_table,
    decision_boundary,
    epoch_orders,
    keras_shuffle_orders,
    outcome,
    post_fit,
    threshold_data,
)
from helpers.scenarios.threshold.runner import ThresholdRunner, Trajectory, first_epoch
from helpers.scenarios.threshold.seeds import (
    outcome_counts,
    seed_table,
    symptom_shares,
    wilson_interval,
)

__all__ = [
    "OUTCOMES",
    "STOP_MONITORS",
    "Run",
    "ThresholdRunner",
    "Trajectory",
    "batch_table",
    "decision_boundary",
    "epoch_orders",
    "explore",
    "explorer",
    "first_epoch",
    "keras_shuffle_orders",
    "outcome",
    "outcome_counts",
    "plot_boundary",
    "plot_errors",
    "post_fit",
    "seed_table",
    "symptom_shares",
    "threshold_data",
    "wilson_interval",
]
