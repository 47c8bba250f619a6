"""Scenario 01: the checkpoint run's figure and its explorer.

Introduced in ``notebooks/01_checkpoint_mismatch.ipynb``. Following the kit's
explorer convention (:mod:`helpers.widgets`):

* :func:`explore` is the plain function: it trains on the post's data,
  measures the best checkpoint and draws :func:`plot_checkpoint_run`;
* :func:`explorer` wraps it in an :class:`~helpers.widgets.Explorer`.
"""

from __future__ import annotations

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from helpers import checks
from helpers.gap import HEADER, gap
from helpers.scenarios.checkpoint.run import (
    CHECKPOINT_MONITORS,
    LN2,
    CheckpointRun,
    post_data,
    train_checkpointed,
)
from helpers.widgets import Explorer, ExploreResult, explorer_start

RULES = {  # each knob's check from helpers.checks, called as rule(name, value)
    "dropout_1": checks.rate,
    "dropout_2": checks.rate,
    "shuffle": checks.flag,
    "seed": checks.seed,
    "epochs": lambda name, value: checks.positive_int(name, value, example=50),
    "monitor": lambda name, value: checks.choice(name, value, CHECKPOINT_MONITORS),
}


def plot_checkpoint_run(
    run: CheckpointRun, *, evaluated=None, inference=None, monitor=None, ax=None, title=None
):
    """Logged loss, ``evaluate()`` per epoch, the saved epochs and the best file's ``evaluate()``.

    The per-epoch ``evaluate()`` curve is ``val_loss`` if the run has it,
    else ``inference`` (from :meth:`CheckpointRun.inference_losses`), else the
    probe's.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    monitor = run.monitor_key(monitor)
    epochs = np.arange(1, run.epochs + 1)
    ax.plot(
        epochs,
        run.history["loss"],
        color="tab:red",
        marker="o",
        ms=3,
        lw=1,
        label="loss logged by fit() (Dropout on, before the update)",
    )
    if "val_loss" in run.history:
        ax.plot(
            epochs,
            run.history["val_loss"],
            color="tab:blue",
            lw=1.5,
            label="val_loss = evaluate() at the epoch's end",
        )
    elif inference is not None:
        ax.plot(
            np.arange(len(inference)),
            inference,
            color="tab:blue",
            lw=1.5,
            label="evaluate() at the epoch's end",
        )
    elif run.probe is not None:
        ax.plot(
            run.probe.epochs("loss", "inference"),
            run.probe.series("loss", "inference"),
            color="tab:blue",
            lw=1.5,
            label="evaluate() at the epoch's end (GapProbe)",
        )
    saved = run.saved_epochs(monitor)
    ax.plot(
        saved,
        [run.history[monitor][e - 1] for e in saved],
        "o",
        mfc="none",
        mec="black",
        ms=9,
        label=f"checkpoint saved ({monitor} improved)",
    )
    if evaluated is not None:
        ax.plot(
            [run.best_epoch(monitor)],
            [evaluated],
            "*",
            color="black",
            ms=14,
            label="evaluate() of the best checkpoint",
        )
    ax.axhline(
        LN2, color="grey", ls=":", lw=1, label="ln 2 (evaluate()'s floor on the post's data)"
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("categorical cross-entropy")
    ax.set_title(title or f"Best checkpoint by {monitor}")
    # Below the axes: inside, it would hide the noisy logged curve it explains.
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return ax


def checked_settings(**settings) -> dict:
    """``settings`` with each value passed through its knob's rule in :data:`RULES`.

    Raises:
        ValueError: for a name that is not a knob, or a bad value
            (:func:`helpers.checks.each`).
    """
    return checks.each(settings, RULES)


def explore(
    dropout_1: float = 0.2,
    dropout_2: float = 0.15,
    epochs: int = 50,
    shuffle: bool = True,
    monitor: str = "loss",
    seed: int = 0,
    progress=None,
) -> ExploreResult:
    """The explorer's plain function: train on the post's data and compare.

    ``monitor="val_loss"`` passes the training data as ``validation_data``;
    with ``"loss"`` the per-epoch ``evaluate()`` curve comes from
    :meth:`CheckpointRun.inference_losses`, which is faster.

    Returns:
        An :class:`~helpers.widgets.ExploreResult`: ``figure``, ``summary``,
        ``run`` (the :class:`CheckpointRun`) and ``values`` (``best_epoch``,
        ``best_logged``, ``evaluated``, ``gap`` = logged − evaluate(), ``files``).

    Raises:
        ValueError: for a bad setting, before any training.

    Example:
        >>> explore(epochs=0)
        Traceback (most recent call last):
        ...
        ValueError: invalid `epochs`: 0; expected an int >= 1, e.g. 50
    """
    s = checked_settings(
        dropout_1=dropout_1,
        dropout_2=dropout_2,
        epochs=epochs,
        shuffle=shuffle,
        monitor=monitor,
        seed=seed,
    )
    x, y = post_data()
    run = train_checkpointed(
        x,
        y,
        dropout=(s["dropout_1"], s["dropout_2"]),
        epochs=s["epochs"],
        shuffle=s["shuffle"],
        monitor=s["monitor"],
        seed=s["seed"],
        validation_data=(x, y) if s["monitor"] == "val_loss" else None,
        progress=progress,
    )
    inference = None if s["monitor"] == "val_loss" else run.inference_losses(x, y)
    evaluated, best = run.evaluate_best(x, y), run.best_logged()
    values = dict(
        best_epoch=run.best_epoch(),
        best_logged=best,
        evaluated=evaluated,
        gap=gap(best, evaluated),
        files=len(run.saved_epochs()),
    )
    figure = Figure(figsize=(6.4, 3.6), dpi=80)  # not pyplot's: shown once, where the caller wants
    plot_checkpoint_run(
        run,
        evaluated=evaluated,
        inference=inference,
        ax=figure.add_subplot(),
        title=(
            f"monitor={s['monitor']!r}: best logged {best:.3f} (epoch {run.best_epoch()}), "
            f"evaluate() {evaluated:.3f}; {HEADER} {values['gap']:+.3f}"
        ),
    )
    summary = (
        f"Best {s['monitor']} logged: {best:.4f} at epoch {run.best_epoch()}; evaluate() of "
        f"that checkpoint: {evaluated:.4f} ({HEADER}: {values['gap']:+.4f}); "
        f"{values['files']} files saved."
    )
    return ExploreResult(figure, summary, run, values)


def controls(values: dict) -> dict:
    """The explorer's controls, one per knob of :func:`explore`, starting at ``values``."""
    slider = dict(min=0.0, max=0.9, step=0.05, readout_format=".2f", continuous_update=False)
    return {
        "dropout_1": w.FloatSlider(value=values["dropout_1"], description="dropout 1", **slider),
        "dropout_2": w.FloatSlider(value=values["dropout_2"], description="dropout 2", **slider),
        "epochs": w.IntSlider(
            value=values["epochs"],
            min=5,
            max=150,
            step=5,
            description="epochs",
            continuous_update=False,
        ),
        "shuffle": w.Checkbox(value=values["shuffle"], description="shuffle"),
        "monitor": w.Dropdown(
            options=list(CHECKPOINT_MONITORS), value=values["monitor"], description="monitor"
        ),
        "seed": w.IntSlider(
            value=values["seed"], min=0, max=9, description="seed", continuous_update=False
        ),
    }


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """An :class:`~helpers.widgets.Explorer` over :func:`explore`.

    The controls start at :func:`explore`'s defaults (the post's settings)
    updated by ``defaults`` (:func:`~helpers.widgets.explorer_start`): an
    unknown knob or a bad value raises ValueError. ``run_now=True`` runs once
    as soon as the widget is built.
    """
    start = explorer_start(explore, defaults, RULES)
    return Explorer(
        explore,
        controls(start),
        run_now=run_now,
        title="Which epoch does the best checkpoint hold, and what does evaluate() say?",
    )
