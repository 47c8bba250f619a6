"""The kit's benchmark: time and memory of everything a reader runs.

Usage:
    python tools/bench.py [--out docs/benchmarks.md] [--skip-notebooks]

Measures, each in a fresh process so numbers do not leak into each other:

1. every notebook's Run-All seconds and kernel peak resident memory;
2. every explorer's re-run latency (the Run button pressed twice with the
   default settings; the second press is the re-run a reader waits for);
3. the gap decomposer's cost as a multiple of one training epoch;
4. for each scenario, the post's bare training beside the same training with
   the kit's instrumentation (GapProbe) attached.

and writes a Markdown report with the machine described. A benchmark, not a
test: it never fails on a slow machine, it reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

BUDGET_S, BUDGET_MB = 90, 1536
EXPLORERS = [  # (scenario, module, factory, budget seconds)
    ("01 checkpoint", "helpers.checkpoint", "checkpoint_explorer", 10),
    ("02 MNIST", "helpers.mnist_gap", "mnist_explorer", 10),
    ("03 fit says 1.0", "helpers.threshold", "threshold_explorer", 10),
    ("04 ResNet50 BN", "helpers.resnet_collapse", "resnet_explorer", 30),
]

_EXPLORER_CODE = """
import json, time
from helpers import setup_notebook
setup_notebook(seed=0)
import importlib
ex = getattr(importlib.import_module({module!r}), {factory!r})()
times = []
for _ in range(2):
    t = time.perf_counter(); ok = ex.run(); times.append(time.perf_counter() - t)
    assert ok, ex.status.value
print(json.dumps({{"first": times[0], "rerun": times[1], "settings": {{k: str(v) for k, v in ex.values().items()}}}}))
"""

_TRAINING_CODE = """
import json, time
import numpy as np
from helpers import setup_notebook, GapProbe, load_mnist, load_bn_images
from helpers import models
setup_notebook(seed=0)
import keras
which = {which!r}
def run(probe):
    keras.utils.set_random_seed(0)
    if which == "01":
        x = np.array([[[1, 2], [3, 4]]] * 2, "float32"); y = keras.utils.to_categorical([1, 2], 3)
        m, kw = models.build_checkpoint_mlp(), dict(batch_size=32, epochs=50)
        cb = GapProbe(x, y, batch_size=32, training_mode=True)
    elif which == "02":
        (x, y), (xt, yt) = load_mnist(); x = x[..., None].astype("float32") / 255
        y = keras.utils.to_categorical(y, 10)
        xt = xt[..., None].astype("float32") / 255; yt = keras.utils.to_categorical(yt, 10)
        m, kw = models.build_mnist_cnn(), dict(batch_size=64, epochs=3, validation_data=(xt, yt))
        cb = GapProbe(x, y, batch_size=64, training_mode=True)
    elif which == "03":
        x = np.arange(-20, 30, 0.1).reshape(-1, 1); y = (x >= 10).astype("float32")
        m, kw = models.build_threshold_model(), dict(batch_size=128, epochs=100)
        cb = GapProbe(x, y, batch_size=128, per_batch=True)
    else:
        x, y, _ = load_bn_images(197); x = x.astype("float32")
        m, kw = models.build_resnet50(197), dict(epochs=5, shuffle=True)
        cb = GapProbe(x, y, batch_size=3, training_mode=True)
    t = time.perf_counter()
    m.fit(x, y, verbose=0, callbacks=[cb] if probe else [], **kw)
    return time.perf_counter() - t
# bare, instrumented, bare: the first run pays TensorFlow's one-off warm-up,
# so the faster of the two bare runs is the fair baseline.
bare = run(False); instrumented = run(True); bare = min(bare, run(False))
print(json.dumps({{"bare": bare, "instrumented": instrumented}}))
"""


def _python(code: str, timeout: int = 900) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, cwd=REPO, timeout=timeout,
                         env={**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"})
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    import keras  # noqa: F401  (versions only)
    import tensorflow as tf

    mem = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    return (f"{os.cpu_count()} CPU cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--skip-notebooks", action="store_true")
    args = parser.parse_args(argv)
    lines = [f"# Benchmarks\n\nWritten by `make bench` on {dt.date.today()}. Machine: {machine()}.\n",
             f"Budgets: Run-All ≤ {BUDGET_S} s and kernel peak ≤ {BUDGET_MB / 1024:.1f} GB per notebook; "
             "explorer re-run ≤ 10 s (ResNet ≤ 30 s).\n"]

    if not args.skip_notebooks:
        from run_notebooks import execute

        lines += ["## Notebooks (Run-All, fresh kernel)\n", "| notebook | Run-All s | kernel peak MB | within budget |",
                  "|---|---:|---:|---|"]
        for path in sorted((REPO / "notebooks").glob("*.ipynb")):
            r = execute(path)
            ok = r["seconds"] <= BUDGET_S and r["peak_mb"] <= BUDGET_MB
            lines.append(f"| {path.name} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {'yes' if ok else '**no**'} |")
            print(lines[-1], flush=True)

    if not args.skip_notebooks:
        # The notebooks' share of `make test`: the same pytest options, notebooks only.
        workers = os.environ.get("TEST_WORKERS", "2")
        command = [sys.executable, "-m", "pytest", "notebooks", "-q"]
        command += [] if workers == "0" else ["-n", workers, "--dist", "loadfile"]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        verdict = (done.stdout.strip().splitlines() or ["no output"])[-1].strip("= ")
        lines += [f"\nnbval pass over all notebooks (`pytest notebooks`, {workers} workers as in "
                  f"`make test`): **{seconds:.0f} s** (budget 300 s); {verdict}.\n"]
        print(lines[-1], flush=True)

    lines += ["\n## Explorers (Run pressed twice, default settings)\n",
              "| scenario | first run s | re-run s | budget s | settings |", "|---|---:|---:|---:|---|"]
    for name, module, factory, budget in EXPLORERS:
        try:
            r = _python(_EXPLORER_CODE.format(module=module, factory=factory))
            settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items())
            lines.append(f"| {name} | {r['first']:.1f} | {r['rerun']:.1f} | {budget} | {settings} |")
        except Exception as err:  # report, don't hide
            lines.append(f"| {name} | – | – | {budget} | failed: {err} |")
        print(lines[-1], flush=True)

    lines += ["\n## Gap decomposer cost\n"]
    try:
        r = _python("import json\nfrom helpers import setup_notebook\nsetup_notebook(seed=0)\n"
                    "from helpers.decompose import measure_cost\nprint(json.dumps(measure_cost()))")
        lines.append("| what | value |\n|---|---:|\n" + "\n".join(f"| {k} | {v:.3g} |" if isinstance(v, float)
                                                      else f"| {k} | {v} |" for k, v in r.items()))
    except Exception as err:
        lines.append(f"failed: {err}")
    print(lines[-1], flush=True)

    lines += ["\n## Instrumented vs bare training (same process, same seed)\n",
              "| scenario | bare fit s | with GapProbe s | ratio |", "|---|---:|---:|---:|"]
    for which, label in (("01", "01 checkpoint (50 epochs, probe in training mode)"),
                         ("02", "02 MNIST CNN (3 epochs, probe in training mode)"),
                         ("03", "03 threshold (100 epochs, per-batch probe)"),
                         ("04", "04 ResNet50 197×197 (5 epochs, probe in training mode)")):
        try:
            r = _python(_TRAINING_CODE.format(which=which))
            lines.append(f"| {label} | {r['bare']:.1f} | {r['instrumented']:.1f} | {r['instrumented'] / r['bare']:.2f} |")
        except Exception as err:
            lines.append(f"| {label} | – | – | failed: {err} |")
        print(lines[-1], flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
