"""Notebook 01's exercises, checked by ``check_exercise("checkpoint", k, ...)``."""

from __future__ import annotations

import functools

import numpy as np

from helpers.selfcheck import Exercise, Misconception, choice_exercise


def checkpoint_files(logged, evaluated, *, shift=0, before=False, ties=False) -> list[tuple]:
    """What ``ModelCheckpoint(monitor="loss", save_best_only=True)`` writes, one batch per epoch.

    ``logged[e - 1]`` is epoch e's logged loss, ``evaluated[k]`` ``evaluate()`` after k updates.
    Returns ``(epoch, logged loss in the file's name, evaluate() of the file)`` per file. The
    keywords make the known wrong versions: 0-based epochs (``shift=-1``), the weights before
    the update, a file on a tie.
    """
    files, best = [], np.inf
    for epoch, loss in enumerate(logged, start=1):
        if loss < best or (ties and loss == best):  # save_best_only: strictly better
            best = loss
            files.append((epoch + shift, float(loss), float(evaluated[epoch - before])))
    return files


def _histories():
    """Exercise 2's hidden cases: noisy logged losses (one with a tie) and their evaluate()s."""
    rng, cases = np.random.default_rng(2017), []
    for epochs in (6, 12, 30):
        evaluated = 1.1 - 0.01 * np.arange(epochs + 1) + 0.02 * rng.random(epochs + 1)
        logged = evaluated[:-1] + 0.4 * rng.standard_normal(epochs)
        cases.append(((logged.tolist(), evaluated.tolist()), {}))
    return cases + [(([0.9, 0.5, 0.7, 0.5, 0.3, 0.3], [1, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7]), {})]


WRONG_FILES = {  # exercise 2's known wrong versions, checkpoint_files(..., keyword=value)
    ("before", True): "the file is not saved before the update: it holds the weights after it.",
    ("shift", -1): "Keras 3 fills {epoch} with the 1-based number the progress bar shows.",
    ("ties", True): "save_best_only writes a file only when the loss is strictly lower: "
    "a tie writes none.",
}


EXERCISES = {
    1: Exercise(
        hint="find the epoch whose logged loss the checkpoint chose; then ask which val_loss "
        "entry was computed on the weights that file holds",
        expected=lambda measured: measured,
        atol=1e-5,
        misconceptions=(
            Misconception(
                lambda history: min(history["loss"]),
                "that is the loss fit() logged, before the update and with Dropout on.",
            ),
            Misconception(
                lambda history: history["val_loss"][int(np.argmin(history["loss"])) - 1],
                "that val_loss is one epoch early: the weights before the update, not the file's.",
            ),
            Misconception(
                lambda history: min(history["val_loss"]),
                "that is the file monitor='val_loss' would keep; this one was chosen by the loss.",
            ),
        ),
    ),
    2: Exercise(
        kind="function",
        hint="walk through the epochs keeping the best loss so far; a file is written when the "
        "loss beats it, and it holds the weights at that epoch's end",
        expected=lambda: checkpoint_files,
        cases=_histories,
        misconceptions=[
            Misconception(lambda k=k, v=v: functools.partial(checkpoint_files, **{k: v}), feedback)
            for (k, v), feedback in WRONG_FILES.items()
        ],
    ),
    3: choice_exercise(
        "ask what BatchNormalization computes in training mode, what it uses in inference mode, "
        "and in which mode each number was measured",
        {
            "a": (
                "BatchNormalization is random, like Dropout: the logged loss was a lucky draw.",
                "BatchNormalization draws nothing at random: with both rows in one batch, the "
                "batch statistics are fixed once the weights are.",
            ),
            "b": (
                "fit() normalises the batch with its own mean and variance; evaluate() uses the "
                "moving averages, which lag behind them.",
                None,
            ),
            "c": (
                "The file holds the weights from before the epoch's update.",
                "the file is saved after the update, and section 2 measured what one update "
                "does: a few hundredths, not a whole unit.",
            ),
            "d": (
                "shuffle=True fed the two rows in another order.",
                "one batch holds both rows and, without Dropout, its loss is a mean over them: "
                "the order changes nothing (section 5).",
            ),
        },
    ),
    4: choice_exercise(
        "section 5's argument needed one batch holding every row; count the updates per epoch",
        {
            "a": (
                "The same history: without Dropout the order of the rows cannot matter.",
                "order does not matter inside one batch (a mean over its rows); with "
                "batch_size=1 the order is the order of the updates.",
            ),
            "b": (
                "Different histories: each row is its own update, and updates in another order "
                "lead to other weights.",
                None,
            ),
            "c": (
                "Different histories, because shuffle=True also draws new Dropout masks.",
                "this model has no Dropout: only the row order is random.",
            ),
        },
        expected=lambda identical: "a" if identical else "b",
    ),
}
