"""The one argument-checking module and the exercises' self-checks (every kind, every verdict)."""

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from helpers import checks, selfcheck
from helpers.selfcheck import Exercise, Misconception
from tests.exercise_checks import assert_exercise_teaches, assert_scenario_exercises


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


# --------------------------------------------------------------------------- the four verdicts


def _mean(xs):
    return float(np.mean(xs))


def _mean_of_last_two(xs):  # a misconception: the last batches only
    return float(np.mean(xs[-2:]))


def _mean_in_place(xs):  # right, but spoils its input for whoever comes next
    value = float(np.mean(xs))
    xs[:] = 0
    return value


class _Recorder:
    """A class to be *used* by the case, as a callback would be."""

    def __init__(self):
        self.seen = []

    def on_batch(self, loss):
        self.seen.append(loss)


class _RecorderAfter(_Recorder):
    def on_batch(self, loss):
        self.seen.append(loss - 0.1)


def _drive(recorder_class):
    recorder = recorder_class()
    for loss in (0.9, 0.5, 0.4):
        recorder.on_batch(loss)
    return recorder.seen


MISTAKES = {
    "number": Misconception(wrong=lambda run: run + 1, feedback="that is the next epoch's loss"),
    "choice": Misconception(
        wrong=lambda: "a", feedback="noise averages out over seeds; lag does not"
    ),
    "function": Misconception(wrong=lambda: _mean_of_last_two, feedback="average every batch"),
}

COURSE = {
    1: Exercise(
        name="Exercise 1",
        hint="look at the history",
        expected=lambda run: run * 2.0,
        misconceptions=[MISTAKES["number"]],
        rtol=1e-3,
    ),
    2: Exercise(
        kind="choice",
        hint="which one moves with the learning rate?",
        expected=lambda: "B",
        choices={"a": "noise", "b": "lag", "c": "dropout"},
        misconceptions=[
            MISTAKES["choice"],
            Misconception(wrong=lambda: "c", feedback="dropout is off in evaluate()"),
        ],
    ),
    3: Exercise(
        kind="function",
        hint="a mean over every batch",
        expected=lambda: _mean,
        cases=lambda: [((np.array([1.0, 2.0, 6.0]),), {}), ((np.arange(5.0),), {})],
        misconceptions=[MISTAKES["function"]],
        atol=1e-9,
    ),
    4: Exercise(
        name="Exercise 4",
        kind="function",
        hint="record the loss as it comes",
        expected=lambda: _Recorder,
        cases=lambda: [_drive],
        misconceptions=[Misconception(wrong=lambda: _RecorderAfter, feedback="before, not after")],
    ),
}


@pytest.fixture
def course(monkeypatch):
    """A course of one's own: ``check_exercise("mycourse.week1", k, …)`` reads its answers."""
    for name in ("mycourse", "mycourse.week1"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    answers = types.ModuleType("mycourse.week1.answers")
    answers.EXERCISES = COURSE
    monkeypatch.setitem(sys.modules, "mycourse.week1.answers", answers)
    shown = []
    monkeypatch.setattr(selfcheck, "display", lambda html: shown.append(html.data))
    return shown


def _check(course, number, answer, **context):
    ok = selfcheck.check_exercise("mycourse.week1", number, answer, **context)
    return ok, course.pop()


def test_a_number_gets_each_verdict(course):
    assert _check(course, 1, ..., run=3) == (
        False,
        '<div style="color:#5f6368">⏳ <b>Exercise 1</b>: not attempted yet. Replace ... with your '
        "answer, then run this cell again.</div>",
    )
    ok, html = _check(course, 1, np.float32(6.001), run=3)
    assert ok and html == '<div style="color:#1b5e20">✅ <b>Exercise 1</b>: correct. </div>'
    assert _check(course, 1, 4, run=3) == (
        False,
        '<div style="color:#b00020">❌ <b>Exercise 1</b>: not yet: that is the next '
        "epoch&#x27;s loss</div>",
    )
    ok, html = _check(course, 1, 7.5, run=3)
    assert not ok and "❌ <b>Exercise 1</b>: not yet. Hint: look at the history" in html
    assert "6" not in html.replace("#b00020", ""), "a verdict never shows the expected value"


def test_a_choice_gets_each_verdict_and_lists_the_keys(course):
    ok, html = _check(course, 2, ...)
    assert not ok and "⏳ <b>Exercise 2</b>: not attempted yet" in html  # named by its number
    assert "(a) noise; (b) lag; (c) dropout" in html
    assert _check(course, 2, " b) ")[0] and _check(course, 2, "B")[0]
    assert "not yet: noise averages out over seeds" in _check(course, 2, "A")[1]
    assert "not yet: dropout is off" in _check(course, 2, "c")[1]
    for unknown in ("d", 2, None):
        ok, html = _check(course, 2, unknown)
        assert not ok and "is not one of the choices; answer with one of &#x27;a&#x27;, " in html


def test_a_function_gets_each_verdict(course):
    def stub(xs):
        raise NotImplementedError("write the body of stub()")

    def broken(xs):
        return xs[10]

    assert "not attempted yet. Write the body" in _check(course, 3, stub)[1]
    assert _check(course, 3, _mean) == (True, COURSE_OK.format(3))
    assert _check(course, 3, lambda xs: np.float64(sum(xs) / len(xs)))[0]
    assert "not yet: average every batch" in _check(course, 3, _mean_of_last_two)[1]
    ok, html = _check(course, 3, broken)
    assert (
        not ok
        and (
            "not yet: your function raised IndexError: index 10 is out of bounds for axis 0 with "
            "size 3. Hint: a mean over every batch"
        )
        in html
    )
    assert "expected a function (def …), got float. Hint" in _check(course, 3, 3.0)[1]
    assert "Hint: a mean over every batch" in _check(course, 3, np.median)[1]
    # Each implementation gets fresh inputs: changing them spoils nothing.
    assert _check(course, 3, _mean_in_place)[0]


def test_an_error_in_the_cases_is_the_authors_not_the_students():
    def cases():
        raise KeyError("missing fixture")

    broken = Exercise("Exercise 1", "h", lambda: _mean, kind="function", cases=cases)
    with pytest.raises(KeyError, match="missing fixture"):
        selfcheck.judge(broken, _mean)


def test_a_class_is_checked_by_using_it(course):
    assert _check(course, 4, _Recorder)[0]
    assert "not yet: before, not after" in _check(course, 4, _RecorderAfter)[1]
    assert "not attempted yet" in _check(course, 4, ...)[1]


COURSE_OK = '<div style="color:#1b5e20">✅ <b>Exercise {}</b>: correct. </div>'


def test_make_students_function_stub_reads_not_attempted(course):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from make_student import code_stub

    namespace = {}
    exec(code_stub("def mean_loss(xs):\n    return sum(xs) / len(xs)"), namespace)
    assert _check(course, 3, namespace["mean_loss"]) == (
        False,
        '<div style="color:#5f6368">⏳ <b>Exercise 3</b>: not attempted yet. Write the body of '
        "your function, then run this cell again.</div>",
    )


@pytest.mark.parametrize(
    "answer, expected, ok",
    [
        ([0.1, 0.2], np.array([0.1, 0.2 + 1e-9]), True),
        (np.array([[1, 2]]), [1, 2], False),  # shapes differ
        ({"loss": 1.0, "acc": 0.5}, {"acc": 0.5, "loss": 1.0}, True),
        ([1.0, "a"], [1.0, "A"], True),
        (float("nan"), float("nan"), False),
        ("0.5", 0.5, False),
        (None, None, True),
        (True, 1.0, False),
        (np.bool_(True), True, True),
        (np.array(2.0), 2, True),
    ],
)
def test_answers_compare_as_numbers_arrays_and_sequences(answer, expected, ok):
    assert selfcheck.matches(answer, expected, 0.0, 1e-6) is ok


def test_old_positional_exercises_still_work():
    old = Exercise("Exercise 9", "count again", lambda: 3, 0.0, 0.5, 2)
    assert (old.kind, old.points, old.misconceptions) == ("number", 2, ())
    assert selfcheck.judge(old, 3.4).correct and not selfcheck.judge(old, 3.6).correct


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"kind": "essay"}, r"invalid `kind`: 'essay'"),
        ({"hint": ""}, "invalid `hint`"),
        ({"expected": 3}, "invalid `expected`: 3"),
        ({"atol": -1}, "invalid `atol`: -1"),
        ({"kind": "function"}, "kind='function' needs cases="),
        ({"cases": lambda: []}, "kind='function' needs cases="),
        ({"kind": "choice", "choices": {"a": "x"}}, "invalid `choices`"),
        ({"kind": "choice", "choices": {"A": "x", "B": "y"}}, "lower-case keys"),
        ({"choices": {"a": "x", "b": "y"}}, "only kind='choice' takes them"),
        ({"misconceptions": ["wrong"]}, "expected Misconception"),
    ],
)
def test_an_exercise_is_validated_when_written(settings, message):
    base = {"name": "Exercise 1", "hint": "count", "expected": lambda: 1}
    with pytest.raises(ValueError, match=message):
        Exercise(**{**base, **settings})


def test_a_misconception_is_validated_when_written():
    with pytest.raises(ValueError, match="invalid `wrong`: 0.5"):
        Misconception(wrong=0.5, feedback="x")
    with pytest.raises(ValueError, match="invalid `feedback`"):
        Misconception(wrong=lambda: 0.5, feedback=" ")


def test_a_choice_whose_expected_key_is_unknown_is_the_authors_error():
    typo = Exercise("Exercise 1", "h", lambda: "z", kind="choice", choices={"a": "x", "b": "y"})
    with pytest.raises(ValueError, match=r"`expected` gave 'z', which is not one of the keys"):
        selfcheck.judge(typo, "a")


# --------------------------------------------------------------------------- the self-test helper


def test_the_self_test_helper_passes_a_course_that_teaches(course):
    assert_scenario_exercises(
        "mycourse.week1",
        references={1: 6.0, 2: "b", 3: lambda xs: sum(xs) / len(xs), 4: _Recorder},
        contexts={1: {"run": 3}},
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"misconceptions": ()}, "list at least one Misconception"),
        (
            {"misconceptions": [Misconception(wrong=lambda run: run * 2.0001, feedback="x")]},
            "accepted as correct",
        ),
        (
            {"misconceptions": [MISTAKES["number"], Misconception(lambda run: run + 1, "twice")]},
            r"misconception 1 \('twice'\) is unreachable",
        ),
        ({"hint": "it is about 6.20"}, "the value 6.20 is written in"),
    ],
)
def test_the_self_test_helper_can_fail(course, change, message):
    COURSE_BAD = dict(COURSE)
    COURSE_BAD[1] = Exercise(**{**vars(COURSE[1]), **change})
    sys.modules["mycourse.week1.answers"].EXERCISES = COURSE_BAD
    with pytest.raises(AssertionError, match=message):
        assert_exercise_teaches("mycourse.week1", 1, 6.2, run=3.1)


def test_the_self_test_helper_catches_a_wrong_reference_and_an_unexplained_choice(course):
    with pytest.raises(AssertionError, match="the reference answer reads"):
        assert_exercise_teaches("mycourse.week1", 1, 5.0, run=3)
    with pytest.raises(AssertionError, match="the reference answer reads"):
        assert_exercise_teaches("mycourse.week1", 3, _mean_of_last_two)
    sys.modules["mycourse.week1.answers"].EXERCISES = {
        2: Exercise(**{**vars(COURSE[2]), "misconceptions": [MISTAKES["choice"]]})
    }
    with pytest.raises(AssertionError, match=r"the wrong choices \['c'\] have no Misconception"):
        assert_exercise_teaches("mycourse.week1", 2, "b")
    with pytest.raises(AssertionError, match="no write-the-mechanism exercise"):
        assert_scenario_exercises("mycourse.week1", {2: "b"}, min_exercises=1)


SCENARIOS_WITH_EXPLORERS = ["checkpoint", "mnist", "threshold", "resnet", "more_gaps"]


@pytest.mark.parametrize("scenario", SCENARIOS_WITH_EXPLORERS)
def test_every_explorer_has_one_signature_and_one_unknown_knob_error(scenario):
    import inspect
    from importlib import import_module

    try:  # the explorer in its own module (issue 22), or still beside the plots
        figures = import_module(f"helpers.scenarios.{scenario}.explorer")
    except ModuleNotFoundError:
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
