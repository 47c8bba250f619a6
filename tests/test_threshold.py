"""Scenario 03: the threshold post, its stopping callback, and the fast faithful runner."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import GapProbe
from helpers.logging_probe import LoggingProbe
from helpers.scenarios import threshold as th
from helpers.selfcheck import check_exercise
from helpers.step_recorder import StepRecorder
from helpers.stop_at_threshold import StopAtThreshold


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
    assert (
        "'val_accuracy'" in message
        and "['accuracy', 'loss']" in message
        and "validation_data" in message
    )
    assert stop.stopped_epoch == 0 and stop.values == [None, None, None]


def test_stop_works_inside_fit(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model()
    stop = StopAtThreshold("loss", 0.0)  # any loss is >= 0: stops after the first epoch
    history = model.fit(x[:10], y[:10], epochs=5, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 1 and stop.stopped_epoch == 1


# -- faithful and fast ---------------------------------------------------------


def test_keras3_reuses_one_shuffle_order_when_seeded():
    # The post seeds TensorFlow; Keras 3 then feeds the same order every epoch.
    # If a Keras release changes this, the notebook's explanation must change too.
    orders = th.keras_shuffle_orders(seed=0, epochs=3)
    assert orders.shape == (3, 500)
    assert np.array_equal(orders[0], orders[1]) and np.array_equal(orders[1], orders[2])
    assert sorted(orders[0]) == list(range(500)) and not np.array_equal(orders[0], np.arange(500))
    assert not np.array_equal(orders[0], th.keras_shuffle_orders(seed=1, epochs=1)[0])


def test_runner_equals_the_posts_fit_bit_for_bit(runner):
    post = th.post_fit(0)
    fast = runner.run(0)
    assert fast.history == post.history
    assert all(np.array_equal(a, b) for a, b in zip(fast.weights, post.weights))
    assert (fast.stopped_epoch, fast.evaluate_accuracy) == (
        post.stopped_epoch,
        post.evaluate_accuracy,
    )


def test_runner_reinitialisation_and_one_call_per_epoch_change_nothing(runner):
    fresh = th.ThresholdRunner(per_batch=True)  # new model, one batch per call
    runner.run(5, epochs=4)  # leave the shared model in some other state first
    a = runner.run(3, epochs=12, reshuffle=True, monitor=None)
    b = fresh.run(3, epochs=12, reshuffle=True, monitor=None)
    assert a.history == b.history and all(
        np.array_equal(u, v) for u, v in zip(a.weights, b.weights)
    )
    assert not np.array_equal(a.order[0], a.order[1])  # reshuffled: a new order every epoch


def test_runner_rejects_bad_settings():
    with pytest.raises(ValueError, match="invalid `batch_size`"):
        th.ThresholdRunner(batch_size=0)
    with pytest.raises(ValueError, match="invalid `learning_rate`"):
        th.ThresholdRunner(learning_rate=-1)


# -- inside an epoch --------------------------------------------------------------


def test_decision_boundary_separates_the_models_predictions(runner, data):
    x, y = data
    run = runner.run(0, epochs=25, monitor=None)
    runner.model.set_weights(run.weights)
    b = th.decision_boundary(run.weights)
    p = runner.model.predict_on_batch(np.array([[b - 0.01], [b + 0.01]], dtype="float32")).ravel()
    assert (p[0] - 0.5) * (p[1] - 0.5) < 0
    assert np.isnan(th.decision_boundary([[0.0], [1.0], 0, [[1.0]], [0.0], [[1.0]], [1.0]]))


@pytest.fixture(scope="module")
def stepped(data):
    """Seed 0's run to its stop, one batch per call, observed by a probe and a recorder."""
    x, y = data
    runner = th.ThresholdRunner(per_batch=True)
    recorder = StepRecorder(x, y, per_step=True, boundary=th.decision_boundary)
    probe = GapProbe(x, y, batch_size=128, per_batch=True)
    run = runner.run(0, epochs=31, callbacks=[probe, recorder])
    return run, recorder, probe


def test_batches_are_scored_before_their_own_update(stepped):
    # The core claim: fit()'s value for each batch is the accuracy of the
    # weights *before* that batch's update, on that batch's samples.
    run, recorder, probe = stepped
    assert run.stopped_epoch == 31  # the same run as post_fit(0): the probe changes nothing
    for epoch in (2, 17, 31):
        table = th.batch_table(run, recorder, probe, epoch)
        assert table.column("samples") == [128, 128, 128, 116]
        assert np.allclose(
            table.column("fit counted"), table.column("same samples, weights before"), atol=1e-6
        )
    last = th.batch_table(run, recorder, probe, 31)
    assert (
        all(v == 1.0 for v in last.column("fit counted"))
        and min(last.column("all 500, weights before")) < 1
    )
    # The recorder's end-of-epoch accuracy is what evaluate() says (the probe's "inference").
    end = [r["accuracy"] for r in recorder.rows if r["step"] == 4]
    assert end == list(probe.series("accuracy", "inference")[1:])
    assert end[-1] == run.evaluate_accuracy < 1.0


def test_logging_probe_lets_a_stopping_rule_watch_evaluate(runner, data):
    x, y = data
    probe = LoggingProbe(x, y, batch_size=128)
    run = runner.run(0, epochs=40, monitor="eval_accuracy", callbacks=[probe])
    assert "eval_accuracy" in run.history and not any(k.startswith("val_") for k in run.history)
    assert run.history["eval_accuracy"] == list(probe.series("accuracy", "inference")[1:])
    assert run.stopped_epoch and run.history["eval_accuracy"][-1] == run.evaluate_accuracy == 1.0
    with pytest.raises(ValueError, match="invalid `prefix`"):
        LoggingProbe(x, y, prefix="val_")


def test_step_recorder_refuses_per_step_on_whole_epoch_calls(runner, data):
    x, y = data
    with pytest.raises(ValueError, match="one batch per call"):
        runner.run(0, epochs=2, callbacks=[StepRecorder(x, y, per_step=True)])
    with pytest.raises(ValueError, match="samples"):
        StepRecorder(x, y[:10])


# -- the explorer -------------------------------------------------------------------


def test_explore_returns_a_figure_and_a_summary():
    seen = []
    result = th.explore(epochs=40, progress=lambda e, n, logs: seen.append(e))
    assert (
        result.figure.axes and "Stopped at epoch 31" in result.summary and "0.996" in result.summary
    )
    assert seen == list(range(1, 32))
    for bad, message in [
        ({"monitor": "acc"}, "invalid `monitor`"),
        ({"epochs": 0}, "invalid `epochs`"),
        ({"batch_size": 501}, "invalid `batch_size`"),
    ]:
        with pytest.raises(ValueError, match=message):
            th.explore(**bad)


def test_explorer_runs_and_survives_bad_input():
    ex = th.explorer()
    ex.controls["epochs"].value = 30
    ex.controls["monitor"].value = "val_accuracy"
    assert ex.run() and "Stopped at epoch" in ex.status.value and "1.000" in ex.status.value
    ex.function = lambda **kw: th.explore(**{**kw, "monitor": "nope"})
    assert not ex.run() and "invalid `monitor`" in ex.status.value


# -- robustness over seeds -----------------------------------------------------------


@pytest.mark.slow
def test_seed_table_matches_real_stopped_runs_over_seeds(runner):
    seeds, epochs = range(5), 50
    table = th.seed_table(seeds, epochs=epochs, runner=runner)
    for row in table:
        post = runner.run(row["seed"], epochs=epochs)
        assert post.stopped_epoch == (row["accuracy: stops at"] or 0)
        assert post.evaluate_accuracy == row["evaluate there"]
        fix = runner.run(row["seed"], epochs=epochs, monitor="val_accuracy", validation=True)
        assert fix.stopped_epoch == (row["val_accuracy: stops at"] or 0)
        # The fix, asserted: what the rule watched is what evaluate() says.
        assert fix.history["val_accuracy"][-1] == fix.evaluate_accuracy
    # The runner's validation run is the accepted answer's code, bit for bit.
    assert (
        th.post_fit(0, monitor="val_accuracy", validation=True).history
        == runner.run(0, monitor="val_accuracy", validation=True).history
    )
    counts = {r["outcome"]: r["runs"] for r in th.outcome_counts(table)}
    assert counts[th.OUTCOMES[0]] >= 2  # the symptom is common, not a one-seed accident
    assert th.outcome_counts(table, "outcome (fix)").column("runs")[0] == 0


# -- the compiled loop behind the seed tables -------------------------------------------


@pytest.mark.parametrize(
    "seed, kwargs", [(0, {}), (3, {"reshuffle": True}), (1, {"learning_rate": 0.03})]
)
def test_trajectory_replays_fit_bit_for_bit(runner, seed, kwargs):
    fitted = runner.run(seed, epochs=60, monitor=None, **kwargs)
    t = runner.trajectory(seed, epochs=60, **kwargs)
    n = len(t.accuracy)  # the loop stops once both rules have fired
    assert t.accuracy == fitted.history["accuracy"][:n] and t.loss == fitted.history["loss"][:n]
    assert len(t.active) == n + 1 and t.active[0] > 0
    if n == 60:
        assert t.end_accuracy[-1] == fitted.evaluate_accuracy
    # A learning rate given per run is the same as a runner built with it.
    if "learning_rate" in kwargs:
        own = th.ThresholdRunner(learning_rate=kwargs["learning_rate"]).run(
            seed, epochs=60, monitor=None
        )
        assert own.history == fitted.history
    assert runner.model.optimizer.learning_rate.numpy() == np.float32(0.1)  # put back


def test_trajectory_end_accuracy_is_evaluate_at_every_epoch(runner, data):
    x, y = data
    recorder = StepRecorder(x, y, log_key="eval_accuracy")
    fitted = runner.run(2, epochs=30, monitor=None, callbacks=[recorder])
    t = runner.trajectory(2, epochs=30)
    assert t.end_accuracy == fitted.history["eval_accuracy"][: len(t.end_accuracy)]


def test_adapted_runner_and_the_dead_unit(data):
    adapted = th.ThresholdRunner(adapt=True)
    t = adapted.trajectory(0, epochs=20)
    fitted = adapted.run(0, epochs=20, monitor=None)
    assert t.accuracy == fitted.history["accuracy"][: len(t.accuracy)]
    table = th.seed_table([0], epochs=20, runner=adapted)
    assert table[0]["active at start"] == t.active[0] and 0 < t.active[0] <= 500


def test_shares_come_with_a_wilson_interval():
    low, high = th.wilson_interval(15, 40)
    assert 0.23 < low < 0.25 and 0.52 < high < 0.54
    assert th.wilson_interval(0, 20)[0] == 0.0 and th.wilson_interval(20, 20)[1] == 1.0
    with pytest.raises(ValueError, match="invalid `n`"):
        th.wilson_interval(1, 0)
    table = th.seed_table(range(3), epochs=40)
    shares = th.symptom_shares({"lr 0.1": table})
    assert shares[0]["seeds"] == 3 and shares[0]["symptom"] == table.column("outcome").count(
        th.OUTCOMES[0]
    )
    counts = th.outcome_counts(table, seeds=True)
    assert (
        sum(counts.column("runs")) == 3
        and "95% interval" in counts.columns
        and "seeds" in counts.columns
    )


# -- the general callbacks in their own modules ------------------------------------------


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
    recorder = StepRecorder(
        [[0.0], [1.0], [2.0], [3.0]],
        [0, 0, 1, 1],
        per_step=True,
        log_key="eval_accuracy",
        boundary=lambda w: float(w[0].sum()),
    )
    recorder.set_model(_StandIn([0.1, 0.7, 0.9, 0.4]))
    recorder.set_params({"steps": 2})
    recorder.on_train_begin()
    recorder.on_epoch_begin(0)
    recorder.on_train_batch_begin(0)
    logs = {"accuracy": 1.0}
    recorder.on_epoch_end(0, logs)
    assert [(r["epoch"], r["step"]) for r in recorder.rows] == [(1, 0), (1, 2)]
    assert recorder.rows[-1]["accuracy"] == logs["eval_accuracy"] == 0.5
    assert recorder.rows[-1]["wrong"] == [1, 3] and recorder.rows[-1]["boundary"] == pytest.approx(
        2.1
    )
    assert len(recorder.epoch_rows(1)) == 2
    for kwargs, message in [
        ({"log_key": ""}, "invalid `log_key`"),
        ({"boundary": 3}, "invalid `boundary`"),
        ({"per_step": "yes"}, "invalid `per_step`"),
    ]:
        with pytest.raises(ValueError, match=message):
            StepRecorder([[0.0]], [0], **kwargs)


def test_logging_probe_writes_its_measurement_through_public_hooks():
    def measure(model, x, y, **kwargs):
        return {"inference": {"loss": 0.25, "accuracy": 0.75}}

    probe = LoggingProbe(np.zeros((4, 1)), np.zeros(4), measure=measure, metrics=["accuracy"])
    probe.set_model(_StandIn([0.0] * 4))
    probe.on_train_begin()
    logs = {"loss": 0.3, "accuracy": 1.0}
    probe.on_epoch_end(0, logs)
    assert logs == {"loss": 0.3, "accuracy": 1.0, "eval_accuracy": 0.75}  # only the chosen metrics
    assert probe.last == {"inference": {"loss": 0.25, "accuracy": 0.75}}
    assert list(probe.series("accuracy", "inference")) == [0.75, 0.75]  # epoch 0 and epoch 1


# -- the exercises' self-checks --------------------------------------------------------------


def test_exercises_accept_the_reference_answers_and_reject_the_stub(runner, stepped):
    from helpers.scenarios.threshold.answers import EXERCISE_1_EPOCH, EXERCISE_2, EXERCISES

    run, recorder, _ = stepped
    full_batch = th.explore(batch_size=500, epochs=15)
    rates = {0.01: th.seed_table(range(4), epochs=40, runner=runner, learning_rate=0.01)}
    answers = {
        1: sum(r["accuracy"] == 1.0 for r in recorder.rows if r["epoch"] == EXERCISE_1_EPOCH),
        2: runner.run(
            EXERCISE_2["seed"],
            monitor="val_accuracy",
            validation=True,
            learning_rate=EXERCISE_2["learning_rate"],
        ).stopped_epoch,
        3: full_batch.run.history["eval_accuracy"][10],
        4: rates[0.01].column("outcome").count(th.OUTCOMES[2]),
    }
    context = {"recorder": recorder, "runner": runner, "run": full_batch.run, "rates": rates}
    assert sorted(EXERCISES) == [1, 2, 3, 4] and answers[2] > 0
    for k, answer in answers.items():
        assert check_exercise("threshold", k, answer, show=False, **context), k
        assert not check_exercise("threshold", k, ..., show=False, **context), k
    assert not check_exercise("threshold", 2, answers[2] + 1, show=False, **context)
    assert not check_exercise("threshold", 3, 1.5, show=False, **context)


# -- the explorer's bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"learning_rate": -1}, "invalid `learning_rate`"),
        ({"learning_rate": "fast"}, "invalid `learning_rate`"),
        ({"epochs": 1001}, "invalid `epochs`"),
        ({"epochs": 2.5}, "invalid `epochs`"),
        ({"batch_size": 0}, "invalid `batch_size`"),
        ({"seed": -1}, "invalid `seed`"),
        ({"reshuffle": "no"}, "invalid `reshuffle`"),
        ({"monitor": "val_acc"}, "invalid `monitor`"),
    ],
)
def test_explore_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        th.explore(**bad)


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
