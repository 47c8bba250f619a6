"""Scenario 01: the candidate causes of the gap, each measured on its own.

Introduced in ``notebooks/01_checkpoint_mismatch.ipynb``, sections 3-6:

* :func:`gap_at_best` splits the best checkpoint's gap into a *Dropout part*
  (the logged loss's masks against Dropout off, same weights) and a *one-step
  part* (the epoch's SGD update, as ``evaluate()`` sees it);
* :func:`dropout_draws` shows how lucky the logged masks were;
* :func:`row_orders` records the order in which ``fit()`` feeds the rows, for
  the shuffling answer.

Signs follow :mod:`helpers.gap`: ``gap = fit() logged − evaluate()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from helpers import checks
from helpers.fit_order import fit_orders
from helpers.gap import HEADER, gap
from helpers.modes import preserved_state
from helpers.reproducibility import import_tensorflow_quietly
from helpers.scenarios.checkpoint.run import CHECKPOINT_MONITORS, CheckpointRun
from helpers.table import Table

keras = import_tensorflow_quietly()[1]


@dataclass(repr=False)
class GapAtBest:
    """The best checkpoint's gap, split into its two causes (see :func:`gap_at_best`).

    ``gap = dropout_part + one-step part`` holds by construction: the parts
    are differences through the one intermediate measurement ``before``.
    """

    epoch: int
    logged: float  # fit()'s loss at that epoch: weights before the update, Dropout on
    before: float  # evaluate() of the weights before the update (end of the previous epoch)
    after: float  # evaluate() of the weights after the update: what the checkpoint holds

    @property
    def gap(self) -> float:
        """``fit()`` logged − ``evaluate()`` of the checkpoint (:func:`helpers.gap.gap`)."""
        return gap(self.logged, self.after)

    @property
    def dropout_part(self) -> float:
        """Logged − ``evaluate()`` on the same weights: the epoch's Dropout masks."""
        return self.logged - self.before

    @property
    def step_part(self) -> float:
        """``evaluate()`` before − after the update: the epoch's SGD step."""
        return self.before - self.after

    @property
    def table(self) -> Table:
        e = self.epoch
        return Table(
            [
                {
                    "measurement": f"fit() logged, epoch {e}",
                    "weights": f"end of epoch {e - 1}",
                    "Dropout": "on",
                    "loss": self.logged,
                },
                {
                    "measurement": "evaluate() before the update",
                    "weights": f"end of epoch {e - 1}",
                    "Dropout": "off",
                    "loss": self.before,
                },
                {
                    "measurement": "evaluate() of the checkpoint",
                    "weights": f"end of epoch {e}",
                    "Dropout": "off",
                    "loss": self.after,
                },
                {
                    "measurement": f"{HEADER} = Dropout part + one-step part",
                    "weights": "",
                    "Dropout": "",
                    "loss": self.gap,
                },
                {
                    "measurement": "  Dropout part (logged − evaluate() before)",
                    "weights": "",
                    "Dropout": "",
                    "loss": self.dropout_part,
                },
                {
                    "measurement": "  one-step part (evaluate() before − after)",
                    "weights": "",
                    "Dropout": "",
                    "loss": self.step_part,
                },
            ]
        )

    def __repr__(self):
        return str(self.table)

    def _repr_html_(self):
        return self.table._repr_html_()


def gap_at_best(run: CheckpointRun, monitor: str = "loss") -> GapAtBest:
    """Measure the best checkpoint's epoch before and after its update.

    Needs a run trained with ``probe=True``: the probe's epoch e-1 (epoch 0
    = initial weights) holds ``evaluate()`` of the weights the logged loss of
    epoch e was computed with.
    """
    checks.choice("monitor", monitor, CHECKPOINT_MONITORS)
    if run.probe is None:
        raise ValueError(
            "this run has no GapProbe; train it with `train_checkpointed(..., probe=True)`"
        )
    e = run.best_epoch(monitor)
    inference = run.probe.series("loss", "inference")  # index = epoch, 0 = initial weights
    return GapAtBest(
        e, float(run.history["loss"][e - 1]), float(inference[e - 1]), float(inference[e])
    )


def dropout_draws(model, x, y, n: int = 2000) -> np.ndarray:
    """The training-mode loss of ``(x, y)`` under ``n`` fresh sets of Dropout masks.

    The weights stay fixed; each draw is one forward pass of the whole data
    set with Dropout on, as ``fit()`` computes its logged loss. The model,
    including its random-seed state, is restored afterwards.
    """
    n = checks.positive_int("n", n, example=2000)
    checks.compiled(model, "dropout_draws()")
    x, y = np.asarray(x, "float32"), np.asarray(y, "float32")
    loss = keras.losses.get(model.loss)
    with preserved_state(model):
        y_pred = model(np.concatenate([x] * n), training=True)  # n copies, independent masks
        per_sample = keras.ops.convert_to_numpy(loss(np.concatenate([y] * n), y_pred))
    return per_sample.reshape(n, len(x)).mean(axis=1)


def row_orders(
    n_samples: int = 2,
    *,
    epochs: int = 3,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 0,
) -> list[tuple]:
    """The order in which ``fit()`` feeds ``n_samples`` NumPy rows, epoch by epoch.

    :func:`helpers.fit_order.fit_orders` (``fit()``'s own orders after
    ``keras.utils.set_random_seed(seed)``), as tuples to print.

    Returns:
        One tuple of row indices per epoch.
    """
    n_samples = checks.positive_int("n_samples", n_samples, example=2)
    orders = fit_orders(n_samples, epochs=epochs, batch_size=batch_size, shuffle=shuffle, seed=seed)
    return [tuple(int(i) for i in order) for order in orders]
