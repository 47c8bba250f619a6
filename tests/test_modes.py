"""evaluate_in_mode: what evaluate() would say, in any mix of modes, changing nothing."""

import numpy as np
import pytest

from helpers.modes import evaluate_in_mode, families_present, layer_family, leaf_layers, preserved_state
from tests.conftest import same, snapshot


def test_inference_mode_is_evaluate(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model(dropout=0.5, batchnorm=True)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    expected = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert evaluate_in_mode(model, x, y, batch_size=8) == pytest.approx(expected, abs=0)


def test_manual_loop_in_inference_mode_matches_evaluate(tiny_model, tiny_data):
    # An empty family set goes through evaluate(); forcing every family off through
    # the manual loop must give the same numbers -- this validates the loop itself.
    x, y = tiny_data
    model = tiny_model(dropout=0.5, batchnorm=True)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    via_evaluate = evaluate_in_mode(model, x, y, mode=set(), batch_size=8)
    via_loop = evaluate_in_mode(model, x, y, mode={"other"}, batch_size=8)
    assert via_loop == pytest.approx(via_evaluate, abs=1e-6)


def test_training_mode_changes_the_numbers_but_not_the_model(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model(dropout=0.5, batchnorm=True)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    before = snapshot(model)
    train = evaluate_in_mode(model, x, y, mode="training", batch_size=8)
    assert same(before, snapshot(model)), "weights, BN statistics or seed state changed"
    infer = evaluate_in_mode(model, x, y, batch_size=8)
    assert train["loss"] != pytest.approx(infer["loss"], abs=1e-4)
    # And the probe is repeatable: the dropout seed state was restored too.
    assert evaluate_in_mode(model, x, y, mode="training", batch_size=8) == train


def test_probe_does_not_change_later_training(tiny_model, tiny_data, keras):
    x, y = tiny_data
    runs = []
    for probe in (False, True):
        keras.utils.set_random_seed(1)
        model = tiny_model(dropout=0.3, batchnorm=True)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        if probe:
            evaluate_in_mode(model, x, y, mode="training", batch_size=8)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
        runs.append(snapshot(model))
    assert same(*runs)


def test_families_are_switched_on_alone(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model(dropout=0.5, batchnorm=True)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    infer = evaluate_in_mode(model, x, y, batch_size=8)["loss"]
    only_dropout = evaluate_in_mode(model, x, y, mode={"dropout"}, batch_size=8)["loss"]
    only_bn = evaluate_in_mode(model, x, y, mode={"batchnorm"}, batch_size=8)["loss"]
    assert only_dropout != pytest.approx(infer, abs=1e-5)
    assert only_bn != pytest.approx(infer, abs=1e-5)
    assert only_bn != pytest.approx(only_dropout, abs=1e-5)


def test_batchnorm_in_training_mode_depends_on_batch_size(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model(batchnorm=True)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    small = evaluate_in_mode(model, x, y, mode="training", batch_size=4)["loss"]
    whole = evaluate_in_mode(model, x, y, mode="training", batch_size=40)["loss"]
    assert small != pytest.approx(whole, abs=1e-6)


def test_layer_families(keras):
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4), keras.layers.Dropout(0.1)])
    inputs = keras.Input((4,))
    h = keras.layers.BatchNormalization()(inner(inputs))
    h = keras.layers.GaussianNoise(0.1)(h)
    outputs = keras.layers.LSTM(2, dropout=0.1)(keras.layers.Reshape((1, 4))(h))
    model = keras.Model(inputs, outputs)
    assert len(leaf_layers(model)) == 7  # nested Sequential opened
    assert families_present(model) == {"dropout": 2, "batchnorm": 1, "other": 1}
    assert layer_family(keras.layers.Dense(2)) is None


def test_preserved_state_restores_after_an_error(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model(batchnorm=True)
    model.fit(x, y, epochs=1, verbose=0)
    before = snapshot(model)
    with pytest.raises(RuntimeError):
        with preserved_state(model):
            model(x, training=True)  # moves BN statistics
            raise RuntimeError("boom")
    assert same(before, snapshot(model))


@pytest.mark.parametrize("kwargs, fragment", [
    ({"mode": "train"}, "invalid `mode`: 'train'"),
    ({"mode": {"dropouts"}}, "unknown layer families ['dropouts']"),
    ({"batch_size": 0}, "invalid `batch_size`: 0"),
])
def test_bad_arguments(tiny_model, tiny_data, kwargs, fragment):
    x, y = tiny_data
    with pytest.raises(ValueError) as err:
        evaluate_in_mode(tiny_model(), x, y, **kwargs)
    assert fragment in str(err.value)


def test_uncompiled_model_is_refused(tiny_model, tiny_data):
    x, y = tiny_data
    with pytest.raises(ValueError, match="not compiled.*model.compile"):
        evaluate_in_mode(tiny_model(compile=False), x, y, mode="training")


def test_mismatched_data_is_refused(tiny_model, tiny_data):
    x, y = tiny_data
    with pytest.raises(ValueError, match="`x` has 40 samples but `y` has 39"):
        evaluate_in_mode(tiny_model(), x, y[:-1])
