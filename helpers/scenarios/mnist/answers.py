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

import math

from helpers.scenarios.mnist.forward import accuracies
from helpers.scenarios.mnist.run import MnistRun
from helpers.selfcheck import Exercise


def loss_gap(*, history, model, x_train, y_train, **_) -> float:
    """Exercise 1: the last epoch's logged loss minus ``evaluate()``'s loss on the training digits."""
    evaluated = model.evaluate(x_train, y_train, batch_size=500, verbose=0, return_dict=True)["loss"]
    return float(history.history["loss"][-1]) - float(evaluated)


def validation_with_dropout(*, model, x_val, y_val, **_) -> float:
    """Exercise 2: validation accuracy with Dropout on (the mean of five sets of masks)."""
    draws = accuracies(model, x_val, y_val, draws=5)[1]
    return math.fsum(draws) / len(draws)


def next_logged(*, one_batch, **_) -> float:
    """Exercise 3: what ``fit()`` would log in the one-batch run's next epoch.

    With one batch per epoch and no shuffling, the logged accuracy of epoch
    e + 1 is the training-mode accuracy of the weights at the end of epoch e
    (section 4b asserts it for every epoch), which the probe measured.
    """
    return float(one_batch.probe.series("accuracy", "training")[-1])


def dropout_part_without_first(*, run, **_) -> float:
    """Exercise 4: the dropout part after 2 epochs with only the second Dropout (0.5) on."""
    wanted = isinstance(run, MnistRun) and run.settings["dropout"] == (0.0, 0.5) and run.settings["epochs"] == 2
    return run.split().dropout if wanted and run.settings["seed"] == 0 else math.nan


HINTS = {
    1: "take the last logged 'loss' from history.history and subtract what "
       "model.evaluate(x_train, y_train, return_dict=True) gives for 'loss' (logged first)",
    2: "measure the validation digits with helpers.evaluate_in_mode(..., mode='training') and read its 'accuracy'",
    3: "section 4b: the logged value of epoch e is a training-mode measurement of the weights from the end "
       "of epoch e − 1; which probe series holds that for the last epoch?",
    4: "train with mnist.train_post(dropout_1=0.0, epochs=2, data=data) (seed 0, as the post's run) and "
       "read the dropout part of its split()",
}
# number: (expected, atol). Exercise 2's tolerance is three standard deviations of the
# dropout masks' luck on 500 digits; the others only absorb float rounding.
_EXPECTED = {1: (loss_gap, 1e-4), 2: (validation_with_dropout, 0.025), 3: (next_logged, 1e-6),
             4: (dropout_part_without_first, 0.01)}
EXERCISES = {k: Exercise(name=f"Exercise {k}", hint=HINTS[k], expected=expected, atol=atol)
             for k, (expected, atol) in _EXPECTED.items()}
