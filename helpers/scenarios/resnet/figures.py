"""Scenario 04's plots: plain functions that draw on ``ax`` (default: the current Axes) and
return it. Introduced in ``notebooks/04_resnet_batchnorm.ipynb``."""

from __future__ import annotations

import matplotlib.pyplot as plt

from helpers.batchnorm import travelled
from helpers.table import Table


def plot_travelled(table: Table, momentum: float, updates: int, *, ax=None, title=None):
    """How far each BatchNorm layer's moving statistics have travelled towards the batch's.

    Args:
        table: A :func:`helpers.compare_statistics` table.
        momentum: The momentum used, and ``updates`` the steps so far: the reference line.
    """
    ax = ax or plt.gca()
    depth, share = table.column("depth"), travelled(momentum, updates)
    ax.plot(depth, table.column("mean travelled"), "o", ms=3, label="moving mean")
    ax.plot(depth, table.column("var travelled"), "s", ms=3, mfc="none", label="moving variance")
    ax.axhline(share, color="k", ls="--", lw=1, label=f"1 − {momentum:g}^{updates} = {share:.3f}")
    ax.set_xlabel("BatchNormalization layer (input → output)")
    ax.set_ylabel("fraction of the way travelled")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title or "moving statistics: share of the way to the batch's")
    ax.legend(fontsize="small", loc="center right")
    return ax
