"""Binder proof without Docker: a fresh environment built from ``binder/`` alone runs the kit.

repo2docker reads three files in ``binder/``: ``runtime.txt`` (the Python
version), ``requirements.txt`` (``pip install -r`` into the environment that
serves JupyterLab and runs the kernel) and ``postBuild`` (run from the
repository root afterwards). The slow test here does the same, step for step,
in a virtual environment created under ``tmp_path`` -- no
``--system-site-packages``, so nothing from the development ``.venv`` can
leak in -- against a copy of the repository as a clone would have it (tracked
and untracked-but-not-ignored files: no ``.venv``, no ``student/``). It then
executes notebooks with nbclient *inside* that environment, so the kernel is
the new environment's Python.

The fast tests keep ``binder/requirements.txt`` in step with the pins in
``requirements.txt``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import run_checked

REPO = Path(__file__).resolve().parent.parent
BINDER = REPO / "binder"
# Needed to test the kit, not to use it; Binder sessions are for reading and running.
TEST_ONLY = {"pytest", "pytest-xdist", "nbval", "playwright", "ruff"}
# Cheapest first: 00 is the overview; 04 trains a ResNet50.
PREFERRED = [
    "00_start_here",
    "01_checkpoint_mismatch",
    "03_fit_says_one",
    "02_validation_above_training",
    "04_resnet_batchnorm",
]


def _requirements(path: Path) -> dict[tuple[str, str], str]:
    """``(name, marker) -> specifier`` for every requirement line of a file."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        found[(canonicalize_name(req.name), str(req.marker or ""))] = str(req.specifier)
    return found


def _runtime_version() -> str:
    text = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(3\.\d+)", text)
    assert match, f"binder/runtime.txt must read like 'python-3.11', not {text!r}"
    return match.group(1)


def test_runtime_is_a_python_the_kit_supports():
    floor = re.search(r'requires-python\s*=\s*">=(3\.\d+)"', (REPO / "pyproject.toml").read_text())
    version = tuple(int(p) for p in _runtime_version().split("."))
    assert version >= tuple(int(p) for p in floor.group(1).split("."))


def test_binder_pins_are_the_project_pins():
    project = {
        k: v for k, v in _requirements(REPO / "requirements.txt").items() if k[0] not in TEST_ONLY
    }
    binder = _requirements(BINDER / "requirements.txt")
    assert binder == project, (
        "binder/requirements.txt must list requirements.txt's lines (same specifiers and "
        f"markers) minus {sorted(TEST_ONLY)}; differences: "
        f"{sorted(set(binder.items()) ^ set(project.items()))}"
    )


# --------------------------------------------------------------------------- the slow proof


def _python_for(version: str) -> str:
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found is None:
        pytest.skip(
            f"binder/runtime.txt asks for Python {version}, but this machine runs "
            f"Python {sys.version_info.major}.{sys.version_info.minor} and has no "
            f"`python{version}` on PATH; install it (e.g. `apt-get install python{version} "
            f"python{version}-venv`) to run the Binder proof"
        )
    return found


def _copy_of_repo(dest: Path) -> Path:
    """The files a clone would hold, plus work not yet committed (but nothing git ignores)."""
    try:
        listed = (
            subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=REPO,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .split("\0")
        )
    except (
        OSError,
        subprocess.CalledProcessError,
    ):  # not a git checkout: copy, minus the usual debris
        shutil.copytree(
            REPO,
            dest,
            ignore=shutil.ignore_patterns(
                ".venv", ".git", "student", "test-artifacts", "__pycache__", "*.egg-info", "build"
            ),
        )
        return dest
    for name in filter(None, listed):
        source = REPO / name
        if (
            source.is_file()
        ):  # listed but deleted in the working tree: a clone would not have it either
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """A virtual environment built exactly as repo2docker builds Binder's, and the repository copy."""
    root = tmp_path_factory.mktemp("binder")
    python = _python_for(_runtime_version())
    repo = _copy_of_repo(root / "repo")
    venv = root / "venv"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MIND_THE_GAP_DATA"}
    }
    env.update(
        VIRTUAL_ENV=str(venv),
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PYTHONNOUSERSITE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    seconds = {}
    start = time.perf_counter()
    run_checked(
        [python, "-m", "venv", str(venv)], env=env, cwd=root, timeout=300, what="python -m venv"
    )
    seconds["venv"] = time.perf_counter() - start
    start = time.perf_counter()
    # --no-compile: no .pyc for the thousands of modules the notebooks never import (Python
    # compiles the imported ones on first use); pip's wheel cache stays on, so a second run
    # unpacks the wheels it already has. Neither changes what gets installed.
    run_checked(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--prefer-binary",
            "-r",
            "binder/requirements.txt",
        ],
        env=env,
        cwd=repo,
        timeout=1800,
        what="pip install -r binder/requirements.txt",
    )
    seconds["pip install -r binder/requirements.txt"] = time.perf_counter() - start
    start = time.perf_counter()
    run_checked(
        [str(repo / "binder" / "postBuild")],
        env=env,
        cwd=repo,
        timeout=600,
        what="binder/postBuild",
    )
    seconds["binder/postBuild"] = time.perf_counter() - start
    yield SimpleNamespace(
        root=root, repo=repo, venv=venv, python=venv / "bin" / "python", env=env, seconds=seconds
    )
    # About 2 GB, and pytest keeps the last three runs' temporary folders.
    shutil.rmtree(venv, ignore_errors=True)


_DRIVER = textwrap.dedent("""
    import sys, nbformat
    from nbclient import NotebookClient
    source, workdir, target = sys.argv[1:]
    nb = nbformat.read(source, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": workdir}}).execute()
    nbformat.write(nb, target)
""")


def _execute_in(binder_env, notebook: Path) -> nbformat.NotebookNode:
    """Run every cell with nbclient from the Binder environment; fail on the first error."""
    driver = binder_env.root / "execute.py"
    driver.write_text(_DRIVER)
    target = binder_env.root / f"executed-{notebook.name}"
    start = time.perf_counter()
    run_checked(
        [str(binder_env.python), str(driver), str(notebook), str(notebook.parent), str(target)],
        env=binder_env.env,
        cwd=notebook.parent,
        timeout=1200,
        what=f"executing {notebook.name}",
    )
    binder_env.seconds[f"execute {notebook.name}"] = time.perf_counter() - start
    executed = nbformat.read(target, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    return executed


_IDENTITY = """\
import os, sys, pathlib, importlib.metadata as md
import helpers
assert os.path.realpath(sys.prefix) == {venv!r}, sys.prefix
assert pathlib.Path(helpers.__file__).resolve().is_relative_to({repo!r}), helpers.__file__
pins = {pins!r}
wrong = {{name: md.version(name) for name, version in pins.items() if md.version(name) != version}}
assert not wrong, wrong
print("kernel ok")"""


@pytest.fixture(scope="module")
def executed(binder_env):
    """One kernel for the whole proof: the identity check as the first cell of the cheapest notebook."""
    # The cheapest notebook; its absence is a defect, not a reason to run something else.
    chosen = binder_env.repo / "notebooks" / f"{PREFERRED[0]}.ipynb"
    assert chosen.is_file(), f"notebooks/{chosen.name} is missing from the repository's files"
    pins = {
        name: spec.removeprefix("==")
        for (name, marker), spec in _requirements(BINDER / "requirements.txt").items()
        if spec.startswith("==") and (not marker or Requirement(f"x; {marker}").marker.evaluate())
    }
    nb = nbformat.read(chosen, as_version=4)
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            _IDENTITY.format(
                venv=os.path.realpath(binder_env.venv),
                repo=os.path.realpath(binder_env.repo),
                pins=pins,
            )
        ),
    )
    proof = chosen.with_name(f"_binder_proof_{chosen.name}")  # same folder: same working directory
    nbformat.write(nb, proof)
    return SimpleNamespace(name=chosen.name, notebook=_execute_in(binder_env, proof))


@pytest.mark.slow
def test_binder_kernel_is_the_new_environment(executed):
    assert executed.notebook.cells[0].outputs[0].text == "kernel ok\n"


@pytest.mark.slow
def test_binder_environment_executes_a_notebook(executed, binder_env):
    # _execute_in fails on a cell's error, so every cell of the notebook ran.
    assert len(executed.notebook.cells) > 1
    print(
        f"Binder proof ran {executed.name}; timings (s):",
        {k: round(v, 1) for k, v in binder_env.seconds.items()},
    )
