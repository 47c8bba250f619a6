"""Notebook 06's exercises, checked by ``check_exercise("doctor", k, ...)``."""

from __future__ import annotations

import numpy as np

from helpers.selfcheck import Exercise, Misconception, choice_exercise


def dropout_sign(diagnosis) -> str:
    """Exercise 1's key for the sign of the measured Dropout size in accuracy."""
    size = diagnosis.size("dropout", "accuracy")
    return "a" if size < 0 else "b" if size > 0 else "c"


def class_weight_part(losses, labels, class_weight, *, per_weight=False) -> float:
    """Reference for exercise 3: fit()'s class-weighted loss (Σ wᵢ ℓᵢ / N) minus the unweighted
    one; ``per_weight=True`` divides by Σ wᵢ instead (the misconception)."""
    weights = np.array([float(class_weight[int(c)]) for c in labels])
    losses = np.asarray(losses, dtype=float)
    divisor = np.sum(weights) if per_weight else len(losses)
    return float(np.sum(weights * losses) / divisor - np.mean(losses))


def _cases() -> list:
    rng, cases = np.random.default_rng(2606), []
    for n, classes, weights in (
        (50, 2, {0: 1, 1: 10}),
        (37, 3, {0: 0.5, 1: 2, 2: 4}),
        (200, 2, {0: 2, 1: 2}),
    ):
        losses = rng.uniform(0.01, 3.0, n).tolist()
        labels = rng.integers(0, classes, n).tolist()
        cases.append(((losses, labels, weights), {}))
    return cases


EXERCISES = {
    1: choice_exercise(
        "the size is the accuracy with Dropout on, as in fit(), minus the accuracy with it "
        "off, as in evaluate(); is a network with half its hidden units switched off better or "
        "worse?",
        {
            "a": ("negative", None),
            "b": (
                "positive",
                "Dropout is a regulariser, but it helps the weights, not the number fit() "
                "logs: with units switched off the network scores worse, and fit() minus "
                "evaluate() has that sign",
            ),
            "c": (
                "zero",
                "Dropout rescales the kept units so that the mean activation is unchanged, "
                "but the network's accuracy is not an average of activations: it does change",
            ),
        },
        expected=dropout_sign,
    ),
    2: choice_exercise(
        "notebook 05, section 1: what does evaluate()'s loss minus its data_loss metric equal?",
        {
            "a": (
                "evaluate() leaves the L2 penalty out, so it cannot be part of fit() − evaluate()",
                "that is the old FAQ's claim; in Keras 3 evaluate()'s loss includes "
                "model.losses exactly (notebook 05 asserts it)",
            ),
            "b": (
                "the penalty is inside both fit()'s and evaluate()'s loss: it separates the loss "
                "from a data-loss metric or from predict(), not fit() from evaluate()",
                None,
            ),
            "c": (
                "the penalty is only added to the gradients, never to a reported loss",
                "evaluate()'s loss holds the penalty: its loss minus its data_loss metric "
                "equals the sum of model.losses, the size the doctor reports for regularization "
                "(notebook 05 measures it; section 05 above compares the two)",
            ),
        },
    ),
    3: Exercise(
        kind="function",
        hint="multiply each sample's loss by its class's weight, average over the samples as Keras "
        "does, and subtract the plain average",
        expected=lambda: class_weight_part,
        cases=_cases,
        atol=1e-9,
        misconceptions=(
            Misconception(
                wrong=lambda: lambda *case: class_weight_part(*case, per_weight=True),
                feedback="this divides by the total weight, as Keras's weighted *metrics* do; "
                "Keras's loss divides by the number of samples (notebook 05, section 2)",
            ),
        ),
    ),
    4: choice_exercise(
        "which statistics does BatchNormalization use in inference mode, and where do they "
        "come from?",
        {
            "a": (
                "predict() and evaluate() run BatchNormalization with its moving statistics, "
                "which do not depend on the batch",
                None,
            ),
            "b": (
                "the batches of 32 are large enough for the effect to vanish",
                "in training mode the output changes even between batches of 64 and 500 "
                "(notebook 05, section 5); inference mode does not depend on the batch at all",
            ),
            "c": (
                "the doctor does not look at BatchNormalization layers",
                "it names batchnorm for this very model: that row compares training mode "
                "with inference mode, a different pair of numbers",
            ),
        },
    ),
}
