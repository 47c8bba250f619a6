"""One pass through the convolutions, both modes: the MNIST scenario's fast measurement.

Introduced in ``notebooks/02_validation_above_training.ipynb``, where it is
shown once, with an assertion, to give exactly ``evaluate()``'s numbers.

The post's convolutions and pooling compute the same in training and
inference mode; only the layers from the first Dropout on differ. So the
"trunk" (the mode-free layers) runs once per digit and the "head" once per
mode, which halves the cost of measuring both modes after every epoch.
:func:`measure_one_pass` is the function :class:`~helpers.GapProbe` takes as
``measure=``.
"""

from __future__ import annotations

import weakref

import numpy as np

from helpers import checks
from helpers.modes import layer_family, preserved_state
from helpers.reproducibility import import_tensorflow_quietly

tf, keras = import_tensorflow_quietly()

# The model has no BatchNormalization, so a measurement's batch size changes
# nothing but its speed: 500 digits per forward pass is ~2x faster than 64.
PROBE_BATCH_SIZE = 500

_last = {"model": None, "forward": None}  # the latest model's compiled trunk and head


def trunk_and_head(model):
    """``model``'s forward pass as two compiled functions, split before its first mode-dependent layer.

    Args:
        model: A ``keras.Sequential`` such as :func:`~helpers.build_mnist_cnn`.

    Returns:
        ``(trunk, head)``: ``trunk(x)`` runs the layers before the first
        Dropout; ``head(features, training)`` runs the rest in one mode.
    """
    if not isinstance(model, keras.Sequential):
        raise ValueError(
            f"invalid `model`: {type(model).__name__}; expected a keras.Sequential "
            "such as build_mnist_cnn()"
        )
    layers = model.layers
    split = next(
        (i for i, layer in enumerate(layers) if layer_family(layer) is not None), len(layers)
    )

    def trunk(x):
        for layer in layers[:split]:
            x = layer(x)
        return x

    def head(x, training):
        for layer in layers[split:]:
            x = layer(x, training=training)
        return x

    return tf.function(trunk, reduce_retracing=True), tf.function(head, reduce_retracing=True)


def _forward(model):
    """:func:`trunk_and_head` of ``model``, traced once per model, not once per epoch."""
    if _last["model"] is None or _last["model"]() is not model:
        _last["model"], _last["forward"] = weakref.ref(model), trunk_and_head(model)
    return _last["forward"]


def accuracies(model, x, y, *, batch_size: int = PROBE_BATCH_SIZE, draws: int = 1):
    """Accuracy on ``x``/``y`` in inference mode and in ``draws`` training-mode passes.

    The same numbers, to the last digit, as ``model.evaluate()`` and
    :func:`helpers.evaluate_in_mode` with ``mode="training"`` (same layers,
    same batches, same dropout masks, Keras's float32 ratio), at about half
    their joint cost. The model is left exactly as it was.

    Args:
        model: A ``keras.Sequential`` with a softmax output, e.g. the post's CNN.
        x: Images.
        y: One-hot labels.
        batch_size: Digits per forward pass. Defaults to 500.
        draws: Training-mode passes, each with new dropout masks. Defaults to 1.

    Returns:
        ``(inference, [training, ...])``.
    """
    batch_size = checks.positive_int("batch_size", batch_size, example=PROBE_BATCH_SIZE)
    draws = checks.positive_int("draws", draws, example=5)
    checks.samples(x, y)
    trunk, head = _forward(model)
    labels = np.argmax(y, axis=1)
    batches = [slice(i, i + batch_size) for i in range(0, len(x), batch_size)]
    features = [trunk(x[s]) for s in batches]  # the mode-free layers, once for every pass

    def accuracy(training):
        hits = sum(
            int(np.sum(np.argmax(head(f, training), axis=1) == labels[s]))
            for f, s in zip(features, batches)
        )
        return float(np.float32(hits) / np.float32(len(x)))  # float32, as Keras's accuracy metric

    with preserved_state(model):  # training-mode passes advance the dropout seeds; undo that
        return accuracy(False), [accuracy(True) for _ in range(draws)]


def measure_one_pass(
    model,
    x,
    y,
    *,
    sample_weight=None,
    batch_size: int = PROBE_BATCH_SIZE,
    training_mode: bool = True,
) -> dict[str, dict[str, float]]:
    """Accuracy in both modes, for ``GapProbe(..., measure=measure_one_pass)``.

    What :func:`helpers.gap_probe.measure_by_evaluation` returns for the
    accuracy, with the same numbers, in one pass through the convolutions.
    Both modes are always measured (the training mode costs only the head),
    so ``probe.last`` holds both even with ``training_mode=False``.

    Args:
        model: The post's CNN (a ``keras.Sequential`` with a softmax output).
        x: Images.
        y: One-hot labels.
        sample_weight: Must be None: the post used none.
        batch_size: Digits per forward pass. Defaults to 500.
        training_mode: Ignored; both modes are measured. Defaults to True.

    Returns:
        ``{"inference": {"accuracy": …}, "training": {"accuracy": …}}``.

    Example:
        >>> probe = GapProbe(
        ...     x_train, y_train, batch_size=500, metrics=["accuracy"], measure=measure_one_pass
        ... )  # doctest: +SKIP
    """
    if sample_weight is not None:
        raise ValueError(
            "invalid `sample_weight`: measure_one_pass() measures unweighted accuracy; "
            "pass sample_weight=None, or use GapProbe's default measure"
        )
    inference, (training,) = accuracies(model, x, y, batch_size=batch_size)
    return {"inference": {"accuracy": inference}, "training": {"accuracy": training}}


def dropout_spread(
    model, x, y, *, draws: int = 5, batch_size: int = PROBE_BATCH_SIZE
) -> np.ndarray:
    """Training-mode accuracy under ``draws`` different sets of dropout masks.

    Shows how much of a training-mode measurement is the luck of the masks.
    The first draw uses the masks that the next measurement would use, so
    right after ``fit()`` it repeats the run's last training-mode value. The
    convolutions run once for all draws; the model is left exactly as it was
    (:func:`helpers.preserved_state`).

    Returns:
        One accuracy per draw.
    """
    draws = checks.integer("draws", draws, low=2, high=100, example=5)
    return np.array(accuracies(model, x, y, batch_size=batch_size, draws=draws)[1])
