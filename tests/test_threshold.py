"""Scenario 03: the threshold post, its stopping callback, and the fast faithful runner."""

import warnings
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import GapProbe, StepRecorder, StopAtThreshold, fit_orders
from helpers.scenarios import threshold as th
from helpers.scenarios.threshold.answers import batch_values
from tests.exercise_checks import assert_scenario_exercises
from tests.threshold_support import fit_on, post_fit


@pytest.fixture(scope="module")
def data():
    return th.threshold_data()


@pytest.fixture(scope="module")
def runner():
    return th.ThresholdRunner()


# -- data --------------------------------------------------------------------


def test_data_follows_the_posts_float_labelling(data):
    x, y = data
    assert x.shape == (500, 1) and y.shape == (500,)
    assert np.array_equal(y, (x[:, 0] >= 10).astype(int))
    # arange's "10.0" is 10.000000000000426: the post's `x < 10` labels it 1 ...
    assert x[300, 0] > 10 and y[300] == 1 and y[299] == 0
    # ... and float32 (what the model sees) keeps every label on the right side.
    assert np.array_equal(y, (x[:, 0].astype("float32") >= 10).astype(int))


# -- StopAtThreshold, hooks called directly -----------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"monitor": ""}, "invalid `monitor`"),
        ({"monitor": 3}, "invalid `monitor`"),
        ({"threshold": "1.0"}, "invalid `threshold`"),
        ({"threshold": float("nan")}, "invalid `threshold`"),
        ({"threshold": True}, "invalid `threshold`"),
    ],
)
def test_stop_rejects_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StopAtThreshold(**kwargs)


def test_stop_fires_at_the_first_epoch_reaching_the_threshold():
    stop = StopAtThreshold("accuracy", 1.0)
    model = SimpleNamespace(stop_training=False)
    stop.set_model(model)
    stop.on_train_begin()
    for epoch, value in enumerate([0.99, 0.998, 1.0, 0.996, 1.0]):
        stop.on_epoch_end(epoch, logs={"loss": 0.1, "accuracy": value})
        assert model.stop_training == (epoch >= 2)
    assert stop.stopped_epoch == 3 and stop.stopped_value == 1.0  # 1-based, like the progress bar
    assert stop.values == [0.99, 0.998, 1.0, 0.996, 1.0]


def test_stop_state_is_reset_for_each_fit():
    stop = StopAtThreshold("val_accuracy", 0.5)
    stop.on_train_begin()
    stop.on_epoch_end(0, logs={"val_accuracy": 0.9})
    assert stop.stopped_epoch == 1
    stop.on_train_begin()
    assert stop.stopped_epoch == 0 and stop.stopped_value is None and stop.values == []
    stop.on_epoch_end(0, logs={"val_accuracy": 0.1})
    assert stop.stopped_epoch == 0


def test_stop_warns_once_listing_the_available_keys():
    stop = StopAtThreshold("val_accuracy")
    stop.on_train_begin()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch in range(3):
            stop.on_epoch_end(epoch, logs={"loss": 0.3, "accuracy": 1.0})
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "'val_accuracy'" in message and "['accuracy', 'loss']" in message
    assert "validation_data" in message
    assert stop.stopped_epoch == 0 and stop.values == [None, None, None]


def test_stop_works_inside_fit(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model()
    stop = StopAtThreshold("loss", 0.0)  # any loss is >= 0: stops after the first epoch
    history = model.fit(x[:10], y[:10], epochs=5, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 1 and stop.stopped_epoch == 1


# -- faithful and fast ---------------------------------------------------------


def test_keras3_reuses_one_shuffle_order_when_seeded():
    # The post seeds TensorFlow; Keras 3.15 then feeds the same order every epoch.
    # If a Keras release changes this, the notebook's section 2 must change too.
    orders = fit_orders(500, epochs=3, batch_size=128, seed=0)
    assert orders.shape == (3, 500)
    assert np.array_equal(orders[0], orders[1]) and np.array_equal(orders[1], orders[2])
    assert sorted(orders[0]) == list(range(500)) and not np.array_equal(orders[0], np.arange(500))
    assert not np.array_equal(orders[0], fit_orders(500, epochs=1, batch_size=128, seed=1)[0])


def test_trajectory_equals_the_posts_fit_bit_for_bit(runner):
    post = post_fit(0)  # the post's code, stopping at its logged 1.0
    t = runner.trajectory(0)
    n = post.stopped_epoch
    assert n and t.post_stop == n and t.accuracy[:n] == post.history["accuracy"]
    assert t.loss[:n] == post.history["loss"] and t.end_accuracy[n - 1] == post.evaluate_accuracy
    assert post.evaluate_accuracy < 1.0  # the symptom


@pytest.mark.parametrize(
    "seed, kwargs", [(3, {"reshuffle": True}), (1, {"learning_rate": 0.03}), (2, {})]
)
def test_trajectory_replays_fit_on_the_same_orders(runner, data, seed, kwargs):
    x, y = data
    probe = GapProbe(x, y, batch_size=128, log=True, initial=False)
    fitted = fit_on(runner, seed, epochs=40, callbacks=[probe], **kwargs)
    t = runner.trajectory(seed, epochs=40, **kwargs)
    n = len(t.accuracy)  # the loop stops once both rules have fired
    assert t.accuracy == fitted.history["accuracy"][:n] and t.loss == fitted.history["loss"][:n]
    assert t.end_accuracy == fitted.history["eval_accuracy"][:n]  # evaluate() at every epoch
    assert runner.model.optimizer.learning_rate.numpy() == np.float32(0.1)  # put back


def test_reshuffled_orders_change_every_epoch(runner):
    orders = runner.orders(3, 3, reshuffle=True)
    assert not np.array_equal(orders[0], orders[1])
    assert all(sorted(o) == list(range(500)) for o in orders)
    assert np.array_equal(runner.orders(3, 2)[0], runner.orders(3, 2)[1])  # Keras's: one order


def test_runner_rejects_bad_settings(runner):
    with pytest.raises(ValueError, match="invalid `batch_size`"):
        th.ThresholdRunner(batch_size=0)
    with pytest.raises(ValueError, match="invalid `adapt`"):
        th.ThresholdRunner(adapt="yes")
    with pytest.raises(ValueError, match="invalid `learning_rate`"):
        runner.trajectory(0, epochs=2, learning_rate=0)
    with pytest.raises(ValueError, match="invalid `epochs`"):
        runner.trajectory(0, epochs=0)


def test_adapted_runner_replays_fit(data):
    adapted = th.ThresholdRunner(adapt=True)
    t = adapted.trajectory(0, epochs=20)
    fitted = fit_on(adapted, 0, epochs=20)
    assert t.accuracy == fitted.history["accuracy"][: len(t.accuracy)]
    mean = adapted.model.layers[0].get_weights()[0]
    assert abs(float(np.ravel(mean)[0]) - 4.95) < 0.01  # adapted to x, not the identity


# -- inside an epoch --------------------------------------------------------------


def test_decision_boundary_separates_the_models_predictions(runner):
    fitted = fit_on(runner, 0, epochs=25)
    b = th.decision_boundary(fitted.weights)
    p = runner.model.predict_on_batch(np.array([[b - 0.01], [b + 0.01]], dtype="float32")).ravel()
    assert (p[0] - 0.5) * (p[1] - 0.5) < 0
    assert np.isnan(th.decision_boundary([[0.0], [1.0], 0, [[1.0]], [0.0], [[1.0]], [1.0]]))


def test_batches_are_scored_before_their_own_update(runner, data):
    # The notebook's mechanism, with the kit's recorders: fit()'s value for each batch is the
    # accuracy of the weights *before* that batch's update, on that batch's own samples.
    x, y = data
    probe = GapProbe(x, y, batch_size=128, per_batch=True)
    recorder = StepRecorder(x, y, per_step=True)
    fitted = fit_on(runner, 0, epochs=31, monitor="accuracy", callbacks=[probe, recorder])
    assert fitted.stopped_epoch == 31 and fitted.evaluate_accuracy < 1.0
    order = runner.orders(0, 1)[0]
    batches = [order[i : i + 128] for i in range(0, 500, 128)]
    for epoch in (2, 17, 31):
        at = [i for i, r in enumerate(recorder.rows) if r["epoch"] == epoch]  # 4 moments + end
        rows, p = [recorder.rows[i] for i in at], [recorder.predictions[i] for i in at]
        before = [np.mean((p[k][b] > 0.5) == y[b]) for k, b in enumerate(batches)]
        after = [np.mean((p[k + 1][b] > 0.5) == y[b]) for k, b in enumerate(batches)]
        assert np.allclose(probe.batches("accuracy", epoch=epoch), before, atol=1e-6)
        if epoch == 31:
            assert before != after and min(r["accuracy"] for r in rows[:4]) < 1.0


def test_step_recorder_refuses_per_step_on_whole_epoch_calls(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model()
    model.compile(optimizer="sgd", loss="binary_crossentropy", steps_per_execution=4)
    with pytest.raises(ValueError, match="one batch per call"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[StepRecorder(x, y, per_step=True)])
    with pytest.raises(ValueError, match="samples"):
        StepRecorder(x, y[:10])


def test_gap_probe_log_lets_a_stopping_rule_watch_evaluate(runner, data):
    x, y = data
    probe = GapProbe(x, y, batch_size=128, log=True)
    fitted = fit_on(runner, 0, epochs=40, monitor="eval_accuracy", callbacks=[probe])
    assert "eval_accuracy" in fitted.history and not any(
        k.startswith("val_") for k in fitted.history
    )
    assert fitted.stopped_epoch and fitted.history["eval_accuracy"][-1] == fitted.evaluate_accuracy
    fix = fit_on(runner, 0, epochs=40, monitor="val_accuracy", validation=True)
    assert fix.stopped_epoch == fitted.stopped_epoch  # the post's fix stops at the same epoch
    assert fix.history["val_accuracy"] == fitted.history["eval_accuracy"]


# -- plots -------------------------------------------------------------------------


def test_plot_boundary_draws_moments_and_rejects_partial_epochs():
    fig, ax = plt.subplots()
    boundary = [9.8, 9.7, 9.85, 9.95, 10.02]
    out = th.plot_boundary(boundary, [1, 2, 1, 0, 2], first_epoch=31, ax=ax)
    assert out is ax and ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_legend() is not None and [t.get_text() for t in ax.get_xticklabels()] == [
        "epoch 31"
    ]
    with pytest.raises(ValueError, match="invalid `boundary`"):
        th.plot_boundary(boundary[:4], [0, 0, 0, 0], ax=ax)
    plt.close(fig)


def test_plot_errors_counts_misclassified_points():
    fig, ax = plt.subplots()
    th.plot_errors([0.9, 1.0], [0.95, 0.996], stopped=2, ax=ax)
    ys = [line.get_ydata().tolist() for line in ax.get_lines()[:2]]
    assert ys == [[50.0, 0.0], [25.0, 2.0]] and ax.get_legend() is not None
    plt.close(fig)


# -- the explorer -------------------------------------------------------------------


def test_explore_returns_a_figure_and_a_summary():
    seen = []
    result = th.explore(epochs=40, progress=lambda e, n, logs: seen.append(e))
    assert result.figure.axes and "Stopped at epoch 31" in result.summary
    assert "0.996" in result.summary and seen == [31]
    fixed = th.explore(epochs=40, monitor="val_accuracy")
    assert fixed.values["stopped_epoch"] == 22 and fixed.values["evaluate_accuracy"] == 1.0
    never = th.explore(epochs=10)
    assert "Never stopped in 10 epochs" in never.summary


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"learning_rate": -1}, "invalid `learning_rate`"),
        ({"learning_rate": "fast"}, "invalid `learning_rate`"),
        ({"epochs": 1001}, "invalid `epochs`"),
        ({"epochs": 2.5}, "invalid `epochs`"),
        ({"epochs": 0}, "invalid `epochs`"),
        ({"batch_size": 0}, "invalid `batch_size`"),
        ({"batch_size": 501}, "invalid `batch_size`"),
        ({"seed": -1}, "invalid `seed`"),
        ({"reshuffle": "no"}, "invalid `reshuffle`"),
        ({"monitor": "val_acc"}, "invalid `monitor`"),
    ],
)
def test_explore_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        th.explore(**bad)


def test_explorer_runs_and_survives_bad_input():
    ex = th.explorer()
    ex.controls["epochs"].value = 30
    ex.controls["monitor"].value = "val_accuracy"
    assert ex.run() and "Stopped at epoch" in ex.status.value and "1.000" in ex.status.value
    ex.function = lambda **kw: th.explore(**{**kw, "monitor": "nope"})
    assert not ex.run() and "invalid `monitor`" in ex.status.value


def test_explorer_starts_at_the_given_defaults_and_refuses_unknown_knobs():
    ex = th.explorer(epochs=30, batch_size=64)
    assert ex.controls["epochs"].value == 30 and ex.controls["batch_size"].value == 64
    assert ex.controls["learning_rate"].value == pytest.approx(0.1)
    assert set(ex.controls) == {
        "learning_rate",
        "epochs",
        "batch_size",
        "monitor",
        "seed",
        "reshuffle",
    }
    with pytest.raises(ValueError, match="invalid setting 'dropout'"):
        th.explorer(dropout=0.5)


# -- robustness over seeds -----------------------------------------------------------


@pytest.mark.slow
def test_seed_table_matches_real_stopped_runs_over_seeds(runner):
    seeds, epochs = range(5), 50
    table = th.seed_table(seeds, epochs=epochs, runner=runner)
    for row in table:
        post = fit_on(runner, row["seed"], epochs=epochs, monitor="accuracy")
        assert post.stopped_epoch == (row["accuracy: stops at"] or 0)
        assert post.evaluate_accuracy == row["evaluate there"]
        fix = fit_on(runner, row["seed"], epochs=epochs, monitor="val_accuracy", validation=True)
        assert fix.stopped_epoch == (row["val_accuracy: stops at"] or 0)
        # The fix, asserted: what the rule watched is what evaluate() says.
        assert fix.history["val_accuracy"][-1] == fix.evaluate_accuracy
        if fix.stopped_epoch:
            assert fix.evaluate_accuracy == 1.0
    assert sum(table.column("symptom")) >= 2  # the symptom is common, not a one-seed accident


def test_shares_come_with_a_wilson_interval(runner):
    low, high = th.wilson_interval(19, 40)
    assert 0.32 < low < 0.34 and 0.62 < high < 0.64
    assert th.wilson_interval(0, 20)[0] == 0.0 and th.wilson_interval(20, 20)[1] == 1.0
    table = th.seed_table(range(3), epochs=40, runner=runner)
    row = th.shares({"lr 0.1": table})[0]
    assert row["seeds"] == 3 and row["symptom"] == sum(table.column("symptom"))
    assert row["rule fired"] == sum(bool(v) for v in table.column("accuracy: stops at"))
    assert table[0]["symptom"] and table[0]["accuracy: stops at"] == 31


# -- the general callbacks, hooks called directly ------------------------------------------


class _StandIn:
    """A model that predicts fixed probabilities."""

    compiled, loss, steps_per_execution, stop_training = True, "binary_crossentropy", 1, False

    def __init__(self, p):
        self.p = np.asarray(p, dtype="float32")

    def predict_on_batch(self, x):
        return self.p[:, None]

    def get_weights(self):
        return [self.p]


def test_step_recorder_hooks_record_each_moment():
    recorder = StepRecorder([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1], per_step=True)
    recorder.set_model(_StandIn([0.1, 0.7, 0.9, 0.4]))
    recorder.set_params({"steps": 2})
    recorder.on_train_begin()
    recorder.on_epoch_begin(0)
    recorder.on_train_batch_begin(0)
    recorder.on_epoch_end(0, {"accuracy": 1.0})
    assert [(r["epoch"], r["step"]) for r in recorder.rows] == [(1, 0), (1, 2)]
    assert recorder.rows[-1]["accuracy"] == 0.5
    assert recorder.rows[-1]["wrong"] == [1, 3]
    with pytest.raises(ValueError, match="invalid `per_step`"):
        StepRecorder([[0.0]], [0], per_step="yes")


# -- the exercises' self-checks --------------------------------------------------------------


def _reference_batch_values(running, sizes):
    """Exercise 2 as the notebook's solution cell writes it."""
    running, sizes = np.asarray(running, float), np.asarray(sizes, float)
    right_so_far = running * np.cumsum(sizes)
    return np.diff(right_so_far, prepend=0.0) / sizes


def test_every_exercise_teaches():
    one_batch = th.ThresholdRunner(batch_size=500).trajectory(0, epochs=15)  # exercise 1's run
    assert_scenario_exercises(
        "threshold",
        references={1: "b", 2: _reference_batch_values, 3: "c", 4: "c"},
        contexts={1: {"logged": one_batch.accuracy, "ends": one_batch.end_accuracy}},
    )


def test_exercise_2_reference_recovers_the_probes_batches():
    # The running means Keras logs after each batch of the post's epochs (128, 128, 128, 116).
    sizes = [128, 128, 128, 116]
    own = np.array([1.0, 126 / 128, 1.0, 115 / 116])
    running = np.cumsum(own * sizes) / np.cumsum(sizes)
    assert np.allclose(batch_values(running, sizes), own)
