"""Scenario 02's plots and explorer: the gap between logged and validation accuracy.

Introduced in ``notebooks/02_validation_above_training.ipynb``. The explorer
follows the kit's convention (:mod:`helpers.widgets`): :func:`explore` is the
plain function that trains, measures and draws; :func:`explorer` wraps it in
controls.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from helpers import checks
from helpers.plots import STYLE, plot_probe
from helpers.scenarios.mnist.run import POST_DROPOUT, POST_EPOCHS, MnistRun, train_post
from helpers.scenarios.mnist.split import GAP_HEADER, GapSplit
from helpers.widgets import Explorer, ExploreResult, explorer_start

EXPLORER_EPOCHS = 2  # the explorer's default: a re-run within 10 s on a quiet 2-core CPU


def plot_gap_split(split: GapSplit, *, ax=None, title: str | None = None):
    """A waterfall from ``val_accuracy`` to the training accuracy ``fit()`` logged.

    Full bars for the two logged numbers; floating bars for the three parts
    of the gap (generalisation, dropout, drift), each labelled with its sign,
    in the colour of the measurement it leads to (:data:`helpers.plots.STYLE`).

    Args:
        split: One epoch's :class:`~helpers.scenarios.mnist.split.GapSplit`.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; one with the gap and its sign if None.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    labels = [
        "val_\naccuracy",
        "+ general-\nisation",
        "+ dropout\n(on)",
        "+ drift",
        "accuracy\n(fit())",
    ]
    bottoms = [0.0, split.validation, split.inference, split.training, 0.0]
    heights = [split.validation, split.generalisation, split.dropout, split.drift, split.logged]
    colors = [STYLE[s]["color"] for s in ("validation", "inference", "training", "fit", "fit")]
    for i, (bottom, height, color) in enumerate(zip(bottoms, heights, colors)):
        part = 0 < i < 4
        ax.bar(i, height, bottom=bottom, color=color, alpha=0.45 if part else 0.9)
        text = f"{height:+.4f}" if part else f"{height:.4f}"
        ax.annotate(text, (i, bottom + max(height, 0)), ha="center", va="bottom", fontsize="small")
    ax.set_xticks(range(len(labels)), labels, fontsize="x-small")
    levels = [split.logged, split.training, split.inference, split.validation]
    ax.set_ylim(max(0.0, min(levels) - 0.1), min(1.0, max(levels) + 0.04))
    ax.set_ylabel("accuracy")
    ax.set_title(title or f"Epoch {split.epoch}: {GAP_HEADER} = {split.gap:+.4f}")
    return ax


def explorer_figure(run: MnistRun) -> Figure:
    """The explorer's picture of a run: accuracy per epoch and the last epoch's gap.

    Accuracy curves per epoch (logged, validation, end-of-epoch inference
    mode) on the left; the last epoch's gap split into generalisation,
    dropout and drift on the right. A new Figure, not pyplot's, so it is
    shown once, where the caller displays it.

    Args:
        run: A :class:`~helpers.scenarios.mnist.run.MnistRun` trained with a probe.

    Returns:
        The Figure.
    """
    if run.probe is None:
        raise ValueError(
            "the run has no probe to draw; train it with probe='inference' or 'training'"
        )
    dropout_1, dropout_2 = run.settings["dropout"]
    figure = Figure(figsize=(9.6, 3.6), dpi=80)
    left, right = figure.subplots(1, 2, width_ratios=(3, 2))
    plot_probe(
        run.probe,
        "accuracy",
        sources=["fit", "inference", "validation"],
        ax=left,
        title=f"Accuracy, dropout ({dropout_1:g}, {dropout_2:g})",
    )
    left.set_xlim(0.5, run.settings["epochs"] + 0.5)
    plot_gap_split(run.split(), ax=right)
    figure.tight_layout()
    return figure


def _checked(dropout_1, dropout_2, epochs) -> dict:
    """The explorer's knobs, validated (one message format: :mod:`helpers.checks`)."""
    return {
        "dropout_1": checks.rate("dropout_1", dropout_1),
        "dropout_2": checks.rate("dropout_2", dropout_2),
        "epochs": checks.integer(
            "epochs", epochs, low=1, high=POST_EPOCHS, example=EXPLORER_EPOCHS
        ),
    }


def explore(
    dropout_1: float = POST_DROPOUT[0],
    dropout_2: float = POST_DROPOUT[1],
    epochs: int = EXPLORER_EPOCHS,
    progress: Callable | None = None,
) -> ExploreResult:
    """Train the post's CNN with two dropout rates; plot the gap and its parts.

    The explorer's plain function: :func:`~helpers.scenarios.mnist.run.train_post`
    (seed 0, so two settings start from the same weights; probe in inference
    mode), then :func:`explorer_figure`.

    Args:
        dropout_1: Rate of the Dropout after the convolutions. Defaults to 0.25.
        dropout_2: Rate of the Dropout before the last layer. Defaults to 0.5.
        epochs: Epochs, 1 to 50 (the post's). Defaults to 2: a re-run within
            10 s on a quiet 2-core CPU.
        progress: ``progress(epoch, epochs, logs)``. Defaults to None.

    Returns:
        An :class:`~helpers.widgets.ExploreResult`; its ``values`` hold the
        last epoch's ``gap`` (``accuracy − val_accuracy``) and its parts.
    """
    knobs = _checked(dropout_1, dropout_2, epochs)
    run = train_post(**knobs, probe="inference", progress=progress)
    split = run.split()
    values = {
        "gap": split.gap,
        "generalisation": split.generalisation,
        "dropout": split.dropout,
        "drift": split.drift,
        "accuracy": split.logged,
        "val_accuracy": split.validation,
    }
    return ExploreResult(explorer_figure(run), split.summary, run, values)


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The scenario's explorer: two dropout rates and the epoch count.

    Args:
        run_now: Train once with the starting values when created. Defaults
            to False.
        **defaults: Starting values for :func:`explore`'s knobs
            (``dropout_1``, ``dropout_2``, ``epochs``); the rest start at
            :func:`explore`'s defaults.

    Returns:
        An :class:`~helpers.widgets.Explorer` around :func:`explore`.

    Raises:
        ValueError: for an unknown knob or a bad starting value.
    """
    import ipywidgets as widgets

    start = _checked(**explorer_start(explore, defaults))
    rate = dict(min=0.0, max=0.9, step=0.05, continuous_update=False, readout_format=".2f")
    controls = {
        "dropout_1": widgets.FloatSlider(value=start["dropout_1"], description="dropout 1", **rate),
        "dropout_2": widgets.FloatSlider(value=start["dropout_2"], description="dropout 2", **rate),
        "epochs": widgets.IntSlider(
            value=start["epochs"],
            min=1,
            max=POST_EPOCHS,
            description="epochs",
            continuous_update=False,
        ),
    }
    return Explorer(
        explore,
        controls,
        title="Validation above training? Change dropout and epochs",
        run_now=run_now,
    )
