"""Replay BatchNorm's moving averages for several momenta during one ``fit()``.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb`` (section 5). ``fit()``
never *reads* the moving statistics, so one training run serves every
momentum: :class:`MomentumSweep` measures the batch statistics each step
uses and keeps one moving average per momentum; :func:`sweep_grid`,
:func:`first_correct_epoch` and :func:`loaded_statistics` read and use the
results.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np

from helpers import checks
from helpers.batchnorm import batch_statistics, batchnorm_layers
from helpers.reproducibility import import_tensorflow_quietly
from helpers.scenarios.resnet.run import MOMENTA
from helpers.table import Table

tf, keras = import_tensorflow_quietly()


@contextlib.contextmanager
def loaded_statistics(layers: Sequence, statistics: Sequence[tuple]) -> Iterator[None]:
    """Inside the block, ``layers`` hold the given moving statistics; on exit their own come back.

    Args:
        layers: BatchNormalization layers.
        statistics: One ``(mean, variance)`` pair of arrays per layer, in
            the same order, e.g. one momentum's entry of
            :attr:`MomentumSweep.averages`.
    """
    if len(layers) != len(statistics):
        raise ValueError(
            f"`statistics` has {len(statistics)} (mean, variance) pairs for {len(layers)} "
            "layers; pass one pair per layer, e.g. sweep.averages[0.9]"
        )
    own = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in layers]
    try:
        for layer, (mean, var) in zip(layers, statistics):
            layer.moving_mean.assign(np.asarray(mean, dtype="float32"))
            layer.moving_variance.assign(np.asarray(var, dtype="float32"))
        yield
    finally:
        for layer, (mean, var) in zip(layers, own):
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(var)


def variance_change(before: Sequence[tuple], after: Sequence[tuple]) -> list[float]:
    """Per layer, the factor by which the batch variance changed (channel median, >= 1 either way)."""
    factors = []
    for (_, var_before), (_, var_after) in zip(before, after):
        ratio = float(np.median(np.maximum(var_before, 1e-12) / np.maximum(var_after, 1e-12)))
        factors.append(max(ratio, 1 / ratio))
    return factors


class MomentumSweep(keras.callbacks.Callback):
    """Replay BatchNorm's moving averages for several momenta during one ``fit()``.

    ``fit()`` never *reads* the moving statistics -- in training mode every
    BatchNormalization layer normalises with the batch's own statistics --
    so the weights follow the same path whatever the momentum; only the
    moving averages differ, and they are a known function of the batch
    statistics: ``moving = m * moving + (1 - m) * batch``. Before each step
    this callback measures the batch statistics the step is about to use
    (:func:`helpers.batchnorm.batch_statistics`, model unchanged) and keeps
    one moving average per momentum. After each epoch it loads each set into
    the model in turn and records the classes inference mode gives (one
    traced forward pass, ``model(x, training=False)``), then does the same
    with the statistics of the end-of-epoch weights (what
    :func:`helpers.batchnorm.recalibrate_batchnorm` would write), and puts
    the model's own statistics back. ``fit()`` is not disturbed.

    For the post's setting: one batch per epoch (all of ``x``).

    Args:
        x: The training inputs (all of them: one batch).
        y: One-hot labels.
        momenta: Momenta to replay. Defaults to (0.99, 0.9, 0.5, 0.01).

    Attributes:
        table: A :class:`~helpers.Table`, one row per epoch and set of
            statistics: ``epoch``, ``statistics`` (``"momentum 0.99"``, …,
            ``"PreciseBN"``), ``correct`` (images predicted right),
            ``images`` (how many there are) and ``predicted`` (the classes,
            as a string such as ``"0 0 0"``).
        change: A :class:`~helpers.Table`, one row per epoch: how much the
            epoch's one update changed the batch statistics, i.e. how far
            the statistics a step measured (before its update) are from
            those of the weights it left. ``largest variance change`` and
            ``median variance change``: over layers, the factor (>= 1) by
            which a layer's batch variance changed (channel median).
        replay_error: Largest difference between the replayed average for
            the model's own momentum and the moving statistics Keras itself
            kept, relative to each array's largest value -- a check of the
            replay (float32 rounding gives ~1e-6) -- or None if the model's
            momentum is not among ``momenta``.
    """

    def __init__(self, x, y, momenta: Sequence[float] = MOMENTA):
        super().__init__()
        momenta = tuple(momenta)
        if not momenta:
            raise ValueError("invalid `momenta`: (); expected at least one, e.g. (0.99, 0.01)")
        self.momenta = tuple(
            checks.number(
                "momenta", m, low=0, high=1, high_open=True, example="(0.99, 0.9, 0.5, 0.01)"
            )
            for m in momenta
        )
        self.x, self.labels = x, np.asarray(y).argmax(axis=1)
        self.table, self.change, self.replay_error = Table([]), Table([]), None

    def on_train_begin(self, logs=None):
        if self.params.get("steps") not in (None, 1):
            raise ValueError(
                f"MomentumSweep replays one batch per epoch, but fit() runs "
                f"{self.params['steps']}; pass batch_size >= len(x)"
            )
        # The layers batch_statistics() measures: those fit() updates (frozen ones never move).
        self._layers = [layer for layer in batchnorm_layers(self.model) if layer.trainable]
        start = [
            (
                layer.moving_mean.numpy().astype("float64"),
                layer.moving_variance.numpy().astype("float64"),
            )
            for layer in self._layers
        ]
        self._average = {m: list(start) for m in self.momenta}
        self._measured = None  # batch statistics already measured for the coming step
        self._used = None  # those the epoch's step used
        self.table, self.change, self.replay_error = Table([]), Table([]), None
        # Inference traced once: at 64×64 a call takes 0.02 s instead of 0.22 s eagerly, and the
        # sweep makes five per epoch. The variables are read at each call, so loaded statistics count.
        model = self.model
        self._forward = tf.function(lambda inputs: model(inputs, training=False))

    @property
    def averages(self) -> dict[float, list]:
        """The replayed moving averages so far: momentum -> [(mean, variance) per BN layer]."""
        return {
            m: [(mean.copy(), var.copy()) for mean, var in average]
            for m, average in self._average.items()
        }

    def on_train_batch_begin(self, batch, logs=None):
        stats = self._measured or list(batch_statistics(self.model, self.x).values())
        self._measured, self._used = None, stats
        for m, average in self._average.items():
            self._average[m] = [
                (m * mean + (1 - m) * b_mean, m * var + (1 - m) * b_var)
                for (mean, var), (b_mean, b_var) in zip(average, stats)
            ]

    def predicted_with(self, statistics) -> np.ndarray:
        """The classes inference mode gives ``x`` with ``statistics`` loaded (model unchanged)."""
        with loaded_statistics(self._layers, statistics):
            return np.asarray(self._forward(self.x)).argmax(axis=1)

    def on_epoch_end(self, epoch, logs=None):
        own = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in self._layers]
        # The end-of-epoch weights' batch statistics: PreciseBN's values, and the
        # statistics the next step will use (the weights do not change in between).
        self._measured = list(batch_statistics(self.model, self.x).values())
        sets = {f"momentum {m:g}": average for m, average in self._average.items()}
        sets["PreciseBN"] = self._measured
        rows = []
        for name, stats in sets.items():
            predicted = self.predicted_with(stats)
            rows.append(
                {
                    "epoch": epoch + 1,
                    "statistics": name,
                    "correct": int(np.sum(predicted == self.labels)),
                    "images": len(self.labels),
                    "predicted": " ".join(map(str, predicted)),
                }
            )
        self.table = Table(self.table.rows + rows)
        factors = variance_change(self._used, self._measured)
        self.change = Table(
            self.change.rows
            + [
                {
                    "epoch": epoch + 1,
                    "largest variance change": max(factors),
                    "median variance change": float(np.median(factors)),
                }
            ]
        )
        own_momentum = self._layers[0].momentum
        if own_momentum in self._average:
            self.replay_error = max(
                float(np.max(np.abs(replayed - kept)) / max(float(np.max(np.abs(kept))), 1e-12))
                for pair, kept_pair in zip(self._average[own_momentum], own)
                for replayed, kept in zip(pair, kept_pair)
            )

    def on_train_end(self, logs=None):
        # Keep the results, not the model: a ResNet50 and its optimizer hold ~0.3 GB.
        self._layers, self._measured, self._used, self._forward = [], None, None, None
        self.set_model(None)


def sweep_grid(table: Table) -> Table:
    """A :class:`MomentumSweep` table as a grid: one row per set of statistics, one column per epoch."""
    names = list(dict.fromkeys(table.column("statistics")))
    return Table(
        [
            {
                "statistics": name,
                **{str(r["epoch"]): r["correct"] for r in table.where(statistics=name)},
            }
            for name in names
        ]
    )


def first_correct_epoch(table: Table, statistics: str) -> int | None:
    """The first epoch from which all images stay predicted right, or None."""
    rows = table.where(statistics=statistics).rows
    if not rows:
        raise ValueError(
            f"no rows for statistics={statistics!r}; available: "
            f"{sorted(set(table.column('statistics')))}"
        )
    first = None
    for row in rows:
        first = (first or row["epoch"]) if row["correct"] == row["images"] else None
    return first
