"""Test-only tools for scenario 01 (helpers/scenarios/checkpoint/): the sweep over seeds."""

from helpers import HEADER, Table, gap
from helpers.scenarios import checkpoint as ck


def seed_sweep(seeds, *, fix: bool = True, **kwargs) -> Table:
    """The mismatch (the ``loss`` checkpoint) and, with ``fix=True``, the fix, per seed.

    The fix is the ``val_loss`` checkpoint with the training data as validation data, in the same
    ``fit()`` (validation does not change training). It costs a validation pass every epoch, as
    much again as the training here, so ``fix=False`` leaves it out. Extra keyword arguments go to
    :func:`~helpers.scenarios.checkpoint.train_checkpointed`.
    """
    x, y = ck.post_data()
    rows = []
    for seed in seeds:
        run = ck.train_checkpointed(
            x, y, seed=seed, validation_data=(x, y) if fix else None, **kwargs
        )
        evaluated = run.evaluate_best(x, y)
        row = {
            "seed": int(seed),
            "best epoch": run.best_epoch(),
            "best logged loss": run.best_logged(),
            "evaluate(best)": evaluated,
            HEADER: gap(run.best_logged(), evaluated),
        }
        if fix:
            best_val = float(min(run.history["val_loss"]))
            row["fix error"] = abs(run.evaluate_best(x, y, "val_loss") - best_val)
        rows.append(row)
    return Table(rows)
