"""The driver path: statements built once and run on the driver's own cursor store
and read back exactly what SQLAlchemy does, raise SQLAlchemy's errors (quiet about
row values), and are heard by statement listeners, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from commercekit.adapters.storage.sql import SqlStorage
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._driver import Prepared, keys, spread
from tests.shop import sql_url


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStorage]:
    with sql_url(request.param, tmp_path) as url, SqlStorage.open(url) as sql:
        yield sql


INSERT = Prepared(t.outbox.insert().inline(), ["name", "payload", "occurred_at", "delivered_at"])
UNDELIVERED = Prepared(
    sa.select(t.outbox)
    .where(t.outbox.c.name == sa.bindparam("name"), t.outbox.c.delivered_at.is_(None))
    .order_by(t.outbox.c.id)
)
DELIVER = Prepared(
    t.outbox.update().where(t.outbox.c.name == sa.bindparam("_name")), ["delivered_at"]
)
AT = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)


def row(name: str, payload: Any) -> dict[str, Any]:
    return {"name": name, "payload": payload, "occurred_at": AT, "delivered_at": None}


def test_rows_written_and_read_on_the_driver_are_what_sqlalchemy_reads(
    storage: SqlStorage,
) -> None:
    payload = {"text": "Zoë 🛒", "n": [1, 2.5, None], "nested": {"ok": True}}
    with storage.engine.begin() as connection:
        INSERT.run_many(connection, [row("A", payload), row("A", [])])
        assert INSERT.run(connection, row("B", {})) == 1
        read = UNDELIVERED.rows(connection, {"name": "A"})
        expected = connection.execute(
            sa.select(t.outbox).where(t.outbox.c.name == "A").order_by(t.outbox.c.id)
        ).mappings()
        assert read == [dict(found) for found in expected]
        assert read[0]["payload"] == payload
        assert read[0]["occurred_at"] == AT
        assert read[0]["occurred_at"].tzinfo is not None
        assert DELIVER.run(connection, {"_name": "A", "delivered_at": AT}) == 2
        assert UNDELIVERED.rows(connection, {"name": "A"}) == []
        assert DELIVER.run(connection, {"_name": "nobody", "delivered_at": AT}) == 0


def test_a_values_the_statement_binds_itself_are_bound_too(storage: SqlStorage) -> None:
    not_cancelled = Prepared(
        sa.select(t.outbox.c.name)
        .where(t.outbox.c.name != "cancelled", t.outbox.c.name == sa.bindparam("name"))
        .limit(1)
    )
    with storage.engine.begin() as connection:
        INSERT.run_many(connection, [row("kept", {}), row("cancelled", {})])
        assert not_cancelled.rows(connection, {"name": "kept"}) == [{"name": "kept"}]
        assert not_cancelled.rows(connection, {"name": "cancelled"}) == []


def test_a_driver_error_is_sqlalchemys_and_names_no_value(storage: SqlStorage) -> None:
    insert = Prepared(t.stamps.insert(), ["name", "value"])
    with (
        storage.engine.connect() as connection,
        connection.begin(),
        pytest.raises(sa.exc.IntegrityError) as raised,
    ):
        insert.run(connection, {"name": "catalog", "value": 987654321})
    assert "987654321" not in str(raised.value)
    assert "catalog" not in str(raised.value).split("[SQL:")[0]


def test_statement_listeners_hear_the_driver_path(storage: SqlStorage) -> None:
    heard: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        heard.append(statement.split(None, 1)[0])

    sa.event.listen(storage.engine, "before_cursor_execute", listen)
    try:
        with storage.engine.begin() as connection:
            INSERT.run(connection, row("A", {}))
            UNDELIVERED.rows(connection, {"name": "A"})
    finally:
        sa.event.remove(storage.engine, "before_cursor_execute", listen)
    assert [kind for kind in heard if kind != "BEGIN"] == ["INSERT", "SELECT"]


def test_an_in_list_of_one_length_is_one_statement_bound_by_spread(storage: SqlStorage) -> None:
    names = ["A", "C", "D"]
    in_names = Prepared(
        sa.select(t.outbox.c.name).where(t.outbox.c.name.in_(keys(3))).order_by(t.outbox.c.id)
    )
    with storage.engine.begin() as connection:
        INSERT.run_many(connection, [row(name, {}) for name in "ABCD"])
        assert in_names.rows(connection, spread(names)) == [{"name": name} for name in names]
        assert in_names.rows(connection, spread(["B", "B", "Z"])) == [{"name": "B"}]
