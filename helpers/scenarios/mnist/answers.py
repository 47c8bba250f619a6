"""Notebook 02's exercises, checked by ``check_exercise("mnist", k, ...)``."""

from __future__ import annotations

import numpy as np

from helpers.modes import preserved_state
from helpers.selfcheck import Exercise, Misconception, choice_exercise


def gap_sign(logs) -> str:
    """Exercise 1: the sign of the last epoch's ``accuracy − val_accuracy``; "b" (about zero)
    below 0.02, 10 of the 500 validation digits."""
    gap = logs["accuracy"][-1] - logs["val_accuracy"][-1]
    return "b" if abs(gap) < 0.02 else ("a" if gap < 0 else "c")


def running_accuracy(batch_accuracies, batch_sizes):
    """Exercise 2's reference: what Keras logs after each batch, the mean weighted by batch size."""
    sizes = np.asarray(batch_sizes, dtype=float)
    return np.cumsum(np.asarray(batch_accuracies) * sizes) / np.cumsum(sizes)


def running_cases():
    """Epochs the notebook never shows, most with a short last batch."""
    rng, cases = np.random.default_rng(2), []
    for n, batch_size in [(300, 64), (1000, 128), (50, 32), (7, 3), (90, 100)]:
        sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        cases.append((([rng.integers(0, s + 1) / s for s in sizes], sizes), {}))
    return cases


def larger_part(model, x_train, y_train) -> str:
    """Exercise 4: the Dropout layer whose part is over twice the other's, else "c". A layer's
    part: accuracy on 1,000 training digits with only it in training mode, minus with none."""
    x, labels = x_train[:1000], np.argmax(y_train[:1000], axis=1)
    dropouts = [i for i, layer in enumerate(model.layers) if "Dropout" in type(layer).__name__]

    def accuracy(on):
        h = x
        for i, layer in enumerate(model.layers):
            h = layer(h, training=i == on)
        return np.mean(np.argmax(h, axis=1) == labels)

    with preserved_state(model):  # training mode draws masks: the seeds go back
        off = accuracy(None)
        first, second = (abs(accuracy(i) - off) for i in dropouts)
    return "b" if second > 2 * first else ("a" if first > 2 * second else "c")


EXERCISES = {
    1: choice_exercise(
        "for a one-batch epoch, go through the three parts of section 3: which can still differ "
        "from zero, and with which sign?",
        {
            "a": ("negative: validation still ahead", None),
            "b": (
                "about zero: with one batch the weights cannot move while fit() averages",
                "drift is gone, but the logged number is still scored with Dropout on and with "
                "the weights from before the epoch's only update",
            ),
            "c": (
                "positive: without drift the training digits win, as when measured alike",
                "the training digits win only when measured like the validation digits; the "
                "logged number has Dropout on and is one update behind",
            ),
        },
        expected=gap_sign,
    ),
    2: Exercise(
        kind="function",
        hint="Keras's accuracy adds up correct predictions and divides by the digits seen so far "
        "in the epoch; np.cumsum gives running totals",
        expected=lambda: running_accuracy,
        cases=running_cases,
        misconceptions=(
            Misconception(
                lambda: lambda a, n: np.cumsum(a) / np.arange(1, len(a) + 1),
                "this weighs every batch equally; Keras counts digits, so a short last batch "
                "weighs less",
            ),
            Misconception(
                lambda: lambda a, n: np.asarray(a, dtype=float),
                "these are the batches' own accuracies; after each batch Keras logs the mean "
                "over the epoch's batches so far",
            ),
            Misconception(
                lambda: lambda a, n: np.full(len(a), np.average(a, weights=n)),
                "this is the epoch's final number at every batch; after batch b Keras logs "
                "the mean of batches 1 to b only",
            ),
        ),
        atol=1e-9,
    ),
    3: choice_exercise(
        "for each part of the split, ask which two measurements it compares and whether the "
        "augmentation layers are active in each",
        {
            "a": ("in the part section 3 calls dropout: training mode minus inference mode", None),
            "b": (
                "in generalisation: augmented images are harder, so the model generalises worse",
                "generalisation compares two measurements in inference mode, where the "
                "augmentation layers pass images through unchanged",
            ),
            "c": (
                "in drift: augmentation changes the images from batch to batch",
                "drift compares two measurements both in training mode, augmentation on in "
                "both: it adds noise to drift, not a direction",
            ),
            "d": (
                "nowhere: augmentation changes the data, not the model",
                "layers inside the model are part of it: Keras runs them with training=True in "
                "fit() and as the identity in evaluate() and predict()",
            ),
        },
    ),
    4: choice_exercise(
        "run the model layer by layer, layer(h, training=...), with one Dropout layer in "
        "training mode at a time, and compare with evaluate() on the same digits",
        {
            "a": (
                "the first, Dropout(0.25) after the convolutions: it drops far more units",
                "counting dropped units misleads: the 4,608 pooled features are redundant, and "
                "the kept ones are scaled up by 1/(1 − rate); measure each layer alone",
            ),
            "b": (
                "the second, Dropout(0.5): it silences half of only 32 units, right before the "
                "output, where no later layer can make up for them",
                None,
            ),
            "c": (
                "both about equally: each costs accuracy in proportion to its rate",
                "the rates predict a factor of two; measured one at a time, one layer makes "
                "almost all of the dropout part",
            ),
        },
        expected=larger_part,
    ),
}
