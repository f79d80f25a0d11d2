"""Real races on the SQL inventory, on a SQLite file and on PostgreSQL.

Every race starts its units of work together (threads behind a barrier, after each
has read the stock, so all of them believe it is there) and is bounded in threads
and time. Each test uses references of its own, so runs never collide.

(What every storage promises is checked in ``tests/contract/test_inventory.py``.)
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import SqlStorage, upgrade
from commercekit.adapters.storage.sql import _database as database
from commercekit.adapters.storage.sql import schema as t
from commercekit.domain.errors import CouponRejected
from commercekit.domain.inventory import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLow,
    StockMovement,
)
from commercekit.domain.promotions import Coupon, CouponUsage
from commercekit.errors import (
    ConcurrencyConflict,
    InsufficientStock,
)
from tests.conftest import fresh_postgres_schema
from tests.contract.stock import record
from tests.contract.stock import reserve as hold_stock
from tests.contract.test_storage import an_order
from tests.integration.test_sql_storage import postgres_url as server_url

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WORKERS = 32
#: Every race must be over well within the 30 seconds a test may take.
DEADLINE = 20.0
BACKENDS = ("sqlite", "postgresql")


# --- databases ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A schema of its own on the test server for this module, dropped after it."""
    base = server_url()
    schema = f"ck_races_{secrets.token_hex(4)}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        scoped = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        url = scoped.render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStorage]:
    """A storage whose pool has a connection for every racing thread."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'races.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    opened = SqlStorage.open(url, pool_size=WORKERS + 4, max_overflow=0)
    yield opened
    opened.close()


@pytest.fixture
def ref() -> str:
    """A reference no other test (or run) uses."""
    return secrets.token_hex(4).upper()


# --- helpers -----------------------------------------------------------------------


def race(workers: int, work: Callable[[int, threading.Barrier], object]) -> list[object]:
    """Run ``work(number, barrier)`` in ``workers`` threads at once; each result is
    what ``work`` returned or the exception it raised."""
    barrier = threading.Barrier(workers, timeout=DEADLINE)

    def run(number: int) -> object:
        try:
            return work(number, barrier)
        except Exception as error:
            return error

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, n) for n in range(workers)]
        results = [future.result(timeout=DEADLINE) for future in futures]
    assert time.monotonic() - started < DEADLINE
    return results


def outcomes(results: list[object]) -> Counter[str]:
    return Counter(
        type(result).__name__ if isinstance(result, BaseException) else "ok" for result in results
    )


def stock(storage: SqlStorage, sku: str, location_id: str = "london") -> tuple[int, int]:
    with storage.engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT on_hand, reserved FROM stock_items WHERE sku = :sku AND location_id = :loc"
            ),
            {"sku": sku, "loc": location_id},
        ).one()
    return int(row[0]), int(row[1])


def receive(storage: SqlStorage, sku: str, quantity: int, location_id: str = "london") -> None:
    with storage.unit_of_work() as uow:
        record(
            uow,
            StockMovement(
                id=f"receipt-{sku}-{location_id}",
                sku=sku,
                location_id=location_id,
                kind=MovementKind.RECEIPT,
                quantity=quantity,
                at=NOW,
            ),
        )
        uow.commit()


def hold(reservation_id: str, sku: str, quantity: int = 1, order_id: str = "") -> Reservation:
    return Reservation(
        id=reservation_id,
        order_id=order_id or f"order-{reservation_id}",
        sku=sku,
        location_id="london",
        quantity=quantity,
        expires_at=NOW + timedelta(minutes=15),
    )


class Watcher:
    """Reads the lowest available stock of a SKU over and over while a race runs."""

    def __init__(self, storage: SqlStorage, sku: str) -> None:
        self.lowest: int | None = None
        self.reads = 0
        self._storage = storage
        self._sku = sku
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=DEADLINE)

    def _watch(self) -> None:
        query = sa.text("SELECT on_hand - reserved FROM stock_items WHERE sku = :sku")
        while not self._stop.is_set():
            with self._storage.engine.connect() as connection:
                seen = connection.execute(query, {"sku": self._sku}).scalar_one()
            self.reads += 1
            self.lowest = seen if self.lowest is None else min(self.lowest, seen)
            time.sleep(0.001)


# --- races -------------------------------------------------------------------------


def test_of_32_checkouts_racing_for_10_units_exactly_10_get_one(
    storage: SqlStorage, ref: str
) -> None:
    sku = f"RETRO-CLOCK-{ref}"
    receive(storage, sku, 10)

    def checkout(number: int, barrier: threading.Barrier) -> None:
        with storage.unit_of_work() as uow:
            # Everyone sees ten left before anyone takes one.
            assert sum(item.available for item in uow.inventory.items([sku])) == 10
            barrier.wait()
            order = an_order(f"order-{ref}-{number}", key=f"idem-{ref}-{number}")
            uow.orders.add(order)
            hold_stock(uow, [hold(f"hold-{ref}-{number}", sku, 1, order.id)], {sku: 0})
            uow.commit()

    with Watcher(storage, sku) as watcher:
        results = race(WORKERS, checkout)

    assert outcomes(results) == {"ok": 10, "InsufficientStock": 22}
    assert all(
        (error.sku, error.requested, error.available) == (sku, 1, 0)
        for error in results
        if isinstance(error, InsufficientStock)
    )
    assert stock(storage, sku) == (10, 10)
    assert watcher.reads > 0
    assert watcher.lowest is not None
    assert watcher.lowest >= 0
    with storage.unit_of_work() as uow:
        placed = [
            n
            for n in range(WORKERS)
            if uow.orders.find_by_idempotency_key(f"idem-{ref}-{n}") is not None
        ]
        held = [n for n in placed if uow.inventory.reservations_for_order(f"order-{ref}-{n}")]
    # Exactly the winners' orders were written, each with its hold.
    assert placed == held
    assert placed == [n for n, result in enumerate(results) if result is None]


def test_checkouts_taking_two_skus_in_opposite_orders_never_deadlock(
    storage: SqlStorage, ref: str
) -> None:
    clock, lamp = f"RETRO-CLOCK-{ref}", f"LAVA-LAMP-{ref}"
    receive(storage, clock, WORKERS)
    receive(storage, lamp, WORKERS)

    def checkout(number: int, barrier: threading.Barrier) -> None:
        first, second = (clock, lamp) if number % 2 else (lamp, clock)
        with storage.unit_of_work() as uow:
            uow.inventory.items([first, second])
            barrier.wait()
            hold_stock(
                uow,
                [hold(f"hold-{ref}-{number}-a", first), hold(f"hold-{ref}-{number}-b", second)],
                {},
            )
            uow.commit()

    started = time.monotonic()
    results = race(WORKERS, checkout)

    assert outcomes(results) == {"ok": WORKERS}
    assert stock(storage, clock) == (WORKERS, WORKERS)
    assert stock(storage, lamp) == (WORKERS, WORKERS)
    # A deadlock would have cost PostgreSQL's deadlock_timeout (1 s) at least once.
    assert time.monotonic() - started < DEADLINE


def test_a_coupon_with_one_use_left_goes_to_exactly_one_of_32_checkouts(
    storage: SqlStorage, ref: str
) -> None:
    code = f"LASTONE{ref}"
    with storage.unit_of_work() as uow:
        uow.catalog.add_coupon(Coupon(code=code, promotion_id="promo-last", usage_limit=3))
        uow.catalog.record_coupon_use(code, "ada", f"order-{ref}-earlier-1")
        uow.catalog.record_coupon_use(code, "grace", f"order-{ref}-earlier-2")
        uow.commit()

    def checkout(number: int, barrier: threading.Barrier) -> None:
        with storage.unit_of_work() as uow:
            assert uow.catalog.coupon_usage([code], None)[code].total == 2
            barrier.wait()
            uow.catalog.record_coupon_use(code, f"customer-{number}", f"order-{ref}-{number}")
            uow.commit()

    results = race(WORKERS, checkout)

    assert outcomes(results) == {"ok": 1, "CouponRejected": WORKERS - 1}
    assert all(
        error.reason == "limit_reached" for error in results if isinstance(error, CouponRejected)
    )
    with storage.unit_of_work() as uow:
        assert uow.catalog.coupon_usage([code], None)[code] == CouponUsage(total=3)


@pytest.mark.parametrize("status", [ReservationStatus.RELEASED, ReservationStatus.CONSUMED])
def test_a_hold_closed_by_16_processes_at_once_is_closed_once(
    storage: SqlStorage, ref: str, status: ReservationStatus
) -> None:
    sku = f"RETRO-CLOCK-{ref}"
    receive(storage, sku, 10)
    with storage.unit_of_work() as uow:
        hold_stock(uow, [hold(f"hold-{ref}", sku, 4)], {})
        uow.commit()

    def close(number: int, barrier: threading.Barrier) -> int:
        with storage.unit_of_work() as uow:
            seen = uow.inventory.reservations_for_order(f"order-hold-{ref}")
            barrier.wait()
            closed = uow.inventory.release([r.id for r in seen], status, at=NOW)
            uow.commit()
            return closed

    results = race(16, close)

    counts = [result for result in results if isinstance(result, int)]
    assert len(counts) == 16
    assert sorted(counts) == [0] * 15 + [1]
    consumed = status is ReservationStatus.CONSUMED
    assert stock(storage, sku) == ((6 if consumed else 10), 0)
    with storage.unit_of_work() as uow:
        sales = [m for m in uow.inventory.movements(sku, "london") if m.kind is MovementKind.SALE]
    assert [m.quantity for m in sales] == ([-4] if consumed else [])


# --- what the database refuses, and how waiting writers are told -------------------


def test_the_database_refuses_a_reserved_quantity_below_zero(storage: SqlStorage, ref: str) -> None:
    sku = f"RETRO-CLOCK-{ref}"
    receive(storage, sku, 1)

    with pytest.raises(sa.exc.IntegrityError), storage.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE stock_items SET reserved = -1 WHERE sku = :sku"), {"sku": sku}
        )
    with pytest.raises(sa.exc.IntegrityError), storage.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE stock_items SET on_hand = -1000000001 WHERE sku = :sku"),
            {"sku": sku},
        )
    assert stock(storage, sku) == (1, 0)


def test_an_orders_holds_are_one_conditional_update_with_items_in_sku_order(
    storage: SqlStorage, ref: str
) -> None:
    skus = [f"{name}-{ref}" for name in ("RETRO-CLOCK", "BEAN-BAG", "LAVA-LAMP")]
    for sku in skus:
        receive(storage, sku, 5)
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE STOCK_ITEMS"):
            sent.append((statement, parameters))

    sa.event.listen(storage.engine, "before_cursor_execute", record)
    try:
        with storage.unit_of_work() as uow:
            hold_stock(uow, [hold(f"hold-{ref}-{n}", sku, 2) for n, sku in enumerate(skus)], {})
            uow.commit()
    finally:
        sa.event.remove(storage.engine, "before_cursor_execute", record)

    assert len(sent) == 1
    # The domain's guard, available after the hold at or above the floor, checked by
    # the database itself for each item.
    statement, params = sent[0]
    assert "stock_items.on_hand - (stock_items.reserved +" in statement
    values = list(params.values()) if isinstance(params, dict) else list(params)
    assert list(dict.fromkeys(value for value in values if value in skus)) == sorted(skus)
    assert [stock(storage, sku) for sku in skus] == [(5, 2)] * 3


def test_a_deadlock_on_postgresql_is_a_conflict_and_writes_nothing(
    postgres_url: str, ref: str
) -> None:
    storage = SqlStorage.open(postgres_url)
    clock, lamp = f"A-CLOCK-{ref}", f"B-LAMP-{ref}"
    try:
        receive(storage, clock, 5)
        receive(storage, lamp, 5)
        stmt = sa.text("UPDATE stock_items SET version = version WHERE sku = :sku")
        with storage.engine.connect() as other, ThreadPoolExecutor(max_workers=1) as pool:
            other.execute(stmt, {"sku": lamp})  # holds the lamp, in a transaction

            def checkout() -> None:
                with storage.unit_of_work() as uow:
                    hold_stock(uow, [hold(f"hold-{ref}-1", clock), hold(f"hold-{ref}-2", lamp)], {})
                    uow.commit()  # takes the clock, then waits for the lamp

            waiting = pool.submit(checkout)
            time.sleep(0.5)
            # Now the other transaction wants the clock: a cycle. PostgreSQL breaks it
            # by failing whichever waiter checks first: the checkout, waiting longer.
            other.execute(stmt, {"sku": clock})
            with pytest.raises(ConcurrencyConflict):
                waiting.result(timeout=DEADLINE)
            other.rollback()
        assert stock(storage, clock) == (5, 0)
        assert stock(storage, lamp) == (5, 0)
    finally:
        storage.close()


def test_a_sqlite_database_locked_too_long_is_a_conflict(
    tmp_path: Path, ref: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "locked.db"
    storage = SqlStorage.open(f"sqlite:///{path}")
    sku = f"RETRO-CLOCK-{ref}"
    try:
        receive(storage, sku, 5)
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            with storage.unit_of_work() as uow:
                hold_stock(uow, [hold(f"hold-{ref}", sku)], {})
                with pytest.raises(ConcurrencyConflict):
                    uow.commit()
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert stock(storage, sku) == (5, 0)
    finally:
        storage.close()


# --- the schema and the codec ------------------------------------------------------


def test_the_inventory_migration_upgrades_a_shipped_database_and_goes_back(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", database.SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0001")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO coupons (code, promotion_id, usage_limit) VALUES ('OLD', 'p', 1)"
                )
            )
        upgrade(url)
        with SqlStorage.open(url, migrate=False) as storage, storage.unit_of_work() as uow:
            assert [c.code for c in uow.catalog.coupons(["OLD"])] == ["OLD"]
            assert uow.inventory.locations() == []
        command.downgrade(config, "0001")
        assert "stock_items" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_paid_orders_holds_stored_as_a_far_expiry_become_allocated(
    backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'held.db'}"
        scope = contextlib.nullcontext(url)
    else:
        scope = fresh_postgres_schema()
    with scope as url:
        config = Config()
        config.set_main_option("script_location", database.SCRIPT_LOCATION)
        # Alembic's ini syntax reads "%" as interpolation.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        command.upgrade(config, "0003")
        held_until_shipped = datetime(9999, 1, 1, tzinfo=UTC)
        rows = [
            ("hold-paid", held_until_shipped, "active"),
            ("hold-waiting", NOW + timedelta(minutes=15), "active"),
            ("hold-gone", held_until_shipped, "released"),
        ]
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    t.reservations.insert(),
                    [
                        {
                            "id": key,
                            "order_id": "order-1",
                            "sku": "RETRO-CLOCK",
                            "location_id": "london",
                            "quantity": 1,
                            "expires_at": expires_at,
                            "status": status,
                        }
                        for key, expires_at, status in rows
                    ],
                )
            upgrade(url)
            with SqlStorage.open(url, migrate=False) as storage, storage.unit_of_work() as uow:
                found = {r.id: r.status for r in uow.inventory.reservations_for_order("order-1")}
                expired = uow.inventory.expired_reservations(datetime(9999, 6, 1, tzinfo=UTC))
            assert found == {
                "hold-paid": ReservationStatus.ALLOCATED,
                "hold-waiting": ReservationStatus.ACTIVE,
                "hold-gone": ReservationStatus.RELEASED,
            }
            assert [r.id for r in expired] == ["hold-waiting"]
            command.downgrade(config, "0003")
            with engine.begin() as connection:
                found_rows = connection.execute(
                    sa.select(t.reservations.c.id, t.reservations.c.status)
                ).all()
                back = dict(found_rows)
            assert back == {key: status for key, _, status in rows}
        finally:
            engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrading_keeps_every_order_line_and_history_entry(backend: str, tmp_path: Path) -> None:
    # On SQLite, changing the orders table rebuilds it; with foreign keys on, dropping
    # the old table would take the lines and the history with it.
    scope: Any = (
        contextlib.nullcontext(f"sqlite:///{tmp_path / 'lines.db'}")
        if backend == "sqlite"
        else fresh_postgres_schema()
    )
    with scope as url:
        with SqlStorage.open(url) as storage, storage.unit_of_work() as uow:
            uow.orders.add(an_order(lines=3))
            uow.commit()
        config = Config()
        config.set_main_option("script_location", database.SCRIPT_LOCATION)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        command.downgrade(config, "0006")  # a database from before the orders changed

        upgrade(url)  # as commercekit runs it: foreign keys on, on SQLite

        with SqlStorage.open(url, migrate=False) as storage, storage.unit_of_work() as uow:
            order = uow.orders.get("order-1001")
        assert len(order.lines) == 3
        assert order.history == an_order(lines=3).history


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrading_refuses_a_cart_with_two_live_orders_and_changes_nothing(
    backend: str, tmp_path: Path
) -> None:
    scope: Any = (
        contextlib.nullcontext(f"sqlite:///{tmp_path / 'twice.db'}")
        if backend == "sqlite"
        else fresh_postgres_schema()
    )
    with scope as url:
        with SqlStorage.open(url) as storage, storage.unit_of_work() as uow:
            uow.orders.add(an_order())
            uow.commit()
        config = Config()
        config.set_main_option("script_location", database.SCRIPT_LOCATION)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        command.downgrade(config, "0006")
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:  # what earlier versions let happen
                orders = sa.Table("orders", sa.MetaData(), autoload_with=connection)
                row = dict(connection.execute(sa.select(orders)).mappings().one())
                row.update(id="order-twice", token="token-twice", idempotency_key="idem-twice")
                connection.execute(orders.insert(), row)

            with pytest.raises(CommandError, match="cart-order-1001"):
                upgrade(url)

            with engine.connect() as connection:
                assert MigrationContext.configure(connection).get_current_heads() == ("0006",)
        finally:
            engine.dispose()


def test_items_take_one_statement_however_many_skus(storage: SqlStorage, ref: str) -> None:
    counts = []
    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    for size in (1, 10, 50):
        skus = [f"POSTER-{ref}-{size}-{n}" for n in range(size)]
        with storage.unit_of_work() as uow:
            for sku in skus:
                record(
                    uow,
                    StockMovement(
                        id=f"m-{sku}",
                        sku=sku,
                        location_id="london",
                        kind=MovementKind.RECEIPT,
                        quantity=1,
                        at=NOW,
                    ),
                )
            uow.commit()
        sent.clear()
        sa.event.listen(storage.engine, "before_cursor_execute", note)
        try:
            with storage.unit_of_work() as uow:
                assert len(uow.inventory.items(skus)) == size
        finally:
            sa.event.remove(storage.engine, "before_cursor_execute", note)
        counts.append(len([s for s in sent if "stock_items" in s]))
    assert counts == [1, 1, 1]


def test_stock_low_events_survive_a_trip_through_json() -> None:
    low = StockLow(
        occurred_at=NOW, sku="RETRO-CLOCK", location_id="london", available=2, threshold=3
    )
    assert codec.decode_event(json.loads(json.dumps(codec.encode_event(low)))) == low
