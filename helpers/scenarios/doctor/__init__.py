"""Notebook 06's exercises: ``notebooks/06_the_doctor.ipynb``.

The notebook trains its models in plain Keras in front of the reader and
diagnoses them with :func:`helpers.diagnose`, so this package holds only
:mod:`.answers`, the exercises' expected values (``check_exercise("doctor", k, ...)``).
"""

__all__: list[str] = []
