"""Scenario 05's explorer (``notebooks/05_more_gaps.ipynb``): :func:`explore` reruns one section
with its knob; :func:`explorer` is the widget over it."""

from __future__ import annotations

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure

from helpers import checks
from helpers.batchnorm import recalibrate_batchnorm
from helpers.gap import HEADER, gap
from helpers.modes import evaluate_in_mode
from helpers.scenarios.more_gaps import run
from helpers.scenarios.more_gaps.figures import plot_bars
from helpers.widgets import Explorer, ExploreResult, build_explorer

SECTIONS = ("class_weight", "fine_tune", "batch_size")
RULES = dict(  # how each knob is checked; explore() and explorer() accept exactly these keys
    section=lambda n, v: checks.choice(n, v, SECTIONS),
    class_weight=lambda n, v: checks.number(n, v, low=0, low_open=True, example=10),
    seed=checks.seed,
    unfrozen=lambda n, v: checks.integer(n, v, low=0, high=run.BLOCKS, example=1),
    batch_size=lambda n, v: checks.integer(n, v, low=1, high=500, example=8),
)


def _class_weight(s, progress):
    model, history = run.train_weighted(s["class_weight"], s["seed"])
    x, y = run.flat_digits()
    y = (y == 0).astype("float32")[:, None]
    weights = np.where(y[:, 0] == 1, s["class_weight"], 1.0)
    return {
        "fit() logged (weighted)": history.history["loss"][-1],
        "evaluate()": model.evaluate(x, y, verbose=0)[0],
        "evaluate(sample_weight)": model.evaluate(x, y, sample_weight=weights, verbose=0)[0],
    }


def _fine_tune(s, progress):
    x, y = run.small_digits(shifted=True)
    model, history = run.fine_tune(s["unfrozen"], seed=s["seed"], progress=progress)
    values = {"fit() logged": history.history["accuracy"][-1]}
    values["evaluate()"] = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    if s["unfrozen"]:
        recalibrate_batchnorm(model, x, batch_size=32)
        accuracy = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
        values["evaluate() after recalibrate_batchnorm"] = accuracy
    return values


def _batch_size(s, progress):
    model, _ = run.train_batchnorm(s["seed"])
    x, y = run.flat_digits(test=True)
    size = s["batch_size"]
    return {
        f"{m} mode": evaluate_in_mode(model, x, y, mode=m, batch_size=size)["accuracy"]
        for m in ("training", "inference")
    }


_TITLES = {
    "class_weight": ("class_weight {{0: 1, 1: {class_weight:g}}}", "loss"),
    "fine_tune": ("{unfrozen} block(s) unfrozen, base called with training=False", "accuracy"),
    "batch_size": ("BatchNormalization, batches of {batch_size}", "accuracy on 500 test digits"),
}


def explore(
    section="class_weight", class_weight=10.0, unfrozen=1, batch_size=8, seed=0, progress=None
) -> ExploreResult:
    """Rerun a section of notebook 05 with its knob: ``class_weight`` (section 2) → the positive
    class's weight, ``fine_tune`` (4) → ``unfrozen`` blocks, ``batch_size`` (5).
    Returns an :class:`~helpers.widgets.ExploreResult`; ``values`` adds ``gap`` (first − second).
    """
    s = checks.each({k: v for k, v in locals().items() if k != "progress"}, RULES)
    measure = dict(zip(SECTIONS, (_class_weight, _fine_tune, _batch_size)))
    values = {k: float(v) for k, v in measure[s["section"]](s, progress).items()}
    title, ylabel = _TITLES[s["section"]][0].format(**s), _TITLES[s["section"]][1]
    figure = Figure(figsize=(6.4, 3.6), dpi=80)  # not pyplot's: shown once, where the caller wants
    plot_bars(values, ax=figure.add_subplot(), title=title, ylabel=ylabel)
    first, second = list(values.values())[:2]
    shown = "; ".join(f"{k} {v:.4f}" for k, v in values.items())
    if s["section"] in ("class_weight", "fine_tune"):
        shown += f" ({HEADER}: {gap(first, second):+.4f})"
    return ExploreResult(figure, f"{title}: {shown}.", s, {**values, "gap": gap(first, second)})


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The widget over :func:`explore`: a section menu and one control per knob, starting at
    :func:`explore`'s defaults updated by ``defaults`` (a bad one raises ValueError)."""
    still = dict(continuous_update=False)
    controls = {
        "section": w.Dropdown(options=list(SECTIONS)),
        "class_weight": w.FloatSlider(
            min=0.5, max=30, step=0.5, description="2 · class wt", **still
        ),
        "unfrozen": w.IntSlider(max=run.BLOCKS, description="4 · unfrozen", **still),
        "batch_size": w.IntSlider(min=1, max=256, description="5 · batch", **still),
        "seed": w.IntSlider(max=9, **still),
    }
    title = "More gaps: pick a section, turn its knob, press Run"
    return build_explorer(explore, controls, defaults, RULES, title=title, run_now=run_now)
