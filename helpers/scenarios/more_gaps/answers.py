"""Notebook 05's exercises, checked by ``check_exercise("more_gaps", k, ...)``."""

from __future__ import annotations

import functools

import numpy as np

from helpers.selfcheck import Exercise, Misconception, choice_exercise


def penalty_choice(history: dict) -> str:
    """Exercise 1's answer from a run's history (the two gaps differ by the penalty's part)."""
    last = {key: values[-1] for key, values in history.items()}
    difference = (last["loss"] - last["val_loss"]) - (last["data_loss"] - last["val_data_loss"])
    if abs(difference) < 0.005:
        return "a"
    if difference > 0.5 * (last["val_loss"] - last["val_data_loss"]):
        return "b"
    return "c" if difference > 0 else "d"


def fit_loss(y_true, y_prob, class_weight, penalty, *, by="samples", weighted=True, times=1):
    """The loss ``fit()`` logs for one batch: Σ wᵢ ℓᵢ / N, plus the penalty once. The keywords
    give the misconceptions: ``by="weights"`` (÷ Σ wᵢ), ``weighted=False``, ``times=2`` or 0."""
    p = np.clip(y_prob, 1e-7, 1 - 1e-7)
    losses = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))[:, 0]
    weights = np.array([class_weight[int(label)] if weighted else 1.0 for label in y_true[:, 0]])
    divisor = weights.sum() if by == "weights" else len(losses)
    return float((weights * losses).sum() / divisor + times * penalty)


WRONG_LOSSES = {  # exercise 2's known wrong versions, fit_loss(..., mistake=value)
    ("by", "weights"): "this divides by the sum of the weights, as a weighted metric does; the "
    "loss divides by the number of samples",
    ("times", 2): "this counts the L2 penalty twice: compute_loss adds model.losses once per batch",
    ("weighted", False): "this ignores class_weight: fit() multiplies each sample's loss by its "
    "weight",
    ("times", 0): "this leaves the penalty out: fit()'s loss includes the sum of model.losses",
}


def _cases():
    rng, cases = np.random.default_rng(2026), []
    for n, class_weight, penalty in ((7, {0: 1, 1: 10}, 0.3), (40, {0: 2, 1: 0.5}, 0.05)):
        y = (rng.random((n, 1)) < 0.3).astype("float32")
        y[:2] = [[0.0], [1.0]]  # both classes in every case
        p = rng.uniform(0.02, 0.98, size=(n, 1)).astype("float32")
        cases.append(((y, p, class_weight, penalty), {}))
    return cases


EXERCISES = {
    1: choice_exercise(
        "write each gap as data part + penalty part; which penalty does each side carry?",
        {
            "a": (
                "the same: the L2 penalty is in both losses, so it cancels",
                "the penalty is in both, but not the same penalty: fit()'s loss averages it "
                "over the epoch's batches while it shrinks; val_loss has its end-of-epoch value",
            ),
            "b": (
                "larger by about the whole penalty (the sum of model.losses)",
                "this is the FAQ's 'regularisation is off at test time': val_loss includes the "
                "L2 penalty (section 1)",
            ),
            "c": ("larger by a little: a few hundredths", None),
            "d": (
                "smaller",
                "the penalty shrinks during the epoch, so its average in fit()'s loss is above "
                "its end-of-epoch value in val_loss, not below",
            ),
        },
        expected=penalty_choice,
    ),
    2: Exercise(
        kind="function",
        hint="per-sample cross-entropy times each sample's class weight, summed and divided as "
        "Keras's 'sum_over_batch_size' reduction divides; then the penalty",
        expected=lambda: fit_loss,
        cases=_cases,
        misconceptions=[
            Misconception(lambda k=k, v=v: functools.partial(fit_loss, **{k: v}), feedback)
            for (k, v), feedback in WRONG_LOSSES.items()
        ],
        rtol=1e-4,
    ),
    3: choice_exercise(
        "count the passes over the dataset the cell makes, and what each pass does",
        {
            "a": (
                "predict() runs the model in training mode, so its outputs are noisy",
                "predict() runs in inference mode, and this model has no Dropout or "
                "BatchNormalization: its outputs are deterministic",
            ),
            "b": (
                "the dataset reshuffles on every pass: predict() reads the images in one order, "
                "the list comprehension reads the labels in another",
                None,
            ),
            "c": (
                "the model does not generalise from the training arrays to the PNG files",
                "evaluate() on the same PNG files scores far above chance: the model "
                "generalises, only the pairing is broken",
            ),
        },
    ),
    4: choice_exercise(
        "compare accuracy in training mode with inference mode, and after recalibrating",
        {
            "a": (
                "base(inputs, training=False) kept bn2 in inference mode, so it never adapted",
                "bn2's moving statistics moved during fit(): an unfrozen BatchNormalization "
                "layer runs in training mode inside fit() whatever the base was called with",
            ),
            "b": (
                "inside fit() bn2 normalised with each batch's statistics, while its moving "
                "averages (momentum 0.99) covered only part of the way to the new data's; "
                "evaluate() uses the moving averages",
                None,
            ),
            "c": (
                "the new head overfitted the training images",
                "evaluate() scored the very images the head was trained on: overfitting would "
                "make it better there, not worse than chance",
            ),
        },
    ),
}
