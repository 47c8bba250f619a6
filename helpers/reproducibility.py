"""One explicit set-up call for a notebook's first cell.

Introduced in ``notebooks/00_start_here.ipynb``. Nothing here runs on import.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from helpers import checks

_SCRATCH: Path | None = None


@contextlib.contextmanager
def _silenced_stderr_fd():
    """Send file descriptor 2 to /dev/null for the duration of the block.

    TensorFlow's C++ runtime writes start-up notices (oneDNN, CPU features)
    straight to fd 2 before its log level is read. Jupyter forwards fd-level
    writes into the cell's output, where they would show as red noise and
    break nbval's output comparison, so the import is done with fd 2 muted.
    """
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
    """Import Keras with its backend's start-up logging muted.

    On the TensorFlow backend that imports TensorFlow too; on JAX it does not.

    Returns:
        The ``keras`` module.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow turns its oneDNN kernels on only on some CPUs (AVX-512 and newer), and they
    # change float digits and memory (about 0.3 GB more for notebook 04's ResNet50). Off by
    # default, so every x86 machine runs the same kernels; read once, when TensorFlow starts.
    # Set TF_ENABLE_ONEDNN_OPTS=1 before starting the kernel to try them.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with _silenced_stderr_fd():
        import keras
    return keras


def import_tensorflow_quietly():
    """Import TensorFlow and Keras with start-up logging muted.

    Returns:
        The ``(tensorflow, keras)`` modules.
    """
    keras = import_keras_quietly()
    with _silenced_stderr_fd():
        import tensorflow as tf
    return tf, keras


def setup_notebook(seed: int = 0, *, deterministic: bool = True, plots: bool = True) -> int:
    """Make a notebook reproducible and quiet. Call once, in the first cell.

    Seeds Python, NumPy and TensorFlow through ``keras.utils.set_random_seed``,
    turns on TensorFlow's op determinism (same seed, same numbers on the same
    machine), keeps TensorFlow's oneDNN kernels off (so CPUs with and without
    AVX-512 run the same kernels; see :func:`import_tensorflow_quietly`), mutes
    TensorFlow's start-up logging, and sets readable plotting defaults.

    Args:
        seed: Seed for every random number generator. Defaults to 0.
        deterministic: Whether to enable ``tf.config.experimental.
            enable_op_determinism()`` (TensorFlow backend only: JAX's XLA on
            CPU is deterministic already). Defaults to True.
        plots: Whether to apply the kit's matplotlib style. Defaults to True.

    Returns:
        The seed, so a notebook can print what it used.

    Raises:
        ValueError: if ``seed`` is not a non-negative integer.
    """
    seed = checks.seed("seed", seed, example="setup_notebook(seed=0)")
    keras = import_keras_quietly()
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":  # JAX on CPU is already
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

    One folder per Python process, removed when the process exits, so
    re-running a notebook never leaves files in the repository.

    Returns:
        The folder's path.
    """
    global _SCRATCH
    if _SCRATCH is None or not _SCRATCH.exists():
        import atexit

        _SCRATCH = Path(tempfile.mkdtemp(prefix="mind-the-gap-"))
        atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
    return _SCRATCH
