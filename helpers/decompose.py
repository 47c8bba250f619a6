"""Split the gap between ``fit()``'s logged numbers and ``evaluate()`` into causes.

Introduced in ``notebooks/00_start_here.ipynb`` ("bring your own model") and
quoted in each scenario notebook's summary. For every compiled metric and the
loss, with L the value ``fit()`` logged for the last epoch, T the end-of-epoch
value with every layer in training mode, I the end-of-epoch value in inference
mode (what ``evaluate()`` returns) and F_f the value with only family f in
training mode::

    L - I  =  (L - T)                       drift: weights moving during the epoch
            + sum_f (F_f - I)                each family switched on alone
            + (T - I - sum_f (F_f - I))      interaction between families

The identity telescopes, so the parts sum to the gap exactly (up to float
rounding). Every measurement goes through :func:`helpers.modes.evaluate_in_mode`,
which restores the model bit for bit.
"""

from __future__ import annotations

import html
import math
import time
import warnings
from collections.abc import Mapping

import numpy as np

from helpers import checks
from helpers.modes import FAMILIES, evaluate_in_mode, families_present
from helpers.table import Table

PARTS = ("drift",) + FAMILIES + ("interaction",)
DESCRIPTIONS = {
    "drift": "the weights moving during the epoch (fit() averages its batches while training; "
             "evaluate() sees only the final weights)",
    "dropout": "Dropout and noise layers, active during fit() and off in evaluate()",
    "batchnorm": "BatchNormalization normalising with each batch's statistics during fit() "
                 "instead of its moving averages",
    "other": "other training-mode layers (recurrent dropout, augmentation, custom layers)",
    "interaction": "the layer families acting together (their joint effect beyond each alone)",
}


class GapDecomposition:
    """The result of :func:`decompose_gap`: measurements, parts and a verdict.

    Attributes:
        metrics: The metrics decomposed, ``"loss"`` first.
        measured: ``{metric: {source: value}}`` with sources ``"fit"`` (as
            logged), ``"training"`` (end of epoch, training mode),
            ``"inference"`` (= ``evaluate()``) and one per family present,
            measured with that family alone in training mode.
        parts: ``{metric: {part: value}}`` with parts ``"drift"``,
            ``"dropout"``, ``"batchnorm"``, ``"other"`` (only if such layers
            exist) and ``"interaction"``; absent families are exactly 0.
        gap: ``{metric: fit - inference}``.
        families: Layer counts per family, as :func:`~helpers.modes.families_present`.
        passes: Forward passes over the data that the decomposition cost.
        batch_size: The batch size used for the training-mode passes.

    Example:
        >>> r = GapDecomposition(
        ...     {"loss": {"fit": 0.5, "training": 0.45, "inference": 0.3, "dropout": 0.45}},
        ...     {"loss": {"drift": 0.05, "dropout": 0.15, "batchnorm": 0.0, "interaction": 0.0}},
        ...     families={"dropout": 1}, passes=2, batch_size=32)
        >>> r.dominant_part("loss"), round(r.gap["loss"], 4), abs(r.residual("loss")) < 1e-12
        ('dropout', 0.2, True)
    """

    def __init__(self, measured, parts, families, passes, batch_size):
        self.measured, self.parts = measured, parts
        self.metrics = list(measured)
        self.gap = {m: measured[m]["fit"] - measured[m]["inference"] for m in self.metrics}
        self.families, self.passes, self.batch_size = families, passes, batch_size

    def _check_metric(self, metric: str) -> None:
        if metric not in self.parts:
            raise KeyError(f"metric {metric!r} was not decomposed; available keys: {self.metrics}")

    def residual(self, metric: str = "loss") -> float:
        """The gap minus the sum of the parts: zero up to float rounding."""
        self._check_metric(metric)
        return self.gap[metric] - math.fsum(self.parts[metric].values())

    def dominant_part(self, metric: str = "loss") -> str:
        """The name of the part largest in size, e.g. ``"dropout"``."""
        self._check_metric(metric)
        return max(self.parts[metric].items(), key=lambda kv: abs(kv[1]))[0]

    def explain(self, metric: str = "loss") -> str:
        """One sentence: the gap for ``metric`` and which part dominates it."""
        self._check_metric(metric)
        fit, infer, gap = self.measured[metric]["fit"], self.measured[metric]["inference"], self.gap[metric]
        head = f"For {metric}, fit() logged {fit:.4f} and evaluate() gives {infer:.4f} (gap {gap:+.4f})"
        size = math.fsum(abs(v) for v in self.parts[metric].values())
        if size < 1e-7:
            return head + "; no part contributes: the two agree."
        part = self.dominant_part(metric)
        value = self.parts[metric][part]
        share = abs(value) / size
        return (f"{head}; the largest part, {value:+.4f} ({share:.0%} of all parts by size), "
                f"comes from {DESCRIPTIONS[part]}.")

    @property
    def dominant(self) -> str:
        """:meth:`explain` for the first metric (the loss, when decomposed)."""
        return self.explain(self.metrics[0])

    @property
    def table(self) -> Table:
        """Tidy parts: one row per metric and part, with its share of the gap."""
        rows = []
        for m in self.metrics:
            gap = self.gap[m]
            for part, value in self.parts[m].items():
                share = value / gap if abs(gap) > 1e-12 else None
                rows.append({"metric": m, "part": part, "value": value, "share": share})
        return Table(rows)

    def wide(self) -> Table:
        """One row per metric: the three measurements, the gap and its parts."""
        return Table([{"metric": m, "fit": self.measured[m]["fit"],
                       "training": self.measured[m]["training"],
                       "inference": self.measured[m]["inference"], "gap": self.gap[m],
                       **self.parts[m]} for m in self.metrics])

    def __repr__(self) -> str:
        return f"{self.wide()}\n" + "\n".join(self.explain(m) for m in self.metrics)

    def _repr_html_(self) -> str:
        sentences = "".join(f"<li>{html.escape(self.explain(m))}</li>" for m in self.metrics)
        return f"{self.wide()._repr_html_()}<ul>{sentences}</ul>"


def _logged_values(probe, history) -> tuple[dict[str, float], dict | None]:
    """The last epoch's logged values and fit()'s params, from a probe or a history."""
    if (probe is None) == (history is None):
        raise ValueError("pass exactly one of `probe=` (a GapProbe attached to fit()) or "
                         "`history=` (what fit() returned, its .history dict, or a logs dict)")
    if probe is not None:
        rows = [r for r in getattr(probe, "rows", ()) if r["source"] == "fit"]
        if not rows:
            raise ValueError(f"`probe` {probe!r} has recorded no fit() values; attach it with "
                             "`model.fit(..., callbacks=[probe])` before decomposing")
        last = max(r["epoch"] for r in rows)
        return {r["metric"]: r["value"] for r in rows if r["epoch"] == last}, probe.params
    params = getattr(history, "params", None)
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError(f"invalid `history`: {history!r}; expected the History returned by "
                         "fit(), its .history dict, or a logs dict such as {'loss': 0.3}")
    values = {}
    for key, value in logs.items():
        if np.ndim(value):  # a list per epoch, as in History.history: take the last epoch
            value = np.ravel(value)[-1] if np.size(value) else math.nan
        if not key.startswith("val_"):
            values[key] = float(value)
    return values, params


def _choose_metrics(metrics, measured_keys, logged, origin) -> list[str]:
    available = [k for k in measured_keys if k in logged]
    if metrics is None:
        if not available:
            raise ValueError(f"the {origin} logged none of the model's metrics {sorted(measured_keys)}; "
                             f"it logged {sorted(logged)}")
        return sorted(available, key=lambda k: (k != "loss", list(measured_keys).index(k)))
    if isinstance(metrics, str):
        raise ValueError(f"invalid `metrics`: {metrics!r}; pass a list such as [{metrics!r}]")
    for m in metrics:
        if m not in measured_keys:
            raise ValueError(f"metric {m!r} does not exist for this model; available keys: "
                             f"{sorted(measured_keys)}")
        if m not in logged:
            raise ValueError(f"the {origin} has no value for metric {m!r}; it logged "
                             f"{sorted(logged)}")
    return list(metrics)


def decompose_gap(model, x=None, y=None, sample_weight=None, *, probe=None, history=None,
                  batch_size: int | None = None, metrics=None) -> GapDecomposition:
    """Split ``fit()``'s last logged values minus ``evaluate()``'s into causes.

    Call it right after ``fit()``, on the training data, with either the
    :class:`~helpers.GapProbe` that was attached to ``fit()`` or the history
    it returned. The end-of-epoch values are measured now, once per mode
    (inference, all of training mode, each layer family alone); families the
    model lacks cost nothing and their parts are exactly 0. One draw of the
    dropout masks is used, the same on every call. The model is not changed:
    weights, BatchNorm statistics and seed states are restored bit for bit.

    The drift part is "logged minus end-of-epoch training mode": the weights
    moving during the epoch, plus the difference between that epoch's own
    random masks and shuffled batches and the ones measured here.

    Args:
        model: A compiled Keras model (Sequential, Functional, nested).
        x: The training inputs. Defaults to the probe's ``x``.
        y: The training targets. Defaults to the probe's ``y``.
        sample_weight: Sample weights as passed to ``fit()``. Defaults to
            the probe's, or None.
        probe: A :class:`~helpers.GapProbe` that went through ``fit()``.
        history: What ``fit()`` returned, its ``.history`` dict, or a logs
            dict from a callback. Pass this or ``probe``, not both.
        batch_size: The batch size of ``fit()`` (BatchNormalization's batch
            statistics depend on it). Defaults to the probe's, else 32.
        metrics: Which metrics, e.g. ``["loss"]``. Defaults to every metric
            both logged and compiled.

    Returns:
        A :class:`GapDecomposition`.

    Raises:
        ValueError: for an uncompiled model, missing or mismatched data, a
            metric that does not exist or was not logged, a bad batch size.

    Example:
        >>> history = model.fit(x, y, batch_size=32, epochs=5)  # doctest: +SKIP
        >>> decompose_gap(model, x, y, history=history).dominant  # doctest: +SKIP
    """
    checks.compiled(model, "decompose_gap()")
    logged, params = _logged_values(probe, history)
    origin = "probe" if probe is not None else "history"
    if probe is not None:
        if probe.model is not model:
            raise ValueError(f"`probe` was attached to model {getattr(probe.model, 'name', None)!r}, "
                             f"not to {model.name!r}; pass the model it measured")
        x = probe.x if x is None else x
        y = probe.y if y is None else y
        sample_weight = probe.sample_weight if sample_weight is None else sample_weight
        batch_size = probe.batch_size if batch_size is None else batch_size
    if x is None or y is None:
        raise ValueError("`x` and `y` are required with `history=`: pass the training data "
                         "given to fit(), e.g. decompose_gap(model, x_train, y_train, history=h)")
    batch_size = 32 if batch_size is None else batch_size
    batch_size = checks.positive_int("batch_size", batch_size, example="the batch size passed to fit()")
    n = checks.samples(x, y, sample_weight)
    steps = (params or {}).get("steps")
    if steps and steps != math.ceil(n / batch_size):
        warnings.warn(f"fit() ran {steps} steps per epoch but {n} samples in batches of "
                      f"{batch_size} make {math.ceil(n / batch_size)}: pass the training data and "
                      "fit()'s `batch_size=` (the parts assume both)", stacklevel=2)

    kw = dict(sample_weight=sample_weight, batch_size=batch_size)
    inference = evaluate_in_mode(model, x, y, mode="inference", **kw)
    chosen = _choose_metrics(metrics, list(inference), logged, origin)
    same_data = probe is not None and x is probe.x and y is probe.y and sample_weight is probe.sample_weight
    if same_data:
        _warn_if_changed(probe, inference, chosen)  # comparable only on the probe's own data
    families = families_present(model)
    present = [f for f in FAMILIES if f in families]
    passes = 1
    if not present:
        training = inference  # no layer acts differently in training mode
    else:
        training = evaluate_in_mode(model, x, y, mode="training", **kw)
        passes += 1
    alone = {}
    for family in present:
        if len(present) == 1:
            alone[family] = training  # switching the only family on *is* training mode
        else:
            alone[family] = evaluate_in_mode(model, x, y, mode={family}, **kw)
            passes += 1

    for result in [training, *alone.values()]:
        missing = [m for m in chosen if m not in result]
        if missing:  # Keras names metrics differently in its own evaluate() loop
            raise ValueError(f"metric {missing[0]!r} is reported by evaluate() but not by the "
                             f"training-mode pass ({sorted(result)}); pass `metrics=` without it")
    measured, parts = {}, {}
    for m in chosen:
        L, T, I = logged[m], training[m], inference[m]
        measured[m] = {"fit": L, "training": T, "inference": I, **{f: alone[f][m] for f in present}}
        split = {f: (alone[f][m] - I if f in present else 0.0) for f in FAMILIES
                 if f != "other" or f in present}
        interaction = (T - I) - math.fsum(split.values()) if len(present) > 1 else 0.0
        parts[m] = {"drift": L - T, **split, "interaction": interaction}
    return GapDecomposition(measured, parts, families, passes, batch_size)


def _warn_if_changed(probe, inference, metrics) -> None:
    """Warn when the model is no longer at the end of the probe's last epoch."""
    rows = [r for r in probe.rows if r["source"] == "inference" and r["metric"] in metrics]
    if not rows:
        return
    last = max(r["epoch"] for r in rows)
    for r in rows:
        now = inference[r["metric"]]
        if r["epoch"] == last and not math.isclose(now, r["value"], rel_tol=1e-5, abs_tol=1e-6):
            warnings.warn(
                f"the model has changed since the probe's last epoch ({r['metric']} in inference "
                f"mode was {r['value']:.6f}, now {now:.6f}), e.g. by restore_best_weights or "
                "load_weights; the drift part includes that change", stacklevel=3)
            return


def measure_cost(n_train: int = 3000, *, batch_size: int = 64, repeats: int = 2) -> dict:
    """Time :func:`decompose_gap` against one training epoch of the MNIST CNN.

    Trains :func:`helpers.models.build_mnist_cnn` on ``n_train`` shipped
    digits for one warm-up epoch (TensorFlow traces its graphs then), then
    times ``repeats`` further single epochs and ``repeats`` decompositions
    and keeps the fastest of each. Called by ``tools/bench.py``.

    Args:
        n_train: Training digits (up to 4,500 shipped). Defaults to 3000.
        batch_size: fit()'s batch size. Defaults to 64.
        repeats: Timed repetitions of each. Defaults to 2.

    Returns:
        A dict with ``epoch_s``, ``decompose_s``, ``ratio`` (decomposition
        seconds per epoch second), ``first_decompose_s`` (including one-off
        tracing), ``passes`` and the settings.
    """
    from helpers.data import load_mnist
    from helpers.models import build_mnist_cnn, keras

    (x, y), _ = load_mnist(n_train=n_train)
    x, y = x[..., None].astype("float32") / 255, keras.utils.to_categorical(y, 10)
    model = build_mnist_cnn()
    history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    epoch_s, decompose_s, first = [], [], None
    for _ in range(repeats):
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        epoch_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = decompose_gap(model, x, y, history=history, batch_size=batch_size)
        decompose_s.append(time.perf_counter() - start)
        first = decompose_s[0] if first is None else first
    return {"model": model.name, "n_train": n_train, "batch_size": batch_size,
            "passes": result.passes, "epoch_s": min(epoch_s), "decompose_s": min(decompose_s),
            "first_decompose_s": first, "ratio": min(decompose_s) / min(epoch_s)}
