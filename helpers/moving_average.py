"""How far BatchNormalization's moving statistics get in ``N`` updates.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``. Each training step
moves a BatchNorm layer's moving mean and variance towards the batch's::

    moving = momentum * moving + (1 - momentum) * batch

so after ``N`` steps towards a fixed target the start still weighs
``momentum**N``. Plain arithmetic, no TensorFlow; :mod:`helpers.batchnorm`
measures the same thing in a trained model.
"""

from __future__ import annotations

import math

from helpers import checks


def travelled(momentum: float, updates: int) -> float:
    """How far moving statistics have gone from their start after ``updates`` steps.

    Each update keeps ``momentum`` of the old value, so after ``N`` updates
    towards a fixed target the start still weighs ``momentum**N`` and the
    fraction of the way travelled is ``1 - momentum**N``.

    Args:
        momentum: BatchNormalization's momentum (Keras's default is 0.99).
        updates: Number of training steps (batches) so far.

    Returns:
        The fraction travelled, from 0 to 1.

    Example:
        >>> round(travelled(0.99, 5), 4)
        0.049
        >>> round(travelled(0.01, 1), 2)
        0.99
    """
    return 1.0 - checks.momentum("momentum", momentum) ** checks.integer(
        "updates", updates, low=0, example=5
    )


def updates_needed(momentum: float, fraction: float = 0.99) -> int:
    """The number of updates after which ``travelled(momentum, N) >= fraction``.

    Args:
        momentum: BatchNormalization's momentum, in [0, 1).
        fraction: Target fraction of the way, in (0, 1). Defaults to 0.99.

    Returns:
        The smallest such ``N``.

    Example:
        >>> updates_needed(0.99), updates_needed(0.99, 0.5), updates_needed(0.01)
        (459, 69, 1)
    """
    momentum = checks.momentum("momentum", momentum)
    if momentum == 1:
        raise ValueError(
            "invalid `momentum`: 1.0; with momentum 1 the moving statistics never move"
        )
    fraction = checks.number(
        "fraction", fraction, low=0, high=1, low_open=True, high_open=True, example=0.99
    )
    if momentum == 0:
        return 1
    n = max(1, math.ceil(math.log(1 - fraction) / math.log(momentum)))
    while travelled(momentum, n - 1) >= fraction and n > 1:  # guard against rounding in log()
        n -= 1
    return n
