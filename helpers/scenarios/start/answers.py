"""Notebook 00's exercises, checked by ``check_exercise("start", k, ...)``."""

from __future__ import annotations

import numpy as np

from helpers.selfcheck import Exercise, Misconception, choice_exercise


def logged_mean(batch_values, batch_sizes) -> float:
    """Reference for exercise 2: the size-weighted mean of the per-batch values."""
    values, sizes = np.asarray(batch_values, float), np.asarray(batch_sizes, float)
    return float(np.sum(values * sizes) / np.sum(sizes))


def _cases() -> list[tuple[tuple, dict]]:
    rng, cases = np.random.default_rng(2026), []
    for n, size in ((1000, 32), (300, 64), (257, 16), (96, 32)):
        sizes = np.diff(np.r_[0:n:size, n])
        cases.append(((rng.uniform(0.1, 2.5, len(sizes)).tolist(), sizes.tolist()), {}))
    return cases


EXERCISES = {
    1: choice_exercise(
        "after 96 updates with momentum 0.99, how far have BatchNorm's moving averages moved "
        "from their initial values? Which mode uses them?",
        {
            "a": (
                "the loss fit() logged",
                "this is the rule of thumb from Dropout and drift (training looks worse); "
                "without Dropout, BatchNorm's lagging moving statistics decide the sign",
            ),
            "b": ("the loss evaluate() gives", None),
        },
        expected=lambda logged, evaluated: "a" if logged > evaluated else "b",
    ),
    2: Exercise(
        kind="function",
        hint="each batch counts in proportion to its number of samples",
        expected=lambda: logged_mean,
        cases=_cases,
        atol=1e-9,
        misconceptions=(
            Misconception(
                wrong=lambda: lambda batch_values, batch_sizes: float(np.mean(batch_values)),
                feedback="this is the plain mean of the batches: Keras weights each batch by its "
                "size, so a short last batch counts less",
            ),
            Misconception(
                wrong=lambda: lambda batch_values, batch_sizes: float(batch_values[-1]),
                feedback="this is the last batch's own value; the logged value is the running mean "
                "over the whole epoch",
            ),
        ),
    ),
    3: choice_exercise(
        "section 2 split the gap into two parts; can the drift part have either sign?",
        {
            "a": (
                "No: Dropout only ever makes the logged loss worse",
                "Dropout's part is one of two: the drift part (moving weights) has the sign of "
                "how the weights changed during the epoch, and can be negative",
            ),
            "b": ("Yes: drift can outweigh the Dropout part", None),
            "c": (
                "Yes, only with a different batch size",
                "without BatchNorm, a model's inference output for a sample does not depend on "
                "the batch it is in",
            ),
            "d": (
                "No: both use the same weights",
                "the logged loss mixes every batch's before-update weights; evaluate() uses only "
                "the final ones (section 2's callback)",
            ),
        },
    ),
    4: Exercise(
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
