"""A report as a table of plain values: what a caller prints, writes or draws.

Cells are text, whole numbers, ``Decimal`` amounts and rates, dates, flags or
``None`` (nothing to say: no price, no sales to divide by). Amounts are exact: the
minor units the report summed, written in the currency's major unit (``12.34``), the
currency in a column of its own on the same row.
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TextIO, TypeAlias

import attrs

__all__ = ["Cell", "Column", "ColumnKind", "ReportTable", "Series"]

Cell: TypeAlias = str | int | Decimal | date | bool | None
"""One value of a report."""


class ColumnKind(enum.Enum):
    """What a column holds, which says how it is shown."""

    TEXT = "text"
    DATE = "date"
    COUNT = "count"
    AMOUNT = "amount"
    """Money in the row's currency, exact."""
    RATE = "rate"
    """A share from 0 to 1, to four places."""
    DECIMAL = "decimal"
    FLAG = "flag"


@attrs.frozen
class Column:
    """A column's name and kind."""

    name: str
    kind: ColumnKind = ColumnKind.TEXT

    @property
    def numeric(self) -> bool:
        """Whether its values are numbers (shown aligned right)."""
        return self.kind in (
            ColumnKind.COUNT,
            ColumnKind.AMOUNT,
            ColumnKind.RATE,
            ColumnKind.DECIMAL,
        )


@attrs.frozen(kw_only=True)
class Series:
    """How a time series is drawn: ``y`` over ``x``, one line per value of ``group``."""

    x: str
    y: str
    group: str


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@attrs.frozen(kw_only=True)
class ReportTable:
    """One report's result: its name, columns and rows, in the report's order."""

    name: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    series: Series | None = None
    """For a time series, how to draw it."""

    @property
    def names(self) -> list[str]:
        """The columns' names."""
        return [column.name for column in self.columns]

    def column(self, name: str) -> list[Cell]:
        """Every value of the column ``name``, in row order.

        :raises KeyError: for a column the report does not have.
        """
        names = self.names
        if name not in names:
            raise KeyError(name)
        index = names.index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Cell]]:
        """The rows as mappings of column name to value."""
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def to_csv(self, handle: TextIO) -> int:
        """Write the table as CSV (a header line, then a line per row; ``None`` as an
        empty field, flags as ``true``/``false``, amounts and rates in plain decimal
        notation) to ``handle``, opened with ``newline=""``.

        :returns: how many rows were written.
        """
        writer = csv.writer(handle)
        writer.writerow(self.names)
        writer.writerows([_text(value) for value in row] for row in self.rows)
        return len(self.rows)

    def render(self) -> str:
        """The table as fixed-width text: a header, a rule, a line per row (numbers
        aligned right), for a terminal."""
        cells = [self.names, *([_text(value) for value in row] for row in self.rows)]
        widths = [max(len(line[n]) for line in cells) for n in range(len(self.columns))]
        lines = [_line(cells[0], widths, self.columns)]
        lines.append("  ".join("-" * width for width in widths))
        lines.extend(_line(line, widths, self.columns) for line in cells[1:])
        return "\n".join(lines) + "\n"


def _line(values: Sequence[str], widths: Sequence[int], columns: Sequence[Column]) -> str:
    parts = [
        value.rjust(width) if column.numeric else value.ljust(width)
        for value, width, column in zip(values, widths, columns, strict=True)
    ]
    return "  ".join(parts).rstrip()
