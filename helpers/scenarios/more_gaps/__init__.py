"""Scenario 05, ``notebooks/05_more_gaps.ipynb``: ``from helpers.scenarios import more_gaps as mg``.

``mg.run``: data, models and replayed runs; ``mg.figures``: plots; ``mg.explorer``: ``explore()``
and its widget ``explorer()``; ``mg.answers``: the exercises' checks.
"""

from helpers.scenarios.more_gaps import answers, explorer, figures, run

__all__ = ["answers", "explorer", "figures", "run"]
