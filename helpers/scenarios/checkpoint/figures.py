"""Scenario 01's figure (``notebooks/01_checkpoint_mismatch.ipynb``): the timeline of a
checkpointed run, from plain arrays so the notebook's numbers and the kit's draw the same way."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator


def plot_timeline(logged, evaluated, epoch: int, *, window=None, floor=None, ax=None, title=None):
    """Each logged loss at the weights it was computed with, and the file the best one chose.

    One batch per epoch, so the x axis counts updates: ``logged[e - 1]`` (epoch e) is drawn at
    w_{e−1}, ``evaluated[k]`` is ``evaluate()`` of w_k. For ``epoch`` e, an arrow marks the update
    to the file (star) and two bars the gap's Dropout and one-step parts. ``window``: the updates
    shown each side of e (None: all); ``floor``: a horizontal line (e.g. ln 2). Returns the Axes.
    """
    ax = ax or plt.gca()
    logged, evaluated, e = np.asarray(logged, float), np.asarray(evaluated, float), int(epoch)
    w = len(logged) if window is None else window
    k = np.arange(max(e - 1 - w, 0), min(e + w, len(logged)) + 1)
    ax.plot(k, evaluated[k], ".-", color="tab:blue", label="evaluate(w_k): Dropout off")
    k = k[k < len(logged)]
    ax.plot(k, logged[k], "o", color="tab:red", ms=4, label="logged for epoch k+1: ℓ(w_k)")
    arrow = dict(arrowstyle="->", color="black")
    ax.annotate("update", (e, evaluated[e]), (e - 1, logged[e - 1]), arrowprops=arrow)
    ax.plot([e], [evaluated[e]], "*", color="black", ms=14, label=f"the file of epoch {e}: w_{e}")
    bar = dict(lw=4, alpha=0.7)
    ax.vlines(
        e - 1, logged[e - 1], evaluated[e - 1], color="tab:purple", **bar, label="Dropout part"
    )
    ax.vlines(
        e + 0.15, evaluated[e - 1], evaluated[e], color="tab:green", **bar, label="one-step part"
    )
    if floor is not None:
        ax.axhline(floor, color="grey", ls=":", lw=1, label=f"floor {floor:.3f}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("k: the weights w_k after k updates (end of epoch k)")
    ax.set_ylabel("categorical cross-entropy")
    ax.set_title(title or f"Epoch {e} logs ℓ(w_{e - 1}), then updates; its file holds w_{e}")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    return ax
