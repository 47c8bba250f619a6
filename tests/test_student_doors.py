"""No answer at a student door: every notebook a student is pointed to is a student version.

The doors: every notebook the README links to (its tables, its Colab and
Binder badges, and so Binder's start page, the badges' ``urlpath``), every
notebook ``make lab`` serves (the Makefile's ``LAB_ROOT``), every notebook in
``student/``, and the badges in each of those notebooks' title cells. The
instructor's reference notebooks (``notebooks/``, solutions filled in, every
check saying correct) are not among them.

A door fails when it holds a line of a reference solution (the same
detector as ``tests/test_student.py``), or an output that says an answer is
correct (a ✅ anywhere, or "correct" in a check cell's output). The
committed ``student/`` must also be byte for byte what ``make student`` builds
from the committed ``notebooks/``: after changing a notebook, run
``make student`` and commit ``student/``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
STUDENT = REPO / "student"
NOTEBOOKS = REPO / "notebooks"
sys.path.insert(0, str(REPO / "tools"))
from make_student import make_student  # noqa: E402

from tests.test_student import solution_leaks, synthetic_notebook  # noqa: E402

# A link to a notebook in the repository: relative, on GitHub or Colab (".../blob/main/<path>"),
# or on Binder ("...?urlpath=lab/tree/<path>").
_LINK = re.compile(r"\]\(([^)\s]+?\.ipynb)\)")
_PATH = re.compile(r"(?:/blob/[^/]+/|urlpath=(?:lab/tree|tree|notebooks)/|^)([\w./-]+\.ipynb)$")


def linked_notebooks(markdown: str, repo: Path = REPO) -> list[Path]:
    """The repository notebooks a markdown text links to, in order.

    Example:
        >>> text = (
        ...     "[a](notebooks/01_x.ipynb) [![b](b.svg)](https://colab.research.google.com/"
        ...     "github/me/kit/blob/main/student/01_x.ipynb) [c](https://mybinder.org/v2/gh/"
        ...     "me/kit/main?urlpath=lab/tree/student/02_y.ipynb)"
        ... )
        >>> [p.relative_to(REPO).as_posix() for p in linked_notebooks(text)]
        ['notebooks/01_x.ipynb', 'student/01_x.ipynb', 'student/02_y.ipynb']
    """
    found = []
    for link in _LINK.findall(markdown):
        match = _PATH.search(link)
        if match:
            found.append(repo / match.group(1).removeprefix("./"))
    return found


def lab_root(repo: Path = REPO) -> Path:
    """The folder ``make lab`` serves: the Makefile's ``LAB_ROOT``."""
    makefile = (repo / "Makefile").read_text()
    match = re.search(r"^LAB_ROOT\s*\?=\s*(\S+)", makefile, re.MULTILINE)
    assert match, "the Makefile sets LAB_ROOT ?= <the folder make lab serves>"
    assert "--ServerApp.root_dir=$(LAB_ROOT)" in makefile
    return repo / match.group(1)


def student_doors(repo: Path = REPO) -> dict[Path, str]:
    """Every door, ``{notebook: where a student finds the way to it}``."""
    doors: dict[Path, str] = {}
    for path in linked_notebooks((repo / "README.md").read_text(), repo):
        doors.setdefault(path, "README.md")
    for text in sorted(p for p in (repo / "binder").glob("*") if p.is_file()):
        for path in linked_notebooks(text.read_text(errors="replace"), repo):
            doors.setdefault(path, f"binder/{text.name}")
    for path in sorted(lab_root(repo).glob("*.ipynb")):
        doors.setdefault(path, "make lab")
    for path in sorted((repo / "student").glob("*.ipynb")):
        doors.setdefault(path, "student/")
    for path in [p for p in doors if p.is_file()]:  # the badges inside a door lead on
        title = nbformat.read(path, as_version=4).cells[0]
        markdown = title.source if title.cell_type == "markdown" else ""
        for target in linked_notebooks(markdown, repo):
            doors.setdefault(target, f"the badges of {path.relative_to(repo)}")
    return doors


def says_correct(nb) -> list[str]:
    """Outputs that tell a student an answer is right, as ``"cell i: text"``."""
    found = []
    for index, cell in enumerate(nb.cells):
        check = "check" in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            text = " ".join(
                str(value) for value in [output.get("text", ""), *output.get("data", {}).values()]
            )
            if "✅" in text or (check and re.search(r"\bcorrect\b", text, re.IGNORECASE)):
                found.append(f"cell {index}: {text[:120]!r}")
    return found


def door_problems(door, reference) -> list[str]:
    """What a student at this door would see of the answers (empty when nothing)."""
    problems = [f"solution code: {line!r}" for line in sorted(solution_leaks(reference, door))]
    return problems + [f"a check says correct in {where}" for where in says_correct(door)]


# --------------------------------------------------------------------------- the detector


def test_the_detector_finds_a_solution_and_a_tick():
    reference = synthetic_notebook()
    reference.cells[5].outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": "<div>✅ <b>Exercise 1</b>: correct. </div>"}
        )
    ]
    leaking = door_problems(reference, reference)  # the reference itself as a door
    assert any(p.startswith("solution code: 'best_epoch = int(np.argmin") for p in leaking)
    assert any(p.startswith("a check says correct in cell 5") for p in leaking)
    student = make_student(reference)
    assert door_problems(student, reference) == []
    student.cells[2].outputs = [nbformat.v4.new_output("stream", text="✅ correct\n")]
    assert door_problems(student, reference) == ["a check says correct in cell 2: '✅ correct\\n'"]


def test_every_door_is_found(tmp_path):
    """A README that links the instructor's notebooks makes them doors, which then fail."""
    readme = (
        "| [`01`](notebooks/01_x.ipynb) | [![Binder](b.svg)](https://mybinder.org/v2/gh/o/r/"
        "main?urlpath=lab/tree/student/01_x.ipynb) |"
    )
    (tmp_path / "README.md").write_text(readme)
    (tmp_path / "binder").mkdir()
    (tmp_path / "Makefile").write_text(
        "LAB_ROOT ?= student\n\tjupyter lab --ServerApp.root_dir=$(LAB_ROOT)\n"
    )
    (tmp_path / "student").mkdir()
    badges = (
        "# 02\n\n[![Colab](c.svg)](https://colab.research.google.com/github/o/r/blob/main/"
        "student/02_y.ipynb)"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(badges)])
    nbformat.write(nb, tmp_path / "student" / "03_z.ipynb")
    assert {
        p.relative_to(tmp_path).as_posix(): how for p, how in student_doors(tmp_path).items()
    } == {
        "notebooks/01_x.ipynb": "README.md",
        "student/01_x.ipynb": "README.md",
        "student/03_z.ipynb": "make lab",
        "student/02_y.ipynb": "the badges of student/03_z.ipynb",
    }


# --------------------------------------------------------------------------- the real doors


def _door_ids(path):
    return path.relative_to(REPO).as_posix()


DOORS = student_doors()


def test_student_versions_are_committed_and_the_doors_open_them():
    assert sorted(p.name for p in STUDENT.glob("*.ipynb")) == sorted(
        p.name for p in NOTEBOOKS.glob("*.ipynb")
    ), "student/ holds one student version per notebook: run `make student`"
    assert lab_root() == STUDENT, "make lab opens student/"
    outside = {
        p.relative_to(REPO).as_posix(): how for p, how in DOORS.items() if p.parent != STUDENT
    }
    assert outside == {}, f"these doors open something other than student/: {outside}"
    missing = [p.relative_to(REPO).as_posix() for p in DOORS if not p.is_file()]
    assert missing == [], f"linked but missing: {missing} (run `make student`)"


@pytest.mark.parametrize("door", sorted(DOORS), ids=_door_ids)
def test_no_answer_at_a_student_door(door):
    if not door.is_file():
        pytest.fail(f"{_door_ids(door)} (linked from {DOORS[door]}) does not exist")
    reference = NOTEBOOKS / door.name
    nb = nbformat.read(door, as_version=4)
    problems = door_problems(
        nb, nbformat.read(reference, as_version=4) if reference.is_file() else nb
    )
    assert problems == [], f"{_door_ids(door)} (linked from {DOORS[door]}): {problems}"


def test_committed_student_versions_are_a_fresh_build(tmp_path):
    """``student/`` is exactly what ``make student`` writes from ``notebooks/`` (no execution)."""
    subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "make_student.py"),
            "--out",
            str(tmp_path),
            *map(str, sorted(NOTEBOOKS.glob("*.ipynb"))),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    fresh = {p.name: p.read_bytes() for p in tmp_path.glob("*.ipynb")}
    committed = {p.name: p.read_bytes() for p in STUDENT.glob("*.ipynb")}
    stale = sorted(n for n in fresh.keys() | committed.keys() if fresh.get(n) != committed.get(n))
    assert stale == [], f"student/ is out of date for {stale}: run `make student` and commit it"
