"""A zoo of small broken trainings, each with known causes: the doctor's test bench.

Introduced in ``notebooks/06_the_doctor.ipynb``; used by
``tests/test_doctor_zoo.py`` and ``tools/bench_doctor.py``. Every entry trains
a tiny Dense network on synthetic data (512 samples, 8 features, two classes
with label noise) in about a second, from one clean recipe -- Adam at 0.01,
batches of 32, five epochs, no training-only layer, no weights, no penalty --
with one cause injected, or two, or none. :func:`run` diagnoses every entry
and returns its verdict: every injected cause found, nothing else named
(``generalization`` is allowed anywhere: every model generalises somehow),
and the model's state unchanged.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from helpers.doctor.examine import diagnose
from helpers.doctor.state import changed, snapshot

N, FEATURES, BATCH, EPOCHS = 512, 8, 32, 5
ALLOWED = {"generalization"}  # never a false alarm: it compares with other data


def synthetic(n: int = N, *, seed: int = 0, positives: float = 0.5, shift: float = 0.0):
    """Two classes split by a random hyperplane, 10 % of labels flipped; ``float32`` x, ``int`` y.

    Args:
        n: Samples. Defaults to 512.
        seed: Seed of the data. Defaults to 0.
        positives: Share of class 1 (the threshold moves). Defaults to 0.5.
        shift: Added to every feature (another distribution). Defaults to 0.
    """
    rng = np.random.default_rng(seed)
    direction = np.random.default_rng(1234).normal(size=FEATURES)  # one task for every seed
    x = rng.normal(size=(n, FEATURES)).astype("float32")
    score = x @ direction
    y = (score > np.quantile(score, 1 - positives)).astype("int64")
    flip = rng.random(n) < 0.1
    y[flip] = 1 - y[flip]
    return x + np.float32(shift), y


class Jitter(keras.layers.Layer):
    """A custom augmentation layer: multiplies inputs by random factors in training only."""

    def __init__(self, spread: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.spread = spread
        self.seed_generator = keras.random.SeedGenerator(7)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        noise = keras.random.uniform(
            keras.ops.shape(inputs), -self.spread, self.spread, seed=self.seed_generator
        )
        return inputs * (1.0 + noise) + noise


class BatchCentre(keras.layers.Layer):
    """Subtracts the batch's mean in every mode: predictions depend on the batch."""

    def call(self, inputs):
        return inputs - keras.ops.mean(inputs, axis=0, keepdims=True)


def mlp(*, before=(), after=(), l2: float = 0.0, learning_rate: float = 0.01, seed: int = 0):
    """The clean model: Dense(16, ReLU) → Dense(2, softmax), layers ``before``/``after`` the hidden one."""
    keras.utils.set_random_seed(seed)
    reg = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential(
        [
            keras.Input((FEATURES,)),
            *before,
            keras.layers.Dense(16, activation="relu", kernel_regularizer=reg),
            *after,
            keras.layers.Dense(2, activation="softmax", kernel_regularizer=reg),
        ],
        name="zoo_mlp",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,  # XLA would spend longer compiling than these models train
    )
    return model


@dataclass
class Case:
    """One trained entry: the model, what to pass to ``diagnose()``, and the injected causes."""

    name: str
    causes: frozenset
    model: object
    x: object
    y: object
    kwargs: dict = field(default_factory=dict)


def _train(model, x, y, *, epochs=EPOCHS, **fit_kwargs):
    return model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, **fit_kwargs)


@functools.lru_cache(maxsize=1)
def _clean_training():
    x, y = synthetic()
    model = mlp()
    return model, x, y, _train(model, x, y)


def _clean():  # one training serves the four entries built on the clean model
    model, x, y, history = _clean_training()
    return model, x, y, {"history": history}


def _clean_validated():
    model, x, y, kwargs = _clean()
    return model, x, y, {**kwargs, "validation_data": synthetic(256, seed=1)}


def _clean_no_history():
    model, x, y, _ = _clean()
    return model, x, y, {}


def _drift():
    x, y = synthetic()
    model = mlp(learning_rate=0.02)
    return model, x, y, {"history": _train(model, x, y, epochs=1)}


def _dropout():
    x, y = synthetic()
    model = mlp(after=[keras.layers.Dropout(0.5)])
    return model, x, y, {"history": _train(model, x, y)}


def _noise():
    x, y = synthetic()
    model = mlp(before=[keras.layers.GaussianNoise(1.0)])
    return model, x, y, {"history": _train(model, x, y)}


def _batchnorm():
    x, y = synthetic(shift=3.0)
    model = mlp(before=[keras.layers.BatchNormalization()])  # momentum 0.99: 80 updates lag
    return model, x, y, {"history": _train(model, x, y)}


def _augmentation():
    x, y = synthetic()
    model = mlp(before=[Jitter(0.5)])
    return model, x, y, {"history": _train(model, x, y)}


def _regularization():
    x, y = synthetic()
    model = mlp(l2=0.01)
    return model, x, y, {"history": _train(model, x, y)}


def _class_weight():
    x, y = synthetic(positives=0.15)
    model = mlp()
    weights = {0: 1.0, 1: 6.0}
    return (
        model,
        x,
        y,
        {"history": _train(model, x, y, class_weight=weights), "class_weight": weights},
    )


def _sample_weight():
    x, y = synthetic()
    weights = np.where(np.arange(N) % 4 == 0, 4.0, 0.5)
    model = mlp()
    return (
        model,
        x,
        y,
        {"history": _train(model, x, y, sample_weight=weights), "sample_weight": weights},
    )


def _shuffled():
    import tensorflow as tf

    model, x, y, history = _clean_training()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(N, seed=0).batch(BATCH)
    return model, dataset, None, {"history": history}


def _batch_size():
    x, y = synthetic()
    model = mlp(before=[BatchCentre()])
    return model, x, y, {"history": _train(model, x, y)}


def _generalization():
    x, y = synthetic(128)
    model = mlp(learning_rate=0.03)
    x_val, y_val = synthetic(512, seed=2, shift=1.0)
    return (
        model,
        x,
        y,
        {"history": _train(model, x, y, epochs=15), "validation_data": (x_val, y_val)},
    )


def _dropout_and_class_weight():
    x, y = synthetic(positives=0.15)
    model = mlp(after=[keras.layers.Dropout(0.4)])
    weights = {0: 1.0, 1: 6.0}
    return (
        model,
        x,
        y,
        {"history": _train(model, x, y, class_weight=weights), "class_weight": weights},
    )


def _batchnorm_and_regularization():
    x, y = synthetic(shift=3.0)
    model = mlp(before=[keras.layers.BatchNormalization()], l2=0.01)
    return model, x, y, {"history": _train(model, x, y)}


def _drift_and_noise():
    x, y = synthetic()
    model = mlp(before=[keras.layers.GaussianNoise(1.0)], learning_rate=0.02)
    return model, x, y, {"history": _train(model, x, y, epochs=1)}


def _augmentation_and_sample_weight():
    x, y = synthetic()
    weights = np.where(np.arange(N) % 4 == 0, 4.0, 0.5)
    model = mlp(before=[Jitter(0.5)])
    return (
        model,
        x,
        y,
        {"history": _train(model, x, y, sample_weight=weights), "sample_weight": weights},
    )


#: name -> (injected causes, builder returning (model, x, y, diagnose kwargs))
ENTRIES: dict[str, tuple[frozenset, Callable]] = {
    "clean": (frozenset(), _clean),
    "clean, validation data": (frozenset(), _clean_validated),
    "clean, no history": (frozenset(), _clean_no_history),
    "drift (one epoch)": (frozenset({"drift"}), _drift),
    "dropout 0.5": (frozenset({"dropout"}), _dropout),
    "gaussian noise": (frozenset({"dropout"}), _noise),
    "batchnorm lag": (frozenset({"batchnorm"}), _batchnorm),
    "augmentation layer": (frozenset({"augmentation"}), _augmentation),
    "L2 penalty": (frozenset({"regularization"}), _regularization),
    "class_weight": (frozenset({"class_weight"}), _class_weight),
    "sample_weight": (frozenset({"sample_weight"}), _sample_weight),
    "shuffled dataset": (frozenset({"shuffled_evaluation"}), _shuffled),
    "batch-size dependence": (frozenset({"batch_size_dependence"}), _batch_size),
    "generalization": (frozenset({"generalization"}), _generalization),
    "dropout + class_weight": (frozenset({"dropout", "class_weight"}), _dropout_and_class_weight),
    "batchnorm + L2": (frozenset({"batchnorm", "regularization"}), _batchnorm_and_regularization),
    "drift + noise": (frozenset({"drift", "dropout"}), _drift_and_noise),
    "augmentation + sample_weight": (
        frozenset({"augmentation", "sample_weight"}),
        _augmentation_and_sample_weight,
    ),
}


def build(name: str) -> Case:
    """Train one entry of :data:`ENTRIES`."""
    if name not in ENTRIES:
        raise ValueError(f"invalid `name`: {name!r}; expected one of {list(ENTRIES)}")
    causes, builder = ENTRIES[name]
    model, x, y, kwargs = builder()
    return Case(name, causes, model, x, y, kwargs)


def verdict(case: Case, diagnosis) -> dict:
    """Compare a diagnosis with the injected causes: missed, false alarms, and the verdict."""
    found = set(diagnosis.present)
    missed = sorted(case.causes - found)
    false_alarms = sorted(found - case.causes - ALLOWED)
    return {
        "entry": case.name,
        "injected": ", ".join(sorted(case.causes)) or "none",
        "found": ", ".join(diagnosis.present) or "none",
        "missed": ", ".join(missed),
        "false alarms": ", ".join(false_alarms),
        "verdict": "ok" if not missed and not false_alarms else "WRONG",
    }


def run(names=None) -> list[dict]:
    """Train and diagnose every entry (or ``names``); one row per entry with its verdict.

    Each row also says whether the model's state was unchanged and how long
    training and diagnosis took.
    """
    rows = []
    for name in names or ENTRIES:
        start = time.perf_counter()
        case = build(name)
        trained = time.perf_counter()
        before = snapshot(case.model)
        diagnosis = diagnose(case.model, case.x, case.y, batch_size=BATCH, **case.kwargs)
        row = verdict(case, diagnosis)
        row["state unchanged"] = not changed(before, snapshot(case.model))
        if not row["state unchanged"]:
            row["verdict"] = "WRONG"
        row["train s"] = trained - start
        row["diagnose s"] = time.perf_counter() - trained
        row["passes"] = diagnosis.passes
        rows.append(row)
    return rows
