"""Scenario 01, ``notebooks/01_checkpoint_mismatch.ipynb``: the "best" ``ModelCheckpoint``
evaluates worse than the best logged loss. Imported there as ``ck``."""

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
