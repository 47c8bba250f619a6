"""The entry notebook's exercises: expected values computed from the student's own objects.

Used by the check cells of ``notebooks/00_start_here.ipynb`` through
:func:`helpers.selfcheck.check_exercise`, e.g.
``check_exercise("start", 3, answer_3, model=model, x=x_train, y=y_train)``.
Each exercise is a variation the notebook does not print (another epoch and
metric, another batch, another batch size, another seed). Its expected value
is computed here, at check time, from the objects the check cell passes, so
it follows the student's own run on the student's own CPU; the tolerances
only absorb the difference between two correct routes to the same number
(eager against compiled, one batch size against another for ``evaluate()``).
An object that is not what the exercise asks for (a stub ``...``, a run with
other settings) gives NaN, which no answer matches.
"""

from __future__ import annotations

import math

from helpers.gap import gap
from helpers.modes import evaluate_in_mode
from helpers.reproducibility import import_tensorflow_quietly
from helpers.selfcheck import Exercise

keras = import_tensorflow_quietly()[1]

EXERCISE_1 = {"epoch": 3, "metric": "accuracy"}  # the notebook prints only the loss per epoch
EXERCISE_2 = {"epoch": 2, "batch": 10}  # 0-based, as in Keras's hooks; not the epoch's last batch
EXERCISE_3 = {
    "batch_size": 1000
}  # all the training digits in one batch; section 3 measures with 32
EXERCISE_4 = {"seed": 1, "epochs": 5, "batch_size": 32}  # section 1 trains seed 0


def accuracy_gap(*, probe, **_) -> float:
    """Exercise 1: the probe's logged accuracy minus its inference-mode accuracy, epoch 3."""
    wanted = {
        source: r["value"]
        for r in getattr(probe, "rows", [])
        for source in ("fit", "inference")
        if r["source"] == source
        and r["metric"] == EXERCISE_1["metric"]
        and r["epoch"] == EXERCISE_1["epoch"]
    }
    return gap(wanted["fit"], wanted["inference"]) if len(wanted) == 2 else math.nan


def replayed_accuracy(*, recorder, **_) -> float:
    """Exercise 2: one batch's own accuracy, from the running means Keras logged.

    After batch b Keras logs the mean over batches 0…b, weighted by their
    sizes; every batch but an epoch's last has the same size, so batch b's
    own value is (b + 1)·mean_b − b·mean_(b−1) whatever that size is. A
    replay from the weights the batch started from gives the same number
    (section 1 shows it for the loss).
    """
    logs = getattr(recorder, "logs", {})
    epoch, b = EXERCISE_2["epoch"], EXERCISE_2["batch"]
    if (epoch, b + 1) not in logs or (epoch, b - 1) not in logs:
        return math.nan
    return (b + 1) * logs[(epoch, b)]["accuracy"] - b * logs[(epoch, b - 1)]["accuracy"]


def batchnorm_part(*, model, x, y, **_) -> float:
    """Exercise 3: BatchNorm alone in training mode minus inference mode, loss, one batch of 1,000."""
    if not isinstance(model, keras.Model) or not getattr(model, "compiled", False):
        return math.nan
    alone = evaluate_in_mode(model, x, y, mode={"batchnorm"}, batch_size=EXERCISE_3["batch_size"])
    return alone["loss"] - evaluate_in_mode(model, x, y)["loss"]


def seed_gap(*, model, history, x, y, **_) -> float:
    """Exercise 4: the loss gap after the last epoch of the student's seed-1 run.

    The run must be the one the question asks for: ``history`` returned by
    ``fit()`` of ``model``, 5 epochs of batches of 32 on ``x``. (The seed
    itself leaves no trace in the trained objects.)
    """
    if (
        not isinstance(history, keras.callbacks.History)
        or getattr(history, "model", None) is not model
    ):
        return math.nan
    steps = math.ceil(len(x) / EXERCISE_4["batch_size"])
    if history.params.get("epochs") != EXERCISE_4["epochs"] or history.params.get("steps") != steps:
        return math.nan
    evaluated = model.evaluate(
        x, y, batch_size=EXERCISE_4["batch_size"], verbose=0, return_dict=True
    )
    return gap(history.history["loss"][-1], evaluated["loss"])


HINTS = {
    1: "the probe measured both numbers: take the row of that epoch in probe.wide('accuracy') and "
    "apply gap(), the logged value first",
    2: "load the weights recorder kept for the start of that batch into replay, run the batch's 32 "
    "digits in training mode, and count how often the arg-max of the prediction is the label",
    3: "evaluate_in_mode(model, ..., mode={'batchnorm'}, batch_size=...) minus the loss in inference "
    "mode; decompose_gap(..., batch_size=...) gives the same part",
    4: "keras.utils.set_random_seed(1), then keras.models.clone_model(model) for fresh weights; compile "
    "and fit as in section 1, keep the History, and apply gap() to the last logged loss and evaluate()'s",
}
# number: (expected, atol). A batch's accuracy moves in steps of 1/32; the losses only absorb
# the rounding between two correct routes to the same number.
_EXPECTED = {
    1: (accuracy_gap, 1e-6),
    2: (replayed_accuracy, 1e-3),
    3: (batchnorm_part, 1e-4),
    4: (seed_gap, 1e-4),
}
EXERCISES = {
    k: Exercise(name=f"Exercise {k}", hint=HINTS[k], expected=expected, atol=atol)
    for k, (expected, atol) in _EXPECTED.items()
}
