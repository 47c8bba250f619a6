"""Opening a notebook from anywhere: badges in the title cell, a Colab-only install cell.

The install cell is executed here with ``google.colab`` absent (it must do
nothing and print nothing) and present (``sys.modules`` faked; ``subprocess.run``,
``os.chdir`` and ``os.path.isdir`` replaced by recorders, so no network and no
clone).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from add_open_links import (  # noqa: E402
    INSTALL_TAG,
    add_open_links,
    badge_line,
    install_source,
    main,
)

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def lesson(title="# 01 · A lesson\n\nWhy the numbers differ."):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(title), nbformat.v4.new_code_cell("x = 1")]
    return nb


@pytest.fixture
def recorded(monkeypatch):
    """Replace everything the install cell touches on Colab with recorders."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(("run", args, kw)))
    monkeypatch.setattr(os, "chdir", lambda path: calls.append(("chdir", path)))
    monkeypatch.setattr(sys, "path", list(sys.path))
    return calls


def test_install_cell_does_nothing_outside_colab(recorded, monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    path_before = list(sys.path)
    exec(install_source(), {})
    assert recorded == [] and sys.path == path_before
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("cloned", [False, True])
def test_install_cell_installs_the_kit_on_colab(recorded, monkeypatch, capsys, cloned):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(
        os.path, "isdir", lambda path: cloned
    )  # re-running the cell must not clone again
    exec(install_source("someone"), {})
    repo = "/content/mind-the-gap"
    clone = [
        (
            "run",
            ["git", "clone", "--depth=1", "https://github.com/someone/mind-the-gap", repo],
            {"check": True},
        )
    ]
    assert recorded == clone * (not cloned) + [
        ("run", [sys.executable, "-m", "pip", "install", "--quiet", "-e", repo], {"check": True}),
        ("chdir", f"{repo}/notebooks"),
    ]
    assert sys.path[0] == repo, "the running kernel must find `helpers` without a restart"
    assert capsys.readouterr() == ("", "")


def test_a_student_version_links_to_itself(recorded, monkeypatch):
    """make_student points the links at student/: Colab opens it and the install cell moves there."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(os.path, "isdir", lambda path: True)
    exec(install_source("someone", folder="student"), {})
    assert recorded[-1] == ("chdir", "/content/mind-the-gap/student")
    nb = lesson()
    add_open_links(nb, "01_lesson.ipynb")
    assert add_open_links(nb, "01_lesson.ipynb", folder="student") == [
        "badge line corrected",
        "install cell replaced",
    ]
    assert nb.cells[0].source.count("/student/01_lesson.ipynb") == 2
    assert "/notebooks/" not in nb.cells[0].source + nb.cells[1].source


def test_badges_and_install_cell_are_added_once():
    nb = lesson()
    assert add_open_links(nb, "01_lesson.ipynb") == ["badge line added", "install cell added"]
    assert nb.cells[0].source == "# 01 · A lesson\n\nWhy the numbers differ.\n\n" + badge_line(
        "01_lesson.ipynb"
    )
    assert nb.cells[1].metadata["tags"] == [INSTALL_TAG] and nb.cells[1].source == install_source()
    assert nb.cells[2].source == "x = 1"
    again = copy.deepcopy(nb)
    assert add_open_links(again, "01_lesson.ipynb") == [] and again == nb, (
        "running twice changes nothing"
    )


def test_wrong_badges_and_stale_install_cells_are_corrected():
    nb = lesson("# 02 · Copied\n\n" + badge_line("01_lesson.ipynb") + "\n\nMore text.")
    stale = nbformat.v4.new_code_cell("!pip install old", metadata={"tags": [INSTALL_TAG]})
    nb.cells[1:1] = [nbformat.v4.new_markdown_cell("Set-up."), stale]
    assert add_open_links(nb, "02_copied.ipynb", owner="me") == [
        "badge line corrected",
        "install cell replaced",
    ]
    assert nb.cells[0].source == "# 02 · Copied\n\n\nMore text.\n\n" + badge_line(
        "02_copied.ipynb", "me"
    )
    assert [c.source for c in nb.cells[1:]] == [install_source("me"), "Set-up.", "x = 1"]
    with pytest.raises(ValueError, match="first cell must be the markdown title"):
        add_open_links(nbformat.v4.new_notebook(), "03_empty.ipynb")


def test_command_line(tmp_path, capsys):
    nbformat.write(lesson(), tmp_path / "01_lesson.ipynb")
    assert main(["--check", str(tmp_path / "01_lesson.ipynb")]) == 1
    assert "not written: --check" in capsys.readouterr().out
    assert main([str(tmp_path / "01_lesson.ipynb")]) == 0
    assert main(["--check", str(tmp_path / "01_lesson.ipynb")]) == 0
    assert "up to date" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize(
    "path", sorted((REPO / "student").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name
)
def test_every_student_version_opens_itself_from_anywhere(path):
    nb = nbformat.read(path, as_version=4)
    assert add_open_links(copy.deepcopy(nb), path.name, folder="student") == [], (
        f"run `make student` ({path.name}'s badges or install cell do not open student/)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_opens_from_anywhere(path):
    nb = nbformat.read(path, as_version=4)
    assert add_open_links(copy.deepcopy(nb), path.name) == [], (
        f"run `python tools/add_open_links.py notebooks/*.ipynb` ({path.name} is missing its badges or "
        "its install cell)"
    )
    assert not nb.cells[1].get("outputs"), "outside Colab the install cell prints nothing"
