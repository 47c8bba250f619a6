"""evaluate_in_mode: what evaluate() would say, in any mix of modes, changing nothing.

The fast path (batches cut once, the model's own compiled test function) must
give evaluate()'s numbers to the last bit: these tests compare with ``==``.
"""

import numpy as np
import pytest

from helpers.modes import (
    evaluate_batches,
    evaluate_in_mode,
    families_present,
    layer_family,
    leaf_layers,
    make_batches,
    preserved_state,
)
from tests.conftest import same, snapshot

WEIGHTS = np.random.default_rng(1).uniform(0.2, 2.0, 40)


@pytest.mark.parametrize(
    "kind",
    [{"dropout": 0.5}, {"batchnorm": True}, {"dropout": 0.5, "batchnorm": True}],
    ids=["dropout", "batchnorm", "both"],
)
def test_inference_mode_is_evaluate_to_the_last_bit(trained_tiny, tiny_data, kind):
    x, y = tiny_data
    model = trained_tiny(**kind)
    for sample_weight in (None, WEIGHTS):
        for batch_size in (8, 7):  # 7: the last batch holds the remaining 5
            expected = model.evaluate(
                x,
                y,
                sample_weight=sample_weight,
                batch_size=batch_size,
                verbose=0,
                return_dict=True,
            )
            kw = dict(sample_weight=sample_weight, batch_size=batch_size)
            assert evaluate_in_mode(model, x, y, **kw) == expected
            # The training-mode step with every family forced off is evaluate() too:
            # this validates its loss and metric bookkeeping, bit for bit.
            assert evaluate_in_mode(model, x, y, mode={"other"}, **kw) == expected


def test_batches_made_once_serve_every_mode(trained_tiny, tiny_data):
    x, y = tiny_data
    model = trained_tiny(dropout=0.5, batchnorm=True)
    batches = make_batches(x, y, WEIGHTS, batch_size=7)
    assert [len(b[0]) for b in batches] == [7] * 5 + [5]
    for mode in ("inference", "training", {"dropout"}, {"batchnorm"}):
        assert evaluate_batches(model, batches, mode=mode) == evaluate_in_mode(
            model, x, y, mode=mode, sample_weight=WEIGHTS, batch_size=7
        )


def test_data_are_converted_as_evaluate_converts_them(trained_tiny, tiny_data):
    x, y = tiny_data
    model = trained_tiny(dropout=0.5)
    x64, y_int = (
        x.astype("float64"),
        y.astype("int64"),
    )  # cast to float32 / kept, as evaluate() does
    assert evaluate_in_mode(model, x64, y_int, batch_size=8) == model.evaluate(
        x64, y_int, batch_size=8, verbose=0, return_dict=True
    )


def test_two_outputs_share_one_sample_weight(keras, tiny_data):
    x, y = tiny_data
    inputs = keras.Input((5,))
    hidden = keras.layers.Dropout(0.3)(keras.layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(
        inputs,
        [keras.layers.Dense(1, activation="sigmoid", name=name)(hidden) for name in ("a", "b")],
    )
    model.compile(
        optimizer="sgd", loss=["binary_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]]
    )
    expected = model.evaluate(
        x, [y, 1 - y], sample_weight=WEIGHTS, batch_size=16, verbose=0, return_dict=True
    )
    assert evaluate_in_mode(model, x, [y, 1 - y], sample_weight=WEIGHTS, batch_size=16) == expected


def test_training_mode_changes_the_numbers_but_not_the_model(trained_tiny, tiny_data):
    x, y = tiny_data
    model = trained_tiny(dropout=0.5, batchnorm=True)
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


def test_recompiling_gives_the_new_metrics(tiny_model, tiny_data, keras):
    x, y = tiny_data
    model = tiny_model(dropout=0.5)
    assert sorted(evaluate_in_mode(model, x, y, mode="training")) == ["accuracy", "loss"]
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])  # the compiled step is made anew
    assert sorted(evaluate_in_mode(model, x, y, mode="training")) == ["loss", "mae"]
    assert evaluate_in_mode(model, x, y, mode={"other"}) == model.evaluate(
        x, y, verbose=0, return_dict=True
    )


def test_the_compiled_step_does_not_keep_a_model_alive(tiny_model, tiny_data):
    import gc
    import weakref

    x, y = tiny_data
    model = tiny_model(dropout=0.5)
    evaluate_in_mode(model, x, y, mode="training")
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_families_are_switched_on_alone(trained_tiny, tiny_data):
    x, y = tiny_data
    model = trained_tiny(dropout=0.5, batchnorm=True)
    infer = evaluate_in_mode(model, x, y, batch_size=8)["loss"]
    only_dropout = evaluate_in_mode(model, x, y, mode={"dropout"}, batch_size=8)["loss"]
    only_bn = evaluate_in_mode(model, x, y, mode={"batchnorm"}, batch_size=8)["loss"]
    assert only_dropout != pytest.approx(infer, abs=1e-5)
    assert only_bn != pytest.approx(infer, abs=1e-5)
    assert only_bn != pytest.approx(only_dropout, abs=1e-5)


def test_batchnorm_in_training_mode_depends_on_batch_size(trained_tiny, tiny_data):
    x, y = tiny_data
    model = trained_tiny(batchnorm=True)
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


def test_preserved_state_restores_after_an_error(trained_tiny, tiny_data):
    x, y = tiny_data
    model = trained_tiny(batchnorm=True)
    before = snapshot(model)
    with pytest.raises(RuntimeError), preserved_state(model):
        model(x, training=True)  # moves BN statistics
        raise RuntimeError("boom")
    assert same(before, snapshot(model))


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"mode": "train"}, "invalid `mode`: 'train'"),
        ({"mode": {"dropouts"}}, "unknown layer families ['dropouts']"),
        ({"batch_size": 0}, "invalid `batch_size`: 0"),
    ],
)
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
