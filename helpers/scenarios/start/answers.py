"""Notebook 00's exercises, checked out of the notebook's sight.

Read by :func:`helpers.selfcheck.check_exercise` (``check_exercise("start", k, answer_k, ...)``)
and by the graded assignments' hidden tests. Exercise 1 and 4 are predictions: the check compares
the student's prediction with what the experiment cell under it measured, passed as context.
Exercise 2 is checked on batches the notebook never shows; exercise 3 is a multiple choice whose
wrong answers are the misconceptions the notebook takes apart.
"""

from __future__ import annotations

import numpy as np

from helpers.selfcheck import Exercise, Misconception


def logged_mean(batch_values, batch_sizes) -> float:
    """Reference for exercise 2: the size-weighted mean of the per-batch values."""
    values, sizes = np.asarray(batch_values, float), np.asarray(batch_sizes, float)
    return float(np.sum(values * sizes) / np.sum(sizes))


def _unweighted(batch_values, batch_sizes) -> float:
    return float(np.mean(batch_values))


def _last_batch(batch_values, batch_sizes) -> float:
    return float(np.asarray(batch_values, float)[-1])


def _cases() -> list[tuple[tuple, dict]]:
    rng = np.random.default_rng(2026)
    cases = []
    for n, size in ((1000, 32), (300, 64), (257, 16), (96, 32)):
        sizes = np.diff(np.r_[0:n:size, n])
        cases.append(((rng.uniform(0.1, 2.5, len(sizes)).tolist(), sizes.tolist()), {}))
    return cases


def _larger(logged: float, evaluated: float) -> str:
    return "a" if logged > evaluated else "b"


EXERCISES = {
    1: Exercise(
        name="Exercise 1",
        kind="choice",
        choices={"a": "the loss fit() logged", "b": "the loss evaluate() gives"},
        hint="after 96 updates with momentum 0.99, how far have BatchNorm's moving averages moved "
        "from their initial values? Which mode uses them?",
        expected=lambda logged, evaluated: _larger(logged, evaluated),
        misconceptions=(
            Misconception(
                wrong=lambda logged, evaluated: "b" if _larger(logged, evaluated) == "a" else "a",
                feedback="this is the rule of thumb from Dropout and drift (training looks worse); "
                "without Dropout, BatchNorm's lagging moving statistics decide the sign",
            ),
        ),
    ),
    2: Exercise(
        name="Exercise 2",
        kind="function",
        hint="each batch counts in proportion to its number of samples",
        expected=lambda: logged_mean,
        cases=_cases,
        atol=1e-9,
        misconceptions=(
            Misconception(
                wrong=lambda: _unweighted,
                feedback="this is the plain mean of the batches: Keras weights each batch by its "
                "size, so a short last batch counts less",
            ),
            Misconception(
                wrong=lambda: _last_batch,
                feedback="this is the last batch's own value; the logged value is the running mean "
                "over the whole epoch",
            ),
        ),
    ),
    3: Exercise(
        name="Exercise 3",
        kind="choice",
        choices={
            "a": "No: Dropout only ever makes the logged loss worse",
            "b": "Yes: drift can outweigh the Dropout part",
            "c": "Yes, only with a different batch size",
            "d": "No: both use the same weights",
        },
        hint="section 2 split the gap into two parts; can the drift part have either sign?",
        expected=lambda: "b",
        misconceptions=(
            Misconception(
                wrong=lambda: "a",
                feedback="Dropout's part is one of two: the drift part (moving weights) has the "
                "sign of how the weights changed during the epoch, and can be negative",
            ),
            Misconception(
                wrong=lambda: "d",
                feedback="the logged loss mixes every batch's before-update weights; evaluate() "
                "uses only the final ones (section 2's callback)",
            ),
            Misconception(
                wrong=lambda: "c",
                feedback="without BatchNorm, a model's inference output for a sample does not "
                "depend on the batch it is in",
            ),
        ),
    ),
    4: Exercise(
        name="Exercise 4",
        hint="look at what BatchNormalization.call does when training=True",
        expected=lambda moved: bool(moved),
        misconceptions=(
            Misconception(
                wrong=lambda moved: not bool(moved),
                feedback="only fit() updates the weights, but BatchNorm updates its moving "
                "statistics inside its own call in training mode, in Keras 3 as in tf.keras 2",
            ),
        ),
    ),
}
