"""decompose_gap: the parts sum to the gap, each is what it claims, the model is untouched."""

import math
import warnings

import matplotlib
import numpy as np
import pytest

from helpers import GapProbe, Table
from helpers.decompose import GapDecomposition, decompose_gap, measure_cost
from helpers.modes import evaluate_in_mode
from helpers.waterfall import plot_waterfall
from tests.conftest import make_tiny, same, snapshot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FAMILIES_OF = {  # conftest's make_tiny settings -> the families it should report
    "none": ({}, set()),
    "dropout": ({"dropout": 0.5}, {"dropout"}),
    "batchnorm": ({"batchnorm": True}, {"batchnorm"}),
    "noise": ({"noise": 0.5}, {"dropout"}),  # GaussianNoise belongs to the dropout family
    "dropout+batchnorm": ({"dropout": 0.5, "batchnorm": True}, {"dropout", "batchnorm"}),
}


_TRAINED = {}


def _fit(keras, data, fresh=False, **settings):
    """A tiny model trained 3 epochs with a probe; shared by tests that do not change it."""
    key = tuple(sorted(settings.items()))
    if fresh or key not in _TRAINED:
        x, y = data
        keras.utils.set_random_seed(0)
        model = make_tiny(keras, **settings)
        probe = GapProbe(x, y, batch_size=8)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[probe])
        if fresh:
            return model, history, probe
        _TRAINED[key] = model, history, probe
    return _TRAINED[key]


@pytest.mark.parametrize("name", list(FAMILIES_OF))
def test_parts_sum_to_the_gap_and_the_model_is_unchanged(keras, tiny_data, name):
    settings, families = FAMILIES_OF[name]
    model, history, probe = _fit(keras, tiny_data, **settings)
    before = snapshot(model)  # weights, BN moving statistics, seed-generator states
    result = decompose_gap(model, probe=probe)
    assert same(before, snapshot(model)), "decompose_gap changed the model"
    assert set(result.families) == families
    assert result.metrics == ["loss", "accuracy"]
    for m in result.metrics:
        parts = result.parts[m]
        assert math.fsum(parts.values()) == pytest.approx(result.gap[m], abs=1e-12)
        assert abs(result.residual(m)) < 1e-12
        for family in ("dropout", "batchnorm"):
            if family not in families:
                assert parts[family] == 0.0  # exactly: nothing measured, nothing attributed
        if len(families) < 2:
            assert parts["interaction"] == 0.0
    if not families:  # only drift remains, and no training-mode pass was paid for
        assert result.passes == 1
        assert result.parts["loss"]["drift"] == result.gap["loss"]
    else:
        assert result.passes == 2 + (len(families) > 1) * len(families)
        assert any(result.parts["loss"][f] != 0.0 for f in families)


def test_each_measurement_is_what_it_claims(keras, tiny_data):
    x, y = tiny_data
    model, history, probe = _fit(keras, tiny_data, dropout=0.5, batchnorm=True)
    result = decompose_gap(model, probe=probe)
    measured = result.measured["loss"]
    assert measured["fit"] == pytest.approx(history.history["loss"][-1], abs=0)
    assert measured["inference"] == pytest.approx(
        model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"], abs=0)
    assert measured["training"] == evaluate_in_mode(model, x, y, mode="training", batch_size=8)["loss"]
    only_dropout = evaluate_in_mode(model, x, y, mode={"dropout"}, batch_size=8)["loss"]
    only_bn = evaluate_in_mode(model, x, y, mode={"batchnorm"}, batch_size=8)["loss"]
    I, T = measured["inference"], measured["training"]
    assert result.parts["loss"]["dropout"] == pytest.approx(only_dropout - I, abs=1e-12)
    assert result.parts["loss"]["batchnorm"] == pytest.approx(only_bn - I, abs=1e-12)
    assert result.parts["loss"]["interaction"] == pytest.approx(T - only_dropout - only_bn + I, abs=1e-12)
    assert result.parts["loss"]["drift"] == pytest.approx(history.history["loss"][-1] - T, abs=1e-12)
    # Repeatable: the same masks and batch statistics every call.
    assert decompose_gap(model, probe=probe).parts == result.parts


def test_probe_and_history_agree(keras, tiny_data):
    x, y = tiny_data
    model, history, probe = _fit(keras, tiny_data, dropout=0.5)
    via_probe = decompose_gap(model, probe=probe)
    via_history = decompose_gap(model, x, y, history=history, batch_size=8)
    via_dict = decompose_gap(model, x, y, history=history.history, batch_size=8)
    via_logs = decompose_gap(model, x, y, history={k: v[-1] for k, v in history.history.items()},
                             batch_size=8)
    assert via_probe.parts == via_history.parts == via_dict.parts == via_logs.parts


def test_functional_nested_model_with_sample_weights_and_several_metrics(keras, tiny_data):
    x, y = tiny_data
    w = np.linspace(0.2, 2.0, len(x)).astype("float32")
    keras.utils.set_random_seed(0)
    block = keras.Sequential([keras.Input((8,)), keras.layers.BatchNormalization(),
                              keras.layers.Dropout(0.4)], name="block")
    inputs = keras.Input((5,))
    h = keras.layers.GaussianNoise(0.2)(inputs)
    h = block(keras.layers.Dense(8, activation="relu")(h))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["accuracy", "mse", keras.metrics.AUC(name="auc")])
    probe = GapProbe(x, y, w, batch_size=8)
    model.fit(x, y, sample_weight=w, batch_size=8, epochs=2, verbose=0, callbacks=[probe])
    before = snapshot(model)
    result = decompose_gap(model, probe=probe)
    assert same(before, snapshot(model))
    assert result.families == {"dropout": 2, "batchnorm": 1}
    assert set(result.metrics) == {"loss", "accuracy", "mse", "auc"} and result.metrics[0] == "loss"
    for m in result.metrics:
        assert abs(result.residual(m)) < 1e-12
    weighted = model.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0, return_dict=True)
    assert result.measured["loss"]["inference"] == pytest.approx(weighted["loss"], abs=0)
    unweighted = decompose_gap(model, x, y, history=model.history, batch_size=8)
    assert unweighted.measured["loss"]["inference"] != pytest.approx(weighted["loss"], abs=1e-4)
    only = decompose_gap(model, probe=probe, metrics=["mse"])
    assert only.metrics == ["mse"] and only.parts["mse"] == result.parts["mse"]


def test_multi_output_model(keras, tiny_data):
    x, y = tiny_data
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5,))
    h = keras.layers.Dropout(0.3)(keras.layers.BatchNormalization()(keras.layers.Dense(8)(inputs)))
    model = keras.Model(inputs, {"a": keras.layers.Dense(1, activation="sigmoid", name="a")(h),
                                 "b": keras.layers.Dense(1, name="b")(h)})
    model.compile("adam", loss={"a": "binary_crossentropy", "b": "mse"}, metrics={"a": ["accuracy"]})
    history = model.fit(x, {"a": y, "b": y}, batch_size=8, epochs=1, verbose=0)
    result = decompose_gap(model, x, {"a": y, "b": y}, history=history, batch_size=8)
    assert set(result.metrics) == {"loss", "a_loss", "b_loss", "a_accuracy"}
    for m in result.metrics:
        assert abs(result.residual(m)) < 1e-12
    training = result.measured
    assert training["loss"]["training"] == pytest.approx(
        training["a_loss"]["training"] + training["b_loss"]["training"], rel=1e-5)


def test_other_family_gets_its_own_part(keras, tiny_data):
    class Scale(keras.layers.Layer):  # a custom layer that acts only in training mode
        def call(self, inputs, training=None):
            return inputs * 1.5 if training else inputs

    x, y = tiny_data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), Scale(),
                              keras.layers.Dropout(0.3), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    result = decompose_gap(model, x, y, history=history, batch_size=8)
    assert list(result.parts["loss"]) == ["drift", "dropout", "batchnorm", "other", "interaction"]
    assert result.passes == 4 and result.parts["loss"]["other"] != 0.0
    assert abs(result.residual("loss")) < 1e-12
    fig, ax = plt.subplots()
    try:
        plot_waterfall(result, ax=ax)
        assert len(ax.get_xticks()) == 8  # three totals and five parts
    finally:
        plt.close(fig)


def test_result_table_sentence_and_html():
    # Made-up measurements, so the expected verdict is known without training.
    measured = {"loss": {"fit": 0.50, "training": 0.45, "inference": 0.30, "dropout": 0.42},
                "accuracy": {"fit": 0.9, "training": 0.9, "inference": 0.9, "dropout": 0.9}}
    parts = {"loss": {"drift": 0.05, "dropout": 0.12, "batchnorm": 0.0, "interaction": 0.03},
             "accuracy": {"drift": 0.0, "dropout": 0.0, "batchnorm": 0.0, "interaction": 0.0}}
    result = GapDecomposition(measured, parts, {"dropout": 1}, passes=2, batch_size=32)
    assert result.gap["loss"] == pytest.approx(0.2)
    assert result.dominant_part("loss") == "dropout"
    assert result.dominant == result.explain("loss")
    assert "gap +0.2000" in result.dominant and "Dropout" in result.dominant and "60%" in result.dominant
    assert "agree" in result.explain("accuracy")
    table = result.table
    assert isinstance(table, Table) and table.columns == ["metric", "part", "value", "share"]
    assert table.where(metric="loss", part="dropout").column("share") == [pytest.approx(0.6)]
    assert table.where(metric="accuracy").column("share") == [None] * 4  # no gap: no share
    assert result.wide().columns[:5] == ["metric", "fit", "training", "inference", "gap"]
    page = result._repr_html_()
    assert page.startswith("<table>") and page.count("<li>") == 2
    with pytest.raises(KeyError, match=r"'acc' was not decomposed; available keys: \['loss', 'accuracy'\]"):
        result.explain("acc")


def test_waterfall_walks_from_evaluate_to_fit(keras, tiny_data):
    model, history, probe = _fit(keras, tiny_data, dropout=0.5, batchnorm=True)
    result = decompose_gap(model, probe=probe)
    fig, ax = plt.subplots()
    try:
        assert plot_waterfall(result, "loss", ax=ax) is ax
        bars = ax.patches[:7]  # inference, dropout, batchnorm, interaction, training, drift, fit
        assert len(bars) == 7 and [t.get_text() for t in ax.get_xticklabels()][0].startswith("evaluate()")
        drift = bars[5]
        # the last part ends exactly where fit()'s logged value is
        end = drift.get_y() + drift.get_height()
        assert end == pytest.approx(result.measured["loss"]["fit"], abs=1e-9)
        assert ax.get_title() and ax.get_ylabel().startswith("loss") and ax.get_legend()
        with pytest.raises(KeyError, match="available keys"):
            plot_waterfall(result, "auc", ax=ax)
    finally:
        plt.close(fig)


def test_clear_errors(keras, tiny_data):
    x, y = tiny_data
    model, history, probe = _fit(keras, tiny_data, dropout=0.5)
    cases = [
        (dict(model=make_tiny(keras, compile=False), x=x, y=y, history=history),
         "not compiled.*model.compile"),
        (dict(x=x, y=y[:-1], history=history, batch_size=8), "`x` has 40 samples but `y` has 39"),
        (dict(x=x, y=y, history=history, metrics=["auc"]),
         r"metric 'auc' does not exist for this model; available keys: \['accuracy', 'loss'\]"),
        (dict(x=x, y=y, history={"loss": [0.5]}, metrics=["accuracy"]),
         r"history has no value for metric 'accuracy'; it logged \['loss'\]"),
        (dict(x=x, y=y, history={"val_loss": [0.5]}), "logged none of the model's metrics"),
        (dict(x=x, y=y), "pass exactly one of `probe=`"),
        (dict(probe=probe, history=history), "pass exactly one of `probe=`"),
        (dict(history=history), "`x` and `y` are required with `history=`"),
        (dict(x=x, y=y, history=[0.5]), "invalid `history`: \\[0.5\\]"),
        (dict(x=x, y=y, history=history, batch_size=0), "invalid `batch_size`: 0"),
        (dict(x=x, y=y, history=history, metrics="loss"), r"pass a list such as \['loss'\]"),
        (dict(model=make_tiny(keras), probe=probe), "`probe` was attached to model"),
        (dict(probe=GapProbe(x, y)), "has recorded no fit\\(\\) values"),
    ]
    for kwargs, pattern in cases:
        kwargs.setdefault("model", model)
        kwargs.setdefault("batch_size", 8)  # fit()'s, so no batch-size warning muddles the case
        with pytest.raises(ValueError, match=pattern):
            decompose_gap(**kwargs)


def test_warnings_for_a_wrong_batch_size_or_a_changed_model(keras, tiny_data):
    x, y = tiny_data
    model, history, probe = _fit(keras, tiny_data, fresh=True, dropout=0.3)  # fresh: trained again below
    steps = "fit\\(\\) ran 5 steps per epoch but 40 samples in batches of 32 make 2"
    with pytest.warns(UserWarning, match=steps):
        decompose_gap(model, x, y, history=history)  # default 32, fit() used 8
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)  # no longer the probe's last epoch
    with pytest.warns(UserWarning, match="model has changed since the probe's last epoch"):
        decompose_gap(model, probe=probe)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # other data than the probe's: nothing to compare with
        decompose_gap(model, x.copy(), y, probe=probe, batch_size=np.int64(8))


def test_measure_cost_reports_a_ratio_to_one_epoch():
    cost = measure_cost(n_train=128, batch_size=64, repeats=1)
    assert cost["passes"] == 2  # the MNIST CNN has only Dropout: inference + training mode
    assert cost["ratio"] == pytest.approx(cost["decompose_s"] / cost["epoch_s"])
    assert 0 < cost["decompose_s"] <= cost["first_decompose_s"]
