"""The doctor's contract outside the zoo: bad input, the report, the command line, no side effects.

Most tests need one tiny trained model (a module fixture); the zoo
(``tests/test_doctor_zoo.py``) checks the measurements themselves.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import Diagnosis, diagnose  # noqa: E402
from helpers.doctor import CAUSES, REMAINDERS  # noqa: E402
from helpers.doctor.__main__ import main  # noqa: E402
from helpers.doctor.state import changed, snapshot  # noqa: E402
from tests import doctor_zoo as zoo  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    """A small model with Dropout, trained three epochs: (model, x, y, history)."""
    x, y = zoo.synthetic(256)
    model = zoo.mlp(after=[keras.layers.Dropout(0.5)])
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    return model, x, y, history


@pytest.fixture(scope="module")
def diagnosis(trained):
    model, x, y, history = trained
    return diagnose(model, x, y, history=history)


def test_public_surface(diagnosis):
    assert isinstance(diagnosis, Diagnosis)
    assert {"drift", "dropout", "batchnorm", "augmentation", "regularization"} <= set(CAUSES)
    assert {"class_weight", "sample_weight", "shuffled_evaluation"} <= set(CAUSES)
    assert {"batch_size_dependence", "generalization"} <= set(CAUSES)
    assert list(diagnosis.findings) == [*CAUSES, *REMAINDERS]
    assert "dropout" in diagnosis.present
    assert diagnosis.size("dropout", "loss") > 0 > diagnosis.size("dropout", "accuracy")


def test_report_lists_present_causes_largest_first(diagnosis):
    text = str(diagnosis)
    rows = diagnosis.rows()
    present = [r for r in rows if r["verdict"] == "present" and r["cause"] in CAUSES]
    sizes = [abs(r["loss"]) for r in present]
    assert sizes == sorted(sizes, reverse=True)
    assert rows[-1]["cause"] == "unexplained"
    assert "needs validation_data" in text and "fix:" in text and "evidence:" in text
    html = diagnosis._repr_html_()
    assert html.count("<tr>") == len(rows) + 1 and "notebooks/0" in html


def test_size_rejects_unknown_names(diagnosis):
    with pytest.raises(ValueError, match="invalid `cause`: 'dropuot'"):
        diagnosis.size("dropuot", "loss")
    with pytest.raises(ValueError, match="invalid `metric`: 'acc'; expected one of"):
        diagnosis.size("dropout", "acc")


def test_uncompiled_model_is_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="is not compiled.*model.compile"):
        diagnose(model, np.zeros((4, 3)), np.zeros(4))


def test_mismatched_and_empty_data_are_refused(trained):
    model, x, y, _ = trained
    with pytest.raises(ValueError, match="`x` has 256 samples but `y` has 255"):
        diagnose(model, x, y[:-1])
    with pytest.raises(ValueError, match="invalid `x`: it holds 0 samples"):
        diagnose(model, x[:0], y[:0])
    with pytest.raises(ValueError, match=r"invalid `x`: arrays of shape \(256, 5\).*\(None, 8\)"):
        diagnose(model, x[:, :5], y)
    with pytest.raises(ValueError, match="invalid `batch_size`: 0"):
        diagnose(model, x, y, batch_size=0)
    with pytest.raises(ValueError, match="has no weight for class 1"):
        diagnose(model, x, y, class_weight={0: 1.0})


def test_history_of_another_model_or_other_metrics_is_refused(trained):
    model, x, y, history = trained
    other = zoo.mlp()
    other_history = other.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="History of model .*pass what"):
        diagnose(model, x, y, history=other_history)
    with pytest.raises(ValueError, match=r"logged \['loss', 'mae'\] but model"):
        diagnose(model, x, y, history={"loss": [0.5], "mae": [0.3]})
    with pytest.raises(ValueError, match="holds no training values"):
        diagnose(model, x, y, history={"val_loss": [0.5]})
    with pytest.raises(ValueError, match="expected the History returned by fit"):
        diagnose(model, x, y, history=[0.5, 0.4])


def test_history_dict_from_json_gives_the_same_numbers(trained, diagnosis):
    model, x, y, history = trained
    again = diagnose(model, x, y, history=json.loads(json.dumps(history.history)))
    assert again.gap == diagnosis.gap
    assert again.size("drift", "loss") == pytest.approx(diagnosis.size("drift", "loss"))


def test_mid_training_call_does_not_change_what_fit_logs():
    """A diagnosis inside fit() (mid-epoch) leaves fit()'s accumulated metrics and training alone.

    Two fits from the same weights, in data order, of a model with BatchNorm (whose statistics
    the diagnosis moves and must put back): with and without the doctor at batch 3.
    """
    x, y = zoo.synthetic(256)
    plain = zoo.mlp(before=[keras.layers.BatchNormalization()])
    probed = zoo.mlp(before=[keras.layers.BatchNormalization()])
    probed.set_weights(plain.get_weights())
    logged = plain.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history

    class Doctor(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:
                before = snapshot(self.model)
                self.result = diagnose(self.model, x[:64], y[:64])
                assert not changed(before, snapshot(self.model))

    doctor = Doctor()
    again = probed.fit(
        x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[doctor]
    ).history
    assert again == logged  # bit for bit: same metrics, same statistics, same weights
    assert doctor.result.size("batchnorm", "loss") != 0  # measured, whether above noise or not


@pytest.fixture(scope="module")
def saved(tmp_path_factory, trained):
    model, x, y, history = trained
    folder = tmp_path_factory.mktemp("doctor_cli")
    model.save(folder / "model.keras")
    np.savez(folder / "data.npz", x=x, y=y)
    np.savez(folder / "val.npz", x=x[:64], y=y[:64])
    (folder / "history.json").write_text(json.dumps(history.history))
    return folder


def test_command_line_prints_the_report(saved, capsys):
    status = main(
        [
            str(saved / "model.keras"),
            str(saved / "data.npz"),
            "--history",
            str(saved / "history.json"),
            "--validation",
            str(saved / "val.npz"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.startswith("Diagnosis of") and "dropout" in out and "present" in out
    assert "gap (fit − evaluate)" in out and "needs validation_data" not in out


def test_command_line_errors_say_what_to_fix(saved, tmp_path, capsys):
    def error(*argv):
        assert main([str(a) for a in argv]) == 2
        return capsys.readouterr().err

    assert "does not exist" in error(tmp_path / "missing.keras", saved / "data.npz")
    np.savez(tmp_path / "wrong.npz", x=np.zeros((10, 3), "float32"), y=np.zeros(10))
    assert "arrays of shape (10, 3)" in error(saved / "model.keras", tmp_path / "wrong.npz")
    np.savez(tmp_path / "names.npz", inputs=np.zeros((10, 8)))
    assert "expected 'x' and 'y'" in error(saved / "model.keras", tmp_path / "names.npz")
    bare = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])
    bare.save(tmp_path / "bare.keras")
    assert "saved without compile()" in error(tmp_path / "bare.keras", saved / "data.npz")
    (tmp_path / "h.json").write_text("{loss: 1")
    assert "is not JSON" in error(
        saved / "model.keras", saved / "data.npz", "--history", tmp_path / "h.json"
    )


def test_nan_sizes_without_history(trained):
    model, x, y, _ = trained
    result = diagnose(model, x, y)
    assert result.findings["unexplained"].status == "needs history"
    assert math.isnan(result.size("unexplained", "accuracy"))
    assert "No history given" in str(result)


def test_notebook_06_exercises_teach(diagnosis):
    """Each exercise: the reference passes, every misconception gets its feedback, stubs wait."""
    from tests.exercise_checks import REFERENCE, assert_scenario_exercises

    assert diagnosis.size("dropout", "accuracy") < 0  # exercise 1's context: a Dropout model
    assert_scenario_exercises(
        "doctor",
        {1: "a", 2: "b", 3: REFERENCE, 4: "a"},
        {1: {"diagnosis": diagnosis}},
    )
