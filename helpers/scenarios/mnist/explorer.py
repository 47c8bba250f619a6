"""Scenario 02's explorer: :func:`explore` trains with two dropout rates and draws the gap's
parts; :func:`explorer` is its widget (:mod:`helpers.widgets`)."""

from __future__ import annotations

import ipywidgets as w

from helpers import checks
from helpers.scenarios.mnist.figures import explorer_figure
from helpers.scenarios.mnist.run import GAP_HEADER, POST_DROPOUT, POST_EPOCHS, train_post
from helpers.widgets import Explorer, ExploreResult, build_explorer

RULES = {
    "dropout_1": checks.rate,
    "dropout_2": checks.rate,
    "epochs": lambda name, value: checks.integer(name, value, low=1, high=POST_EPOCHS, example=2),
}


def explore(
    dropout_1=POST_DROPOUT[0], dropout_2=POST_DROPOUT[1], epochs=2, progress=None
) -> ExploreResult:
    """Train the post's CNN (:func:`~helpers.scenarios.mnist.run.train_post`, seed 0) and draw it.

    ``dropout_1`` follows the convolutions, ``dropout_2`` precedes the last layer; ``epochs``
    from 1 to the post's 50 (2 take a few seconds on a quiet CPU). ``values``: the last
    epoch's :meth:`~helpers.scenarios.mnist.run.MnistRun.split`.
    """
    knobs = dict(dropout_1=dropout_1, dropout_2=dropout_2, epochs=epochs)
    run = train_post(**checks.each(knobs, RULES), progress=progress)
    s = run.split()
    summary = (
        f"epoch {s['epoch']}: accuracy − val_accuracy = {s[GAP_HEADER]:+.4f} = generalisation "
        f"{s['generalisation']:+.4f} + dropout {s['dropout']:+.4f} + drift {s['drift']:+.4f}"
    )
    return ExploreResult(explorer_figure(run), summary, run, s)


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The widget around :func:`explore`; ``defaults`` set where its controls start."""
    rate = dict(min=0.0, max=0.9, step=0.05, continuous_update=False, readout_format=".2f")
    controls = {
        "dropout_1": w.FloatSlider(**rate),
        "dropout_2": w.FloatSlider(**rate),
        "epochs": w.IntSlider(min=1, max=POST_EPOCHS, continuous_update=False),
    }
    title = "Validation above training? Change dropout and epochs"
    return build_explorer(explore, controls, defaults, RULES, title=title, run_now=run_now)
