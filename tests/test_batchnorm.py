"""BatchNorm statistics and PreciseBN recalibration (helpers.batchnorm), and the memory tools (helpers.memory).

Scenario 04's own functions are tested in tests/test_resnet.py.
"""

import numpy as np
import pytest

from helpers import (
    batch_statistics,
    batchnorm_layers,
    compare_statistics,
    fingerprint,
    memory,
    preserved_state,
    recalibrate_batchnorm,
    travelled,
    updates_needed,
)
from helpers.memory import large_buffers_mapped, release_memory

EPS = 1e-3  # Keras's BatchNormalization epsilon


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(50, 4)) * [1.0, 3.0, 0.5, 10.0] + [2.0, -1.0, 0.0, 40.0]).astype(
        "float32"
    )
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=50)]
    return x, y


def two_bn_model(keras, *, dropout=0.0, momentum=0.99):
    """Input -> BN -> Dense -> [Dropout] -> nested(BN -> Dense softmax): functional with a nested model."""
    inner = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.BatchNormalization(momentum=momentum, name="bn2"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ],
        name="inner",
    )
    inputs = keras.Input((4,))
    h = keras.layers.BatchNormalization(momentum=momentum, name="bn1")(inputs)
    h = keras.layers.Dense(6, name="hidden")(h)
    if dropout:
        h = keras.layers.Dropout(dropout, name="drop")(h)
    model = keras.Model(inputs, inner(h), name="two_bn")
    model.compile(
        optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def test_travelled_and_updates_needed():
    assert travelled(0.99, 5) == pytest.approx(1 - 0.99**5)
    assert travelled(0.99, 0) == 0.0
    assert updates_needed(0.99) == 459 and travelled(0.99, 459) >= 0.99 > travelled(0.99, 458)
    assert updates_needed(0.5, 0.75) == 2 and updates_needed(0.0) == 1
    for bad in (1.5, -0.1, True, "0.99"):
        with pytest.raises(ValueError, match="invalid `momentum`"):
            travelled(bad, 5)
    with pytest.raises(ValueError, match="invalid `updates`"):
        travelled(0.99, -1)
    with pytest.raises(ValueError, match="never move"):
        updates_needed(1.0)
    with pytest.raises(ValueError, match="invalid `fraction`"):
        updates_needed(0.9, 1.0)


def test_recalibration_changes_only_moving_statistics(keras, data):
    x, y = data
    model = two_bn_model(keras, dropout=0.5)
    model.fit(
        x, y, epochs=2, batch_size=16, verbose=0
    )  # optimizer, metrics and dropout seed state exist
    before = fingerprint(model)
    metrics_before = [v.numpy().copy() for v in model.metrics_variables]
    recalibrate_batchnorm(model, x, batch_size=16)
    after = fingerprint(model)
    changed = {path for path in before if before[path] != after[path]}
    assert changed == {
        f"{bn}/{stat}" for bn in ("bn1", "inner/bn2") for stat in ("moving_mean", "moving_variance")
    }
    assert any("seed_generator" in path for path in before)  # the dropout state was watched too
    assert all(
        np.array_equal(a, v.numpy()) for a, v in zip(metrics_before, model.metrics_variables)
    )
    # Settings and the patched `call` are put back.
    for layer in batchnorm_layers(model):
        assert layer.momentum == 0.99 and "call" not in vars(layer)


def test_recalibration_matches_exact_population_statistics(keras, data):
    x, y = data
    model = two_bn_model(keras)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    bn1, bn2 = (model.get_layer("bn1"), model.get_layer("inner").get_layer("bn2"))
    bn1.moving_variance.assign(
        np.full(4, np.inf, "float32")
    )  # broken statistics are replaced, not mixed in
    recalibrate_batchnorm(model, x, batch_size=8)  # 50 = 6 batches of 8 + one of 2
    # The first layer sees the raw inputs: its statistics are those of all of x.
    np.testing.assert_allclose(bn1.moving_mean.numpy(), x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn1.moving_variance.numpy(), x.var(axis=0), rtol=1e-4)
    # The second sees features computed batch by batch, bn1 using each batch's statistics.
    gamma, beta = bn1.gamma.numpy(), bn1.beta.numpy()
    kernel, bias = (w.numpy() for w in model.get_layer("hidden").weights)
    features = []
    for start in range(0, len(x), 8):
        xb = x[start : start + 8].astype("float64")
        normalised = (xb - xb.mean(axis=0)) / np.sqrt(xb.var(axis=0) + EPS) * gamma + beta
        features.append(normalised @ kernel + bias)
    features = np.concatenate(features)
    np.testing.assert_allclose(bn2.moving_mean.numpy(), features.mean(axis=0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bn2.moving_variance.numpy(), features.var(axis=0), rtol=1e-4)


def test_one_batch_recalibration_makes_inference_equal_training_mode(keras, data):
    x, y = data
    model = two_bn_model(keras)
    model.fit(x, y, epochs=2, batch_size=50, verbose=0)
    with preserved_state(model):  # training=True moves the moving statistics: put them back
        with_batch_stats = np.asarray(model(x, training=True))
    assert not np.allclose(np.asarray(model(x, training=False)), with_batch_stats, atol=1e-3)
    recalibrate_batchnorm(model, x, batch_size=len(x))
    np.testing.assert_allclose(np.asarray(model(x, training=False)), with_batch_stats, atol=1e-5)


def test_batch_statistics_measures_without_changing_the_model(keras, data):
    x, y = data
    model = two_bn_model(keras, dropout=0.3)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    before = fingerprint(model)
    stats = batch_statistics(model, x)
    assert list(stats) == ["bn1", "inner/bn2"]  # paths: unique even when nested models reuse names
    np.testing.assert_allclose(stats["bn1"][0], x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(stats["bn1"][1], x.var(axis=0), rtol=1e-4)
    compare_statistics(model, x)
    assert fingerprint(model) == before


def test_compare_statistics_measures_the_distance_travelled(keras, data):
    # BN straight on the inputs: every step sees the same batch statistics, so after
    # N updates the moving values are exactly 1 - m**N of the way from (0, 1).
    x, y = data
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.BatchNormalization(momentum=0.9),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.fit(x, y, epochs=7, batch_size=len(x), verbose=0)
    row = compare_statistics(model, x)[0]
    assert row["mean travelled"] == pytest.approx(travelled(0.9, 7), abs=1e-5)
    assert row["var travelled"] == pytest.approx(travelled(0.9, 7), abs=1e-5)
    with pytest.raises(ValueError, match="unknown BatchNormalization layer"):
        compare_statistics(model, x, layers=["nope"])


def test_subclassed_model_and_frozen_layers(keras, data):
    x, _ = data

    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.a = keras.layers.BatchNormalization()
            self.dense = keras.layers.Dense(4)
            self.b = keras.layers.BatchNormalization()

        def call(self, inputs, training=None):
            return self.b(self.dense(self.a(inputs, training=training)), training=training)

    model = Net()
    model(x[:2])
    model.a.trainable = False  # frozen: fit() never updates it, and neither does recalibration
    frozen = model.a.moving_mean.numpy().copy()
    table = recalibrate_batchnorm(model, x, batch_size=10)
    assert len(batchnorm_layers(model)) == 2 and len(table) == 1
    np.testing.assert_array_equal(model.a.moving_mean.numpy(), frozen)
    assert not np.allclose(model.b.moving_variance.numpy(), 1.0)


def test_bad_input_errors(keras, data):
    x, y = data
    with pytest.raises(ValueError, match="no BatchNormalization layer"):
        recalibrate_batchnorm(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), x)
    model = two_bn_model(keras)
    with pytest.raises(ValueError, match="holds no samples"):
        recalibrate_batchnorm(model, x[:0])
    for bad in (0, None, True, 2.5):
        with pytest.raises(ValueError, match="invalid `batch_size`"):
            recalibrate_batchnorm(model, x, batch_size=bad)
    with pytest.raises(TypeError, match="array"):
        recalibrate_batchnorm(model, "images")
    for layer in batchnorm_layers(model):
        layer.trainable = False
    with pytest.raises(ValueError, match="frozen"):
        recalibrate_batchnorm(model, x)
    renorm = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(renorm=True)])
    with pytest.raises(ValueError, match="renorm"):
        recalibrate_batchnorm(renorm, x)


def test_memory_helpers_change_no_number(keras, data, monkeypatch):
    x, y = data
    model = two_bn_model(keras)
    expected = np.asarray(model(x, training=True))
    glibc = memory.glibc() is not None
    with large_buffers_mapped(1 << 10) as tuned:
        assert tuned == glibc
        np.testing.assert_array_equal(np.asarray(model(x, training=True)), expected)
    assert release_memory() == glibc
    monkeypatch.setattr(memory, "glibc", lambda: None)  # macOS, Windows, musl: collect garbage only
    with large_buffers_mapped() as tuned:
        assert tuned is False
    assert release_memory() is False
