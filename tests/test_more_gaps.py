"""Scenario 05 (``helpers.scenarios.more_gaps``): unit tests, the explorer, exercises, robustness."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.scenarios import more_gaps as mg
from helpers.scenarios.more_gaps import answers
from helpers.selfcheck import check_exercise, exercises

# ------------------------------------------------------------------ fast unit tests


def test_build_mlp_shapes_and_penalty(keras):
    model = mg.build_mlp(l2=0.05)
    assert model.output_shape == (None, 10) and len(model.losses) == 2
    assert mg.penalty(model) > 0 and mg.penalty(mg.build_mlp()) == 0
    image = mg.build_mlp(inputs=(28, 28, 1), outputs=1)
    assert image.output_shape == (None, 1)


def test_evaluate_includes_the_penalty(keras):
    x, y = mg.flat_digits(64)
    model = mg.build_mlp(l2=0.05)
    mg.compile_penalised(model)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert abs(result["loss"] - result["data_loss"] - mg.penalty(model)) < 1e-4


def test_sample_weights_and_errors():
    assert mg.sample_weights(np.array([[0.0], [1.0]]), {0: 1, 1: 10}).tolist() == [1.0, 10.0]
    assert mg.sample_weights(np.eye(3)[[2, 0]], {0: 1, 1: 2, 2: 5}).tolist() == [5.0, 1.0]
    with pytest.raises(ValueError, match="no weight for class 1"):
        mg.sample_weights(np.array([0, 1]), {0: 1})
    with pytest.raises(ValueError, match="invalid `class_weight`"):
        mg.sample_weights(np.array([0, 1]), [1, 10])


def test_binary_digits_are_one_in_ten():
    x, y = mg.binary_digits(0)
    assert x.shape == (3000, 784) and y.shape == (3000, 1) and 0.05 < y.mean() < 0.15
    with pytest.raises(ValueError, match="invalid `digit`"):
        mg.binary_digits(10)


def test_write_digit_folder(tmp_path):
    folder = mg.write_digit_folder(tmp_path / "d", digits=(3, 8), per_class=5)
    assert sorted(p.name for p in folder.iterdir()) == ["3", "8"]
    assert len(list((folder / "8").glob("*.png"))) == 5
    with pytest.raises(ValueError, match="invalid `per_class`"):
        mg.write_digit_folder(tmp_path / "e", per_class=10_000)


def test_predict_with_labels_stays_paired(keras):
    import tensorflow as tf

    x = np.arange(20, dtype="float32")[:, None]
    ds = (
        tf.data.Dataset.from_tensor_slices((x, x))
        .shuffle(20, reshuffle_each_iteration=True)
        .batch(4)
    )
    identity = keras.Sequential([keras.Input((1,)), keras.layers.Identity()])
    predictions, labels = mg.predict_with_labels(identity, ds)
    assert np.array_equal(predictions, labels) and sorted(labels[:, 0]) == list(range(20))


def test_unfreeze_top_and_frozen_batchnorm_rule(keras):
    base = mg.build_conv_base()
    assert mg.unfreeze_top(base, 0) == []
    assert mg.unfreeze_top(base, 1) == ["conv2", "bn2"]
    assert mg.unfreeze_top(base, 2, freeze_batchnorm=True) == ["conv1", "conv2"]
    with pytest.raises(ValueError, match="invalid `unfrozen`"):
        mg.unfreeze_top(base, 3)
    # Keras's rule: a frozen BatchNormalization layer runs in inference mode even with training=True.
    mg.unfreeze_top(base, 0)
    x = np.random.default_rng(0).normal(size=(8, 14, 14, 1)).astype("float32")
    assert np.allclose(base(x, training=True), base(x, training=False), atol=1e-6)


def test_batch_size_spread_in_training_mode_only(keras):
    x = np.random.default_rng(0).normal(size=(16, 784)).astype("float32")
    model = mg.build_mlp(batchnorm=True)
    before = [w.copy() for w in model.get_weights()]
    training = mg.batch_size_spread(model, x, (1, 4, 16), training=True)
    inference = mg.batch_size_spread(model, x, (1, 4, 16), training=False)
    assert training.column("spread across samples")[0] < 1e-6  # batches of one: all outputs equal
    assert training.column("largest change")[1] > 1e-3
    assert max(inference.column("largest change")) < 1e-5
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(ValueError, match="invalid `batch_size`"):
        mg.batched_outputs(model, x, 0, training=True)


# ------------------------------------------------------------------ explorer


def test_explore_plain_function():
    result = mg.explore(section="penalty", l2=0.05)
    assert (
        abs(
            result.values["evaluate() loss"]
            - result.values["evaluate() data_loss"]
            - result.values["penalty (sum of model.losses)"]
        )
        < 1e-4
    )
    assert result.figure is not None and "penalty" in result.summary


@pytest.mark.parametrize(
    "settings, error, match",
    [
        (dict(section="dropout"), ValueError, "invalid `section`"),
        (dict(l2=-0.1), ValueError, "invalid `l2`"),
        (dict(class_weight=0), ValueError, "invalid `class_weight`"),
        (dict(unfrozen=3), ValueError, "invalid `unfrozen`"),
        (dict(batch_size=0), ValueError, "invalid `batch_size`"),
        (dict(shuffle="no"), ValueError, "invalid `shuffle`"),
    ],
)
def test_explore_rejects_bad_settings(settings, error, match):
    with pytest.raises(error, match=match):
        mg.explore(**settings)


def test_explorer_widget_defaults_and_unknown_knob():
    explorer = mg.explorer(batch_size=16, section="batch_size")
    assert explorer.values()["batch_size"] == 16 and explorer.values()["section"] == "batch_size"
    with pytest.raises(ValueError, match="invalid setting 'dropout_1'"):
        mg.explorer(dropout_1=0.2)
    with pytest.raises(ValueError, match="invalid `unfrozen`"):
        mg.explorer(unfrozen=-1)


# ------------------------------------------------------------------ exercises


def test_exercises_right_and_stub():
    assert sorted(exercises("more_gaps")) == [1, 2, 3]
    right_1 = answers.evaluated_penalty(answers.WEAK_L2, 0)
    assert check_exercise("more_gaps", 1, right_1, show=False)
    assert not check_exercise("more_gaps", 1, right_1 * 1.5, show=False)
    assert not check_exercise("more_gaps", 1, ..., show=False)
    right_2 = answers.weighting_part(answers.MILD_WEIGHT, 0)
    assert right_2 > 0 and check_exercise("more_gaps", 2, right_2, show=False)
    assert not check_exercise("more_gaps", 2, ..., show=False)


def test_exercise_3_uses_the_students_model(keras):
    model = mg.build_mlp(batchnorm=True)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    right = answers.training_mode_accuracy(model, 16)
    assert check_exercise("more_gaps", 3, right, model=model, show=False)
    assert not check_exercise("more_gaps", 3, right + 0.1, model=model, show=False)
    assert not check_exercise("more_gaps", 3, ..., model=model, show=False)


# ------------------------------------------------------------------ robustness over seeds


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_phenomena_hold_over_seeds(seed):
    """Each section's symptom and fix, as the notebook asserts them, for seeds other than 0."""
    penalty = mg.explore(section="penalty", seed=seed).values
    assert penalty["evaluate() loss"] > 1.5 * penalty["evaluate() data_loss"]
    weighted = mg.explore(section="class_weight", seed=seed).values
    assert weighted["fit() logged (weighted)"] > 1.5 * weighted["evaluate()"]
    gap_all = weighted["fit() logged (weighted)"] - weighted["evaluate()"]
    assert weighted["evaluate(sample_weight)"] - weighted["evaluate()"] > 0.3 * gap_all
    shuffled = mg.explore(section="shuffle", seed=seed).values
    assert shuffled["evaluate() accuracy"] > 0.85
    assert abs(shuffled["predict() vs labels of a 2nd pass"] - 0.5) < 0.15
    fixed = mg.explore(section="shuffle", shuffle=False, seed=seed).values
    assert abs(fixed["predict() vs labels of a 2nd pass"] - fixed["evaluate() accuracy"]) < 1e-6
    tuned = mg.explore(section="fine_tune", unfrozen=1, seed=seed).values
    assert tuned["fit() logged"] - tuned["evaluate()"] > 0.2 and tuned["evaluate()"] < 0.3
    assert tuned["evaluate() after recalibrate_batchnorm"] > tuned["fit() logged"] - 0.05
    frozen = mg.explore(section="fine_tune", unfrozen=0, seed=seed).values
    assert frozen["evaluate()"] > frozen["fit() logged"] - 0.05  # no collapse; the rest is drift
    single = mg.explore(section="batch_size", batch_size=1, seed=seed).values
    assert single["training mode"] < 0.2 and single["inference mode"] > 0.8
