"""GapProbe: the measuring callback every scenario uses."""

import numpy as np
import pytest

from helpers import GapProbe, Table
from tests.conftest import same, snapshot


def test_records_fit_inference_training_and_validation(tiny_model, tiny_data):
    x, y = tiny_data
    model = tiny_model(dropout=0.5)
    probe = GapProbe(x, y, batch_size=8, training_mode=True)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_data=(x, y), callbacks=[probe])
    assert probe.available == ["accuracy", "loss"]
    assert probe.epochs("loss", "fit").tolist() == [1, 2, 3]
    assert probe.epochs("loss", "inference").tolist() == [0, 1, 2, 3]
    # Inference mode at epoch end on the validation data == Keras's own val_loss.
    assert probe.series("loss", "inference")[1:] == pytest.approx(probe.series("loss", "validation"), abs=1e-6)
    assert probe.series("loss", "training")[-1] != pytest.approx(probe.series("loss", "inference")[-1], abs=1e-4)
    wide = probe.wide("loss")
    assert isinstance(wide, Table) and wide.columns == ["epoch", "fit", "training", "inference", "validation"]


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


def test_one_batch_per_epoch_logs_the_weights_before_the_update(tiny_model, tiny_data):
    # With a single batch and no dropout, the loss fit() logs for epoch e is exactly
    # what evaluate() said at the end of epoch e-1: the update comes after.
    x, y = tiny_data
    model = tiny_model()
    probe = GapProbe(x, y, batch_size=40)
    model.fit(x, y, batch_size=40, epochs=4, verbose=0, callbacks=[probe])
    assert probe.series("loss", "fit") == pytest.approx(probe.series("loss", "inference")[:-1], abs=1e-6)


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
    with pytest.raises(ValueError, match="unknown `source`: 'eval'"):
        probe.series("loss", "eval")


def test_training_mode_probe_on_an_uncompiled_model(tiny_model, tiny_data):
    x, y = tiny_data
    probe = GapProbe(x, y, training_mode=True)
    probe.set_model(tiny_model(compile=False))
    with pytest.raises(ValueError, match="not compiled"):
        probe.on_train_begin()


@pytest.mark.parametrize("kwargs, fragment", [
    ({"batch_size": 0}, "invalid `batch_size`: 0"),
    ({"batch_size": 2.5}, "invalid `batch_size`: 2.5"),
    ({"metrics": "loss"}, "pass a list such as ['loss']"),
])
def test_bad_settings(tiny_data, kwargs, fragment):
    x, y = tiny_data
    with pytest.raises(ValueError) as err:
        GapProbe(x, y, **kwargs)
    assert fragment in str(err.value)


def test_mismatched_data(tiny_data):
    x, y = tiny_data
    with pytest.raises(ValueError, match="`x` has 40 samples but `y` has 10"):
        GapProbe(x, y[:10])


def test_plots_return_their_axes(tiny_model, tiny_data):
    import matplotlib.pyplot as plt

    from helpers.plots import plot_batches, plot_probe

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
