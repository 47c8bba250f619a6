"""Scenario 04's plots and its explorer.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``. Plot functions take
``ax=None`` and return the Axes; :func:`explore` is the explorer's plain
function (train, optionally recalibrate, draw) and :func:`explorer` its
widget, as described in :mod:`helpers.widgets`.
"""

from __future__ import annotations

import dataclasses
import functools

import matplotlib.pyplot as plt
import numpy as np

from helpers import checks
from helpers.batchnorm import (
    compare_statistics,
    predict_with_batch_statistics,
    recalibrate_batchnorm,
    travelled,
)
from helpers.memory import release_memory
from helpers.scenarios.resnet.run import POST_SIZE, SMALL_SIZE, train_resnet
from helpers.scenarios.resnet.sweep import sweep_grid
from helpers.table import Table
from helpers.widgets import Explorer, ExploreResult, explorer_start, progress_callback

MOMENTUM_OPTIONS = (0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999)


def plot_travelled(table: Table, momentum: float, updates: int, *, ax=None, title=None):
    """Draw how far each BatchNorm layer's moving statistics have travelled.

    Args:
        table: A :func:`helpers.batchnorm.compare_statistics` table.
        momentum: The momentum used, for the reference line.
        updates: Training steps so far, for the reference line.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    depth = table.column("depth")
    ax.plot(depth, table.column("mean travelled"), "o", ms=3, color="tab:blue", label="moving mean")
    ax.plot(
        depth,
        table.column("var travelled"),
        "s",
        ms=3,
        mfc="none",
        color="tab:orange",
        label="moving variance",
    )
    ax.axhline(
        travelled(momentum, updates),
        color="k",
        ls="--",
        lw=1,
        label=f"1 − {momentum:g}^{updates} = {travelled(momentum, updates):.3f}",
    )
    ax.set_xlabel("BatchNormalization layer (input → output)")
    ax.set_ylabel("fraction of the way travelled")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(title or "moving statistics: share of the way to the batch's")
    ax.legend(fontsize="small", loc="center right")
    return ax


def plot_sweep(table: Table, *, ax=None, title=None):
    """Draw a :class:`~helpers.scenarios.resnet.sweep.MomentumSweep` table: images right per epoch."""
    grid = sweep_grid(table)
    epochs = grid.columns[1:]
    values = np.array([[row[e] for e in epochs] for row in grid], dtype=float)
    images = max(table.column("images"))
    ax = ax or plt.gca()
    ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=images, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(
            j,
            i,
            f"{v:.0f}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if v in (0, images) else "black",
        )  # readable on the darkest cells
    ax.set_xticks(range(len(epochs)), epochs)
    ax.set_yticks(range(len(grid)), grid.column("statistics"))
    ax.set_xlabel("epoch")
    ax.set_ylabel("BatchNorm statistics used by predict()")
    ax.grid(False)
    ax.set_title(title or f"images predict() gets right (of {images}), by BatchNorm statistics")
    return ax


def plot_true_class(
    inference,
    training,
    labels,
    names,
    *,
    statistics: str = "moving statistics",
    ax=None,
    title=None,
):
    """Bars: the probability of each image's true class, in inference and in training mode.

    Args:
        inference: Softmax outputs in inference mode, shape ``(images, classes)``.
        training: The same with BatchNorm using the batch's statistics.
        labels: True classes.
        names: Image names, for the ticks.
        statistics: What inference used, for the legend. Defaults to
            ``"moving statistics"``.
        ax: Axes to draw on. Defaults to the current Axes.
        title: Title; a sensible one if None.

    Returns:
        The Axes.
    """
    ax = ax or plt.gca()
    where = np.arange(len(labels))
    right = int(np.sum(np.asarray(inference).argmax(axis=1) == labels))
    ax.bar(
        where - 0.2,
        np.asarray(inference)[where, labels],
        0.4,
        color="tab:blue",
        label=f"predict() ({statistics})",
    )
    ax.bar(
        where + 0.2,
        np.asarray(training)[where, labels],
        0.4,
        color="tab:orange",
        label="training mode (batch statistics)",
    )
    ax.set_xticks(where, [n.removesuffix(".png") for n in names])
    ax.set_ylim(0, 1.25)
    ax.set_xlabel("training image")
    ax.set_ylabel("probability of the true class")
    ax.set_title(title or f"predict() right on {right} of {len(labels)}")
    ax.legend(fontsize="small", loc="upper left")
    return ax


def describe_run(
    model, x, y, names, history: dict, *, momentum: float, epochs: int, recalibrated: bool = False
) -> ExploreResult:
    """The explorer's picture and summary for a trained model (the model is not changed).

    Left: :func:`plot_true_class`; right: :func:`plot_travelled`.

    Returns:
        An :class:`~helpers.widgets.ExploreResult` whose ``values`` hold
        ``fit_acc`` (last epoch, as logged), ``predicted`` (classes in
        inference mode), ``inference_correct``, ``training_correct`` (images
        right with the batch's statistics), ``median_travelled`` (of the
        moving means) and ``expected_travelled`` (``1 − momentum**epochs``);
        ``run`` is None.
    """
    labels = np.asarray(y).argmax(axis=1)
    inference = np.asarray(model(x, training=False))
    training = predict_with_batch_statistics(model, x)
    statistics = compare_statistics(model, x)
    predicted = inference.argmax(axis=1)
    values = {
        "fit_acc": float(history["acc"][-1]),
        "predicted": tuple(int(c) for c in predicted),
        "inference_correct": int(np.sum(predicted == labels)),
        "training_correct": int(np.sum(training.argmax(axis=1) == labels)),
        "median_travelled": float(np.median(statistics.column("mean travelled"))),
        "expected_travelled": travelled(momentum, epochs),
    }
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [1, 1.3]}
    )
    plot_true_class(
        inference,
        training,
        labels,
        names,
        ax=left,
        statistics="after PreciseBN" if recalibrated else "moving statistics",
    )
    plot_travelled(statistics, momentum, epochs, ax=right)
    size = np.shape(x)[1]
    fig.suptitle(
        f"ResNet50, {size}×{size}, momentum {momentum:g}, {epochs} epochs"
        + (", recalibrated" if recalibrated else ""),
        fontsize=10,
    )
    fig.tight_layout()
    plt.close(fig)  # returned, not shown: the caller (or the explorer) decides where it goes
    summary = (
        f"fit() accuracy {values['fit_acc']:.2f}; predict() right on {values['inference_correct']}/3 "
        f"(classes {' '.join(map(str, predicted))}); training mode {values['training_correct']}/3; "
        f"moving means travelled {values['median_travelled']:.1%} of the way "
        f"(1 − {momentum:g}^{epochs} = {values['expected_travelled']:.1%})."
    )
    return ExploreResult(figure=fig, summary=summary, values=values)


def explore(
    momentum: float = 0.99,
    epochs: int = 5,
    recalibrate: bool = False,
    seed: int = 0,
    progress=None,
    *,
    input_size: int = SMALL_SIZE,
) -> ExploreResult:
    """The explorer's plain function: train, optionally recalibrate, show predictions and statistics.

    Args:
        momentum: BatchNormalization momentum. Defaults to 0.99.
        epochs: Epochs. Defaults to 5.
        recalibrate: Apply :func:`helpers.batchnorm.recalibrate_batchnorm`
            after training. Defaults to False.
        seed: Seed for the initial weights. Defaults to 0.
        progress: ``progress(epoch, epochs, logs)``, called after each epoch.
        input_size: Side of the input. Defaults to ``SMALL_SIZE`` (64).

    Returns:
        An :class:`~helpers.widgets.ExploreResult` (see :func:`describe_run`
        for ``values``); ``run`` is the
        :class:`~helpers.scenarios.resnet.run.TrainResult` with its model
        dropped (None), so its ~0.3 GB is freed at once.
    """
    momentum = checks.momentum("momentum", momentum)
    recalibrate = checks.flag("recalibrate", recalibrate)
    run = train_resnet(
        input_size=input_size,
        momentum=momentum,
        epochs=epochs,
        seed=seed,
        callbacks=progress_callback(progress),
    )
    if recalibrate:
        recalibrate_batchnorm(run.model, run.x, batch_size=len(run.x))
    result = describe_run(
        run.model,
        run.x,
        run.y,
        run.names,
        run.history,
        momentum=momentum,
        epochs=epochs,
        recalibrated=recalibrate,
    )
    result.run = dataclasses.replace(run, model=None)
    del run
    release_memory()  # free the model's memory now, not at Python's next collection
    return result


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The scenario's explorer: momentum, epochs and a recalibration toggle, at 64×64.

    Args:
        run_now: Run once with the starting values when shown. Defaults to False.
        **defaults: Starting values for :func:`explore`'s arguments
            (``momentum``, ``epochs``, ``recalibrate``; ``seed`` and
            ``input_size`` are fixed for the session).
    """
    import ipywidgets as widgets

    settings = explorer_start(explore, defaults)
    momentum = checks.momentum("momentum", settings["momentum"])
    controls = {
        "momentum": widgets.SelectionSlider(
            options=sorted({*MOMENTUM_OPTIONS, momentum}), value=momentum, description="momentum"
        ),
        "epochs": widgets.IntSlider(
            value=checks.integer("epochs", settings["epochs"], low=1, high=30, example=5),
            min=1,
            max=30,
            description="epochs",
        ),
        "recalibrate": widgets.Checkbox(
            value=checks.flag("recalibrate", settings["recalibrate"]),
            description="recalibrate (PreciseBN)",
        ),
    }
    size = checks.integer("input_size", settings["input_size"], low=32, example=SMALL_SIZE)
    fixed = functools.partial(explore, seed=checks.seed("seed", settings["seed"]), input_size=size)
    return Explorer(
        fixed,
        controls,
        run_now=run_now,
        title=f"ResNet50 on the three images at {size}×{size} (the post used {POST_SIZE}×{POST_SIZE}: "
        f"same collapse, {(POST_SIZE / size) ** 2:.0f}× fewer pixels; about 12 s for 5 epochs "
        "at 64×64)",
    )
