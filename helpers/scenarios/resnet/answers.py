"""Expected values of notebook 04's exercises, computed out of the notebook's sight.

Read by :func:`helpers.selfcheck.check_exercise` (``"resnet"``). Each
``expected`` function computes the answer from the objects the check cell
passes -- the student's own model and images -- so a check holds on any CPU.
Nothing here changes the model: statistics loaded for a measurement are put
back.
"""

from __future__ import annotations

import math

from helpers.batchnorm import batch_statistics, batchnorm_layers, travelled, updates_needed
from helpers.scenarios.resnet.sweep import loaded_statistics
from helpers.selfcheck import Exercise


def evaluate_with(model, x, y, statistics) -> dict:
    """``model.evaluate(x, y)`` with ``statistics`` (one (mean, variance) per BN layer) loaded."""
    layers = [layer for layer in batchnorm_layers(model) if layer.trainable]
    with loaded_statistics(layers, statistics):
        return model.evaluate(x, y, verbose=0, return_dict=True)


def recalibrated_loss(*, model, x, y, batch_size: int = 1, **_) -> float:
    """evaluate()'s loss after PreciseBN with ``batch_size`` (the model is left as it was)."""
    return evaluate_with(
        model, x, y, list(batch_statistics(model, x, batch_size=batch_size).values())
    )["loss"]


def formula_loss(*, model, x, y, momentum: float = 0.99, updates: int = 5, **_) -> float:
    """evaluate()'s loss with each moving statistic ``travelled(momentum, updates)`` of the way.

    From its start (mean 0, variance 1) towards the batch statistics of the
    model's current weights, as if those had held still for ``updates``
    steps (the model is left as it was).
    """
    share = travelled(momentum, updates)
    stats = [
        (share * mean, 1 + share * (var - 1)) for mean, var in batch_statistics(model, x).values()
    ]
    return evaluate_with(model, x, y, stats)["loss"]


EXERCISES = {
    1: Exercise(
        name="Exercise 1",
        hint="each update keeps `momentum` of what is left of the starting value; "
        "bn.travelled() does the arithmetic",
        expected=lambda **_: travelled(0.9, 5),
        rtol=1e-6,
    ),
    2: Exercise(
        name="Exercise 2",
        hint="find the updates needed with bn.updates_needed(), then divide by the updates per epoch "
        "and round up",
        expected=lambda **_: math.ceil(updates_needed(0.99, fraction=0.95) / 3),
    ),
    3: Exercise(
        name="Exercise 3",
        hint="call bn.recalibrate_batchnorm on the model with the other batch size, then evaluate() "
        "on the three images and read the loss",
        expected=recalibrated_loss,
        rtol=1e-3,
        atol=1e-6,
    ),
    4: Exercise(
        name="Exercise 4",
        hint="take bn.batch_statistics(model, x), move each (mean, variance) from (0, 1) only "
        "bn.travelled(0.99, 5) of the way, assign them to the layers' moving statistics, then "
        "evaluate() and read the loss",
        expected=formula_loss,
        rtol=1e-3,
        atol=1e-6,
    ),
}

__all__ = ["EXERCISES", "evaluate_with", "formula_loss", "recalibrated_loss"]
