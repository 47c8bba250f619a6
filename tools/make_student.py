"""Student versions of the notebooks: reference solutions replaced by stubs, exercise outputs cleared.

Usage:
    python tools/make_student.py --out student notebooks/*.ipynb   (``make student``)

The committed ``notebooks/`` are the instructor's reference: solutions filled
in, every check saying correct, nbval-tested. ``student/`` is what every
student door opens (the README's table and badges, Binder, ``make lab``); it
is committed too, and ``tests/test_student_doors.py`` fails when it differs
from a fresh build -- run ``make student`` after changing a notebook.

An exercise is three tagged cells: the question (markdown, ``exercise``), the
reference solution (code, ``solution``, binding ``answer_k``, a prediction
``prediction_k`` or a function) and the self-check (code, ``check``:
``ok_k = check_exercise(...)``). In the student version

* each code cell tagged ``solution`` becomes a stub (below);
* every code cell from the first cell tagged ``exercise`` to the end loses
  its outputs and execution count: a check's ✅, a solution's printout, and
  the measured result of a predict-before-you-run experiment would each give
  an answer away;
* the story before the exercises keeps its outputs, so GitHub shows the plots
  and tables without running anything;
* the notebook's saved widget state is removed (an Output widget's state can
  hold any cell's plot);
* the Colab and Binder badges and the Colab install cell
  (``tools/add_open_links.py``) point at the student version itself
  (``--folder``, default ``student``), so a badge never leads a student back
  to a reference solution.

Every other cell is kept as written. The stub keeps the ``solution`` tag, so
the student version shows where answers go and running this tool on it again
changes nothing. ``tools/make_assignments.py`` uses the same stubs for
otter-grader's prompts.

The default stub binds to ``...`` (Python's Ellipsis) each name the solution
defined that a later cell uses -- typically the answer the self-check reads;
the solution's scratch variables are left out, since their names would hint at
the method. For example::

    # YOUR ANSWER HERE: replace each ... with your answer, then run the check below.
    answer_1 = ...

Why not ``raise NotImplementedError()``: a student who presses Run All then
still reaches every exercise, and each self-check says "not attempted yet"
(``helpers.selfcheck.check_exercise`` reads Ellipsis so) instead of the run
stopping at the first exercise or the check failing with a ``NameError``. A
solution that defines a function gets a stub with the same signature whose
body raises ``NotImplementedError``, which the check also reads as "not
attempted yet". Pass ``--stub raise`` for nbgrader's own convention
(``# YOUR CODE HERE`` + ``raise NotImplementedError()``). Markdown solutions
become *YOUR ANSWER HERE*.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from add_open_links import INSTALL_TAG, OWNER, add_open_links, badge_owner  # noqa: E402

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
CODE_HEADER = "# YOUR ANSWER HERE: replace each ... with your answer, then run the check below."
FUNCTION_HEADER = "# YOUR ANSWER HERE: write the body of the function, then run the check below."
BOTH_HEADER = (
    "# YOUR ANSWER HERE: replace each ... and write each function's body, then run the check below."
)
RAISE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
MARKDOWN_STUB = "*YOUR ANSWER HERE*"


def is_solution(cell) -> bool:
    """Whether a cell carries the ``solution`` tag."""
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def first_exercise(nb) -> int:
    """The index of the first cell tagged ``exercise``; ``len(nb.cells)`` if there is none."""
    return next(
        (
            i
            for i, cell in enumerate(nb.cells)
            if EXERCISE_TAG in cell.get("metadata", {}).get("tags", [])
        ),
        len(nb.cells),
    )


def _targets(node) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [name for element in node.elts for name in _targets(element)]
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return []  # attribute or subscript: binds no new name


def _bound(statement) -> list[str]:
    """Names a top-level statement binds, in order (functions handled by the caller)."""
    if isinstance(statement, ast.Assign):
        return [n for target in statement.targets for n in _targets(target)]
    if isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
        return _targets(statement.target)
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        return _targets(statement.target)
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        return [
            n
            for item in statement.items
            if item.optional_vars
            for n in _targets(item.optional_vars)
        ]
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in statement.names]
    if isinstance(statement, ast.ClassDef):
        return [statement.name]
    if isinstance(statement, (ast.If, ast.Try)):  # names bound in either branch
        inner = statement.body + statement.orelse + getattr(statement, "finalbody", [])
        inner += [s for handler in getattr(statement, "handlers", []) for s in handler.body]
        return [n for s in inner for n in _bound(s)]
    return []


def code_stub(source: str, used_later: str | None = None) -> str:
    """The stub for one solution code cell (see the module docstring).

    Args:
        source: The solution's code.
        used_later: Code of the cells that follow; only names it mentions get a
            stub line. Defaults to None, meaning every name the solution binds.
    """
    # IPython magics and shell escapes are not Python; they never bind names.
    python = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return RAISE_STUB
    mentioned = None if used_later is None else set(re.findall(r"[A-Za-z_]\w*", used_later))
    lines, seen = [CODE_HEADER], {"_"}
    for statement in tree.body:
        functions = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
        for name in [statement.name] if functions else _bound(statement):
            if name in seen or (mentioned is not None and name not in mentioned):
                continue
            seen.add(name)
            if functions:
                keyword = "async def" if isinstance(statement, ast.AsyncFunctionDef) else "def"
                lines += [
                    f"{keyword} {name}({ast.unparse(statement.args)}):",
                    f'    raise NotImplementedError("write the body of {name}()")',
                ]
            else:
                lines.append(f"{name} = ...")
    if len(lines) == 1:
        lines.append("...")
    defines = any(line.startswith(("def ", "async def ")) for line in lines)
    binds = any(not line.startswith((" ", "def ", "async def ", "#")) for line in lines)
    lines[0] = BOTH_HEADER if defines and binds else FUNCTION_HEADER if defines else CODE_HEADER
    return "\n".join(lines)


def make_student(nb, *, stub: str = "ellipsis", name: str | None = None, folder: str = "student"):
    """A student copy of a notebook (the input is not modified; see the module docstring).

    Args:
        nb: A notebook read with ``nbformat`` (version 4).
        stub: ``"ellipsis"`` (names bound to ``...``) or ``"raise"`` (nbgrader's
            ``raise NotImplementedError()``). Defaults to ``"ellipsis"``.
        name: The notebook's file name. When given, and the notebook has its
            open links (a ``colab-install`` cell), they are pointed at
            ``folder/name``. Defaults to None: links left as they are.
        folder: The folder the student versions are opened from. Defaults to
            ``"student"``.

    Returns:
        The student notebook.

    Raises:
        ValueError: if ``stub`` is not one of the two styles.
    """
    if stub not in ("ellipsis", "raise"):
        raise ValueError(f"invalid `stub`: {stub!r}; expected 'ellipsis' or 'raise'")
    student = copy.deepcopy(nb)
    # Saved widget state holds the outputs of Output widgets (explorer plots).
    student.metadata.pop("widgets", None)
    cleared = first_exercise(nb)
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "code" and (index >= cleared or is_solution(cell)):
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)  # nbclient's timestamps
        if not is_solution(cell):
            continue
        if cell.cell_type == "code" and stub == "ellipsis":
            later = "\n".join(
                c.source
                for c in nb.cells[index + 1 :]
                if c.cell_type == "code" and not is_solution(c)
            )
            cell.source = code_stub(nb.cells[index].source, later)
        elif cell.cell_type == "code":
            cell.source = RAISE_STUB
        elif cell.cell_type == "markdown":
            cell.source = MARKDOWN_STUB
            cell.pop("attachments", None)
        else:
            cell.source = ""
    if name is not None and any(
        INSTALL_TAG in c.get("metadata", {}).get("tags", []) for c in student.cells
    ):
        add_open_links(student, name, owner=badge_owner(student) or OWNER, folder=folder)
    return student


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the student versions")
    parser.add_argument(
        "--stub",
        choices=["ellipsis", "raise"],
        default="ellipsis",
        help="how a solution is replaced (default: ellipsis; 'raise' follows nbgrader)",
    )
    parser.add_argument(
        "--folder",
        default="student",
        help="repository folder the badges and the Colab install cell open (default: student)",
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)} (is the glob empty?)")
    out = args.out.resolve()
    if any(p.resolve().parent == out for p in args.notebooks):
        parser.error(
            f"--out {args.out} is the notebooks' own folder; refusing to overwrite the originals"
        )
    out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        student = make_student(nb, stub=args.stub, name=path.name, folder=args.folder)
        nbformat.validate(student)
        nbformat.write(student, out / path.name)
        count = sum(is_solution(c) for c in nb.cells)
        note = "" if count else "  (no cells tagged `solution`: copied with its outputs)"
        print(f"{args.out / path.name}: {count} solution cell(s) replaced{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
