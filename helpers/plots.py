"""Plot helpers: plain functions that draw on ``ax`` (the current Axes if None) and return it.

Each gives a sensible title when ``title`` is None.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from helpers.gap import HEADER

# One colour and style per source, used in every notebook so readers learn them once.
STYLE = {
    "fit": dict(
        color="tab:red", marker="o", ms=3, label="fit() logged (train mode, weights moving)"
    ),
    "training": dict(color="tab:orange", ls="--", label="end of epoch, training mode"),
    "inference": dict(color="tab:blue", label="end of epoch, inference mode = evaluate()"),
    "validation": dict(color="tab:green", ls=":", label="validation (logged)"),
}


def plot_probe(probe, metric: str = "loss", *, sources=None, ax=None, title=None):
    """Draw one metric per epoch from a :class:`~helpers.GapProbe`.

    Args:
        probe: A probe that has been through ``fit()``.
        sources: Which sources to draw; None draws every recorded one but the per-batch
            values. Defaults to None.
    """
    ax = ax or plt.gca()
    drawn = 0
    for source, style in STYLE.items():
        if sources is not None and source not in sources:
            continue
        values = probe.series(metric, source)
        if len(values):
            ax.plot(probe.epochs(metric, source), values, **style)
            drawn += 1
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ways = {1: "one way", 2: "two ways", 3: "three ways", 4: "four ways"}.get(
        drawn, f"{drawn} ways"
    )
    ax.set_title(title or f"{metric} on the training data, measured {ways}")
    ax.legend(fontsize="small")
    return ax


def plot_batches(probe, metric: str = "loss", *, epoch=None, ax=None, title=None):
    """Draw per-batch values within one epoch beside the epoch's logged mean.

    Args:
        probe: A probe created with ``per_batch=True``.
        epoch: Which epoch (1-based); the last one if None.
    """
    ax = ax or plt.gca()
    rows = [r for r in probe.rows if r["source"] == "batch" and r["metric"] == metric]
    if not rows:
        raise ValueError(
            f"no per-batch values for {metric!r}; create the probe with per_batch=True"
        )
    epoch = epoch if epoch is not None else rows[-1]["epoch"]
    rows = [r for r in rows if r["epoch"] == epoch]
    if not rows:
        raise ValueError(
            f"no per-batch values for epoch {epoch!r}; epochs run: 1..{probe.rows[-1]['epoch']}"
        )
    ax.bar(
        [r["batch"] for r in rows],
        [r["value"] for r in rows],
        color="tab:red",
        alpha=0.5,
        label="each batch (train mode, before its update)",
    )
    for source in ("fit", "inference"):  # the epoch's logged mean and evaluate()
        for r in probe.rows:
            if (r["source"], r["metric"], r["epoch"]) == (source, metric, epoch):
                ax.axhline(r["value"], color=STYLE[source]["color"], label=STYLE[source]["label"])
                break
    ax.set_xlabel("batch within the epoch")
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} batch by batch, epoch {epoch}")
    ax.legend(fontsize="small")
    return ax


WATERFALL_LABELS = {
    "dropout": "+ Dropout\n& noise",
    "batchnorm": "+ Batch-\nNorm",
    "other": "+ other\nlayers",
    "interaction": "+ inter-\naction",
    "drift": "+ drift\n(weights\nmoving)",
}
_STEP_COLOR = {True: "tab:gray", False: "tab:olive"}  # increase, decrease
_BAR_LABEL = dict(
    ha="center", va="bottom", fontsize="x-small", xytext=(0, 2), textcoords="offset points"
)


def plot_waterfall(result, metric: str = "loss", *, ax=None, title=None):
    """Draw how the parts of the gap lead from ``evaluate()`` to ``fit()``'s log (a waterfall).

    Introduced in ``notebooks/00_start_here.ipynb``. The measured values (``evaluate()``, the
    end-of-epoch training-mode subtotal, ``fit()`` logged) are full bars in their sources'
    colours; each part of the gap floats from the running total, labelled with its signed
    size. When the parts are small beside the values, the y axis is cut and says so.

    Args:
        result: What :func:`~helpers.decompose_gap` returned.
    """
    if metric not in result.parts:
        raise KeyError(f"metric {metric!r} was not decomposed; available keys: {result.metrics}")
    ax = ax or plt.gca()
    measured, parts = result.measured[metric], result.parts[metric]
    # (label, bottom, height, kind): kind is a source name for totals, "step" for parts
    level = measured["inference"]
    bars = [("evaluate()\n(inference)", 0.0, level, "inference")]
    for part in [p for p in parts if p != "drift"]:
        bars.append((WATERFALL_LABELS[part], level, parts[part], "step"))
        level += parts[part]
    training = measured["training"]  # equal to the running total up to float rounding
    bars.append(("end of epoch\n(training\nmode)", 0.0, training, "training"))
    bars.append((WATERFALL_LABELS["drift"], training, parts["drift"], "step"))
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
    for i, (_, bottom, height, kind) in enumerate(bars):
        if kind == "step":  # a zero part still shows as a sliver
            color = _STEP_COLOR[height >= 0]
            ax.bar(i, height or (hi - lo) * 0.003, bottom=bottom, color=color, width=0.6)
            top, text = bottom + max(height, 0), f"{height:+.4f}"
        else:
            color, label = STYLE[kind]["color"], STYLE[kind]["label"]
            ax.bar(i, height - floor, bottom=floor, color=color, width=0.6, label=label)
            top, text = height, f"{height:.4f}"
        ax.annotate(text, (i, top), **_BAR_LABEL)
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
