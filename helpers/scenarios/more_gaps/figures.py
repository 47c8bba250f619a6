"""Scenario 05: the five sections' figures and one explorer over them.

Introduced in ``notebooks/05_more_gaps.ipynb``. Following the kit's explorer
convention (:mod:`helpers.widgets`): :func:`explore` is the plain function --
it reruns one section with the chosen knobs and draws it -- and
:func:`explorer` wraps it in an :class:`~helpers.widgets.Explorer`.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from helpers import checks
from helpers.batchnorm import recalibrate_batchnorm
from helpers.gap import HEADER, gap
from helpers.modes import evaluate_in_mode
from helpers.scenarios.more_gaps import finetune as ft
from helpers.scenarios.more_gaps import run
from helpers.widgets import Explorer, ExploreResult, explorer_start, progress_callback

SECTIONS = ("penalty", "class_weight", "shuffle", "fine_tune", "batch_size")
# explore()'s knobs and their defaults (the notebook's settings); explorer() starts from these.
COLORS = ("tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange")


def plot_bars(values: dict, *, ax=None, title: str = "", ylabel: str = ""):
    """One bar per named number, the value written above it. Returns the Axes."""
    ax = ax or plt.gca()
    names = list(values)
    bars = ax.bar(
        range(len(names)), [values[n] for n in names], color=COLORS[: len(names)], label=names
    )
    ax.bar_label(bars, fmt="%.3f", fontsize="small")
    ax.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize="small")
    ax.set_xlabel("measurement")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="x-small", loc="best")
    return ax


def plot_penalty(probe, *, ax=None, title: str = "The L2 penalty is in both numbers"):
    """Loss and data loss per epoch, as fit() logged them and as evaluate() measures them. Returns the Axes."""
    ax = ax or plt.gca()
    for metric, style in (("loss", "-"), ("data_loss", "--")):
        for source, color in (("fit", "tab:red"), ("inference", "tab:blue")):
            who = "fit() logged" if source == "fit" else "evaluate() at epoch end"
            ax.plot(
                probe.epochs(metric, source),
                probe.series(metric, source),
                style,
                color=color,
                marker="o",
                ms=3,
                label=f"{metric}, {who}",
            )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (0: the initial weights)")
    ax.set_ylabel("cross-entropy (+ penalty for 'loss')")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_mode_accuracy(
    batch_sizes,
    training,
    inference,
    *,
    ax=None,
    title: str = "Accuracy by batch size, BatchNormalization in each mode",
):
    """Accuracy against batch size, training mode beside inference mode. Returns the Axes."""
    ax = ax or plt.gca()
    ax.plot(batch_sizes, training, "o-", color="tab:red", label="training mode (batch statistics)")
    ax.plot(
        batch_sizes,
        inference,
        "s--",
        color="tab:blue",
        label="inference mode (= evaluate(), predict())",
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(batch_sizes), [str(b) for b in batch_sizes])
    ax.set_xlabel("batch size")
    ax.set_ylabel("accuracy on the 500 test digits")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


# How each knob is checked (helpers.checks); explore() and explorer() accept exactly these keys.
RULES = dict(
    section=lambda n, v: checks.choice(n, v, SECTIONS),
    l2=lambda n, v: checks.number(n, v, low=0, example=0.05),
    class_weight=lambda n, v: checks.number(n, v, low=0, low_open=True, example=10),
    shuffle=checks.flag,
    seed=checks.seed,
    unfrozen=lambda n, v: checks.integer(n, v, low=0, high=ft.BLOCKS, example=1),
    batch_size=lambda n, v: checks.integer(n, v, low=1, high=500, example=8),
)


def checked_settings(**settings) -> dict:
    """Validate explorer settings with :data:`RULES`.

    Raises:
        ValueError: for a name that is not a knob, or a bad value, naming it
            (:func:`helpers.checks.each`).
    """
    return checks.each(settings, RULES)


@functools.lru_cache(maxsize=1)
def digit_folder():
    """Section 3's PNG folder, written once per process under ``scratch_dir()``."""
    return run.write_digit_folder()


def _penalty(s, progress):
    model, history = run.train_penalised(s["l2"], s["seed"])
    x, y = run.flat_digits()
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    values = {
        "evaluate() loss": result["loss"],
        "evaluate() data_loss": result["data_loss"],
        "penalty (sum of model.losses)": run.penalty(model),
    }
    return values, f"L2({s['l2']:g}): evaluate()'s loss includes the penalty", "cross-entropy"


def _class_weight(s, progress):
    model, history = run.train_weighted(s["class_weight"], s["seed"])
    x, y = run.binary_digits()
    weights = run.sample_weights(y, {0: 1.0, 1: s["class_weight"]})
    values = {
        "fit() logged (weighted)": history.history["loss"][-1],
        "evaluate()": model.evaluate(x, y, verbose=0),
        "evaluate(sample_weight)": model.evaluate(x, y, sample_weight=weights, verbose=0),
    }
    values = {k: float(v[0] if isinstance(v, list) else v) for k, v in values.items()}
    return (
        values,
        f"class_weight {{0: 1, 1: {s['class_weight']:g}}}: compare like with like",
        "loss",
    )


def _shuffle(s, progress):
    import keras

    x, y = run.image_digits()
    keras.utils.set_random_seed(s["seed"])
    model = run.build_mlp(inputs=(28, 28, 1), hidden=16, outputs=1)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=32, verbose=0, callbacks=progress_callback(progress))
    ds = keras.utils.image_dataset_from_directory(
        digit_folder(),
        color_mode="grayscale",
        image_size=(28, 28),
        label_mode="binary",
        shuffle=s["shuffle"],
        verbose=False,
    )
    probabilities = model.predict(ds, verbose=0)
    labels = np.concatenate([labels for _, labels in ds])
    values = {
        "evaluate() accuracy": model.evaluate(ds, verbose=0, return_dict=True)["accuracy"],
        "predict() vs labels of a 2nd pass": float(((probabilities > 0.5) == labels).mean()),
    }
    return values, f"image_dataset_from_directory(shuffle={s['shuffle']})", "accuracy"


def _fine_tune(s, progress):
    x, y = ft.small_digits(shifted=True)
    model, history = ft.fine_tune(
        s["unfrozen"], seed=s["seed"], progress_callbacks=progress_callback(progress)
    )
    values = {
        "fit() logged": history.history["accuracy"][-1],
        "evaluate()": model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"],
    }
    if s["unfrozen"]:
        recalibrate_batchnorm(model, x, batch_size=32)
        values["evaluate() after recalibrate_batchnorm"] = model.evaluate(
            x, y, verbose=0, return_dict=True
        )["accuracy"]
    return values, f"{s['unfrozen']} block(s) unfrozen, base called with training=False", "accuracy"


@functools.lru_cache(maxsize=4)
def bn_classifier(seed: int = 0):
    """Section 5's model: ``build_mlp(batchnorm=True)`` fitted for 2 epochs on 3,000 digits."""
    import keras

    x, y = run.flat_digits()
    keras.utils.set_random_seed(seed)
    model = run.build_mlp(batchnorm=True)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    return model


def _batch_size(s, progress):
    model = bn_classifier(s["seed"])
    x, y = run.flat_digits(500, test=True)
    kw = dict(batch_size=s["batch_size"])
    values = {
        "training mode": evaluate_in_mode(model, x, y, mode="training", **kw)["accuracy"],
        "inference mode": evaluate_in_mode(model, x, y, mode="inference", **kw)["accuracy"],
    }
    return (
        values,
        f"BatchNormalization, batches of {s['batch_size']}",
        "accuracy on 500 test digits",
    )


def explore(
    section: str = "penalty",
    l2: float = 0.05,
    class_weight: float = 10.0,
    shuffle: bool = True,
    unfrozen: int = 1,
    batch_size: int = 8,
    seed: int = 0,
    progress=None,
) -> ExploreResult:
    """The explorer's plain function: rerun one section of notebook 05 with these knobs.

    Each section uses its own knob: ``penalty`` → ``l2``; ``class_weight``
    → ``class_weight`` (the weight of the positive class, the other's is 1);
    ``shuffle`` → ``shuffle``; ``fine_tune`` → ``unfrozen`` (blocks of the
    pre-trained base unfrozen); ``batch_size`` → ``batch_size``. ``seed``
    applies to all.

    Returns:
        An :class:`~helpers.widgets.ExploreResult` whose ``values`` are the
        numbers drawn, by name, plus ``gap`` (the first minus the second, the
        kit's sign convention where the first is what fit() logged).

    Raises:
        ValueError: for a bad setting, before any training.

    Example:
        >>> explore(section="dropout")
        Traceback (most recent call last):
        ...
        ValueError: invalid `section`: 'dropout'; expected one of ('penalty', 'class_weight', 'shuffle', 'fine_tune', 'batch_size')
    """
    s = checked_settings(
        section=section,
        l2=l2,
        class_weight=class_weight,
        shuffle=shuffle,
        unfrozen=unfrozen,
        batch_size=batch_size,
        seed=seed,
    )
    measure = {
        "penalty": _penalty,
        "class_weight": _class_weight,
        "shuffle": _shuffle,
        "fine_tune": _fine_tune,
        "batch_size": _batch_size,
    }[s["section"]]
    values, title, ylabel = measure(s, progress)
    values = {k: float(v) for k, v in values.items()}
    first, second = list(values.values())[:2]
    figure = Figure(figsize=(6.4, 3.6), dpi=80)  # not pyplot's: shown once, where the caller wants
    plot_bars(values, ax=figure.add_subplot(), title=title, ylabel=ylabel)
    shown = "; ".join(f"{k} {v:.4f}" for k, v in values.items())
    sign = (
        f" ({HEADER}: {gap(first, second):+.4f})"
        if s["section"] in ("class_weight", "fine_tune")
        else ""
    )
    return ExploreResult(
        figure, f"{title}: {shown}{sign}.", s, {**values, "gap": gap(first, second)}
    )


def explorer(*, run_now: bool = False, **defaults) -> Explorer:
    """The widget over :func:`explore`: a section menu, one control per knob, and a Run button.

    The controls start at :func:`explore`'s defaults, updated by ``defaults``
    (:func:`~helpers.widgets.explorer_start`: a knob that does not exist or a
    bad value raises ValueError). With ``run_now=True`` the first run
    starts as soon as the widget is built.
    """
    import ipywidgets as w

    v = explorer_start(explore, defaults, RULES)
    slider = dict(continuous_update=False)
    controls = {
        "section": w.Dropdown(options=list(SECTIONS), value=v["section"], description="section"),
        "l2": w.FloatLogSlider(
            value=max(v["l2"], 1e-4), base=10, min=-4, max=0, description="1 · l2", **slider
        ),
        "class_weight": w.FloatSlider(
            value=v["class_weight"], min=0.5, max=30, step=0.5, description="2 · class wt", **slider
        ),
        "shuffle": w.Checkbox(value=v["shuffle"], description="3 · shuffle"),
        "unfrozen": w.IntSlider(
            value=v["unfrozen"], min=0, max=ft.BLOCKS, description="4 · unfrozen", **slider
        ),
        "batch_size": w.IntSlider(
            value=v["batch_size"], min=1, max=256, description="5 · batch", **slider
        ),
        "seed": w.IntSlider(value=v["seed"], min=0, max=9, description="seed", **slider),
    }
    return Explorer(
        explore,
        controls,
        run_now=run_now,
        title="Five more gaps: pick a section, turn its knob, press Run",
    )
