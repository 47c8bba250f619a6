"""Graded assignments: every notebook with exercises (00-05) in otter-grader's notebook format (``make assignments``).

Usage:
    python tools/make_assignments.py --out assignments notebooks/0[0-9]_*.ipynb

For each notebook this writes ``<out>/<name>/<name>.ipynb``, a *master
notebook* in otter-grader's assignment format (``otter assign``'s v1 format):
a raw ``# ASSIGNMENT CONFIG`` cell first, then the notebook as written, with
each exercise turned into one question::

    # BEGIN QUESTION            name: exercise_k, points: Exercise.points, all_or_nothing
    **Exercise k · …**          the cell tagged `exercise` (the question's text)
    # BEGIN SOLUTION
    one code cell:              a string literal between the BEGIN PROMPT and
      answer_k = ...            END PROMPT lines holds make_student's stub (what
                                the student sees), then BEGIN SOLUTION NO PROMPT,
      …                         the cell tagged `solution` verbatim, END SOLUTION
    # END SOLUTION
    # BEGIN TESTS
    assert answer_k is not ...  public test: an answer was given
    hidden test:                the check cell's own call, with show=False:
    assert check_exercise("<scenario>", k, answer_k, run=..., show=False)
    # END TESTS
    …                           the cells between the solution and the check,
    ok_k = check_exercise(…)    and the cell tagged `check`, kept for the student
    # END QUESTION

otter runs a question's tests after the last cell of the question, here the
check cell, so a predict-before-you-run exercise's experiment (the cells
between the prediction and its check) has run when its hidden test compares
the prediction with what it measured.

The hidden test is the self-check itself: the same function, the same
arguments, so the same tolerances (the scenario's ``answers.py``); nothing in
the test holds the expected value either. It grades every kind of exercise
the same way: a number or a prediction, a choice's letter, or a function the
student wrote (the answer is then the function, e.g.
``check_exercise("start", 2, logged_mean)``, run on the hidden cases; its
stub raises ``NotImplementedError`` and reads "not attempted yet"). A
question scores all its points or none (``all_or_nothing``), so an untouched
notebook scores zero and a notebook with one exercise solved scores exactly
that question's points.

The students' notebooks need no otter-grader: the config turns off otter's
own cells (``init_cell``, ``check_all_cell``, ``export_cell``, per-question
``check_cell``); the kit's check cells give the feedback, and students hand
in the ``.ipynb`` itself. Build and grade with otter-grader, which is not one
of the kit's requirements (see ``docs/assignments.md``)::

    otter assign assignments/01_checkpoint_mismatch/01_checkpoint_mismatch.ipynb \
        assignments/01_checkpoint_mismatch/dist
    otter run -a assignments/01_checkpoint_mismatch/dist/autograder/01_checkpoint_mismatch-autograder_*.zip \
        submission.ipynb
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_student import code_stub  # noqa: E402  (tools/ is not a package)

EXERCISE_TAG, SOLUTION_TAG, CHECK_TAG = "exercise", "solution", "check"
CONFIG = """\
# ASSIGNMENT CONFIG
name: {name}
# The kit's check cells are the students' feedback; their notebooks need no otter-grader.
init_cell: false
check_all_cell: false
export_cell: false
show_question_points: true
# otter assign runs the hidden tests on the reference notebook (pass --no-run-tests to skip).
run_tests: true
generate: true"""


def tags(cell) -> list[str]:
    """A cell's tags."""
    return cell.get("metadata", {}).get("tags", [])


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook, as its three tagged cells give it.

    Attributes:
        number: k in ``answer_k`` / ``ok_k``.
        scenario: The sub-package of ``helpers.scenarios`` the check names.
        text, solution, check: Indices of the ``exercise``, ``solution`` and
            ``check`` cells.
        call: The check cell's ``check_exercise(...)`` call with ``show=False``.
        answer: The answer argument's source, e.g. ``answer_1``.
    """

    number: int
    scenario: str
    text: int
    solution: int
    check: int
    call: str
    answer: str


def parse_check(source: str) -> tuple[str, int, str, str]:
    """Read a check cell: ``ok_k = check_exercise("<scenario>", k, answer_k, **context)``.

    The bare call, without ``ok_k =``, is accepted too (PLAN.md's contract: one call).

    Returns:
        ``(scenario, k, answer source, call source with show=False)``.

    Raises:
        ValueError: if the cell does anything else.

    Example:
        >>> parse_check('ok_2 = check_exercise("mnist", 2, answer_2, run=run0)')
        ('mnist', 2, 'answer_2', "check_exercise('mnist', 2, answer_2, run=run0, show=False)")
        >>> parse_check('check_exercise("start", 3, logged_mean)')[2]
        'logged_mean'
    """
    expected = 'a check cell that reads ok_k = check_exercise("<scenario>", k, answer_k, ...)'
    try:
        body = ast.parse(source).body
    except SyntaxError as err:
        raise ValueError(f"invalid check cell: {source!r}; expected {expected}") from err
    node = body[0] if len(body) == 1 else None
    call = node.value if isinstance(node, (ast.Assign, ast.Expr)) else None
    targets = [ast.unparse(t) for t in node.targets] if isinstance(node, ast.Assign) else None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "check_exercise"
        and len(call.args) == 3
        and all(isinstance(a, ast.Constant) for a in call.args[:2])
        and isinstance(call.args[0].value, str)
        and type(call.args[1].value) is int
        and targets in (None, [f"ok_{call.args[1].value}"])
        and all(k.arg not in (None, "show") for k in call.keywords)
    ):
        raise ValueError(f"invalid check cell: {source!r}; expected {expected}")
    quiet = copy.deepcopy(call)
    quiet.keywords.append(ast.keyword("show", ast.Constant(False)))
    return call.args[0].value, call.args[1].value, ast.unparse(call.args[2]), ast.unparse(quiet)


def find_exercises(nb) -> list[Exercise]:
    """Every exercise of a notebook: an ``exercise`` cell, then ``solution``, then ``check``.

    Raises:
        ValueError: naming the cell, if the tagged cells are out of order or a
            check cell is malformed.
    """
    found, text, solution = [], None, None
    for index, cell in enumerate(nb.cells):
        kinds = [t for t in (EXERCISE_TAG, SOLUTION_TAG, CHECK_TAG) if t in tags(cell)]
        if not kinds:
            continue
        kind = kinds[0]
        wanted = {
            EXERCISE_TAG: text is None and solution is None,
            SOLUTION_TAG: text is not None and solution is None and cell.cell_type == "code",
            CHECK_TAG: solution is not None and cell.cell_type == "code",
        }
        if len(kinds) > 1 or not wanted[kind]:
            raise ValueError(
                f"cell {index} (tagged {kinds}) is out of place: each exercise is a "
                "markdown cell tagged `exercise`, then a code cell tagged `solution`, "
                "then a code cell tagged `check`"
            )
        if kind == EXERCISE_TAG:
            text = index
        elif kind == SOLUTION_TAG:
            solution = index
        else:
            scenario, number, answer, call = parse_check(cell.source)
            found.append(Exercise(number, scenario, text, solution, index, call, answer))
            text = solution = None
    if text is not None or solution is not None:
        raise ValueError(f"cell {solution or text}: an exercise without its check cell")
    numbers = [e.number for e in found]
    if numbers != list(range(1, len(found) + 1)):
        raise ValueError(f"exercises are numbered {numbers}; expected 1, 2, … in order")
    return found


def exercise_points(scenario: str, number: int) -> int:
    """``Exercise.points`` from the scenario's ``answers.py``."""
    from helpers.selfcheck import exercises

    return exercises(scenario)[number].points


def _raw(source: str):
    return nbformat.v4.new_raw_cell(source)


def _code(source: str):
    return nbformat.v4.new_code_cell(source)


def question_cells(nb, exercise: Exercise, points: int, later: str) -> list:
    """The cells of one otter question, from the exercise's text to its check cell."""
    k, solution = exercise.number, nb.cells[exercise.solution]
    prompt = code_stub(solution.source, later)
    answer = copy.deepcopy(solution)
    answer.source = (
        f'""" # BEGIN PROMPT\n{prompt}\n"""; # END PROMPT\n'
        f"# BEGIN SOLUTION NO PROMPT\n{solution.source.rstrip()}\n# END SOLUTION"
    )
    public = f"assert {exercise.answer} is not ..., 'replace ... with your answer'"
    hidden = (
        '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
        f"from helpers.selfcheck import check_exercise\nassert {exercise.call}"
    )
    return (
        [
            _raw(
                f"# BEGIN QUESTION\nname: exercise_{k}\npoints: {points}\nall_or_nothing: true\ncheck_cell: false"
            )
        ]
        + [copy.deepcopy(c) for c in nb.cells[exercise.text : exercise.solution]]
        + [
            _raw("# BEGIN SOLUTION"),
            answer,
            _raw("# END SOLUTION"),
            _raw("# BEGIN TESTS"),
            _code(public),
            _code(hidden),
            _raw("# END TESTS"),
        ]
        # otter runs the tests after the question's last cell: the check, after any experiment.
        + [copy.deepcopy(c) for c in nb.cells[exercise.solution + 1 : exercise.check + 1]]
        + [_raw("# END QUESTION")]
    )


def make_assignment(nb, name: str, *, points: Callable[[str, int], int] = exercise_points):
    """The otter master notebook for one notebook (the input is not modified).

    Args:
        nb: A notebook read with ``nbformat`` (version 4).
        name: The assignment's name (the notebook's file stem).
        points: ``points(scenario, k)`` gives a question's points. Defaults to
            the scenario's ``Exercise.points``.

    Raises:
        ValueError: if the notebook has no exercises or they are malformed.
    """
    found = find_exercises(nb)
    if not found:
        raise ValueError(f"{name} has no exercises (cells tagged `exercise`, `solution`, `check`)")
    master = copy.deepcopy(nb)
    cells, start = [_raw(CONFIG.format(name=json.dumps(name)))], 0
    for exercise in found:
        cells += [copy.deepcopy(c) for c in nb.cells[start : exercise.text]]
        later = "\n".join(
            c.source
            for c in nb.cells[exercise.solution + 1 :]
            if c.cell_type == "code" and SOLUTION_TAG not in tags(c)
        )
        cells += question_cells(nb, exercise, points(exercise.scenario, exercise.number), later)
        start = exercise.check + 1
    master.cells = cells + [copy.deepcopy(c) for c in nb.cells[start:]]
    return master


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the master notebooks")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)} (is the glob empty?)")
    written = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if len(args.notebooks) > 1 and not any(EXERCISE_TAG in tags(c) for c in nb.cells):
            print(f"{path}: skipped (no cells tagged `exercise`)")  # e.g. a notebook of tools
            continue
        try:
            master = make_assignment(nb, path.stem)
        except ValueError as err:
            parser.error(f"{path}: {err}")
        target = args.out / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(master)
        nbformat.write(master, target)
        questions = sum(
            c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION") for c in master.cells
        )
        print(
            f"{target}: {questions} question(s); build with: otter assign {target} "
            f"{target.parent / 'dist'}"
        )
        written += 1
    if not written:
        parser.error("none of the notebooks has exercises")
    return 0


if __name__ == "__main__":
    sys.exit(main())
