"""Scenario 02's exercises: expected values computed from the student's own objects.

Used by the check cells of ``notebooks/02_validation_above_training.ipynb``
through :func:`helpers.selfcheck.check_exercise`, e.g.
``check_exercise("mnist", 1, answer_1, history=history, model=model, ...)``.
Each expected value is computed here, out of the notebook's sight, from the
objects the check cell passes, so it follows the student's own run; none is
printed in the notebook. Tolerances cover what a change of CPU or of the
dropout masks can move, and no more.
"""

from __future__ import annotations

from helpers.modes import evaluate_in_mode
from helpers.selfcheck import Exercise


def loss_gap(*, history, model, x_train, y_train, **_) -> float:
    """Exercise 1: the last epoch's logged loss minus ``evaluate()``'s loss on the training digits."""
    evaluated = model.evaluate(x_train, y_train, batch_size=500, verbose=0, return_dict=True)[
        "loss"
    ]
    return float(history.history["loss"][-1]) - float(evaluated)


def validation_with_dropout(*, model, x_val, y_val, **_) -> float:
    """Exercise 2: validation accuracy with Dropout on, measured as the hint suggests.

    ``evaluate_in_mode`` restores the dropout seeds, so the same call gives
    the same masks; another valid measurement differs by the masks' luck.
    """
    return evaluate_in_mode(model, x_val, y_val, mode="training")["accuracy"]


def next_logged(*, one_batch, **_) -> float:
    """Exercise 3: what ``fit()`` would log in the one-batch run's next epoch.

    With one batch per epoch and no shuffling, the logged accuracy of epoch
    e + 1 is the training-mode accuracy of the weights at the end of epoch e
    (section 4b asserts it for every epoch), which the probe measured.
    """
    return float(one_batch.probe.series("accuracy", "training")[-1])


# The post's last epoch (Keras 2.0.4, 50 epochs), as its printout shows it.
POST_LAST_EPOCH = {
    "logged": 0.95033333381017049,
    "validation": 0.975999997138977,
    "evaluated_train": 1.0,
}


def post_split(**_) -> list[float]:
    """Exercise 4: ``[generalisation, dropout + drift]`` of the post's own last epoch."""
    post = POST_LAST_EPOCH
    return [post["evaluated_train"] - post["validation"], post["logged"] - post["evaluated_train"]]


HINTS = {
    1: "take the last logged 'loss' from history.history and subtract what "
    "model.evaluate(x_train, y_train, return_dict=True) gives for 'loss' (logged first)",
    2: "measure the validation digits with helpers.evaluate_in_mode(..., mode='training') and read its 'accuracy'",
    3: "section 4b: the logged value of epoch e is a training-mode measurement of the weights from the end "
    "of epoch e − 1; which probe series holds that for the last epoch?",
    4: "section 3: each part is the difference of two of these measurements, in the order of the kit's sign; "
    "dropout and drift together lead from evaluate() on the training digits to the logged number",
}
# number: (expected, atol). Exercise 2's tolerance is 2.4 standard deviations of the dropout
# masks' luck on the 500 validation digits (0.0124, measured over 30 sets of masks after 10
# epochs), a third of what switching Dropout off changes; exercise 4's absorbs the post's numbers rounded to 4
# decimals; the others only absorb float rounding.
_EXPECTED = {
    1: (loss_gap, 1e-4),
    2: (validation_with_dropout, 0.03),
    3: (next_logged, 1e-6),
    4: (post_split, 1e-3),
}
EXERCISES = {
    k: Exercise(name=f"Exercise {k}", hint=HINTS[k], expected=expected, atol=atol)
    for k, (expected, atol) in _EXPECTED.items()
}
