"""A tiny tidy table: a list of rows that prints well in a notebook.

The kit keeps its dependencies to the design card (no pandas), so results
live in this small class: one row per measurement, one column per variable.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping


def _fmt(value, digits: int) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


class Table:
    """Rows of measurements with the same columns.

    Args:
        rows: An iterable of mappings; columns are the union of their keys,
            in first-seen order.
        digits: Decimal places when printing floats. Defaults to 4.

    Example:
        >>> t = Table([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}])
        >>> t.column("loss")
        [0.5, 0.25]
        >>> print(t)
        epoch    loss
            1  0.5000
            2  0.2500
    """

    def __init__(self, rows: Iterable[Mapping] = (), digits: int = 4):
        self.rows = [dict(r) for r in rows]
        self.digits = digits
        self.columns: list[str] = []
        for row in self.rows:
            self.columns.extend(k for k in row if k not in self.columns)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index: int) -> dict:
        return self.rows[index]

    def _unknown(self, name: str) -> KeyError:
        return KeyError(f"no column {name!r}; available columns: {self.columns}")

    def column(self, name: str) -> list:
        """The values of one column, in row order."""
        if name not in self.columns:
            raise self._unknown(name)
        return [row.get(name) for row in self.rows]

    def where(self, **conditions) -> Table:
        """Rows whose columns equal the given values, e.g. ``where(source="fit")``.

        An empty table has no columns yet, and gives an empty table for any condition.
        """
        unknown = [k for k in conditions if k not in self.columns]
        if unknown and self.rows:
            raise self._unknown(unknown[0])
        rows = [r for r in self.rows if all(r.get(k) == v for k, v in conditions.items())]
        return Table(rows, self.digits)

    def _cells(self) -> list[list[str]]:
        return [[_fmt(row.get(c), self.digits) for c in self.columns] for row in self.rows]

    def __str__(self) -> str:
        cells = self._cells()
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        numeric = [
            all(isinstance(r.get(c), (int, float)) or r.get(c) is None for r in self.rows)
            for c in self.columns
        ]

        def line(values):
            return "  ".join(
                v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)
            ).rstrip()

        return "\n".join([line(self.columns)] + [line(r) for r in cells])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>"
            for r in self._cells()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
