"""The doctor's report: every cause, present or not, with its size, evidence and fix.

Introduced in ``notebooks/06_the_doctor.ipynb``. A :class:`Diagnosis` shows
as a table in a notebook (``_repr_html_``) and as plain text in a terminal
(``str``), the present causes first, largest first, then the absent ones and
the ones that could not be measured (saying what they need), then the two
remainders: ``interaction`` and ``unexplained``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from helpers.doctor.causes import CAUSES, REMAINDERS

STATUSES = ("present", "absent", "needs history", "needs validation_data")


@dataclass
class Finding:
    """What the doctor found about one cause.

    Attributes:
        cause: A key of :data:`CAUSES` or :data:`REMAINDERS`.
        status: One of :data:`STATUSES`.
        sizes: ``{metric: size}`` with the kit's sign (NaN when not measured).
        floors: ``{metric: noise floor}``: a size must exceed it to count.
        evidence: What was measured, in one or two sentences.
    """

    cause: str
    status: str
    sizes: dict
    floors: dict
    evidence: str

    @property
    def present(self) -> bool:
        return self.status == "present"


class Diagnosis:
    """Every cause of a gap between ``fit()``, ``evaluate()`` and ``predict()`` on one model.

    Attributes:
        findings: ``{cause: Finding}`` for every cause and both remainders.
        metrics: The metrics measured, ``"loss"`` first.
        logged: ``{metric: value}`` ``fit()`` logged for its last epoch, or None.
        evaluated: ``{metric: value}`` as ``evaluate()`` reports it on ``x``.
        gap: ``{metric: logged − evaluated}``, or None without a history.
        passes: The cost, in forward passes over ``x``.
        model_name: The model's name.
    """

    def __init__(self, findings, metrics, logged, evaluated, passes, model_name="model"):
        self.findings = dict(findings)
        self.metrics = list(metrics)
        self.logged = logged
        self.evaluated = evaluated
        self.gap = None if logged is None else {m: logged[m] - evaluated[m] for m in self.metrics}
        self.passes = passes
        self.model_name = model_name

    @property
    def present(self) -> list[str]:
        """The causes found, largest first (``unexplained`` too, when it is above its floor)."""
        return [f.cause for f in self._ordered() if f.present and f.cause != "interaction"]

    def size(self, cause: str, metric: str = "loss") -> float:
        """The measured size of ``cause`` in ``metric`` (NaN when it could not be measured).

        Raises:
            ValueError: for a cause outside the vocabulary or a metric not measured.
        """
        if cause not in self.findings:
            raise ValueError(
                f"invalid `cause`: {cause!r}; expected one of {list(CAUSES) + list(REMAINDERS)}"
            )
        if metric not in self.metrics:
            raise ValueError(f"invalid `metric`: {metric!r}; expected one of {self.metrics}")
        return float(self.findings[cause].sizes.get(metric, math.nan))

    def explained(self, metric: str = "loss") -> float:
        """The sum of the parts of ``fit() − evaluate()``: equals the gap by construction."""
        return math.fsum(
            self.size(name, metric)
            for name in list(CAUSES) + list(REMAINDERS)
            if (CAUSES.get(name) or REMAINDERS[name]).in_gap
            and not math.isnan(self.size(name, metric))
        )

    def _key(self, finding) -> float:
        metric = self.metrics[0]
        value = finding.sizes.get(metric, math.nan)
        if math.isnan(value) or not finding.floors.get(metric, 0) < abs(value):
            # not visible in the first metric: rank by the largest size relative to its floor
            value = max(
                (abs(v) for m, v in finding.sizes.items() if not math.isnan(v)), default=0.0
            )
        return -abs(value)

    def _ordered(self) -> list[Finding]:
        causes = [self.findings[c] for c in CAUSES]
        present = sorted((f for f in causes if f.present), key=self._key)
        rank = {s: i for i, s in enumerate(STATUSES)}
        rest = sorted((f for f in causes if not f.present), key=lambda f: rank[f.status])
        return present + rest + [self.findings[r] for r in REMAINDERS]

    def rows(self) -> list[dict]:
        """One dict per row of the report, in the report's order."""
        out = []
        for f in self._ordered():
            info = CAUSES.get(f.cause) or REMAINDERS[f.cause]
            row = {"cause": f.cause, "verdict": f.status}
            row.update({m: f.sizes.get(m, math.nan) for m in self.metrics})
            row.update(
                compares=info.compares, evidence=f.evidence, fix=info.fix, notebook=info.notebook
            )
            out.append(row)
        return out

    def _summary(self) -> str:
        found = ", ".join(self.present) or "no cause beyond noise"
        parts = [f"Diagnosis of {self.model_name!r}: {found}."]
        if self.gap is not None:
            gaps = ", ".join(f"{m} {self.gap[m]:+.4f}" for m in self.metrics)
            parts.append(f"gap (fit − evaluate): {gaps}; the in-gap rows sum to it.")
        else:
            parts.append("No history given: the gap itself and drift are not measured.")
        parts.append(f"Cost: {self.passes:.1f} forward passes over x.")
        return " ".join(parts)

    def __str__(self) -> str:
        rows = self.rows()
        head = ["cause", "verdict", *self.metrics]
        cells = [[r["cause"], r["verdict"], *(_fmt(r[m]) for m in self.metrics)] for r in rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]

        def line(values):
            return "  ".join(
                v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths))
            ).rstrip()

        out = [self._summary(), "", line(head)]
        for row, cell in zip(rows, cells):
            out.append(line(cell))
            if row["verdict"] == "present" or row["cause"] == "unexplained":
                out.append(f"    size = {row['compares']}")
                out.append(f"    evidence: {row['evidence']}")
                out.append(f"    fix: {row['fix']} ({row['notebook']})")
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = ["cause", "verdict", *self.metrics, "evidence", "fix"]
        body = []
        for r in self.rows():
            weight = "bold" if r["verdict"] == "present" else "normal"
            cells = [
                f'<td style="font-weight:{weight}" title="{html.escape(r["compares"])}">'
                f"{html.escape(r['cause'])}</td>",
                f"<td>{html.escape(r['verdict'])}</td>",
                *(f'<td style="text-align:right">{_fmt(r[m])}</td>' for m in self.metrics),
                f'<td style="text-align:left">{html.escape(r["evidence"])}</td>',
                f'<td style="text-align:left">{html.escape(r["fix"])} '
                f"<i>({html.escape(r['notebook'])})</i></td>",
            ]
            body.append("<tr>" + "".join(cells) + "</tr>")
        header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        return (
            f"<p>{html.escape(self._summary())}</p>"
            f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )


def _fmt(value) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:+.4f}"
