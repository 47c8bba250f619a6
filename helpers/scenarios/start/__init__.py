"""The entry notebook's exercises: ``notebooks/00_start_here.ipynb``.

The entry notebook trains its models in plain Keras in front of the reader,
so this package holds only :mod:`.answers`, the exercises' expected values
(see :func:`helpers.selfcheck.check_exercise`, ``check_exercise("start", k, ...)``).
"""

__all__: list[str] = []
