"""The doctor on its zoo: every injected cause found, its size near its direct measurement.

Each entry of :data:`helpers.doctor.zoo.ENTRIES` is a tiny training with
known causes (one, two or none). The zoo is trained and diagnosed once per
session; the verdict table is printed (``pytest -rA`` shows it). Tolerances:
exact measurements (weights, penalty, batch-size dependence,
generalisation, BatchNorm's batch statistics on the same batches, drift of a
model without random layers) agree with the direct measurement to 1e-3;
measurements through random masks agree within 4 standard errors of the
difference between the doctor's mean over its draws and the one draw of
``evaluate_in_mode`` (the doctor's standard error times √(1 + draws)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import Table, decompose_gap, evaluate_in_mode  # noqa: E402
from helpers.doctor import examine  # noqa: E402
from helpers.doctor.state import changed, snapshot  # noqa: E402
from tests import doctor_zoo as zoo  # noqa: E402

EXACT = 1e-3
RANDOM_SE = 4.0


@pytest.fixture(scope="module")
def diagnosed():
    """Every zoo entry trained and diagnosed once: name -> (case, diagnosis, row)."""
    found = {}
    for name in zoo.ENTRIES:
        case = zoo.build(name)
        before = snapshot(case.model)
        diagnosis = examine.diagnose(
            case.model, case.x, case.y, batch_size=zoo.BATCH, **case.kwargs
        )
        row = zoo.verdict(case, diagnosis)
        row["state unchanged"] = not changed(before, snapshot(case.model))
        row["passes"] = diagnosis.passes
        found[name] = (case, diagnosis, row)
    print("\nThe doctor's zoo:\n" + str(Table([r for _, _, r in found.values()], digits=2)))
    return found


@pytest.mark.parametrize("name", list(zoo.ENTRIES))
def test_every_injected_cause_found_and_nothing_else(diagnosed, name):
    case, diagnosis, row = diagnosed[name]
    assert row["verdict"] == "ok", (row, str(diagnosis))
    assert set(diagnosis.present) >= case.causes
    assert set(diagnosis.present) - case.causes <= zoo.ALLOWED


@pytest.mark.parametrize("name", list(zoo.ENTRIES))
def test_model_state_unchanged(diagnosed, name):
    assert diagnosed[name][2]["state unchanged"]


def test_clean_training_has_nothing_beyond_generalization(diagnosed):
    for name in ("clean", "clean, validation data", "clean, no history"):
        assert set(diagnosed[name][1].present) <= {"generalization"}, name


def test_without_history_drift_says_what_it_needs(diagnosed):
    diagnosis = diagnosed["clean, no history"][1]
    assert diagnosis.findings["drift"].status == "needs history"
    assert math.isnan(diagnosis.size("drift", "loss")) and diagnosis.gap is None
    assert "needs history" in str(diagnosis)


def test_parts_sum_to_the_gap(diagnosed):
    for name, (_, diagnosis, _) in diagnosed.items():
        if diagnosis.gap is not None:
            for metric in diagnosis.metrics:
                assert diagnosis.explained(metric) == pytest.approx(
                    diagnosis.gap[metric], abs=1e-5
                ), (name, metric)


def _evaluate(model, x, y, **kwargs):
    return model.evaluate(x, y, batch_size=zoo.BATCH, verbose=0, return_dict=True, **kwargs)


def _noise(diagnosis, cause, metric):
    return diagnosis.findings[cause].floors[metric] / examine.Z


@pytest.mark.parametrize(
    "name, cause, mode",
    [
        ("dropout 0.5", "dropout", {"dropout"}),
        ("gaussian noise", "dropout", {"dropout"}),
        ("augmentation layer", "augmentation", {"other"}),
        ("drift + noise", "dropout", {"dropout"}),
        ("dropout + class_weight", "dropout", {"dropout"}),
    ],
)
def test_random_layers_size_matches_evaluate_in_mode(diagnosed, name, cause, mode):
    case, diagnosis, _ = diagnosed[name]
    plain = _evaluate(case.model, case.x, case.y)
    direct = evaluate_in_mode(case.model, case.x, case.y, mode=mode, batch_size=zoo.BATCH)
    draws = diagnosis.findings[cause].details["draws"]
    for metric in ("loss", "accuracy"):
        se = diagnosis.findings[cause].details["noise"][metric] * math.sqrt(1 + draws)
        tolerance = RANDOM_SE * se + 1e-4
        assert diagnosis.size(cause, metric) == pytest.approx(
            direct[metric] - plain[metric], abs=tolerance
        )


@pytest.mark.parametrize("name", ["batchnorm lag", "batchnorm + L2"])
def test_batchnorm_size_matches_evaluate_in_mode(diagnosed, name):
    case, diagnosis, _ = diagnosed[name]
    plain = _evaluate(case.model, case.x, case.y)
    direct = evaluate_in_mode(case.model, case.x, case.y, mode={"batchnorm"}, batch_size=zoo.BATCH)
    for metric in ("loss", "accuracy"):
        assert diagnosis.size("batchnorm", metric) == pytest.approx(
            direct[metric] - plain[metric], abs=EXACT
        )
    details = diagnosis.findings["batchnorm"].details
    assert details["distance"] > 0.5 and details["updates_needed"] > 0  # 80 updates: a lag
    assert "more updates at momentum 0.99" in diagnosis.findings["batchnorm"].evidence


@pytest.mark.parametrize("name", ["class_weight", "dropout + class_weight"])
def test_class_weight_size_matches_weighted_evaluate(diagnosed, name):
    case, diagnosis, _ = diagnosed[name]
    weights = np.array([case.kwargs["class_weight"][int(c)] for c in case.y])
    weighted = _evaluate(case.model, case.x, case.y, sample_weight=weights)
    plain = _evaluate(case.model, case.x, case.y)
    for metric in ("loss", "accuracy"):
        assert diagnosis.size("class_weight", metric) == pytest.approx(
            weighted[metric] - plain[metric], abs=EXACT
        )


@pytest.mark.parametrize("name", ["sample_weight", "augmentation + sample_weight"])
def test_sample_weight_size_matches_weighted_evaluate(diagnosed, name):
    case, diagnosis, _ = diagnosed[name]
    weights = case.kwargs["sample_weight"]
    weighted = _evaluate(case.model, case.x, case.y, sample_weight=weights)
    plain = _evaluate(case.model, case.x, case.y)
    assert diagnosis.size("sample_weight", "loss") == pytest.approx(
        weighted["loss"] - plain["loss"], abs=EXACT
    )


@pytest.mark.parametrize("name", ["L2 penalty", "batchnorm + L2"])
def test_regularization_size_is_the_penalty(diagnosed, name):
    case, diagnosis, _ = diagnosed[name]
    penalty = sum(float(keras.ops.convert_to_numpy(v)) for v in case.model.losses)
    assert diagnosis.size("regularization", "loss") == pytest.approx(penalty, abs=1e-5)
    assert diagnosis.size("regularization", "accuracy") == 0.0


@pytest.mark.parametrize("name", ["drift (one epoch)", "drift + noise", "clean"])
def test_drift_size_matches_decompose_gap(diagnosed, name):
    case, diagnosis, _ = diagnosed[name]
    parts = decompose_gap(case.model, case.x, case.y, history=case.kwargs["history"]).parts
    for metric in ("loss", "accuracy"):
        random = diagnosis.findings["dropout"].status == "present"
        tolerance = 2 * _noise(diagnosis, "drift", metric) * examine.Z if random else EXACT
        assert diagnosis.size("drift", metric) == pytest.approx(
            parts[metric]["drift"], abs=tolerance
        )


def test_shuffled_dataset_size_matches_a_second_pass(diagnosed):
    case, diagnosis, _ = diagnosed["shuffled dataset"]
    dataset = case.x
    evaluated = case.model.evaluate(dataset, verbose=0, return_dict=True)["accuracy"]
    predictions = case.model.predict(dataset, verbose=0).argmax(axis=1)
    labels = np.concatenate([np.asarray(y) for _, y in dataset])
    direct = float((predictions == labels).mean()) - evaluated
    # both are one reshuffle each: pairing at random, two binomial spreads apart at most
    assert diagnosis.size("shuffled_evaluation", "accuracy") == pytest.approx(direct, abs=0.15)
    assert diagnosis.size("shuffled_evaluation", "accuracy") < -0.2


def test_batch_size_dependence_size_matches_evaluate(diagnosed):
    case, diagnosis, _ = diagnosed["batch-size dependence"]
    m = 2 * zoo.BATCH
    in_batches = _evaluate(case.model, case.x[:m], case.y[:m])
    alone = case.model.evaluate(case.x[:m], case.y[:m], batch_size=1, verbose=0, return_dict=True)
    for metric in ("loss", "accuracy"):
        assert diagnosis.size("batch_size_dependence", metric) == pytest.approx(
            in_batches[metric] - alone[metric], abs=EXACT
        )


@pytest.mark.parametrize("name", ["generalization", "clean, validation data"])
def test_generalization_size_matches_two_evaluates(diagnosed, name):
    case, diagnosis, _ = diagnosed[name]
    x_val, y_val = case.kwargs["validation_data"]
    direct = (
        _evaluate(case.model, case.x, case.y)["loss"] - _evaluate(case.model, x_val, y_val)["loss"]
    )
    assert diagnosis.size("generalization", "loss") == pytest.approx(direct, abs=EXACT)
