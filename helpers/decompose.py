"""Split the gap between ``fit()``'s logged numbers and ``evaluate()`` into causes.

Introduced in ``notebooks/00_start_here.ipynb`` ("bring your own model"). The
gap is the kit's (:mod:`helpers.gap`): what ``fit()`` logged minus what
``evaluate()`` says. For every compiled metric and the loss, with L the value
``fit()`` logged for the last epoch, T the end-of-epoch value with every layer
in training mode, I the end-of-epoch value in inference mode (what
``evaluate()`` returns) and v(S) the value with only the families in S in
training mode::

    L - I  =  (L - T)          drift: the weights moving during the epoch
            + (T - I)          the layer families, split by `method`:

* ``method="alone"``: each family f gets v({f}) - I (switched on alone from
  inference mode) and an ``interaction`` part takes the remainder
  T - I - sum_f (v({f}) - I). The parts sum to the gap *by construction*: the
  interaction is whatever is left.
* ``method="shapley"``: each family gets its Shapley value over all subsets
  of the families present (:mod:`helpers.shapley`), the mean of what it adds
  over every order of switching them on. These parts sum to T - I with no
  interaction part and do not depend on any order.

**Why drift is measured in training mode.** Drift compares the logged value
with the end-of-epoch weights *in the mode fit() used*, so it holds only
what changed between the two measurements of the same kind -- the weights
moving, plus that epoch's own dropout masks and batches against the ones
measured now -- and the family parts explain T - I entirely at the final
weights. The other order (drift in inference mode) would need the epoch's
intermediate weights run in inference mode, which no longer exist after
``fit()``. The data is cut into batches once (:func:`helpers.modes.make_batches`)
and every mode measures those batches (:func:`helpers.modes.evaluate_batches`,
what ``evaluate_in_mode`` runs), which restores the model bit for bit.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping

import numpy as np

from helpers import checks, shapley
from helpers.gap_decomposition import METHODS, GapDecomposition, subset_name
from helpers.modes import FAMILIES, evaluate_batches, families_present, make_batches


def _logged_values(probe, history) -> tuple[dict[str, float], dict | None]:
    """The last epoch's logged values and fit()'s params, from a probe or a history."""
    if (probe is None) == (history is None):
        raise ValueError(
            "pass exactly one of `probe=` (a GapProbe attached to fit()) or "
            "`history=` (what fit() returned, its .history dict, or a logs dict)"
        )
    if probe is not None:
        rows = [r for r in getattr(probe, "rows", ()) if r["source"] == "fit"]
        if not rows:
            raise ValueError(
                f"`probe` {probe!r} has recorded no fit() values; attach it with "
                "`model.fit(..., callbacks=[probe])` before decomposing"
            )
        last = max(r["epoch"] for r in rows)
        return {r["metric"]: r["value"] for r in rows if r["epoch"] == last}, probe.params
    params = getattr(history, "params", None)
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise ValueError(
            f"invalid `history`: {history!r}; expected the History returned by "
            "fit(), its .history dict, or a logs dict such as {'loss': 0.3}"
        )
    values = {}
    for key, value in logs.items():
        if np.ndim(value):  # a list per epoch, as in History.history: take the last epoch
            value = np.ravel(value)[-1] if np.size(value) else math.nan
        if not key.startswith("val_"):
            values[key] = float(value)
    return values, params


def _choose_metrics(metrics, measured_keys, logged, origin) -> list[str]:
    available = [k for k in measured_keys if k in logged]
    if metrics is None:
        if not available:
            raise ValueError(
                f"the {origin} logged none of the model's metrics {sorted(measured_keys)}; "
                f"it logged {sorted(logged)}"
            )
        return sorted(available, key=lambda k: (k != "loss", list(measured_keys).index(k)))
    if isinstance(metrics, str):
        raise ValueError(f"invalid `metrics`: {metrics!r}; pass a list such as [{metrics!r}]")
    for m in metrics:
        if m not in measured_keys:
            raise ValueError(
                f"metric {m!r} does not exist for this model; available keys: "
                f"{sorted(measured_keys)}"
            )
        if m not in logged:
            raise ValueError(
                f"the {origin} has no value for metric {m!r}; it logged {sorted(logged)}"
            )
    return list(metrics)


def decompose_gap(
    model,
    x=None,
    y=None,
    sample_weight=None,
    *,
    probe=None,
    history=None,
    batch_size: int | None = None,
    metrics=None,
    method: str = "alone",
) -> GapDecomposition:
    """Split ``fit()``'s last logged values minus ``evaluate()``'s into causes.

    Call it right after ``fit()``, on the training data, with either the
    :class:`~helpers.GapProbe` that was attached to ``fit()`` or the history
    it returned. The end-of-epoch values are measured now, one forward pass
    per set of layer families in training mode; families the model lacks
    cost nothing and their parts are exactly 0. One draw of the dropout
    masks is used, the same on every call. The model is not changed:
    weights, BatchNorm statistics and seed states are restored bit for bit.

    Passes: 1 without training-mode layers, 2 with one family. With two
    families both methods cost 4 (inference, training, each alone: the four
    subsets). With three, ``"alone"`` costs 5 and ``"shapley"`` 8 (every
    subset). The drift part is "logged minus end-of-epoch training mode"
    (see the module's docstring for why that reference).

    Args:
        model: A compiled Keras model (Sequential, Functional, nested).
        x: The training inputs. Defaults to the probe's ``x``.
        y: The training targets. Defaults to the probe's ``y``.
        sample_weight: Sample weights as passed to ``fit()``. Defaults to
            the probe's, or None.
        probe: A :class:`~helpers.GapProbe` that went through ``fit()``.
        history: What ``fit()`` returned, its ``.history`` dict, or a logs
            dict from a callback. Pass this or ``probe``, not both.
        batch_size: The batch size of ``fit()`` (BatchNormalization's batch
            statistics depend on it). Defaults to the probe's, else 32.
        metrics: Which metrics, e.g. ``["loss"]``. Defaults to every metric
            both logged and compiled.
        method: ``"alone"`` (each family switched on alone from inference
            mode, plus an interaction remainder) or ``"shapley"`` (each
            family's Shapley value, no interaction). Defaults to ``"alone"``.

    Returns:
        A :class:`~helpers.gap_decomposition.GapDecomposition`.

    Raises:
        ValueError: for an uncompiled model, missing or mismatched data, a
            metric that does not exist or was not logged, a bad batch size
            or method.

    Example:
        >>> history = model.fit(x, y, batch_size=32, epochs=5)  # doctest: +SKIP
        >>> decompose_gap(model, x, y, history=history, method="shapley").dominant  # doctest: +SKIP
    """
    checks.compiled(model, "decompose_gap()")
    method = checks.choice("method", method, METHODS)
    logged, params = _logged_values(probe, history)
    origin = "probe" if probe is not None else "history"
    if probe is not None:
        if probe.model is not model:
            raise ValueError(
                f"`probe` was attached to model {getattr(probe.model, 'name', None)!r}, "
                f"not to {model.name!r}; pass the model it measured"
            )
        x = probe.x if x is None else x
        y = probe.y if y is None else y
        sample_weight = probe.sample_weight if sample_weight is None else sample_weight
        batch_size = probe.batch_size if batch_size is None else batch_size
    if x is None or y is None:
        raise ValueError(
            "`x` and `y` are required with `history=`: pass the training data "
            "given to fit(), e.g. decompose_gap(model, x_train, y_train, history=h)"
        )
    batch_size = 32 if batch_size is None else batch_size
    batch_size = checks.positive_int(
        "batch_size", batch_size, example="the batch size passed to fit()"
    )
    n = checks.samples(x, y, sample_weight)
    steps = (params or {}).get("steps")
    if steps and steps != math.ceil(n / batch_size):
        warnings.warn(
            f"fit() ran {steps} steps per epoch but {n} samples in batches of "
            f"{batch_size} make {math.ceil(n / batch_size)}: pass the training data and "
            "fit()'s `batch_size=` (the parts assume both)",
            stacklevel=2,
        )

    batches = make_batches(
        x, y, sample_weight, batch_size=batch_size
    )  # cut once, measured in every mode
    inference = evaluate_batches(model, batches, mode="inference")
    chosen = _choose_metrics(metrics, list(inference), logged, origin)
    same_data = (
        probe is not None
        and x is probe.x
        and y is probe.y
        and sample_weight is probe.sample_weight
        and getattr(probe, "subset", None) is None
    )  # a probe on a subset measured other data
    if same_data:
        _warn_if_changed(probe, inference, chosen)  # comparable only on the probe's own data
    families = families_present(model)
    present = [f for f in FAMILIES if f in families]
    measured_sets = {frozenset(): inference}
    if present:  # without such layers training mode *is* inference mode: no pass needed
        measured_sets[frozenset(present)] = evaluate_batches(model, batches, mode="training")
    for s in shapley.coalitions(present):
        if s not in measured_sets and (method == "shapley" or len(s) == 1):
            measured_sets[s] = evaluate_batches(model, batches, mode=set(s))
    for s, result in measured_sets.items():
        missing = [m for m in chosen if m not in result]
        if missing:  # Keras names metrics differently in its own evaluate() loop
            raise ValueError(
                f"metric {missing[0]!r} is reported by evaluate() but not by the "
                f"training-mode pass ({sorted(result)}); pass `metrics=` without it"
            )

    measured, parts = {}, {}
    for m in chosen:
        values = {s: result[m] for s, result in measured_sets.items()}
        L, T, I = logged[m], values[frozenset(present)], inference[m]
        measured[m] = {
            "fit": L,
            "training": T,
            "inference": I,
            **{
                subset_name(s): v
                for s, v in values.items()
                if len(s) == 1 or 0 < len(s) < len(present)
            },
        }
        if method == "shapley":
            split = shapley.shapley_values(values, present)
        else:
            split = shapley.switched_on_alone(values, present)
        split = {f: split.get(f, 0.0) for f in FAMILIES if f != "other" or f in present}
        parts[m] = {"drift": L - T, **split}
        if method == "alone":
            parts[m]["interaction"] = (
                (T - I) - math.fsum(split.values()) if len(present) > 1 else 0.0
            )
    return GapDecomposition(
        measured, parts, families, len(measured_sets), batch_size, method=method
    )


def _warn_if_changed(probe, inference, metrics) -> None:
    """Warn when the model is no longer at the end of the probe's last epoch."""
    rows = [r for r in probe.rows if r["source"] == "inference" and r["metric"] in metrics]
    if not rows:
        return
    last = max(r["epoch"] for r in rows)
    for r in rows:
        now = inference[r["metric"]]
        if r["epoch"] == last and not math.isclose(now, r["value"], rel_tol=1e-5, abs_tol=1e-6):
            warnings.warn(
                f"the model has changed since the probe's last epoch ({r['metric']} in inference "
                f"mode was {r['value']:.6f}, now {now:.6f}), e.g. by restore_best_weights or "
                "load_weights; the drift part includes that change",
                stacklevel=3,
            )
            return


def measure_cost(n_train: int = 3000, *, batch_size: int = 64, repeats: int = 2) -> dict:
    """Time :func:`decompose_gap` against one training epoch of the MNIST CNN.

    Trains :func:`helpers.models.build_mnist_cnn` on ``n_train`` shipped
    digits for one warm-up epoch (TensorFlow traces its graphs then), then
    times ``repeats`` further single epochs and ``repeats`` decompositions
    and keeps the fastest of each. Called by ``tools/bench.py``.

    Args:
        n_train: Training digits (up to 4,500 shipped). Defaults to 3000.
        batch_size: fit()'s batch size. Defaults to 64.
        repeats: Timed repetitions of each. Defaults to 2.

    Returns:
        A dict with ``epoch_s``, ``decompose_s``, ``ratio`` (decomposition
        seconds per epoch second), ``first_decompose_s`` (including one-off
        tracing), ``passes`` and the settings.
    """
    from helpers.data import load_mnist
    from helpers.models import build_mnist_cnn, keras

    (x, y), _ = load_mnist(n_train=n_train)
    x, y = x[..., None].astype("float32") / 255, keras.utils.to_categorical(y, 10)
    model = build_mnist_cnn()
    history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    epoch_s, decompose_s, first = [], [], None
    for _ in range(repeats):
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        epoch_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = decompose_gap(model, x, y, history=history, batch_size=batch_size)
        decompose_s.append(time.perf_counter() - start)
        first = decompose_s[0] if first is None else first
    return {
        "model": model.name,
        "n_train": n_train,
        "batch_size": batch_size,
        "passes": result.passes,
        "epoch_s": min(epoch_s),
        "decompose_s": min(decompose_s),
        "first_decompose_s": first,
        "ratio": min(decompose_s) / min(epoch_s),
    }
