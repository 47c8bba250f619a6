"""Scenario 03's explorer (``notebooks/03_fit_says_one.ipynb``): :func:`explore` and its widget."""

import ipywidgets as w
from matplotlib.figure import Figure

from helpers import checks
from helpers.gap import HEADER, gap
from helpers.scenarios.threshold.figures import plot_errors
from helpers.scenarios.threshold.run import ThresholdRunner
from helpers.widgets import Explorer, ExploreResult, build_explorer, explorer_start

MONITORS = ("accuracy", "val_accuracy", "eval_accuracy")
_RUNNERS: dict[int, ThresholdRunner] = {}  # batch size -> runner, compiled once per session


def explore(
    learning_rate: float = 0.1,
    epochs: int = 300,
    batch_size: int = 128,
    monitor: str = "accuracy",
    seed: int = 0,
    reshuffle: bool = False,
    progress=None,
) -> ExploreResult:
    """Train the post's model (:meth:`ThresholdRunner.trajectory`); stop on ``monitor``: the
    logged ``"accuracy"`` (the post) or the end-of-epoch one (``"val_accuracy"``, the fix, or
    ``"eval_accuracy"``, ``GapProbe(log=True)``). ``progress`` is called once, at the end."""
    checks.choice("monitor", monitor, MONITORS)
    checks.integer("epochs", epochs, low=1, high=1000, example="300 (the post's)")
    checks.number("learning_rate", learning_rate, low=0, low_open=True, example=0.1)
    checks.seed("seed", seed)
    checks.flag("reshuffle", reshuffle)
    if batch_size not in _RUNNERS:
        _RUNNERS[batch_size] = ThresholdRunner(batch_size=batch_size)
    kwargs = {"epochs": epochs, "reshuffle": reshuffle, "learning_rate": learning_rate}
    t = _RUNNERS[batch_size].trajectory(seed, **kwargs)
    stopped = t.post_stop if monitor == "accuracy" else t.fix_stop
    shown = stopped or len(t.accuracy)
    logged, end = t.accuracy[shown - 1], t.end_accuracy[shown - 1]
    if progress is not None:
        progress(shown, shown, {"accuracy": logged})
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")  # not pyplot's: shown only when asked
    title = f"learning rate {learning_rate:g}, batch {batch_size}, stop on {monitor}, seed {seed}"
    ax = fig.subplots()
    plot_errors(t.accuracy[:shown], t.end_accuracy[:shown], stopped=stopped, ax=ax, title=title)
    values = {"stopped_epoch": stopped, "fit_accuracy": logged, "evaluate_accuracy": end}
    values["gap"] = gap(logged, end)
    summary = f"Stopped at epoch {stopped}" if stopped else f"Never stopped in {shown} epochs"
    summary += f": fit() logged accuracy {logged:.3f}, evaluate() says {end:.3f}, "
    summary += f"{HEADER} {values['gap']:+.3f}."
    return ExploreResult(figure=fig, summary=summary, run=t, values=values)


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The widget over :func:`explore`, starting at ``defaults``."""
    sizes = sorted({16, 32, 64, 128, 250, 500, explorer_start(explore, defaults)["batch_size"]})
    wide = dict(style={"description_width": "initial"})
    controls = {
        "learning_rate": w.FloatLogSlider(base=10, min=-3, max=0, step=0.25, **wide),
        "epochs": w.IntSlider(min=10, max=300, step=10, **wide),
        "batch_size": w.Dropdown(options=sizes, **wide),
        "monitor": w.Dropdown(options=list(MONITORS), description="stop on", **wide),
        "seed": w.IntSlider(min=0, max=49, **wide),
        "reshuffle": w.Checkbox(description="reshuffle every epoch", **wide),
    }
    title = "Stop at 1.0: fit() vs evaluate()"
    return build_explorer(explore, controls, defaults, title=title, run_now=run_now)
