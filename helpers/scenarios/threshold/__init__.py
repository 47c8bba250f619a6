"""Scenario 03 (``notebooks/03_fit_says_one.ipynb``): ``fit()`` logs accuracy 1.0 and a stopping
rule fires, while ``evaluate()`` on the same data says less."""

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
