"""Several processes selling the last units of one SKU at once, on one PostgreSQL
database and on one SQLite file (WAL): exactly the stock is sold, every other order
is refused with InsufficientStock, stock never goes below zero, and the ledger, the
reservations and the orders all agree.

The parent sets up the catalogue and the stock, then starts the worker processes
(``spawn``, so nothing is shared but the database); each opens a store of its own,
fills its carts, and waits for the start signal so that all of them check out
together. Everything is bounded in time; a process left over is killed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue as queues
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commercekit import Money, Product, StockLocation, Variant
from commercekit.domain.inventory import MovementKind
from commercekit.store import Store
from tests.conftest import fresh_postgres_schema
from tests.integration import _process_worker as worker

WORKERS = 4
ORDERS_EACH = 15
STOCK = 37
UNCONTESTED_STOCK = 1000
ATTEMPTS = WORKERS * ORDERS_EACH
SOLD = min(STOCK, ATTEMPTS)
#: How long the processes may take, all together, to get ready and to finish.
TIMEOUT = 120.0


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database of the test's own: a new SQLite file, or a new schema on
    the PostgreSQL test server (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'processes.db'}"
        return
    with fresh_postgres_schema() as url:
        yield url


def seed(url: str) -> None:
    """Create the schema, the catalogue and the stock, before any worker starts."""
    with Store.open(url, config=worker.CONFIG) as store:
        store.catalog.add_price_list("eu", "EUR")
        for product_id, sku, price in (
            ("clock", worker.CONTESTED, "30.00"),
            ("mug", worker.UNCONTESTED, "12.00"),
        ):
            store.catalog.add_product(Product(id=product_id, name=sku, variants=[Variant(sku=sku)]))
            store.catalog.publish(product_id)
            store.catalog.set_price("eu", sku, Money(price, "EUR"))
        store.inventory.add_location(StockLocation(id=worker.LOCATION, name="Berlin"))
        store.inventory.receive(worker.CONTESTED, worker.LOCATION, STOCK)
        store.inventory.receive(worker.UNCONTESTED, worker.LOCATION, UNCONTESTED_STOCK)


def collect(
    inbox: Any, processes: list[Any], kind: str, deadline: float
) -> dict[int, dict[str, Any] | None]:
    """One ``kind`` message from every worker; fails on a worker's error, on a worker
    that died, and at the deadline."""
    got: dict[int, dict[str, Any] | None] = {}
    while len(got) < len(processes):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            missing = sorted(set(range(len(processes))) - set(got))
            pytest.fail(f"workers {missing} sent no {kind!r} within {TIMEOUT:.0f} s")
        try:
            message = inbox.get(timeout=min(remaining, 0.5))
        except queues.Empty:
            died = [(p.name, p.exitcode) for p in processes if p.exitcode not in (None, 0)]
            if died:
                # Its own account of why may still be on the way.
                with contextlib.suppress(queues.Empty):
                    message = inbox.get(timeout=2.0)
                    if message[0] == "failed":
                        pytest.fail(f"worker {message[1]} failed:\n{message[2]}")
                pytest.fail(f"worker processes died: {died}")
            continue
        if message[0] == "failed":
            pytest.fail(f"worker {message[1]} failed:\n{message[2]}")
        assert message[0] == kind, message
        got[message[1]] = message[2] if len(message) > 2 else None
    return got


def shop_in_processes(url: str) -> list[dict[str, Any]]:
    """Run the workers against ``url`` and return their reports, in worker order."""
    context = multiprocessing.get_context("spawn")
    inbox = context.Queue()
    go = context.Event()
    processes = [
        context.Process(
            target=worker.run,
            args=(url, n, ORDERS_EACH, go, inbox, TIMEOUT),
            name=f"shopper-{n}",
            daemon=True,
        )
        for n in range(WORKERS)
    ]
    started: list[Any] = []
    deadline = time.monotonic() + TIMEOUT
    try:
        for process in processes:
            process.start()
            started.append(process)
        collect(inbox, processes, "ready", deadline)
        go.set()
        reports = collect(inbox, processes, "done", deadline)
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                pytest.fail(f"{process.name} did not end within {TIMEOUT:.0f} s")
            assert process.exitcode == 0, (process.name, process.exitcode)
        return [report for _, report in sorted(reports.items()) if report is not None]
    finally:
        for process in started:
            if process.is_alive():
                process.kill()
            process.join(5.0)
        inbox.close()
        inbox.join_thread()


def test_processes_sell_exactly_the_stock_and_refuse_the_rest(database: str) -> None:
    seed(database)
    started = time.monotonic()
    reports = shop_in_processes(database)
    assert time.monotonic() - started < TIMEOUT
    assert len(reports) == WORKERS

    placed = [order for report in reports for order in report["placed"]]
    refused = [error for report in reports for error in report["refused"]]
    shipped = sum(report["shipped"] for report in reports)
    # Every attempt has one outcome: placed and paid, or refused for want of stock.
    assert len(placed) + len(refused) == ATTEMPTS
    assert len(placed) == SOLD, Counter(tuple(error) for error in refused)
    assert all(error == ["InsufficientStock", "insufficient_stock", "CLOCK"] for error in refused)
    assert len(refused) == ATTEMPTS - SOLD
    assert {(status, paid) for _, status, paid, _ in placed} == {("open", "captured")}
    assert len({order_id for order_id, *_ in placed}) == SOLD
    assert shipped == sum(ships for *_, ships in placed) > 0
    # No process ever saw the stock below zero.
    for report in reports:
        on_hand, available = report["lowest"]
        assert on_hand >= 0
        assert available >= 0

    with Store.open(database, config=worker.CONFIG) as store:
        # The database holds the orders the workers were told of, and no others.
        for n, report in enumerate(reports):
            stored = store.orders.for_customer(worker.customer(n), limit=ORDERS_EACH + 1)
            assert sorted(o.id for o in stored) == sorted(o[0] for o in report["placed"])
            for order in stored:
                assert order.status.value == "open"
                assert order.payment_status.value == "captured"
                assert {line.sku: line.quantity for line in order.lines} == {
                    worker.CONTESTED: 1,
                    worker.UNCONTESTED: 1,
                }
        for sku, received in ((worker.CONTESTED, STOCK), (worker.UNCONTESTED, UNCONTESTED_STOCK)):
            (item,) = store.inventory.stock(sku)
            assert item.on_hand == received - shipped, sku
            assert item.reserved == SOLD - shipped, sku
            assert item.available == received - SOLD, sku
            moves = store.inventory.movements(sku, worker.LOCATION)
            assert sum(m.quantity for m in moves) == item.on_hand, sku
            by_kind: Counter[MovementKind] = Counter()
            for move in moves:
                by_kind[move.kind] += move.quantity
            assert by_kind == {MovementKind.RECEIPT: received, MovementKind.SALE: -shipped}, sku
        assert store.inventory.available(worker.CONTESTED) == 0

    if database.startswith("sqlite"):
        path = database.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path)) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
