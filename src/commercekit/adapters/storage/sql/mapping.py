"""How an aggregate maps onto tables, declared once per aggregate.

An :class:`AggregateMapping` names the root table, the row the aggregate writes
there, the parts it owns in other tables (lines, history, a ledger) and how to build
it back from rows. The session writes and loads every aggregate through its mapping
alone, so a new aggregate is a mapping (and a migration), never another branch in the
unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage.sql._rows import group, insert
from commercekit.domain.events import DomainEvent

__all__ = ["Aggregate", "AggregateMapping", "Part", "Row"]

Row = sa.RowMapping
"""One row as read, by column name."""


class Aggregate(Protocol):
    """What storage needs of an aggregate: an id and a version the domain bumps."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


A = TypeVar("A", bound=Aggregate)


@attrs.frozen(kw_only=True)
class Part(Generic[A]):
    """Rows an aggregate owns in another table, each with a ``position``."""

    table: sa.Table
    parent: str
    """The column that holds the aggregate's id."""
    rows: Callable[[A, int], list[dict[str, Any]]]
    """The rows from position ``start`` on (all of them for 0)."""
    size: Callable[[A], int] | None = None
    """For a part that only ever grows (history, a ledger): how many rows it has,
    so that an update writes only the new ones. ``None``: replaced whole."""
    frozen: bool = False
    """Written with the aggregate and never changed after (an order's lines)."""


def _no_events(aggregate: Any) -> list[DomainEvent]:
    return []


@attrs.frozen(kw_only=True)
class AggregateMapping(Generic[A]):
    """One aggregate's tables, written and read as a whole."""

    kind: str
    cls: type[A]
    root: sa.Table
    row: Callable[[A], dict[str, Any]]
    """The root row, ``id`` and ``version`` included."""
    build: Callable[[Row, Sequence[Sequence[Row]]], A]
    """The aggregate from its root row and each part's rows, in position order."""
    parts: tuple[Part[A], ...] = ()
    order_by: tuple[str, ...] = ("id",)
    """How many aggregates read at once are ordered."""
    events: Callable[[A], list[DomainEvent]] = _no_events
    """The events an aggregate recorded and storage has not committed yet."""
    replace_unseen: bool = False
    """Whether saving one never read replaces a stored one with its id instead of
    conflicting (a checkout is saved without being looked up first)."""

    def sizes(self, aggregate: A) -> tuple[int, ...]:
        """How many rows each growing part has now (0 for parts replaced whole)."""
        return tuple(0 if part.size is None else part.size(aggregate) for part in self.parts)

    def insert(self, connection: Connection, aggregate: A) -> None:
        """Write a new aggregate; a taken id or unique key is the database's error."""
        row = self.row(aggregate)
        if self.replace_unseen:
            updated = connection.execute(
                self.root.update().where(self.root.c.id == aggregate.id).values(row)
            )
            if updated.rowcount:
                self._replace_parts(connection, aggregate)
                return
        connection.execute(self.root.insert().values(row))
        for part in self.parts:
            insert(connection, part.table, part.rows(aggregate, 0))

    def update(
        self, connection: Connection, aggregate: A, version: int, sizes: Sequence[int]
    ) -> bool:
        """Write a changed aggregate if the stored one still has ``version``.

        :returns: whether it was written (``False``: changed or removed meanwhile).
        """
        row = self.row(aggregate)
        del row["id"]
        root = self.root
        written = connection.execute(
            root.update().where(root.c.id == aggregate.id, root.c.version == version).values(row)
        ).rowcount
        if written != 1:
            return False
        for part, size in zip(self.parts, sizes, strict=True):
            if part.frozen:
                continue
            if part.size is None:
                column = part.table.c[part.parent]
                connection.execute(part.table.delete().where(column == aggregate.id))
                insert(connection, part.table, part.rows(aggregate, 0))
            else:
                insert(connection, part.table, part.rows(aggregate, size))
        return True

    def _replace_parts(self, connection: Connection, aggregate: A) -> None:
        for part in self.parts:
            column = part.table.c[part.parent]
            connection.execute(part.table.delete().where(column == aggregate.id))
            insert(connection, part.table, part.rows(aggregate, 0))

    def delete(self, connection: Connection, key: str, version: int) -> bool:
        """Delete an aggregate (its parts go with it) if it still has ``version``."""
        root = self.root
        return (
            connection.execute(
                root.delete().where(root.c.id == key, root.c.version == version)
            ).rowcount
            == 1
        )

    def exists(self, connection: Connection, key: str) -> bool:
        """Whether an aggregate with this id is stored."""
        found = connection.execute(sa.select(self.root.c.id).where(self.root.c.id == key))
        return found.first() is not None

    def load(
        self,
        connection: Connection,
        condition: sa.ColumnElement[bool],
        *,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[A]:
        """The aggregates whose root rows meet ``condition``, in :attr:`order_by`
        order (reversed with ``newest_first``): one statement for the roots and one
        per part, however many aggregates."""
        root = self.root
        order = [root.c[c].desc() if newest_first else root.c[c] for c in self.order_by]
        query = sa.select(root).where(condition).order_by(*order)
        rows = connection.execute(query.limit(limit)).mappings().all()
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        parts: list[Mapping[Any, list[Row]]] = []
        for part in self.parts:
            column = part.table.c[part.parent]
            parts.append(
                group(
                    connection.execute(
                        sa.select(part.table)
                        .where(column.in_(ids))
                        .order_by(column, part.table.c.position)
                    ).mappings(),
                    part.parent,
                )
            )
        return [self.build(row, [found.get(row["id"], []) for found in parts]) for row in rows]
