"""One import surface: notebooks take general tools from ``helpers`` itself (issue 22).

A notebook's code cells may write ``from helpers import GapProbe, gap`` (names in
``helpers.__all__``) and ``from helpers.scenarios import checkpoint as ck`` (a scenario
package), and nothing else from ``helpers``: not ``from helpers.gap_probe import GapProbe``,
not ``from helpers import batchnorm as bn``, not ``import helpers.modes``.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import types
from pathlib import Path

import pytest

import helpers

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SCENARIOS = "helpers.scenarios"
DOCTOR = "helpers.doctor"


def _code(source: str) -> str:
    """A cell's source as Python: IPython magics and shell lines blanked out."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def violations(source: str, exported=frozenset(helpers.__all__)) -> list[str]:
    """The import statements in ``source`` that take a general tool from elsewhere than ``helpers``.

    Example:
        >>> violations("from helpers import gap\\nfrom helpers.scenarios import mnist as mn")
        []
        >>> violations("from helpers.gap_probe import GapProbe")
        ['from helpers.gap_probe import GapProbe']
    """
    found = []
    for node in ast.walk(ast.parse(_code(source))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module, names = node.module, [a.name for a in node.names]
            line = f"from {module} import {', '.join(names)}"
            if module == "helpers":
                if any(n not in exported for n in names):
                    found.append(line)
            elif module in (SCENARIOS, DOCTOR):
                # scenario packages (`from helpers.scenarios import mnist as mn`) and the doctor's
                # own surface (`from helpers.doctor import CAUSES`, its vocabulary)
                continue
            elif module.startswith("helpers."):
                found.append(line)
        elif isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.startswith("helpers.")]
    return found


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_import_general_tools_from_helpers(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    bad = [
        f"cell {i}: {line}"
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        for line in violations("".join(cell["source"]))
    ]
    assert not bad, (
        f"{notebook.name} imports general tools from helpers' submodules; write "
        "`from helpers import <name>` (names in helpers.__all__) instead:\n" + "\n".join(bad)
    )


def test_the_rule_flags_submodules_and_allows_scenarios():
    assert violations("import numpy as np\nfrom helpers import GapProbe, HEADER, gap") == []
    assert violations("from helpers.scenarios import checkpoint as ck") == []
    assert violations("%matplotlib inline\nfrom helpers import Table") == []
    assert violations("from helpers import batchnorm as bn") == ["from helpers import batchnorm"]
    assert violations("import helpers.modes") == ["import helpers.modes"]
    assert violations("def f():\n    from helpers.gap import gap") == [
        "from helpers.gap import gap"
    ]


def test_no_public_name_is_shadowed_by_a_submodule():
    """Importing a submodule sets it as an attribute of ``helpers``: it must not hide a tool."""
    for info in pkgutil.iter_modules(helpers.__path__):
        if info.name not in ("scenarios", "doctor"):  # packages owned and tested elsewhere
            importlib.import_module(f"helpers.{info.name}")
    shadowed = [n for n in helpers.__all__ if isinstance(getattr(helpers, n), types.ModuleType)]
    assert not shadowed, f"helpers.{shadowed[0]} is a module, not the public tool"
    assert helpers.gap(0.5, 0.25) == 0.25 and isinstance(helpers.HEADER, str)
