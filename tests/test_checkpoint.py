"""Scenario 01: the best ModelCheckpoint vs the best logged loss (helpers/checkpoint.py)."""

import re

import numpy as np
import pytest

from helpers import checkpoint as ck
from helpers import scratch_dir
from tests.conftest import same, snapshot


@pytest.fixture(scope="module")
def data():
    return ck.post_data()


@pytest.fixture(scope="module")
def probed(data):
    """The post's settings, short, with the probe and a val_loss checkpoint on the training data."""
    x, y = data
    return ck.train_checkpointed(x, y, epochs=12, seed=0, probe=True, monitor=("loss", "val_loss"),
                                 validation_data=(x, y))


@pytest.fixture(scope="module")
def no_dropout(data):
    x, y = data
    return ck.train_checkpointed(x, y, dropout=(0, 0), epochs=10, seed=0, validation_data=(x, y),
                                 monitor=("loss", "val_loss"))


def test_post_data_are_one_picture_with_two_labels(data):
    x, y = data
    assert x.shape == (2, 2, 2) and np.array_equal(x[0], x[1])
    assert y.argmax(axis=1).tolist() == [1, 2] and y.shape == (2, 3)
    (x_train, y_train), (x_test, y_test) = ck.post_validation_data()
    assert not np.array_equal(x_train[0], x_train[1])
    assert y_train.argmax(1).tolist() == [1, 2] and y_test.argmax(1).tolist() == [0, 2]


@pytest.mark.parametrize("kwargs, message", [
    (dict(monitor="acc"), r"invalid `monitor`: 'acc'"),
    (dict(monitor="val_loss"), r"needs `validation_data"),
    (dict(epochs=0), r"invalid `epochs`: 0"),
    (dict(dropout=(0.2,)), r"invalid `dropout`"),
])
def test_bad_settings_are_refused_before_training(data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ck.train_checkpointed(*data, **kwargs)


def test_files_go_to_scratch_and_are_named_by_the_one_based_epoch(probed):
    files = probed.files("loss")
    assert files and all(scratch_dir() in f.parents for f in files)
    losses = probed.history["loss"]
    for path, epoch in zip(files, probed.saved_epochs("loss")):
        # Keras 3: {epoch} is the progress bar's number, so the loss in the name is history[epoch - 1].
        assert re.fullmatch(rf"{epoch:02d}_{losses[epoch - 1]:.5f}\.weights\.h5", path.name)
    # save_best_only: a file whenever the loss beats every earlier one, the last at the minimum
    running_min = np.minimum.accumulate(losses)
    improved = [1] + [e + 1 for e in range(1, len(losses)) if losses[e] < running_min[e - 1]]
    assert probed.saved_epochs("loss") == improved
    assert probed.best_epoch("loss") == int(np.argmin(losses)) + 1
    assert probed.best_logged("loss") == min(losses)
    rows = probed.listing("loss")
    assert rows.column("progress bar")[-1] == f"Epoch {probed.best_epoch('loss')}/12"
    assert rows.column("the post's Keras would write")[-1].startswith(f"{probed.best_epoch('loss') - 1}_")


def test_gap_parts_add_up_and_after_is_the_files_evaluate(probed, data):
    gap = ck.gap_at_best(probed)
    assert gap.epoch == probed.best_epoch("loss") and gap.logged == probed.best_logged("loss")
    assert gap.dropout_part + gap.step_part == pytest.approx(gap.after - gap.logged, abs=1e-12)
    assert gap.after == pytest.approx(probed.evaluate_best(*data, monitor="loss"), abs=1e-6)
    assert gap.before == pytest.approx(probed.evaluate_epoch(gap.epoch - 1, *data), abs=1e-6)
    assert "one-step part" in repr(gap) and "<table>" in gap._repr_html_()


def test_gap_needs_a_probe(no_dropout):
    with pytest.raises(ValueError, match="probe=True"):
        ck.gap_at_best(no_dropout)


def test_evaluate_is_never_below_ln2_on_the_post_data(probed):
    assert probed.probe.series("loss", "inference").min() >= ck.LN2


def test_inference_losses_are_evaluate_and_val_loss(probed, data):
    fast = probed.inference_losses(*data)
    assert len(fast) == 13  # initial weights + 12 epochs
    assert fast == pytest.approx(probed.probe.series("loss", "inference"), abs=1e-6)
    assert fast[1:] == pytest.approx(probed.history["val_loss"], abs=1e-6)


def test_without_dropout_the_logged_loss_is_one_epoch_behind(no_dropout, data):
    logged = np.array(no_dropout.history["loss"])
    assert logged[1:] == pytest.approx(no_dropout.history["val_loss"][:-1], abs=1e-6)
    assert logged == pytest.approx(no_dropout.inference_losses(*data)[:-1], abs=1e-6)
    # the best checkpoint's evaluate() is the loss the next epoch logs
    best = no_dropout.evaluate_best(*data, monitor="loss")
    assert no_dropout.best_epoch("loss") == 10  # the loss falls steadily without Dropout
    next_logged = no_dropout.model.fit(*data, batch_size=32, epochs=1, verbose=0).history["loss"][0]
    assert next_logged == pytest.approx(best, abs=1e-6)


def test_val_loss_checkpoint_evaluates_exactly(probed, no_dropout, data):
    for run in (probed, no_dropout):
        assert run.evaluate_best(*data, monitor="val_loss") == pytest.approx(min(run.history["val_loss"]), abs=1e-6)


def test_validation_and_probe_do_not_change_training(probed, data):
    plain = ck.train_checkpointed(*data, epochs=12, seed=0)
    assert plain.history["loss"] == probed.history["loss"]
    assert same(plain.weights[-1], probed.weights[-1])


def test_dropout_draws_vary_and_leave_the_model_alone(probed, data):
    before = snapshot(probed.model)
    draws = ck.dropout_draws(probed.model, *data, n=300)
    assert snapshot(probed.model) and same(before, snapshot(probed.model))
    assert draws.shape == (300,) and draws.std() > 0.05
    # the model's own dropout masks are unchanged by the draws
    again = ck.dropout_draws(probed.model, *data, n=300)
    assert np.array_equal(draws, again)


def test_dropout_draws_without_dropout_equal_evaluate(no_dropout, data):
    draws = ck.dropout_draws(no_dropout.model, *data, n=5)
    expected = no_dropout.model.evaluate(*data, verbose=0)
    assert draws == pytest.approx(np.full(5, expected), abs=1e-6)


def test_summarize_reports_the_gap(probed, no_dropout, data):
    table = ck.summarize({"dropout": probed, "none": no_dropout}, *data)
    assert table.column("run") == ["dropout", "none"]
    gap = table.column("gap")
    assert gap[0] > 0.05 and abs(gap[1]) < 0.01


def test_seeded_fit_feeds_the_same_order_every_epoch():
    # The notebook's claim about Keras 3 on TensorFlow with a fixed seed; if a
    # future version reshuffles per epoch, section 6's wording must change.
    orders = ck.fit_orders(5, epochs=3, seed=0)
    assert len(orders) == 3 and sorted(orders[0]) == [0, 1, 2, 3, 4]
    assert orders[0] == orders[1] == orders[2]
    assert ck.fit_orders(5, epochs=1, seed=0, shuffle=False) == [(0, 1, 2, 3, 4)]


def test_explore_checkpoint_returns_figure_and_summary():
    result = ck.explore_checkpoint(epochs=6, monitor="loss")
    assert result.figure.axes and "evaluate() of that checkpoint" in result.summary
    assert result.run.epochs == 6 and "val_loss" not in result.run.history
    fixed = ck.explore_checkpoint(epochs=6, monitor="val_loss", dropout_1=0.0, dropout_2=0.0)
    assert "gap +0.0000" in fixed.summary or "gap -0.0000" in fixed.summary


def test_explorer_runs_and_reports_errors():
    ex = ck.checkpoint_explorer(epochs=5)
    assert set(ex.controls) == {"dropout_1", "dropout_2", "epochs", "shuffle", "monitor", "seed"}
    assert ex.run() and "Done" in ex.status.value and ex.last_result.run.epochs == 5
    ex.function = lambda **kw: ck.explore_checkpoint(**{**kw, "monitor": "acc"})
    assert not ex.run() and "invalid `monitor`" in ex.status.value
    with pytest.raises(TypeError, match="unknown setting"):
        ck.checkpoint_explorer(learning_rate=0.1)


@pytest.mark.slow
def test_mismatch_for_most_seeds_and_fix_exact_for_all():
    table = ck.seed_sweep(range(10))
    mismatched = [gap > 0.05 for gap in table.column("gap")]
    assert sum(mismatched) >= 9, str(table)
    assert max(table.column("fix error")) < 1e-6, str(table)
