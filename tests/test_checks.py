"""The one argument-checking module and the exercise self-check registry."""

import numpy as np
import pytest

from helpers import checks, selfcheck
from helpers.selfcheck import Exercise


@pytest.mark.parametrize("value", [0, -3, True, 1.0, "2", None, np.float32(2)])
def test_positive_int_rejects_with_name_value_and_example(value):
    with pytest.raises(ValueError, match=r"invalid `epochs`: .*expected an int >= 1, e.g. 50"):
        checks.positive_int("epochs", value, example=50)


@pytest.mark.parametrize("value", [1, np.int64(7), 10**6])
def test_positive_int_accepts_and_converts(value):
    out = checks.positive_int("epochs", value)
    assert out == int(value) and type(out) is int


def test_integer_bounds_are_inclusive_and_named():
    assert checks.integer("n", 5, low=5, high=5) == 5
    with pytest.raises(ValueError, match=r"expected an int from 1 to 4"):
        checks.integer("n", 5, low=1, high=4)
    with pytest.raises(ValueError, match=r"expected an int <= 4"):
        checks.integer("n", 5, high=4)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "0.1", None])
def test_number_rejects_non_finite_and_non_numbers(value):
    with pytest.raises(ValueError, match="invalid `learning_rate`"):
        checks.number("learning_rate", value)


def test_number_open_and_closed_intervals():
    assert checks.number("x", 0, low=0) == 0.0
    with pytest.raises(ValueError, match=r"expected a number > 0"):
        checks.number("x", 0, low=0, low_open=True)
    with pytest.raises(ValueError, match=r"expected a number in \[0, 1\)"):
        checks.number("x", 1, low=0, high=1, high_open=True)


@pytest.mark.parametrize("value", [-0.1, 1.0, 1, "0.2", True])
def test_rate_rejects_outside_zero_one(value):
    with pytest.raises(ValueError, match=r"invalid `dropout_1`.*\(0 disables it\)"):
        checks.rate("dropout_1", value)


def test_momentum_and_seed():
    assert checks.momentum("momentum", 1) == 1.0
    with pytest.raises(ValueError, match="invalid `momentum`: 1.5"):
        checks.momentum("momentum", 1.5)
    with pytest.raises(ValueError, match="invalid `seed`: -1"):
        checks.seed("seed", -1)


def test_choice_and_flag():
    assert checks.choice("mode", "b", ("a", "b")) == "b"
    with pytest.raises(ValueError, match=r"invalid `mode`: 'c'; expected one of \('a', 'b'\)"):
        checks.choice("mode", "c", ("a", "b"))
    assert checks.flag("shuffle", np.bool_(True)) is True
    with pytest.raises(ValueError, match="invalid `shuffle`: 'no'; expected True or False"):
        checks.flag("shuffle", "no")


def test_samples_counts_and_compares_nested_structures():
    x = {"a": np.zeros((4, 2)), "b": np.zeros((4, 1))}
    assert checks.samples(x, np.zeros(4), np.ones(4)) == 4
    with pytest.raises(ValueError, match="`x` has 4 samples but `sample_weight` has 3"):
        checks.samples(x, np.zeros(4), np.ones(3))
    with pytest.raises(ValueError, match="empty data structure"):
        checks.samples([])


def test_compiled_names_the_model_and_the_fix():
    class Model:
        name, compiled, loss = "m", False, None

    with pytest.raises(ValueError, match=r"model 'm' is not compiled; GapProbe .*model.compile"):
        checks.compiled(Model(), "GapProbe")


def test_check_exercise_uses_the_scenario_registry(monkeypatch):
    calls = []

    def expected(**context):
        calls.append(context)
        return context["run"] * 2

    table = {1: Exercise(name="Exercise 1", hint="double it", expected=expected)}
    monkeypatch.setattr(selfcheck, "exercises", lambda scenario: table)
    assert selfcheck.check_exercise("any", 1, 6, run=3, show=False) is True
    assert selfcheck.check_exercise("any", 1, 5, run=3, show=False) is False
    # The student stub is never right, and its check does not even compute the answer.
    assert selfcheck.check_exercise("any", 1, ..., run=3, show=False) is False
    assert len(calls) == 2
    with pytest.raises(ValueError, match=r"invalid `number`: 2; 'any' has exercises \[1\]"):
        selfcheck.check_exercise("any", 2, 6, run=3, show=False)


def test_unknown_scenario_is_a_clear_error():
    with pytest.raises(ValueError, match="invalid `scenario`: 'nope'"):
        selfcheck.exercises("nope")


SCENARIOS_WITH_EXPLORERS = ["checkpoint", "mnist", "threshold", "resnet", "more_gaps"]


@pytest.mark.parametrize("scenario", SCENARIOS_WITH_EXPLORERS)
def test_every_explorer_has_one_signature_and_one_unknown_knob_error(scenario):
    import inspect
    from importlib import import_module

    figures = import_module(f"helpers.scenarios.{scenario}.figures")
    parameters = inspect.signature(figures.explorer).parameters
    assert (
        parameters["run_now"].kind is inspect.Parameter.KEYWORD_ONLY
        and parameters["run_now"].default is False
    )
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    assert "progress" in inspect.signature(figures.explore).parameters
    with pytest.raises(ValueError, match=r"invalid setting 'not_a_knob'; expected some of \["):
        figures.explorer(not_a_knob=1)
