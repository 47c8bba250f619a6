"""GapProbe: the measuring callback every scenario uses."""

import numpy as np
import pytest

from helpers import GapProbe, Table, evaluate_in_mode, plot_batches, plot_probe
from tests.conftest import same, snapshot


def test_records_fit_inference_training_and_validation(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model(dropout=0.5)
    probe = GapProbe(x, y, batch_size=8, training_mode=True)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=(x, y), callbacks=[probe])
    assert probe.available == ["accuracy", "loss"]
    assert probe.epochs("loss", "fit").tolist() == [1, 2, 3]
    assert probe.epochs("loss", "inference").tolist() == [0, 1, 2, 3]
    # Inference mode at epoch end on the validation data == Keras's own val_loss, to the last bit.
    for metric in ("loss", "accuracy"):
        assert (
            probe.series(metric, "inference")[1:].tolist()
            == probe.series(metric, "validation").tolist()
        )
    assert probe.series("loss", "training")[-1] != pytest.approx(
        probe.series("loss", "inference")[-1], abs=1e-4
    )
    wide = probe.wide("loss")
    assert isinstance(wide, Table) and wide.columns == [
        "epoch",
        "fit",
        "training",
        "inference",
        "validation",
    ]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_every_measurement_is_evaluate_to_the_last_bit(tiny_model, tiny_data, weighted):
    # Dropout and BatchNorm, batches of 7 (the last holds 5), with and without sample_weight:
    # each epoch's inference row equals fit()'s own evaluate() of the validation data, and
    # the last measurement equals evaluate() / evaluate_in_mode() called afterwards.
    x, y = tiny_data
    w = np.linspace(0.2, 2.0, len(x)) if weighted else None
    model = tiny_model(dropout=0.5, batchnorm=True)
    probe = GapProbe(x, y, w, batch_size=7, training_mode=True)
    model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=7,
        epochs=3,
        verbose=0,
        callbacks=[probe],
        validation_data=(x, y) if w is None else (x, y, w),
    )
    for metric in ("loss", "accuracy"):
        assert (
            probe.series(metric, "inference")[1:].tolist()
            == probe.series(metric, "validation").tolist()
        )
    assert probe.last["inference"] == model.evaluate(
        x, y, sample_weight=w, batch_size=7, verbose=0, return_dict=True
    )
    assert probe.last["training"] == evaluate_in_mode(
        model, x, y, mode="training", sample_weight=w, batch_size=7
    )


def test_fast_path_records_what_evaluate_in_mode_says_every_epoch(tiny_model, tiny_data, keras):
    # A callback after the probe measures the same end-of-epoch weights the slow, obvious way.
    x, y = tiny_data
    fast = GapProbe(x, y, batch_size=8, training_mode=True, initial=False)

    class Slow(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.rows = []

        def on_epoch_end(self, epoch, logs=None):
            for mode in ("inference", "training"):
                values = evaluate_in_mode(self.model, x, y, mode=mode, batch_size=8)
                self.rows += [(epoch + 1, mode, k, v) for k, v in values.items()]

    slow = Slow()
    tiny_model(dropout=0.5, batchnorm=True).fit(
        x, y, batch_size=8, epochs=2, verbose=0, callbacks=[fast, slow]
    )
    measured = [(r["epoch"], r["source"], r["metric"], r["value"]) for r in fast.rows]
    assert sorted(r for r in measured if r[1] != "fit") == sorted(slow.rows)


def test_every_nth_epoch_and_always_the_last(tiny_model, tiny_data):
    x, y = tiny_data
    probe = GapProbe(x, y, batch_size=8, every=2)
    tiny_model().fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[probe])
    assert probe.epochs("loss", "inference").tolist() == [0, 2, 4, 5]
    assert probe.epochs("loss", "fit").tolist() == [1, 2, 3, 4, 5]


def test_the_last_epoch_is_measured_when_a_later_callback_stops_training(
    tiny_model, tiny_data, keras
):
    x, y = tiny_data

    class StopAtTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    probe = GapProbe(x, y, batch_size=8, every=10, initial=False)
    tiny_model().fit(x, y, batch_size=8, epochs=9, verbose=0, callbacks=[probe, StopAtTwo()])
    assert probe.epochs("loss", "inference").tolist() == [2]


def test_a_fixed_subset_is_measured(tiny_model, tiny_data):
    x, y = tiny_data
    probe = GapProbe(x, y, batch_size=8, subset=10)
    assert probe.subset.tolist() == GapProbe(x, y, subset=10).subset.tolist()  # the same every time
    assert len(set(probe.subset.tolist())) == 10 and probe.subset.tolist() == sorted(
        probe.subset.tolist()
    )
    chosen = GapProbe(x, y, batch_size=8, subset=np.arange(0, 40, 4))
    model = tiny_model(dropout=0.5)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[probe, chosen])
    for p in (probe, chosen):
        assert p.last["inference"] == model.evaluate(
            x[p.subset], y[p.subset], batch_size=8, verbose=0, return_dict=True
        )


def test_per_batch_values_average_back_to_the_logged_value(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model(dropout=0.2)
    probe = GapProbe(x[:37], y[:37], batch_size=8, per_batch=True)  # batches 8,8,8,8,5
    model.fit(x[:37], y[:37], batch_size=8, epochs=2, verbose=0, callbacks=[probe])
    for epoch in (1, 2):
        rows = probe.table.where(source="batch", metric="accuracy", epoch=epoch)
        values = np.array(rows.column("value"))
        assert rows.column("batch") == [1, 2, 3, 4, 5]
        # each batch's accuracy is a whole number of correct samples
        sizes = np.array([8, 8, 8, 8, 5])
        assert np.allclose(values * sizes, np.round(values * sizes), atol=1e-4)
        logged = probe.table.where(source="fit", metric="accuracy", epoch=epoch).column("value")[0]
        assert np.average(values, weights=sizes) == pytest.approx(logged, abs=1e-6)
        assert probe.batches("accuracy", epoch).tolist() == values.tolist()
    assert probe.batches("loss").tolist() == probe.batches("loss", 2).tolist()  # the last epoch
    with pytest.raises(ValueError, match=r"epoch 3; epochs recorded: \[1, 2\]"):
        probe.batches("loss", 3)


def test_log_writes_the_measurement_into_the_logs_for_later_callbacks(tiny_model, tiny_data, keras):
    x, y = tiny_data
    seen = []

    class Watch(keras.callbacks.Callback):  # listed after the probe: sees what it wrote
        def on_epoch_end(self, epoch, logs=None):
            seen.append(dict(logs))

    probe = GapProbe(x, y, batch_size=8, metrics=["accuracy"], log=True, every=2)
    history = tiny_model(dropout=0.5).fit(
        x, y, batch_size=8, epochs=3, verbose=0, callbacks=[probe, Watch()]
    )
    measured = probe.series("accuracy", "inference")[1:].tolist()  # epochs 2 and 3
    assert [s.get("eval_accuracy") for s in seen] == [None, *measured]  # only measured epochs
    assert "eval_loss" not in seen[-1] and history.history["eval_accuracy"] == measured
    assert GapProbe(x, y, log="x_").log == "x_" and GapProbe(x, y).log is None
    with pytest.raises(ValueError, match="invalid `log`: 'val_'"):
        GapProbe(x, y, log="val_")


def test_one_batch_per_epoch_logs_the_weights_before_the_update(tiny_model, tiny_data):
    # With a single batch and no dropout, the loss fit() logs for epoch e is exactly
    # what evaluate() said at the end of epoch e-1: the update comes after.
    x, y = tiny_data
    model = tiny_model()
    probe = GapProbe(x, y, batch_size=40)
    model.fit(x, y, batch_size=40, epochs=4, verbose=0, callbacks=[probe])
    assert probe.series("loss", "fit") == pytest.approx(
        probe.series("loss", "inference")[:-1], abs=1e-6
    )


def test_attaching_the_probe_does_not_change_training(tiny_model, tiny_data, keras):
    x, y = tiny_data
    weights = []
    for callbacks in ([], [GapProbe(x, y, batch_size=8, training_mode=True, per_batch=True)]):
        keras.utils.set_random_seed(3)
        model = tiny_model(dropout=0.3, batchnorm=True)
        model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=callbacks)
        weights.append(snapshot(model))
    assert same(*weights)


def test_one_instance_can_be_reused(tiny_model, tiny_data):
    x, y = tiny_data
    probe = GapProbe(x, y, batch_size=8)
    for epochs in (2, 3):
        tiny_model().fit(x, y, batch_size=8, epochs=epochs, verbose=0, callbacks=[probe])
    assert probe.epochs("loss", "fit").tolist() == [1, 2, 3]


def test_metric_subset(tiny_model, tiny_data):
    x, y = tiny_data
    probe = GapProbe(x, y, batch_size=8, metrics=["accuracy"])
    tiny_model().fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[probe])
    assert probe.available == ["accuracy"]


def test_unknown_metric_lists_the_available_keys(tiny_model, tiny_data):
    x, y = tiny_data
    probe = GapProbe(x, y, metrics=["acc"])
    with pytest.raises(ValueError, match=r"'acc'.*available keys are \['accuracy', 'loss'\]"):
        tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[probe])


def test_series_of_unknown_metric_lists_the_available_keys(tiny_model, tiny_data):
    x, y = tiny_data
    probe = GapProbe(x, y)
    with pytest.raises(KeyError, match="nothing yet"):
        probe.series("loss")
    tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[probe])
    with pytest.raises(KeyError, match=r"'val_loss'.*\['accuracy', 'loss'\]"):
        probe.series("val_loss")
    with pytest.raises(ValueError, match="invalid `source`: 'eval'; expected one of"):
        probe.series("loss", "eval")


def test_training_mode_probe_on_an_uncompiled_model(tiny_model, tiny_data):
    x, y = tiny_data
    probe = GapProbe(x, y, training_mode=True)
    probe.set_model(tiny_model(compile=False))
    with pytest.raises(ValueError, match="not compiled"):
        probe.on_train_begin()


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"batch_size": 0}, "invalid `batch_size`: 0"),
        ({"batch_size": 2.5}, "invalid `batch_size`: 2.5"),
        ({"metrics": "loss"}, "pass a list such as ['loss']"),
        ({"every": 0}, "invalid `every`: 0; expected an int >= 1"),
        ({"subset": 0}, "invalid `subset`: 0; expected an int from 1 to 40"),
        ({"subset": 41}, "invalid `subset`: 41"),
        ({"subset": 0.5}, "invalid `subset`: 0.5"),
        ({"subset": [[1, 2]]}, "invalid `subset`: [[1, 2]]"),
        ({"subset": [0, 40]}, "invalid `subset index`: 40; expected an int from 0 to 39"),
    ],
)
def test_bad_settings(tiny_data, kwargs, fragment):
    x, y = tiny_data
    with pytest.raises(ValueError) as err:
        GapProbe(x, y, **kwargs)
    assert fragment in str(err.value)


def test_an_unsupported_backend_is_named(tiny_data, monkeypatch, keras):
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(NotImplementedError, match="Keras is running on 'torch'"):
        GapProbe(*tiny_data)


def test_mismatched_data(tiny_data):
    x, y = tiny_data
    with pytest.raises(ValueError, match="`x` has 40 samples but `y` has 10"):
        GapProbe(x, y[:10])


def test_plots_return_their_axes(tiny_model, tiny_data):
    import matplotlib.pyplot as plt

    x, y = tiny_data
    probe = GapProbe(x, y, batch_size=8, training_mode=True, per_batch=True)
    tiny_model(dropout=0.5).fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[probe])
    fig, (a1, a2) = plt.subplots(1, 2)
    assert plot_probe(probe, "accuracy", ax=a1) is a1
    assert len(a1.lines) == 3 and a1.get_xlabel() == "epoch"
    assert plot_batches(probe, "loss", epoch=2, ax=a2) is a2
    with pytest.raises(ValueError, match="epoch 9"):
        plot_batches(probe, "loss", epoch=9, ax=a2)
    plt.close(fig)
