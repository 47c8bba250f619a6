"""Scenario 05, ``notebooks/05_more_gaps.ipynb``: several smaller gaps, one section each; the
notebook reaches each module by name (``mg.run.flat_digits()``, ``mg.explorer.explorer()``)."""

from helpers.scenarios.more_gaps import answers, explorer, figures, run

__all__ = ["answers", "explorer", "figures", "run"]
