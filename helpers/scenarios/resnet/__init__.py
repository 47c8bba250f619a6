"""Scenario 04: ResNet50 learns three images, then ``predict()`` gives one class for all.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``. ``run`` holds the
post's data, training and measurements; ``sweep`` replays BatchNorm's moving
averages for several momenta during one ``fit()``; ``seeds`` repeats the
post over seeds with one compiled model; ``figures`` the plots and the
explorer; ``answers`` the exercises' expected values. The BatchNorm tools
themselves are general: :mod:`helpers.batchnorm`.
"""

from helpers.scenarios.resnet.figures import (
    describe_run,
    explore,
    explorer,
    plot_sweep,
    plot_travelled,
    plot_true_class,
)
from helpers.scenarios.resnet.run import (
    ARCHITECTURES,
    MOMENTA,
    POST_SIZE,
    SMALL_SIZE,
    STAGES,
    TrainResult,
    build_model,
    diagnose,
    divergence_by_stage,
    load_images,
    predict_classes,
    train_resnet,
)
from helpers.scenarios.resnet.seeds import (
    collapse_over_seeds,
    kernels_in_build_order,
    reset_to_seed,
)
from helpers.scenarios.resnet.sweep import (
    MomentumSweep,
    first_correct_epoch,
    loaded_statistics,
    sweep_grid,
    variance_change,
)

__all__ = [
    "ARCHITECTURES",
    "MOMENTA",
    "POST_SIZE",
    "SMALL_SIZE",
    "STAGES",
    "MomentumSweep",
    "TrainResult",
    "build_model",
    "collapse_over_seeds",
    "describe_run",
    "diagnose",
    "divergence_by_stage",
    "explore",
    "explorer",
    "first_correct_epoch",
    "kernels_in_build_order",
    "load_images",
    "loaded_statistics",
    "plot_sweep",
    "plot_travelled",
    "plot_true_class",
    "predict_classes",
    "reset_to_seed",
    "sweep_grid",
    "train_resnet",
    "variance_change",
]
