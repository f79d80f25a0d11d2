"""A behaviour log in the store's own SQL database: one append-only table.

``behaviour_events`` lives beside the store's tables and is created on first use
(see :mod:`commercekit.adapters._sidetables`): a row per event, times as whole
microseconds since the epoch (compared and counted alike on SQLite and PostgreSQL),
an event's ``id`` unique where given, so that recording it again does nothing. A
funnel is one ``COUNT(DISTINCT visitor_id) ... GROUP BY kind``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from commercekit.adapters._sidetables import SideTables, engine_of
from commercekit.adapters.behaviour._shared import checked_events, checked_period
from commercekit.domain.marketing.behaviour import BehaviourEvent, BehaviourKind, Touch

__all__ = ["SqlBehaviourLog"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# Any fixed number will do, as long as only this table's creation takes it.
_CREATION_LOCK: Final = 0x636B_6265
_TOUCH: Final = ("source", "medium", "campaign", "referrer")


def _micros(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _instant(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _table(metadata: sa.MetaData) -> sa.Table:
    def touch(prefix: str) -> list[sa.Column[Any]]:
        return [
            *(sa.Column(f"{prefix}{name}", sa.Text, nullable=False) for name in _TOUCH),
            sa.Column(f"{prefix}at_us", sa.BigInteger, nullable=True),
        ]

    return sa.Table(
        "behaviour_events",
        metadata,
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(),
            primary_key=True,
        ),
        sa.Column("event_key", sa.Text, nullable=True, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("visitor_id", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("product_id", sa.Text, nullable=False),
        sa.Column("sku", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("result_count", sa.BigInteger, nullable=False),
        sa.Column("cart_id", sa.Text, nullable=False),
        sa.Column("order_id", sa.Text, nullable=False),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.Column("value_units", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        *touch("touch_"),
        *touch("first_"),
        sa.Index("ix_behaviour_events_at", "at_us"),
        sa.Index("ix_behaviour_events_visitor", "visitor_id", "at_us"),
    )


def _touch_row(prefix: str, touch: Touch | None) -> dict[str, Any]:
    row: dict[str, Any] = {f"{prefix}{name}": getattr(touch, name, "") for name in _TOUCH}
    row[f"{prefix}at_us"] = None if touch is None else _micros(touch.at)
    return row


def _row(event: BehaviourEvent) -> dict[str, Any]:
    return {
        "event_key": event.id or None,
        "kind": event.kind.value,
        "at_us": _micros(event.at),
        "visitor_id": event.visitor_id,
        "customer_id": event.customer_id,
        "product_id": event.product_id,
        "sku": event.sku,
        "query": event.query,
        "result_count": event.result_count,
        "cart_id": event.cart_id,
        "order_id": event.order_id,
        "quantity": event.quantity,
        "value_units": event.value_units,
        "currency": event.currency,
        **_touch_row("touch_", event.touch),
        **_touch_row("first_", event.first_touch),
    }


def _touch(row: Any, prefix: str) -> Touch | None:
    at = getattr(row, f"{prefix}at_us")
    if at is None:
        return None
    return Touch(at=_instant(at), **{name: getattr(row, f"{prefix}{name}") for name in _TOUCH})


def _event(row: Any) -> BehaviourEvent:
    return BehaviourEvent(
        id=row.event_key or "",
        kind=BehaviourKind(row.kind),
        at=_instant(row.at_us),
        visitor_id=row.visitor_id,
        customer_id=row.customer_id,
        product_id=row.product_id,
        sku=row.sku,
        query=row.query,
        result_count=row.result_count,
        cart_id=row.cart_id,
        order_id=row.order_id,
        quantity=row.quantity,
        value_units=row.value_units,
        currency=row.currency,
        touch=_touch(row, "touch_"),
        first_touch=_touch(row, "first_"),
    )


@final
class SqlBehaviourLog:
    """The behaviour log as a table of the store's database. Safe to share between
    threads: each call takes its own connection."""

    def __init__(self, engine: Engine) -> None:
        metadata = sa.MetaData()
        self._table: Final = _table(metadata)
        self._tables: Final = SideTables(
            engine, metadata, what="behaviour log", lock_key=_CREATION_LOCK
        )

    @classmethod
    def over(cls, storage: object) -> SqlBehaviourLog:
        """The log of ``storage``, a SQL storage.

        :raises ConfigurationError: naming ``behaviour``, for a storage without a SQL
            database.
        """
        engine = engine_of(
            storage, what="behaviour log", field="behaviour", instead="the memory log"
        )
        return cls(engine)

    def record(self, events: Sequence[BehaviourEvent]) -> None:
        rows = [_row(event) for event in checked_events(events)]
        if not rows:
            return
        self._tables.ensure()
        insert = (postgresql.insert if self._tables.postgres else sqlite.insert)(self._table)
        statement = insert.on_conflict_do_nothing(index_elements=["event_key"])
        with self._tables.connection() as connection:
            try:
                with connection.begin():
                    connection.execute(statement, rows)
            except sa.exc.DBAPIError as error:
                raise self._tables.translated(error) from error

    def events(
        self,
        *,
        since: datetime,
        until: datetime,
        visitor_id: str | None = None,
        limit: int = 1000,
    ) -> list[BehaviourEvent]:
        since, until, visitor_id, limit = checked_period(since, until, visitor_id, limit)
        table = self._table
        query = (
            sa.select(table)
            .where(table.c.at_us >= _micros(since), table.c.at_us < _micros(until))
            .order_by(table.c.at_us, table.c.seq)
            .limit(limit)
        )
        if visitor_id is not None:
            query = query.where(table.c.visitor_id == visitor_id)
        return [_event(row) for row in self._read(query)]

    def funnel(self, *, since: datetime, until: datetime) -> Mapping[BehaviourKind, int]:
        since, until, _, _ = checked_period(since, until, None, 1)
        table = self._table
        query = (
            sa.select(table.c.kind, sa.func.count(sa.distinct(table.c.visitor_id)))
            .where(
                table.c.at_us >= _micros(since),
                table.c.at_us < _micros(until),
                table.c.visitor_id != "",
            )
            .group_by(table.c.kind)
        )
        counted = dict.fromkeys(BehaviourKind, 0)
        for kind, visitors in self._read(query):
            counted[BehaviourKind(kind)] = int(visitors)
        return counted

    def _read(self, query: sa.Select[Any]) -> list[Any]:
        self._tables.ensure()
        with self._tables.connection() as connection:
            try:
                return list(connection.execute(query))
            except sa.exc.DBAPIError as error:
                raise self._tables.translated(error) from error
