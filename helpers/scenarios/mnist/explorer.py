"""Scenario 02's explorer: :func:`explore` trains with two dropout rates and draws the gap's
parts; :func:`explorer` is its widget (:mod:`helpers.widgets`)."""

from __future__ import annotations

from collections.abc import Callable

from helpers import checks
from helpers.scenarios.mnist.figures import explorer_figure
from helpers.scenarios.mnist.run import GAP_HEADER, POST_DROPOUT, POST_EPOCHS, train_post
from helpers.widgets import Explorer, ExploreResult, explorer_start

RULES = {
    "dropout_1": checks.rate,
    "dropout_2": checks.rate,
    "epochs": lambda name, value: checks.integer(name, value, low=1, high=POST_EPOCHS, example=2),
}


def explore(
    dropout_1: float = POST_DROPOUT[0],
    dropout_2: float = POST_DROPOUT[1],
    epochs: int = 2,
    progress: Callable | None = None,
) -> ExploreResult:
    """Train the post's CNN (:func:`~helpers.scenarios.mnist.run.train_post`, seed 0) and draw it.

    Args:
        dropout_1: Rate of the Dropout after the convolutions. Defaults to 0.25.
        dropout_2: Rate of the Dropout before the last layer. Defaults to 0.5.
        epochs: Epochs, 1 to the post's 50. Defaults to 2 (a few seconds on a quiet CPU).
        progress: ``progress(epoch, epochs, logs)``. Defaults to None.

    Returns:
        An :class:`~helpers.widgets.ExploreResult`; its ``values`` are the last epoch's
        :meth:`~helpers.scenarios.mnist.run.MnistRun.split`.
    """
    knobs = dict(dropout_1=dropout_1, dropout_2=dropout_2, epochs=epochs)
    run = train_post(**{k: RULES[k](k, v) for k, v in knobs.items()}, progress=progress)
    s = run.split()
    summary = (
        f"epoch {s['epoch']}: accuracy − val_accuracy = {s[GAP_HEADER]:+.4f} = generalisation "
        f"{s['generalisation']:+.4f} + dropout {s['dropout']:+.4f} + drift {s['drift']:+.4f}"
    )
    return ExploreResult(explorer_figure(run), summary, run, s)


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The widget around :func:`explore`; ``defaults`` set where its controls start."""
    import ipywidgets as widgets

    start = explorer_start(explore, defaults, RULES)
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
    title = "Validation above training? Change dropout and epochs"
    return Explorer(explore, controls, title=title, run_now=run_now)
