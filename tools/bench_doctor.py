"""What the gap doctor costs beside one training epoch, and its zoo's verdicts (for ``tools/bench.py``).

Run alone, it prints the rows as JSON::

    python tools/bench_doctor.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _tabular(n: int = 4000):
    """A model from no notebook: a wide MLP with BatchNorm, Dropout and L2 on synthetic data."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 20)).astype("float32")
    y = (x[:, :5].sum(axis=1) + 0.5 * rng.normal(size=n) > 0).astype("int64")
    keras.utils.set_random_seed(0)
    reg = keras.regularizers.L2(1e-3)
    model = keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(64, kernel_regularizer=reg),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(2, activation="softmax"),
        ],
        name="tabular_mlp",
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, x, y


def _mnist_cnn(n: int = 3000):
    """Notebook 02's CNN (two Dropout layers) on ``n`` shipped digits."""
    import keras

    from helpers import build_mnist_cnn, load_mnist

    (x, y), _ = load_mnist(n_train=n)
    return (
        build_mnist_cnn(),
        x[..., None].astype("float32") / 255,
        keras.utils.to_categorical(y, 10),
    )


def measure_cost(build, *, batch_size: int = 32, repeats: int = 2) -> dict:
    """Time :func:`helpers.diagnose` against one training epoch of the model ``build()`` returns.

    One warm-up epoch and one warm-up diagnosis first (the backend traces
    its functions then), then ``repeats`` epochs and diagnoses; the fastest
    of each is kept.
    """
    from bench_decompose import against_epochs

    from helpers import diagnose

    model, x, y = build()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    start = time.perf_counter()
    diagnose(model, x, y, batch_size=batch_size)
    first = time.perf_counter() - start
    epoch_s, doctor_s, diagnosis = against_epochs(
        model,
        x,
        y,
        batch_size,
        repeats,
        lambda history: diagnose(model, x, y, history=history, batch_size=batch_size),
    )
    return {
        "what": "cost",
        "model / entry": f"{model.name} ({len(x)} samples)",
        "found": ", ".join(diagnosis.present) or "none",
        "passes": diagnosis.passes,
        "epoch s": min(epoch_s),
        "doctor s": min(doctor_s),
        "first doctor s": first,
        "ratio to an epoch": min(doctor_s) / min(epoch_s),
    }


def bench_doctor() -> list[dict]:
    """Rows: the doctor's cost on two models, then every zoo entry with its verdict."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests import doctor_zoo as zoo

    rows = [measure_cost(_mnist_cnn), measure_cost(_tabular)]
    for row in zoo.run():
        rows.append(
            {
                "what": "zoo",
                "model / entry": row["entry"],
                "injected": row["injected"],
                "found": row["found"],
                "verdict": row["verdict"] + ("" if row["state unchanged"] else " (state changed)"),
                "passes": row["passes"],
                "doctor s": row["diagnose s"],
            }
        )
    return rows


if __name__ == "__main__":
    print(json.dumps(bench_doctor(), indent=1, default=str))
