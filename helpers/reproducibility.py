"""One explicit set-up call for a notebook's first cell, and quiet imports of Keras.

Introduced in ``notebooks/00_start_here.ipynb``. Nothing here runs on import.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from helpers import checks

_SCRATCH: Path | None = None


@contextlib.contextmanager
def _silenced_stderr_fd():
    """Send fd 2 to /dev/null inside the block: Jupyter shows what TensorFlow's C++ writes there."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras_quietly():
    """The ``keras`` module, imported with its backend's start-up logging muted."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow turns its oneDNN kernels on only on some CPUs (AVX-512 and newer), changing
    # float digits and memory (0.3 GB more for ResNet50). Off, every x86 machine runs the same
    # kernels; set TF_ENABLE_ONEDNN_OPTS=1 before starting the kernel to try them.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with _silenced_stderr_fd():
        import keras
    return keras


def import_tensorflow_quietly():
    """The ``(tensorflow, keras)`` modules, imported with start-up logging muted."""
    keras = import_keras_quietly()
    with _silenced_stderr_fd():
        import tensorflow as tf
    return tf, keras


def setup_notebook(seed: int = 0, *, deterministic: bool = True, plots: bool = True) -> int:
    """Make a notebook reproducible and quiet. Call once, in the first cell.

    Seeds Python, NumPy and the backend (``keras.utils.set_random_seed``), turns on
    TensorFlow's op determinism (same seed, same numbers on the same machine; JAX on CPU is
    deterministic already), mutes start-up logging and sets readable plotting defaults.

    Args:
        seed: Seed for every random number generator. Defaults to 0.
        deterministic: Enable TensorFlow's op determinism. Defaults to True.
        plots: Apply the kit's matplotlib style. Defaults to True.

    Returns:
        The seed, so a notebook can print what it used.
    """
    seed = checks.seed("seed", seed, example="setup_notebook(seed=0)")
    keras = import_keras_quietly()
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import_tensorflow_quietly()[0].config.experimental.enable_op_determinism()
    if plots:
        import matplotlib as mpl

        mpl.rcParams.update(
            {
                "figure.figsize": (6.4, 3.6),
                "figure.dpi": 80,
                "axes.grid": True,
                "grid.alpha": 0.3,
                "axes.spines.top": False,
                "axes.spines.right": False,
                "legend.frameon": False,
                "font.size": 10,
            }
        )
    return seed


def scratch_dir() -> Path:
    """A temporary folder for checkpoints and other scratch files.

    One per Python process, removed when it exits, so a notebook leaves no files behind.
    """
    global _SCRATCH
    if _SCRATCH is None or not _SCRATCH.exists():
        _SCRATCH = Path(tempfile.mkdtemp(prefix="mind-the-gap-"))
        atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
    return _SCRATCH
