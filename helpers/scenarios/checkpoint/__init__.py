"""Scenario 01: the "best" ``ModelCheckpoint`` evaluates worse than the best logged loss.

``notebooks/01_checkpoint_mismatch.ipynb`` writes the post's model and the mechanism in plain
Keras and imports this package as ``ck``: :mod:`.run` (the training at scale), :mod:`.figures`,
:mod:`.explorer`, :mod:`.answers` (the exercises' checks).
"""

from helpers.scenarios.checkpoint.explorer import explore, explorer
from helpers.scenarios.checkpoint.figures import plot_timeline
from helpers.scenarios.checkpoint.run import (
    CHECKPOINT_MONITORS,
    LN2,
    CheckpointRun,
    post_data,
    train_checkpointed,
)

__all__ = [
    "CHECKPOINT_MONITORS",
    "LN2",
    "CheckpointRun",
    "explore",
    "explorer",
    "plot_timeline",
    "post_data",
    "train_checkpointed",
]
