"""One sub-package per scenario notebook, each with the same file names.

* ``run.py``: the post's data and training, the ablations and measurements;
* ``figures.py``: the scenario's plots and its explorer (``explore()`` and
  ``explorer()``, see :mod:`helpers.widgets`);
* ``answers.py``: the exercises' expected values, computed out of the
  notebook's sight (see :func:`helpers.selfcheck.check_exercise`).

A third module appears only where a concept needs one. General tools --
callbacks, probes, modes, the decomposer, plots, argument checks -- live at
the top of :mod:`helpers` and are shared by every scenario.
"""
