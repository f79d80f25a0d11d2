"""SQL storage: SQLite as the embedded default, PostgreSQL for production."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.promotion_types import BUILTIN_PROMOTION_TYPES
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._database import (
    begin_write,
    check_schema,
    create_storage_engine,
    migrate,
)
from commercekit.adapters.storage.sql.reports import SqlReports
from commercekit.adapters.storage.sql.unit_of_work import SqlUnitOfWork
from commercekit.domain.events import DomainEvent
from commercekit.ports.storage import PromotionType

__all__ = ["SqlStorage", "upgrade"]


def _lease_upsert(insert: Any) -> sa.Insert:
    """Take the relay lease ``:name`` for ``:holder`` until ``:until`` in one
    statement: insert it, or take it over if it ran out by ``:now`` or is the
    holder's own; returns a row only when the holder has it. On a conflict both
    databases re-check the condition on the row as it is, under its lock, so that of
    two relays racing for one lease exactly one gets it."""
    leases = t.relay_leases
    statement = insert(leases).values(
        name=sa.bindparam("name", type_=sa.String()),
        holder=sa.bindparam("holder", type_=sa.String()),
        expires_at=sa.bindparam("until", type_=t.UtcDateTime()),
    )
    upsert: sa.Insert = statement.on_conflict_do_update(
        index_elements=[leases.c.name],
        set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
        where=sa.or_(
            leases.c.holder == statement.excluded.holder,
            leases.c.expires_at <= sa.bindparam("now", type_=t.UtcDateTime()),
        ),
    )
    return upsert.returning(leases.c.holder)


_TAKE_LEASE: Final = {
    "postgresql": _lease_upsert(postgresql.insert),
    "sqlite": _lease_upsert(sqlite.insert),
}
# Locks the lease row (on PostgreSQL; SQLite's write transaction holds the whole
# database), so that the lease cannot change hands between this check and the marks.
_LEASE_HELD: Final = (
    sa.select(t.relay_leases.c.holder)
    .where(
        t.relay_leases.c.name == sa.bindparam("name", type_=sa.String()),
        t.relay_leases.c.holder == sa.bindparam("holder", type_=sa.String()),
        t.relay_leases.c.expires_at > sa.bindparam("at", type_=t.UtcDateTime()),
    )
    .with_for_update()
)
_RELEASE_LEASE: Final = t.relay_leases.delete().where(
    t.relay_leases.c.name == sa.bindparam("name", type_=sa.String()),
    t.relay_leases.c.holder == sa.bindparam("holder", type_=sa.String()),
)
_UNRELAYED: Final = (
    sa.select(t.outbox.c.id, t.outbox.c.payload)
    .where(t.outbox.c.relayed_at.is_(None))
    .order_by(t.outbox.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer()))
)
_MARK_RELAYED: Final = (
    t.outbox.update()
    .where(
        t.outbox.c.id.in_(sa.bindparam("ids", expanding=True)),
        t.outbox.c.relayed_at.is_(None),
    )
    .values(relayed_at=sa.bindparam("at", type_=t.UtcDateTime()))
)


def upgrade(url: str | sa.URL) -> None:
    """Migrate the database at ``url`` to the schema this commercekit needs (what
    ``commercekit db upgrade URL`` runs). Running it again changes nothing."""
    engine = create_storage_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()


@final
class SqlStorage:
    """Aggregates in a SQL database, through SQLAlchemy Core.

    Safe to share between threads: each unit of work takes its own connection from
    the engine's pool, and holds it only until it commits or rolls back.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        promotion_types: Sequence[PromotionType] = BUILTIN_PROMOTION_TYPES,
    ) -> None:
        """Use ``engine`` as it is; :meth:`open` is the usual way in."""
        self.engine = engine
        self.codec = codec.Codec(promotion_types)

    @classmethod
    def open(
        cls,
        url: str | sa.URL,
        *,
        migrate: bool = True,
        promotion_types: Sequence[PromotionType] = BUILTIN_PROMOTION_TYPES,
        **engine_options: Any,
    ) -> SqlStorage:
        """Connect to ``url`` (``sqlite:///shop.db``, ``postgresql+psycopg://...``).

        An in-memory SQLite database (``sqlite://``) is one per thread, so use it
        from the thread that opened it only.

        :param migrate: bring the schema up to date first (creating it in a new
            database); with ``False`` the schema must already be up to date.
        :param promotion_types: the promotion benefits and conditions it can store
            (a store passes those its plugins offer).
        :param engine_options: for :func:`sqlalchemy.create_engine`, such as
            ``pool_size=40`` for a process running more units of work at once than
            the default pool has connections.
        :raises SchemaOutOfDate: with ``migrate=False``, for a database whose schema
            is older or newer than this commercekit's.
        """
        engine = create_storage_engine(url, **engine_options)
        try:
            if migrate:
                _migrate(engine)
            else:
                check_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, promotion_types=promotion_types)

    def unit_of_work(self) -> SqlUnitOfWork:
        """A new unit of work."""
        return SqlUnitOfWork(self.engine, self.codec)

    def reports(self) -> SqlReports:
        """The sums behind the store's reports: one aggregate statement each."""
        return SqlReports(self.engine)

    def undelivered_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        """Outbox events not yet marked delivered, oldest first, with their ids."""
        query = (
            sa.select(t.outbox.c.id, t.outbox.c.payload)
            .where(t.outbox.c.delivered_at.is_(None))
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        with self.engine.connect() as connection, connection.begin():
            rows = connection.execute(query).all()
        return [(int(event_id), codec.decode_event(payload)) for event_id, payload in rows]

    def mark_delivered(self, event_ids: Sequence[int], *, at: datetime) -> None:
        """Mark outbox events as delivered at ``at`` (marking one twice changes
        nothing)."""
        if not event_ids:
            return
        with self.engine.connect() as connection, begin_write(connection):
            connection.execute(
                t.outbox.update()
                .where(t.outbox.c.id.in_(list(event_ids)), t.outbox.c.delivered_at.is_(None))
                .values(delivered_at=at)
            )

    def take_relay_lease(self, name: str, holder: str, *, now: datetime, until: datetime) -> bool:
        """Take or renew the lease ``name`` for ``holder``, if it is free, ran out by
        ``now`` or is ``holder``'s already; atomic (one winner of a race).

        :returns: whether ``holder`` holds the lease now, until ``until``.
        """
        with self.engine.connect() as connection, begin_write(connection):
            statement = _TAKE_LEASE[connection.dialect.name]
            taken = connection.execute(
                statement, {"name": name, "holder": holder, "now": now, "until": until}
            ).first()
        return taken is not None

    def unrelayed_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        """Outbox events not yet marked relayed, oldest first, with their ids."""
        with self.engine.connect() as connection, connection.begin():
            rows = connection.execute(_UNRELAYED, {"limit": limit}).all()
        return [(int(event_id), codec.decode_event(payload)) for event_id, payload in rows]

    def mark_relayed(
        self, event_ids: Sequence[int], *, name: str, holder: str, at: datetime
    ) -> bool:
        """Mark outbox events relayed at ``at``, in a transaction that first checks,
        under a lock, that ``holder`` still holds the lease ``name`` at ``at``.

        :returns: whether they were marked (``False`` for a lease lost).
        """
        with self.engine.connect() as connection, begin_write(connection):
            held = connection.execute(_LEASE_HELD, {"name": name, "holder": holder, "at": at})
            if held.first() is None:
                return False
            if event_ids:
                connection.execute(_MARK_RELAYED, {"ids": list(event_ids), "at": at})
        return True

    def release_relay_lease(self, name: str, holder: str) -> None:
        """Give up the lease ``name``, if ``holder`` holds it."""
        with self.engine.connect() as connection, begin_write(connection):
            connection.execute(_RELEASE_LEASE, {"name": name, "holder": holder})

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# `open`'s keyword shadows the module function inside the method.
_migrate = migrate

if TYPE_CHECKING:
    from commercekit.ports.storage import Storage

    def _is_a_storage(storage: SqlStorage) -> Storage:
        # mypy proves here that SqlStorage (and its unit of work) keeps the port.
        return storage
