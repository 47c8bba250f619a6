"""A model's whole state, saved and put back: the doctor's promise to change nothing.

Written on Keras's API only (``model.variables``, ``metrics_variables``,
``optimizer.variables``, ``keras.ops.convert_to_numpy``, ``assign``), so it
serves every backend. The state is every weight, every BatchNormalization
statistic, every random-seed generator, every compiled metric's accumulator
and the optimizer's slots and step counter.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import numpy as np


def state_variables(model) -> list:
    """Every variable whose value makes up ``model``'s state, each once."""
    found, seen = [], set()
    optimizer = getattr(model, "optimizer", None)
    groups = (
        model.variables,
        getattr(model, "metrics_variables", []),
        getattr(optimizer, "variables", []) if optimizer is not None else [],
    )
    for group in groups:
        for variable in group:
            if id(variable) not in seen:
                seen.add(id(variable))
                found.append(variable)
    return found


def snapshot(model) -> dict[str, np.ndarray]:
    """A copy of the state: ``{variable path: value}`` (paths made unique by position)."""
    return {
        f"{i}:{getattr(v, 'path', v.name)}": np.array(keras.ops.convert_to_numpy(v), copy=True)
        for i, v in enumerate(state_variables(model))
    }


def changed(before: dict, after: dict) -> list[str]:
    """The variables whose value differs between two snapshots (bit for bit; NaN equals NaN)."""
    if before.keys() != after.keys():
        return sorted(set(before) ^ set(after))
    return [
        k
        for k in before
        if before[k].shape != after[k].shape
        or not np.array_equal(before[k], after[k], equal_nan=before[k].dtype.kind in "fc")
    ]


@contextlib.contextmanager
def unchanged(model) -> Iterator[None]:
    """Put every state variable of ``model`` back, bit for bit, when the block exits."""
    variables = state_variables(model)
    saved = [np.array(keras.ops.convert_to_numpy(v), copy=True) for v in variables]
    try:
        yield
    finally:
        for variable, value in zip(variables, saved):
            variable.assign(value)
