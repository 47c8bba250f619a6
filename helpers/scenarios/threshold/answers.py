"""Scenario 03's exercises: expected values computed from the student's own objects.

Used by :func:`helpers.selfcheck.check_exercise` (``check_exercise("threshold",
k, answer_k, ...)``) in ``notebooks/03_fit_says_one.ipynb``. Nothing here is
printed by the notebook; each value is a variation the notebook has not shown.
"""

from __future__ import annotations

from helpers.scenarios.threshold.run import OUTCOMES
from helpers.selfcheck import Exercise

EXERCISE_1_EPOCH = 20  # an epoch the notebook neither tabulates nor plots
EXERCISE_2 = {"seed": 1, "learning_rate": 0.03}
EXERCISE_3_EPOCH = 12
EXERCISE_4_LEARNING_RATE = 0.01


def _perfect_states(recorder, **_) -> int:
    return sum(r["accuracy"] == 1.0 for r in recorder.rows if r["epoch"] == EXERCISE_1_EPOCH)


def _fix_stop(runner, **_) -> int:
    return runner.trajectory(EXERCISE_2["seed"], learning_rate=EXERCISE_2["learning_rate"]).fix_stop


def _logged(run, **_) -> float:
    return float(run.history["accuracy"][EXERCISE_3_EPOCH - 1])


def _perfect_but_running(rates, **_) -> int:
    return rates[EXERCISE_4_LEARNING_RATE].column("outcome").count(OUTCOMES[2])


EXERCISES = {
    1: Exercise(
        name="Exercise 1",
        expected=_perfect_states,
        hint="keep the recorder's rows of that epoch (five moments) and count those whose "
        "accuracy is exactly 1.0",
    ),
    2: Exercise(
        name="Exercise 2",
        expected=_fix_stop,
        hint="run that seed with monitor='val_accuracy', validation=True and the learning rate "
        "of the question, then read .stopped_epoch",
    ),
    3: Exercise(
        name="Exercise 3",
        expected=_logged,
        atol=1e-6,
        hint="with one batch per epoch, the batch is scored by the weights the previous epoch "
        "ended with: read history['eval_accuracy'] one epoch earlier (the list starts at epoch 1)",
    ),
    4: Exercise(
        name="Exercise 4",
        expected=_perfect_but_running,
        hint="take that learning rate's seed table from `rates` and count the rows whose outcome "
        "is the third of th.OUTCOMES",
    ),
}
