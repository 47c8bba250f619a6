"""Scenario 01: the "best" ``ModelCheckpoint`` evaluates worse than the best logged loss.

Introduced in ``notebooks/01_checkpoint_mismatch.ipynb``::

    from helpers.scenarios import checkpoint as ck

* :mod:`~helpers.scenarios.checkpoint.run`: the post's data and its
  checkpointed training (:func:`train_checkpointed`, :class:`CheckpointRun`),
  the ablation tables;
* :mod:`~helpers.scenarios.checkpoint.causes`: each candidate cause measured
  (:func:`gap_at_best`, :func:`dropout_draws`, :func:`row_orders`);
* :mod:`~helpers.scenarios.checkpoint.figures`: :func:`plot_checkpoint_run`
  and the explorer (:func:`explore`, :func:`explorer`);
* :mod:`~helpers.scenarios.checkpoint.answers`: the exercises' expected values.
"""

from helpers.scenarios.checkpoint.causes import GapAtBest, dropout_draws, gap_at_best, row_orders
from helpers.scenarios.checkpoint.figures import explore, explorer, plot_checkpoint_run
from helpers.scenarios.checkpoint.run import (
    CHECKPOINT_MONITORS,
    LN2,
    CheckpointRun,
    best_checkpoint_gap,
    post_data,
    post_validation_data,
    seed_sweep,
    summarize,
    train_checkpointed,
)

__all__ = [
    "CHECKPOINT_MONITORS",
    "LN2",
    "CheckpointRun",
    "GapAtBest",
    "best_checkpoint_gap",
    "dropout_draws",
    "explore",
    "explorer",
    "gap_at_best",
    "plot_checkpoint_run",
    "post_data",
    "post_validation_data",
    "row_orders",
    "seed_sweep",
    "summarize",
    "train_checkpointed",
]
