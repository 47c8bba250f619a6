"""What ``fit()`` logged: the last epoch's values read from a history, and checked.

Introduced in ``notebooks/06_the_doctor.ipynb``. The doctor accepts what
``fit()`` returned (a ``History``), its ``.history`` dict, or that dict read
back from JSON (``json.dump(history.history, f)``), and refuses one that
belongs to another model or logged other metrics than the model computes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

IGNORED = ("learning_rate", "lr")  # logged by learning-rate callbacks, not metrics


@dataclass
class Logged:
    """The logged values per metric, every epoch, and ``fit()``'s params when known."""

    epochs: dict  # metric -> np.ndarray of per-epoch values
    params: dict | None

    @property
    def last(self) -> dict:
        return {key: float(values[-1]) for key, values in self.epochs.items()}

    def change(self, metric: str) -> float:
        """The last epoch's logged value minus the one before (NaN with one epoch)."""
        values = self.epochs[metric]
        return float(values[-1] - values[-2]) if len(values) > 1 else math.nan


def read(history, model) -> Logged:
    """The training values ``fit()`` logged, from a History or its dict.

    Raises:
        ValueError: for a history of another model, an empty one, or one
            that is not a History or a dict of per-epoch lists.
    """
    owner = getattr(history, "model", None)
    if owner is not None and owner is not model:
        raise ValueError(
            f"invalid `history`: it is the History of model {getattr(owner, 'name', owner)!r}, "
            f"not of {model.name!r}; pass what {model.name}.fit() returned"
        )
    params = getattr(history, "params", None)
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping):
        raise ValueError(
            f"invalid `history`: {type(history).__name__}; expected the History returned by "
            "fit(), its .history dict, or that dict read from JSON, e.g. {'loss': [0.7, 0.5]}"
        )
    epochs = {}
    for key, values in logs.items():
        if key.startswith("val_") or key in IGNORED:
            continue
        values = np.atleast_1d(np.asarray(values, dtype="float64")).ravel()
        if values.size:
            epochs[key] = values
    if not epochs:
        raise ValueError(
            f"invalid `history`: {dict(logs)!r} holds no training values; pass what fit() "
            "returned, e.g. history = model.fit(...)"
        )
    lengths = {len(v) for v in epochs.values()}
    if len(lengths) > 1:
        raise ValueError(
            "invalid `history`: its metrics have different numbers of epochs "
            f"({ {k: len(v) for k, v in epochs.items()} }); pass one fit()'s history"
        )
    return Logged(epochs, dict(params) if isinstance(params, Mapping) else None)


def check_metrics(logged: Logged, measured: list[str], model_name: str) -> None:
    """Refuse a history whose metrics are not the ones the model computes."""
    extra = sorted(set(logged.epochs) - set(measured))
    missing = sorted(set(measured) - set(logged.epochs))
    if extra or missing:
        raise ValueError(
            f"invalid `history`: it logged {sorted(logged.epochs)} but model {model_name!r} "
            f"computes {sorted(measured)}; pass the history of this model's own fit() (after "
            "compile() changed the metrics, fit() again)"
        )
