"""Scenario 02 (``notebooks/02_validation_above_training.ipynb``): validation accuracy above
training accuracy on 1/20 of MNIST, and the gap split into generalisation, dropout and drift."""

from helpers.scenarios.mnist.explorer import explore, explorer
from helpers.scenarios.mnist.figures import explorer_figure, plot_gap_split
from helpers.scenarios.mnist.run import GAP_HEADER, MnistRun, load_post_data, train_post

__all__ = ["GAP_HEADER", "MnistRun", "explore", "explorer", "explorer_figure", "load_post_data"]
__all__ += ["plot_gap_split", "train_post"]
