"""Notebook 00's exercises (``notebooks/00_start_here.ipynb``), in :mod:`.answers`: the notebook
trains its models in plain Keras, so it needs nothing else from here."""
