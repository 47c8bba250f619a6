"""Scenario 05's plots (``notebooks/05_more_gaps.ipynb``): each draws on ``ax`` and returns it."""

from __future__ import annotations

import matplotlib.pyplot as plt

COLORS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange")


def plot_bars(values: dict, *, ax=None, title: str = "", ylabel: str = ""):
    """One bar per named number, the value written above it. Returns the Axes."""
    ax = ax or plt.gca()
    names = list(values)
    bars = ax.bar(range(len(names)), list(values.values()), color=COLORS[: len(names)], label=names)
    ax.bar_label(bars, fmt="%.3f", fontsize="small")
    ax.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize="small")
    ax.set_xlabel("measurement")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="x-small", loc="best")
    return ax


def plot_mode_accuracy(batch_sizes, training, inference, *, ax=None):
    """Accuracy against batch size, training mode beside inference mode. Returns the Axes."""
    ax = ax or plt.gca()
    ax.plot(batch_sizes, training, "o-", color="tab:red", label="training mode (batch statistics)")
    ax.plot(
        batch_sizes,
        inference,
        "s--",
        color="tab:blue",
        label="inference mode (= evaluate(), predict())",
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(batch_sizes), [str(b) for b in batch_sizes])
    ax.set_xlabel("batch size")
    ax.set_ylabel("accuracy on the 500 test digits")
    ax.set_ylim(0, 1)
    ax.set_title("Accuracy by batch size, BatchNormalization in each mode")
    ax.legend(fontsize="small")
    return ax
