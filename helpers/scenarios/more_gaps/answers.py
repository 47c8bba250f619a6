"""Scenario 05's exercises: expected values computed out of the notebook's sight.

Read by :func:`helpers.selfcheck.check_exercise` (``check_exercise("more_gaps",
k, answer_k, ...)``) and by the graded assignments' hidden tests. Exercises 1
and 2 are variations the notebook does not print (a weaker penalty, a milder
class weight): their expected values come from :func:`train_penalised` and
:func:`train_weighted`, which replay the student's plain ``fit()`` bit for bit
when both set the same seed before building the model (the notebook asserts
this for its own settings). Exercise 3 is computed from the student's own
model. Tolerances are far below the differences between settings and far
above float noise; both sides run on the same machine.
"""

from __future__ import annotations

from helpers.modes import preserved_state
from helpers.scenarios.more_gaps.finetune import batched_outputs
from helpers.scenarios.more_gaps.run import (
    binary_digits,
    flat_digits,
    sample_weights,
    train_penalised,
    train_weighted,
)
from helpers.selfcheck import Exercise

WEAK_L2 = 0.01  # exercise 1
MILD_WEIGHT = 3.0  # exercise 2
TRAINING_BATCH = 16  # exercise 3


def evaluated_penalty(l2: float = WEAK_L2, seed: int = 0) -> float:
    """Section 1's run with ``l2``: evaluate()'s loss minus its data loss."""
    model, _ = train_penalised(l2, seed)
    x, y = flat_digits()
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    return result["loss"] - result["data_loss"]


def weighting_part(ratio: float = MILD_WEIGHT, seed: int = 0) -> float:
    """Section 2's run with ``class_weight={0: 1, 1: ratio}``: evaluate(sample_weight) − evaluate()."""
    model, _ = train_weighted(ratio, seed)
    x, y = binary_digits()
    weighted = model.evaluate(x, y, sample_weight=sample_weights(y, {0: 1.0, 1: ratio}), verbose=0)
    return float(weighted[0]) - float(model.evaluate(x, y, verbose=0)[0])


def training_mode_accuracy(model, batch_size: int = TRAINING_BATCH) -> float:
    """Accuracy on the 500 test digits of ``model(x_batch, training=True)``, batch by batch; model unchanged."""
    x, y = flat_digits(500, test=True)
    with preserved_state(model):
        outputs = batched_outputs(model, x, batch_size, training=True)
    return float((outputs.argmax(axis=1) == y).mean())


# Per exercise: the hint (a method, never a value), the expected value's function and its tolerances.
_SPECS = {
    1: (
        "set the seed to 0, build_mlp(l2=0.01), compile as in section 1 (with the data_loss metric), fit "
        "3 epochs with batch_size=32, then subtract evaluate()'s data_loss from its loss",
        lambda: evaluated_penalty(WEAK_L2, 0),
        dict(rtol=1e-3, atol=1e-4),
    ),
    2: (
        "replay section 2 with class_weight={0: 1, 1: 3}; build the weights with mg.sample_weights and "
        "subtract the unweighted evaluate() loss from the weighted one",
        lambda: weighting_part(MILD_WEIGHT, 0),
        dict(rtol=1e-3, atol=1e-4),
    ),
    3: (
        "call the model with training=True on batches of 16 (as in section 5, inside preserved_state), "
        "take the argmax and compare with y_test",
        lambda model: training_mode_accuracy(model, TRAINING_BATCH),
        dict(atol=0.0021),
    ),
}
EXERCISES = {
    k: Exercise(name=f"Exercise {k}", hint=hint, expected=expected, **tolerance)
    for k, (hint, expected, tolerance) in _SPECS.items()
}
