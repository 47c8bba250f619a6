"""Memory: give freed memory back to the system, and measure the peak.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``, where ResNet50 at the post's 197×197
must fit a Binder kernel (restarted above 2 GB). TensorFlow's CPU tensors come from ``malloc``,
whose glibc keeps freed pages unless told; elsewhere these functions only collect garbage.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
from collections.abc import Iterator
from pathlib import Path

_M_TRIM_THRESHOLD = -1  # mallopt() parameter numbers, from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_ADAPTIVE_CEILING = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems


@functools.cache
def glibc():
    """glibc (through ctypes), or None where the C library is another (macOS, Windows, musl)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def release_memory() -> bool:
    """Free dead models (Keras models hold reference cycles) and give their memory back.

    Without glibc's ``malloc_trim(0)`` a deleted ResNet50's memory stays counted against the
    process. The scenarios call it before they build a model.

    Returns:
        True if memory was trimmed, False where only the garbage was collected.
    """
    gc.collect()
    libc = glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


@contextlib.contextmanager
def large_buffers_mapped(threshold: int = 1 << 18) -> Iterator[bool]:
    """Inside the block, glibc gives every buffer from ``threshold`` bytes up its own mapping.

    glibc's adaptive threshold (the largest buffer freed so far) serves ResNet50's 197×197
    activations from the heap, whose fragmentation added about 110 MB to the step's peak and
    kept it after the model was deleted; mapped buffers go back to the system when freed. The
    price is page faults (about 2 s of system time per 197×197 step), so hold only the big run
    in the block; no computed value changes. On exit the threshold goes to the adaptive rule's
    ceiling (glibc has no way back to the rule) and freed pages are returned.

    Args:
        threshold: Bytes. Defaults to 256 KiB (1 MiB left the peak 11 MB higher; 128 KiB
            gained nothing).

    Yields:
        True if glibc was tuned, False otherwise.
    """
    libc = glibc()
    if libc is None:
        yield False
        return
    libc.mallopt(_M_MMAP_THRESHOLD, int(threshold))
    try:
        yield True
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, _ADAPTIVE_CEILING)
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * _ADAPTIVE_CEILING)
        libc.malloc_trim(0)


def peak_memory_mb(pid: int | None = None) -> float | None:
    """A process's peak resident memory so far in MB (``VmHWM``), or None without ``/proc``.

    Args:
        pid: The process; None for this one. Defaults to None.
    """
    status = Path(f"/proc/{'self' if pid is None else int(pid)}/status")
    try:
        lines = status.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None
