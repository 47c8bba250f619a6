"""Scenario 05: five more gaps from public threads -- data, models and measurements.

Introduced in ``notebooks/05_more_gaps.ipynb``. Every section of the notebook
trains a tiny model on the shipped MNIST digits (:func:`helpers.data.load_mnist`)
with plain Keras; the functions here build those models, prepare the data and
replay the notebook's runs for the explorer, the tests and the exercises.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from helpers import checks
from helpers.data import load_mnist
from helpers.decompose import decompose_gap
from helpers.reproducibility import import_tensorflow_quietly, scratch_dir
from helpers.table import Table

keras = import_tensorflow_quietly()[1]
layers = keras.layers

SHIFTED_CLASSES = 5  # section 4's new task: digits 5-9, inverted


def flat_digits(n: int = 3000, *, test: bool = False):
    """MNIST digits as flat ``float32`` vectors in [0, 1] and ``uint8`` labels.

    Args:
        n: How many (the first ``n`` of the shipped training or test split).
            Defaults to 3000.
        test: Take them from the test split (500 digits). Defaults to False.
    """
    (x, y), (x_test, y_test) = load_mnist(n_train=4500, n_test=500)
    x, y = (x_test, y_test) if test else (x, y)
    n = checks.integer("n", n, low=1, high=len(x), example=3000)
    return x[:n].reshape(n, -1).astype("float32") / 255, y[:n]


def build_mlp(
    *,
    inputs=(784,),
    hidden: int = 32,
    outputs: int = 10,
    l2: float = 0.0,
    batchnorm: bool = False,
    bn_training=None,
):
    """A one-hidden-layer network for the digits; uncompiled.

    Dense(hidden, ReLU) → Dense(outputs): softmax for several classes,
    sigmoid for one. Image inputs (``inputs=(28, 28, 1)``, pixels 0-255 as
    ``image_dataset_from_directory`` gives them) are rescaled and flattened
    first.

    Args:
        inputs: Input shape. Defaults to (784,).
        hidden: Hidden units. Defaults to 32.
        outputs: Output units. Defaults to 10.
        l2: ``keras.regularizers.L2`` strength on both kernels; 0 for none.
            Defaults to 0.
        batchnorm: Put BatchNormalization before the ReLU. Defaults to False.
        bn_training: The ``training`` argument the BatchNormalization layer
            is called with when the graph is built: None follows fit() and
            predict(); True pins it to training mode (section 5). Defaults to None.

    Example:
        >>> build_mlp().count_params(), build_mlp(outputs=1, inputs=(28, 28, 1)).count_params()
        (25450, 25153)
    """
    l2 = checks.number("l2", l2, low=0, example=0.05)
    reg = keras.regularizers.L2(l2) if l2 else None
    x = inp = keras.Input(tuple(inputs))
    if len(inputs) > 1:
        x = layers.Flatten()(layers.Rescaling(1 / 255)(x))
    x = layers.Dense(checks.positive_int("hidden", hidden, example=32), kernel_regularizer=reg)(x)
    if batchnorm:
        x = layers.BatchNormalization()(x, training=bn_training)
    x = layers.ReLU()(x)
    out = layers.Dense(
        outputs, activation="sigmoid" if outputs == 1 else "softmax", kernel_regularizer=reg
    )(x)
    return keras.Model(inp, out, name="digits_mlp")


def penalty(model) -> float:
    """The regularisation penalty now: the sum of ``model.losses``."""
    return float(sum(float(keras.ops.convert_to_numpy(v)) for v in model.losses))


def compile_penalised(model) -> None:
    """Section 1's compile(): Adam, cross-entropy, and the data loss as a separate metric."""
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.SparseCategoricalCrossentropy(name="data_loss"), "accuracy"],
    )


@functools.lru_cache(maxsize=8)
def train_penalised(l2: float = 0.05, seed: int = 0, epochs: int = 3):
    """Section 1 replayed: ``build_mlp(l2=l2)`` fitted on 3,000 digits; returns (model, history dict)."""
    x, y = flat_digits()
    keras.utils.set_random_seed(checks.seed("seed", seed))
    model = build_mlp(l2=l2)
    compile_penalised(model)
    history = model.fit(
        x, y, epochs=checks.positive_int("epochs", epochs, example=3), batch_size=32, verbose=0
    )
    return model, history.history


def binary_digits(digit: int = 0, n: int = 3000):
    """Flat digits labelled 1 for ``digit`` and 0 for the rest (about 1 in 10 positive); labels (n, 1)."""
    x, y = flat_digits(n)
    checks.integer("digit", digit, low=0, high=9, example=0)
    return x, (y == digit).astype("float32")[:, None]


def sample_weights(y, class_weight: dict) -> np.ndarray:
    """The per-sample weights ``fit(class_weight=...)`` uses: ``class_weight[label]`` for each sample.

    Example:
        >>> sample_weights(np.array([0.0, 1.0, 1.0]), {0: 1, 1: 10}).tolist()
        [1.0, 10.0, 10.0]
    """
    if not isinstance(class_weight, dict) or not class_weight:
        raise ValueError(
            f"invalid `class_weight`: {class_weight!r}; expected a dict such as {{0: 1, 1: 10}}"
        )
    labels = (
        np.asarray(y).reshape(len(y), -1).argmax(axis=1)
        if np.ndim(y) > 1 and np.shape(y)[1] > 1
        else np.asarray(y).reshape(-1).astype(int)
    )
    missing = sorted(set(labels.tolist()) - set(class_weight))
    if missing:
        raise ValueError(
            f"`class_weight` has no weight for class {missing[0]}; it has {sorted(class_weight)}"
        )
    return np.array([float(class_weight[c]) for c in labels])


@functools.lru_cache(maxsize=8)
def train_weighted(ratio: float = 10.0, seed: int = 0, epochs: int = 3):
    """Section 2 replayed: a binary MLP fitted with ``class_weight={0: 1, 1: ratio}``; (model, history)."""
    ratio = checks.number("class_weight", ratio, low=0, low_open=True, example=10)
    x, y = binary_digits()
    keras.utils.set_random_seed(checks.seed("seed", seed))
    model = build_mlp(hidden=16, outputs=1)
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryCrossentropy(name="bce")],
    )
    history = model.fit(
        x, y, epochs=epochs, batch_size=32, class_weight={0: 1, 1: ratio}, verbose=0
    )
    return model, history


def weighting_split(model, x, y, class_weight: dict, history) -> Table:
    """The last epoch's logged loss against ``evaluate()``, split into weighting and drift.

    ``logged − evaluate() = (evaluate(sample_weight) − evaluate())
    + (logged − evaluate(sample_weight))``: the first part is the class
    weighting, the second is :func:`helpers.decompose.decompose_gap` of the
    weighted comparison (all drift: the model has no Dropout or BatchNorm).
    The parts sum to the gap by construction.
    """
    weights = sample_weights(y, class_weight)
    plain = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    weighted = decompose_gap(model, x, y, weights, history=history, metrics=["loss"])
    logged, evaluated = weighted.measured["loss"]["fit"], weighted.measured["loss"]["inference"]
    rows = [
        ("fit() logged (class_weight applied)", logged),
        ("evaluate() (no weights)", plain),
        ("evaluate(sample_weight=weights)", evaluated),
        ("gap (fit − evaluate)", logged - plain),
        ("  part: class weighting", evaluated - plain),
        ("  part: drift (decompose_gap, weighted)", weighted.parts["loss"]["drift"]),
    ]
    return Table([{"quantity": q, "loss": v} for q, v in rows])


def write_digit_folder(root: Path | None = None, *, digits=(3, 8), per_class: int = 150) -> Path:
    """Write held-out digits as PNG files, one sub-folder per class, for ``image_dataset_from_directory``.

    The images are the shipped training digits 3,000-4,499 and the 500 test
    digits (none of them used for training in section 3), ``per_class`` of
    each of ``digits``, in sub-folders named after the digit.

    Args:
        root: The folder to fill. Defaults to ``scratch_dir() / "digits"``.
        digits: The two classes. Defaults to (3, 8).
        per_class: Images per class. Defaults to 150.

    Returns:
        The folder.
    """
    from PIL import Image

    per_class = checks.positive_int("per_class", per_class, example=150)
    (x, y), (x_test, y_test) = load_mnist(n_train=4500, n_test=500)
    pool_x, pool_y = np.concatenate([x[3000:], x_test]), np.concatenate([y[3000:], y_test])
    root = Path(root) if root is not None else scratch_dir() / "digits"
    for digit in digits:
        images = pool_x[pool_y == digit]
        if len(images) < per_class:
            raise ValueError(
                f"invalid `per_class`: {per_class}; only {len(images)} held-out {digit}s ship, "
                f"e.g. 150"
            )
        folder = root / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images[:per_class]):
            Image.fromarray(image).save(folder / f"{i:04d}.png")
    return root


def image_digits(digits=(3, 8)):
    """Section 3's training data: the first 3,000 shipped digits of two classes, (n, 28, 28, 1), labels (n, 1)."""
    (x, y), _ = load_mnist(n_train=3000)
    keep = np.isin(y, digits)
    return x[keep][..., None].astype("float32"), (y[keep] == digits[1]).astype("float32")[:, None]


def predict_with_labels(model, dataset):
    """Predictions and labels taken from the same pass over ``dataset``, so they stay paired."""
    predictions, labels = [], []
    for x, y in dataset:
        predictions.append(np.asarray(model.predict_on_batch(x)))
        labels.append(np.asarray(y))
    return np.concatenate(predictions), np.concatenate(labels)
