"""Scenario 03: ``fit()`` logs accuracy 1.0, ``evaluate()`` on the same data disagrees.

``notebooks/03_fit_says_one.ipynb`` writes the post's code and the mechanism in plain Keras and
imports this package as ``th``: :mod:`.run` (data, decision boundary, the runner for many seeds),
:mod:`.figures`, :mod:`.explorer`, :mod:`.answers` (the exercises' checks).
"""

from helpers.scenarios.threshold.explorer import explore, explorer
from helpers.scenarios.threshold.figures import plot_boundary, plot_errors
from helpers.scenarios.threshold.run import (
    ThresholdRunner,
    decision_boundary,
    seed_table,
    shares,
    threshold_data,
    wilson_interval,
)

__all__ = ["ThresholdRunner", "decision_boundary", "explore", "explorer", "plot_boundary"]
__all__ += ["plot_errors", "seed_table", "shares", "threshold_data", "wilson_interval"]
