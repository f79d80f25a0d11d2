"""Small statement helpers shared by the repositories."""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage.sql._driver import Prepared

__all__ = ["IN_CHUNK", "chunks", "group", "insert", "inserting"]

#: Bound parameters per statement stay well below SQLite's and PostgreSQL's limits.
IN_CHUNK: Final = 5000


T = TypeVar("T", bound=Hashable)


def chunks(values: Iterable[T]) -> list[list[T]]:
    """``values`` without repeats, in slices small enough for one ``IN (...)``."""
    unique = list(dict.fromkeys(values))
    return [unique[i : i + IN_CHUNK] for i in range(0, len(unique), IN_CHUNK)]


def group(rows: Iterable[sa.RowMapping], key: str) -> dict[Any, list[sa.RowMapping]]:
    """Rows by the value of one column, each group in the order read."""
    grouped: dict[Any, list[sa.RowMapping]] = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row)
    return grouped


def insert(connection: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` with one statement (an executemany), or none for no rows."""
    if rows:
        inserting(table, tuple(rows[0])).run_many(connection, rows)


@functools.lru_cache(maxsize=256)
def inserting(table: sa.Table, keys: tuple[str, ...]) -> Prepared:
    """An INSERT of these columns into ``table``, built once, run on the driver."""
    # Inline: nothing generated is fetched back (PostgreSQL would add RETURNING).
    return Prepared(table.insert().inline(), keys)
