"""Notebook 06's exercises (``notebooks/06_the_doctor.ipynb``), in :mod:`.answers`: the notebook
trains in plain Keras and diagnoses with :func:`helpers.diagnose`, so it needs nothing else here."""
