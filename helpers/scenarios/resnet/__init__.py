"""Scenario 04 (``notebooks/04_resnet_batchnorm.ipynb``): ResNet50 learns three images, then
``predict()`` gives one class for all. The BatchNorm tools are general: ``from helpers import …``."""

from helpers.scenarios.resnet.explorer import explore, explorer
from helpers.scenarios.resnet.figures import plot_travelled
from helpers.scenarios.resnet.run import TrainResult, load_images, predict_classes, train_resnet
from helpers.scenarios.resnet.sweep import MomentumSweep, first_correct_epoch, sweep_grid

__all__ = ["MomentumSweep", "TrainResult", "explore", "explorer", "first_correct_epoch"]
__all__ += ["load_images", "plot_travelled", "predict_classes", "sweep_grid", "train_resnet"]
