"""The kit's benchmark: time and memory of everything a reader runs, on any machine.

Usage:
    python tools/bench.py [--out docs/benchmarks.md] [--skip notebooks,tests,...] [--quick]

Seconds do not travel between machines, so the run times a fixed workload --
the shipped MNIST CNN's training step at batch 64, median of 300 steps after a
warm-up epoch -- at the start, after every part and at the end, and shows every
time twice: measured, and *calibrated* to the reference speed of 32 ms per step
(calibrated = measured × 32 / ms per step here, the median of those readings:
one reading can be 15 % off on a shared VM). Each notebook and the whole suite are
also timed between two readings of their own and scaled by those, since a shared
host's speed drifts within minutes. Budgets are in calibrated units. The
parts, each in fresh processes: notebooks (Run-All seconds, kernel peak
memory); tests (the whole suite as
``make test`` runs it, and its slowest tests); explorers
(``helpers.scenarios.<name>.explorer.explorer()``, Run pressed twice: the
second is the re-run a reader waits for); decompose (the gap decomposer's
cost in training epochs); probe (bare training beside the same with GapProbe,
inference mode only and with training mode, for each scenario and a model no
notebook uses).

A benchmark, not a test: it never fails on a slow machine; it reports.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from helpers.reproducibility import import_tensorflow_quietly

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

REFERENCE_MS = 32.0  # the reference speed: ms per MNIST CNN training step at batch 64
BUDGETS = {
    "Run-All s": 90,
    "kernel peak MB": 1536,
    "make test s": 420,
    "probe ratio": 1.5,
    "probe ratio (training mode)": 1.8,
}  # explorers' budgets are in EXPLORERS
PARTS = ("notebooks", "tests", "explorers", "decompose", "probe", "doctor", "backends")
EXPLORERS = [
    ("checkpoint", 10),
    ("mnist", 10),
    ("threshold", 10),
    ("resnet", 30),
    ("more_gaps", 10),
]

_HEAD = (
    "import json, math, statistics, time\nimport numpy as np\nfrom helpers import setup_notebook\n"
    "setup_notebook(seed=0, plots=False)\nimport keras\nfrom helpers import models, load_mnist\n"
)

_CALIBRATION = (
    _HEAD
    + """
(x, y), _ = load_mnist(); x = x[..., None].astype("float32") / 255; y = keras.utils.to_categorical(y, 10)
class Clock(keras.callbacks.Callback):
    steps = []
    def on_train_batch_begin(self, batch, logs=None): self.t = time.perf_counter()
    def on_train_batch_end(self, batch, logs=None): self.steps.append(time.perf_counter() - self.t)
model = models.build_mnist_cnn()
model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # warm-up: tracing, allocation
model.fit(x, y, batch_size=64, epochs=math.ceil({steps} / math.ceil(len(x) / 64)), verbose=0, callbacks=[Clock()])
print(json.dumps({{"ms": 1000 * statistics.median(Clock.steps[:{steps}]), "steps": {steps}}}))
"""
)

_EXPLORER = """
import importlib, json, time
from helpers import setup_notebook
setup_notebook(seed=0, plots=False)
for module in ("explorer", "figures"):  # its own module; figures.py in older layouts
    try:
        factory = importlib.import_module(f"helpers.scenarios.{name}.{{module}}").explorer
        break
    except (ImportError, AttributeError) as err:
        missing = f"{{type(err).__name__}}: {{err}}"
else:
    print(json.dumps({{"missing": missing}})); raise SystemExit
ex, times = factory(), []
for _ in range(2):
    t = time.perf_counter(); ok = ex.run(); times.append(time.perf_counter() - t)
    assert ok, ex.status.value
print(json.dumps({{"first": times[0], "rerun": times[1], "settings": {{k: str(v) for k, v in ex.values().items()}}}}))
"""

SCENARIOS = [  # (key, label, code defining x, y, make() -> model, fit and probe keyword arguments)
    (
        "01",
        "01 checkpoint MLP, 2 samples, 50 epochs",
        """
x = np.array([[[1, 2], [3, 4]]] * 2, "float32"); y = keras.utils.to_categorical([1, 2], 3)
make, fit, probe = models.build_checkpoint_mlp, dict(batch_size=32, epochs=50), dict(batch_size=32)""",
    ),
    (
        "02",
        "02 MNIST CNN, 3,000 digits, 3 epochs",
        """
(x, y), (xt, yt) = load_mnist(); x = x[..., None].astype("float32") / 255; y = keras.utils.to_categorical(y, 10)
xt = xt[..., None].astype("float32") / 255; yt = keras.utils.to_categorical(yt, 10)
make, probe = models.build_mnist_cnn, dict(batch_size=64)
fit = dict(batch_size=64, epochs=3, validation_data=(xt, yt))""",
    ),
    (
        "03",
        "03 threshold model, 500 points, 100 epochs, per-batch",
        """
x = np.arange(-20, 30, 0.1).reshape(-1, 1); y = (x >= 10).astype("float32")
make, fit = models.build_threshold_model, dict(batch_size=128, epochs=100)
probe = dict(batch_size=128, per_batch=True)""",
    ),
    (
        "04",
        "04 ResNet50 197×197, 3 images, 5 epochs",
        """
from helpers import load_bn_images
x, y, _ = load_bn_images(197); x = x.astype("float32")
make, fit, probe = models.build_resnet50, dict(epochs=5, shuffle=True), dict(batch_size=3)""",
    ),
    (
        "unseen",
        "unseen: Dense+BatchNorm regression, 2,000×20 random, weighted, 20 epochs",
        """
rng = np.random.default_rng(1); x = rng.normal(size=(2000, 20)).astype("float32")
y = x @ rng.normal(size=(20, 1)) + 0.1 * rng.normal(size=(2000, 1)); w = rng.uniform(0.5, 1.5, 2000)
def make():
    L = keras.layers
    m = keras.Sequential([keras.Input((20,)), L.Dense(64, activation="relu"), L.BatchNormalization(),
                          L.Dropout(0.1), L.Dense(64, activation="relu"), L.BatchNormalization(), L.Dense(1)])
    m.compile(optimizer="adam", loss="mse", metrics=["mae"]); return m
fit, probe = dict(batch_size=32, epochs=20, sample_weight=w), dict(sample_weight=w, batch_size=32)""",
    ),
]

_PROBE = (
    _HEAD
    + """from helpers import GapProbe
{setup}
def run(kind):
    keras.utils.set_random_seed(0)
    model = make()
    callbacks = [] if kind == "bare" else [GapProbe(x, y, training_mode=kind == "training", **probe)]
    t = time.perf_counter(); model.fit(x, y, verbose=0, callbacks=callbacks, **fit)
    return time.perf_counter() - t
run("bare")  # TensorFlow's one-off warm-up
times = {{"bare": [], "inference": [], "training": []}}
for _ in range({rounds}):
    for kind in times: times[kind].append(run(kind))
print(json.dumps({{kind: min(t) for kind, t in times.items()}}))
"""
)


def _python(code: str, timeout: int = 1800) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env={**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    tf, keras = import_tensorflow_quietly()
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} CPU cores ({cpu}), {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


class Report:
    """Markdown lines, echoed as they come; times shown measured and calibrated.

    A line may be a function of the report, so calibrated figures are printed
    with the calibration known so far and written with the final one: the
    median of every reading (:meth:`calibrated_by`).
    """

    def __init__(self, ms: float):
        self.lines, self.readings = [], [ms]

    @property
    def ms(self) -> float:
        return statistics.median(self.readings)

    def calibrated_by(self, ms: float) -> None:
        """Add a calibration reading; the report uses the median of all."""
        self.readings.append(ms)
        print(f"calibration: {ms:.1f} ms per step; readings so far {self.spread()}", flush=True)

    def listed(self) -> str:
        """The readings so far, in the order taken."""
        return ", ".join(f"{ms:.1f}" for ms in self.readings)

    def spread(self) -> str:
        return f"{self.listed()} (median {self.ms:.1f})"

    def add(self, *lines) -> None:
        for line in lines:
            self.lines.append(line)
            print(line(self) if callable(line) else line, flush=True)

    def text(self) -> str:
        return "\n".join(line(self) if callable(line) else line for line in self.lines) + "\n"

    def cal(self, seconds: float, ms: float | None = None) -> float:
        """``seconds`` at the reference speed, scaled by the median reading or by ``ms``."""
        return seconds * REFERENCE_MS / (ms or self.ms)

    def reading(self, steps: int) -> float:
        """Take a calibration reading now, add it to the report and return it."""
        ms = calibrate(steps)
        self.calibrated_by(ms)
        return ms

    def both(self, seconds: float, budget: float | None = None) -> str:
        """``measured | calibrated | within budget`` table cells."""
        verdict = "" if budget is None else f" | {_fits(self.cal(seconds), budget)}"
        return f"{seconds:.1f} | {self.cal(seconds):.1f}{verdict}"


def _fits(value: float, budget: float) -> str:
    """A table's verdict on ``value`` against ``budget``."""
    return "yes" if value <= budget else "**no**"


def _makefile_default(name: str) -> str:
    """The value the Makefile gives ``name`` (``NAME ?= value``), for the report's heading."""
    match = re.search(rf"^{name}\s*\?=\s*(\S+)", (REPO / "Makefile").read_text(), re.MULTILINE)
    return match.group(1) if match else "?"


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (and theirs) so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def calibrate(steps: int) -> float:
    return _python(_CALIBRATION.format(steps=steps))["ms"]


def notebooks(report: Report, steps: int = 100) -> None:
    """Each notebook between two calibration readings, and calibrated by their mean.

    The host's speed drifts within minutes (readings of 34-85 ms in half an hour on one
    machine), so a notebook is scaled by the speed measured right around it; the column
    scaled by the report's median is kept beside it for comparison.
    """
    from run_notebooks import execute

    report.add(
        "\n## Notebooks (Run-All, fresh kernel)\n",
        f"Each notebook is calibrated by the mean of two readings ({steps} steps) taken just "
        "before and just after it; the report's median calibration is beside it.\n",
        "| notebook | measured s | ms/step around it | calibrated s | ≤ 90 cal s "
        "| calibrated s by the median | kernel peak MB | ≤ 1.5 GB |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    )
    before = report.reading(steps)
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        r = execute(path)
        after = report.reading(steps)
        own = report.cal(r["seconds"], (before + after) / 2)
        head = f"| {path.name} | {r['seconds']:.1f} | {before:.1f}–{after:.1f} | {own:.1f} | "
        head += _fits(own, BUDGETS["Run-All s"])
        tail = f"{r['peak_mb']:.0f} | {_fits(r['peak_mb'], BUDGETS['kernel peak MB'])} |"
        report.add(
            lambda rep, r=r, head=head, tail=tail: f"{head} | {rep.cal(r['seconds']):.1f} | {tail}"
        )
        before = after


def tests(report: Report, durations: int = 20) -> None:
    """The whole suite run by `make test` itself (its workers and flags), plus pytest's slowest tests."""
    workers = os.environ.get("TEST_WORKERS", _makefile_default("TEST_WORKERS"))
    env = {
        **os.environ,
        "PYTEST_ADDOPTS": f"{os.environ.get('PYTEST_ADDOPTS', '')} --durations={durations} -q",
    }
    before = report.reading(100)
    used_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        ["make", "--no-print-directory", "test"], cwd=REPO, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    cpu = _children_cpu() - used_before
    after = report.reading(100)
    own = report.cal(seconds, (before + after) / 2)
    lines = done.stdout.strip().splitlines()
    verdict = (lines or ["no output"])[-1].strip("= ")
    cores = os.cpu_count() or 1
    report.add(
        f"\n## make test ({workers} workers, after install)\n",
        "| measured s | calibrated s | ≤ 420 cal s (7 min) | result |",
        "|---:|---:|---|---|",
        lambda rep: f"| {rep.both(seconds, BUDGETS['make test s'])} | {verdict} |",
        f"\nCalibrated by the two readings just before and after it ({before:.1f} and "
        f"{after:.1f} ms): {own:.0f} s"
        + (" (within the budget)." if own <= BUDGETS["make test s"] else " (over the budget)."),
        lambda rep: (
            f"\nScaled by single calibration readings instead of their median: "
            f"{rep.cal(seconds, max(rep.readings)):.0f} calibrated s by the slowest "
            f"({max(rep.readings):.1f} ms), {rep.cal(seconds, min(rep.readings)):.0f} by the fastest "
            f"({min(rep.readings):.1f} ms)."
        ),
        f"\nCPU time of the run (user + system, pytest and every process it waited for): {cpu:.0f} s, "
        f"{cpu / (seconds * cores):.0%} of the {seconds * cores:.0f} core-seconds {cores} cores had. "
        "Near 100 %, the suite is bound by the work it does: more workers cannot make it shorter, "
        "only less work can.",
    )
    slow = [
        m.groups()
        for m in (re.match(r"\s*([\d.]+)s (call|setup|teardown)\s+(\S+)", line) for line in lines)
        if m
    ]
    if slow:
        report.add(
            f"\nSlowest {len(slow)} test phases (`pytest --durations={durations}`):\n",
            "| test | phase | measured s | calibrated s |",
            "|---|---|---:|---:|",
            *(
                lambda rep, s=s, phase=phase, name=name: (
                    f"| `{name}` | {phase} | {rep.both(float(s))} |"
                )
                for s, phase, name in slow
            ),
        )


def explorers(report: Report) -> None:
    report.add(
        "\n## Explorers (Run pressed twice, default settings)\n",
        "| explorer | first run s | re-run s | re-run cal s | within budget | settings |",
        "|---|---:|---:|---:|---|---|",
    )
    for name, budget in EXPLORERS:
        label = f"`{name}` explorer (≤ {budget} cal s)"
        try:
            r = _python(_EXPLORER.format(name=name))
        except Exception as err:  # report, don't hide
            r = {"failed": err}
        if "first" not in r:
            report.add(
                f"| {label} | – | – | – | {'not found' if 'missing' in r else 'failed'} | "
                f"{r.get('missing', r.get('failed'))} |"
            )
            continue
        settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items())
        report.add(
            lambda rep, r=r, label=label, budget=budget, settings=settings: (
                f"| {label} | {r['first']:.1f} | {rep.both(r['rerun'], budget)} | {settings} |"
            )
        )


def decompose(report: Report) -> None:
    report.add("\n## Gap decomposer cost\n")
    try:
        r = _python(
            _HEAD
            + "import sys\nsys.path.insert(0, 'tools')\nfrom bench_decompose import measure_cost\n"
            + "print(json.dumps(measure_cost()))"
        )
    except Exception as err:
        report.add(f"failed: {err}")
        return
    report.add(
        "| what | value |",
        "|---|---:|",
        *(f"| {k} | {v:.3g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in r.items()),
    )


def probe(report: Report, keys=None, rounds: int = 2) -> None:
    report.add(
        "\n## GapProbe's cost (instrumented ÷ bare training, same process, same seed)\n",
        f"Fastest of {rounds} runs each after a warm-up run; every fit() builds a fresh model, "
        "so the probe's one-off tracing is included. Budgets: ≤ 1.5× with the probe in "
        "inference mode only, ≤ 1.8× with training mode too.\n",
        "| workload | bare s | bare cal s | with probe s | ratio (≤ 1.5) | "
        "with training mode s | ratio (≤ 1.8) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    )
    for key, label, setup in SCENARIOS:
        if keys and key not in keys:
            continue
        try:
            r = _python(_PROBE.format(setup=setup, rounds=1 if key == "04" else rounds))
        except Exception as err:
            report.add(f"| {label} | – | – | – | failed: {err} | – | – |")
            continue
        ratio = {k: r[k] / r["bare"] for k in ("inference", "training")}
        mark = {
            k: ""
            if ratio[k]
            <= BUDGETS["probe ratio" if k == "inference" else "probe ratio (training mode)"]
            else " **over**"
            for k in ratio
        }
        row = (
            f"{ratio['inference']:.2f}{mark['inference']} | {r['training']:.1f} | "
            f"{ratio['training']:.2f}{mark['training']} |"
        )
        report.add(
            lambda rep, r=r, label=label, row=row: (
                f"| {label} | {r['bare']:.1f} | {rep.cal(r['bare']):.1f} | {r['inference']:.1f} | {row}"
            )
        )


def _rows_part(report: Report, title: str, module: str, function: str) -> None:
    """A part whose rows come from a function in tools/ (``[{column: value}, ...]``), run in a
    fresh process so its models and backend stay out of this one."""
    report.add(f"\n## {title}\n")
    code = (
        "import json, sys\nsys.path.insert(0, 'tools')\n"
        f"from {module} import {function}\nprint(json.dumps({function}(), default=str))"
    )
    try:
        rows = _python(code)
    except Exception as err:  # report, don't hide
        report.add(f"failed: {err}")
        return
    if isinstance(rows, dict):
        rows = rows.get("rows", [rows])
    if not rows:
        report.add("no rows")
        return
    columns = list(dict.fromkeys(k for row in rows for k in row))
    report.add("| " + " | ".join(columns) + " |", "|" + "---|" * len(columns))
    for row in rows:
        cells = (
            f"{v:.3g}" if isinstance(v, float) else str(v)
            for v in (row.get(c, "") for c in columns)
        )
        report.add("| " + " | ".join(cells) + " |")


def doctor(report: Report) -> None:
    _rows_part(report, "The gap doctor: cost and the zoo", "bench_doctor", "bench_doctor")


def backends(report: Report) -> None:
    _rows_part(report, "GapProbe on the JAX backend", "bench_backends", "bench_backends")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--skip", default="", help=f"comma-separated parts to skip, from {PARTS}")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 30 calibration steps, one probe round on 01 and unseen only",
    )
    args = parser.parse_args(argv)
    skip = {p for p in args.skip.split(",") if p}
    unknown = skip - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; choose from {PARTS}")
    steps = 30 if args.quick else 300
    report = Report(calibrate(steps))
    report.add(
        f"# Benchmarks\n\nWritten by `make bench` on {dt.date.today()}. Machine: {machine()}.\n",
        lambda rep: (
            f"**Calibration: {rep.ms:.1f} ms per MNIST CNN training step** (batch 64, "
            f"median of {steps} steps), the median of {len(rep.readings)} readings taken at the start, "
            f"after each part and at the end: {rep.listed()} ms. "
            f"Every time is shown twice: as measured, and *calibrated* to the reference speed of "
            f"{REFERENCE_MS:.0f} ms per step (calibrated = measured × {REFERENCE_MS:.0f} / "
            f"{rep.ms:.1f}, i.e. × {REFERENCE_MS / rep.ms:.2f} on this machine).\n"
        ),
        "Budgets, in calibrated units: each notebook's Run-All ≤ 90 s and kernel peak ≤ 1.5 GB "
        "(memory is not scaled); explorer re-run ≤ 10 s (ResNet ≤ 30 s); `make test` ≤ 7 min "
        "after install; GapProbe ≤ 1.5× bare training in inference mode, ≤ 1.8× with training "
        "mode too (ratios need no calibration).",
    )
    # A reading after every part: one reading can be 15 % off on a shared VM (27-32 ms within
    # an hour on one machine), far more than the figures it scales vary between runs. The
    # notebooks and the suite end with a reading of their own.
    for part in (notebooks, tests, explorers, decompose):
        if part.__name__ not in skip:
            part(report)
            if part not in (notebooks, tests):
                report.reading(steps)
    if "probe" not in skip:
        probe(report, keys={"01", "unseen"} if args.quick else None, rounds=1 if args.quick else 2)
    for part in (doctor, backends):
        if part.__name__ not in skip:
            part(report)
    report.reading(steps)
    print(f"the report uses the median calibration, {report.ms:.1f} ms per step")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report.text())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
