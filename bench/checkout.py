"""Orders placed per second, beside the bare driver writing the same rows.

commercekit: ``store.checkout.place_order`` for ready 3-line carts (contact, address,
shipping and the test gateway's ``tok_success`` already set), timed whole: repricing
on the server, reserving stock, the order transaction, the gateway call, settling.

Bare driver: the very rows one ``place_order`` writes (its INSERT, UPDATE and DELETE
statements, captured from a real run, with fresh ids for each order) replayed
through ``sqlite3`` or ``psycopg`` in as many write transactions as ``place_order``
uses (the order, then its settlement), on a database with the same schema, pragmas
and stock. The table also gives every statement one order runs, reads included.

Each backend runs with 1 and 4 workers (threads, one connection each) buying
different SKUs, 4 workers all buying the same SKU (contended: every order reserves
the same stock row), and 4 worker processes (each with its own store) buying the
same SKU. PostgreSQL runs when ``COMMERCEKIT_TEST_POSTGRES_URL`` is set (in a
schema of its own, dropped afterwards).

Run: ``python bench/checkout.py`` (``--orders N`` per worker, default 100).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from commercekit import (
    Money,
    Product,
    StockLocation,
    TaxRate,
    TaxZone,
    Variant,
)
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.store import Store
from databases import database

CONFIG = {
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_bench"}}},
    "entry_point_plugins": False,
}
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "Hauptstr. 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
WORKERS = 4
# Ids, tokens and keys in captured parameters, replaced afresh for every replayed order.
_UNIQUE = re.compile(r"^[a-z]+_[0-9a-f]{20,}$|^[A-Za-z0-9_-]{43}$|^bench-")

Write = tuple[str, Any, bool]
Transaction = list[Write]


def skus(worker: int) -> list[str]:
    return [f"SKU-{worker}-{part}" for part in "abc"]


def open_store(url: str) -> Store:
    store = Store.open(url, config=CONFIG)
    store.catalog.add_price_list("eu", "EUR")
    store.catalog.add_tax_zone(
        TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
    )
    store.inventory.add_location(StockLocation(id="main", name="Main warehouse"))
    for worker in range(WORKERS):
        for n, sku in enumerate(skus(worker)):
            store.catalog.add_product(
                Product(id=sku.lower(), name=sku, variants=[Variant(sku=sku)])
            )
            store.catalog.publish(sku.lower())
            store.catalog.set_price("eu", sku, Money(f"{4 + n}.90", "EUR"))
            store.inventory.receive(sku, "main", 1_000_000)
    return store


def ready_cart(store: Store, worker: int) -> str:
    cart = store.carts.create("EUR")
    for sku in skus(worker):
        store.carts.add(cart.token, sku, 1)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return cart.token


def capture_writes(store: Store) -> tuple[list[Transaction], int]:
    """The write statements of one real ``place_order`` (worker 0's SKUs), by write
    transaction, and how many statements it ran in all."""
    assert isinstance(store.storage, SqlStorage)
    transactions: list[Transaction] = []
    statements = 0

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        nonlocal statements
        kind = statement.split(None, 1)[0]
        statements += kind != "BEGIN"
        if kind in ("INSERT", "UPDATE", "DELETE"):
            if conn.info.get("bench.transaction") is not conn.get_transaction():
                conn.info["bench.transaction"] = conn.get_transaction()
                transactions.append([])
            transactions[-1].append((statement, parameters, executemany))

    token = ready_cart(store, 0)
    sa.event.listen(store.storage.engine, "before_cursor_execute", record)
    try:
        store.checkout.place_order(token, idempotency_key="bench-capture")
    finally:
        sa.event.remove(store.storage.engine, "before_cursor_execute", record)
    return transactions, statements


def _fresh(value: Any, suffix: str, worker: int) -> Any:
    if isinstance(value, str):
        if _UNIQUE.match(value):
            return f"{value}-{suffix}"
        return value.replace("SKU-0-", f"SKU-{worker}-")
    if isinstance(value, dict):
        return {key: _fresh(item, suffix, worker) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_fresh(item, suffix, worker) for item in value)
    return value


def _connect(backend: str, url: str) -> tuple[Any, Callable[[], None], Callable[[], None]]:
    """A raw driver connection, with begin and commit."""
    if backend == "sqlite":
        connection = sqlite3.connect(
            sa.make_url(url).database or "", isolation_level=None, timeout=30
        )
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA foreign_keys = ON")
        return (
            connection,
            lambda: connection.execute("BEGIN IMMEDIATE"),
            lambda: connection.execute("COMMIT"),
        )
    import psycopg

    parsed = sa.make_url(url)
    connection = psycopg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        dbname=parsed.database,
        options=parsed.query.get("options"),
    )
    return connection, lambda: None, connection.commit


def replay(
    backend: str,
    url: str,
    transactions: Sequence[Transaction],
    thread: int,
    worker: int,
    orders: int,
) -> None:
    """Replay ``orders`` orders as thread ``thread``, buying worker ``worker``'s SKUs."""
    connection, begin, commit = _connect(backend, url)
    cursor = connection.cursor()
    for n in range(orders):
        suffix = f"{thread}-{n}"
        for writes in transactions:
            begin()
            for statement, parameters, many in writes:
                if many:
                    cursor.executemany(statement, [_fresh(p, suffix, worker) for p in parameters])
                else:
                    cursor.execute(statement, _fresh(parameters, suffix, worker))
            commit()
    connection.close()


def _process(url: str, orders: int, ready: Any, start: Any, done: Any) -> None:
    """One worker process: its own store, ``orders`` ready carts, then go."""
    with Store.open(url, config=CONFIG) as store:
        carts = [ready_cart(store, 0) for _ in range(orders)]
        ready.put(os.getpid())
        start.wait(600)
        for n, token in enumerate(carts):
            store.checkout.place_order(token, idempotency_key=f"bench-{os.getpid()}-{n}")
    done.put(os.getpid())


def in_processes(url: str, workers: int, orders: int) -> float:
    """Seconds for ``workers`` processes to place ``orders`` orders each on one SKU."""
    context = multiprocessing.get_context("spawn")
    ready, done, start = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=_process, args=(url, orders, ready, start, done))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=600)
        started = time.perf_counter()
        start.set()
        for _ in processes:
            done.get(timeout=600)
        return time.perf_counter() - started
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()


def in_threads(work: Callable[[int], None], workers: int) -> float:
    """Seconds for ``workers`` threads to run ``work(worker)`` each, started together."""
    barrier = threading.Barrier(workers + 1)

    def run(worker: int) -> None:
        barrier.wait()
        work(worker)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    return time.perf_counter() - started


def measure(
    backend: str, folder: Path, workers: int, contended: bool, orders: int, processes: bool
) -> tuple[float, float, list[Transaction], int]:
    with database(backend, folder, "ck") as url, open_store(url) as store:
        writes, statements = capture_writes(store)
        if processes:
            ours = workers * orders / in_processes(url, workers, orders)
        else:
            carts = {
                w: [ready_cart(store, 0 if contended else w) for _ in range(orders)]
                for w in range(workers)
            }

            def buy(worker: int) -> None:
                for n, token in enumerate(carts[worker]):
                    store.checkout.place_order(token, idempotency_key=f"bench-{worker}-{n}")

            ours = workers * orders / in_threads(buy, workers)
    with database(backend, folder, "bare") as url:
        open_store(url).close()  # the same schema, catalogue and stock

        def write(worker: int) -> None:
            replay(backend, url, writes, worker, 0 if contended else worker, orders)

        bare = workers * orders / in_threads(write, workers)
    return ours, bare, writes, statements


def main(orders: int) -> None:
    backends = ["sqlite"] + (
        ["postgresql"] if os.environ.get("COMMERCEKIT_TEST_POSTGRES_URL") else []
    )
    scenarios = [
        ("1 worker", 1, False, False),
        ("4 threads", WORKERS, False, False),
        ("4 threads, same SKU", WORKERS, True, False),
        ("4 processes, same SKU", WORKERS, True, True),
    ]
    print(f"{orders} orders of 3 lines per worker, test gateway, stock reserved per order")
    columns = ("backend", "workers", "place_order/s", "bare/s", "ratio", "stmts", "writes")
    line = "{:<11} {:<22} {:>13} {:>8} {:>6} {:>6} {:>9}"
    print(line.format(*columns))
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            for label, workers, contended, processes in scenarios:
                ours, bare, writes, statements = measure(
                    backend, Path(folder), workers, contended, orders, processes
                )
                shape = "+".join(str(len(transaction)) for transaction in writes)
                ratio = f"{ours / bare:.2f}"
                row = (backend, label, f"{ours:.0f}", f"{bare:.0f}", ratio, statements, shape)
                print(line.format(*row))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100)
    main(parser.parse_args().orders)
