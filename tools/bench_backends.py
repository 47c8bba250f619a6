"""GapProbe's cost on the JAX backend: probe ÷ bare training, as ``tools/bench.py``'s probe rows.

``tools/bench.py`` calls :func:`bench_backends` (its "GapProbe on the JAX
backend" part). Each workload runs in a fresh process of the cached JAX
environment (``tests/requirements-jax.txt``, built by ``tools/extra_env.py``)
with ``KERAS_BACKEND=jax``, with the same code, settings and timing rule as the
TensorFlow rows: the fastest of ``rounds`` fits each, bare, with the probe in
inference mode, and with ``training_mode=True``, after one warm-up fit.
Run alone it prints the rows as JSON::

    python tools/bench_backends.py
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))

from extra_env import _run, cached_env  # noqa: E402

REQUIREMENTS = REPO / "tests" / "requirements-jax.txt"
BUDGETS = {"inference": 1.5, "training": 1.8}  # as tools/bench.py's
WORKLOADS = ("01", "02", "03", "unseen")  # ResNet50 (04) is left to the TensorFlow rows


def bench_backends(keys=WORKLOADS, rounds: int = 2) -> list[dict]:
    """One row per workload: bare and probed ``fit()`` seconds on JAX, and their ratios.

    Args:
        keys: Workloads of ``tools/bench.py``'s ``SCENARIOS``. Defaults to
            ``("01", "02", "03", "unseen")``.
        rounds: Timed fits of each kind (the fastest counts). Defaults to 2.

    Returns:
        Rows ``{"workload", "backend", "bare s", "with probe s", "ratio (≤ 1.5)",
        "with training mode s", "ratio (≤ 1.8)"}``; a last row says what the JAX
        environment cost (built now, or taken from the cache).
    """
    from bench import _PROBE, SCENARIOS

    jax = cached_env("jax", REQUIREMENTS)
    env = {**jax.env, "KERAS_BACKEND": "jax", "MPLBACKEND": "Agg"}
    rows = []
    for key, label, setup in SCENARIOS:
        if key not in keys:
            continue
        code = textwrap.dedent(_PROBE.format(setup=setup, rounds=rounds))
        try:
            out = _run([str(jax.python), "-c", code], env=env, cwd=REPO, timeout=3600, what=label)
            r = json.loads(out.strip().splitlines()[-1])
        except Exception as err:  # report, don't hide
            rows.append({"workload": label, "backend": "jax", "bare s": f"failed: {err}"})
            continue
        ratio = {k: r[k] / r["bare"] for k in BUDGETS}
        over = {k: "" if ratio[k] <= BUDGETS[k] else " over" for k in BUDGETS}
        rows.append(
            {
                "workload": label,
                "backend": "jax",
                "bare s": r["bare"],
                "with probe s": r["inference"],
                "ratio (≤ 1.5)": f"{ratio['inference']:.2f}{over['inference']}",
                "with training mode s": r["training"],
                "ratio (≤ 1.8)": f"{ratio['training']:.2f}{over['training']}",
            }
        )
    built = jax.seconds.get("build the jax environment")
    rows.append(
        {
            "workload": "the JAX environment itself",
            "backend": "jax",
            "bare s": f"built in {built:.0f} s" if built else "taken from the cache",
        }
    )
    return rows


if __name__ == "__main__":
    print(json.dumps(bench_backends(), default=str))
