"""Notebook 04's exercises (``check_exercise("resnet", k, ...)``), checked on the student's own
model, which nothing here changes; exercise 3's cases are models the notebook never shows."""

from __future__ import annotations

import numpy as np

from helpers.batchnorm import batchnorm_layers, recalibrate_batchnorm
from helpers.modes import preserved_state
from helpers.reproducibility import import_tensorflow_quietly
from helpers.selfcheck import Exercise, Misconception, choice_exercise

tf, keras = import_tensorflow_quietly()


def right_one_image_per_batch(model, x, y, precise_bn=False) -> int:
    """Images right in training mode, or after PreciseBN, one image per batch (model kept)."""
    labels = np.argmax(y, axis=1)
    with preserved_state(model):
        if precise_bn:
            recalibrate_batchnorm(model, x, batch_size=1)
            return int(np.sum(np.argmax(model(x, training=False), axis=1) == labels))
        return sum(
            int(np.argmax(model(x[i : i + 1], training=True)) == labels[i]) for i in range(3)
        )


def _inputs_seen(model, batches, training=True):
    """Per batch: its size and every BatchNorm layer's input, only BatchNorm in ``training``."""
    for xb in batches:
        h, seen = keras.ops.convert_to_tensor(xb), []
        for layer in model.layers:
            is_bn = isinstance(layer, keras.layers.BatchNormalization)
            seen += [np.asarray(h, "float64")] if is_bn else []
            h = layer(h, training=is_bn and training)
        yield len(xb), seen


def _combine(model, batches, spread=True, training=True):
    parts = list(_inputs_seen(model, batches, training))
    n = sum(size for size, _ in parts)
    for i, layer in enumerate(batchnorm_layers(model)):
        mean = sum(s * seen[i].mean(0) for s, seen in parts) / n
        square = sum(s * (seen[i].var(0) + spread * seen[i].mean(0) ** 2) for s, seen in parts) / n
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(square - spread * mean**2)


def precise_bn(model, batches):
    """PreciseBN over ``batches``: E[μ_b] and E[σ²_b + μ_b²] − E[μ_b]², weighted by size."""
    _combine(model, batches)


def averaged_variances(model, batches):  # wrong: E[σ²_b], without the spread of the means
    _combine(model, batches, spread=False)


def upstream_inference(model, batches):  # wrong: earlier BatchNorm layers use moving statistics
    _combine(model, batches, training=False)


def momentum_updates(model, batches):  # wrong: Keras's own moving averages, as fit() keeps them
    list(_inputs_seen(model, batches))  # each BatchNorm call in training mode updates them


def _cases():
    """Two small models with Dropout between BatchNorm layers; batches of unequal sizes."""
    cases, layers = [], keras.layers
    for seed, sizes in ((11, (5, 5, 3)), (12, (4, 7))):
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input((6,)), layers.Dense(8), layers.BatchNormalization(),
                                  layers.Dropout(0.5), layers.Dense(5, "relu"),
                                  layers.BatchNormalization(), layers.Dense(3)])  # fmt: skip
        rng = np.random.default_rng(seed)
        batches = [
            (rng.normal(size=(s, 6)) * 2 + 3 * k).astype("float32") for k, s in enumerate(sizes)
        ]

        def case(implementation, model=model, batches=batches):
            implementation(model, batches)
            return [
                (b.moving_mean.numpy(), b.moving_variance.numpy()) for b in batchnorm_layers(model)
            ]

        cases.append(case)
    return cases


def _wrong(value, feedback):
    return Misconception(wrong=lambda: value, feedback=feedback)


EXERCISES = {
    1: Exercise(
        hint="in training mode BatchNorm normalises with the statistics of the batch in front of it: "
        "which batch is that now, and which did the weights learn with?",
        expected=right_one_image_per_batch,
        misconceptions=[
            _wrong(3, "training mode is not fit() by itself: fit() normalised with the statistics of "
                   "its batch of three; one image alone has other statistics, which the weights never met"),
        ],
    ),
    2: choice_exercise(
        "ask what the momentum multiplies, and what fit() reads in training mode",
        {
            "a": ("A lower momentum lets the weights learn faster, so they fit the images sooner.",
                  "BatchNorm's momentum is not the learning rate of the weights (nor Adam's "
                  "momentum): it only weights the moving averages, which fit() never reads"),
            "b": ("With a small momentum BatchNorm is switched off at inference.",
                  "BatchNorm is not off at inference: it normalises with its moving statistics; "
                  "the momentum only decides how fast those follow the batches"),
            "c": ("Each update keeps only 1 % of the old moving value, so the moving statistics "
                  "are nearly those of the weights one step old; once a step barely changes "
                  "them, they fit.", None),
            "d": ("A small momentum makes fit() normalise with the moving statistics too.",
                  "in training mode BatchNorm always uses the batch's own statistics, whatever "
                  "the momentum; the moving ones are read only at inference"),
        },
    ),
    3: Exercise(
        kind="function",
        hint="per BatchNorm layer, add up n_b·μ_b and n_b·(σ²_b + μ_b²) over the batches with only "
        "BatchNorm in training mode (call the layers one by one), then divide by N",
        expected=lambda: precise_bn,
        cases=_cases,
        misconceptions=[
            _wrong(averaged_variances, "you averaged the batch variances: the population variance "
                   "also holds the spread of the batch means, E[σ² + μ²] − E[μ]²"),
            _wrong(momentum_updates, "these are momentum updates, the moving averages fit() keeps: "
                   "PreciseBN replaces them with the exact average over the batches"),
            _wrong(upstream_inference, "the earlier BatchNorm layers normalised with their moving "
                   "statistics: in fit() each uses its batch's, so the later layers see other inputs"),
        ],
        rtol=1e-4,
        atol=1e-5,
    ),
    4: Exercise(
        hint="the combination over batches is exact, but what did each deeper layer's input look "
        "like when every image was normalised on its own?",
        expected=lambda model, x, y: right_one_image_per_batch(model, x, y, precise_bn=True),
        misconceptions=[
            _wrong(3, "E[σ² + μ²] − E[μ]² is exact for the inputs the layers saw; but with batches "
                   "of one image every deeper layer saw inputs normalised image by image, not as in "
                   "fit()'s batch of three"),
        ],
    ),
}  # fmt: skip
