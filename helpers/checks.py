"""Argument checks: one place, one error format.

Every public function of the kit checks its arguments here, so a bad value always gets the
same message in Keras's style, e.g. ``invalid `epochs`: 0; expected an int >= 1, e.g. 50``
(tests/test_checks.py). Each check returns the value as a plain Python type.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def _fail(name: str, value, expected: str, example) -> ValueError:
    hint = "" if example is None else f", e.g. {example}"
    return ValueError(f"invalid `{name}`: {value!r}; expected {expected}{hint}")


def _bound(low, high, low_open: bool = False, high_open: bool = False) -> str:
    """' in [low, high)', ' >= low', ' < high' or '': the bounds in an error message."""
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high}"
    return ""


def integer(
    name: str, value, *, low: int | None = None, high: int | None = None, example=None
) -> int:
    """An int (NumPy ints too, bools never) within ``[low, high]``."""
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    ok = ok and (low is None or value >= low) and (high is None or value <= high)
    if not ok:
        both = low is not None and high is not None
        expected = f"an int from {low} to {high}" if both else "an int" + _bound(low, high)
        raise _fail(name, value, expected, example)
    return int(value)


def positive_int(name: str, value, *, example=None) -> int:
    """An int >= 1: epochs, batch sizes, counts."""
    return integer(name, value, low=1, example=example)


def seed(name: str, value, *, example=0) -> int:
    """A random seed accepted by ``keras.utils.set_random_seed``."""
    return integer(name, value, low=0, high=2**31 - 1, example=example)


def number(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    example=None,
) -> float:
    """A finite real number (not a bool) in an interval."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    ok = ok and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        expected = "a number" + (_bound(low, high, low_open, high_open) or " (finite)")
        raise _fail(name, value, expected, example)
    return float(value)


def rate(name: str, value) -> float:
    """A dropout rate: a number in [0, 1); 0 disables the layer."""
    return number(name, value, low=0, high=1, high_open=True, example="0.2 (0 disables it)")


def momentum(name: str, value) -> float:
    """A BatchNormalization momentum: a number in [0, 1]."""
    return number(name, value, low=0, high=1, example=0.99)


def choice(name: str, value, options: Iterable):
    """One of ``options``."""
    options = tuple(options)
    if value not in options:
        raise _fail(name, value, f"one of {options}", None)
    return value


def each(values, rules) -> dict:
    """Each of ``values`` checked by its rule, ``rules[name](name, value)``.

    An explorer's knobs are checked this way, so every explorer refuses an
    unknown knob with the same error.
    """
    unknown = sorted(set(values) - set(rules))
    if unknown:
        raise ValueError(f"invalid setting {unknown[0]!r}; expected some of {sorted(rules)}")
    return {name: rules[name](name, value) for name, value in values.items()}


def flag(name: str, value) -> bool:
    """A bool (NumPy bools too), never a truthy stand-in such as ``"no"``."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(name, value, "True or False", None)
    return bool(value)


def function(name: str, value, *, example=None):
    """A callable: a function, a lambda or a class."""
    if not callable(value):
        raise _fail(name, value, "a function", example)
    return value


def text(name: str, value, *, example=None) -> str:
    """A string that is not blank."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, value, "a sentence", example)
    return value


def samples(x, y=None, sample_weight=None) -> int:
    """The number of samples in ``x`` (an array, dict or list), checked against y and weights."""
    n = len(_first_leaf(x))
    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None and len(_first_leaf(value)) != n:
            raise ValueError(
                f"`x` has {n} samples but `{name}` has {len(_first_leaf(value))}; "
                "pass the same samples in both"
            )
    return n


def _first_leaf(data):
    while isinstance(data, (dict, list, tuple)):
        if not data:
            raise ValueError("empty data structure; pass at least one array")
        data = next(iter(data.values())) if isinstance(data, dict) else data[0]
    return data


def compiled(model, what: str = "this measurement") -> None:
    """Raise a clear error when ``model`` has not been compiled."""
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError(
            f"model {getattr(model, 'name', model)!r} is not compiled; {what} reuses the "
            "compiled loss and metrics, so call `model.compile(loss=..., metrics=[...])` first"
        )


BACKENDS = ("tensorflow", "jax")  # the Keras backends the kit's tools are tested on


def backend(what: str = "this tool") -> str:
    """The Keras backend in use, after checking that the kit's tools support it."""
    import keras

    name = keras.backend.backend()
    if name not in BACKENDS:
        raise NotImplementedError(
            f"{what} supports the Keras backends {BACKENDS}, and Keras is running on {name!r}; "
            "set KERAS_BACKEND=tensorflow or jax before importing Keras "
            "(the README's backend table says what was tried)"
        )
    return name
