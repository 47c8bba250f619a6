"""Self-checks for exercises: right or wrong with a hint, never the answer.

Used at the end of every scenario notebook. The expected value is computed
by the check cell from the notebook's own measurements, so a check stays
right when hardware noise moves the numbers a little.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

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
        return math.isfinite(value) and math.isclose(value, float(expected), rel_tol=rtol, abs_tol=atol)
    if isinstance(expected, Sequence):
        return (isinstance(answer, Sequence) and not isinstance(answer, str)
                and len(answer) == len(expected)
                and all(_matches(a, e, rtol, atol) for a, e in zip(answer, expected)))
    return answer == expected


def check(answer, expected, *, name: str, hint: str, rtol: float = 0.0, atol: float = 1e-6,
          note: str = "", show: bool = True) -> bool:
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
