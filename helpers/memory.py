"""Memory: give freed memory back to the system, and measure the peak.

Introduced in ``notebooks/04_resnet_batchnorm.ipynb``, where ResNet50 at the
post's 197×197 must fit a Binder kernel (restarted above 2 GB). TensorFlow's
CPU tensors come from ``malloc``; glibc keeps freed heap pages for reuse, so
a deleted model's memory stays counted against the process unless it is
handed back. Nothing here runs on import; where the C library is not glibc
(macOS, Windows, musl) the functions only collect garbage.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
from collections.abc import Iterator
from pathlib import Path

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = (
    -1,
    -3,
)  # mallopt() parameter numbers, from glibc's <malloc.h>
_ADAPTIVE_CEILING = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems


@functools.cache
def _glibc():
    """glibc's allocator functions, or None where the C library is another (macOS, Windows, musl)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def release_memory() -> bool:
    """Free dead models and give the memory they held back to the operating system.

    Runs the garbage collector (Keras models hold reference cycles), then,
    where the C library is glibc (Linux, Binder), ``malloc_trim(0)``:
    without it glibc keeps freed heap pages for reuse, so a deleted
    ResNet50's memory stays counted against the process. Called by the
    functions here that train, before they build a model; never on import.

    Returns:
        True if memory was trimmed, False where only the garbage was collected.
    """
    gc.collect()
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


@contextlib.contextmanager
def large_buffers_mapped(threshold: int = 1 << 18) -> Iterator[bool]:
    """Inside the block, glibc gives every buffer from ``threshold`` bytes up its own mapping.

    TensorFlow's CPU tensors come from ``malloc``. By default glibc raises the
    size from which it maps a buffer separately to the largest buffer freed so
    far, so after ResNet50's first step at 197×197 its activations of several
    MB are carved out of the heap, where fragmentation added about 110 MB to
    the step's peak and kept it after the model was deleted. Mapped on their
    own, buffers go back to the system when freed. The price is page faults:
    about 2 s of system CPU time per 197×197 step, so the block should hold
    only the big run. Where each buffer comes from changes; no computed value
    does.

    glibc has no way back to its adaptive rule, so on exit the threshold is
    set to that rule's ceiling (32 MiB, with twice that as the heap-trimming
    threshold, as the rule pairs them): later, smaller runs take their
    buffers from the heap as they would by default, at no extra cost. Freed
    heap pages are returned. Elsewhere than glibc the block does nothing.

    Args:
        threshold: Size in bytes from which buffers are mapped on their own.
            Defaults to 256 KiB (1 MiB left the 197×197 peak 11 MB higher, for
            a third less system time; 128 KiB gained nothing more).

    Yields:
        True if glibc was tuned, False otherwise.
    """
    libc = _glibc()
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
    """A process's peak resident memory so far, in MB (``VmHWM`` in ``/proc``).

    Args:
        pid: The process; None for this one. Defaults to None.

    Returns:
        Megabytes, or None where ``/proc`` cannot be read (macOS, Windows).
    """
    try:
        for line in (
            Path(f"/proc/{'self' if pid is None else int(pid)}/status").read_text().splitlines()
        ):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
