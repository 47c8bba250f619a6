"""Scenario 04's training and measurements: the post's ResNet50 on its three images.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``, which first runs the
post's code in plain Keras and then uses these functions for the smaller
experiments. :func:`train_resnet` is that plain code as one call;
:func:`diagnose` measures the collapse; :func:`divergence_by_stage`
follows the mismatch between the two modes through the network.

Two measured choices keep the post's 197×197 run within a laptop's (and
Binder's) memory; the notebook's appendix has the numbers:

* ``run_eagerly=True``. With three images there is one step per epoch, so
  tracing ResNet50's training step into a graph costs more time and memory
  (about 80 MB) than it saves. ``predict()`` and ``evaluate()`` then run
  eagerly too. Graph mode rewrites some arithmetic, so its float digits
  differ; the collapse does not.
* The memory goes back: :func:`helpers.memory.release_memory` before each
  model is built, and from ``MAPPED_FROM_SIZE`` up the model is built and
  trained inside :func:`helpers.memory.large_buffers_mapped`. Neither
  changes a computed number.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers import checks
from helpers.batchnorm import batchnorm_layers, predict_with_batch_statistics
from helpers.data import load_bn_images
from helpers.memory import large_buffers_mapped, release_memory
from helpers.models import build_resnet50
from helpers.modes import evaluate_in_mode
from helpers.reproducibility import import_tensorflow_quietly
from helpers.table import Table

tf, keras = import_tensorflow_quietly()

POST_SIZE = 197  # the post's input size
SMALL_SIZE = 64  # sweep, explorer and seed test: 9.5 times fewer pixels, the same collapse
MOMENTA = (0.99, 0.9, 0.5, 0.01)
ARCHITECTURES = ("ResNet50", "ResNet50V2")
MAPPED_FROM_SIZE = 128  # input sizes from which train_resnet() runs inside large_buffers_mapped()
# The output of ResNet50's stem and of each of its four stages, then the pooled features and the softmax.
STAGES = (
    "conv1_relu",
    "conv2_block3_out",
    "conv3_block4_out",
    "conv4_block6_out",
    "conv5_block3_out",
    "avg_pool",
    "predictions",
)


@dataclass
class TrainResult:
    """One training run of the post's setting.

    Attributes:
        model: The trained, compiled model (None where a caller dropped it to
            free its memory).
        history: ``History.history``: ``{"loss": [...], "acc": [...]}``.
        x: The three images, float32, values 0..255.
        y: Their one-hot labels.
        names: The image file names.
    """

    model: Any
    history: dict
    x: np.ndarray
    y: np.ndarray
    names: tuple


def load_images(input_size: int = POST_SIZE):
    """The post's three images as float32 (values 0..255), their one-hot labels and names."""
    x, y, names = load_bn_images(input_size)
    return x.astype("float32"), y, names


def build_model(
    architecture: str = "ResNet50", input_size: int = POST_SIZE, *, momentum: float = 0.99
):
    """The post's ResNet50, or the ResNet50V2 that answer 3 recommends, compiled as in the post.

    ``"ResNet50"`` is :func:`helpers.models.build_resnet50`. ``"ResNet50V2"``
    is ``keras.applications.ResNet50V2(weights=None, input_shape=(size,
    size, 1), classes=3)`` with the same momentum setting and compile (Adam,
    categorical cross-entropy, accuracy logged as ``acc``).
    """
    architecture = checks.choice("architecture", architecture, ARCHITECTURES)
    if architecture == "ResNet50":
        return build_resnet50(input_size, momentum=momentum)
    input_size = checks.integer("input_size", input_size, low=32, example=SMALL_SIZE)
    momentum = checks.momentum("momentum", momentum)
    model = keras.applications.ResNet50V2(
        weights=None, input_shape=(input_size, input_size, 1), classes=3
    )
    for layer in batchnorm_layers(model):
        layer.momentum = momentum
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["acc"])
    return model


def train_resnet(
    *,
    input_size: int = POST_SIZE,
    momentum: float = 0.99,
    epochs: int = 5,
    seed: int = 0,
    architecture: str = "ResNet50",
    run_eagerly: bool = True,
    callbacks: Sequence = (),
) -> TrainResult:
    """Train the post's model on its three images, as the post did.

    :func:`build_model`, the three images with one-hot labels, then
    ``fit(x, y, epochs=epochs, shuffle=True)`` with the default batch size:
    one batch of three images per epoch. This is the notebook's plain code
    in one call, and gives the same numbers (the notebook asserts it).
    :func:`~helpers.memory.release_memory` runs first; from
    ``MAPPED_FROM_SIZE`` (128) up, building and training run inside
    :func:`~helpers.memory.large_buffers_mapped`.

    Args:
        input_size: Side of the square input. Defaults to the post's 197.
        momentum: BatchNormalization momentum. Defaults to Keras's 0.99.
        epochs: Epochs. Defaults to the post's 5.
        seed: Seed for the initial weights (``keras.utils.set_random_seed``).
            Defaults to 0.
        architecture: ``"ResNet50"`` or ``"ResNet50V2"``. Defaults to
            ``"ResNet50"``.
        run_eagerly: Run ``fit()``, ``predict()`` and ``evaluate()``
            eagerly (see the module docstring). Defaults to True.
        callbacks: Extra Keras callbacks. Defaults to none.

    Returns:
        A :class:`TrainResult`.
    """
    epochs = checks.positive_int("epochs", epochs, example="the post's 5")
    seed = checks.seed("seed", seed)
    checks.choice("architecture", architecture, ARCHITECTURES)
    run_eagerly = checks.flag("run_eagerly", run_eagerly)
    x, y, names = load_images(input_size)
    release_memory()  # a previous run's model, and the memory it held, go before this one is built
    big = (
        input_size >= MAPPED_FROM_SIZE
    )  # 64×64 peaks far lower, and mapping would cost 0.5 s per step
    with large_buffers_mapped() if big else contextlib.nullcontext():
        keras.utils.set_random_seed(seed)
        model = build_model(architecture, input_size, momentum=momentum)
        model.run_eagerly = run_eagerly
        history = model.fit(x, y, epochs=epochs, shuffle=True, verbose=0, callbacks=list(callbacks))
    return TrainResult(model=model, history=history.history, x=x, y=y, names=names)


def predict_classes(model, x) -> np.ndarray:
    """Inference-mode classes, as ``predict()`` gives them, from one direct call."""
    return np.asarray(model(x, training=False)).argmax(axis=1)


def diagnose(model, x, y) -> dict:
    """The collapse in numbers.

    Returns:
        ``{"predicted": classes in inference mode, "inference": evaluate()'s
        dict, "training": the same in training mode}``, all of ``x`` as one
        batch, as ``fit()`` had it.
    """
    return {
        "predicted": predict_classes(model, x),
        "inference": evaluate_in_mode(model, x, y, mode="inference", batch_size=len(x)),
        "training": evaluate_in_mode(model, x, y, mode="training", batch_size=len(x)),
    }


def divergence_by_stage(model, x, stages: Sequence[str] = STAGES) -> Table:
    """How far inference mode's activations are from training mode's, stage by stage.

    The outputs of ``stages`` are computed twice for all of ``x`` as one
    batch: in inference mode (BatchNorm with its moving statistics, as in
    ``predict()``) and with every BatchNorm layer using the batch's
    statistics (as in ``fit()``,
    :func:`helpers.batchnorm.predict_with_batch_statistics`). The model is
    unchanged afterwards.

    Args:
        model: A Keras functional model, e.g. the post's ResNet50.
        x: Inputs.
        stages: Names of the layers whose outputs are compared, input to
            output. Defaults to ``STAGES`` (ResNet50's stem, four stages,
            pooled features, softmax).

    Returns:
        A :class:`~helpers.Table`, one row per stage: ``stage``,
        ``relative difference`` (``‖inference − training‖ / ‖training‖``)
        and ``mean |activation|`` in each mode.
    """
    names = [layer.name for layer in model.layers]
    unknown = [s for s in stages if s not in names]
    if unknown:
        raise ValueError(
            f"invalid `stages`: {unknown[0]!r} is not a layer of {model.name!r}; e.g. {STAGES[:2]}"
        )
    probe = keras.Model(model.input, [model.get_layer(s).output for s in stages])
    inference = [np.asarray(a, dtype="float64") for a in probe(x, training=False)]
    training = [np.asarray(a, dtype="float64") for a in predict_with_batch_statistics(probe, x)]
    return Table(
        [
            {
                "stage": s,
                "relative difference": float(np.linalg.norm(a - b) / np.linalg.norm(b)),
                "mean |activation| inference": float(np.abs(a).mean()),
                "mean |activation| training": float(np.abs(b).mean()),
            }
            for s, a, b in zip(stages, inference, training)
        ]
    )
