"""One sub-package per scenario notebook, each with the same modules: ``run.py`` (the post's
data and training, ablations, measurements), ``figures.py`` (plots only), ``explorer.py``
(``explore()`` and the widget ``explorer()``, see :mod:`helpers.widgets`) and ``answers.py``
(the exercises' checks, out of the notebook's sight; see :mod:`helpers.selfcheck`). General
tools live at the top of :mod:`helpers`."""
