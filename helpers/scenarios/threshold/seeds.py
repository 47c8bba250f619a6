"""Scenario 03 over many seeds: where each stopping rule fires, and how often the symptom appears.

Introduced in ``notebooks/03_fit_says_one.ipynb``. Shares come with a
Wilson 95 % interval, because a share over a few dozen seeds is itself a
measurement with an error.
"""

from __future__ import annotations

import math

from helpers.gap import HEADER, gap
from helpers.scenarios.threshold.run import OUTCOMES, outcome
from helpers.scenarios.threshold.runner import ThresholdRunner
from helpers.table import Table


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a share ``k / n`` (95 % for the default ``z``).

    Example:
        >>> [round(v, 2) for v in wilson_interval(15, 40)]
        [0.24, 0.53]
    """
    if n <= 0:
        raise ValueError(f"invalid `n`: {n!r}; expected an int >= 1, e.g. 40")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def seed_table(
    seeds=range(20),
    *,
    epochs: int = 300,
    reshuffle: bool = False,
    learning_rate: float | None = None,
    runner: ThresholdRunner | None = None,
) -> Table:
    """Train each seed once and read off where each stopping rule fires.

    Stopping never changes the epochs before it, so one run per seed, kept
    going until both rules have fired (or ``epochs``), shows both: the
    post's rule (logged ``accuracy`` >= 1) and the fix (``val_accuracy``
    on the training set >= 1, which is the end-of-epoch accuracy, i.e.
    ``evaluate()``). Runs use :meth:`ThresholdRunner.trajectory`.

    Args:
        seeds: The seeds. Defaults to 0..19.
        epochs: Most epochs per run. Defaults to the post's 300.
        reshuffle: A fresh sample order every epoch. Defaults to False.
        learning_rate: Adam's learning rate; None: the runner's. Defaults to None.
        runner: A :class:`ThresholdRunner`; a default one if None.

    Returns:
        A Table, one row per seed, with the gap (fit − evaluate) where the
        post's rule stopped (or at the last epoch), the inputs on which the
        hidden ReLU was active at the start, and the epoch from which it
        stayed off for every input ("dead at"; None if it ended alive).
    """
    runner = runner or ThresholdRunner()
    rows = []
    for seed in seeds:
        t = runner.trajectory(
            int(seed), epochs=epochs, reshuffle=reshuffle, learning_rate=learning_rate
        )
        post, fix = t.post_stop, t.fix_stop
        at = (post or len(t.accuracy)) - 1
        rows.append(
            {
                "seed": int(seed),
                "accuracy: stops at": post or None,
                "evaluate there": t.end_accuracy[at],
                HEADER: gap(t.accuracy[at], t.end_accuracy[at]),
                "outcome": outcome(bool(post), t.end_accuracy[at] >= 1.0),
                "val_accuracy: stops at": fix or None,
                "fit logged there": t.accuracy[(fix or len(t.accuracy)) - 1],
                "outcome (fix)": outcome(bool(fix), bool(fix)),
                "active at start": t.active[0],
                "dead at": _dead_from(t.active),
            }
        )
    return Table(rows)


def _dead_from(active) -> int | None:
    """The epoch from which the hidden unit stayed off for all 500 points; None if it ended alive."""
    if active[-1] > 0:
        return None
    alive = [e for e, a in enumerate(active) if a > 0]
    return alive[-1] + 1 if alive else 0


def outcome_counts(tables, column: str = "outcome", *, seeds: bool = False) -> Table:
    """How often each outcome happened, per seed table.

    Args:
        tables: One :func:`seed_table`, or a dict name -> table to compare.
        column: ``"outcome"`` (the post's rule) or ``"outcome (fix)"``.
        seeds: With one table, also list the seeds of each outcome.
            Defaults to False.

    Returns:
        A Table: one row per outcome; with one table, columns runs, share
        and its Wilson 95 % interval; with several, one column of counts
        per table.
    """
    if isinstance(tables, Table):
        outcomes, rows = tables.column(column), []
        for o in OUTCOMES:
            k = outcomes.count(o)
            low, high = wilson_interval(k, len(outcomes))
            rows.append(
                {
                    "outcome": o,
                    "runs": k,
                    "share": k / len(outcomes),
                    "95% interval": f"{low:.2f}–{high:.2f}",
                    **(
                        {"seeds": " ".join(str(r["seed"]) for r in tables if r[column] == o)}
                        if seeds
                        else {}
                    ),
                }
            )
        return Table(rows, digits=2)
    return Table(
        [
            {"outcome": o, **{name: t.column(column).count(o) for name, t in tables.items()}}
            for o in OUTCOMES
        ]
    )


def symptom_shares(tables: dict) -> Table:
    """The post's symptom per seed table: how often the rule fired, and on imperfect weights.

    Args:
        tables: name -> :func:`seed_table`, e.g. one per learning rate.

    Returns:
        One row per table: seeds, rule fired, symptom (stopped with
        ``evaluate()`` < 1), its share of the seeds with a Wilson 95 %
        interval, and the symptom's share among the runs that stopped.
    """
    rows = []
    for name, table in tables.items():
        outcomes = table.column("outcome")
        k, fired = (
            outcomes.count(OUTCOMES[0]),
            outcomes.count(OUTCOMES[0]) + outcomes.count(OUTCOMES[1]),
        )
        low, high = wilson_interval(k, len(outcomes))
        rows.append(
            {
                "runs": name,
                "seeds": len(outcomes),
                "rule fired": fired,
                "symptom": k,
                "symptom share": k / len(outcomes),
                "95% interval": f"{low:.2f}–{high:.2f}",
                "symptom / fired": k / fired if fired else math.nan,
            }
        )
    return Table(rows, digits=2)
