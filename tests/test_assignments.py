"""Graded assignments (``make assignments``), proved with the real grader.

The fast tests check the master notebooks' structure on a synthetic notebook
and on every scenario notebook. The slow tests install otter-grader -- not one
of the kit's requirements -- in a virtual environment of its own, kept in a
cache folder outside the repository (``$XDG_CACHE_HOME/mind-the-gap``, built
once per otter-grader and Python version, about a minute). Its
``site-packages`` gets a ``.pth`` line that adds the environment named by
``$MIND_THE_GAP_KIT_SITE`` after its own; the tests set it to the kit's, so the
kernel that grades imports otter-grader from the grader's environment and
Keras and ``helpers`` from the kit's: the same versions the notebooks are
tested with, and no second TensorFlow install. (Any clone of the kit can share
the cached environment.)

Then ``otter assign`` builds every scenario's assignment (all in one process:
importing otter-grader costs more than one build), and ``otter run`` (no
Docker) grades the cheapest scenario notebook once, with its odd-numbered
exercises solved by the reference solutions and the even ones left as the
student version has them: solved earns the question's points ("correct"),
untouched earns zero ("not attempted yet"), and the notebook runs to the end
with stubs in it. Grading executes the whole notebook, so the other notebooks
are not graded again: their hidden tests are the very calls of their check
cells with ``show=False`` (checked here), and nbval re-executes every
committed notebook and compares each check cell's verdict, which must read
"correct" (checked here too).

Every kind of exercise -- a number, a choice, a function the student writes
-- is graded on a small notebook of this file's own, whose answers live in a
package written next to it (``check_exercise("gradekinds.lesson", k, …)``),
so the proof does not depend on which exercises the scenario notebooks hold
today: two submissions give each kind full marks in one and zero in the
other, and each submission a partial total.
"""

from __future__ import annotations

import ast
import copy
import json
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from extra_env import cached_env  # noqa: E402
from make_assignments import find_exercises, main, make_assignment, parse_check  # noqa: E402
from make_student import make_student  # noqa: E402

from tests.conftest import run_checked  # noqa: E402
from tests.test_student import SCENARIOS, solution_leaks  # noqa: E402

# Cheapest Run-All first: the full grading matrix runs on the first notebook present.
CHEAPEST_FIRST = [
    "00_start_here",
    "01_checkpoint_mismatch",
    "03_fit_says_one",
    "05_more_gaps",
    "02_validation_above_training",
    "04_resnet_batchnorm",
    "06_the_doctor",
]


# --------------------------------------------------------------------------- synthetic notebook


def tagged(cell, tag):
    cell.metadata["tags"] = [tag]
    return cell


def synthetic_notebook():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    nb.cells = [
        md("# A tiny lesson"),
        code("from helpers.selfcheck import check_exercise\nlosses = [0.9, 0.4, 0.7]"),
        md("## Exercises"),
        tagged(md("**Exercise 1 · Lowest.** At which epoch? *Hint:* argmin."), "exercise"),
        tagged(code("import numpy as np\nanswer_1 = int(np.argmin(losses)) + 1"), "solution"),
        tagged(code('ok_1 = check_exercise("tiny", 1, answer_1, losses=losses)'), "check"),
        tagged(md("**Exercise 2 · Mean.** The mean loss? *Hint:* `sum`."), "exercise"),
        md("A second paragraph of the question."),
        tagged(code("total = sum(losses)\nanswer_2 = total / len(losses)"), "solution"),
        tagged(code('ok_2 = check_exercise("tiny", 2, answer_2, losses=losses)'), "check"),
        md("The end."),
    ]
    return nb


def raw_sources(nb):
    return [c.source for c in nb.cells if c.cell_type == "raw"]


def test_master_notebook_has_one_question_per_exercise():
    nb = synthetic_notebook()
    before = copy.deepcopy(nb)
    master = make_assignment(nb, "tiny", points=lambda scenario, k: {1: 1, 2: 3}[k])
    assert master.cells[0].cell_type == "raw" and master.cells[0].source.startswith(
        "# ASSIGNMENT CONFIG"
    )
    assert 'name: "tiny"' in master.cells[0].source and "init_cell: false" in master.cells[0].source
    questions = [s for s in raw_sources(master) if s.startswith("# BEGIN QUESTION")]
    assert questions == [
        "# BEGIN QUESTION\nname: exercise_1\npoints: 1\nall_or_nothing: true\ncheck_cell: false",
        "# BEGIN QUESTION\nname: exercise_2\npoints: 3\nall_or_nothing: true\ncheck_cell: false",
    ]
    # Every cell that is not a solution is kept, verbatim and in order; the check cells too.
    kept = [
        c.source
        for c in master.cells
        if c.cell_type != "raw"
        and "solution" not in c.metadata.get("tags", [])
        and not c.source.startswith(("assert ", '""" # BEGIN TEST CONFIG'))
    ]
    assert kept == [c.source for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    solution = next(c for c in master.cells if "solution" in c.metadata.get("tags", []))
    assert solution.source.splitlines() == [
        '""" # BEGIN PROMPT',
        "# YOUR ANSWER HERE: replace each ... with your answer, then run the check below.",
        "answer_1 = ...",
        '"""; # END PROMPT',
        "# BEGIN SOLUTION NO PROMPT",
        "import numpy as np",
        "answer_1 = int(np.argmin(losses)) + 1",
        "# END SOLUTION",
    ]
    tests = [
        c.source
        for c in master.cells
        if c.source.startswith(("assert ", '""" # BEGIN TEST CONFIG'))
    ]
    assert tests[:2] == [
        "assert answer_1 is not ..., 'replace ... with your answer'",
        '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\nfrom helpers.selfcheck import '
        "check_exercise\nassert check_exercise('tiny', 1, answer_1, losses=losses, show=False)",
    ]
    blocks = [s.split("\n")[0] for s in raw_sources(master)[1:]]
    assert (
        blocks
        == [
            "# BEGIN QUESTION",
            "# BEGIN SOLUTION",
            "# END SOLUTION",
            "# BEGIN TESTS",
            "# END TESTS",
            "# END QUESTION",
        ]
        * 2
    )
    assert nb == before, "the input notebook must not be modified"
    nbformat.validate(master)


@pytest.mark.parametrize(
    "source",
    [
        "ok_1 = check_exercise('tiny', 1, answer_1, show=True)",  # show is the tool's to set
        "ok_2 = check_exercise('tiny', 1, answer_1)",  # ok_k names another exercise
        "ok_1 = check_exercise('tiny', 1, answer_1) and True",
        "ok = check_exercise('tiny', 1, answer_1)",
        "ok_1 = check_exercise('tiny', 1, answer_1, 0.5)",  # an expected value in the cell
        "ok_1 = check_exercise('tiny', 1, answer_1, **context)",
        "ok_1 = check_exercise('tiny', 1, answer_1)\nprint(ok_1)",
        "ok_1 = check_exercise('tiny', 1.0, answer_1)",
        "ok_1 = check_exercise(",
    ],
)
def test_a_check_cell_is_one_call_and_nothing_else(source):
    with pytest.raises(ValueError, match="invalid check cell"):
        parse_check(source)


def test_misplaced_tags_are_named():
    nb = synthetic_notebook()
    nb.cells[4], nb.cells[5] = nb.cells[5], nb.cells[4]  # check before its solution
    with pytest.raises(ValueError, match="cell 4 .* is out of place"):
        find_exercises(nb)
    nb = synthetic_notebook()
    del nb.cells[9]
    with pytest.raises(ValueError, match="exercise without its check cell"):
        find_exercises(nb)
    nb = synthetic_notebook()
    nb.cells[9].source = nb.cells[9].source.replace("2", "3")
    with pytest.raises(ValueError, match=r"numbered \[1, 3\]"):
        find_exercises(nb)


def test_command_line(tmp_path, monkeypatch, capsys):
    import make_assignments

    nbformat.write(synthetic_notebook(), tmp_path / "01_tiny.ipynb")
    monkeypatch.setattr(
        make_assignments,
        "make_assignment",
        lambda nb, name: make_assignment(nb, name, points=lambda s, k: 2),
    )
    assert main(["--out", str(tmp_path / "out"), str(tmp_path / "01_tiny.ipynb")]) == 0
    assert "2 question(s)" in capsys.readouterr().out
    master = nbformat.read(tmp_path / "out" / "01_tiny" / "01_tiny.ipynb", as_version=4)
    assert sum(s.startswith("# BEGIN QUESTION") for s in raw_sources(master)) == 2
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "00_empty.ipynb")
    # Among others, a notebook without exercises (notebook 06, the doctor's tools) is skipped.
    both = [str(tmp_path / "00_empty.ipynb"), str(tmp_path / "01_tiny.ipynb")]
    assert main(["--out", str(tmp_path / "out"), *both]) == 0
    assert "00_empty.ipynb: skipped (no cells tagged `exercise`)" in capsys.readouterr().out
    for argv, message in (
        ([str(tmp_path / "00_empty.ipynb")], "has no exercises"),
        ([str(tmp_path / "nope.ipynb")], "no such notebook"),
    ):
        with pytest.raises(SystemExit) as exited:
            main(["--out", str(tmp_path / "out"), *argv])
        assert exited.value.code == 2 and message in capsys.readouterr().err


# --------------------------------------------------------------------------- the real notebooks


def _ids(path):
    return path.name


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_every_scenario_notebook_becomes_an_assignment(path):
    nb = nbformat.read(path, as_version=4)
    master = make_assignment(nb, path.stem)
    from helpers.selfcheck import exercises

    found = find_exercises(nb)
    assert len(found) >= 3 and len({e.scenario for e in found}) == 1
    table = exercises(found[0].scenario)
    assert sorted(table) == [e.number for e in found], (
        "each Exercise in answers.py has its exercise"
    )
    for exercise in found:
        # The hidden test is the check cell's own call: same arguments, show=False.
        call = ast.unparse(ast.parse(nb.cells[exercise.check].source).body[0].value)
        assert exercise.call == call[:-1] + ", show=False)"
        assert any(c.source.endswith(f"assert {exercise.call}") for c in master.cells)
        assert (
            f"points: {table[exercise.number].points}\n"
            in raw_sources(master)[1 + 6 * (exercise.number - 1)]
        )


@pytest.mark.parametrize("path", SCENARIOS, ids=_ids)
def test_committed_check_cells_say_correct(path):
    """nbval compares these verdicts on every run, so the reference passes its own hidden tests.

    (These are the instructor's notebooks; the student versions in ``student/`` have no verdicts at
    all, ``tests/test_student_doors.py``.)
    """
    nb = nbformat.read(path, as_version=4)
    for exercise in find_exercises(nb):
        cell = nb.cells[exercise.check]
        html = [o.data["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
        results = [
            o.data.get("text/plain") for o in cell.outputs if o.output_type == "execute_result"
        ]
        assert results in ([], ["True"]), f"{path.name} cell {exercise.check}: {results}"
        assert len(html) == 1 and "✅" in html[0] and "correct" in html[0], (
            f"{path.name} cell {exercise.check}: the committed verdict is {html}"
        )
        assert "not yet" not in html[0] and "not attempted" not in html[0], html
        assert "nbval-ignore-output" not in cell.metadata.get("tags", []), (
            "a check cell's verdict must be compared by nbval"
        )


# --------------------------------------------------------------------------- the real grader


@pytest.fixture(scope="module")
def otter(tmp_path_factory):
    """otter-grader in its own cached virtual environment, which also sees the kit's."""
    built = cached_env("otter", REPO / "tests" / "requirements-otter.txt")
    python, venv = built.python, built.python.parent.parent
    env = {
        **built.env,
        # Only the native kernel (the grader's own Python): no kernelspec from elsewhere.
        "JUPYTER_DATA_DIR": str(tmp_path_factory.mktemp("jupyter")),
        "JUPYTER_PATH": "",
    }
    seconds = dict(built.seconds)
    probe = run_checked(
        [
            str(python),
            "-c",
            "import otter, helpers, jupyter_client.kernelspec as k; "
            "print(k.KernelSpecManager().get_kernel_spec('python3').argv[0]); print(helpers.__file__)",
        ],
        env=env,
        cwd=venv.parent,
        timeout=300,
        what="importing otter and helpers",
    ).stdout.split()
    assert Path(probe[0]) == python, f"the grading kernel would run {probe[0]}, not {python}"
    assert Path(probe[1]).resolve().is_relative_to(REPO), (
        f"helpers comes from {probe[1]}, not this kit"
    )
    yield SimpleNamespace(venv=venv, python=python, env=env, seconds=seconds)
    print("otter timings (s):", {k: round(v, 1) for k, v in seconds.items()})


_RESULTS = textwrap.dedent("""
    import sys, json, dill, nbformat
    results = dill.load(open(sys.argv[1], "rb"))
    nbformat.write(results.notebook, sys.argv[2])
    json.dump({"total": results.total, "possible": results.possible,
               "scores": {name: r.score for name, r in results.results.items()}}, sys.stdout)
""")


_ASSIGN = textwrap.dedent("""
    import json, os, sys, time
    from otter.cli import cli  # the `otter` command itself, called once per master notebook
    seconds = {}
    for master in sys.argv[1:]:
        os.chdir(os.path.dirname(master))
        start = time.perf_counter()
        cli.main(["assign", "--no-run-tests", master, os.path.join(os.path.dirname(master), "dist")],
                 standalone_mode=False)
        seconds[master] = time.perf_counter() - start
    print(json.dumps(seconds))
""")


def otter_assign(otter, notebooks: dict, root: Path) -> dict[str, SimpleNamespace]:
    """``make assignments`` then ``otter assign`` for each ``{name: notebook}``; each built assignment's paths.

    All of them in one Python process, as ``otter assign`` would run them one by one: importing
    otter-grader costs more than building one assignment.
    """
    masters = {}
    for name, nb in notebooks.items():
        masters[name] = root / name / f"{name}.ipynb"
        masters[name].parent.mkdir(parents=True)
        nbformat.write(make_assignment(nb, name), masters[name])
    (root / "assign.py").write_text(_ASSIGN)
    out = run_checked(
        [str(otter.python), str(root / "assign.py"), *map(str, masters.values())],
        env=otter.env,
        cwd=root,
        timeout=600,
        what="otter assign",
    )
    seconds = json.loads(out.stdout.strip().splitlines()[-1])
    built = {}
    for name, master in masters.items():
        otter.seconds[f"otter assign {name}"] = seconds[str(master)]
        dist = master.parent / "dist"
        built[name] = SimpleNamespace(
            autograder=next((dist / "autograder").glob("*.zip")),
            student=dist / "student" / f"{name}.ipynb",
        )
    return built


def otterrun_checked(
    otter, assignment, submission: Path, label: str
) -> tuple[dict, nbformat.NotebookNode]:
    """Grade one submission with ``otter run`` (no Docker): its scores and the executed notebook."""
    workdir = submission.parent / f"graded-{label}"
    workdir.mkdir()
    start = time.perf_counter()
    run_checked(
        [
            str(otter.venv / "bin" / "otter"),
            "run",
            "--pickle-results",
            "-o",
            str(workdir),
            "-a",
            str(assignment.autograder),
            str(submission),
        ],
        env=otter.env,
        cwd=workdir,
        timeout=1800,
        what=f"otter run ({label})",
    )
    otter.seconds[f"otter run {submission.stem} ({label})"] = time.perf_counter() - start
    (workdir / "results.py").write_text(_RESULTS)
    out = run_checked(
        [
            str(otter.python),
            str(workdir / "results.py"),
            str(workdir / "results.pkl"),
            str(workdir / "executed.ipynb"),
        ],
        env=otter.env,
        cwd=workdir,
        timeout=300,
        what="reading otter's results",
    )
    scores = json.loads(out.stdout.strip().splitlines()[-1])
    graded = json.loads((workdir / "results.json").read_text())
    assert graded["tests"], graded
    return scores, nbformat.read(workdir / "executed.ipynb", as_version=4)


def _errors(nb):
    return [
        (c.source[:80], o.get("ename"))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def _verdicts(nb):
    return [
        " ".join(o.get("data", {}).get("text/html", "") for o in c.get("outputs", []))
        for c in nb.cells
        if "check" in c.metadata.get("tags", [])
    ]


@pytest.fixture(scope="module")
def built(otter, tmp_path_factory):
    """Every scenario's assignment, built once by ``otter assign``: ``{notebook stem: paths}``."""
    return otter_assign(
        otter,
        {path.stem: nbformat.read(path, as_version=4) for path in SCENARIOS},
        tmp_path_factory.mktemp("assignments"),
    )


@pytest.mark.slow
def test_otter_builds_every_assignment(built):
    for path in SCENARIOS:
        nb = nbformat.read(path, as_version=4)
        student = nbformat.read(built[path.stem].student, as_version=4)
        assert solution_leaks(nb, student) == set(), (
            f"{path.name}: solution code in otter's student notebook"
        )
        found = find_exercises(nb)
        with zipfile.ZipFile(built[path.stem].autograder) as archive:
            tests = {
                Path(n).stem: archive.read(n).decode()
                for n in archive.namelist()
                if n.startswith("tests/")
            }
        assert sorted(tests) == [f"exercise_{e.number}" for e in found]
        for exercise in found:
            assert exercise.call in tests[f"exercise_{exercise.number}"]


@pytest.mark.slow
def test_otter_grades_the_cheapest_notebook(otter, built):
    """One submission: the odd-numbered exercises solved, the even ones untouched, as a student got them.

    It shows otter's grading of both states in one run of the notebook: a solved exercise earns its
    points ("correct"), an untouched one zero ("not attempted yet", whatever its kind), and the
    notebook runs to the end with stubs in it. Each exercise's own reference solution is checked
    elsewhere: nbval compares every committed check cell's "correct" verdict, and the hidden test is
    that cell's call (above).
    """
    path = next(p for name in CHEAPEST_FIRST for p in SCENARIOS if p.stem == name)
    nb = nbformat.read(path, as_version=4)
    assignment = built[path.stem]
    from helpers.selfcheck import exercises

    found = find_exercises(nb)
    assert len(found) >= 2, "a solved and an untouched exercise need two exercises"
    points = {e.number: exercises(e.scenario)[e.number].points for e in found}
    kinds = {e.number: exercises(e.scenario)[e.number].kind for e in found}
    # The untouched student notebook is `make student`'s version, code cell for code cell.
    student = nbformat.read(assignment.student, as_version=4)
    assert [c.source for c in student.cells if c.cell_type == "code"] == [
        c.source for c in make_student(nb).cells if c.cell_type == "code"
    ]

    solved = {e.number for e in found if e.number % 2 == 1}
    answers = [c for c in student.cells if "solution" in c.metadata.get("tags", [])]
    assert len(answers) == len(found), "one answer cell per exercise in otter's student notebook"
    for cell, exercise in zip(answers, found):
        if exercise.number in solved:
            cell.source = nb.cells[exercise.solution].source
    submission = assignment.student.parent / "odd_solved" / assignment.student.name
    submission.parent.mkdir()
    nbformat.write(student, submission)

    scores, executed = otterrun_checked(otter, assignment, submission, "odd solved")
    assert scores["scores"] == {
        f"exercise_{k}": (p if k in solved else 0) for k, p in points.items()
    }, scores
    assert scores["total"] == sum(points[k] for k in solved)
    assert scores["possible"] == sum(points.values())
    assert _errors(executed) == [], "a notebook with untouched exercises must run to the end"
    verdicts = _verdicts(executed)
    assert len(verdicts) == len(found), verdicts
    for exercise, verdict in zip(found, verdicts):
        right = exercise.number in solved
        assert ("✅" in verdict and "correct" in verdict) == right, (exercise.number, verdict)
        assert ("⏳" in verdict and "not attempted yet" in verdict) == (not right), (
            exercise.number,
            kinds[exercise.number],
            verdict,
        )


# --------------------------------------------------------------------------- every kind, graded

KINDS_ANSWERS = """
import numpy as np
from helpers.selfcheck import Exercise, Misconception


def weighted_mean(values, sizes):
    values, sizes = np.asarray(values, float), np.asarray(sizes, float)
    return float((values * sizes).sum() / sizes.sum())


def plain_mean(values, sizes):
    return float(np.mean(values))


EXERCISES = {
    1: Exercise(
        hint="find the smallest loss, then count epochs from 1",
        expected=lambda measured: measured,
        misconceptions=[Misconception(lambda measured: measured - 1, "epochs count from 1")],
        atol=0.0,
        points=1,
    ),
    2: Exercise(
        kind="choice",
        hint="which of the two moves while the epoch runs?",
        expected=lambda: "b",
        choices={"a": "dropout", "b": "the weights"},
        misconceptions=[Misconception(lambda: "a", "dropout is on in both: it is not the difference")],
        points=2,
    ),
    3: Exercise(
        kind="function",
        hint="weight each batch by its number of samples",
        expected=lambda: weighted_mean,
        cases=lambda: [(([0.5, 1.0, 2.0], [32, 32, 8]), {}), (([1.0, 3.0], [10, 30]), {})],
        misconceptions=[Misconception(lambda: plain_mean, "a short last batch weighs less")],
        atol=1e-9,
        points=3,
    ),
}
"""
KINDS_SOLUTIONS = {
    1: "prediction_1 = 2",
    2: 'answer_2 = "b"',
    3: "def logged_mean(values, sizes):\n"
    "    total = sum(v * n for v, n in zip(values, sizes))\n"
    "    return total / sum(sizes)",
}
KINDS_EXPERIMENT = (
    "measured_1 = losses.index(min(losses)) + 1"  # after the prediction, before its check
)
KINDS_CHECKS = {
    1: 'ok_1 = check_exercise("gradekinds.lesson", 1, prediction_1, measured=measured_1)',
    2: 'check_exercise("gradekinds.lesson", 2, answer_2)',  # the bare call is a check cell too
    3: 'ok_3 = check_exercise("gradekinds.lesson", 3, logged_mean)',
}


def kinds_notebook(folder: Path):
    """One exercise of each kind, checked by the package ``gradekinds.lesson`` written in ``folder``."""
    package = folder / "gradekinds" / "lesson"
    package.mkdir(parents=True)
    (folder / "gradekinds" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "answers.py").write_text(KINDS_ANSWERS)
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    nb.cells = [
        md("# Every kind"),
        code(
            f"import sys\n\nsys.path.insert(0, {str(folder)!r})\n"
            "from helpers.selfcheck import check_exercise\n\nlosses = [0.9, 0.4, 0.7]"
        ),
        md("## Exercises"),
    ]
    questions = {
        1: "**Exercise 1 · Predict.** At which epoch (from 1) will the loss be lowest?",
        2: "**Exercise 2 · Choice.** What makes the logged loss differ? (a) dropout (b) the weights",
        3: "**Exercise 3 · Function.** Write `logged_mean(values, sizes)`.",
    }
    for k in (1, 2, 3):
        nb.cells += [
            tagged(md(questions[k]), "exercise"),
            tagged(code(KINDS_SOLUTIONS[k]), "solution"),
        ]
        if k == 1:
            nb.cells += [md("Now run the experiment."), code(KINDS_EXPERIMENT)]
        nb.cells.append(tagged(code(KINDS_CHECKS[k]), "check"))
    nb.cells.append(md("The end."))
    return nb


@pytest.fixture(scope="module")
def kinds(otter, tmp_path_factory):
    """The every-kind notebook, its assignment built by ``otter assign``."""
    folder = tmp_path_factory.mktemp("kinds")
    nb = kinds_notebook(folder)
    sys.path.insert(0, str(folder))  # make_assignment reads each question's points here too
    try:
        built = otter_assign(otter, {"every_kind": nb}, folder / "assignments")
    finally:
        sys.path.remove(str(folder))
    return SimpleNamespace(nb=nb, assignment=built["every_kind"])


def test_the_every_kind_notebook_passes_its_own_checks(tmp_path, monkeypatch):
    """Its reference solutions are right, and its wrong answers get their feedback (no grader)."""
    from helpers.selfcheck import judge
    from tests.exercise_checks import assert_scenario_exercises

    nb = kinds_notebook(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "check" not in cell.metadata.get("tags", []):
            exec(cell.source, namespace)
    references = {
        1: namespace["prediction_1"],
        2: namespace["answer_2"],
        3: namespace["logged_mean"],
    }
    assert_scenario_exercises(
        "gradekinds.lesson", references, {1: {"measured": namespace["measured_1"]}}, min_exercises=3
    )
    from gradekinds.lesson.answers import EXERCISES

    assert judge(EXERCISES[2], "A").message.startswith("not yet: dropout is on in both")


@pytest.mark.slow
def test_otter_grades_every_kind_full_zero_and_partial(otter, kinds):
    """Two submissions; each kind scores full marks in one and zero in the other.

    ============  =====================  ========================  =================
    submission    number (1 point)       choice (2 points)         function (3)
    ============  =====================  ========================  =================
    first         right: 1               a misconception: 0        untouched: 0
    second        wrong, unlisted: 0     right: 2                  right: 3
    ============  =====================  ========================  =================

    Totals 1/6 and 5/6: partial. Every check cell shows its verdict (correct, the misconception's
    feedback, not attempted, the hint) and the notebooks run to the end. The number is a prediction
    whose experiment runs between it and its check: its hidden test must run after the experiment.
    """
    nb, assignment = kinds.nb, kinds.assignment
    student = nbformat.read(assignment.student, as_version=4)
    assert solution_leaks(nb, student) == set(), "solution code in otter's student notebook"
    with zipfile.ZipFile(assignment.autograder) as archive:
        tests = {
            Path(n).stem: archive.read(n).decode()
            for n in archive.namelist()
            if n.startswith("tests/")
        }
    assert sorted(tests) == ["exercise_1", "exercise_2", "exercise_3"]
    for k, test in tests.items():  # hidden tests hold the check's call, never an answer
        number = int(k.removeprefix("exercise_"))
        assert f"check_exercise('gradekinds.lesson', {number}," in test
        assert not {line.strip() for line in KINDS_SOLUTIONS[number].splitlines()} & {
            line.strip() for line in test.splitlines()
        }
        assert "'b'" not in test and '"b"' not in test and "weighted_mean" not in test
    submissions = {
        "first": {1: KINDS_SOLUTIONS[1], 2: 'answer_2 = "A"'},
        "second": {1: "prediction_1 = 3", 2: KINDS_SOLUTIONS[2], 3: KINDS_SOLUTIONS[3]},
    }
    expected = {
        "first": (
            {"exercise_1": 1, "exercise_2": 0, "exercise_3": 0},
            ["✅", "not yet: dropout is on in both", "⏳"],
        ),
        "second": (
            {"exercise_1": 0, "exercise_2": 2, "exercise_3": 3},
            ["not yet. Hint: find the smallest loss", "✅", "✅"],
        ),
    }
    for label, answers in submissions.items():
        submitted = copy.deepcopy(student)
        cells = [c for c in submitted.cells if "solution" in c.metadata.get("tags", [])]
        assert len(cells) == 3, "one answer cell per exercise in otter's student notebook"
        for k, source in answers.items():
            cells[k - 1].source = source
        path = assignment.student.parent / label / assignment.student.name
        path.parent.mkdir()
        nbformat.write(submitted, path)
        scores, executed = otterrun_checked(otter, assignment, path, label)
        want_scores, want_verdicts = expected[label]
        assert scores["scores"] == want_scores, scores
        assert (scores["total"], scores["possible"]) == (sum(want_scores.values()), 6)
        assert 0 < scores["total"] < scores["possible"], "a partial score"
        assert _errors(executed) == [], f"{label}: the submission must run to the end"
        verdicts = _verdicts(executed)
        assert len(verdicts) == 3 and all(w in v for w, v in zip(want_verdicts, verdicts)), verdicts
