"""Orders placed per second on SQLite, beside the bare driver writing the same rows.

commercekit: ``store.checkout.place_order`` for ready 3-line carts (contact, address,
shipping and the test gateway's ``tok_success`` already set), on a SQLite file, in one
process. Everything it does is timed: repricing on the server, the order
transaction, the gateway call, settling, the outbox.

Bare sqlite3: the very rows one ``place_order`` writes (its INSERT, UPDATE and DELETE
statements, captured from a real run, with fresh ids for each order), replayed with
the standard library's ``sqlite3`` in one transaction per order, on an identical
database file with the same pragmas.

Run: ``python bench/checkout.py`` (``--orders N``, default 300).
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from commercekit import Money, Product, TaxRate, TaxZone, Variant
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.store import Store

CONFIG = {
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
    "entry_point_plugins": False,
}
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "Hauptstr. 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
SKUS = ("TEA-GREEN", "TEA-BLACK", "KETTLE")
# Ids, tokens and keys in captured parameters, replaced afresh for every replayed order.
_UNIQUE = re.compile(r"^(order|payment|cart|txn|pay)_[0-9a-f]{16,}|^[A-Za-z0-9_-]{43}$|^bench-")


def open_store(path: Path) -> Store:
    store = Store.open(f"sqlite:///{path}", config=CONFIG)
    store.catalog.add_price_list("eu", "EUR")
    store.catalog.add_tax_zone(
        TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
    )
    for n, sku in enumerate(SKUS):
        store.catalog.add_product(
            Product(id=sku.lower(), name=sku.title(), variants=[Variant(sku=sku)])
        )
        store.catalog.publish(sku.lower())
        store.catalog.set_price("eu", sku, Money(f"{4 + n}.90", "EUR"))
    return store


def ready_cart(store: Store) -> str:
    cart = store.carts.create("EUR")
    for sku in SKUS:
        store.carts.add(cart.token, sku, 1)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return cart.token


def capture_writes(store: Store) -> list[tuple[str, Any, bool]]:
    """The write statements of one real ``place_order``, with their parameters."""
    assert isinstance(store.storage, SqlStorage)
    writes: list[tuple[str, Any, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.split(None, 1)[0] in ("INSERT", "UPDATE", "DELETE"):
            writes.append((statement, parameters, executemany))

    token = ready_cart(store)
    sa.event.listen(store.storage.engine, "before_cursor_execute", record)
    try:
        store.checkout.place_order(token, idempotency_key="bench-capture")
    finally:
        sa.event.remove(store.storage.engine, "before_cursor_execute", record)
    return writes


def _fresh(value: Any, suffix: str) -> Any:
    if isinstance(value, str) and _UNIQUE.match(value):
        return f"{value}-{suffix}"
    if isinstance(value, tuple | list):
        return type(value)(_fresh(item, suffix) for item in value)
    return value


def bare_rate(path: Path, writes: Sequence[tuple[str, Any, bool]], orders: int) -> float:
    """Orders per second replaying ``writes`` with sqlite3, one transaction an order."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA foreign_keys = ON")
    started = time.perf_counter()
    for n in range(orders):
        suffix = str(n)
        connection.execute("BEGIN IMMEDIATE")
        for statement, parameters, many in writes:
            if many:
                connection.executemany(statement, [_fresh(p, suffix) for p in parameters])
            else:
                connection.execute(statement, _fresh(parameters, suffix))
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return orders / elapsed


def commercekit_rate(store: Store, orders: int) -> float:
    tokens = [ready_cart(store) for _ in range(orders)]
    started = time.perf_counter()
    for n, token in enumerate(tokens):
        store.checkout.place_order(token, idempotency_key=f"bench-{n}")
    return orders / (time.perf_counter() - started)


def main(orders: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ours = Path(folder) / "commercekit.db"
        bare = Path(folder) / "bare.db"
        with open_store(ours) as store:
            writes = capture_writes(store)
            rate = commercekit_rate(store, orders)
        with open_store(bare):
            pass  # the same schema and catalogue, for the bare replay
        baseline = bare_rate(bare, writes, orders)
    statements = len(writes)
    print(f"SQLite file, one process, {orders} orders of 3 lines, test gateway")
    print(f"{'writer':<34} {'orders/s':>9}")
    print(f"{'commercekit place_order':<34} {rate:>9.0f}")
    print(f"{f'bare sqlite3 ({statements} writes, 1 tx)':<34} {baseline:>9.0f}")
    print(f"{'ratio':<34} {rate / baseline:>9.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=300)
    main(parser.parse_args().orders)
