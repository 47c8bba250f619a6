"""Scenario 04's explorer: :func:`explore` trains at 64×64 and draws how far the moving
statistics travelled; :func:`explorer` is its widget (:mod:`helpers.widgets`)."""

from __future__ import annotations

import dataclasses
import functools

import matplotlib.pyplot as plt
import numpy as np

from helpers import checks
from helpers.batchnorm import compare_statistics, recalibrate_batchnorm, travelled
from helpers.memory import release_memory
from helpers.scenarios.resnet.figures import plot_travelled
from helpers.scenarios.resnet.run import POST_SIZE, predict_classes, train_resnet
from helpers.widgets import Explorer, ExploreResult, explorer_start, progress_callback

MOMENTUM_OPTIONS = (0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999)
RULES = {  # the starting values explorer() accepts
    "momentum": checks.momentum,
    "epochs": lambda name, value: checks.integer(name, value, low=1, high=30, example=5),
    "recalibrate": checks.flag,
    "seed": checks.seed,
    "input_size": lambda name, value: checks.integer(name, value, low=32, example=64),
}


def explore(momentum=0.99, epochs=5, recalibrate=False, seed=0, progress=None, *, input_size=64):
    """Train (:func:`~helpers.scenarios.resnet.run.train_resnet`), optionally recalibrate
    (PreciseBN, fit()'s batch of three), and draw. ``values``: ``fit_acc``, ``predicted``,
    ``inference_correct``, ``median_travelled``, ``expected_travelled`` (1 − momentum^epochs)."""
    momentum = checks.momentum("momentum", momentum)
    recalibrate = checks.flag("recalibrate", recalibrate)
    run = train_resnet(
        input_size=input_size, momentum=momentum, epochs=epochs, seed=seed,
        callbacks=progress_callback(progress),
    )  # fmt: skip
    if recalibrate:
        recalibrate_batchnorm(run.model, run.x, batch_size=len(run.x))
    predicted = predict_classes(run.model, run.x)
    statistics = compare_statistics(run.model, run.x)
    values = {
        "fit_acc": float(run.history["acc"][-1]),
        "predicted": tuple(int(c) for c in predicted),
        "inference_correct": int(np.sum(predicted == run.y.argmax(axis=1))),
        "median_travelled": float(np.median(statistics.column("mean travelled"))),
        "expected_travelled": travelled(momentum, epochs),
    }
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    title = f"ResNet50 {input_size}×{input_size}, momentum {momentum:g}, {epochs} epochs"
    plot_travelled(statistics, momentum, epochs, ax=ax, title=title + ", PreciseBN" * recalibrate)
    fig.tight_layout()
    plt.close(fig)  # returned, not shown: the caller (or the explorer) decides where it goes
    summary = "fit() accuracy {fit_acc:.2f}; predict() right on {inference_correct}/3 {predicted}; "
    summary += "moving means travelled {median_travelled:.1%} of the way (formula: {expected_travelled:.1%})."
    summary = summary.format(**values)
    result = ExploreResult(fig, summary, dataclasses.replace(run, model=None), values)
    del run
    release_memory()  # free the model's ~0.3 GB now, not at Python's next collection
    return result


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The widget over :func:`explore`, starting at ``defaults`` (``seed`` and ``input_size``
    stay fixed for the session)."""
    import ipywidgets as widgets

    start = explorer_start(explore, defaults, RULES)
    momenta = sorted({*MOMENTUM_OPTIONS, start["momentum"]})
    controls = {
        "momentum": widgets.SelectionSlider(
            options=momenta, value=start["momentum"], description="momentum"
        ),
        "epochs": widgets.IntSlider(value=start["epochs"], min=1, max=30, description="epochs"),
        "recalibrate": widgets.Checkbox(
            value=start["recalibrate"], description="recalibrate (PreciseBN)"
        ),
    }
    size = start["input_size"]
    fixed = functools.partial(explore, seed=start["seed"], input_size=size)
    title = f"ResNet50 on the three images at {size}×{size} (the post: {POST_SIZE}×{POST_SIZE}, "
    title += f"{(POST_SIZE / size) ** 2:.0f}× more pixels, the same collapse; ~12 s for 5 epochs)"
    return Explorer(fixed, controls, run_now=run_now, title=title)
