"""Student versions (``make student``): no solution code left, and they run to the end.

The proofs run on a small synthetic notebook written to ``tmp_path`` and on
every notebook in ``notebooks/``: structurally for every scenario notebook
here, and by executing the cheapest one whole in ``tests/test_assignments.py``
(otter-grader's student notebook, the same code as ``make student``, graded
with half of its exercises untouched, each of which reads "not attempted").
That the committed ``student/`` is this tool's output, and that every door a
student is shown opens it, is ``tests/test_student_doors.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from make_student import code_stub, is_solution, make_student  # noqa: E402

# Lines too generic to count as "solution code" if they survive (brackets, `else:`, ...).
_TRIVIAL = re.compile(r"^([\W_]*|pass|\.\.\.|else:|try:|finally:|return|break|continue)$")


def _lines(source: str) -> set[str]:
    return {line.strip() for line in source.splitlines()}


def solution_leaks(original, student) -> set[str]:
    """Non-trivial lines of the original's solution cells that appear in the student version.

    A line also written in a cell that is *not* a solution (say ``import numpy
    as np``) is not a leak. A ``def``/``class`` header is the exercise's
    interface, which the stub deliberately keeps; its body is the answer.
    """
    public = set().union(
        *[_lines(c.source) for c in original.cells if not is_solution(c)] or [set()]
    )
    secret = {
        line
        for c in original.cells
        if is_solution(c)
        for line in _lines(c.source)
        if not (
            _TRIVIAL.match(line)
            or line.startswith("#")
            or line in public
            or re.match(r"(async\s+)?(def|class)\s", line)
        )
    }
    shown = set().union(*[_lines(c.source) for c in student.cells] or [set()])
    return secret & shown


def run_until_first_stub(nb, workdir: Path) -> int:
    """Execute cells in order up to and including the first ``solution`` stub.

    Returns:
        How many cells ran. Fails the test, naming the cell, on the first error.
    """
    stubs = [i for i, c in enumerate(nb.cells) if is_solution(c)]
    last = stubs[0] if stubs else len(nb.cells) - 1
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells[: last + 1]):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as err:
                pytest.fail(
                    f"student version fails in cell {index} before the first exercise:\n{err}"
                )
    return last + 1


# --------------------------------------------------------------------------- synthetic notebook


def _code(source, tags=(), outputs=(), count=None):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    cell.outputs, cell.execution_count = (
        [nbformat.v4.new_output("stream", text=o) for o in outputs],
        count,
    )
    return cell


def _tagged(cell, tag):
    cell.metadata["tags"] = [tag]
    return cell


# The synthetic notebook's exercises, a course of its own (``check_exercise("tinycourse.lesson", …)``):
# written next to the notebook, where its kernel imports from.
TINY_ANSWERS = """
import numpy as np
from helpers.selfcheck import Exercise, Misconception

def _halve(x, *, exact=True):
    return x / 2

EXERCISES = {
    1: Exercise(hint="epochs count from 1", expected=lambda losses: int(np.argmin(losses)) + 1,
                misconceptions=[Misconception(lambda losses: int(np.argmin(losses)), "0-based")]),
    2: Exercise(kind="function", hint="divide", expected=lambda: _halve,
                cases=lambda: [((3.0,), {}), ((np.arange(4.0),), {"exact": False})],
                misconceptions=[Misconception(lambda: lambda x, **k: x * 2, "halve, not double")]),
}
"""


def write_tiny_course(folder: Path) -> None:
    """The package ``tinycourse.lesson`` with the synthetic notebook's answers, in ``folder``."""
    package = folder / "tinycourse" / "lesson"
    package.mkdir(parents=True)
    (folder / "tinycourse" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "answers.py").write_text(TINY_ANSWERS)


def synthetic_notebook():
    md = nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "widgets": {
                "application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}
            },
        }
    )
    nb.cells = [
        md("# A tiny lesson"),
        _code("import numpy as np\nfrom helpers.selfcheck import check_exercise", count=1),
        _code(
            "losses = np.array([0.9, 0.4, 0.7])\nprint(losses.min())", outputs=["0.4\n"], count=2
        ),
        _tagged(md("**Exercise 1.** At which epoch (1-based) is the loss lowest?"), "exercise"),
        _code(
            "best_epoch = int(np.argmin(losses)) + 1  # argmin is 0-based\nprint(best_epoch)",
            tags=["solution"],
            outputs=["2\n"],
            count=3,
        ),
        _code(
            'ok_1 = check_exercise("tinycourse.lesson", 1, best_epoch, losses=losses)',
            tags=["check"],
            outputs=["✅ Exercise 1: correct.\n"],
            count=4,
        ),
        _tagged(md("**Exercise 2.** Write `halve(x)` and the mean of the losses."), "exercise"),
        _code(
            "def halve(x, *, exact=True):\n    return x / 2\n\n"
            "mean_loss, spread = losses.mean(), np.ptp(losses)",
            tags=["solution"],
            count=5,
        ),
        _code('ok_2 = check_exercise("tinycourse.lesson", 2, halve)', tags=["check"], count=6),
        md("Because the checkpoint stores the weights *after* the update."),
    ]
    nb.cells[-1].metadata["tags"] = ["solution"]
    return nb


def test_solutions_become_stubs_and_everything_else_is_kept():
    original = synthetic_notebook()
    student = make_student(original)
    assert len(student.cells) == len(original.cells)
    for index, (before, after) in enumerate(zip(original.cells, student.cells)):
        assert after.cell_type == before.cell_type
        assert after.metadata.get("tags") == before.metadata.get("tags")  # stubs stay findable
        if not is_solution(before):
            assert after.source == before.source
        if after.cell_type == "code" and index >= 3:  # from the first exercise on: cleared
            assert after.outputs == [] and after.execution_count is None
        elif after.cell_type == "code":  # the story keeps its outputs, for GitHub to show
            assert (after.outputs, after.execution_count) == (
                before.outputs,
                before.execution_count,
            )
    assert student.cells[2].outputs and "widgets" not in student.metadata
    assert student.cells[4].source.splitlines()[1:] == ["best_epoch = ..."]
    # Only names a later cell uses: `mean_loss` and `spread` are the solution's scratch work.
    assert student.cells[7].source.splitlines() == [
        "# YOUR ANSWER HERE: write the body of the function, then run the check below.",
        "def halve(x, *, exact=True):",
        '    raise NotImplementedError("write the body of halve()")',
    ]
    assert code_stub("def f():\n    return 1\ng = f()").splitlines()[0] == (
        "# YOUR ANSWER HERE: replace each ... and write each function's body, then run the check below."
    )
    assert student.cells[-1].source == "*YOUR ANSWER HERE*"
    assert original.cells[2].outputs, "the input notebook must not be modified"
    assert solution_leaks(original, student) == set()
    assert make_student(student) == student, "running the tool twice must change nothing"
    nbformat.validate(student)


def test_leak_detector_can_fail():
    original = synthetic_notebook()
    student = make_student(original)
    student.cells[7].source += "\nmean_loss, spread = losses.mean(), np.ptp(losses)"
    assert solution_leaks(original, student) == {
        "mean_loss, spread = losses.mean(), np.ptp(losses)"
    }


@pytest.mark.parametrize(
    "source, expected",
    [
        ("x = 1", ["x = ..."]),
        ("a, (b, *c) = f()\nd.e = 2\nf[0] = 3", ["a = ...", "b = ...", "c = ..."]),
        ("for i in range(3):\n    total += i", ["i = ..."]),
        ("import numpy.linalg as la\nfrom math import pi", ["la = ...", "pi = ..."]),
        ("print(42)", ["..."]),
        ("%timeit f()\ny: int = 2", ["y = ..."]),
    ],
)
def test_code_stub_binds_what_the_solution_bound(source, expected):
    lines = code_stub(source).splitlines()
    assert lines[0].startswith("# YOUR ANSWER HERE") and lines[1:] == expected


def test_unparsable_solution_gets_the_raise_stub():
    assert code_stub("x = = 2") == "# YOUR CODE HERE\nraise NotImplementedError()"


def test_nbgrader_style_stub():
    student = make_student(synthetic_notebook(), stub="raise")
    assert student.cells[4].source == "# YOUR CODE HERE\nraise NotImplementedError()"
    with pytest.raises(ValueError, match="invalid `stub`: 'pass'"):
        make_student(synthetic_notebook(), stub="pass")


def test_student_version_runs_and_every_check_says_not_attempted(tmp_path):
    write_tiny_course(tmp_path)
    student = make_student(synthetic_notebook())
    assert run_until_first_stub(student, tmp_path) == 5
    # Run All on the stubbed notebook: no crash, and no check is fooled by a stub.
    student = make_student(synthetic_notebook())
    NotebookClient(
        student,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    errors = [
        (i, o.ename)
        for i, c in enumerate(student.cells)
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert errors == [], "a student version runs to the end"
    for check in (5, 8):
        verdicts = [
            o.data["text/html"]
            for o in student.cells[check].outputs
            if "text/html" in o.get("data", {})
        ]
        assert len(verdicts) == 1 and "not attempted yet" in verdicts[0], verdicts


def test_reference_of_the_synthetic_notebook_says_correct(tmp_path):
    """The synthetic course's own reference solutions pass its checks (so the test above means something)."""
    write_tiny_course(tmp_path)
    reference = synthetic_notebook()
    NotebookClient(
        reference,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    for check in (5, 8):
        html = [o.data["text/html"] for o in reference.cells[check].outputs if "data" in o]
        assert len(html) == 1 and "✅" in html[0], html


def test_command_line(tmp_path, capsys):
    import make_student as tool

    source = tmp_path / "lesson"
    source.mkdir()
    nbformat.write(synthetic_notebook(), source / "01_lesson.ipynb")
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "make_student.py"),
            "--out",
            str(tmp_path / "student"),
            str(source / "01_lesson.ipynb"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "3 solution cell(s) replaced" in out.stdout
    written = nbformat.read(tmp_path / "student" / "01_lesson.ipynb", as_version=4)
    assert solution_leaks(synthetic_notebook(), written) == set()
    for argv, message in (
        [["--out", str(source), str(source / "01_lesson.ipynb")], "refusing to overwrite"],
        [["--out", str(tmp_path / "s"), str(source / "*.ipynbx")], "no such notebook"],
    ):
        with pytest.raises(SystemExit) as exited:
            tool.main(argv)
        assert exited.value.code == 2 and message in capsys.readouterr().err


# --------------------------------------------------------------------------- the real notebooks

# Every notebook with exercises: the entry notebook and each scenario, by name (once a notebook
# exists, its absence is a defect, not a skip), and any other notebook whose cells are tagged
# `exercise` (notebook 06, the doctor's).
SCENARIO_NAMES = [
    "00_start_here",
    "01_checkpoint_mismatch",
    "02_validation_above_training",
    "03_fit_says_one",
    "04_resnet_batchnorm",
    "05_more_gaps",
]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SCENARIOS = [REPO / "notebooks" / f"{name}.ipynb" for name in SCENARIO_NAMES] + [
    p
    for p in NOTEBOOKS
    if p.stem not in SCENARIO_NAMES
    and any("exercise" in c.metadata.get("tags", []) for c in nbformat.read(p, 4).cells)
]
WITH_SOLUTIONS = [
    p for p in NOTEBOOKS if any(is_solution(c) for c in nbformat.read(p, as_version=4).cells)
]


def _ids(path):
    return path.name


def test_every_scenario_notebook_is_listed_and_present():
    missing = [p.name for p in SCENARIOS if not p.is_file()]
    assert missing == [], f"listed in SCENARIO_NAMES but missing: {missing}"


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_every_scenario_has_four_exercises_of_every_kind(path):
    """Issue 23: at least four exercises, among them a function to write and a number or choice."""
    from make_assignments import find_exercises

    from helpers.selfcheck import exercise

    found = find_exercises(nbformat.read(path, as_version=4))
    assert len(found) >= 4, (
        f"{path.name} has {len(found)} exercise(s); each of its ≥ 4 exercises is a "
        "markdown cell tagged `exercise`, a code cell tagged `solution` binding "
        "`answer_k` (or a prediction, or a function), and a check cell tagged `check`"
    )
    kinds = {exercise(e.scenario, e.number).kind for e in found}
    assert "function" in kinds, f"{path.name}: no write-the-mechanism exercise (kind='function')"
    assert kinds & {"number", "choice"}, f"{path.name}: no predict exercise (number or choice)"


@pytest.mark.parametrize("path", WITH_SOLUTIONS, ids=_ids)
def test_real_student_version_has_no_solution_code(path):
    original = nbformat.read(path, as_version=4)
    student = make_student(original)
    assert solution_leaks(original, student) == set()
    assert [c.cell_type for c in student.cells] == [c.cell_type for c in original.cells]
    assert all(
        a.source == b.source for a, b in zip(original.cells, student.cells) if not is_solution(a)
    )
    first = next(
        i for i, c in enumerate(original.cells) if "exercise" in c.metadata.get("tags", [])
    )
    for index, (before, after) in enumerate(zip(original.cells, student.cells)):
        if after.cell_type != "code":
            continue
        if index >= first or is_solution(before):
            assert not after.get("outputs") and after.get("execution_count") is None, index
        else:  # the story keeps its outputs, for GitHub to show
            assert after.outputs == before.outputs, index


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_real_student_version_runs_to_the_end_with_every_check_false(path):
    """Structurally, for every scenario; tests/test_assignments.py also executes one whole.

    The grader test runs the cheapest scenario's untouched student notebook
    (the same code cells as `make student`'s version) to the end and sees every
    self-check say "not yet". For the others, the same holds by construction,
    which this test checks: up to the first exercise the student version is
    the reference, which nbval executes; after it, no cell but a check cell
    reads a name a stub binds to `...`; each check receives such a name; and
    `check_exercise` returns False for `...` before computing anything.
    """
    from make_assignments import find_exercises

    from helpers.selfcheck import check_exercise, exercise, judge

    original = nbformat.read(path, as_version=4)
    student = make_student(original)
    found = find_exercises(original)
    exercise_cells = {i for e in found for i in (e.solution, e.check)}
    stubbed = {
        re.split(r" = |\(", line.removeprefix("def "))[0]
        for e in found
        for line in student.cells[e.solution].source.splitlines()
        if line.endswith(" = ...") or line.startswith("def ")
    }
    readers = [
        i
        for i, c in enumerate(original.cells[found[0].text :], found[0].text)
        if c.cell_type == "code"
        and i not in exercise_cells
        and stubbed & set(re.findall(r"[A-Za-z_]\w*", c.source))
    ]
    assert readers == [], (
        f"{path.name}: code cells {readers} read an exercise's answer outside its check "
        "cell, so the student version would not run as the reference does"
    )
    for found_exercise in found:
        scenario, number = found_exercise.scenario, found_exercise.number
        stub = student.cells[found_exercise.solution].source
        if f"def {found_exercise.answer}(" in stub:  # write the mechanism: the stub is a function
            namespace = {}  # annotations stay strings: the stub's signature may name notebook objects
            exec("from __future__ import annotations\n" + stub, namespace)
            answer = namespace[found_exercise.answer]
        else:
            assert f"{found_exercise.answer} = ..." in stub.splitlines(), (path.name, number, stub)
            answer = ...
            assert check_exercise(scenario, number, answer, show=False) is False
        if answer is ... or exercise(scenario, number).kind == "function":
            verdict = judge(exercise(scenario, number), answer)  # no context needed for a stub
            assert verdict.status == "not attempted", (path.name, number, verdict)
