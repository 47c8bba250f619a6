"""Test-only code for scenario 05 (``tests/test_more_gaps.py``): the runs of sections 1 and 3
replayed for other seeds, and the batch-size spread of section 5 as a table."""

from __future__ import annotations

import numpy as np

from helpers.data import load_mnist
from helpers.modes import preserved_state
from helpers.scenarios.more_gaps import run


def train_penalised(l2: float = 0.05, seed: int = 0, dropout: float = 0.0):
    """Section 1 (and exercise 1 with ``dropout=0.5``): the L2 network with a ``data_loss``
    metric, 3 epochs on 3,000 digits, validated on the test digits; returns (model, History)."""
    keras = run.keras
    keras.utils.set_random_seed(seed)
    model = run.build_mlp(l2=l2, dropout=dropout)
    data_loss = keras.metrics.SparseCategoricalCrossentropy(name="data_loss")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=[data_loss])
    validation = run.flat_digits(test=True)
    x, y = run.flat_digits()
    return model, model.fit(x, y, epochs=3, batch_size=32, validation_data=validation, verbose=0)


def write_digit_folder(root, digits=(3, 8), per_class: int = 150):
    """Section 3's folder: held-out digits as PNG files, one sub-folder per class."""
    keras = run.keras
    (x, y), (x_held, y_held) = load_mnist(n_train=4500, n_test=500)
    pool_x, pool_y = np.concatenate([x[3000:], x_held]), np.concatenate([y[3000:], y_held])
    for digit in digits:
        (root / str(digit)).mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(pool_x[pool_y == digit][:per_class]):
            keras.utils.save_img(root / str(digit) / f"{i:04d}.png", image[..., None], scale=False)
    return root


def shuffle_accuracies(folder, seed: int = 0, shuffle: bool = True) -> dict:
    """Section 3: evaluate()'s accuracy and predict() paired with a second pass's labels."""
    keras = run.keras
    (x, y), _ = load_mnist(n_train=3000)
    keep = np.isin(y, (3, 8))
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(  # the notebook's section 3 network, written out there too
        [
            keras.Input((28, 28, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(
        x[keep][..., None].astype("float32"),
        (y[keep] == 8)[:, None].astype("float32"),
        epochs=3,
        batch_size=32,
        verbose=0,
    )
    read = dict(color_mode="grayscale", image_size=(28, 28), label_mode="binary")
    ds = keras.utils.image_dataset_from_directory(folder, shuffle=shuffle, verbose=False, **read)
    paired = (model.predict(ds, verbose=0) > 0.5) == np.concatenate([y for _, y in ds])
    evaluated = model.evaluate(ds, verbose=0, return_dict=True)["accuracy"]
    return {"evaluate": evaluated, "paired": float(paired.mean())}


def batched_outputs(model, x, batch_size: int, *, training: bool) -> np.ndarray:
    """``model(x_batch, training=training)`` batch by batch, concatenated."""
    return np.concatenate(
        [
            np.asarray(model(x[i : i + batch_size], training=training))
            for i in range(0, len(x), batch_size)
        ]
    )


def batch_size_spread(model, x, batch_sizes=(1, 8, 64), *, training: bool = True) -> dict:
    """Per batch size: the largest change against the last batch size's outputs, and the
    largest spread of an output across samples (0: every sample got the same output).
    The model is left exactly as it was."""
    with preserved_state(model):
        outputs = {b: batched_outputs(model, x, b, training=training) for b in batch_sizes}
    last = outputs[batch_sizes[-1]]
    return {
        b: (float(np.abs(out - last).max()), float(out.std(axis=0).max()))
        for b, out in outputs.items()
    }
