"""The data the doctor measures: arrays or a dataset, cut into ``fit()``'s batches.

Introduced in ``notebooks/06_the_doctor.ipynb``. Arrays are cut into batches
of ``batch_size`` in their order, as ``fit()`` and ``evaluate()`` cut them (the
order does not change an epoch's average). A dataset (``tf.data.Dataset`` or
any re-iterable of ``(x, y)`` or ``(x, y, sample_weight)`` batches) keeps its
own batches; it is read twice, to see whether a second pass yields another
order (the ``shuffled_evaluation`` cause). ``class_weight`` becomes one weight
per sample exactly as ``fit()`` makes it: the label's weight (the arg-max of a
one-hot label).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from helpers import checks


@dataclass
class Data:
    """Data held as NumPy arrays (nested like the model's inputs and outputs).

    Attributes:
        x, y: Inputs and targets, all samples.
        n: Number of samples.
        bounds: ``[(start, stop)]`` of ``fit()``'s batches.
        sample_weight: The per-sample weights given (or in the dataset), or None.
        class_weights: ``class_weight[label]`` per sample, or None.
        other_labels: Dataset only: ``y`` as a second pass yields it.
        reshuffles: Dataset only: whether a second pass yields another order.
        source: ``"arrays"`` or ``"dataset"``.
    """

    x: object
    y: object
    n: int
    bounds: list
    sample_weight: np.ndarray | None = None
    class_weights: np.ndarray | None = None
    other_labels: object = None
    reshuffles: bool | None = None
    source: str = "arrays"

    @property
    def fit_weights(self) -> np.ndarray | None:
        """The weights ``fit()`` applied: sample_weight times the class weights."""
        if self.sample_weight is None:
            return self.class_weights
        if self.class_weights is None:
            return self.sample_weight
        return self.sample_weight * self.class_weights


def is_dataset(x) -> bool:
    """True for a ``tf.data.Dataset``, a ``PyDataset`` or another re-iterable of batches."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict)) or hasattr(x, "shape"):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__getitem__") and hasattr(x, "__len__")


def take(data, start: int, stop: int):
    """Rows ``start:stop`` of a nested structure of arrays."""
    return keras.tree.map_structure(lambda a: a[start:stop], data)


def take_index(data, index):
    """Rows ``index`` (a slice or an index array) of a nested structure of arrays."""
    return keras.tree.map_structure(lambda a: a[index], data)


def concat(parts: list):
    """Batches of a nested structure, joined along the first axis."""
    return keras.tree.map_structure(lambda *a: np.concatenate(a), *parts)


def _numpy(data):
    def convert(a):
        if a is None:
            return None
        a = np.asarray(keras.ops.convert_to_numpy(a))
        return a.astype(keras.config.floatx()) if a.dtype.kind == "f" else a

    return keras.tree.lists_to_tuples(keras.tree.map_structure(convert, data))


def bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``[(start, stop)]`` of batches of ``batch_size``, the last one holding the rest.

    Example:
        >>> bounds(5, 2)
        [(0, 2), (2, 4), (4, 5)]
    """
    return [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


def _read_dataset(dataset, name: str):
    """One pass over a dataset: a list of ``(x, y, sample_weight)`` batches as arrays."""
    cardinality = getattr(dataset, "cardinality", None)
    if callable(cardinality) and int(keras.ops.convert_to_numpy(cardinality())) == -1:
        raise ValueError(
            f"invalid `{name}`: {dataset!r} repeats forever; pass the dataset without .repeat() "
            "so that one pass is one epoch"
        )
    batches = []
    for element in dataset:
        xb, yb, wb = keras.utils.unpack_x_y_sample_weight(
            tuple(element) if isinstance(element, list) else element
        )
        if yb is None:
            raise ValueError(
                f"invalid `{name}`: its batches hold no targets; pass a dataset of (x, y) "
                "batches, e.g. tf.data.Dataset.from_tensor_slices((x, y)).batch(32)"
            )
        batches.append(_numpy((xb, yb, wb)))
    return batches


def _fingerprint(batches) -> list:
    return [
        [np.asarray(a).tobytes() for a in keras.tree.flatten((xb, yb))] for xb, yb, _ in batches
    ]


def prepare(
    x, y=None, *, sample_weight=None, class_weight=None, batch_size: int = 32, name: str = "x"
) -> Data:
    """Check the data and hold it as arrays with ``fit()``'s batches.

    Raises:
        ValueError: for empty data, ``x`` and ``y`` of different lengths, a
            dataset with a separate ``y``, or a ``class_weight`` without a
            weight for every label.
    """
    if is_dataset(x):
        if y is not None or sample_weight is not None:
            raise ValueError(
                f"invalid `y`: {type(y).__name__} given with a dataset as `{name}`; a dataset "
                "carries its own targets (and sample weights): pass y=None"
            )
        first = _read_dataset(x, name)
        if not first:
            raise ValueError(
                f"invalid `{name}`: the dataset is empty (0 batches); pass the data fit() trained on"
            )
        second = _read_dataset(x, name)
        xs, ys, ws = zip(*first)
        if any(w is None for w in ws) and not all(w is None for w in ws):
            raise ValueError(f"invalid `{name}`: some batches carry sample weights, others not")
        data_x, data_y = concat(list(xs)), concat(list(ys))
        sizes = [len(keras.tree.flatten(xb)[0]) for xb in xs]
        edges = np.cumsum([0] + sizes)
        reshuffles = _fingerprint(first) != _fingerprint(second)
        other = concat([b[1] for b in second]) if second else None
        if (
            other is not None
            and keras.tree.flatten(other)[0].shape != keras.tree.flatten(data_y)[0].shape
        ):
            other = None  # another number of samples on the second pass: no pairing possible
        data = Data(
            data_x,
            data_y,
            int(edges[-1]),
            [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])],
            sample_weight=None if ws[0] is None else np.concatenate(ws).astype("float64"),
            other_labels=other,
            reshuffles=reshuffles,
            source="dataset",
        )
    else:
        if x is None or y is None:
            raise ValueError(
                f"`{name}` and its targets are required: pass the training data given to fit(), "
                "e.g. diagnose(model, x_train, y_train)"
            )
        n = checks.samples(x, y, sample_weight)
        if n == 0:
            raise ValueError(
                f"invalid `{name}`: it holds 0 samples; pass the data fit() trained on, e.g. x_train"
            )
        data = Data(
            _numpy(x),
            _numpy(y),
            n,
            bounds(n, batch_size),
            sample_weight=None
            if sample_weight is None
            else np.asarray(sample_weight, dtype="float64").reshape(n),
        )
    if class_weight is not None:
        data.class_weights = class_weights(data.y, class_weight)
    return data


def labels(y) -> np.ndarray:
    """The class index of each sample, as ``fit(class_weight=...)`` reads it."""
    leaves = keras.tree.flatten(y)
    if len(leaves) != 1:
        raise ValueError(
            "`class_weight` is supported for models with one output only, as in fit(); "
            "pass per-sample weights as `sample_weight` instead"
        )
    y = np.asarray(leaves[0])
    if y.ndim > 1 and y.shape[-1] > 1:
        return y.reshape(len(y), -1).argmax(axis=1)
    return np.round(y.reshape(len(y))).astype("int64")


def class_weights(y, class_weight) -> np.ndarray:
    """The weight ``fit()`` gives each sample for ``class_weight``.

    Example:
        >>> class_weights(np.array([0, 1, 1]), {0: 1.0, 1: 10.0}).tolist()
        [1.0, 10.0, 10.0]
    """
    if not isinstance(class_weight, dict) or not class_weight:
        raise ValueError(
            f"invalid `class_weight`: {class_weight!r}; expected the dict passed to fit(), "
            "e.g. {0: 1, 1: 10}"
        )
    classes = labels(y)
    missing = sorted(set(classes.tolist()) - {int(k) for k in class_weight})
    if missing:
        raise ValueError(
            f"invalid `class_weight`: {class_weight!r} has no weight for class {missing[0]}; "
            "pass the dict given to fit(), with a weight for every class"
        )
    table = {int(k): float(v) for k, v in class_weight.items()}
    return np.array([table[c] for c in classes.tolist()], dtype="float64")


def check_inputs(model, x, name: str = "x") -> None:
    """Raise a clear error when ``x`` does not fit the model's inputs (rank or fixed sizes)."""
    try:
        expected = [tuple(t.shape) for t in model.inputs]
    except (AttributeError, ValueError, TypeError):
        return  # a subclassed model declares no inputs: its first call will tell
    given = [tuple(np.shape(a)) for a in keras.tree.flatten(x)]
    wanted = [(None, *s[1:]) for s in expected]
    ok = len(given) == len(expected) and all(
        len(g) == len(e) and all(w is None or w == d for w, d in zip(e[1:], g[1:]))
        for g, e in zip(given, expected)
    )
    if not ok:
        shown = given[0] if len(given) == 1 else given
        want = wanted[0] if len(wanted) == 1 else wanted
        raise ValueError(
            f"invalid `{name}`: arrays of shape {shown}; model {model.name!r} takes inputs of "
            f"shape {want} (None: any size); pass the data the model was trained on"
        )


def strided_chunks(n: int, count: int = 10) -> list[slice]:
    """``count`` interleaved subsets of ``range(n)`` (sample i goes to subset i % count).

    Interleaving spreads sorted data (all of one class first) over every
    subset, so their spread estimates the sampling error honestly.
    """
    count = max(1, min(count, n))
    return [slice(k, None, count) for k in range(count)]


def big_bounds(n: int, batch_size: int, target: int = 512) -> list[tuple[int, int]]:
    """Batches of about ``target`` rows (a multiple of ``batch_size``): fewer calls, same outputs."""
    size = max(batch_size, batch_size * math.ceil(target / batch_size))
    return bounds(n, size)
