"""SQL storage: SQLite as the embedded default, PostgreSQL for production."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, final

import sqlalchemy as sa
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
from commercekit.adapters.storage.sql.unit_of_work import SqlUnitOfWork
from commercekit.domain.events import DomainEvent
from commercekit.ports.storage import PromotionType

__all__ = ["SqlStorage", "upgrade"]


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
