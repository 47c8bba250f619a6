"""The take-home tools on the JAX backend: the same tests, the same equalities (issue 26).

GapProbe (every option), evaluate_in_mode, decompose_gap (both methods),
recalibrate_batchnorm, the gap doctor and the logged-loss replay are tested under TensorFlow by their
own test files. Here their equality tests (``TOOL_TESTS``) run again, in a fresh
process with ``KERAS_BACKEND=jax``, in a cached environment that adds JAX to the kit's
(``tests/requirements-jax.txt``, built by ``tools/extra_env.py``: about a
minute the first time, nothing after); one process for all, since each process
imports JAX and TensorFlow again. So on JAX each tool must give what
``evaluate()`` gives on JAX, with the same ``==`` the TensorFlow run asserts,
and leave the model's variables exactly as they were. (All 84 tests of those
files passed on JAX when this was written; the selection keeps ``make test`` short.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from extra_env import cached_env  # noqa: E402

REQUIREMENTS = REPO / "tests" / "requirements-jax.txt"
# The equality tests of each tool, as its own test file runs them under TensorFlow.
TOOL_TESTS = [
    # GapProbe, every option: inference and training mode == evaluate() / evaluate_in_mode,
    # per batch, every, subset, log; training is the same with and without it.
    "tests/test_gap_probe.py::test_every_measurement_is_evaluate_to_the_last_bit[weighted]",
    "tests/test_gap_probe.py::test_per_batch_values_average_back_to_the_logged_value",
    "tests/test_gap_probe.py::test_every_nth_epoch_and_always_the_last",
    "tests/test_gap_probe.py::test_a_fixed_subset_is_measured",
    "tests/test_gap_probe.py::test_log_writes_the_measurement_into_the_logs_for_later_callbacks",
    "tests/test_gap_probe.py::test_attaching_the_probe_does_not_change_training",
    # evaluate_in_mode: inference == evaluate(), each mode, the model and later training unchanged.
    "tests/test_modes.py::test_inference_mode_is_evaluate_to_the_last_bit[both]",
    "tests/test_modes.py::test_training_mode_changes_the_numbers_but_not_the_model",
    "tests/test_modes.py::test_families_are_switched_on_alone",
    "tests/test_modes.py::test_probe_does_not_change_later_training",
    # decompose_gap, both methods: the parts are what they claim, the model unchanged.
    "tests/test_decompose.py::test_parts_sum_to_the_gap_and_the_model_is_unchanged[dropout+batchnorm]",
    "tests/test_decompose.py::test_each_measurement_is_what_it_claims",
    "tests/test_decompose.py::test_shapley_with_two_families_costs_no_extra_pass",
    # recalibrate_batchnorm: only the moving statistics change, to the population's.
    "tests/test_batchnorm.py::test_recalibration_changes_only_moving_statistics",
    "tests/test_batchnorm.py::test_recalibration_matches_exact_population_statistics",
    # What fit() logs: the weights each batch started from replay Keras's logged losses.
    "tests/test_logged_loss.py::test_replayed_losses_match_what_keras_logged",
    # The gap doctor: Dropout named with the right signs, a diagnosis inside fit() leaves what
    # fit() logs unchanged bit for bit, and bad input gets the same errors.
    "tests/test_doctor.py::test_public_surface",
    "tests/test_doctor.py::test_uncompiled_model_is_refused",
    "tests/test_doctor.py::test_mismatched_and_empty_data_are_refused",
    "tests/test_doctor.py::test_mid_training_call_does_not_change_what_fit_logs",
]


def test_the_backend_is_the_one_asked_for():
    """Run in both processes: the JAX run is really on JAX."""
    import keras

    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


@pytest.mark.slow
def test_the_tools_pass_their_tests_on_jax():
    jax = cached_env("jax", REQUIREMENTS)
    out = subprocess.run(
        [
            str(jax.python),
            "-m",
            "pytest",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",  # no notebooks here: nbval runs them on TensorFlow
            "-q",
            *TOOL_TESTS,
            f"{Path(__file__).relative_to(REPO)}::test_the_backend_is_the_one_asked_for",
        ],
        cwd=REPO,
        env={**jax.env, "KERAS_BACKEND": "jax", "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = out.stdout.strip().splitlines()
    summary = next((line for line in reversed(lines) if " passed" in line), "")
    print(summary, "| JAX environment:", jax.seconds or "from the cache")
    tail = "\n".join(lines[-40:])
    assert summary and "failed" not in summary and "error" not in summary, tail
    # Only the repository-wide `git status` check may add a non-zero exit: in a shared work
    # tree other people's edits trip it, and the outer session checks the same thing.
    assert out.returncode == 0 or "changed `git status`" in out.stdout, tail
