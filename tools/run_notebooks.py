"""Execute notebooks headlessly; report Run-All seconds and kernel peak memory.

Usage:
    python tools/run_notebooks.py [--in-place] notebooks/*.ipynb

With ``--in-place`` the executed notebook (outputs included) replaces the
file, which is how the committed outputs are made (``make notebooks``).
The kernel's peak resident memory is read from the kernel process itself
(``VmHWM`` in ``/proc/<pid>/status`` on Linux, sampled with psutil
elsewhere), just before the kernel shuts down.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from helpers.memory import peak_memory_mb


class _Sampler(threading.Thread):
    """Fallback peak-RSS sampler for systems without /proc."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process, self.peak, self.stop = psutil.Process(pid), 0.0, threading.Event()

    def run(self):
        while not self.stop.wait(0.05):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss / 2**20)
            except psutil.Error:
                return


def execute(path: Path, *, in_place: bool = False, timeout: int = 600) -> dict:
    """Run every cell of one notebook in a fresh kernel.

    Returns:
        ``{"notebook", "seconds", "peak_mb"}``.
    """
    nb = nbformat.read(path, as_version=4)
    # No MPLBACKEND here: the kernel must pick matplotlib-inline, or figures vanish.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    peak = None
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid
        sampler = _Sampler(pid)
        sampler.start()
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        peak = peak_memory_mb(pid)
        sampler.stop.set()
        peak = peak if peak is not None else sampler.peak
    if in_place:
        nbformat.write(nb, path)
    return {"notebook": path.name, "seconds": seconds, "peak_mb": peak}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--in-place", action="store_true", help="save outputs into the notebook")
    args = parser.parse_args(argv)
    print(f"{'notebook':40} {'Run-All s':>10} {'peak MB':>9}")
    for path in args.notebooks:
        r = execute(path, in_place=args.in_place)
        print(f"{r['notebook']:40} {r['seconds']:10.1f} {r['peak_mb']:9.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
