"""The checks test themselves: one call per exercise, for the scenario's own test file.

Usage, in ``tests/test_<scenario>.py``::

    from tests.exercise_checks import assert_exercise_teaches, assert_scenario_exercises


    def test_exercise_2_teaches(run0):
        # reference: what the notebook's solution cell binds (a value, a choice's key,
        # or the reference function written as in the solution cell)
        assert_exercise_teaches("checkpoint", 2, reference=0.1234, run=run0)


    def test_every_exercise_teaches(run0):
        assert_scenario_exercises(
            "checkpoint",
            references={1: 0.69, 2: "b", 3: mean_of_batches, 4: 1.0986},
            contexts={1: {"run": run0}},  # per exercise: what its check cell passes
        )

For one exercise, :func:`assert_exercise_teaches` asserts what issue 23 asks
of every check:

(a) the reference answer reads "correct";
(b) the stub ``...`` reads "not attempted yet" -- and, for kind
    ``"function"``, so does a function whose body raises
    ``NotImplementedError`` (``make student``'s stub), while one raising
    another error gets that error's type and message with the hint;
(c) each listed misconception's wrong answer (its value, choice or
    implementation) gets *its own* feedback: at least one is listed, none is
    accepted as correct, none is shadowed by an earlier one; for kind
    ``"choice"``, every wrong choice has its misconception;
(d) an answer that is neither right nor listed gets the hint (``other=``
    chooses it; by default: a number moved far away, an unlisted choice, a
    function returning ``None``);
(e) a numeric answer's value is not written in its hint or feedback.

:func:`assert_scenario_exercises` runs it for every exercise of a scenario
and checks the notebook's set: at least four exercises, at least one
``"function"`` (write the mechanism) and one ``"number"`` or ``"choice"``
(predict before you run).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from helpers import selfcheck
from helpers.selfcheck import CORRECT, HINT, MISCONCEPTION, NOT_ATTEMPTED, call_with_context, judge

REFERENCE = object()  # assert_exercise_teaches(reference=REFERENCE): use Exercise.expected itself


def _unlisted(found, expected, context):
    """An answer that is neither ``expected`` nor a misconception's (None if there is none)."""
    if found.kind == "function":
        return lambda *args, **kwargs: None
    wrong = [call_with_context(m.wrong, context) for m in found.misconceptions]
    if found.kind == "choice":
        taken = {str(w).strip().lower() for w in wrong} | {expected.strip().lower()}
        spare = [k for k in found.choices if k not in taken]
        return spare[0] if spare else None
    if isinstance(expected, str):
        return "an answer nobody gives"
    if isinstance(expected, (bool, np.bool_)):
        return None if any(w is not None for w in wrong) else not expected
    try:
        return np.asarray(expected, dtype=float) * 3 + 17.25
    except (TypeError, ValueError):
        return None


def _written_values(value) -> list[str]:
    """How a non-integer number could appear in a sentence (0.6931 → '0.69', '0.693')."""
    if not isinstance(value, numbers.Real) or float(value).is_integer():
        return []
    return [f"{value:.2f}", f"{value:.3g}"]


def assert_exercise_teaches(
    scenario: str, number: int, reference=REFERENCE, *, other=..., **context
):
    """Assert (a)-(e) of the module docstring for exercise ``number`` of ``scenario``.

    Args:
        scenario: e.g. ``"checkpoint"``.
        number: The exercise's number.
        reference: The solution cell's answer. Defaults to :data:`REFERENCE`,
            ``Exercise.expected`` itself (weaker: it proves nothing about the
            solution cell).
        other: A wrong answer no misconception lists, for (d). Defaults to one
            made up; ``None`` skips (d).
        **context: What the check cell passes.
    """
    found = selfcheck.exercise(scenario, number)
    label = f"{scenario} exercise {number} ({found.kind})"
    expected = call_with_context(found.expected, context)
    if reference is REFERENCE:
        reference = expected

    def verdict(answer):
        return judge(found, answer, **context)

    got = verdict(reference)
    assert got.status == CORRECT, f"{label}: the reference answer reads {got}"
    got = verdict(...)
    assert got.status == NOT_ATTEMPTED, f"{label}: the stub `...` reads {got}"
    if found.kind == "function":

        def stub(*args, **kwargs):
            raise NotImplementedError("write the body of stub()")

        def broken(*args, **kwargs):
            raise ValueError("a bug in the student's code")

        got = verdict(stub)
        assert got.status == NOT_ATTEMPTED, f"{label}: a stub raising NotImplementedError: {got}"
        got = verdict(broken)
        assert got.status == HINT and "ValueError: a bug in the student's code" in got.message, (
            f"{label}: a function raising ValueError reads {got}"
        )

    assert found.misconceptions, f"{label}: list at least one Misconception with its feedback"
    for index, misconception in enumerate(found.misconceptions):
        wrong = call_with_context(misconception.wrong, context)
        got = verdict(wrong)
        assert got.status != CORRECT, (
            f"{label}: misconception {index}'s wrong answer is accepted as correct "
            "(is it within rtol/atol of the right one?)"
        )
        assert (
            got.status == MISCONCEPTION and got.message == f"not yet: {misconception.feedback}"
        ), (
            f"{label}: misconception {index} ({misconception.feedback!r}) is unreachable: "
            f"its wrong answer reads {got}"
        )
    if found.kind == "choice":
        wrong = {call_with_context(m.wrong, context).strip().lower() for m in found.misconceptions}
        unexplained = set(found.choices) - wrong - {expected.strip().lower()}
        assert not unexplained, (
            f"{label}: the wrong choices {sorted(unexplained)} have no Misconception: every wrong "
            "choice should be a real misconception with its feedback"
        )

    other = _unlisted(found, expected, context) if other is ... else other
    if other is not None:
        got = verdict(other)
        assert got.status == HINT and found.hint in got.message, (
            f"{label}: an unlisted wrong answer reads {got}; expected the hint"
        )

    if found.kind == "number":
        texts = [found.hint] + [m.feedback for m in found.misconceptions]
        for shown in _written_values(expected):
            leaks = [t for t in texts if shown in t]
            assert not leaks, f"{label}: the value {shown} is written in {leaks}"


def assert_scenario_exercises(
    scenario: str,
    references: Mapping[int, object],
    contexts: Mapping[int, Mapping] | None = None,
    *,
    min_exercises: int = 4,
):
    """Assert :func:`assert_exercise_teaches` for every exercise of ``scenario``, and the set.

    Args:
        scenario: e.g. ``"checkpoint"``.
        references: ``{number: the solution cell's answer}``, one per exercise
            (:data:`REFERENCE` for ``Exercise.expected`` itself).
        contexts: ``{number: what its check cell passes}``. Defaults to none.
        min_exercises: At least this many exercises. Defaults to 4.
    """
    table = selfcheck.exercises(scenario)
    assert sorted(references) == sorted(table), (
        f"{scenario}: references for {sorted(references)}, exercises {sorted(table)}"
    )
    assert len(table) >= min_exercises, f"{scenario}: {len(table)} exercises, < {min_exercises}"
    kinds = {e.kind for e in table.values()}
    assert "function" in kinds, f"{scenario}: no write-the-mechanism exercise (kind='function')"
    assert kinds & {"number", "choice"}, f"{scenario}: no predict exercise (number or choice)"
    for number in sorted(table):
        assert_exercise_teaches(
            scenario, number, references[number], **dict((contexts or {}).get(number, {}))
        )
