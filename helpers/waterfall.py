"""A waterfall chart of a :class:`~helpers.decompose.GapDecomposition`.

Introduced in ``notebooks/00_start_here.ipynb``. The chart walks from what
``evaluate()`` says to what ``fit()`` logged: each layer family's part (for
``method="alone"`` each switched on alone, then their interaction; for
``method="shapley"`` each family's Shapley value, with no interaction bar),
the end-of-epoch training-mode value as a subtotal, then the drift of the
weights during the epoch. The title states the gap with its sign
(:data:`helpers.gap.HEADER`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from helpers.gap import HEADER
from helpers.plots import STYLE

LABELS = {
    "dropout": "+ Dropout\n& noise",
    "batchnorm": "+ Batch-\nNorm",
    "other": "+ other\nlayers",
    "interaction": "+ inter-\naction",
    "drift": "+ drift\n(weights\nmoving)",
}
_STEP_COLOR = {True: "tab:gray", False: "tab:olive"}  # increase, decrease


def plot_waterfall(result, metric: str = "loss", *, ax=None, title=None):
    """Draw how the parts of the gap lead from ``evaluate()`` to ``fit()``'s log.

    The three measured values are full bars in the kit's colours for their
    sources (blue: inference = ``evaluate()``; orange: end of epoch in
    training mode; red: ``fit()`` logged); each part is a floating bar from
    the running total, labelled with its signed size. The y axis is cut to
    the interesting range when the parts are small beside the values, and
    its label then says so.

    Args:
        result: What :func:`~helpers.decompose.decompose_gap` returned.
        metric: Which metric. Defaults to ``"loss"``.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.

    Raises:
        KeyError: if ``metric`` was not decomposed (the message lists those that were).
    """
    if metric not in result.parts:
        raise KeyError(f"metric {metric!r} was not decomposed; available keys: {result.metrics}")
    ax = ax or plt.gca()
    measured, parts = result.measured[metric], result.parts[metric]
    steps = [p for p in parts if p != "drift"]
    # (label, bottom, height, kind): kind is a source name for totals, "step" for parts
    level = measured["inference"]
    bars = [("evaluate()\n(inference)", 0.0, level, "inference")]
    for part in steps + ["drift"]:
        if part == "drift":
            bars.append(("end of epoch\n(training\nmode)", 0.0, measured["training"], "training"))
            level = measured["training"]  # equal to the running total up to float rounding
        bars.append((LABELS[part], level, parts[part], "step"))
        level += parts[part]
    bars.append(("fit()\nlogged", 0.0, measured["fit"], "fit"))

    tops = [b + h for _, b, h, _ in bars] + [b for _, b, h, k in bars if k == "step"]
    lo, hi = min(tops), max(tops)
    pad = max(hi - lo, 1e-3 * max(abs(hi), 1.0)) * 0.35
    y_lo, y_hi = lo - pad, hi + pad
    # Totals stand on 0, unless the parts are small beside positive values:
    # then the axis is cut so the parts stay readable.
    cut = lo > 0 and y_lo > 0 and hi - lo < 0.5 * hi
    floor = y_lo if cut else 0.0
    if not cut:
        y_lo, y_hi = min(y_lo, 0.0), max(y_hi, 0.0)
    for i, (label, bottom, height, kind) in enumerate(bars):
        if kind == "step":
            color = _STEP_COLOR[height >= 0]
            ax.bar(
                i, height if height else (hi - lo) * 0.003, bottom=bottom, color=color, width=0.6
            )
            ax.annotate(
                f"{height:+.4f}",
                (i, bottom + max(height, 0)),
                ha="center",
                va="bottom",
                fontsize="x-small",
                xytext=(0, 2),
                textcoords="offset points",
            )
        else:
            ax.bar(
                i,
                height - floor,
                bottom=floor,
                color=STYLE[kind]["color"],
                width=0.6,
                label=STYLE[kind]["label"],
            )
            ax.annotate(
                f"{height:.4f}",
                (i, height),
                ha="center",
                va="bottom",
                fontsize="x-small",
                xytext=(0, 2),
                textcoords="offset points",
            )
        if i + 1 < len(bars):  # connector at the running level
            ax.plot([i + 0.3, i + 0.7], [bottom + height] * 2, color="black", lw=0.6)
    ax.bar(0, 0, color=_STEP_COLOR[True], label="part of the gap (up)")
    ax.bar(0, 0, color=_STEP_COLOR[False], label="part of the gap (down)")
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize="x-small")
    ax.set_ylim(y_lo, y_hi)
    ax.set_ylabel(metric + (" (axis cut)" if cut else ""))
    split = ", Shapley split" if getattr(result, "method", "alone") == "shapley" else ""
    ax.set_title(title or f"{metric}: {HEADER} = {result.gap[metric]:+.4f}{split}")
    ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax
