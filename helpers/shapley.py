"""Sharing a joint effect among layer families: alone, in order, or Shapley.

Introduced in ``notebooks/00_start_here.ipynb``. Write v(S) for a metric
measured at the end-of-epoch weights with the families in S in training
mode and the rest in inference mode, so v(no family) is ``evaluate()``'s
value I and v(all families) the training-mode value T. Switching the
families from inference to training mode moves the metric by T - I; the
question is how much of that move each family gets. Three answers:

* **on alone** -- each family switched on alone from inference mode:
  v({f}) - v({}). What one family does to a model otherwise in inference mode.
* **off alone** -- each family switched off alone from training mode:
  v(all) - v(all - {f}). What one family does to a model otherwise as in
  ``fit()``.
* **Shapley** -- the mean, over every order of switching the families on one
  after another, of what f adds when its turn comes. The parts sum to
  T - I exactly (in exact arithmetic) and do not depend on how the families
  are listed.

With one family all three agree. With two, on alone and off alone are the
two possible orders, so the Shapley part is their mean; each family's off
part minus its on part is the same number, the interaction. Inputs here are
plain mappings from ``frozenset`` of names to values: no Keras needed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping


def _players(players: Iterable[str]) -> list[str]:
    players = list(players)
    if len(set(players)) != len(players):
        raise ValueError(
            f"invalid `players`: {players!r}; expected distinct names, "
            "e.g. ['dropout', 'batchnorm']"
        )
    return players


def _lookup(value: Mapping, coalition: frozenset) -> float:
    try:
        return value[coalition]
    except KeyError:
        raise KeyError(
            f"no value for the families {sorted(coalition)}; measured: {[sorted(s) for s in value]}"
        ) from None


def coalitions(players: Iterable[str]) -> list[frozenset]:
    """Every subset of ``players``, the empty one first, by size.

    Example:
        >>> [sorted(s) for s in coalitions(["dropout", "batchnorm"])]
        [[], ['dropout'], ['batchnorm'], ['batchnorm', 'dropout']]
    """
    players = _players(players)
    return [
        frozenset(c) for k in range(len(players) + 1) for c in itertools.combinations(players, k)
    ]


def shapley_values(value: Mapping, players: Iterable[str]) -> dict[str, float]:
    """Each player's Shapley value of the game ``value`` (a dict over subsets).

    phi_p = sum over S not holding p of |S|! (n-|S|-1)! / n! (v(S + p) - v(S)).
    Each term is the same float whatever the listing order, and
    :func:`math.fsum` rounds the exact sum once, so the result does not
    depend on the order ``players`` are listed in -- to the last bit.

    Args:
        value: ``{frozenset(players): number}`` for every subset.
        players: The names, e.g. ``["dropout", "batchnorm"]``.

    Returns:
        ``{player: part}``, in the order given.

    Example:
        >>> v = {frozenset(): 0.0, frozenset("a"): 1.0, frozenset("b"): 2.0, frozenset("ab"): 5.0}
        >>> shapley_values(v, "ab")
        {'a': 2.0, 'b': 3.0}
    """
    players = _players(players)
    n, parts = len(players), {}
    for p in players:
        others = [q for q in players if q != p]
        terms = []
        for k in range(n):
            weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            for c in itertools.combinations(others, k):
                s = frozenset(c)
                terms.append(weight * (_lookup(value, s | {p}) - _lookup(value, s)))
        parts[p] = math.fsum(terms)
    return parts


def sequential_parts(value: Mapping, order: Iterable[str]) -> dict[str, float]:
    """What each player adds when switched on one after another in ``order``.

    The parts telescope to v(all) - v({}) for every order; the Shapley value
    is their mean over all orders.

    Example:
        >>> v = {frozenset(): 0.0, frozenset("a"): 1.0, frozenset("b"): 2.0, frozenset("ab"): 5.0}
        >>> sequential_parts(v, "ab"), sequential_parts(v, "ba")
        ({'a': 1.0, 'b': 4.0}, {'b': 2.0, 'a': 3.0})
    """
    before, parts = frozenset(), {}
    for p in _players(order):
        parts[p] = _lookup(value, before | {p}) - _lookup(value, before)
        before = before | {p}
    return parts


def switched_on_alone(value: Mapping, players: Iterable[str]) -> dict[str, float]:
    """v({p}) - v({}) for each player: on alone from the all-off state.

    Example:
        >>> v = {frozenset(): 0.0, frozenset("a"): 1.0, frozenset("b"): 2.0, frozenset("ab"): 5.0}
        >>> switched_on_alone(v, "ab")
        {'a': 1.0, 'b': 2.0}
    """
    return {
        p: _lookup(value, frozenset([p])) - _lookup(value, frozenset()) for p in _players(players)
    }


def switched_off_alone(value: Mapping, players: Iterable[str]) -> dict[str, float]:
    """v(all) - v(all - {p}) for each player: off alone from the all-on state.

    Example:
        >>> v = {frozenset(): 0.0, frozenset("a"): 1.0, frozenset("b"): 2.0, frozenset("ab"): 5.0}
        >>> switched_off_alone(v, "ab")
        {'a': 3.0, 'b': 4.0}
    """
    players = _players(players)
    everyone = frozenset(players)
    return {p: _lookup(value, everyone) - _lookup(value, everyone - {p}) for p in players}
