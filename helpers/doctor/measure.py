"""Forward passes and scores: the doctor's two measuring instruments.

Introduced in ``notebooks/06_the_doctor.ipynb``. :func:`forward` runs the
model over the data batch by batch, with chosen layers in training mode, and
keeps the outputs; :func:`score` turns outputs into the numbers
``evaluate()`` reports, with the model's own ``compute_loss`` and
``compute_metrics``. One pass serves any number of scores (weighted,
unweighted, against other labels), so the cost of a diagnosis is its
forward passes.

A score also holds the same numbers on ten interleaved subsets of the
samples; their spread gives the standard error of each number (how much it
would move on other samples like these) and, for a difference of two scores
on the same samples, the noise of that difference. The doctor compares each
cause with these noise floors.

Both work inside :func:`helpers.doctor.state.unchanged` (the caller's
block): they reset and update the compiled metrics and, in training mode,
BatchNormalization statistics and seed generators, all of which the block
puts back. Only Keras's API is used (``keras.ops``, ``model.losses``,
``compute_loss``, ``compute_metrics``), so they serve every backend.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

import keras
import numpy as np

from helpers.doctor.data import concat, strided_chunks, take, take_index
from helpers.doctor.layers import Moments, training_mode

CHUNKS = 10


def penalty(model) -> float:
    """The regularisation penalty the loss holds now: the sum of ``model.losses``."""
    return math.fsum(
        float(np.sum(keras.ops.convert_to_numpy(loss), dtype="float64")) for loss in model.losses
    )


@dataclass
class Pass:
    """The outputs of one forward pass and the penalty the loss adds (mean over batches)."""

    outputs: object
    penalty: float
    rows: int


def forward(
    model,
    x,
    bounds,
    *,
    layers=(),
    moments: Moments | None = None,
    batch_size: int | None = None,
    counter: list | None = None,
) -> Pass:
    """Outputs of ``model`` over ``x`` in the batches ``bounds``, ``layers`` in training mode.

    Every other layer runs in inference mode, as in ``predict()``. The
    penalty is read after each batch when the model has any (activity
    regularisers depend on the batch) and averaged as ``evaluate()``
    averages batches, by size. ``batch_size`` makes BatchNormalization
    layers in ``layers`` use the statistics of each group of ``batch_size``
    rows inside larger batches (see :func:`helpers.doctor.layers.training_mode`).
    """
    outputs, penalties, sizes = [], [], []
    with training_mode(layers, moments, batch_size=batch_size):
        for start, stop in bounds:
            out = model(take(x, start, stop), training=False)
            outputs.append(keras.tree.map_structure(keras.ops.convert_to_numpy, out))
            if penalties or (not outputs[1:] and model.losses):
                penalties.append(penalty(model))
            sizes.append(stop - start)
    rows = int(sum(sizes))
    if counter is not None:
        counter.append(rows)
    mean_penalty = math.fsum(p * s for p, s in zip(penalties, sizes)) / rows if penalties else 0.0
    return Pass(concat(outputs) if len(outputs) > 1 else outputs[0], mean_penalty, rows)


@dataclass
class Score:
    """The numbers ``evaluate()`` would report, and what their noise is estimated from.

    Attributes:
        values: ``{metric: value}``, ``"loss"`` first.
        chunks: ``{metric: array}`` of the values on each interleaved subset
            (None when not asked for).
        samples: ``{"loss": array}``: each sample's contribution to the loss
            (its loss times its weight), when the compiled loss can give it.
    """

    values: dict
    chunks: dict | None = field(default=None)
    samples: dict | None = field(default=None)

    def se(self, metric: str) -> float:
        """The standard error of ``values[metric]``: how much it would move on other samples."""
        if self.samples and metric in self.samples:
            return _se(self.samples[metric])
        return _se(self.chunks[metric]) if self.chunks else math.nan

    def diff_se(self, other: Score, metric: str) -> float:
        """The noise of ``self − other`` measured on the same samples (paired)."""
        if self.samples and other.samples and metric in self.samples and metric in other.samples:
            return _se(self.samples[metric] - other.samples[metric])
        if not self.chunks or not other.chunks:
            return math.nan
        return _se(self.chunks[metric] - other.chunks[metric])


def mean_score(scores: list[Score]) -> Score:
    """The average of scores of several draws of the same random layers."""
    if len(scores) == 1:
        return scores[0]

    def average(dicts):
        if any(d is None for d in dicts):
            return None
        return {k: sum(d[k] for d in dicts) / len(dicts) for k in dicts[0]}

    return Score(
        average([s.values for s in scores]),
        average([s.chunks for s in scores]),
        average([s.samples for s in scores]),
    )


def _se(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return math.nan
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


def _takes_training(model) -> bool:
    try:
        return "training" in inspect.signature(model.compute_loss).parameters
    except (TypeError, ValueError):
        return False


def _floats(logs) -> dict:
    out = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            out.update(_floats(value))
        else:
            out[key] = float(np.asarray(keras.ops.convert_to_numpy(value)))
    return out


def _evaluate(model, y, y_pred, weights, mean_penalty: float) -> dict:
    for metric in model.metrics:
        metric.reset_state()
    kwargs = {"training": False} if _takes_training(model) else {}
    total = model.compute_loss(x=None, y=y, y_pred=y_pred, sample_weight=weights, **kwargs)
    data_loss = float(np.asarray(keras.ops.convert_to_numpy(total), dtype="float64")) - penalty(
        model
    )
    logs = _floats(model.compute_metrics(None, y, y_pred, sample_weight=weights))
    logs.pop("loss", None)  # the loss tracker: we hold the loss ourselves
    return {"loss": data_loss + mean_penalty, **logs}


def per_sample_loss(model, y, y_pred, weights, data_loss: float) -> np.ndarray | None:
    """Each sample's share of the data loss (mean = the loss), or None when it cannot be had.

    Works for one compiled loss given as a name, a ``keras.losses.Loss`` or
    a function; the result is checked against ``compute_loss``'s value.
    """
    loss = getattr(model, "loss", None)
    try:
        if isinstance(loss, str):
            fn = keras.losses.get(loss)
        elif isinstance(loss, keras.losses.Loss):
            fn = loss.call
        elif callable(loss):
            fn = loss
        else:
            return None
        values = np.asarray(keras.ops.convert_to_numpy(fn(y, y_pred)), dtype="float64")
    except Exception:  # an unusual loss: fall back to the subsets
        return None
    n = len(keras.tree.flatten(y)[0])
    if values.ndim == 0 or len(values) != n:
        return None
    values = values.reshape(n, -1).mean(axis=1)
    if weights is not None:
        values = values * np.asarray(weights, dtype="float64")
    if not math.isclose(float(values.mean()), data_loss, rel_tol=1e-3, abs_tol=1e-5):
        return None  # another reduction than Keras's default: the subsets will do
    return values


def score(model, y, run: Pass, weights=None, *, chunks: int = CHUNKS) -> Score:
    """The loss and every compiled metric of the outputs ``run`` against ``y``.

    The loss is the data loss plus the penalty, as ``evaluate()`` reports
    it; with ``weights`` both loss and metrics are weighted as ``fit()``
    weights them. The whole data is scored at once -- for the mean-type
    losses and metrics Keras uses this equals ``evaluate()``'s batch-by-batch
    accumulation up to rounding.
    """
    if weights is not None:
        weights = np.asarray(weights, dtype=keras.config.floatx())
    values = _evaluate(model, y, run.outputs, weights, run.penalty)
    samples = None
    if chunks:
        losses = per_sample_loss(model, y, run.outputs, weights, values["loss"] - run.penalty)
        samples = None if losses is None else {"loss": losses + run.penalty}
    found = None
    if chunks:
        found = {key: [] for key in values}
        for index in strided_chunks(run.rows, chunks):
            part = _evaluate(
                model,
                take_index(y, index),
                take_index(run.outputs, index),
                None if weights is None else weights[index],
                run.penalty,
            )
            for key in found:
                found[key].append(part.get(key, math.nan))
        found = {key: np.array(v, dtype="float64") for key, v in found.items()}
    return Score(values, found, samples)
