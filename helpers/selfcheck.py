"""Self-checks for exercises: feedback that teaches, never the answer.

Used at the end of every scenario notebook. A check cell reads::

    ok_1 = check_exercise("checkpoint", 1, answer_1, run=run0)

and contains neither the expected value nor its computation: the scenario's
``answers.py`` (``helpers/scenarios/<name>/answers.py``) holds an
:class:`Exercise` per number, whose ``expected`` function computes the right
answer from the objects the check cell passes -- the student's own runs -- so
a check stays right when hardware noise moves the numbers a little. The same
call is what the graded assignments' hidden tests assert.

An exercise has one of three kinds:

* ``"number"``: the answer is a value (a number, an array, a sequence, a
  string), compared within ``rtol``/``atol``;
* ``"choice"``: the answer is a choice's key (``"a"``, ``"b"``, …, any case);
  the check lists the choices until the student answers;
* ``"function"``: the answer is a function (or class) the student wrote; it
  and the reference are called on every input ``cases()`` gives -- inputs the
  notebook never shows -- and their results compared within ``rtol``/``atol``.

A check gives one of four verdicts (:func:`judge`):

* ``...`` (the student stub), or a function whose call raises
  ``NotImplementedError`` (the stub of a function): "⏳ not attempted yet";
* right: "✅ correct";
* equal to a listed :class:`Misconception`'s wrong value, or, for a
  function, giving the same results as its wrong implementation: "❌ not
  yet: <its feedback>";
* anything else: "❌ not yet. Hint: <the hint>". An exception raised by the
  student's function is reported with its type and message.

:func:`check_exercise` returns ``True`` only for "correct", so an otter
hidden test can ``assert`` it.
"""

from __future__ import annotations

import html
import inspect
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import numpy as np
from IPython.display import HTML, display

KINDS = ("number", "choice", "function")

# The verdicts, in the order check_exercise tries them.
NOT_ATTEMPTED, CORRECT, MISCONCEPTION, HINT, INVALID = (
    "not attempted",
    "correct",
    "misconception",
    "hint",
    "invalid",
)

# The committed notebooks' check outputs were written with _OK and _NO: keep them byte for byte.
_OK = '<div style="color:#1b5e20">✅ <b>{name}</b>: correct. {note}</div>'
_NO = '<div style="color:#b00020">❌ <b>{name}</b>: not yet. Hint: {hint}</div>'
_MISCONCEPTION = '<div style="color:#b00020">❌ <b>{name}</b>: not yet: {feedback}</div>'
_TODO = '<div style="color:#5f6368">⏳ <b>{name}</b>: not attempted yet. {todo}</div>'
_INVALID = '<div style="color:#b00020">❓ <b>{name}</b>: {problem}</div>'


@dataclass(frozen=True)
class Misconception:
    """A known wrong answer and the feedback that names the mistake.

    Attributes:
        wrong: ``wrong(**context)`` gives the wrong answer: a value for
            kind ``"number"``, a choice's key for ``"choice"``, a wrong
            implementation (a function) for ``"function"``. It receives the
            check cell's context like ``Exercise.expected`` (only the names it
            accepts).
        feedback: Shown when the student's answer equals the wrong one, e.g.
            "this is the loss after the update: Keras logs it before". It names
            the mistake, never the right value.
    """

    wrong: Callable[..., Any]
    feedback: str

    def __post_init__(self):
        if not callable(self.wrong):
            raise ValueError(
                f"invalid `wrong`: {self.wrong!r}; expected a function of the check's context, "
                "e.g. wrong=lambda run: run.history['loss'][-1]"
            )
        if not isinstance(self.feedback, str) or not self.feedback.strip():
            raise ValueError(
                f"invalid `feedback`: {self.feedback!r}; expected the sentence that names the "
                "mistake, e.g. 'this is the loss after the update: Keras logs it before'"
            )


@dataclass(frozen=True)
class Exercise:
    """One exercise's self-check, kept out of the notebook's sight.

    The first six fields keep their historical order, so
    ``Exercise(name, hint, expected, rtol, atol, points)`` still works.

    Attributes:
        name: Shown in the verdict, e.g. ``"Exercise 1"``. Defaults to
            ``"Exercise <number>"``.
        hint: Shown for a wrong answer no misconception explains: a method,
            never a value. Required.
        expected: ``expected(**context)`` computes the right answer from the
            objects the check cell passes (only the names it accepts): the
            value, the right choice's key, or, for kind ``"function"``, the
            reference implementation. Required.
        rtol: Relative tolerance for numbers. Defaults to 0.
        atol: Absolute tolerance for numbers. Defaults to 1e-6.
        points: Points in a graded assignment. Defaults to 1.
        kind: ``"number"``, ``"choice"`` or ``"function"``. Defaults to
            ``"number"``.
        cases: Kind ``"function"`` only: ``cases()`` returns the inputs both
            implementations are called on, each either ``(args, kwargs)`` or
            a function ``case(implementation) -> result`` (for a class, say a
            callback, that must be used rather than called). It is called
            afresh for each implementation, so a function that changes its
            inputs cannot spoil the next one; seed any randomness in it.
        choices: Kind ``"choice"`` only: ``{"a": "text", …}``, shown while the
            exercise is not attempted.
        misconceptions: Known wrong answers, each with its feedback. Defaults
            to none.
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
        where = f"{self.name or 'Exercise'}: invalid"
        if self.kind not in KINDS:
            raise ValueError(f"{where} `kind`: {self.kind!r}; expected one of {KINDS}")
        if not isinstance(self.hint, str) or not self.hint.strip():
            raise ValueError(
                f"{where} `hint`: {self.hint!r}; expected a method, never the value, "
                "e.g. hint='the logged loss is computed before the update'"
            )
        if not callable(self.expected):
            raise ValueError(
                f"{where} `expected`: {self.expected!r}; expected a function of the check's "
                "context, e.g. expected=lambda run: run.history['loss'][20]"
            )
        for tolerance in ("rtol", "atol"):
            value = getattr(self, tolerance)
            if not isinstance(value, numbers.Real) or not value >= 0:
                raise ValueError(f"{where} `{tolerance}`: {value!r}; expected a number >= 0")
        if (self.kind == "function") != (self.cases is not None) or not (
            self.cases is None or callable(self.cases)
        ):
            raise ValueError(
                f"{where} `cases`: {self.cases!r}; kind='function' needs cases=lambda: "
                "[(args, kwargs), …], and only it takes them"
            )
        if self.kind == "choice":
            if (
                not isinstance(self.choices, Mapping)
                or len(self.choices) < 2
                or not all(isinstance(k, str) and k == _key(k) for k in self.choices)
            ):
                raise ValueError(
                    f"{where} `choices`: {self.choices!r}; expected at least two lower-case "
                    "keys with their text, e.g. choices={'a': 'noise', 'b': 'lag'}"
                )
        elif self.choices is not None:
            raise ValueError(f"{where} `choices`: only kind='choice' takes them")
        misconceptions = tuple(self.misconceptions)
        if not all(isinstance(m, Misconception) for m in misconceptions):
            raise ValueError(
                f"{where} `misconceptions`: {self.misconceptions!r}; expected Misconception(wrong="
                "…, feedback=…) objects"
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
        status: ``"not attempted"``, ``"correct"``, ``"misconception"``,
            ``"hint"`` (wrong, with the hint) or ``"invalid"`` (not an answer
            of the right form, e.g. an unknown choice).
        message: The sentence shown after the exercise's name (plain text).
    """

    status: str
    message: str

    @property
    def correct(self) -> bool:
        """Whether the answer is right."""
        return self.status == CORRECT


# --------------------------------------------------------------------------- comparing answers


def _key(answer: str) -> str:
    """A choice as typed (``" B) "``) to its key (``"b"``)."""
    return answer.strip().strip("().").strip().lower()


def _is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_))


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
    """Whether ``answer`` equals ``expected``: numbers within tolerance, strings ignoring case.

    Example:
        >>> matches([1.0, 2.0 + 1e-9], np.array([1, 2]), 0.0, 1e-6)
        True
        >>> matches({"loss": 0.5}, {"loss": 0.25}, 0.0, 1e-6)
        False
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
    if _is_number(expected) or (isinstance(expected, np.ndarray) and expected.ndim == 0):
        number = answer if _is_number(answer) else getattr(answer, "ndim", None) == 0 and answer
        return number is not False and _close(number, expected, rtol, atol)
    if hasattr(expected, "__array__") or isinstance(expected, Sequence):
        if isinstance(answer, (str, Mapping)) or not (
            hasattr(answer, "__array__") or isinstance(answer, Sequence)
        ):
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


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# --------------------------------------------------------------------------- the verdict


def judge(exercise: Exercise, answer, **context) -> Verdict:
    """The verdict on ``answer`` to ``exercise``, without showing anything.

    Args:
        exercise: The exercise.
        answer: The student's answer: ``...`` while untouched.
        **context: The notebook objects ``expected``, ``wrong`` and the cases
            may need.

    Returns:
        A :class:`Verdict`; its ``message`` never holds the expected value.

    Example:
        >>> lag = Misconception(wrong=lambda: 0.7, feedback="that is the loss after the update")
        >>> ex = Exercise(
        ...     "Exercise 1", hint="look at epoch 3", expected=lambda: 0.5, misconceptions=[lag]
        ... )
        >>> [judge(ex, a).status for a in (..., 0.5 + 1e-9, 0.7, 0.9)]
        ['not attempted', 'correct', 'misconception', 'hint']
        >>> judge(ex, 0.7).message
        'not yet: that is the loss after the update'
        >>> why = Exercise(
        ...     "Exercise 2",
        ...     kind="choice",
        ...     hint="which runs in training mode?",
        ...     expected=lambda: "b",
        ...     choices={"a": "noise", "b": "lag"},
        ... )
        >>> judge(why, " B ").status, judge(why, "c").message
        ('correct', "'c' is not one of the choices; answer with one of 'a', 'b', e.g. answer = 'a'")
        >>> def reference(xs):
        ...     return sum(xs) / len(xs)
        >>> mean = Exercise(
        ...     "Exercise 3",
        ...     kind="function",
        ...     hint="divide by the count",
        ...     expected=lambda: reference,
        ...     cases=lambda: [(([1, 2, 6],), {})],
        ... )
        >>> def stub(xs):
        ...     raise NotImplementedError("write the body of stub()")
        >>> [judge(mean, f).status for f in (stub, reference, max)]
        ['not attempted', 'correct', 'hint']
        >>> print(judge(mean, lambda xs: xs / 3).message)
        not yet: your function raised TypeError: unsupported operand type(s) for /: 'list' and
        'int'. Hint: divide by the count
    """
    if answer is ...:
        return _not_attempted(exercise)
    if exercise.kind == "choice":
        return _judge_choice(exercise, answer, context)
    if exercise.kind == "function":
        return _judge_function(exercise, answer, context)
    if matches(answer, call_with_context(exercise.expected, context), exercise.rtol, exercise.atol):
        return Verdict(CORRECT, "correct.")
    for misconception in exercise.misconceptions:
        wrong = call_with_context(misconception.wrong, context)
        if matches(answer, wrong, exercise.rtol, exercise.atol):
            return _misconceived(misconception)
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


def _misconceived(misconception: Misconception) -> Verdict:
    return Verdict(MISCONCEPTION, f"not yet: {misconception.feedback}")


def _hint(exercise: Exercise, problem: str = "") -> Verdict:
    if problem:
        return Verdict(HINT, f"not yet: {problem}. Hint: {exercise.hint}")
    return Verdict(HINT, f"not yet. Hint: {exercise.hint}")


def _judge_choice(exercise: Exercise, answer, context) -> Verdict:
    keys = list(exercise.choices)
    if not isinstance(answer, str) or _key(answer) not in keys:
        listed = ", ".join(repr(k) for k in keys)
        return Verdict(
            INVALID,
            f"{answer!r} is not one of the choices; answer with one of {listed}, "
            f"e.g. answer = {keys[0]!r}",
        )
    expected = call_with_context(exercise.expected, context)
    if _key(expected) not in keys:
        raise ValueError(
            f"{exercise.name}: `expected` gave {expected!r}, which is not one of the keys {keys}"
        )
    if _key(answer) == _key(expected):
        return Verdict(CORRECT, "correct.")
    for misconception in exercise.misconceptions:
        if _key(answer) == _key(call_with_context(misconception.wrong, context)):
            return _misconceived(misconception)
    return _hint(exercise)


def _judge_function(exercise: Exercise, answer, context) -> Verdict:
    if not callable(answer):
        return _hint(exercise, f"expected a function (def …), got {type(answer).__name__}")
    cases = exercise.cases()  # the author's code: an error here is not the student's
    try:
        results = _run_cases(cases, answer)
    except NotImplementedError:
        return _not_attempted(exercise)
    except Exception as error:  # the student's code: report it, never crash the check
        return _hint(exercise, f"your function raised {_describe(error)}")
    expected = _run_cases(exercise.cases(), call_with_context(exercise.expected, context))
    if matches(results, expected, exercise.rtol, exercise.atol):
        return Verdict(CORRECT, "correct.")
    for misconception in exercise.misconceptions:
        wrong = _run_cases(exercise.cases(), call_with_context(misconception.wrong, context))
        if matches(results, wrong, exercise.rtol, exercise.atol):
            return _misconceived(misconception)
    return _hint(exercise)


def _show(name: str, verdict: Verdict) -> None:
    name, message = html.escape(name), html.escape(verdict.message)
    if verdict.status == CORRECT:
        text = _OK.format(name=name, note="")
    elif verdict.status == NOT_ATTEMPTED:
        text = _TODO.format(name=name, todo=message.removeprefix("not attempted yet. "))
    elif verdict.status == MISCONCEPTION:
        text = _MISCONCEPTION.format(name=name, feedback=message.removeprefix("not yet: "))
    elif verdict.status == INVALID:
        text = _INVALID.format(name=name, problem=message)
    elif message.startswith("not yet. Hint: "):
        text = _NO.format(name=name, hint=message.removeprefix("not yet. Hint: "))
    else:
        text = f'<div style="color:#b00020">❌ <b>{name}</b>: {message}</div>'
    display(HTML(text))


# --------------------------------------------------------------------------- the public calls


def check(
    answer,
    expected,
    *,
    name: str,
    hint: str,
    rtol: float = 0.0,
    atol: float = 1e-6,
    note: str = "",
    show: bool = True,
) -> bool:
    """Tell a student whether ``answer`` is right, without revealing ``expected``.

    Numbers match within ``rtol``/``atol``; strings match ignoring case and
    surrounding spaces; sequences and arrays match element by element. The
    stub ``...`` reads "not attempted yet".

    Args:
        answer: The student's answer.
        expected: The right answer (computed, never printed).
        name: The exercise's name, shown in the message.
        hint: Shown when the answer is wrong; must not contain the answer.
        rtol: Relative tolerance for numbers. Defaults to 0.
        atol: Absolute tolerance for numbers. Defaults to 1e-6.
        note: Extra text shown when the answer is right. Defaults to "".
        show: Display the verdict. Defaults to True.

    Returns:
        Whether the answer is right.

    Example:
        >>> check(0.5, 0.5 + 1e-9, name="Exercise 1", hint="look at epoch 3", show=False)
        True
        >>> check("dropout", "Dropout", name="Exercise 2", hint="which layer?", show=False)
        True
        >>> check(3, 4, name="Exercise 3", hint="count again", show=False)
        False
    """
    if not name or not hint:
        raise ValueError("`name` and `hint` are required, e.g. name='Exercise 1', hint='look at …'")
    if answer is ...:
        verdict = _not_attempted(Exercise(name, hint, lambda: expected))
    elif matches(answer, expected, rtol, atol):
        verdict = Verdict(CORRECT, "correct.")
    else:
        verdict = Verdict(HINT, f"not yet. Hint: {hint}")
    if show and verdict.correct:
        display(HTML(_OK.format(name=html.escape(name), note=note)))
    elif show:
        _show(name, verdict)
    return verdict.correct


def exercises(scenario: str) -> dict[int, Exercise]:
    """The exercises of one scenario, ``{number: Exercise}``.

    Args:
        scenario: A sub-package of ``helpers.scenarios``, e.g. ``"checkpoint"``,
            whose ``answers`` module defines ``EXERCISES``. A dotted name is a
            package of your own, e.g. ``"mycourse.week1"`` reads
            ``mycourse/week1/answers.py``.
    """
    package = scenario if "." in scenario else f"helpers.scenarios.{scenario}"
    try:
        module = import_module(f"{package}.answers")
    except ModuleNotFoundError as err:
        parts = f"{package}.answers".split(".")
        if err.name not in {".".join(parts[:i]) for i in range(1, len(parts) + 1)}:
            raise  # the answers module exists but imports something missing
        raise ValueError(
            f"invalid `scenario`: {scenario!r}; expected the name of a package in "
            "helpers/scenarios/, e.g. 'checkpoint', or an importable package of your own "
            f"with an `answers` module (no module {err.name!r})"
        ) from err
    return module.EXERCISES


def exercise(scenario: str, number: int) -> Exercise:
    """Exercise ``number`` of ``scenario``, named ``"Exercise <number>"`` if it has no name.

    Raises:
        ValueError: if the scenario has no such exercise.
    """
    table = exercises(scenario)
    if number not in table:
        raise ValueError(
            f"invalid `number`: {number!r}; {scenario!r} has exercises {sorted(table)}"
        )
    found = table[number]
    if not found.name:
        found = Exercise(
            f"Exercise {number}",
            **{k: getattr(found, k) for k in found.__dataclass_fields__ if k != "name"},
        )
    return found


def check_exercise(scenario: str, number: int, answer, *, show: bool = True, **context) -> bool:
    """Check ``answer`` to exercise ``number`` of ``scenario``, never showing the answer.

    Shows one of four verdicts: not attempted yet (the stub ``...``, or a
    function stub raising ``NotImplementedError``), correct, a listed
    misconception's feedback, or the hint (see the module docstring).

    Args:
        scenario: e.g. ``"checkpoint"``.
        number: The exercise's number in its notebook.
        answer: The student's answer: a value, a choice's key, or a function,
            as the exercise's kind asks.
        show: Display the verdict. Defaults to True.
        **context: The notebook objects the expected value is computed from.

    Returns:
        Whether the answer is right (``False`` for every verdict but "correct").
    """
    found = exercise(scenario, number)
    verdict = judge(found, answer, **context)
    if show:
        _show(found.name, verdict)
    return verdict.correct
