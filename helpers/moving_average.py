"""Transitional: ``travelled`` and ``updates_needed`` live in :mod:`helpers.batchnorm` now.

``helpers/scenarios/resnet/figures.py`` still imports them from here; import them
``from helpers import travelled, updates_needed`` instead.
"""

from helpers.batchnorm import travelled, updates_needed

__all__ = ["travelled", "updates_needed"]
