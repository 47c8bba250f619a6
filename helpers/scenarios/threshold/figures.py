"""Scenario 03's plots. Introduced in ``notebooks/03_fit_says_one.ipynb``."""

import matplotlib.pyplot as plt
import numpy as np

from helpers.plots import STYLE


def plot_boundary(boundary, wrong, *, steps: int = 4, first_epoch: int = 1, ax=None, title=None):
    """The decision boundary before each batch of whole epochs (and at the last one's end).

    ``wrong`` counts the points each of those moments misclassifies; ``steps`` is the batches
    per epoch, ``first_epoch`` the 1-based epoch of the first moment. Returns the Axes.
    """
    ax = ax or plt.gca()
    b, wrong = np.asarray(boundary, dtype=float), np.asarray(wrong)
    if len(b) != len(wrong) or len(b) % steps != 1:
        raise ValueError(f"invalid `boundary`: {len(b)} moments; expected {steps} per epoch + 1")
    t = first_epoch - 1 + np.arange(len(b)) / steps
    ax.axhspan(9.9, 10.0, color="tab:green", alpha=0.15, label="boundary here: all 500 right")
    ax.plot(t, b, color="0.5", lw=1)
    ax.plot(t[wrong == 0], b[wrong == 0], "o", color="tab:green", label="all 500 right")
    ax.plot(t[wrong > 0], b[wrong > 0], "o", color="tab:red", label="some wrong (how many)")
    for ti, bi, n in zip(t, b, wrong):
        if n:
            ax.annotate(str(n), (ti, bi), xytext=(0, 6), textcoords="offset points", ha="center")
    epochs = range(first_epoch, first_epoch + len(b) // steps)
    for e in epochs[1:]:
        ax.axvline(e - 1, color="0.8", lw=0.8)
    ax.set_xticks([e - 0.5 for e in epochs], [f"epoch {e}" for e in epochs])
    ax.set(
        xlabel="each dot: the weights just before a batch (the last: the end)",
        ylabel="x where the output crosses 0.5",
    )
    ax.set_title(title or "The boundary moves across the gap within each epoch")
    ax.legend(fontsize="small", loc="best")
    return ax


def plot_errors(logged, end, *, stopped: int = 0, n: int = 500, ax=None, title=None):
    """Misclassified points per epoch: as ``fit()`` counted them (``logged`` accuracy) and with
    the end-of-epoch weights (``end``, ``evaluate()``); ``stopped``: where a rule fired. Returns
    the Axes."""
    ax = ax or plt.gca()
    epochs = np.arange(1, len(logged) + 1)
    for values, style, label in (
        (logged, "fit", "counted by fit() during the epoch"),
        (end, "inference", "end-of-epoch weights = evaluate()"),
    ):
        errors = np.rint((1 - np.asarray(values)) * n)
        ax.step(epochs, errors, where="mid", color=STYLE[style]["color"], label=label)
    if stopped:
        ax.axvline(stopped, color="0.3", ls="--", lw=1, label=f"stopped (epoch {stopped})")
    ax.set_yscale("symlog", linthresh=1)
    ax.set(ylim=(0, None), xlabel="epoch", ylabel=f"misclassified (of {n})")
    ax.set_title(title or "Errors per epoch, two ways")
    ax.legend(fontsize="small")
    return ax
