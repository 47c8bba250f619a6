"""Open any notebook from anywhere: Colab and Binder badges, and a Colab-only install cell.

Usage:
    python tools/add_open_links.py notebooks/*.ipynb            (--owner NAME for your fork)
    python tools/add_open_links.py --check notebooks/*.ipynb    (exit 1 if a notebook needs it)

For each notebook, idempotently:

* the title cell (the first cell, markdown) ends with the badge line that
  opens *this* notebook in Colab and on Binder (added when missing, corrected
  when it names another notebook or account);
* right after the title cell comes one code cell tagged ``colab-install``
  (:data:`INSTALL`): on Colab it clones the kit's repository, installs it with
  ``pip install -e``, puts the repository on ``sys.path`` (a running kernel
  does not see a package installed in editable mode after it started) and
  moves into ``notebooks/``; anywhere else it does nothing and prints nothing,
  so nbval's committed (empty) output stays right.

Only the title cell and the install cell change; every other cell and output is left as it is.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

INSTALL_TAG = "colab-install"
OWNER = "OWNER"  # the README's placeholder account
REPOSITORY = "mind-the-gap"
INSTALL = """\
import sys  # On Colab only: install the kit from its repository. Elsewhere this cell does nothing.
if "google.colab" in sys.modules:
    import os, subprocess
    repo = "/content/{repository}"
    if not os.path.isdir(repo):
        subprocess.run(["git", "clone", "--depth=1", "https://github.com/{owner}/{repository}", repo], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", repo], check=True)
    sys.path.insert(0, repo)  # the running kernel does not see an editable install made after it started
    os.chdir(f"{{repo}}/notebooks")"""
BADGES = (
    "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/{owner}/{repository}/blob/main/notebooks/{name}) "
    "[![Binder](https://mybinder.org/badge_logo.svg)]"
    "(https://mybinder.org/v2/gh/{owner}/{repository}/main?urlpath=lab/tree/notebooks/{name})"
)


def badge_line(name: str, owner: str = OWNER) -> str:
    """The Colab and Binder badges for notebook ``name`` (a file name in ``notebooks/``).

    Example:
        >>> badge_line("01_x.ipynb").count("notebooks/01_x.ipynb")
        2
    """
    return BADGES.format(owner=owner, repository=REPOSITORY, name=name)


def install_source(owner: str = OWNER) -> str:
    """The ``colab-install`` cell's code."""
    return INSTALL.format(owner=owner, repository=REPOSITORY)


def _is_install(cell) -> bool:
    return INSTALL_TAG in cell.get("metadata", {}).get("tags", [])


def add_open_links(nb, name: str, *, owner: str = OWNER) -> list[str]:
    """Give ``nb`` its badge line and install cell, in place.

    Args:
        nb: A notebook read with ``nbformat`` (version 4).
        name: The notebook's file name, e.g. ``"01_checkpoint_mismatch.ipynb"``.
        owner: The GitHub account in the links. Defaults to the README's ``OWNER``.

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
    changes, title, badges = [], nb.cells[0], badge_line(name, owner)
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
    source = install_source(owner)
    if found == [1] and nb.cells[1].cell_type == "code" and nb.cells[1].source == source:
        return changes
    for index in reversed(found):
        del nb.cells[index]
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INSTALL_TAG]})
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
        "--check", action="store_true", help="change nothing; exit 1 if a notebook needs it"
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    needed = False
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        changes = add_open_links(nb, path.name, owner=args.owner)
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
