"""Notebook 00's exercises (helpers/scenarios/start/answers.py) teach: each reference answer reads
correct, the stub reads "not attempted", and every listed misconception gets its own feedback."""

from pathlib import Path

import nbformat
import numpy as np

from helpers.scenarios.start.answers import EXERCISES, logged_mean
from tests.exercise_checks import assert_scenario_exercises

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "00_start_here.ipynb"


def test_every_exercise_teaches():
    assert_scenario_exercises(
        "start",
        references={1: "b", 2: logged_mean, 3: "b", 4: True},
        contexts={1: {"logged": 0.33, "evaluated": 0.77}, 4: {"moved": True}},
    )


def test_prediction_follows_the_measurement_not_a_fixed_key():
    # The experiment decides the right choice: the same prediction flips with the measurement.
    right = EXERCISES[1].expected(logged=0.9, evaluated=0.4)
    assert right == "a"
    assert EXERCISES[1].expected(logged=0.4, evaluated=0.9) == "b"


def test_logged_mean_weights_by_batch_size():
    assert logged_mean([1.0, 3.0], [32, 8]) == (32 + 24) / 40
    assert logged_mean([1.0, 3.0], [32, 8]) != np.mean([1.0, 3.0])


def test_each_prediction_is_bound_before_its_experiment_runs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    sources = [c.source for c in nb.cells]
    for name, measured in (("prediction_1", "bn_evaluated ="), ("prediction_4", "moved =")):
        bound = next(i for i, s in enumerate(sources) if s.startswith(f"{name} ="))
        ran = next(i for i, s in enumerate(sources) if measured in s)
        assert bound < ran, f"{name} must be set before the experiment that measures it"
