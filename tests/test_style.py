"""Style is kept by ruff (configured in pyproject.toml): lint and format, over the whole tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    beside = Path(sys.executable).with_name("ruff")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: run `make test`, which installs requirements.txt")
    return [found]


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff_passes(command):
    out = subprocess.run(_ruff() + command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"`ruff {' '.join(command)}` failed:\n{out.stdout}{out.stderr}"
