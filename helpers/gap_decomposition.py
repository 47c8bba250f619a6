"""The result of :func:`helpers.decompose.decompose_gap`: measurements, parts, verdict.

Introduced in ``notebooks/00_start_here.ipynb``. The gap follows the kit's one
sign convention (:mod:`helpers.gap`): what ``fit()`` logged minus what
``evaluate()`` says. A part's *share* is always its size over the summed
sizes of all parts, ``|part| / sum(|parts|)``: a number from 0 to 1 that
stays meaningful when parts cancel (a share "of the gap" would not).
"""

from __future__ import annotations

import html
import math

from helpers import shapley
from helpers.gap import HEADER, gap
from helpers.modes import FAMILIES
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


def subset_name(families) -> str:
    """The source name of a set of families in training mode, e.g. ``"dropout+batchnorm"``.

    Example:
        >>> subset_name({"batchnorm", "dropout"}), subset_name(set())
        ('dropout+batchnorm', 'inference')
    """
    names = [f for f in FAMILIES if f in families]
    return "+".join(names) if names else "inference"


class GapDecomposition:
    """The result of :func:`~helpers.decompose.decompose_gap`.

    Attributes:
        metrics: The metrics decomposed, ``"loss"`` first.
        measured: ``{metric: {source: value}}`` with sources ``"fit"`` (as
            logged), ``"training"`` (end of epoch, training mode),
            ``"inference"`` (= ``evaluate()``) and one per other measured set
            of families in training mode, named by :func:`subset_name`
            (``"dropout"``, ``"dropout+batchnorm"``, …).
        parts: ``{metric: {part: value}}``: ``"drift"``, then ``"dropout"``,
            ``"batchnorm"``, ``"other"`` (only if such layers exist; absent
            families are exactly 0), then, for ``method="alone"`` only,
            ``"interaction"``.
        gap: ``{metric: fit - evaluate}`` (:func:`helpers.gap.gap`).
        method: ``"alone"`` or ``"shapley"``: how the family parts were split.
        families: Layer counts per family, as :func:`~helpers.modes.families_present`.
        passes: Forward passes over the data that the decomposition cost.
        batch_size: The batch size used for the training-mode passes.

    Example:
        >>> r = GapDecomposition(
        ...     {"loss": {"fit": 0.5, "training": 0.45, "inference": 0.3, "dropout": 0.45}},
        ...     {"loss": {"drift": 0.05, "dropout": 0.15, "batchnorm": 0.0, "interaction": 0.0}},
        ...     families={"dropout": 1},
        ...     passes=2,
        ...     batch_size=32,
        ... )
        >>> r.dominant_part("loss"), round(r.gap["loss"], 4), abs(r.residual("loss")) < 1e-12
        ('dropout', 0.2, True)
        >>> r.switched_on("loss") == r.switched_off("loss") == r.shapley("loss")  # one family
        True
    """

    def __init__(self, measured, parts, families, passes, batch_size, method: str = "alone"):
        self.measured, self.parts, self.method = measured, parts, method
        self.metrics = list(measured)
        self.gap = {m: gap(measured[m]["fit"], measured[m]["inference"]) for m in self.metrics}
        self.families, self.passes, self.batch_size = families, passes, batch_size
        self.present = [f for f in FAMILIES if f in families]

    def _check_metric(self, metric: str) -> None:
        if metric not in self.parts:
            raise KeyError(f"metric {metric!r} was not decomposed; available keys: {self.metrics}")

    def values(self, metric: str = "loss") -> dict[frozenset, float]:
        """``{frozenset(families in training mode): value}`` for every measured set."""
        self._check_metric(metric)
        everyone = frozenset(self.present)
        found = {
            everyone: self.measured[metric]["training"],
            frozenset(): self.measured[metric]["inference"],
        }  # equal if no family is present
        for s in shapley.coalitions(self.present):
            if 0 < len(s) < len(everyone) and subset_name(s) in self.measured[metric]:
                found[s] = self.measured[metric][subset_name(s)]
        return found

    def switched_on(self, metric: str = "loss") -> dict[str, float]:
        """Each family switched on alone from inference mode: F_f - I."""
        return shapley.switched_on_alone(self.values(metric), self.present)

    def switched_off(self, metric: str = "loss") -> dict[str, float]:
        """Each family switched off alone from training mode: T - (T without f)."""
        try:
            return shapley.switched_off_alone(self.values(metric), self.present)
        except KeyError:
            raise ValueError(
                "switching one family off from training mode needs the pairs of "
                "families, measured only with method='shapley' when three families "
                "are present"
            ) from None

    def shapley(self, metric: str = "loss") -> dict[str, float]:
        """Each family's Shapley value: its part averaged over every switching order."""
        try:
            return shapley.shapley_values(self.values(metric), self.present)
        except KeyError:
            raise ValueError(
                "Shapley values need every set of families; decompose with method='shapley'"
            ) from None

    def attributions(self, metric: str = "loss") -> Table:
        """One row per family: switched on alone, off alone, and its Shapley value."""
        on, off, fair = self.switched_on(metric), self.switched_off(metric), self.shapley(metric)
        return Table(
            [
                {
                    "family": f,
                    "on alone (from inference)": on[f],
                    "off alone (from training)": off[f],
                    "Shapley": fair[f],
                }
                for f in self.present
            ]
        )

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
        fit, infer, g = (
            self.measured[metric]["fit"],
            self.measured[metric]["inference"],
            self.gap[metric],
        )
        head = (
            f"For {metric}, fit() logged {fit:.4f} and evaluate() gives {infer:.4f} "
            f"(gap = fit − evaluate = {g:+.4f})"
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
                    "fit": self.measured[m]["fit"],
                    "training": self.measured[m]["training"],
                    "inference": self.measured[m]["inference"],
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
