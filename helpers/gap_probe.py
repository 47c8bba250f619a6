"""``GapProbe``: a callback recording what ``fit()`` logged beside what ``evaluate()`` says."""

from __future__ import annotations

import math
import warnings

import numpy as np

from helpers import checks
from helpers.modes import evaluate_batches, make_batches
from helpers.reproducibility import import_keras_quietly
from helpers.table import Table

keras = import_keras_quietly()

SOURCES = ("fit", "batch", "training", "inference", "validation")


class GapProbe(keras.callbacks.Callback):
    """Measure the training data several ways during ``fit()``, leaving the model unchanged.

    Each epoch adds rows to one tidy table (:attr:`table`), by ``source``: ``"fit"`` (as
    logged: the epoch's batches averaged while the weights moved), ``"inference"`` (the
    end-of-epoch weights as ``evaluate()`` sees them), ``"training"`` (the same in training
    mode), ``"batch"`` (each batch's own value, recovered from Keras's running means) and
    ``"validation"`` (any ``val_*`` logged). Epochs count from 1 as in ``fit()``'s progress
    bar; epoch 0 holds the initial weights. :attr:`last` holds the latest end-of-epoch
    measurement; ``log=True`` also writes it into the logs as ``eval_<metric>``, for a later
    callback (``EarlyStopping``, ``ModelCheckpoint``) to watch the weights themselves.

    Args:
        x: The training inputs (or any data to measure on).
        y: The matching targets.
        sample_weight: Optional sample weights. Defaults to None.
        batch_size: ``fit()``'s batch size (BatchNormalization's batch statistics and the
            per-batch bookkeeping depend on it). Defaults to 32.
        metrics: Metric names to record, e.g. ``["loss"]``; None records all.
        training_mode: Also measure in training mode. Defaults to False.
        per_batch: Also record per-batch values. Defaults to False.
        initial: Measure the initial weights as epoch 0. Defaults to True.
        every: Measure every ``every``-th epoch (and always the last): a measured epoch costs
            a forward pass per mode, so ``every=N`` divides the probe's cost by about N.
        subset: Measure a fixed part of ``x``/``y``: an int k (drawn once with seed 0) or an
            array of indices. The values then estimate the whole data's at k/n of the cost.
        log: Write each end-of-epoch inference value into the logs: True as
            ``eval_<metric>``, a string as ``<log><metric>``. Defaults to False.

    Example:
        >>> probe = GapProbe(x_train, y_train, batch_size=64)  # doctest: +SKIP
        >>> model.fit(x_train, y_train, batch_size=64, callbacks=[probe])  # doctest: +SKIP
        >>> probe.wide("accuracy")  # doctest: +SKIP
    """

    def __init__(
        self,
        x,
        y,
        sample_weight=None,
        *,
        batch_size: int = 32,
        metrics=None,
        training_mode: bool = False,
        per_batch: bool = False,
        initial: bool = True,
        every: int = 1,
        subset=None,
        log: bool | str = False,
    ):
        super().__init__()
        checks.backend("GapProbe")
        self._n = checks.samples(x, y, sample_weight)
        checks.positive_int("batch_size", batch_size, example="the batch size passed to fit()")
        if isinstance(metrics, str):
            raise ValueError(f"invalid `metrics`: {metrics!r}; pass a list such as [{metrics!r}]")
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.batch_size = int(batch_size)
        self.metrics = None if metrics is None else list(metrics)
        self.training_mode = bool(training_mode)
        self.per_batch = bool(per_batch)
        self.initial = bool(initial)
        self.every = checks.positive_int("every", every, example="5 (every fifth epoch)")
        self.subset = None if subset is None else _indices(subset, self._n)
        self.log = None if log in (False, None) else _prefix("log", "eval_" if log is True else log)
        if per_batch and sample_weight is not None:
            warnings.warn(
                "per-batch values are recovered assuming unweighted metrics; "
                "with `sample_weight` only the loss is exact",
                stacklevel=2,
            )
        self.rows: list[dict] = []
        self.last: dict[str, dict[str, float]] = {}
        self._data = tuple(_take(d, self.subset) for d in (x, y, sample_weight))  # what is measured
        self._batches = None  # cut from it once, at the first measurement

    # -- Keras hooks ---------------------------------------------------------

    def on_train_begin(self, logs=None):
        checks.compiled(self.model, "GapProbe")
        self.rows, self.last = [], {}
        self._running: list[dict] = []
        self._epoch = self._measured = 0
        if self.initial:
            self._measure(0)

    def on_epoch_begin(self, epoch, logs=None):
        self._running = []
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self.per_batch and logs:
            self._running.append({k: float(v) for k, v in logs.items()})

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs  # the dict fit() passes on: `log` writes into it
        e = epoch + 1
        for key, value in logs.items():
            if key.startswith("val_"):
                if self._wanted(key[4:]):
                    self.record(e, "validation", key[4:], value)
            elif self._wanted(key):
                self.record(e, "fit", key, value)
        if self.per_batch:
            self._add_batches(e)
        if e % self.every == 0 or e == self.params.get("epochs") or self.model.stop_training:
            self._measure(e)
        if self.log is not None and e == self._measured:
            logs.update(
                {self.log + k: v for k, v in self.last["inference"].items() if self._wanted(k)}
            )

    def on_train_end(self, logs=None):
        if self._epoch > self._measured:  # stopped early by a callback after this one
            self._measure(self._epoch)

    # -- results -------------------------------------------------------------

    @property
    def table(self) -> Table:
        """Every measurement: columns epoch, batch, source, metric, value."""
        return Table(self.rows)

    def series(self, metric: str = "loss", source: str = "fit") -> np.ndarray:
        """One metric from one source, in epoch (or batch) order."""
        return np.array([r["value"] for r in self._rows(metric, source)])

    def batches(self, metric: str = "loss", epoch: int | None = None) -> np.ndarray:
        """Each batch's own value of ``metric`` in one epoch (needs ``per_batch=True``).

        Args:
            metric: Which metric. Defaults to ``"loss"``.
            epoch: Which epoch (1-based). Defaults to the last one recorded.
        """
        rows = [r for r in self.rows if r["source"] == "batch" and r["metric"] == metric]
        if not rows:
            raise ValueError(
                f"no per-batch values for {metric!r}; create the probe with per_batch=True"
            )
        epoch = rows[-1]["epoch"] if epoch is None else epoch
        found = np.array([r["value"] for r in rows if r["epoch"] == epoch])
        if not len(found):
            raise ValueError(
                f"no per-batch values for epoch {epoch!r}; epochs recorded: "
                f"{sorted({r['epoch'] for r in rows})}"
            )
        return found

    def epochs(self, metric: str = "loss", source: str = "fit") -> np.ndarray:
        """The epoch numbers matching :meth:`series`."""
        return np.array([r["epoch"] for r in self._rows(metric, source)])

    def wide(self, metric: str = "loss") -> Table:
        """One row per epoch, one column per source, for one metric."""
        self._check_key(metric)
        by_epoch: dict[int, dict] = {}
        for r in self.rows:
            if r["metric"] == metric and r["source"] != "batch":
                by_epoch.setdefault(r["epoch"], {"epoch": r["epoch"]})[r["source"]] = r["value"]
        order = [s for s in SOURCES if any(s in row for row in by_epoch.values())]
        return Table(
            [{"epoch": e, **{s: row.get(s) for s in order}} for e, row in sorted(by_epoch.items())]
        )

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

    def _rows(self, metric: str, source: str) -> list[dict]:
        self._check_key(metric)
        checks.choice("source", source, SOURCES)
        return [r for r in self.rows if r["metric"] == metric and r["source"] == source]

    def _wanted(self, key: str) -> bool:
        return self.metrics is None or key in self.metrics

    def record(
        self, epoch: int, source: str, metric: str, value: float, batch: int | None = None
    ) -> None:
        """Add one measurement to :attr:`table` (``batch``: 1-based, for ``source="batch"``)."""
        checks.choice("source", source, SOURCES)
        self.rows.append(
            {
                "epoch": epoch,
                "batch": batch,
                "source": source,
                "metric": metric,
                "value": float(value),
            }
        )

    def _measure(self, epoch: int) -> None:
        x, y, sample_weight = self._data
        modes = ("inference", "training") if self.training_mode else ("inference",)
        # Cut into batches once; each measurement costs only the forward passes.
        self._batches = self._batches or make_batches(
            x, y, sample_weight, batch_size=self.batch_size
        )
        result = {mode: evaluate_batches(self.model, self._batches, mode=mode) for mode in modes}
        self._measured = epoch
        inference = result["inference"]
        if self.metrics is not None:
            missing = [m for m in self.metrics if m not in inference]
            if missing:
                # Raised at the first measurement, before any training is lost.
                raise ValueError(
                    f"GapProbe cannot record metric {missing[0]!r}; the model's available "
                    f"keys are {sorted(inference)}. Fix `metrics=` or compile the model with it."
                )
        self.last = {source: dict(values) for source, values in result.items()}
        for source in modes:
            for key, value in result[source].items():
                if self._wanted(key):
                    self.record(epoch, source, key, value)

    def _add_batches(self, epoch: int) -> None:
        """Keras logs A_k = (size-weighted sum of batch values) / N_k after batch k, so batch
        k's own value is (N_k A_k - N_{k-1} A_{k-1}) / b_k."""
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
                    self.record(epoch, "batch", key, value, batch=k)
            previous = logs
            seen += size


def _prefix(name: str, prefix) -> str:
    if not isinstance(prefix, str) or not prefix or prefix == "val_":
        raise ValueError(
            f"invalid `{name}`: {prefix!r}; expected True or a prefix such as 'eval_' "
            "('val_' would pass training data off as validation data)"
        )
    return prefix


def _indices(subset, n: int) -> np.ndarray:
    """``subset=`` as sorted sample indices: k drawn once with seed 0, or the indices given."""
    example = f"{min(n, 1000)}, or sample indices such as np.arange(0, {n}, 10)"
    if not isinstance(subset, (list, tuple, np.ndarray)):
        k = checks.integer("subset", subset, low=1, high=n, example=example)
        return np.sort(np.random.default_rng(0).choice(n, size=k, replace=False))
    indices = np.asarray(subset)
    if indices.ndim != 1 or not len(indices) or indices.dtype.kind not in "iu":
        checks.integer(
            "subset", subset, low=1, high=n, example=example
        )  # raises, in the usual words
    for i in (indices.min(), indices.max()):
        checks.integer("subset index", int(i), low=0, high=n - 1, example="an index into x")
    return indices


def _take(data, indices):
    if data is None or indices is None:
        return data
    return keras.tree.map_structure(lambda a: np.asarray(a)[indices], data)
