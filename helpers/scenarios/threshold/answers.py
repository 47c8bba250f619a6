"""Notebook 03's exercises, checked by ``check_exercise("threshold", k, ...)``."""

import numpy as np

from helpers.selfcheck import Exercise, Misconception, choice_exercise


def measured_moment(logged, ends) -> str:
    """Exercise 1: whose ``evaluate()`` (``ends[e]``: after epoch e+1) a one-batch epoch logs."""
    logged, ends = np.float32(logged), np.float32(ends)
    if np.array_equal(logged[1:], ends[:-1]):
        return "b"  # the end of the previous epoch: the weights before the epoch's only update
    return "a" if np.array_equal(logged, ends) else "d"


def batch_values(running, sizes) -> np.ndarray:
    """Exercise 2's reference: each batch's own value from the running means Keras logs."""
    running, sizes = np.asarray(running, float), np.asarray(sizes, float)
    return np.diff(running * np.cumsum(sizes), prepend=0.0) / sizes


def _equal_sizes(running, sizes):
    b, running = np.arange(len(running)), np.asarray(running, float)
    return (b + 1) * running - b * np.r_[0.0, running[:-1]]


def _cases() -> list[tuple[tuple, dict]]:
    rng, cases = np.random.default_rng(2026), []
    for n, size in ((500, 128), (1000, 64), (300, 32), (77, 10)):
        sizes = np.diff(np.r_[0:n:size, n])  # the last batch is smaller, as in the post's 116
        values = rng.integers(0, sizes + 1) / sizes  # accuracies: right answers / batch size
        running = np.cumsum(values * sizes) / np.cumsum(sizes)
        cases.append(((running.tolist(), sizes.tolist()), {}))
    return cases


NO_MODES = "this model has no Dropout or BatchNormalization: both modes give the same outputs"
BEFORE = "fit() scores a batch with the weights it had before its update, not after"
EXERCISES = {
    1: choice_exercise(
        "which weights score the epoch's only batch: the ones before or after its update?",
        {
            "a": ("evaluate() at the end of epoch e", BEFORE),
            "b": ("evaluate() at the end of epoch e − 1", None),
            "c": ("neither: fit() scores in training mode", NO_MODES),
            "d": ("neither: an average between the two", "one batch per epoch: nothing to average"),
        },
        expected=measured_moment,
    ),
    2: Exercise(
        kind="function",
        hint="running mean × points so far = right points so far; difference those totals and "
        "divide by each batch's own size",
        expected=lambda: batch_values,
        cases=_cases,
        atol=1e-9,
        misconceptions=(
            Misconception(
                wrong=lambda: lambda running, sizes: np.diff(running, prepend=0.0),
                feedback="this is how far the running mean moved; a batch moves it by its share",
            ),
            Misconception(
                wrong=lambda: _equal_sizes,
                feedback="this assumes equal batches: the smaller last batch counts less",
            ),
            Misconception(
                wrong=lambda: lambda running, sizes: np.asarray(running, float),
                feedback="these are the running means Keras logs, not each batch's own value",
            ),
        ),
    ),
    3: choice_exercise(
        "compare the columns of section 2's batch table: which weights scored which points?",
        {
            "a": ("inference mode in evaluate(), training mode in fit()", NO_MODES),
            "b": ("the progress bar rounds up", "History holds exactly 1.0: no rounding involved"),
            "c": ("each batch right for the weights before its update; later ones moved", None),
            "d": (
                "evaluate()'s batches of 32",
                "batching does not change how many points are right",
            ),
            "e": ("fit() scores after the update", BEFORE),
        },
    ),
    4: choice_exercise(
        "which weights does ModelCheckpoint save, and which weights scored the epoch's batches? "
        "Section 3 counts the epochs on each side",
        {
            "a": (
                "exactly 0.9990",
                "one weight state per batch earned it; the file holds the last",
            ),
            "b": ("at least 0.9990", "updates do not help every point: see section 3's counts"),
            "c": ("above or below 0.9990", None),
            "d": ("below, because of inference mode", NO_MODES),
        },
    ),
}
