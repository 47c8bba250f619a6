"""Scenario 02's plots: the gap between logged and validation accuracy, and its parts."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers.plots import STYLE, plot_probe
from helpers.scenarios.mnist.run import GAP_HEADER, MnistRun


def plot_gap_split(split: dict, *, ax=None):
    """A waterfall from ``val_accuracy`` through the three parts to the accuracy ``fit()``
    logged, for one epoch's :meth:`MnistRun.split <helpers.scenarios.mnist.run.MnistRun.split>`,
    on ``ax`` (default: the current Axes), which it returns."""
    ax = ax or plt.gca()
    labels = [
        "val_\naccuracy",
        "+ general-\nisation",
        "+ dropout\n(on)",
        "+ drift",
        "accuracy\n(fit())",
    ]
    parts = [split[k] for k in ("generalisation", "dropout", "drift")]
    bottoms = [0.0, split["validation"], split["inference"], split["training"], 0.0]
    heights = [split["validation"], *parts, split["fit"]]
    sources = ("validation", "inference", "training", "fit", "fit")
    for i, (bottom, height, source) in enumerate(zip(bottoms, heights, sources)):
        part = 0 < i < 4
        ax.bar(i, height, bottom=bottom, color=STYLE[source]["color"], alpha=0.45 if part else 0.9)
        text = f"{height:+.4f}" if part else f"{height:.4f}"
        ax.annotate(text, (i, bottom + max(height, 0)), ha="center", va="bottom", fontsize="small")
    ax.set_xticks(range(len(labels)), labels, fontsize="x-small")
    levels = bottoms[1:4] + [split["fit"]]
    ax.set_ylim(max(0.0, min(levels) - 0.1), min(1.0, max(levels) + 0.04))
    ax.set_ylabel("accuracy")
    ax.set_title(f"Epoch {split['epoch']}: {GAP_HEADER} = {split[GAP_HEADER]:+.4f}")
    return ax


def explorer_figure(run: MnistRun) -> Figure:
    """Accuracy per epoch four ways (left) and the last epoch's gap split (right), for one run,
    on a new Figure, not pyplot's, so it is shown once, where the caller displays it."""
    split = run.split()  # first: a run without a probe raises here, saying how to train one
    figure = Figure(figsize=(9.6, 3.6), dpi=80)
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    title = "Accuracy, dropout ({:g}, {:g})".format(*run.settings["dropout"])
    plot_probe(
        run.probe, "accuracy", sources=["fit", "inference", "validation"], ax=left, title=title
    )
    left.set_xlim(0.5, run.settings["epochs"] + 0.5)
    plot_gap_split(split, ax=right)
    figure.tight_layout()
    return figure
