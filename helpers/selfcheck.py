"""Self-checks for the exercises: feedback that teaches, never the answer.

A check cell reads ``ok_1 = check_exercise("checkpoint", 1, answer_1, run=run0)``; the
:class:`Exercise` in ``helpers/scenarios/<name>/answers.py`` computes the expected answer from
the student's own runs, so a check stays right when hardware noise moves the numbers a little.
"""

from __future__ import annotations

import dataclasses
import html
import inspect
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import numpy as np
from IPython.display import HTML, display

from helpers import checks

KINDS = ("number", "choice", "function")

# The verdicts' statuses.
NOT_ATTEMPTED = "not attempted"
CORRECT = "correct"
MISCONCEPTION = "misconception"
HINT = "hint"  # wrong, with the hint
INVALID = "invalid"  # not an answer of the right form, e.g. an unknown choice


@dataclass(frozen=True)
class Misconception:
    """A known wrong answer and the feedback that names the mistake.

    Attributes:
        wrong: ``wrong(**context)`` gives the wrong answer -- a value, a choice's key, or a
            wrong implementation -- called like ``Exercise.expected``.
        feedback: Shown when the answer equals the wrong one; it names the mistake, never
            the right value.
    """

    wrong: Callable[..., Any]
    feedback: str

    def __post_init__(self):
        checks.function("wrong", self.wrong, example="lambda run: run.history['loss'][-1]")
        checks.text("feedback", self.feedback, example="'Keras logs the loss before the update'")


@dataclass(frozen=True)
class Exercise:
    """One exercise's self-check, kept out of the notebook's sight.

    The first six fields keep their historical order (``answers.py`` files pass them so).

    Attributes:
        name: Shown in the verdict. Defaults to ``"Exercise <number>"``.
        hint: Shown for a wrong answer no misconception explains: a method, never a value.
        expected: ``expected(**context)`` computes the right answer -- the value, the right
            choice's key, or the reference function -- from the check cell's context.
        rtol: Relative tolerance for numbers. Defaults to 0.
        atol: Absolute tolerance for numbers. Defaults to 1e-6.
        points: Points in a graded assignment. Defaults to 1.
        kind: ``"number"``, ``"choice"`` or ``"function"``. Defaults to ``"number"``.
        cases: Kind ``"function"`` only: ``cases()`` lists the inputs both implementations
            get, each ``(args, kwargs)`` or ``case(implementation) -> result`` (for a class
            that must be used). Called afresh for each implementation; seed its randomness.
        choices: Kind ``"choice"`` only: ``{"a": "text", …}``, listed until answered.
        misconceptions: Known wrong answers with their feedback. Defaults to none.
    """

    name: str = ""
    hint: str = ""
    expected: Callable[..., Any] | None = None
    rtol: float = 0.0
    atol: float = 1e-6
    points: int = 1
    kind: str = "number"
    cases: Callable[[], Sequence] | None = None
    choices: Mapping[str, str] | None = None
    misconceptions: Sequence[Misconception] = ()

    def __post_init__(self):
        checks.choice("kind", self.kind, KINDS)
        checks.text("hint", self.hint, example="a method, never the value: 'look at epoch 3'")
        checks.function("expected", self.expected, example="lambda run: run.history['loss'][20]")
        checks.number("rtol", self.rtol, low=0)
        checks.number("atol", self.atol, low=0)
        function = self.kind == "function"
        if function != (self.cases is not None) or (function and not callable(self.cases)):
            raise ValueError(
                f"invalid `cases`: {self.cases!r}; kind='function' needs cases=lambda: "
                "[(args, kwargs), …], and only it takes them"
            )
        if self.kind == "choice":
            keys = list(self.choices) if isinstance(self.choices, Mapping) else []
            if len(keys) < 2 or not all(isinstance(k, str) and k == _key(k) for k in keys):
                raise ValueError(
                    f"invalid `choices`: {self.choices!r}; expected two or more lower-case "
                    "keys with their text, e.g. choices={'a': 'noise', 'b': 'lag'}"
                )
        elif self.choices is not None:
            raise ValueError("invalid `choices`: only kind='choice' takes them")
        misconceptions = tuple(self.misconceptions)
        if not all(isinstance(m, Misconception) for m in misconceptions):
            raise ValueError(
                f"invalid `misconceptions`: {self.misconceptions!r}; expected "
                "Misconception(wrong=…, feedback=…) objects"
            )
        object.__setattr__(self, "misconceptions", misconceptions)


def choice_exercise(
    hint: str, options: Mapping[str, tuple[str, str | None]], expected=None, name: str = ""
) -> Exercise:
    """A multiple choice whose every wrong option names its misconception.

    Args:
        hint: Shown for a wrong answer no feedback covers.
        options: ``{key: (text, feedback)}``; the right option's feedback is ``None``.
        expected: ``expected(**context)`` when the right key depends on the run; by default
            the option whose feedback is ``None``.
        name: Defaults to ``"Exercise <number>"``.
    """
    right = [k for k, (_, feedback) in options.items() if feedback is None]
    if expected is None and len(right) != 1:
        raise ValueError(
            f"invalid `options`: {len(right)} options with feedback None; mark the one right "
            "option with None, e.g. {'a': ('noise', 'it repeats'), 'b': ('lag', None)}"
        )
    return Exercise(
        name,
        hint,
        expected or (lambda: right[0]),
        kind="choice",
        choices={k: text for k, (text, _) in options.items()},
        misconceptions=[Misconception(lambda k=k: k, f) for k, (_, f) in options.items() if f],
    )


@dataclass(frozen=True)
class Verdict:
    """What a check says about one answer.

    Attributes:
        status: One of the five statuses above.
        message: The sentence shown after the exercise's name (plain text).
    """

    status: str
    message: str

    @property
    def correct(self) -> bool:
        """Whether the answer is right."""
        return self.status == CORRECT


def _key(answer: str) -> str:
    """A choice as typed (``" B) "``) to its key (``"b"``)."""
    return answer.strip().strip("().").strip().lower()


def _array_like(value) -> bool:
    """A number (not a bool), an array or a sequence: what is compared element by element."""
    number = isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_))
    return number or hasattr(value, "__array__") or isinstance(value, Sequence)


def _close(answer, expected, rtol: float, atol: float) -> bool:
    """``math.isclose``'s rule, element by element, for arrays of the same shape."""
    try:
        a = np.asarray(answer, dtype=float)
        e = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    if a.shape != e.shape or not (np.isfinite(a).all() and np.isfinite(e).all()):
        return False
    bound = np.maximum(rtol * np.maximum(np.abs(a), np.abs(e)), atol)
    return bool(np.all(np.abs(a - e) <= bound))


def matches(answer, expected, rtol: float, atol: float) -> bool:
    """Whether ``answer`` equals ``expected``.

    Numbers, arrays and sequences match element by element within ``rtol``/``atol``
    (``math.isclose``'s rule), mappings key by key, strings ignoring case; a bool or a
    string never passes for a number.
    """
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.strip().lower()
    if expected is None or isinstance(expected, (bool, np.bool_)):
        return answer is expected or (
            isinstance(answer, (bool, np.bool_)) and bool(answer) == bool(expected)
        )
    if isinstance(expected, Mapping):
        return (
            isinstance(answer, Mapping)
            and set(answer) == set(expected)
            and all(matches(answer[k], expected[k], rtol, atol) for k in expected)
        )
    if _array_like(expected):
        if isinstance(answer, str) or not _array_like(answer):
            return False
        if _close(answer, expected, rtol, atol):
            return True
        # Not one numeric array: compare element by element (mixed or nested sequences).
        if isinstance(expected, Sequence) and isinstance(answer, Sequence):
            return len(answer) == len(expected) and all(
                matches(a, e, rtol, atol) for a, e in zip(answer, expected)
            )
        return False
    try:
        return bool(answer == expected)
    except Exception:  # an object whose == is not a truth value
        return False


def call_with_context(function: Callable, context: Mapping[str, Any]):
    """``function(**context)``, passing only the names it accepts (how checks call `expected`)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return function(**context)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return function(**context)
    names = {p.name for p in parameters}
    return function(**{k: v for k, v in context.items() if k in names})


def _run_cases(cases: Sequence, implementation: Callable) -> list:
    """The results of ``implementation`` on every case (exceptions propagate)."""
    results = []
    for case in cases:
        if callable(case):
            results.append(case(implementation))
        else:
            args, kwargs = case
            results.append(implementation(*args, **dict(kwargs)))
    return results


def _compared(exercise: Exercise, value):
    """What a check compares: a choice's key, a function's results on the cases, or the value."""
    if exercise.kind == "choice":
        return _key(value)
    return _run_cases(exercise.cases(), value) if exercise.kind == "function" else value


def judge(exercise: Exercise, answer, **context) -> Verdict:
    """The verdict on ``answer`` to ``exercise``, without showing anything.

    The answer is compared with ``expected``, then with each misconception's wrong answer,
    in the way its kind asks: numbers within tolerance, choices by key, functions by their
    results on the exercise's cases.

    Args:
        answer: The student's answer: ``...`` while untouched.
        **context: The notebook objects ``expected``, ``wrong`` and the cases may need.

    Returns:
        A :class:`Verdict`; its ``message`` never holds the expected value.

    Example:
        >>> lag = Misconception(wrong=lambda: 0.7, feedback="that is the loss after the update")
        >>> ex = Exercise("Exercise 1", "look at epoch 3", lambda: 0.5, misconceptions=[lag])
        >>> [judge(ex, a).status for a in (..., 0.5 + 1e-9, 0.7, 0.9)]
        ['not attempted', 'correct', 'misconception', 'hint']
        >>> judge(ex, 0.7).message
        'not yet: that is the loss after the update'
    """
    if answer is ...:
        return _not_attempted(exercise)
    keys = list(exercise.choices or ())
    if exercise.kind == "choice" and not (isinstance(answer, str) and _key(answer) in keys):
        return Verdict(
            INVALID,
            f"{answer!r} is not one of the choices; answer with one of "
            f"{', '.join(map(repr, keys))}, e.g. answer = {keys[0]!r}",
        )
    if exercise.kind == "function":
        if not callable(answer):
            return _hint(exercise, f"expected a function (def …), got {type(answer).__name__}")
        cases = exercise.cases()  # the author's code: an error here is not the student's
        try:
            given = _run_cases(cases, answer)
        except NotImplementedError:  # the stub of a function
            return _not_attempted(exercise)
        except Exception as error:  # the student's code: report it, never crash the check
            text = str(error).strip()
            raised = f"{type(error).__name__}: {text}" if text else type(error).__name__
            return _hint(exercise, f"your function raised {raised}")
    else:
        given = _compared(exercise, answer)

    def same(reference) -> bool:
        return matches(given, _compared(exercise, reference), exercise.rtol, exercise.atol)

    expected = call_with_context(exercise.expected, context)
    if exercise.kind == "choice" and _key(expected) not in exercise.choices:
        raise ValueError(
            f"{exercise.name}: `expected` gave {expected!r}, which is not one of the keys "
            f"{list(exercise.choices)}"
        )
    if same(expected):
        return Verdict(CORRECT, "correct.")
    for misconception in exercise.misconceptions:
        if same(call_with_context(misconception.wrong, context)):
            return Verdict(MISCONCEPTION, f"not yet: {misconception.feedback}")
    return _hint(exercise)


def _not_attempted(exercise: Exercise) -> Verdict:
    if exercise.kind == "choice":
        listed = "; ".join(f"({k}) {text}" for k, text in exercise.choices.items())
        todo = f"Choose one of: {listed}. Replace ... with its letter, e.g. 'a'."
    elif exercise.kind == "function":
        todo = "Write the body of your function, then run this cell again."
    else:
        todo = "Replace ... with your answer, then run this cell again."
    return Verdict(NOT_ATTEMPTED, f"not attempted yet. {todo}")


def _hint(exercise: Exercise, problem: str = "") -> Verdict:
    return Verdict(HINT, f"not yet{': ' + problem if problem else ''}. Hint: {exercise.hint}")


# Colour and icon per verdict; the committed notebooks' check outputs must not change.
_LOOK = {CORRECT: ("#1b5e20", "✅"), NOT_ATTEMPTED: ("#5f6368", "⏳"), INVALID: ("#b00020", "❓")}


def _show(name: str, verdict: Verdict) -> None:
    colour, icon = _LOOK.get(verdict.status, ("#b00020", "❌"))
    message = html.escape(verdict.message) + (" " if verdict.correct else "")
    display(HTML(f'<div style="color:{colour}">{icon} <b>{html.escape(name)}</b>: {message}</div>'))


def exercises(scenario: str) -> dict[int, Exercise]:
    """The exercises of one scenario, ``{number: Exercise}``.

    Args:
        scenario: A sub-package of ``helpers.scenarios``, e.g. ``"checkpoint"``, whose
            ``answers`` module defines ``EXERCISES``; or a dotted package of your own, e.g.
            ``"mycourse.week1"`` reads ``mycourse/week1/answers.py``.
    """
    package = scenario if "." in scenario else f"helpers.scenarios.{scenario}"
    try:
        module = import_module(f"{package}.answers")
    except ModuleNotFoundError as err:
        if not f"{package}.answers.".startswith(f"{err.name}."):
            raise  # the answers module exists but imports something missing
        raise ValueError(
            f"invalid `scenario`: {scenario!r}; expected a package in helpers/scenarios/, "
            f"e.g. 'checkpoint', or one of your own with an `answers` module (no {err.name!r})"
        ) from err
    return module.EXERCISES


def exercise(scenario: str, number: int) -> Exercise:
    """Exercise ``number`` of ``scenario``, named ``"Exercise <number>"`` if it has no name."""
    table = exercises(scenario)
    if number not in table:
        raise ValueError(
            f"invalid `number`: {number!r}; {scenario!r} has exercises {sorted(table)}"
        )
    found = table[number]
    return found if found.name else dataclasses.replace(found, name=f"Exercise {number}")


def check_exercise(scenario: str, number: int, answer, *, show: bool = True, **context) -> bool:
    """Check ``answer`` to exercise ``number`` of ``scenario``, never showing the answer.

    Shows "not attempted yet" (the stub ``...``, or a function stub raising
    ``NotImplementedError``), "correct", a listed misconception's feedback, or the hint.

    Args:
        scenario: A package of ``helpers.scenarios`` (e.g. ``"checkpoint"``) or your own.
        answer: A value, a choice's key, or a function, as the exercise's kind asks.
        show: Display the verdict. Defaults to True.
        **context: The notebook objects the expected value is computed from.

    Returns:
        Whether the answer is right, so an assignment's hidden test can ``assert`` it.
    """
    found = exercise(scenario, number)
    verdict = judge(found, answer, **context)
    if show:
        _show(found.name, verdict)
    return verdict.correct
