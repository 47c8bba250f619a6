"""Open any notebook from anywhere: Colab and Binder badges, and a Colab-only install cell.

Usage:
    python tools/add_open_links.py notebooks/*.ipynb            (--owner NAME for your fork)
    python tools/add_open_links.py --check notebooks/*.ipynb    (exit 1 if a notebook needs it)

For each notebook, idempotently:

* the title cell (the first cell, markdown) ends with the badge line that
  opens *this* notebook in Colab and on Binder (added when missing, corrected
  when it names another notebook, folder or account);
* right after the title cell comes one code cell tagged ``colab-install``
  (:data:`INSTALL`): on Colab it clones the kit's repository, installs it with
  ``pip install -e``, puts the repository on ``sys.path`` (a running kernel
  does not see a package installed in editable mode after it started) and
  moves into the notebook's folder; anywhere else it does nothing and prints
  nothing, so nbval's committed (empty) output stays right.

The links name the folder the notebook lives in (``--folder``, default
``notebooks``): the instructor's notebooks link to themselves, and
``tools/make_student.py`` gives each student version links to ``student/``,
the folder every student door opens.

Only the title cell and the install cell change; every other cell and output is left as it is.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

INSTALL_TAG = "colab-install"
OWNER = "OWNER"  # the README's placeholder account
REPOSITORY = "mind-the-gap"
# As `ruff format` writes it in the notebooks (the clone line wraps as it does for the account
# OWNER; another account's line is as valid, whatever its length).
INSTALL = """\
import sys  # On Colab only: install the kit from its repository. Elsewhere this cell does nothing.

if "google.colab" in sys.modules:
    import os
    import subprocess

    repo = "/content/{repository}"
    if not os.path.isdir(repo):
        subprocess.run(
            ["git", "clone", "--depth=1", "https://github.com/{owner}/{repository}", repo], check=True
        )
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", repo], check=True)
    sys.path.insert(
        0, repo
    )  # the running kernel does not see an editable install made after it started
    os.chdir(f"{{repo}}/{folder}")"""
BADGES = (
    "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/{owner}/{repository}/blob/main/{folder}/{name}) "
    "[![Binder](https://mybinder.org/badge_logo.svg)]"
    "(https://mybinder.org/v2/gh/{owner}/{repository}/main?urlpath=lab/tree/{folder}/{name})"
)
_OWNER_IN_BADGE = re.compile(r"colab\.research\.google\.com/github/([^/\s)]+)/")


def badge_line(name: str, owner: str = OWNER, folder: str = "notebooks") -> str:
    """The Colab and Binder badges for notebook ``name`` in ``folder``.

    Example:
        >>> badge_line("01_x.ipynb").count("notebooks/01_x.ipynb")
        2
        >>> badge_line("01_x.ipynb", folder="student").count("student/01_x.ipynb")
        2
    """
    return BADGES.format(owner=owner, repository=REPOSITORY, name=name, folder=folder)


def install_source(owner: str = OWNER, folder: str = "notebooks") -> str:
    """The ``colab-install`` cell's code, for a notebook in ``folder``."""
    return INSTALL.format(owner=owner, repository=REPOSITORY, folder=folder)


def badge_owner(nb) -> str | None:
    """The GitHub account the title cell's Colab badge names, or None without a badge."""
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        return None
    found = _OWNER_IN_BADGE.search(nb.cells[0].source)
    return found.group(1) if found else None


def _is_install(cell) -> bool:
    return INSTALL_TAG in cell.get("metadata", {}).get("tags", [])


def add_open_links(nb, name: str, *, owner: str = OWNER, folder: str = "notebooks") -> list[str]:
    """Give ``nb`` its badge line and install cell, in place.

    Args:
        nb: A notebook read with ``nbformat`` (version 4).
        name: The notebook's file name, e.g. ``"01_checkpoint_mismatch.ipynb"``.
        owner: The GitHub account in the links. Defaults to the README's ``OWNER``.
        folder: The repository folder the notebook is opened from. Defaults
            to ``"notebooks"``; the student versions use ``"student"``.

    Returns:
        What changed, one phrase per change; empty if the notebook was already right.

    Raises:
        ValueError: if the first cell is not a markdown title.
    """
    if (
        not nb.cells
        or nb.cells[0].cell_type != "markdown"
        or not nb.cells[0].source.startswith("# ")
    ):
        raise ValueError(f"{name}: the first cell must be the markdown title ('# …')")
    changes, title, badges = [], nb.cells[0], badge_line(name, owner, folder)
    lines = title.source.rstrip("\n").split("\n")
    old = [
        i
        for i, line in enumerate(lines)
        if "colab-badge.svg" in line or "mybinder.org/badge" in line
    ]
    if [lines[i] for i in old] != [badges] or old != [len(lines) - 1]:
        lines = [line for i, line in enumerate(lines) if i not in old]
        while lines and not lines[-1].strip():
            lines.pop()
        title.source = "\n".join(lines + ["", badges])
        changes.append("badge line corrected" if old else "badge line added")
    found = [i for i, cell in enumerate(nb.cells) if _is_install(cell)]
    source = install_source(owner, folder)
    if found == [1] and nb.cells[1].cell_type == "code" and nb.cells[1].source == source:
        return changes
    old_id = nb.cells[found[0]].get("id") if found else None
    for index in reversed(found):
        del nb.cells[index]
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INSTALL_TAG]})
    if old_id:  # the same cell, rewritten: a fresh random id would make every rebuild differ
        cell.id = old_id
    nb.cells.insert(1, cell)
    changes.append("install cell replaced" if found else "install cell added")
    return changes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--owner", default=OWNER, help=f"GitHub account in the links (default: {OWNER})"
    )
    parser.add_argument(
        "--folder",
        default="notebooks",
        help="repository folder the links open (default: notebooks; make_student uses student)",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a notebook needs it"
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    needed = False
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        changes = add_open_links(nb, path.name, owner=args.owner, folder=args.folder)
        needed |= bool(changes)
        if changes and not args.check:
            nbformat.write(nb, path)
        print(
            f"{path}: {', '.join(changes) if changes else 'up to date'}"
            + (" (not written: --check)" if changes and args.check else "")
        )
    return int(needed and args.check)


if __name__ == "__main__":
    sys.exit(main())
