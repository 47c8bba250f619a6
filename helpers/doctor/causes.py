"""The doctor's vocabulary: every cause of a gap it looks for, what it compares, its fix.

Introduced in ``notebooks/06_the_doctor.ipynb``. Each :class:`Cause` names
the two numbers its size is the difference of (the kit's sign: the number
measured the way ``fit()`` -- or the misleading computation -- measures it,
minus the number ``evaluate()`` gives), the fix in one sentence and the
notebook that teaches it. ``interaction`` and ``unexplained`` are not causes
but the two remainders the report always shows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """One entry of the vocabulary.

    Attributes:
        name: The key, e.g. ``"dropout"``.
        compares: What its size is: "A − B" in words.
        fix: What to do about it, one sentence.
        notebook: The notebook that teaches it.
        in_gap: Whether it is a part of ``fit() − evaluate()`` on the same
            data (the parts sum to that gap), rather than a separate
            comparison (regularisation, shuffled evaluation, batch size,
            generalisation).
    """

    name: str
    compares: str
    fix: str
    notebook: str
    in_gap: bool = True


_ALL = (
    Cause(
        "drift",
        "fit() logged − the same data in training mode at the end-of-epoch weights",
        "Compare like with like: evaluate() both numbers, or log an end-of-epoch evaluation "
        "(GapProbe, or validation_data=(x_train, y_train)); the logged value averages an epoch "
        "of moving weights.",
        "notebooks/01_checkpoint_mismatch.ipynb",
    ),
    Cause(
        "dropout",
        "Dropout and noise layers on − all off (inference)",
        "Nothing is broken: Dropout and noise act only in fit(); compare numbers measured in the "
        "same mode (evaluate_in_mode) or use evaluate() for both.",
        "notebooks/02_validation_above_training.ipynb",
    ),
    Cause(
        "batchnorm",
        "BatchNormalization with the batch's statistics − with its moving statistics",
        "Recompute the moving statistics from the data (recalibrate_batchnorm), train longer or "
        "with a lower momentum, or freeze the layers (trainable=False) when fine-tuning.",
        "notebooks/04_resnet_batchnorm.ipynb",
    ),
    Cause(
        "augmentation",
        "other training-only layers (Random* augmentation, recurrent dropout, custom) on − off",
        "Nothing is broken: these layers act only in fit(); evaluate() both numbers to compare "
        "the model with itself.",
        "notebooks/00_start_here.ipynb",
    ),
    Cause(
        "class_weight",
        "loss and metrics weighted as fit(class_weight=...) weights them − unweighted",
        "Compare an unweighted loss metric (e.g. metrics=[keras.metrics.BinaryCrossentropy()]), "
        "or pass the same weights to evaluate(sample_weight=...).",
        "notebooks/05_more_gaps.ipynb",
    ),
    Cause(
        "sample_weight",
        "loss and metrics weighted with fit()'s sample_weight − unweighted",
        "Pass the same sample_weight to evaluate(), or compare an unweighted loss metric.",
        "notebooks/05_more_gaps.ipynb",
    ),
    Cause(
        "regularization",
        "the reported loss − the data loss (the penalties in model.losses)",
        "Compare a data-loss metric (e.g. metrics=[keras.metrics.SparseCategoricalCrossentropy("
        "name='data_loss')]): the penalty is in both fit()'s and evaluate()'s loss, never in "
        "predict().",
        "notebooks/05_more_gaps.ipynb",
        in_gap=False,
    ),
    Cause(
        "shuffled_evaluation",
        "predict() scored against labels from another pass over x − evaluate()",
        "Take predictions and labels from the same pass, or build the dataset with shuffle=False.",
        "notebooks/05_more_gaps.ipynb",
        in_gap=False,
    ),
    Cause(
        "batch_size_dependence",
        "inference in batches of batch_size − one sample at a time",
        "Run inference-mode calls only (predict(), model(x, training=False)); a layer that uses "
        "batch statistics at inference must use stored ones.",
        "notebooks/05_more_gaps.ipynb",
        in_gap=False,
    ),
    Cause(
        "generalization",
        "evaluate() on x − evaluate() on validation_data",
        "Not a bug: the model fits its training data better (or worse) than new data; judge it "
        "on held-out data.",
        "notebooks/02_validation_above_training.ipynb",
        in_gap=False,
    ),
)

#: The vocabulary, in the order the report lists causes of equal size.
CAUSES: dict[str, Cause] = {cause.name: cause for cause in _ALL}

#: The two remainders every report shows after the causes.
REMAINDERS: dict[str, Cause] = {
    "interaction": Cause(
        "interaction",
        "what the causes in fit() − evaluate() add together beyond their sizes one at a time",
        "Nothing to fix on its own: fix the causes it joins.",
        "notebooks/00_start_here.ipynb",
    ),
    "unexplained": Cause(
        "unexplained",
        "fit() − evaluate() left after every part above",
        "Check that x, batch_size and the weights are the ones given to fit(), and that fit() "
        "saw no other data (validation_split, augmentation in the input pipeline).",
        "notebooks/06_the_doctor.ipynb",
    ),
}
