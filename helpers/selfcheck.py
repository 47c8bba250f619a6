"""Self-checks for exercises: right or wrong with a hint, never the answer.

Used at the end of every scenario notebook. A check cell reads::

    ok_1 = check_exercise("checkpoint", 1, answer_1, run=run0)

and contains neither the expected value nor its computation: the scenario's
``answers.py`` (``helpers/scenarios/<name>/answers.py``) holds an
:class:`Exercise` per number, whose ``expected`` function computes the value
from the objects the check cell passes -- the student's own runs -- so a
check stays right when hardware noise moves the numbers a little. The same
call is what the graded assignments' hidden tests assert.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from IPython.display import HTML, display

_OK = '<div style="color:#1b5e20">✅ <b>{name}</b>: correct. {note}</div>'
_NO = '<div style="color:#b00020">❌ <b>{name}</b>: not yet. Hint: {hint}</div>'


def _matches(answer, expected, rtol: float, atol: float) -> bool:
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.strip().lower()
    if isinstance(expected, bool) or expected is None:
        return answer is expected or answer == expected
    if isinstance(expected, (int, float)):
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return False
        return math.isfinite(value) and math.isclose(
            value, float(expected), rel_tol=rtol, abs_tol=atol
        )
    if isinstance(expected, Sequence):
        return (
            isinstance(answer, Sequence)
            and not isinstance(answer, str)
            and len(answer) == len(expected)
            and all(_matches(a, e, rtol, atol) for a, e in zip(answer, expected))
        )
    return answer == expected


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
    surrounding spaces; sequences match element by element.

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
    ok = _matches(answer, expected, rtol, atol)
    if show:
        message = _OK.format(name=name, note=note) if ok else _NO.format(name=name, hint=hint)
        display(HTML(message))
    return ok


@dataclass(frozen=True)
class Exercise:
    """One exercise's self-check, kept out of the notebook's sight.

    Attributes:
        name: Shown in the verdict, e.g. ``"Exercise 1"``.
        hint: Shown when the answer is wrong: a method, never a value.
        expected: ``expected(**context)`` computes the right answer from the
            objects the check cell passes.
        rtol: Relative tolerance for numbers. Defaults to 0.
        atol: Absolute tolerance for numbers. Defaults to 1e-6.
        points: Points in a graded assignment. Defaults to 1.
    """

    name: str
    hint: str
    expected: Callable[..., Any]
    rtol: float = 0.0
    atol: float = 1e-6
    points: int = 1


def exercises(scenario: str) -> dict[int, Exercise]:
    """The exercises of one scenario, ``{number: Exercise}``.

    Args:
        scenario: A sub-package of ``helpers.scenarios``, e.g. ``"checkpoint"``.
    """
    try:
        module = import_module(f"helpers.scenarios.{scenario}.answers")
    except ModuleNotFoundError as err:
        raise ValueError(
            f"invalid `scenario`: {scenario!r}; expected the name of a package in "
            "helpers/scenarios/, e.g. 'checkpoint'"
        ) from err
    return module.EXERCISES


def check_exercise(scenario: str, number: int, answer, *, show: bool = True, **context) -> bool:
    """Check ``answer`` to exercise ``number`` of ``scenario``, never showing the answer.

    Args:
        scenario: e.g. ``"checkpoint"``.
        number: The exercise's number in its notebook.
        answer: The student's answer; ``...`` (the student stub) is never right.
        show: Display the verdict. Defaults to True.
        **context: The notebook objects the expected value is computed from.

    Returns:
        Whether the answer is right.
    """
    table = exercises(scenario)
    if number not in table:
        raise ValueError(
            f"invalid `number`: {number!r}; {scenario!r} has exercises {sorted(table)}"
        )
    exercise = table[number]
    if answer is ...:
        ok = False
    else:
        ok = _matches(answer, exercise.expected(**context), exercise.rtol, exercise.atol)
    if show:
        message = (
            _OK.format(name=exercise.name, note="")
            if ok
            else _NO.format(name=exercise.name, hint=exercise.hint)
        )
        display(HTML(message))
    return ok
