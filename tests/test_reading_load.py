"""Reading load: each notebook's story -- the markdown before its appendix and exercises -- stays
within 2,000 words, and every code cell of the story stays short (issue 22's reading-load rule)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("0*.ipynb"))
STORY_WORDS = 2000
# Where the story ends: the first heading of one of these sections.
END = re.compile(r"^#+\s*(appendix|exercises|how the kit does this at scale)", re.I | re.M)


def story_cells(nb) -> list:
    """The cells before the first appendix, scale or exercise heading."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and END.search(cell.source):
            return nb.cells[:index]
    return nb.cells


def words(markdown: str) -> int:
    """Words of prose: code spans, links' targets, maths and tables' rules left out."""
    text = re.sub(r"\]\([^)]*\)", "]", markdown)
    text = re.sub(r"\$[^$]*\$", " ", text)
    return len(re.findall(r"[A-Za-z0-9][\w'’.,-]*", text))


def test_words_counts_prose_not_link_targets():
    assert words("See [notebook 01](01_checkpoint_mismatch.ipynb), then run it.") == 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_story_is_at_most_2000_words(path):
    nb = nbformat.read(path, as_version=4)
    total = sum(words(c.source) for c in story_cells(nb) if c.cell_type == "markdown")
    assert total <= STORY_WORDS, (
        f"{path.name}: the story has {total} words of prose (> {STORY_WORDS})"
    )
