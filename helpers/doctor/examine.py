"""``diagnose()``: one call on a trained model names every cause of its gap.

Introduced in ``notebooks/06_the_doctor.ipynb``. The gap is the kit's
(:mod:`helpers.gap`): what ``fit()`` logged minus what ``evaluate()`` says on
the same data. With ``I`` the inference-mode value (``evaluate()``), ``W``
the same outputs weighted as ``fit()`` weighted them, ``F_f`` the value with
only the layers of family ``f`` in training mode, ``T`` with every family in
training mode (weighted as in ``fit()``) and ``L`` the logged value::

    L − I = (W − I)                         class_weight, sample_weight
          + Σ_f (F_f − I)                   dropout, batchnorm, augmentation
          + (T − I) − (W − I) − Σ_f (F_f − I)    interaction
          + (L − T)                         drift (and unexplained, below)

so the parts sum to the gap by construction. Drift is the logged value
against the end-of-epoch weights in the mode ``fit()`` ran (as in
:func:`helpers.decompose_gap`). When the history has two epochs or more, a
drift larger than twice the last epoch's change of the logged value (plus
its noise floor) is more than moving weights explain; that excess is
reported as ``unexplained`` (``fit()`` saw other data, other weights, a
custom step).

Four more causes are separate comparisons, each with its own pair of
numbers (see :data:`helpers.doctor.CAUSES`): the regularisation penalty
inside the loss, a dataset that reshuffles between passes, predictions that
depend on the batch size, and generalisation to ``validation_data``.

**When a cause counts.** Every size is compared with a noise floor; the
gap is about *this* data, so the noise is the randomness of the measurement
itself (masks, which samples share a batch). Exact comparisons (weights,
penalty, reshuffling, batch size) need only exceed float rounding: an absent
cause is exactly zero there. Random layers (Dropout, noise, augmentation)
must exceed ``Z = 3`` standard errors of their masks' noise, estimated from
several draws on the same samples (at least two, enough for about 2,048
rows). BatchNormalization over one batch is exact (``fit()`` saw those very
statistics); over several, which samples share a batch is chance, so its
size must exceed ``Z`` paired standard errors. Generalisation must exceed
``Z`` standard errors of two independent means. Drift is in every training,
so beyond ``Z`` times the noise of the training-mode value and of
``fit()``'s own draw, it must exceed ``MARGIN = 2`` standard errors of the
metric on these samples -- the precision with which the logged number can
speak about the model at all.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from helpers import checks
from helpers.doctor import history as history_module
from helpers.doctor.data import big_bounds, bounds, check_inputs, is_dataset, prepare, take
from helpers.doctor.diagnosis import Diagnosis, Finding
from helpers.doctor.layers import FAMILIES, Moments, by_family
from helpers.doctor.measure import Pass, forward, score
from helpers.doctor.state import unchanged

Z = 3.0
MARGIN = 2.0
TREND = 2.0
DRAWS = 2  # draws of random layers' masks per family (their noise averages down)
OUTPUT_RTOL = 1e-4  # outputs differing by less are equal (float32 rounding across batch sizes)


def _rounding(*values) -> float:
    return 1e-6 + 1e-5 * max((abs(v) for v in values if not math.isnan(v)), default=0.0)


def _finding(cause, sizes, floors, evidence, *, status=None, **details) -> Finding:
    if status is None:
        above = any(abs(sizes[m]) > floors[m] for m in sizes if not math.isnan(sizes[m]))
        status = "present" if above else "absent"
    finding = Finding(cause, status, dict(sizes), dict(floors), evidence)
    finding.details = details
    return finding


def _unmeasured(cause, metrics, status, evidence) -> Finding:
    return _finding(
        cause,
        dict.fromkeys(metrics, math.nan),
        dict.fromkeys(metrics, math.nan),
        evidence,
        status=status,
    )


def _max_diff(a, b) -> tuple[float, float]:
    diff = scale = 0.0
    for u, v in zip(keras.tree.flatten(a), keras.tree.flatten(b)):
        u, v = np.asarray(u, dtype="float64"), np.asarray(v, dtype="float64")
        diff = max(diff, float(np.max(np.abs(u - v))) if u.size else 0.0)
        scale = max(scale, float(np.max(np.abs(u))) if u.size else 0.0)
    return diff, scale


def _lead(metrics) -> str:
    return metrics[0]


def diagnose(
    model,
    x,
    y=None,
    *,
    history=None,
    batch_size: int = 32,
    class_weight=None,
    sample_weight=None,
    validation_data=None,
) -> Diagnosis:
    """Name every cause of the gap between ``fit()``'s numbers and ``evaluate()``'s.

    Call it after ``fit()``, on the training data, with what ``fit()`` was
    given. For every cause in :data:`helpers.doctor.CAUSES` it measures the
    size in the loss and every compiled metric (the kit's sign: the number
    as ``fit()`` -- or the misleading computation -- gets it, minus the
    number ``evaluate()`` gives), compares it with its noise floor, and says
    what it measured and what fixes it. Causes it cannot measure without
    ``history`` or ``validation_data`` say so in the report; it never guesses.

    Nothing about the model changes: weights, optimizer state, compiled
    metrics' state, BatchNormalization statistics and seed generators are
    put back bit for bit (Keras's API only: ``model.variables``,
    ``keras.ops``), so it may run between epochs without resetting what
    ``fit()`` accumulates. Cost, in forward passes over ``x``: one in inference
    mode; per family of random layers, one per draw of their masks (two from
    1,024 samples up, more for smaller data, where they are cheap); one for
    BatchNormalization and one to recalibrate it; one more when two families
    or more are present; one over the validation data.
    ``Diagnosis.passes`` counts them.

    Args:
        model: A compiled Keras model, trained.
        x: The training inputs given to ``fit()``, or a dataset of ``(x, y)``
            batches (``tf.data.Dataset`` where TensorFlow is installed).
        y: The training targets; None when ``x`` is a dataset.
        history: What ``fit()`` returned, its ``.history`` dict, or that dict
            read from JSON. Needed for the gap itself and for drift.
            Defaults to None.
        batch_size: ``fit()``'s batch size (BatchNormalization's batch
            statistics depend on it). Defaults to 32, like ``fit()``.
        class_weight: ``fit()``'s ``class_weight``. Defaults to None.
        sample_weight: ``fit()``'s ``sample_weight``. Defaults to None.
        validation_data: ``(x_val, y_val)`` or a dataset, for
            generalisation. Defaults to None.

    Returns:
        A :class:`~helpers.doctor.Diagnosis`.

    Raises:
        ValueError: for an uncompiled model, empty data, ``x`` and ``y`` of
            different lengths, inputs the model does not take, a history of
            another model or with other metrics, a bad batch size or
            class_weight.

    Example:
        >>> history = model.fit(x, y, epochs=3)  # doctest: +SKIP
        >>> diagnose(model, x, y, history=history).present  # doctest: +SKIP
        ['dropout', 'drift']
    """
    checks.compiled(model, "diagnose()")
    batch_size = checks.positive_int(
        "batch_size", batch_size, example="the batch size passed to fit()"
    )
    data = prepare(
        x, y, sample_weight=sample_weight, class_weight=class_weight, batch_size=batch_size
    )
    check_inputs(model, data.x)
    logged = None if history is None else history_module.read(history, model)
    val = None
    if validation_data is not None:
        if is_dataset(validation_data):
            val = prepare(validation_data, batch_size=batch_size, name="validation_data")
        elif isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            val = prepare(
                validation_data[0],
                validation_data[1],
                sample_weight=validation_data[2] if len(validation_data) == 3 else None,
                batch_size=batch_size,
                name="validation_data",
            )
        else:
            raise ValueError(
                f"invalid `validation_data`: {type(validation_data).__name__}; expected "
                "(x_val, y_val), (x_val, y_val, sample_weight) or a dataset, as fit() takes it"
            )
        check_inputs(model, val.x, "validation_data")

    families = by_family(model)
    bn_layers = [layer for layer in families.get("batchnorm", []) if layer.trainable]
    moving = {
        id(layer): (
            keras.ops.convert_to_numpy(layer.moving_mean).astype("float64"),
            keras.ops.convert_to_numpy(layer.moving_variance).astype("float64"),
        )
        for layer in bn_layers
    }
    rows: list[int] = []
    with unchanged(model):
        m = data.n if data.n < 2 * batch_size else 2 * batch_size
        sample_x = take(data.x, 0, m)
        dependent, out_diff, out_scale = False, 0.0, 0.0
        if m >= 2:
            one = forward(model, sample_x, [(0, m)], counter=rows)
            two = forward(model, sample_x, [(0, m // 2), (m // 2, m)], counter=rows)
            out_diff, out_scale = _max_diff(one.outputs, two.outputs)
            dependent = out_diff > OUTPUT_RTOL * (1.0 + out_scale)
        fast = data.bounds if dependent else big_bounds(data.n, batch_size)
        # BatchNorm in training mode needs fit()'s batches: groups of batch_size inside big
        # calls when the batches are regular (arrays), the dataset's own batches otherwise.
        regular = data.source == "arrays" and not dependent
        bn_bounds, ghost = (fast, batch_size) if regular else (data.bounds, None)

        run_i = forward(model, data.x, fast, counter=rows)
        inference = score(model, data.y, run_i)
        metrics = list(inference.values)
        if logged is not None:
            history_module.check_metrics(logged, metrics, model.name)
        evaluated = dict(inference.values)
        lead = _lead(metrics)
        findings = {}

        # -- weights ---------------------------------------------------------------
        fit_w = data.fit_weights
        weighted = score(model, data.y, run_i, fit_w) if fit_w is not None else inference
        sw_only = (
            score(model, data.y, run_i, data.sample_weight, chunks=0)
            if data.sample_weight is not None and data.class_weights is not None
            else None
        )
        sizes_sw = sizes_cw = None
        if data.sample_weight is not None:
            top = sw_only if sw_only is not None else weighted
            sizes_sw = {k: top.values[k] - evaluated[k] for k in metrics}
        if data.class_weights is not None:
            base = sw_only.values if sw_only is not None else evaluated
            sizes_cw = {k: weighted.values[k] - base[k] for k in metrics}
        floors = {k: _rounding(evaluated[k], weighted.values[k]) for k in metrics}
        weighted_lead = (
            f"; {lead} weighted {weighted.values[lead]:.4f} against {evaluated[lead]:.4f} "
            "unweighted"
        )
        for name, sizes, given, extra in (
            ("class_weight", sizes_cw, data.class_weights, weighted_lead),
            ("sample_weight", sizes_sw, data.sample_weight, ""),
        ):
            if sizes is None:
                sizes = dict.fromkeys(metrics, 0.0)
                detail = f"no {name} given (pass fit()'s {name}= to measure it)"
            else:
                detail = f"{name.split('_')[0]} weights {given.min():.3g} to {given.max():.3g} "
                detail += f"(mean {given.mean():.3g}){extra}"
            findings[name] = _finding(name, sizes, floors, detail)

        # -- training-mode layers ----------------------------------------------------
        runs: dict[str, Pass] = {}
        drawn: dict[str, int] = {}  # family -> number of draws of its masks
        noise: dict[str, dict] = {}  # family -> metric -> standard error of its size
        scores = {}
        moments = Moments()
        for fam in FAMILIES:
            layers = families.get(fam)
            if not layers:
                findings[fam] = _finding(
                    fam,
                    dict.fromkeys(metrics, 0.0),
                    dict.fromkeys(metrics, 0.0),
                    _NONE[fam],
                )
                continue
            if fam == "batchnorm":  # the batch's statistics: fit()'s batches, one pass
                runs[fam] = forward(
                    model,
                    data.x,
                    bn_bounds,
                    layers=layers,
                    moments=moments,
                    batch_size=ghost,
                    counter=rows,
                )
                scores[fam] = score(model, data.y, runs[fam])
                # One batch: fit() saw exactly these statistics, nothing random is left. Several:
                # which samples share a batch is chance, measured by the paired spread.
                noise[fam] = {
                    k: 0.0 if len(data.bounds) == 1 else _nan0(scores[fam].diff_se(inference, k))
                    for k in metrics
                }
            else:  # random masks act per sample: any batches; several draws, averaged
                draws = _draws(data.n)
                tiled_x, tiled_y = (_tile(a, draws) for a in (data.x, data.y))
                runs[fam] = forward(
                    model,
                    tiled_x,
                    big_bounds(data.n * draws, batch_size),
                    layers=layers,
                    counter=rows,
                )
                scores[fam] = score(model, tiled_y, runs[fam])
                noise[fam] = _mask_noise(model, data, runs[fam], scores[fam], draws, metrics)
                drawn[fam] = draws
            sizes = {k: scores[fam].values[k] - evaluated[k] for k in metrics}
            floors = {k: max(_rounding(evaluated[k]), Z * noise[fam][k]) for k in metrics}
            names = ", ".join(layer.name for layer in layers[:3]) + (
                f" and {len(layers) - 3} more" if len(layers) > 3 else ""
            )
            evidence = (
                f"{len(layers)} layer(s) ({names}) in training mode: {lead} "
                f"{scores[fam].values[lead]:.4f} against {evaluated[lead]:.4f} in inference mode "
                f"(noise ±{noise[fam][lead]:.4f})"
            )
            findings[fam] = _finding(
                fam, sizes, floors, evidence, draws=drawn.get(fam, 1), noise=noise[fam]
            )
        if "batchnorm" in families:
            _batchnorm_lag(
                model,
                findings["batchnorm"],
                bn_layers,
                moving,
                moments,
                data,
                fast,
                inference,
                metrics,
                rows,
            )

        if len(runs) >= 2:
            run_t = forward(
                model,
                data.x,
                bn_bounds,
                layers=[layer for fam in runs for layer in families[fam]],
                batch_size=ghost,
                counter=rows,
            )
            training = score(model, data.y, run_t)
        elif runs:
            run_t, training = next(iter(runs.values())), next(iter(scores.values()))
        else:
            run_t, training = run_i, inference
        # the noise of T (one draw of each family, or the two draws' mean for one random family)
        # and of fit()'s own logged value (one draw of masks and batches)
        one_draw = {
            k: math.sqrt(
                sum(
                    (noise[f][k] * (1 if f == "batchnorm" else math.sqrt(DRAWS))) ** 2
                    for f in noise
                )
            )
            for k in metrics
        }
        t_noise = next(iter(noise.values())) if len(runs) == 1 else one_draw
        if fit_w is None:
            training_w = training
        elif len(runs) == 1 and drawn:  # one random family: its draws, weighted
            draws = next(iter(drawn.values()))
            training_w = score(model, _tile(data.y, draws), run_t, _tile(fit_w, draws), chunks=0)
            scale = {k: abs(weighted.values[k]) / max(abs(evaluated[k]), 1e-12) for k in metrics}
            t_noise = {k: t_noise[k] * scale[k] for k in metrics}
            one_draw = {k: one_draw[k] * scale[k] for k in metrics}
        else:
            training_w = score(model, data.y, run_t, fit_w)
            if (
                len(runs) > 1 or "batchnorm" in runs
            ):  # weights scale the noise as they scale the loss
                scale = {
                    k: abs(weighted.values[k]) / max(abs(evaluated[k]), 1e-12) for k in metrics
                }
                t_noise = {k: t_noise[k] * scale[k] for k in metrics}
                one_draw = {k: one_draw[k] * scale[k] for k in metrics}
        chain = ["class_weight", "sample_weight", *FAMILIES]
        interaction = {
            k: (training_w.values[k] - evaluated[k])
            - math.fsum(findings[c].sizes[k] for c in chain)
            for k in metrics
        }
        floors = {
            k: max(
                _rounding(evaluated[k], training_w.values[k]),
                Z * t_noise[k],
            )
            for k in metrics
        }
        findings_interaction = _finding(
            "interaction",
            interaction,
            floors,
            "training mode with fit()'s weights, minus inference, minus the parts above"
            if len(runs) + (fit_w is not None) >= 2
            else "one part or none: nothing to interact (zero by construction)",
        )

        # -- separate comparisons ----------------------------------------------------
        findings["regularization"] = _regularization(model, run_i, evaluated, metrics)
        findings["shuffled_evaluation"] = _shuffled(model, data, run_i, inference, metrics, lead)
        if dependent:
            run_1 = forward(model, sample_x, bounds(m, 1), counter=rows)
            head = Pass(take(run_i.outputs, 0, m), run_i.penalty, m)
            run_1.penalty = run_i.penalty
            in_batches = score(model, take(data.y, 0, m), head, chunks=0).values
            alone = score(model, take(data.y, 0, m), run_1, chunks=0).values
            sizes = {k: in_batches[k] - alone[k] for k in metrics}
            findings["batch_size_dependence"] = _finding(
                "batch_size_dependence",
                sizes,
                dict.fromkeys(metrics, 0.0),
                f"inference outputs for the same {m} samples change with the batch size, by up "
                f"to {out_diff:.3g}; {lead} in batches of {batch_size} "
                f"{in_batches[lead]:.4f}, one at a time {alone[lead]:.4f}",
                status="present",
            )
        else:
            findings["batch_size_dependence"] = _finding(
                "batch_size_dependence",
                dict.fromkeys(metrics, 0.0),
                dict.fromkeys(metrics, 0.0),
                f"the first {m} samples in one batch and in two: inference outputs equal to "
                f"{out_diff:.1e}"
                if m >= 2
                else "one sample: no batch size to compare",
                status="absent",
            )
        if val is None:
            findings["generalization"] = _unmeasured(
                "generalization",
                metrics,
                "needs validation_data",
                "pass validation_data=(x_val, y_val) to compare with held-out data",
            )
        else:
            run_v = forward(
                model,
                val.x,
                val.bounds if dependent else big_bounds(val.n, batch_size),
                counter=rows,
            )
            held = score(model, val.y, run_v, val.sample_weight)
            sizes = {k: evaluated[k] - held.values[k] for k in metrics}
            noise = {k: math.hypot(_nan0(inference.se(k)), _nan0(held.se(k))) for k in metrics}
            floors = {k: max(_rounding(evaluated[k]), Z * noise[k]) for k in metrics}
            findings["generalization"] = _finding(
                "generalization",
                sizes,
                floors,
                f"{lead} {evaluated[lead]:.4f} on x ({data.n} samples), {held.values[lead]:.4f} "
                f"on validation_data ({val.n} samples); noise ±{noise[lead]:.4f}",
            )

    # -- drift and what is left ------------------------------------------------------
    if logged is None:
        findings["drift"] = _unmeasured(
            "drift",
            metrics,
            "needs history",
            "pass history=model.fit(...) to measure the gap itself and drift",
        )
        findings["interaction"] = findings_interaction
        findings["unexplained"] = _unmeasured(
            "unexplained", metrics, "needs history", "the gap is unknown without fit()'s history"
        )
    else:
        last = logged.last
        drift = {k: last[k] - training_w.values[k] for k in metrics}
        floors = {
            k: max(
                _rounding(last[k], training_w.values[k]),
                Z * math.hypot(t_noise[k], one_draw[k]),
                MARGIN * _nan0(weighted.se(k)),
            )
            for k in metrics
        }
        excess = {}
        for k in metrics:
            change = logged.change(k)
            bound = TREND * abs(change) + floors[k]
            excess[k] = (
                0.0
                if math.isnan(change)
                else math.copysign(max(0.0, abs(drift[k]) - bound), drift[k])
            )
        kept = {k: drift[k] - excess[k] for k in metrics}
        evidence = (
            f"fit() logged {lead} {last[lead]:.4f} over its last epoch; the end-of-epoch weights "
            f"in training mode give {training_w.values[lead]:.4f}"
        )
        change = logged.change(lead)
        if not math.isnan(change):
            evidence += f"; the logged value moved {change:+.4f} over the last epoch"
        steps = (logged.params or {}).get("steps")
        if steps and steps != len(data.bounds):
            evidence += (
                f". Note: fit() ran {steps} steps per epoch, these {data.n} samples in batches of "
                f"{batch_size} make {len(data.bounds)}: pass fit()'s data and batch_size"
            )
        findings["drift"] = _finding("drift", kept, floors, evidence)
        findings["drift"].details["logged"] = last
        findings["interaction"] = findings_interaction
        gap = {k: last[k] - evaluated[k] for k in metrics}
        rest = {
            k: gap[k]
            - math.fsum(
                findings[c].sizes[k]
                for c in [*chain, "drift"]
                if not math.isnan(findings[c].sizes[k])
            )
            - interaction[k]
            for k in metrics
        }
        findings["unexplained"] = _finding(
            "unexplained",
            rest,
            floors,
            "the drift is larger than the last epoch's change of the logged value can explain: "
            "fit() saw other data or weights than the ones given here"
            if any(excess.values())
            else "nothing left: drift is measured as the rest (two epochs or more of history also "
            "check it against the logged trend)",
        )
    order = [
        "drift",
        *FAMILIES,
        "class_weight",
        "sample_weight",
        "regularization",
        "shuffled_evaluation",
        "batch_size_dependence",
        "generalization",
    ]
    findings = {c: findings[c] for c in order} | {
        "interaction": findings["interaction"],
        "unexplained": findings["unexplained"],
    }
    passes = sum(rows) / data.n
    return Diagnosis(
        findings, metrics, None if logged is None else logged.last, evaluated, passes, model.name
    )


_NONE = {
    "dropout": "no Dropout or noise layer",
    "batchnorm": "no BatchNormalization layer",
    "augmentation": "no other layer that acts only in training",
}


def _draws(n: int) -> int:
    """Draws of random masks: at least two, and enough for about 2,048 rows (256 at most).

    Small data needs many draws to see an effect through the masks' noise;
    they cost little there, since the whole tiled data is a few calls.
    """
    return min(256, max(DRAWS, math.ceil(2048 / n)))


def _tile(data, times: int):
    """``data`` (a nested structure of arrays, or None) repeated ``times`` along the first axis."""
    if data is None or times == 1:
        return data
    return keras.tree.map_structure(lambda a: np.concatenate([a] * times), data)


def _mask_noise(model, data, run, scored, draws: int, metrics) -> dict:
    """The standard error, from the random masks alone, of the mean over ``draws`` draws.

    The samples are the same in every draw, so their spread does not enter:
    the gap is about this data. For the loss, each sample's variance over the
    draws, ``Σ_i s_i² / (draws · n²)``; for the metrics, the spread of the
    draws' whole-data values over ``√draws``.
    """
    n = data.n
    out = {}
    groups = min(draws, 8)  # the draws in a few groups: a few scores, not one per draw
    edges = np.linspace(0, draws, groups + 1).round().astype(int)
    per_group = [
        score(
            model,
            _tile(data.y, b - a),
            Pass(take(run.outputs, a * n, b * n), run.penalty, n * (b - a)),
            chunks=0,
        )
        for a, b in zip(edges[:-1], edges[1:])
    ]
    sizes = np.diff(edges)
    for k in metrics:
        values = np.array([s.values[k] for s in per_group])
        mean = np.average(values, weights=sizes)
        # each group's mean has variance sigma² / size: pooled, then for all draws together
        sigma2 = np.sum(sizes * (values - mean) ** 2) / (groups - 1)
        out[k] = float(math.sqrt(sigma2 / draws))
    if scored.samples and "loss" in scored.samples:
        losses = scored.samples["loss"].reshape(draws, n)
        out["loss"] = float(math.sqrt(np.sum(np.var(losses, axis=0, ddof=1)) / draws) / n)
    return out


def _nan0(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def _regularization(model, run_i, evaluated, metrics) -> Finding:
    sizes = {k: (run_i.penalty if k == "loss" else 0.0) for k in metrics}
    floors = {k: _rounding(evaluated[k]) for k in metrics}
    count = len(model.losses)
    if not count:
        return _finding("regularization", sizes, floors, "model.losses is empty: no penalty")
    return _finding(
        "regularization",
        sizes,
        floors,
        f"{count} penalt{'y' if count == 1 else 'ies'} in model.losses add {run_i.penalty:.4f}: "
        f"evaluate()'s loss {evaluated['loss']:.4f} = data loss "
        f"{evaluated['loss'] - run_i.penalty:.4f} + penalty",
    )


def _shuffled(model, data, run_i, inference, metrics, lead) -> Finding:
    zero = dict.fromkeys(metrics, 0.0)
    floors = {k: _rounding(inference.values[k]) for k in metrics}
    if data.source != "dataset":
        return _finding("shuffled_evaluation", zero, floors, "x is arrays: one order on every pass")
    if not data.reshuffles or data.other_labels is None:
        return _finding(
            "shuffled_evaluation", zero, floors, "two passes over the dataset yield the same order"
        )
    other = score(model, data.other_labels, run_i, chunks=0).values
    sizes = {k: other[k] - inference.values[k] for k in metrics}
    first = np.asarray(keras.tree.flatten(data.y)[0])
    second = np.asarray(keras.tree.flatten(data.other_labels)[0])
    same = float(np.mean(np.all((first == second).reshape(len(first), -1), axis=1)))
    return _finding(
        "shuffled_evaluation",
        sizes,
        floors,
        f"two passes over x yield different orders ({same:.0%} of labels in the same place); "
        f"predictions scored against the second pass's labels give {lead} {other[lead]:.4f}, "
        f"evaluate() {inference.values[lead]:.4f}",
    )


def _batchnorm_lag(model, finding, layers, moving, moments, data, fast, inference, metrics, rows):
    """Add to the BatchNorm finding how far the moving statistics lag the data's, and what fixes it."""
    population = moments.population()
    if not population:
        finding.evidence += "; every BatchNormalization layer is frozen (trainable=False)"
        return
    worst = None
    for layer, mean, var in population:
        moving_mean, moving_var = moving[id(layer)]
        std = np.sqrt(var + layer.epsilon)
        shift = float(np.mean(np.abs(moving_mean - mean) / std))
        ratio = float(np.median((moving_var + layer.epsilon) / (var + layer.epsilon)))
        distance = max(shift, abs(math.log(ratio)))
        if worst is None or distance > worst[1]:
            worst = (layer, distance, shift, ratio)
    layer, distance, shift, ratio = worst
    momentum = float(layer.momentum)
    updates = (
        0
        if distance <= 0.01
        else math.inf
        if momentum >= 1
        else 1
        if momentum <= 0
        else math.ceil(math.log(0.01 / distance) / math.log(momentum))
    )
    with unchanged(model):
        for bn, mean, var in population:
            bn.moving_mean.assign(mean.astype(keras.ops.convert_to_numpy(bn.moving_mean).dtype))
            bn.moving_variance.assign(
                var.astype(keras.ops.convert_to_numpy(bn.moving_variance).dtype)
            )
        recalibrated = score(model, data.y, forward(model, data.x, fast, counter=rows), chunks=0)
    lead = metrics[0]
    lag = {k: recalibrated.values[k] - inference.values[k] for k in metrics}
    finding.details.update(
        lag=lag, distance=distance, updates_needed=updates, layer=layer.name, momentum=momentum
    )
    finding.evidence += (
        f"; moving statistics vs the data's: {layer.name}'s mean is off by {shift:.2f} standard "
        f"deviations and its variance is {ratio:.2f}× the data's"
        + (
            f" ({updates} more updates at momentum {momentum:g} to get within 1 %)"
            if distance > 0.01
            else " (caught up)"
        )
        + f"; recalibrating them (recalibrate_batchnorm) moves evaluate()'s {lead} by "
        f"{lag[lead]:+.4f}"
    )
