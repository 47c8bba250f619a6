"""`make lab` serves the notebooks: the README's first command, run as a reader would.

The target is started exactly as documented (through ``make``, so the
Makefile's own command line is what is tested) on a free localhost port with
a known token, and the server's contents API must list every notebook. The
venv already exists when tests run, so ``make`` goes straight to JupyterLab.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    shutil.which("make") is None,
    reason="`make` is not installed; the README's commands need it (`apt-get install make`)",
)
def test_make_lab_serves_every_notebook(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    log = (tmp_path / "lab.log").open("w")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            "lab",
            f"PORT={port}",
            f"LAB_ARGS=--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port_retries=0 "
            f"--IdentityProvider.token={token}",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        listed, start = None, time.perf_counter()
        while listed is None:
            assert process.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            assert time.perf_counter() - start < 120, "JupyterLab did not answer within 120 s"
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=2
                ) as answer:
                    listed = json.load(answer)
            except OSError:
                time.sleep(0.25)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/lab?token={token}", timeout=10
        ) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    served = {item["name"] for item in listed["content"]}
    expected = {p.name for p in (REPO / "notebooks").glob("*.ipynb")}
    assert expected and expected <= served, f"served {sorted(served)}, expected {sorted(expected)}"
