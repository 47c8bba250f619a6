"""Scenario 04's data and training: the post's code in one call (the notebook writes it out
first), run eagerly, since with one step per epoch tracing costs more than it saves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers import checks
from helpers.data import load_bn_images
from helpers.memory import release_memory
from helpers.models import build_resnet50
from helpers.reproducibility import import_tensorflow_quietly

tf, keras = import_tensorflow_quietly()

POST_SIZE = 197  # the post's input size


@dataclass
class TrainResult:
    """One run: ``model`` (None once dropped), ``History.history``, images, one-hot labels."""

    model: Any
    history: dict
    x: np.ndarray
    y: np.ndarray


def load_images(input_size: int = POST_SIZE):
    """The post's three images as float32 (values 0..255), their one-hot labels and names."""
    x, y, names = load_bn_images(input_size)
    return x.astype("float32"), y, names


def train_resnet(
    *, input_size=POST_SIZE, momentum=0.99, epochs=5, seed=0, callbacks: Sequence = ()
) -> TrainResult:
    """The post's training (:func:`helpers.build_resnet50`, ``fit(x, y, epochs, shuffle=True)``,
    one batch of three per epoch) with a chosen input size, BatchNorm momentum, number of
    epochs, seed for the initial weights and extra callbacks."""
    epochs = checks.positive_int("epochs", epochs, example="the post's 5")
    seed = checks.seed("seed", seed)
    x, y, _ = load_images(input_size)
    release_memory()  # a previous run's model, and the memory it held, go before this one is built
    keras.utils.set_random_seed(seed)
    model = build_resnet50(input_size, momentum=momentum)
    model.run_eagerly = True
    history = model.fit(x, y, epochs=epochs, shuffle=True, verbose=0, callbacks=list(callbacks))
    return TrainResult(model=model, history=history.history, x=x, y=y)


def predict_classes(model, x) -> np.ndarray:
    """Inference-mode classes, as ``predict()`` gives them, from one direct call."""
    return np.asarray(model(x, training=False)).argmax(axis=1)
