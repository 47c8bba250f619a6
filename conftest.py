"""Test-wide settings: headless plotting and quiet TensorFlow, for tests and notebook kernels."""

import os

# Set before any kernel or TensorFlow starts; nbval kernels inherit the environment.
# MPLBACKEND is deliberately left alone: notebook kernels must use matplotlib-inline
# (as when the committed outputs were made); headless tests fall back to Agg anyway.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault(
    "TF_ENABLE_ONEDNN_OPTS", "0"
)  # as helpers.reproducibility: the same kernels on every CPU
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs three workers, each with notebook kernels, on as few as two cores: one
    # thread per process for TensorFlow's operations and for NumPy's BLAS keeps them from
    # crowding each other out. Measured on 2 cores, same commit: 374 s with TensorFlow's default
    # threads, 354 s with one (CPU time 649 s -> 612 s); every number the notebooks compare
    # came out the same. A single-process run (TEST_WORKERS=0) keeps the defaults.
    for name in ("TF_NUM_INTRAOP_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, "1")


# --------------------------------------------------------------------------- longest files first
# `make test` hands whole files to its workers (--dist loadfile) in collection order
# (--no-loadscope-reorder; xdist would otherwise put the files with the most tests first,
# and the Binder proof, four tests and over a minute, would start last and end the run
# alone). So the files that take longest run first and the short ones fill in at the end.
# Order measured with `make bench` (its slowest-tests table, docs/benchmarks.md); a file
# not listed keeps its place after these.
LONGEST_FIRST = [
    "tests/test_binder.py",  # pip unpacking wheels: overlaps best with work that computes
    "tests/test_backends.py",  # builds the JAX environment once, then runs the tools on JAX
    "notebooks/04_resnet_batchnorm.ipynb",
    "tests/test_mnist.py",
    "notebooks/02_validation_above_training.ipynb",
    "tests/test_checkpoint.py",
    "tests/test_resnet.py",
    "tests/test_doctor_zoo.py",
    "tests/test_more_gaps.py",
    "tests/test_assignments.py",
    "notebooks/03_fit_says_one.ipynb",
    "tests/test_threshold.py",
    "notebooks/01_checkpoint_mismatch.ipynb",
    "notebooks/06_the_doctor.ipynb",
    "notebooks/00_start_here.ipynb",
    "notebooks/05_more_gaps.ipynb",
    "tests/test_doctor.py",
    "tests/test_browser.py",
]


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    # A stable sort on the file alone: the order inside a file (a notebook's cells) is kept.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


# --------------------------------------------------------------------------- a clean work tree
# The kit promises that running it leaves `git status` as it was: checkpoints and
# scratch files go to a temporary folder. Every test session checks that promise.

import subprocess
from pathlib import Path

_REPO = Path(__file__).resolve().parent


def _git_status() -> str | None:
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=_REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None  # not a git checkout: nothing to compare


def pytest_sessionstart(session):
    session.config._status_before = _git_status()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_status_before", None)
    after = _git_status()
    if before is None or after is None or before == after:
        return
    changed = sorted(set(after.splitlines()) ^ set(before.splitlines()))
    session.config.get_terminal_writer().line(
        "\nThe test run changed `git status` (scratch files belong in helpers.scratch_dir(), "
        "artefacts in a git-ignored folder); entries that appeared or went:\n  "
        + "\n  ".join(changed),
        red=True,
    )
    session.exitstatus = 1
