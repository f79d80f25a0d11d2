"""How an aggregate maps onto tables, declared once per aggregate.

An :class:`AggregateMapping` names the root table, the row the aggregate writes
there, the parts it owns in other tables (lines, history, a ledger) and how to build
it back from rows. The session writes and loads every aggregate through its mapping
alone, so a new aggregate is a mapping (and a migration), never another branch in the
unit of work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Generic, Protocol, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage.sql._driver import Prepared
from commercekit.adapters.storage.sql._rows import group, insert
from commercekit.domain.events import DomainEvent

__all__ = ["Aggregate", "AggregateMapping", "Part", "Row"]

Row = Mapping[Any, Any]
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
    """Written with the aggregate and left alone by updates (an order's lines)..."""
    revision: Callable[[A], int] | None = None
    """...unless this count moved since the aggregate was read (an order edited):
    then the part is written again whole."""


def _no_events(aggregate: Any) -> list[DomainEvent]:
    return []


# Statements on an aggregate's root, built once per table and executed with bound
# parameters: building one afresh costs more than the database takes to run it. The
# columns an update sets are the keys of the row it is given.
_KEY: Final = "_key"
_VERSION: Final = "_version"


_IDS: Final = "_ids"
#: Whole statements for conditions built once, by mapping, condition, limit, order.
_SELECTS: dict[tuple[str, int, int | None, bool], Prepared] = {}


def by_id(root: sa.Table) -> sa.ColumnElement[bool]:
    """``id = :_key``, built once per table: load with ``params={"_key": id}``."""
    return _by_id(root)


@functools.cache
def _by_id(root: sa.Table) -> sa.ColumnElement[bool]:
    return root.c.id == sa.bindparam(_KEY)


@functools.cache
def _part_select(table: sa.Table, parent: str) -> sa.Select[Any]:
    column = table.c[parent]
    return (
        sa.select(table)
        .where(column.in_(sa.bindparam(_IDS, expanding=True)))
        .order_by(column, table.c.position)
    )


@functools.cache
def _part_of(table: sa.Table, parent: str) -> Prepared:
    """One aggregate's rows of a part (the usual case: no IN list to render)."""
    column = table.c[parent]
    return Prepared(sa.select(table).where(column == sa.bindparam(_KEY)).order_by(table.c.position))


@functools.lru_cache(maxsize=256)
def _update(root: sa.Table, keys: tuple[str, ...]) -> Prepared:
    where = root.update().where(
        root.c.id == sa.bindparam(_KEY), root.c.version == sa.bindparam(_VERSION)
    )
    return Prepared(where, [key for key in keys if key not in (_KEY, _VERSION)])


@functools.cache
def _delete(root: sa.Table) -> Prepared:
    return Prepared(
        root.delete().where(
            root.c.id == sa.bindparam(_KEY), root.c.version == sa.bindparam(_VERSION)
        )
    )


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
        return tuple(
            part.size(aggregate)
            if part.size is not None
            else part.revision(aggregate)
            if part.revision is not None
            else 0
            for part in self.parts
        )

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
        insert(connection, self.root, [row])
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
        row[_KEY], row[_VERSION] = aggregate.id, version
        written = _update(self.root, tuple(row)).run(connection, row)
        if written != 1:
            return False
        for part, size in zip(self.parts, sizes, strict=True):
            if part.frozen and (part.revision is None or part.revision(aggregate) == size):
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
        return _delete(self.root).run(connection, {_KEY: key, _VERSION: version}) == 1

    def exists(self, connection: Connection, key: str) -> bool:
        """Whether an aggregate with this id is stored."""
        found = connection.execute(sa.select(self.root.c.id).where(self.root.c.id == key))
        return found.first() is not None

    def load(
        self,
        connection: Connection,
        condition: sa.ColumnElement[bool],
        *,
        params: Mapping[str, Any] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[A]:
        """The aggregates whose root rows meet ``condition``, in :attr:`order_by`
        order (reversed with ``newest_first``): one statement for the roots and one
        per part, however many aggregates.

        :param params: the values of ``condition``'s bound parameters, for a
            condition built once (a module constant): the whole statement is then
            built once too, and only executed here.
        """
        rows: Sequence[Row]
        if params is None:
            query = self._select(condition, limit, newest_first)
            rows = connection.execute(query).mappings().all()
        else:
            key = (self.kind, id(condition), limit, newest_first)
            built = _SELECTS.get(key)
            if built is None:
                prepared = Prepared(self._select(condition, limit, newest_first))
                built = _SELECTS.setdefault(key, prepared)
            rows = built.rows(connection, params)
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        parts: list[Mapping[Any, Sequence[Row]]] = []
        for part in self.parts:
            if len(ids) == 1:
                found = _part_of(part.table, part.parent).rows(connection, {_KEY: ids[0]})
                parts.append({ids[0]: found})
            else:
                read = connection.execute(_part_select(part.table, part.parent), {_IDS: ids})
                parts.append(group(read.mappings(), part.parent))
        return [self.build(row, [found.get(row["id"], []) for found in parts]) for row in rows]

    def _select(
        self, condition: sa.ColumnElement[bool], limit: int | None, newest_first: bool
    ) -> sa.Select[Any]:
        root = self.root
        order = [root.c[c].desc() if newest_first else root.c[c] for c in self.order_by]
        return sa.select(root).where(condition).order_by(*order).limit(limit)
