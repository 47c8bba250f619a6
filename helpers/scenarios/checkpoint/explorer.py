"""Scenario 01's explorer (``notebooks/01_checkpoint_mismatch.ipynb``): the widget over
:func:`explore`, the plain function the tests call."""

from __future__ import annotations

import ipywidgets as w
from matplotlib.figure import Figure

from helpers import HEADER, Explorer, ExploreResult, checks, gap
from helpers.scenarios.checkpoint.figures import plot_timeline
from helpers.scenarios.checkpoint.run import CHECKPOINT_MONITORS, LN2, post_data, train_checkpointed
from helpers.widgets import build_explorer

RULES = {  # each knob's check from helpers.checks, called as rule(name, value)
    "dropout_1": checks.rate,
    "dropout_2": checks.rate,
    "shuffle": checks.flag,
    "seed": checks.seed,
    "epochs": lambda name, value: checks.positive_int(name, value, example=50),
    "monitor": lambda name, value: checks.choice(name, value, CHECKPOINT_MONITORS),
}


def explore(
    dropout_1=0.2, dropout_2=0.15, epochs=50, shuffle=True, monitor="loss", seed=0, progress=None
) -> ExploreResult:
    """Train on the post's data (``monitor="val_loss"``: with them as ``validation_data``).

    Returns an :class:`~helpers.ExploreResult` whose ``values`` are ``best_epoch``,
    ``best_logged``, ``evaluated``, ``gap`` (logged − evaluate()) and ``files``.
    """
    knobs = dict(dropout_1=dropout_1, dropout_2=dropout_2, epochs=epochs, shuffle=shuffle)
    s = checks.each({**knobs, "monitor": monitor, "seed": seed}, RULES)
    x, y = post_data()
    key, rates = s["monitor"], (s["dropout_1"], s["dropout_2"])
    fit = dict(epochs=s["epochs"], shuffle=s["shuffle"], seed=s["seed"], progress=progress)
    run = train_checkpointed(
        x, y, dropout=rates, validation_data=(x, y) if key != "loss" else None, **fit
    )
    evaluated, best, epoch = run.evaluate_best(x, y, key), run.best_logged(key), run.best_epoch(key)
    values = dict(best_epoch=epoch, best_logged=best, evaluated=evaluated)
    values.update(gap=gap(best, evaluated), files=len(run.files(key)))
    figure = Figure(figsize=(6.4, 3.6), dpi=80)  # not pyplot's: shown once, where the caller wants
    plot_timeline(
        run.history["loss"],
        run.inference_losses(x, y),
        epoch,
        floor=LN2,
        ax=figure.add_subplot(),
        title=f"monitor={key!r}: {HEADER} {values['gap']:+.3f}",
    )
    summary = (
        f"Best {key} logged: {best:.4f} at epoch {epoch}; evaluate() of that "
        f"checkpoint: {evaluated:.4f} ({HEADER}: {values['gap']:+.4f}); {values['files']} files saved."
    )
    return ExploreResult(figure, summary, run, values)


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The widget over :func:`explore`, starting at its defaults (the post's) updated by
    ``defaults``; ``run_now`` runs once."""
    still = dict(continuous_update=False)  # train on release, not while dragging
    rate = dict(min=0.0, max=0.9, step=0.05, readout_format=".2f", **still)
    controls = {
        "dropout_1": w.FloatSlider(**rate),
        "dropout_2": w.FloatSlider(**rate),
        "epochs": w.IntSlider(min=5, max=150, step=5, **still),
        "shuffle": w.Checkbox(),
        "monitor": w.Dropdown(options=list(CHECKPOINT_MONITORS)),
        "seed": w.IntSlider(min=0, max=9, **still),
    }
    title = "Which epoch does the best checkpoint hold, and what does evaluate() say?"
    return build_explorer(explore, controls, defaults, RULES, title=title, run_now=run_now)
