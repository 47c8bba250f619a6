"""Scenario 05: five more gaps between fit(), evaluate() and predict(), from public threads.

Introduced in ``notebooks/05_more_gaps.ipynb``::

    from helpers.scenarios import more_gaps as mg

* :mod:`~helpers.scenarios.more_gaps.run`: the digits, the small models and
  the replayed runs of sections 1-3 (regularisation penalty, class weights,
  a shuffled evaluation dataset);
* :mod:`~helpers.scenarios.more_gaps.finetune`: sections 4-5, BatchNormalization
  when fine-tuning a pre-trained base and when predicting in batches;
* :mod:`~helpers.scenarios.more_gaps.figures`: the plots and the explorer
  (:func:`explore`, :func:`explorer`);
* :mod:`~helpers.scenarios.more_gaps.answers`: the exercises' expected values.
"""

from helpers.scenarios.more_gaps.figures import (
    SECTIONS,
    bn_classifier,
    digit_folder,
    explore,
    explorer,
    plot_bars,
    plot_mode_accuracy,
    plot_penalty,
)
from helpers.scenarios.more_gaps.finetune import (
    batch_size_spread,
    batched_outputs,
    build_conv_base,
    fine_tune,
    head_on,
    moved_statistics,
    pretrained_base,
    small_digits,
    unfreeze_top,
)
from helpers.scenarios.more_gaps.run import (
    binary_digits,
    build_mlp,
    compile_penalised,
    flat_digits,
    image_digits,
    penalty,
    predict_with_labels,
    sample_weights,
    train_penalised,
    train_weighted,
    weighting_split,
    write_digit_folder,
)

__all__ = [
    "SECTIONS",
    "batch_size_spread",
    "batched_outputs",
    "binary_digits",
    "bn_classifier",
    "build_conv_base",
    "build_mlp",
    "compile_penalised",
    "digit_folder",
    "explore",
    "explorer",
    "fine_tune",
    "flat_digits",
    "head_on",
    "image_digits",
    "moved_statistics",
    "penalty",
    "plot_bars",
    "plot_mode_accuracy",
    "plot_penalty",
    "predict_with_labels",
    "pretrained_base",
    "sample_weights",
    "small_digits",
    "train_penalised",
    "train_weighted",
    "unfreeze_top",
    "weighting_split",
    "write_digit_folder",
]
