"""Several BatchNorm momenta replayed during one ``fit()`` (``notebooks/04_resnet_batchnorm.ipynb``):
``fit()`` never reads the moving statistics, so one training run serves every momentum."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers import checks
from helpers.batchnorm import batch_statistics, batchnorm_layers
from helpers.reproducibility import import_tensorflow_quietly
from helpers.table import Table

tf, keras = import_tensorflow_quietly()

MOMENTA = (0.99, 0.9, 0.5, 0.01)
PRECISE, ONE_STEP_OLD = "PreciseBN", "PreciseBN one step old"


def _own(layers) -> list:
    return [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in layers]


def _load(layers, statistics) -> None:
    for layer, (mean, var) in zip(layers, statistics):
        layer.moving_mean.assign(np.asarray(mean, dtype="float32"))
        layer.moving_variance.assign(np.asarray(var, dtype="float32"))


class MomentumSweep(keras.callbacks.Callback):
    """Before each step: the batch statistics it will use, and per momentum ``moving = m *
    moving + (1 - m) * batch``. After each epoch: the classes ``predict()`` gives with each
    set, with PreciseBN's (the weights' statistics) and with PreciseBN's one step old (the
    statistics the epoch's step used, so the weights before it). One batch per epoch.

    Attributes:
        table: One row per epoch and set: ``epoch``, ``statistics``, ``correct``,
            ``images``, ``predicted`` (the classes as a string, e.g. ``"0 0 0"``).
        replay_error: Largest difference, relative to the array's largest value, between
            the replayed average of the model's own momentum and what Keras kept.
    """

    def __init__(self, x, y, momenta: Sequence[float] = MOMENTA):
        super().__init__()
        self.momenta = tuple(checks.momentum("momenta", m) for m in momenta)
        self.x, self.labels = x, np.asarray(y).argmax(axis=1)
        self.table, self.replay_error = Table([]), None

    def on_train_begin(self, logs=None):
        if self.params.get("steps") not in (None, 1):
            raise ValueError(
                f"MomentumSweep replays one batch per epoch, but fit() runs "
                f"{self.params['steps']}; pass batch_size >= len(x)"
            )
        # Reset here, so that one instance can serve several fit() calls.
        self._layers = [layer for layer in batchnorm_layers(self.model) if layer.trainable]
        start = [(m.astype("float64"), v.astype("float64")) for m, v in _own(self._layers)]
        self._average = {m: start for m in self.momenta}
        self._measured = self._used = None
        self.table, self.replay_error = Table([]), None
        model = self.model  # traced once: six forward passes per epoch
        self._forward = tf.function(lambda inputs: model(inputs, training=False))

    def on_train_batch_begin(self, batch, logs=None):
        stats = self._measured or list(batch_statistics(self.model, self.x).values())
        self._measured, self._used = None, stats
        for m, average in self._average.items():
            self._average[m] = [
                (m * mean + (1 - m) * b_mean, m * var + (1 - m) * b_var)
                for (mean, var), (b_mean, b_var) in zip(average, stats)
            ]

    def on_epoch_end(self, epoch, logs=None):
        own = _own(self._layers)
        # The end-of-epoch weights' statistics: PreciseBN's, and those the next step will use.
        self._measured = list(batch_statistics(self.model, self.x).values())
        sets = {f"momentum {m:g}": average for m, average in self._average.items()}
        for name, stats in {**sets, PRECISE: self._measured, ONE_STEP_OLD: self._used}.items():
            _load(self._layers, stats)
            predicted = np.asarray(self._forward(self.x)).argmax(axis=1)
            correct, text = int(np.sum(predicted == self.labels)), " ".join(map(str, predicted))
            row = {"epoch": epoch + 1, "statistics": name, "correct": correct, "predicted": text}
            self.table = Table([*self.table.rows, row | {"images": len(self.labels)}])
        _load(self._layers, own)
        kept = self._average.get(self._layers[0].momentum)
        pairs = [] if kept is None else zip(sum(kept, ()), sum(own, ()))
        errors = [np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12) for a, b in pairs]
        self.replay_error = float(max(errors)) if errors else None

    def on_train_end(self, logs=None):
        # Keep the results, not the model: a ResNet50 and its optimizer hold ~0.3 GB.
        self._layers, self._measured, self._used, self._forward = [], None, None, None
        self.set_model(None)


def sweep_grid(table: Table) -> Table:
    """A :class:`MomentumSweep` table as a grid: one row per set of statistics, one column per epoch."""
    names = dict.fromkeys(table.column("statistics"))
    by_epoch = {
        n: {str(r["epoch"]): r["correct"] for r in table.where(statistics=n)} for n in names
    }
    return Table([{"statistics": n, **by_epoch[n]} for n in names])


def first_correct_epoch(table: Table, statistics: str) -> int | None:
    """The first epoch from which all images stay predicted right, or None."""
    first = None
    for row in table.where(statistics=statistics):
        first = (first or row["epoch"]) if row["correct"] == row["images"] else None
    return first
