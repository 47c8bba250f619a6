"""``GapProbe``: a callback that records what ``fit()`` logged beside what
``evaluate()`` would have said, epoch by epoch.

Introduced in ``notebooks/00_start_here.ipynb`` and used by every scenario.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from helpers.modes import check_compiled, evaluate_in_mode, _check_data
from helpers.reproducibility import import_tensorflow_quietly
from helpers.table import Table

keras = import_tensorflow_quietly()[1]

SOURCES = ("fit", "batch", "training", "inference", "validation")


class GapProbe(keras.callbacks.Callback):
    """Measure the training data four ways during ``fit()``.

    For every epoch the probe records, in one tidy table (:attr:`table`):

    * ``source="fit"``: each metric as ``fit()`` logged it -- the average
      over the epoch's batches, computed in training mode while the weights
      moved;
    * ``source="inference"``: the same metric on ``x``/``y`` with the
      end-of-epoch weights in inference mode -- what ``evaluate()`` says;
    * ``source="training"`` (if ``training_mode=True``): the same, with
      the end-of-epoch weights but Dropout and BatchNormalization in
      training mode. The model is left exactly as it was: see
      :func:`helpers.modes.preserved_state`;
    * ``source="batch"`` (if ``per_batch=True``): each batch's own value,
      recovered from the running averages that Keras logs after every
      batch;
    * ``source="validation"``: any ``val_*`` value that ``fit()`` logged.

    Epochs are numbered from 1, as in ``fit()``'s progress bar and in
    ``ModelCheckpoint`` file names; epoch 0 holds the measurements of the
    initial weights (if ``initial=True``).

    Args:
        x: The training inputs (or any data to measure on).
        y: The matching targets.
        sample_weight: Optional sample weights. Defaults to None.
        batch_size: The batch size passed to ``fit()``. It sets the probe's
            batches (BatchNormalization's batch statistics depend on it) and
            the per-batch bookkeeping. Defaults to 32, like ``fit()``.
        metrics: Metric names to record, e.g. ``["loss"]``; None records
            every compiled metric. Defaults to None.
        training_mode: Also measure in training mode. Defaults to False.
        per_batch: Also record per-batch values. Defaults to False.
        initial: Measure the initial weights as epoch 0. Defaults to True.

    Example:
        >>> probe = GapProbe(x_train, y_train, batch_size=64)  # doctest: +SKIP
        >>> model.fit(x_train, y_train, batch_size=64, callbacks=[probe])  # doctest: +SKIP
        >>> probe.wide("accuracy")  # doctest: +SKIP
    """

    def __init__(self, x, y, sample_weight=None, *, batch_size: int = 32, metrics=None,
                 training_mode: bool = False, per_batch: bool = False, initial: bool = True):
        super().__init__()
        self._n = _check_data(x, y, sample_weight)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"invalid `batch_size`: {batch_size!r}; expected the positive int passed to fit()")
        if isinstance(metrics, str):
            raise ValueError(f"invalid `metrics`: {metrics!r}; pass a list such as [{metrics!r}]")
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size = int(batch_size)
        self.metrics = None if metrics is None else list(metrics)
        self.training_mode = bool(training_mode)
        self.per_batch = bool(per_batch)
        self.initial = bool(initial)
        if per_batch and sample_weight is not None:
            warnings.warn("per-batch values are recovered assuming unweighted metrics; "
                          "with `sample_weight` only the loss is exact", stacklevel=2)
        self.rows: list[dict] = []

    # -- Keras hooks ---------------------------------------------------------

    def on_train_begin(self, logs=None):
        check_compiled(self.model, "GapProbe")
        self.rows = []
        self._running: list[dict] = []
        self._epoch = 0
        if self.initial:
            self._measure(0)

    def on_epoch_begin(self, epoch, logs=None):
        self._running = []
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.per_batch and logs:
            self._running.append({k: float(v) for k, v in logs.items()})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        e = epoch + 1
        for key, value in logs.items():
            if key.startswith("val_"):
                if self._wanted(key[4:]):
                    self._add(e, "validation", key[4:], value)
            elif self._wanted(key):
                self._add(e, "fit", key, value)
        if self.per_batch:
            self._add_batches(e)
        self._measure(e)

    # -- results -------------------------------------------------------------

    @property
    def table(self) -> Table:
        """Every measurement: columns epoch, batch, source, metric, value."""
        return Table(self.rows)

    def series(self, metric: str = "loss", source: str = "fit") -> np.ndarray:
        """One metric from one source, in epoch (or batch) order."""
        self._check_key(metric)
        if source not in SOURCES:
            raise ValueError(f"unknown `source`: {source!r}; expected one of {SOURCES}")
        return np.array([r["value"] for r in self.rows
                         if r["metric"] == metric and r["source"] == source])

    def epochs(self, metric: str = "loss", source: str = "fit") -> np.ndarray:
        """The epoch numbers matching :meth:`series`."""
        self.series(metric, source)
        return np.array([r["epoch"] for r in self.rows
                         if r["metric"] == metric and r["source"] == source])

    def wide(self, metric: str = "loss") -> Table:
        """One row per epoch, one column per source, for one metric."""
        self._check_key(metric)
        by_epoch: dict[int, dict] = {}
        for r in self.rows:
            if r["metric"] == metric and r["source"] != "batch":
                by_epoch.setdefault(r["epoch"], {"epoch": r["epoch"]})[r["source"]] = r["value"]
        order = [s for s in SOURCES if any(s in row for row in by_epoch.values())]
        return Table([{"epoch": e, **{s: row.get(s) for s in order}}
                      for e, row in sorted(by_epoch.items())])

    @property
    def available(self) -> list[str]:
        """Metric names recorded so far."""
        return sorted({r["metric"] for r in self.rows})

    # -- internals -----------------------------------------------------------

    def _check_key(self, metric):
        if metric not in self.available:
            raise KeyError(
                f"metric {metric!r} was not recorded; available keys: {self.available}"
                + ("" if self.rows else " (nothing yet: has fit() run with this probe?)")
            )

    def _wanted(self, key: str) -> bool:
        return self.metrics is None or key in self.metrics

    def _add(self, epoch, source, metric, value, batch=None):
        self.rows.append({"epoch": epoch, "batch": batch, "source": source,
                          "metric": metric, "value": float(value)})

    def _measure(self, epoch: int) -> None:
        kw = dict(sample_weight=self.sample_weight, batch_size=self.batch_size)
        result = evaluate_in_mode(self.model, self.x, self.y, mode="inference", **kw)
        if self.metrics is not None:
            missing = [m for m in self.metrics if m not in result]
            if missing:
                # Raised at the first measurement, before any training is lost.
                raise ValueError(
                    f"GapProbe cannot record metric {missing[0]!r}; the model's available "
                    f"keys are {sorted(result)}. Fix `metrics=` or compile the model with it."
                )
        for key, value in result.items():
            if self._wanted(key):
                self._add(epoch, "inference", key, value)
        if self.training_mode:
            for key, value in evaluate_in_mode(self.model, self.x, self.y, mode="training", **kw).items():
                if self._wanted(key):
                    self._add(epoch, "training", key, value)

    def _add_batches(self, epoch: int) -> None:
        """Turn Keras's running averages back into per-batch values.

        After batch k Keras logs A_k = (sum of batch values weighted by batch
        size) / (samples so far), so batch k's own value is
        (N_k A_k - N_{k-1} A_{k-1}) / b_k.
        """
        steps = len(self._running)
        sizes = [self.batch_size] * steps
        if steps:
            sizes[-1] = self._n - self.batch_size * (steps - 1)
            if not 0 < sizes[-1] <= self.batch_size:
                # x is not the training data; batches assumed equal.
                sizes = [1] * steps
        seen, previous = 0, {}
        for k, (logs, size) in enumerate(zip(self._running, sizes), start=1):
            for key, avg in logs.items():
                if key.startswith("val_") or not self._wanted(key):
                    continue
                prev = previous.get(key, 0.0)
                value = ((seen + size) * avg - seen * prev) / size
                if math.isfinite(value):
                    self._add(epoch, "batch", key, value, batch=k)
            previous = logs
            seen += size
