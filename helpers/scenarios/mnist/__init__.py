"""Scenario 02: validation accuracy above training accuracy on 1/20 of MNIST.

Introduced in ``notebooks/02_validation_above_training.ipynb``.

* :mod:`~helpers.scenarios.mnist.run`: the post's data, its training with a
  :class:`~helpers.GapProbe` attached (:func:`train_post`), the post's printout;
* :mod:`~helpers.scenarios.mnist.forward`: both modes measured in one pass
  through the convolutions (:func:`measure_one_pass`, ``GapProbe``'s ``measure=``);
* :mod:`~helpers.scenarios.mnist.split`: the gap ``accuracy − val_accuracy``
  split into generalisation, dropout and drift (:class:`GapSplit`);
* :mod:`~helpers.scenarios.mnist.figures`: the waterfall and the explorer;
* :mod:`~helpers.scenarios.mnist.answers`: the exercises' expected values.
"""

from helpers.scenarios.mnist.figures import explore, explorer, explorer_figure, plot_gap_split
from helpers.scenarios.mnist.forward import (
    PROBE_BATCH_SIZE,
    accuracies,
    dropout_spread,
    measure_one_pass,
)
from helpers.scenarios.mnist.run import (
    POST_BATCH_SIZE,
    POST_DROPOUT,
    POST_EPOCHS,
    MnistRun,
    load_post_data,
    post_printout,
    prepare,
    train_post,
)
from helpers.scenarios.mnist.split import GAP_HEADER, GapSplit, compare_splits

__all__ = [
    "GAP_HEADER",
    "POST_BATCH_SIZE",
    "POST_DROPOUT",
    "POST_EPOCHS",
    "PROBE_BATCH_SIZE",
    "GapSplit",
    "MnistRun",
    "accuracies",
    "compare_splits",
    "dropout_spread",
    "explore",
    "explorer",
    "explorer_figure",
    "load_post_data",
    "measure_one_pass",
    "plot_gap_split",
    "post_printout",
    "prepare",
    "train_post",
]
