"""A reference the decomposition tests compare the kit's Shapley values with (not part of
``helpers``): the slow, obvious way to get the number the tool gets fast."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


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
