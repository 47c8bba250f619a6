"""Split the gap between ``fit()``'s logged numbers and ``evaluate()`` into causes.

With L the last epoch's logged value, T the end-of-epoch value in training mode, I the same in
inference mode (``evaluate()``) and v(S) the value with only the families S in training mode::

    L - I  =  (L - T)      drift: the weights moving during the epoch
            + (T - I)      the layer families: each v({f}) - I plus an interaction remainder
                           (method="alone"), or each family's Shapley value (method="shapley")

Drift is measured in training mode because the epoch's intermediate weights no longer exist.
"""

from __future__ import annotations

import html
import itertools
import math
import warnings
from collections.abc import Iterable, Mapping

import numpy as np

from helpers import checks
from helpers.gap import HEADER, gap
from helpers.modes import FAMILIES, evaluate_batches, families_present, make_batches
from helpers.table import Table

METHODS = ("alone", "shapley")
DESCRIPTIONS = {
    "drift": "the weights moving during the epoch (fit() averages its batches while training; "
    "evaluate() sees only the final weights)",
    "dropout": "Dropout and noise layers, active during fit() and off in evaluate()",
    "batchnorm": "BatchNormalization normalising with each batch's statistics during fit() "
    "instead of its moving averages",
    "other": "other training-mode layers (recurrent dropout, augmentation, custom layers)",
    "interaction": "the layer families acting together (their joint effect beyond each alone)",
}


def shapley_values(value: Mapping, players: Iterable[str]) -> dict[str, float]:
    """Each player's Shapley value of the game ``value`` (a dict over every subset).

    phi_p = sum over S not holding p of |S|! (n-|S|-1)! / n! (v(S + p) - v(S)); summed by
    :func:`math.fsum`, so the result does not depend on the order of ``players``, to the bit.

    Args:
        value: ``{frozenset(players): number}`` for every subset.
        players: The names, e.g. ``["dropout", "batchnorm"]``.

    Returns:
        ``{player: part}``, in the order given.

    Example:
        >>> v = {frozenset(): 0.0, frozenset("a"): 1.0, frozenset("b"): 2.0, frozenset("ab"): 5.0}
        >>> shapley_values(v, "ab")
        {'a': 2.0, 'b': 3.0}
    """
    players = list(players)
    n, parts = len(players), {}
    for p in players:
        others = [q for q in players if q != p]
        terms = [
            math.factorial(k)
            * math.factorial(n - k - 1)
            / math.factorial(n)
            * (value[frozenset(c) | {p}] - value[frozenset(c)])
            for k in range(n)
            for c in itertools.combinations(others, k)
        ]
        parts[p] = math.fsum(terms)
    return parts


def _subset_name(families) -> str:
    """The source name of a set of families in training mode, e.g. ``"dropout+batchnorm"``."""
    names = [f for f in FAMILIES if f in families]
    return "+".join(names) if names else "inference"


def decompose_gap(
    model,
    x=None,
    y=None,
    sample_weight=None,
    *,
    probe=None,
    history=None,
    batch_size: int | None = None,
    metrics: list[str] | None = None,
    method: str = "alone",
) -> GapDecomposition:
    """Split ``fit()``'s last logged values minus ``evaluate()``'s into causes.

    Call it right after ``fit()`` on the training data, with the :class:`~helpers.GapProbe`
    attached to ``fit()`` or the history it returned. One forward pass per set of families in
    training mode (1 without such layers, 2 with one family, 4 with two; with three, 5 for
    ``"alone"`` and 8 for ``"shapley"``); absent families are exactly 0. The model is unchanged.

    Args:
        model: A compiled Keras model (Sequential, Functional, nested).
        x, y, sample_weight: The training data given to ``fit()``. Default to the probe's.
        probe: A :class:`~helpers.GapProbe` that went through ``fit()``.
        history: What ``fit()`` returned, its ``.history``, or a logs dict; or ``probe``.
        batch_size: ``fit()``'s batch size. Defaults to the probe's, else 32.
        metrics: Which metrics, e.g. ``["loss"]``. Defaults to every metric both logged
            and compiled.
        method: ``"alone"`` or ``"shapley"``. Defaults to ``"alone"``.

    Returns:
        A :class:`GapDecomposition`.

    Example:
        >>> history = model.fit(x, y, batch_size=32, epochs=5)  # doctest: +SKIP
        >>> decompose_gap(model, x, y, history=history, method="shapley").dominant  # doctest: +SKIP
    """
    checks.compiled(model, "decompose_gap()")
    checks.backend("decompose_gap()")
    method = checks.choice("method", method, METHODS)
    logged, params = _logged_values(probe, history)
    origin = "probe" if probe is not None else "history"
    if probe is not None:
        if probe.model is not model:
            raise ValueError(
                f"`probe` was attached to model {getattr(probe.model, 'name', None)!r}, "
                f"not to {model.name!r}; pass the model it measured"
            )
        x = probe.x if x is None else x
        y = probe.y if y is None else y
        sample_weight = probe.sample_weight if sample_weight is None else sample_weight
        batch_size = probe.batch_size if batch_size is None else batch_size
    if x is None or y is None:
        raise ValueError(
            "`x` and `y` are required with `history=`: pass the training data "
            "given to fit(), e.g. decompose_gap(model, x_train, y_train, history=h)"
        )
    batch_size = 32 if batch_size is None else batch_size
    batch_size = checks.positive_int(
        "batch_size", batch_size, example="the batch size passed to fit()"
    )
    n = checks.samples(x, y, sample_weight)
    steps = (params or {}).get("steps")
    if steps and steps != math.ceil(n / batch_size):
        warnings.warn(
            f"fit() ran {steps} steps per epoch but {n} samples in batches of "
            f"{batch_size} make {math.ceil(n / batch_size)}: pass the training data and "
            "fit()'s `batch_size=` (the parts assume both)",
            stacklevel=2,
        )

    batches = make_batches(x, y, sample_weight, batch_size=batch_size)  # measured in every mode
    inference = evaluate_batches(model, batches, mode="inference")
    chosen = _choose_metrics(metrics, list(inference), logged, origin)
    same_data = (
        probe is not None
        and x is probe.x
        and y is probe.y
        and sample_weight is probe.sample_weight
        and getattr(probe, "subset", None) is None
    )  # a probe on a subset measured other data
    if same_data:
        _warn_if_changed(probe, inference, chosen)
    families = families_present(model)
    present = [f for f in FAMILIES if f in families]
    everyone = frozenset(present)
    measured_sets = {frozenset(): inference}
    if present:  # without such layers training mode *is* inference mode: no pass needed
        measured_sets[everyone] = evaluate_batches(model, batches, mode="training")
    for k in range(1, len(present)):
        for c in itertools.combinations(present, k):
            if method == "shapley" or k == 1:
                measured_sets[frozenset(c)] = evaluate_batches(model, batches, mode=set(c))
    for result in measured_sets.values():
        missing = [m for m in chosen if m not in result]
        if missing:  # Keras names metrics differently in its own evaluate() loop
            raise ValueError(
                f"metric {missing[0]!r} is reported by evaluate() but not by the "
                f"training-mode pass ({sorted(result)}); pass `metrics=` without it"
            )

    measured, parts = {}, {}
    for m in chosen:
        values = {s: result[m] for s, result in measured_sets.items()}
        L, T, I = logged[m], values[everyone], inference[m]
        measured[m] = {
            "fit": L,
            "training": T,
            "inference": I,
            **{
                _subset_name(s): v
                for s, v in values.items()
                if len(s) == 1 or 0 < len(s) < len(present)
            },
        }
        if method == "shapley":
            split = shapley_values(values, present)
        else:
            split = {f: values[frozenset([f])] - I for f in present}
        split = {f: split.get(f, 0.0) for f in FAMILIES if f != "other" or f in present}
        parts[m] = {"drift": L - T, **split}
        if method == "alone":
            parts[m]["interaction"] = (
                (T - I) - math.fsum(split.values()) if len(present) > 1 else 0.0
            )
    return GapDecomposition(
        measured, parts, families, len(measured_sets), batch_size, method=method
    )


def _logged_values(probe, history) -> tuple[dict[str, float], dict | None]:
    """The last epoch's logged values and fit()'s params, from a probe or a history."""
    if (probe is None) == (history is None):
        raise ValueError(
            "pass exactly one of `probe=` (a GapProbe attached to fit()) or "
            "`history=` (what fit() returned, its .history dict, or a logs dict)"
        )
    if probe is not None:
        rows = [r for r in getattr(probe, "rows", ()) if r["source"] == "fit"]
        if not rows:
            raise ValueError(
                f"`probe` {probe!r} has recorded no fit() values; attach it with "
                "`model.fit(..., callbacks=[probe])` before decomposing"
            )
        last = max(r["epoch"] for r in rows)
        return {r["metric"]: r["value"] for r in rows if r["epoch"] == last}, probe.params
    params = getattr(history, "params", None)
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError(
            f"invalid `history`: {history!r}; expected the History returned by "
            "fit(), its .history dict, or a logs dict such as {'loss': 0.3}"
        )
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
            raise ValueError(
                f"the {origin} logged none of the model's metrics {sorted(measured_keys)}; "
                f"it logged {sorted(logged)}"
            )
        return sorted(available, key=lambda k: (k != "loss", list(measured_keys).index(k)))
    if isinstance(metrics, str):
        raise ValueError(f"invalid `metrics`: {metrics!r}; pass a list such as [{metrics!r}]")
    for m in metrics:
        if m not in measured_keys:
            raise ValueError(
                f"metric {m!r} does not exist for this model; available keys: "
                f"{sorted(measured_keys)}"
            )
        if m not in logged:
            raise ValueError(
                f"the {origin} has no value for metric {m!r}; it logged {sorted(logged)}"
            )
    return list(metrics)


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
                "load_weights; the drift part includes that change",
                stacklevel=3,
            )
            return


class GapDecomposition:
    """The result of :func:`decompose_gap`: measurements, parts, verdict.

    A part's *share* is its size over the summed sizes of all parts, which stays meaningful
    when parts cancel (a share "of the gap" would not).

    Attributes:
        metrics: The metrics decomposed, ``"loss"`` first.
        measured: ``{metric: {source: value}}``: ``"fit"``, ``"training"``, ``"inference"``
            (= ``evaluate()``), and each other measured set of families (``"dropout"``, …).
        parts: ``{metric: {part: value}}``: ``"drift"``, ``"dropout"``, ``"batchnorm"``,
            ``"other"`` (only if present), and ``"interaction"`` for ``method="alone"``.
        gap: ``{metric: fit - evaluate}`` (:func:`helpers.gap`).
        method: ``"alone"`` or ``"shapley"``.
        families: Layer counts per family; passes: forward passes it cost; batch_size.
    """

    def __init__(self, measured, parts, families, passes, batch_size, method: str = "alone"):
        self.measured, self.parts, self.method = measured, parts, method
        self.metrics = list(measured)
        self.gap = {m: gap(measured[m]["fit"], measured[m]["inference"]) for m in self.metrics}
        self.families, self.passes, self.batch_size = families, passes, batch_size

    def _check_metric(self, metric: str) -> None:
        if metric not in self.parts:
            raise KeyError(f"metric {metric!r} was not decomposed; available keys: {self.metrics}")

    def residual(self, metric: str = "loss") -> float:
        """The gap minus the sum of the parts: zero up to float rounding."""
        self._check_metric(metric)
        return self.gap[metric] - math.fsum(self.parts[metric].values())

    def shares(self, metric: str = "loss") -> dict[str, float | None]:
        """Each part's size over the summed sizes of all parts (None if all are 0)."""
        self._check_metric(metric)
        size = math.fsum(abs(v) for v in self.parts[metric].values())
        return {p: (abs(v) / size if size > 1e-12 else None) for p, v in self.parts[metric].items()}

    def dominant_part(self, metric: str = "loss") -> str:
        """The name of the part largest in size, e.g. ``"dropout"``."""
        self._check_metric(metric)
        return max(self.parts[metric].items(), key=lambda kv: abs(kv[1]))[0]

    def explain(self, metric: str = "loss") -> str:
        """One sentence: the gap for ``metric`` and which part dominates it."""
        self._check_metric(metric)
        fit, infer = self.measured[metric]["fit"], self.measured[metric]["inference"]
        head = (
            f"For {metric}, fit() logged {fit:.4f} and evaluate() gives {infer:.4f} "
            f"(gap = fit − evaluate = {self.gap[metric]:+.4f})"
        )
        if math.fsum(abs(v) for v in self.parts[metric].values()) < 1e-7:
            return head + "; no part contributes: the two agree."
        part = self.dominant_part(metric)
        value, share = self.parts[metric][part], self.shares(metric)[part]
        how = " (Shapley split)" if self.method == "shapley" else ""
        return (
            f"{head}; the largest part{how}, {value:+.4f} ({share:.0%} of all parts by size), "
            f"comes from {DESCRIPTIONS[part]}."
        )

    @property
    def dominant(self) -> str:
        """:meth:`explain` for the first metric (the loss, when decomposed)."""
        return self.explain(self.metrics[0])

    @property
    def table(self) -> Table:
        """Tidy parts: one row per metric and part, with its share of all parts by size."""
        return Table(
            [
                {"metric": m, "part": part, "value": value, "share": self.shares(m)[part]}
                for m in self.metrics
                for part, value in self.parts[m].items()
            ]
        )

    def wide(self) -> Table:
        """One row per metric: the three measurements, the gap and its parts."""
        return Table(
            [
                {
                    "metric": m,
                    **{s: self.measured[m][s] for s in ("fit", "training", "inference")},
                    HEADER: self.gap[m],
                    **self.parts[m],
                }
                for m in self.metrics
            ]
        )

    def __repr__(self) -> str:
        return f"{self.wide()}\n" + "\n".join(self.explain(m) for m in self.metrics)

    def _repr_html_(self) -> str:
        sentences = "".join(f"<li>{html.escape(self.explain(m))}</li>" for m in self.metrics)
        return f"{self.wide()._repr_html_()}<ul>{sentences}</ul>"
