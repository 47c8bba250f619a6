"""A cached virtual environment for an extra the kit does not install, beside the kit's own.

The kit's requirements stay free of extras such as JAX; the tests and the
benchmark that need one build it here, once, in a cache folder outside the
repository (``$XDG_CACHE_HOME/mind-the-gap``, keyed by the requirements, the
Python version and interpreter: any clone of the kit can share it). Its
``site-packages`` gets a ``.pth`` line that adds the environment named by
``$MIND_THE_GAP_KIT_SITE`` after its own, and :func:`cached_env` sets that to
the running (kit) environment: pip then finds the kit's packages installed and
adds only what is missing, and the extra's Python imports Keras, NumPy and
``helpers`` from the kit -- the same versions the rest of the suite tests. The
pattern is tests/test_assignments.py's (otter-grader's environment).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

PTH = (
    "import os, site; os.environ.get('MIND_THE_GAP_KIT_SITE') and "
    "site.addsitedir(os.environ['MIND_THE_GAP_KIT_SITE'])\n"
)


@dataclass
class ExtraEnv:
    """A built environment: its ``python``, the environment variables to run it with, and
    ``seconds`` it took to build (empty when it came from the cache)."""

    name: str
    python: Path
    env: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mind-the-gap"


def _run(args, *, env, cwd, timeout, what) -> str:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"{what} failed (exit {out.returncode}):\n{tail}")
    return out.stdout


def _requirements_text(path: Path) -> str:
    """The requirements and every file they pull in with -r/-c, for the cache key."""
    text = path.read_text()
    for line in text.splitlines():
        if line.startswith(("-r ", "-c ")):
            text += _requirements_text((path.parent / line[3:].strip()).resolve())
    return text


def cached_env(name: str, requirements: Path, *, timeout: int = 1800) -> ExtraEnv:
    """The environment ``name`` with ``requirements`` installed, built on first use.

    Args:
        name: A short name for the cache folder, e.g. ``"jax"``.
        requirements: A pip requirements file (``-c``/``-r`` lines are followed).
        timeout: Seconds allowed for ``pip install``. Defaults to 1800.

    Returns:
        An :class:`ExtraEnv`.

    Raises:
        RuntimeError: if building fails (the message ends with pip's last lines).
    """
    base = getattr(sys, "_base_executable", sys.executable)
    key = hashlib.sha256(
        f"{name} {_requirements_text(requirements)} {sys.version} {base}".encode()
    ).hexdigest()[:12]
    venv = cache_root() / f"{name}-{key}"
    python = venv / "bin" / "python"
    env = {
        k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PYTHONNOUSERSITE="1",
        MIND_THE_GAP_KIT_SITE=sysconfig.get_paths()["purelib"],
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    built = ExtraEnv(name, python, env)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{name}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build, whichever process comes first
        if (venv / "complete").is_file():
            return built
        start = time.perf_counter()
        shutil.rmtree(venv, ignore_errors=True)
        kw = dict(env=env, cwd=venv.parent)
        _run([base, "-m", "venv", str(venv)], timeout=300, what="python -m venv", **kw)
        site = _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            timeout=60,
            what="locating site-packages",
            **kw,
        ).strip()
        (Path(site) / "mind_the_gap_kit.pth").write_text(PTH)
        _run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements.resolve())],
            timeout=timeout,
            what=f"pip install -r {requirements.name}",
            **kw,
        )
        (venv / "complete").write_text(requirements.read_text())
        built.seconds[f"build the {name} environment"] = time.perf_counter() - start
    return built
