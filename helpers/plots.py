"""Plot helpers: plain functions that draw on an Axes and return it."""

from __future__ import annotations

import matplotlib.pyplot as plt

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
        metric: Which metric. Defaults to ``"loss"``.
        sources: Which sources to draw; None draws all recorded ones except
            per-batch values. Defaults to None.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.
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
        metric: Which metric. Defaults to ``"loss"``.
        epoch: Which epoch (1-based); the last one if None.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.
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
    for source in ("fit", "inference"):
        match = [
            r["value"]
            for r in probe.rows
            if r["source"] == source and r["metric"] == metric and r["epoch"] == epoch
        ]
        if match:
            ax.axhline(
                match[0],
                color=STYLE[source]["color"],
                ls=STYLE[source].get("ls", "-"),
                label=STYLE[source]["label"],
            )
    ax.set_xlabel("batch within the epoch")
    ax.set_ylabel(metric)
    ax.set_title(title or f"{metric} batch by batch, epoch {epoch}")
    ax.legend(fontsize="small")
    return ax
