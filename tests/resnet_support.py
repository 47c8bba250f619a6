"""Test support for scenario 04: repeat the post's training over seeds with one compiled model.

Used by ``tests/test_resnet.py``'s seed test, which
``notebooks/04_resnet_batchnorm.ipynb`` cites (moved here from the scenario
package: only the tests use it). Tracing ResNet50's training
step costs more than five steps, so :func:`collapse_over_seeds` traces it
once and, for each seed, gives the same model exactly the starting weights a
fresh build would have (:func:`kernels_in_build_order`,
:func:`reset_to_seed`); the test checks that bit for bit.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from helpers import checks
from helpers.memory import release_memory
from helpers.models import build_resnet50
from helpers.modes import evaluate_in_mode
from helpers.reproducibility import import_tensorflow_quietly
from helpers.scenarios.resnet.run import load_images, predict_classes
from helpers.table import Table

tf, keras = import_tensorflow_quietly()


def kernels_in_build_order(model, build_seed: int) -> list:
    """The layers of ``model`` with a random kernel initializer, in the order they were made.

    Keras gives every unseeded initializer a seed from Python's ``random``
    (``randint(1, 10**9)``) when its layer is made; ``model`` must have been
    built just after ``keras.utils.set_random_seed(build_seed)``, so replaying
    those draws ranks the layers. (``model.layers`` is in graph order, which
    differs: a block's shortcut convolution is made before its first one.)
    """
    layers = [
        layer
        for layer in model.layers
        if getattr(layer, "kernel_initializer", None) is not None
        and "seed" in layer.kernel_initializer.get_config()
    ]  # Zeros and Ones have no seed
    draws = random.Random(checks.seed("build_seed", build_seed))
    rank = {draws.randint(1, 10**9): i for i in range(len(layers))}
    if any(layer.kernel_initializer.seed not in rank for layer in layers):
        raise ValueError(
            f"`model` was not built just after keras.utils.set_random_seed({build_seed})"
        )
    return sorted(layers, key=lambda layer: rank[layer.kernel_initializer.seed])


def reset_to_seed(seed: int, initial: Sequence[tuple], kernels: Sequence) -> None:
    """Give a model the starting weights a fresh build has after ``keras.utils.set_random_seed(seed)``.

    Every variable in ``initial`` (pairs of variable and starting value,
    BatchNorm statistics and Adam's state included) goes back to its value;
    then the ``kernels`` (from :func:`kernels_in_build_order`) are redrawn
    in that order, each with the seed a fresh build would give its
    initializer. ``tests/test_resnet.py`` checks this against a fresh
    build, bit for bit.
    """
    draws = random.Random(
        checks.seed("seed", seed)
    )  # not set_random_seed(): a new seed would retrace fit()
    for variable, value in initial:
        variable.assign(value)
    for layer in kernels:
        config = {**layer.kernel_initializer.get_config(), "seed": draws.randint(1, 10**9)}
        initializer = type(layer.kernel_initializer).from_config(config)
        layer.kernel.assign(initializer(layer.kernel.shape, layer.kernel.dtype))


def collapse_over_seeds(
    seeds: Sequence[int] = range(10),
    *,
    input_size: int = 64,
    epochs: int = 5,
    momentum: float = 0.99,
) -> Table:
    """Repeat the post's training from several random initialisations.

    One compiled model is reused in Keras's default graph mode, so
    ResNet50's training step is traced once rather than once per seed
    (tracing costs more than five steps). Its metrics are built before the
    trace, or ``fit()`` would trace the step twice. For each seed the model
    gets exactly the starting weights a fresh ``build_resnet50`` would have
    after ``keras.utils.set_random_seed(seed)``, with Adam's state and the
    BatchNorm statistics reset; then ``fit()`` runs as in the post.

    Args:
        seeds: Seeds for the initial weights. Defaults to 0..9.
        input_size: Side of the input. Defaults to 64, as the notebook's sections 4-5.
        epochs: Epochs. Defaults to the post's 5.
        momentum: BatchNormalization momentum. Defaults to 0.99.

    Returns:
        A :class:`~helpers.Table`, one row per seed: ``seed``, ``fit acc``
        (last epoch, as logged), ``training-mode acc``, ``inference acc``,
        ``predicted`` (classes, as a string) and ``one class`` (whether
        ``predict()`` gives the same class for all three images).
    """
    seeds = [checks.seed("seeds", s) for s in seeds]
    epochs = checks.positive_int("epochs", epochs, example="the post's 5")
    x, y, _ = load_images(input_size)
    labels = y.argmax(axis=1)
    release_memory()
    keras.utils.set_random_seed(0)
    model = build_resnet50(input_size, momentum=momentum)
    kernels = kernels_in_build_order(model, build_seed=0)
    model.optimizer.build(model.trainable_variables)
    model.compute_metrics(x, y, model(x, training=False))  # builds `acc` now, not inside the trace
    model.reset_metrics()
    initial = [(v, v.numpy()) for v in [*model.variables, *model.optimizer.variables]]
    rows = []
    for seed in seeds:
        reset_to_seed(seed, initial, kernels)
        history = model.fit(x, y, epochs=epochs, shuffle=True, verbose=0).history
        predicted = predict_classes(model, x)
        rows.append(
            {
                "seed": seed,
                "fit acc": float(history["acc"][-1]),
                "training-mode acc": evaluate_in_mode(
                    model, x, y, mode="training", batch_size=len(x)
                )["acc"],
                "inference acc": float(np.mean(predicted == labels)),
                "predicted": " ".join(map(str, predicted)),
                "one class": bool(len(set(predicted.tolist())) == 1),
            }
        )
    return Table(rows)
