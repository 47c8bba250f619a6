"""Reference measurements the tests compare the kit's tools with (not part of ``helpers``).

Each is the slow, obvious way to get a number a tool gets fast: the tests assert
that both agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from helpers import evaluate_in_mode


def measure_by_evaluation(
    model, x, y, *, sample_weight=None, batch_size: int = 32, training_mode: bool = False
) -> dict[str, dict[str, float]]:
    """``GapProbe``'s measurement, one ``evaluate_in_mode`` call per mode (for ``measure=``)."""
    kw = dict(sample_weight=sample_weight, batch_size=batch_size)
    result = {"inference": evaluate_in_mode(model, x, y, mode="inference", **kw)}
    if training_mode:
        result["training"] = evaluate_in_mode(model, x, y, mode="training", **kw)
    return result


def sequential_parts(value: Mapping, order: Iterable[str]) -> dict[str, float]:
    """What each family adds when switched on one after another in ``order``.

    The parts telescope to v(all) - v({}) for every order; the Shapley value is
    their mean over all orders.

    Example:
        >>> v = {frozenset(): 0.0, frozenset("a"): 1.0, frozenset("b"): 2.0, frozenset("ab"): 5.0}
        >>> sequential_parts(v, "ab"), sequential_parts(v, "ba")
        ({'a': 1.0, 'b': 4.0}, {'b': 2.0, 'a': 3.0})
    """
    before, parts = frozenset(), {}
    for p in order:
        parts[p] = value[before | {p}] - value[before]
        before = before | {p}
    return parts
