"""Transitional: ``LoggingProbe`` is ``GapProbe(..., log=True)`` now (:mod:`helpers.gap_probe`).

Notebook 03 and its tests still import it from here; import it ``from helpers`` instead.
"""

from helpers.gap_probe import LoggingProbe

__all__ = ["LoggingProbe"]
