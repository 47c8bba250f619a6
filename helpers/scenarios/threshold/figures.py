"""Scenario 03's pictures and its explorer.

Introduced in ``notebooks/03_fit_says_one.ipynb``. :func:`explore` is the
explorer's plain function (tests call it); :func:`explorer` is the widget.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from helpers import checks
from helpers.gap import HEADER, gap
from helpers.plots import STYLE
from helpers.scenarios.threshold.run import STOP_MONITORS, Run
from helpers.scenarios.threshold.runner import ThresholdRunner
from helpers.step_recorder import StepRecorder
from helpers.widgets import ExploreResult, progress_callback


def plot_boundary(recorder: StepRecorder, epochs, *, ax=None, title=None):
    """The decision boundary before every batch of some epochs.

    Args:
        recorder: A ``StepRecorder(per_step=True, boundary=decision_boundary)``
            that went through ``fit()``.
        epochs: The epochs to draw, e.g. ``range(29, 32)``.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    epochs = list(epochs)
    steps = max(r["step"] for r in recorder.rows)
    rows = [
        r
        for r in recorder.rows
        if r["epoch"] in epochs and (r["step"] < steps or r["epoch"] == epochs[-1])
    ]
    if not rows or any(r["boundary"] is None for r in rows):
        raise ValueError(
            f"no recorded boundaries in epochs {epochs!r}; record with "
            "StepRecorder(per_step=True, boundary=decision_boundary)"
        )
    t = np.array([r["epoch"] - 1 + r["step"] / steps for r in rows])
    b = np.array([r["boundary"] for r in rows])
    perfect = np.array([not r["wrong"] for r in rows])
    ax.axhspan(9.9, 10.0, color="tab:green", alpha=0.15, label="boundary here: all 500 right")
    ax.plot(t, b, color="0.5", lw=1)
    ax.plot(t[perfect], b[perfect], "o", color="tab:green", label="all 500 right")
    ax.plot(t[~perfect], b[~perfect], "o", color="tab:red", label="some wrong")
    for ti, bi, r in zip(t, b, rows):
        if r["wrong"]:
            ax.annotate(
                str(len(r["wrong"])),
                (ti, bi),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize="small",
                color="tab:red",
            )
    for e in epochs[:-1]:
        ax.axvline(e, color="0.8", lw=0.8)
    ax.set_xticks([e - 0.5 for e in epochs], [f"epoch {e}" for e in epochs])
    ax.set_xlabel("each dot: the weights just before a batch (last dot: end of the last epoch)")
    ax.set_ylabel("x where the output crosses 0.5")
    ax.set_title(title or "The boundary moves across the gap within each epoch")
    ax.legend(fontsize="small", loc="best")
    return ax


def plot_errors(run: Run, *, n: int = 500, ax=None, title=None):
    """Misclassified samples per epoch: counted by ``fit()`` vs at the epoch's end.

    Args:
        run: A run whose history holds ``eval_accuracy`` (a
            ``StepRecorder(log_key="eval_accuracy")`` was among its callbacks).
        n: The number of samples. Defaults to 500.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.
    """
    if "eval_accuracy" not in run.history:
        raise ValueError(
            f"the run's history has no 'eval_accuracy'; available keys: {sorted(run.history)}. "
            "Train with StepRecorder(x, y, log_key='eval_accuracy') among the callbacks"
        )
    ax = ax or plt.gca()
    epochs = np.arange(1, len(run.history["accuracy"]) + 1)
    fit = np.rint((1 - np.array(run.history["accuracy"])) * n)
    end = np.rint((1 - np.array(run.history["eval_accuracy"])) * n)
    ax.step(
        epochs,
        fit,
        where="mid",
        color=STYLE["fit"]["color"],
        label="counted by fit() during the epoch",
    )
    ax.step(
        epochs,
        end,
        where="mid",
        color=STYLE["inference"]["color"],
        label="end-of-epoch weights = evaluate()",
    )
    if run.stopped_epoch:
        ax.axvline(
            run.stopped_epoch,
            color="0.3",
            ls="--",
            lw=1,
            label=f"stopped (epoch {run.stopped_epoch})",
        )
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"misclassified (of {n})")
    ax.set_title(title or "Errors per epoch, two ways")
    ax.legend(fontsize="small")
    return ax


def explore(
    learning_rate: float = 0.1,
    epochs: int = 300,
    batch_size: int = 128,
    monitor: str = "accuracy",
    seed: int = 0,
    reshuffle: bool = False,
    progress=None,
) -> ExploreResult:
    """Train the post's model once and compare what ``fit()`` logged with ``evaluate()``.

    Args:
        learning_rate: Adam's learning rate. Defaults to the post's 0.1.
        epochs: Most epochs, 1 to 1000. Defaults to the post's 300.
        batch_size: 1 to 500. Defaults to the post's 128.
        monitor: What the stopping rule watches: ``"accuracy"`` (the post),
            ``"val_accuracy"`` (the post's fix: the training set passed as
            validation data) or ``"eval_accuracy"`` (the end-of-epoch
            accuracy written into the logs by a ``StepRecorder``).
            Defaults to "accuracy".
        seed: Defaults to 0.
        reshuffle: A fresh sample order every epoch. Defaults to False.
        progress: ``progress(epoch, epochs, logs)`` callable. Defaults to None.

    Returns:
        An :class:`~helpers.widgets.ExploreResult`: ``run`` is the
        :class:`~helpers.scenarios.threshold.run.Run` (its history holds
        ``eval_accuracy``, the end-of-epoch accuracy, per epoch); ``values``
        holds stopped_epoch, fit_accuracy, evaluate_accuracy and the gap.

    Raises:
        ValueError: for an unknown ``monitor`` or out-of-range settings.
    """
    checks.choice("monitor", monitor, STOP_MONITORS)
    checks.integer("epochs", epochs, low=1, high=1000, example="300 (the post's)")
    checks.integer("batch_size", batch_size, low=1, high=500, example="128 (the post's)")
    checks.seed("seed", seed)
    runner = ThresholdRunner(learning_rate=learning_rate, batch_size=batch_size)
    recorder = StepRecorder(runner.x, runner.y, log_key="eval_accuracy")
    run = runner.run(
        seed,
        epochs=epochs,
        monitor=monitor,
        reshuffle=checks.flag("reshuffle", reshuffle),
        validation=monitor == "val_accuracy",
        callbacks=[recorder, *progress_callback(progress)],
    )
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")  # not pyplot's: shown only when asked
    plot_errors(
        run,
        ax=fig.subplots(),
        title=f"learning rate {learning_rate:g}, batch {batch_size}, "
        f"stop on {monitor}, seed {seed}",
    )
    values = {
        "stopped_epoch": run.stopped_epoch,
        "fit_accuracy": run.fit_accuracy,
        "evaluate_accuracy": run.evaluate_accuracy,
        "gap": gap(run.fit_accuracy, run.evaluate_accuracy),
    }
    done = len(run.history["accuracy"])
    summary = (
        f"Stopped at epoch {run.stopped_epoch}"
        if run.stopped_epoch
        else f"Never stopped in {done} epochs"
    ) + (
        f": fit() logged accuracy {run.fit_accuracy:.3f}, evaluate() says {run.evaluate_accuracy:.3f}, "
        f"{HEADER} {values['gap']:+.3f}."
    )
    return ExploreResult(figure=fig, summary=summary, run=run, values=values)


def explorer(*, run_now: bool = False, **defaults):
    """The widget over :func:`explore`: learning rate, epochs, batch size, monitored key, seed, reshuffling.

    Args:
        run_now: Run once with the starting values when shown. Defaults to False.
        **defaults: Starting values, by :func:`explore`'s knob names; the
            rest start at :func:`explore`'s defaults.

    Returns:
        An :class:`~helpers.widgets.Explorer`.
    """
    import ipywidgets as widgets

    from helpers.widgets import Explorer, explorer_start

    start = explorer_start(explore, defaults)
    style = {"description_width": "initial"}
    controls = {
        "learning_rate": widgets.FloatLogSlider(
            value=start["learning_rate"],
            base=10,
            min=-3,
            max=0,
            step=0.25,
            description="learning rate",
            style=style,
        ),
        "epochs": widgets.IntSlider(
            value=start["epochs"], min=10, max=300, step=10, description="epochs", style=style
        ),
        "batch_size": widgets.Dropdown(
            options=sorted({16, 32, 64, 128, 250, 500, start["batch_size"]}),
            value=start["batch_size"],
            description="batch size",
            style=style,
        ),
        "monitor": widgets.Dropdown(
            options=list(STOP_MONITORS), value=start["monitor"], description="stop on", style=style
        ),
        "seed": widgets.IntSlider(
            value=start["seed"], min=0, max=49, description="seed", style=style
        ),
        "reshuffle": widgets.Checkbox(
            value=start["reshuffle"], description="reshuffle every epoch", style=style
        ),
    }
    return Explorer(
        explore,
        controls,
        run_now=run_now,
        title="Stop at accuracy 1.0: what fit() logged vs evaluate()",
    )
