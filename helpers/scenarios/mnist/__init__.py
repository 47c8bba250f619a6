"""Scenario 02: validation accuracy above training accuracy on 1/20 of MNIST.

Introduced in ``notebooks/02_validation_above_training.ipynb``, which writes the
post's model, training and mechanism out in plain Keras; this package repeats
them at scale: :mod:`.run` (data, :func:`train_post`, the result type
:class:`MnistRun`), :mod:`.figures`,
:mod:`.explorer`, :mod:`.answers` (the exercises' checks).
"""

from helpers.scenarios.mnist.explorer import explore, explorer
from helpers.scenarios.mnist.figures import explorer_figure, plot_gap_split
from helpers.scenarios.mnist.run import GAP_HEADER, MnistRun, load_post_data, train_post

__all__ = ["GAP_HEADER", "MnistRun", "explore", "explorer", "explorer_figure", "load_post_data"]
__all__ += ["plot_gap_split", "train_post"]
