"""decompose_gap: the parts sum to the gap, each is what it claims, the model is untouched."""

import itertools
import math
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from helpers import (
    HEADER,
    GapDecomposition,
    GapProbe,
    Table,
    decompose_gap,
    evaluate_in_mode,
    plot_waterfall,
)
from helpers.decompose import shapley_values
from tests.conftest import make_tiny, same, snapshot
from tests.measuring import sequential_parts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from bench_decompose import measure_cost  # noqa: E402

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
        model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"], abs=0
    )
    assert (
        measured["training"] == evaluate_in_mode(model, x, y, mode="training", batch_size=8)["loss"]
    )
    only_dropout = evaluate_in_mode(model, x, y, mode={"dropout"}, batch_size=8)["loss"]
    only_bn = evaluate_in_mode(model, x, y, mode={"batchnorm"}, batch_size=8)["loss"]
    I, T = measured["inference"], measured["training"]
    assert result.parts["loss"]["dropout"] == pytest.approx(only_dropout - I, abs=1e-12)
    assert result.parts["loss"]["batchnorm"] == pytest.approx(only_bn - I, abs=1e-12)
    assert result.parts["loss"]["interaction"] == pytest.approx(
        T - only_dropout - only_bn + I, abs=1e-12
    )
    assert result.parts["loss"]["drift"] == pytest.approx(
        history.history["loss"][-1] - T, abs=1e-12
    )
    # Repeatable: the same masks and batch statistics every call.
    assert decompose_gap(model, probe=probe).parts == result.parts


def test_probe_and_history_agree(keras, tiny_data):
    x, y = tiny_data
    model, history, probe = _fit(keras, tiny_data, dropout=0.5)
    via_probe = decompose_gap(model, probe=probe)
    via_history = decompose_gap(model, x, y, history=history, batch_size=8)
    via_dict = decompose_gap(model, x, y, history=history.history, batch_size=8)
    via_logs = decompose_gap(
        model, x, y, history={k: v[-1] for k, v in history.history.items()}, batch_size=8
    )
    assert via_probe.parts == via_history.parts == via_dict.parts == via_logs.parts


def test_functional_nested_model_with_sample_weights_and_several_metrics(keras, tiny_data):
    x, y = tiny_data
    w = np.linspace(0.2, 2.0, len(x)).astype("float32")
    keras.utils.set_random_seed(0)
    block = keras.Sequential(
        [keras.Input((8,)), keras.layers.BatchNormalization(), keras.layers.Dropout(0.4)],
        name="block",
    )
    inputs = keras.Input((5,))
    h = keras.layers.GaussianNoise(0.2)(inputs)
    h = block(keras.layers.Dense(8, activation="relu")(h))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(h))
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=["accuracy", "mse", keras.metrics.AUC(name="auc")],
    )
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
    model = keras.Model(
        inputs,
        {
            "a": keras.layers.Dense(1, activation="sigmoid", name="a")(h),
            "b": keras.layers.Dense(1, name="b")(h),
        },
    )
    model.compile(
        "adam", loss={"a": "binary_crossentropy", "b": "mse"}, metrics={"a": ["accuracy"]}
    )
    history = model.fit(x, {"a": y, "b": y}, batch_size=8, epochs=1, verbose=0)
    result = decompose_gap(model, x, {"a": y, "b": y}, history=history, batch_size=8)
    assert set(result.metrics) == {"loss", "a_loss", "b_loss", "a_accuracy"}
    for m in result.metrics:
        assert abs(result.residual(m)) < 1e-12
    training = result.measured
    assert training["loss"]["training"] == pytest.approx(
        training["a_loss"]["training"] + training["b_loss"]["training"], rel=1e-5
    )


def test_other_family_gets_its_own_part(keras, tiny_data):
    class Scale(keras.layers.Layer):  # a custom layer that acts only in training mode
        def call(self, inputs, training=None):
            return inputs * 1.5 if training else inputs

    x, y = tiny_data
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(8, activation="relu"),
            Scale(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
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
    measured = {
        "loss": {"fit": 0.50, "training": 0.45, "inference": 0.30, "dropout": 0.42},
        "accuracy": {"fit": 0.9, "training": 0.9, "inference": 0.9, "dropout": 0.9},
    }
    parts = {
        "loss": {"drift": 0.05, "dropout": 0.12, "batchnorm": 0.0, "interaction": 0.03},
        "accuracy": {"drift": 0.0, "dropout": 0.0, "batchnorm": 0.0, "interaction": 0.0},
    }
    result = GapDecomposition(measured, parts, {"dropout": 1}, passes=2, batch_size=32)
    assert result.gap["loss"] == pytest.approx(0.2)
    assert result.dominant_part("loss") == "dropout"
    assert result.dominant == result.explain("loss")
    assert "gap = fit − evaluate = +0.2000" in result.dominant
    assert "Dropout" in result.dominant and "60%" in result.dominant
    assert "agree" in result.explain("accuracy")
    table = result.table
    assert isinstance(table, Table) and table.columns == ["metric", "part", "value", "share"]
    assert table.where(metric="loss", part="dropout").column("share") == [pytest.approx(0.6)]
    assert table.where(metric="accuracy").column("share") == [None] * 4  # no part: no share
    assert result.wide().columns[:5] == ["metric", "fit", "training", "inference", HEADER]
    page = result._repr_html_()
    assert page.startswith("<table>") and page.count("<li>") == 2
    with pytest.raises(
        KeyError, match=r"'acc' was not decomposed; available keys: \['loss', 'accuracy'\]"
    ):
        result.explain("acc")


def test_one_share_definition_whatever_the_signs():
    # Parts that cancel: a share "of the gap" would exceed 1; a share by size never does.
    measured = {"loss": {"fit": 0.40, "training": 0.50, "inference": 0.50}}
    parts = {"loss": {"drift": -0.10, "dropout": 0.30, "batchnorm": -0.20, "interaction": 0.0}}
    result = GapDecomposition(
        measured, parts, {"dropout": 1, "batchnorm": 1}, passes=4, batch_size=8
    )
    assert result.shares("loss") == pytest.approx(
        {"drift": 1 / 6, "dropout": 0.5, "batchnorm": 1 / 3, "interaction": 0.0}
    )
    assert result.table.column("share") == [
        pytest.approx(v) for v in result.shares("loss").values()
    ]
    assert "(50% of all parts by size)" in result.explain("loss")


def test_waterfall_walks_from_evaluate_to_fit(keras, tiny_data):
    model, history, probe = _fit(keras, tiny_data, dropout=0.5, batchnorm=True)
    result = decompose_gap(model, probe=probe)
    fig, ax = plt.subplots()
    try:
        assert plot_waterfall(result, "loss", ax=ax) is ax
        bars = ax.patches[:7]  # inference, dropout, batchnorm, interaction, training, drift, fit
        assert len(bars) == 7 and [t.get_text() for t in ax.get_xticklabels()][0].startswith(
            "evaluate()"
        )
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
        (
            dict(model=make_tiny(keras, compile=False), x=x, y=y, history=history),
            "not compiled.*model.compile",
        ),
        (dict(x=x, y=y[:-1], history=history, batch_size=8), "`x` has 40 samples but `y` has 39"),
        (
            dict(x=x, y=y, history=history, metrics=["auc"]),
            r"metric 'auc' does not exist for this model; available keys: \['accuracy', 'loss'\]",
        ),
        (
            dict(x=x, y=y, history={"loss": [0.5]}, metrics=["accuracy"]),
            r"history has no value for metric 'accuracy'; it logged \['loss'\]",
        ),
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
    model, history, probe = _fit(
        keras, tiny_data, fresh=True, dropout=0.3
    )  # fresh: trained again below
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


def _three_families(keras, tiny_data):
    """Dense, BatchNorm, a custom training-only layer ("other") and Dropout, trained 2 epochs."""

    class Scale(keras.layers.Layer):  # acts only in training mode: family "other"
        def call(self, inputs, training=None):
            return inputs * 1.5 if training else inputs

    x, y = tiny_data
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.BatchNormalization(momentum=0.9),
            Scale(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return model, history


def _values(result, metric):
    """``{frozenset(families in training mode): value}`` from what ``result`` measured."""
    present = [f for f in ("dropout", "batchnorm", "other") if f in result.families]
    measured = result.measured[metric]
    found = {frozenset(): measured["inference"], frozenset(present): measured["training"]}
    for name, value in measured.items():
        if name not in ("fit", "training", "inference"):
            found[frozenset(name.split("+"))] = value
    return found


def _orders_mean(values, families):
    """The Shapley value by its other definition: the mean part over every switching order."""
    orders = [sequential_parts(values, order) for order in itertools.permutations(families)]
    return {f: math.fsum(o[f] for o in orders) / len(orders) for f in families}


def test_shapley_with_two_families_costs_no_extra_pass(keras, tiny_data):
    model, history, probe = _fit(keras, tiny_data, dropout=0.5, batchnorm=True)
    alone = decompose_gap(model, probe=probe)
    fair = decompose_gap(model, probe=probe, method="shapley")
    assert fair.passes == alone.passes == 4  # inference, training, each family alone
    assert fair.method == "shapley" and alone.method == "alone"
    for m in fair.metrics:
        T, I = fair.measured[m]["training"], fair.measured[m]["inference"]
        assert list(fair.parts[m]) == ["drift", "dropout", "batchnorm"]  # no interaction part
        assert math.fsum(fair.parts[m].values()) - fair.parts[m]["drift"] == pytest.approx(
            T - I, abs=1e-6
        )
        assert abs(fair.residual(m)) < 1e-6
        assert (
            fair.parts[m]["drift"] == alone.parts[m]["drift"]
        )  # the same reference: training mode
        values, both = _values(alone, m), frozenset(["dropout", "batchnorm"])
        on = {f: values[frozenset([f])] - I for f in both}
        off = {f: T - values[both - {f}] for f in both}
        assert on == {f: alone.parts[m][f] for f in on}
        for f in on:  # two families: off alone minus on alone is the interaction, for each
            assert off[f] - on[f] == pytest.approx(alone.parts[m]["interaction"], abs=1e-9)
            assert fair.parts[m][f] == pytest.approx((on[f] + off[f]) / 2, abs=1e-9)
        assert shapley_values(values, ["dropout", "batchnorm"]) == {
            f: fair.parts[m][f] for f in ("dropout", "batchnorm")
        }  # the same subsets measured


def test_three_families_shapley_and_alone(keras, tiny_data):
    x, y = tiny_data
    model, history = _three_families(keras, tiny_data)
    before = snapshot(model)
    alone = decompose_gap(model, x, y, history=history, batch_size=8)
    fair = decompose_gap(model, x, y, history=history, batch_size=8, method="shapley")
    assert same(before, snapshot(model))
    assert fair.families == {"batchnorm": 1, "other": 1, "dropout": 1}
    assert alone.passes == 5 and fair.passes == 8  # 1 + 1 + 3 singles; every one of the 8 subsets
    families = ["dropout", "batchnorm", "other"]
    for m in fair.metrics:
        T, I = fair.measured[m]["training"], fair.measured[m]["inference"]
        split = [fair.parts[m][f] for f in families]
        assert math.fsum(split) == pytest.approx(T - I, abs=1e-6)
        values = _values(fair, m)
        assert len(values) == 8
        for order in itertools.permutations(families):  # the listing order changes nothing
            assert shapley_values(values, order) == {f: fair.parts[m][f] for f in families}
        assert _orders_mean(values, families) == pytest.approx(
            {f: fair.parts[m][f] for f in families}, abs=1e-12
        )
        # method="alone" is today's split: each family on alone, interaction the remainder
        single = {f: evaluate_in_mode(model, x, y, mode={f}, batch_size=8)[m] for f in families}
        assert alone.parts[m] == pytest.approx(
            {
                "drift": history.history[m][-1] - T,
                **{f: single[f] - I for f in families},
                "interaction": T - I - math.fsum(single[f] - I for f in families),
            },
            abs=1e-12,
        )
        assert abs(alone.residual(m)) < 1e-12
        assert {f: fair.measured[m][f] for f in families} == {
            f: alone.measured[m][f] for f in families
        }  # each family alone: the same measurement in both methods
    fig, ax = plt.subplots()
    try:
        plot_waterfall(fair, ax=ax)
        assert len(ax.get_xticks()) == 7  # three totals, three families, drift: no interaction
        assert "Shapley" in ax.get_title() and HEADER in ax.get_title()
    finally:
        plt.close(fig)


def test_a_bad_method_is_a_clear_error(keras, tiny_data):
    x, y = tiny_data
    model, history, probe = _fit(keras, tiny_data, dropout=0.5)
    with pytest.raises(
        ValueError, match=r"invalid `method`: 'fair'; expected one of \('alone', 'shapley'\)"
    ):
        decompose_gap(model, probe=probe, method="fair")


def test_a_probe_on_a_subset_is_not_compared_with_the_full_data(keras, tiny_data):
    x, y = tiny_data
    keras.utils.set_random_seed(0)
    model = make_tiny(keras, dropout=0.3)
    probe = GapProbe(x, y, batch_size=8, subset=10)  # measures 10 of the 40 samples
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[probe])
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error"
        )  # the subset's numbers differ from the full data's: no false alarm
        result = decompose_gap(model, probe=probe)
    assert (
        result.measured["loss"]["inference"] == evaluate_in_mode(model, x, y, batch_size=8)["loss"]
    )
