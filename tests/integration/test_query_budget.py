"""The query budget, counted in statements on a real SQLite file.

Loading a cart with its prices takes a fixed number of queries whatever its number
of lines; pricing a loaded cart takes none; placing an order takes a fixed number
of statements, whatever its number of lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
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
from commercekit.services.base import find_cart, load_pricing
from commercekit.store import Store

SIZES = (1, 10, 50)
ADDRESS = {
    "name": "Ada",
    "line1": "Hauptstr. 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    config = {
        "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
        "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_budget"}}},
        "entry_point_plugins": False,
    }
    with Store.open(f"sqlite:///{tmp_path / 'budget.db'}", config=config) as opened:
        opened.catalog.add_price_list("eu", "EUR")
        opened.catalog.add_tax_zone(
            TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
        )
        opened.inventory.add_location(StockLocation(id="main", name="Main"))
        for n in range(max(SIZES)):
            opened.catalog.add_product(
                Product(id=f"p{n}", name=f"Thing {n}", variants=[Variant(sku=f"SKU-{n}")])
            )
            opened.catalog.publish(f"p{n}")
            opened.catalog.set_price("eu", f"SKU-{n}", Money("1.50", "EUR"))
            opened.inventory.receive(f"SKU-{n}", "main", 1_000)
        yield opened


@contextmanager
def counting(store: Store) -> Iterator[list[str]]:
    assert isinstance(store.storage, SqlStorage)
    engine = store.storage.engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def cart_of(store: Store, lines: int) -> str:
    cart = store.carts.create("EUR")
    for n in range(lines):
        store.carts.add(cart.token, f"SKU-{n}", 2)
    return cart.token


def statements_for(store: Store, action: Callable[[], object]) -> int:
    with counting(store) as statements:
        action()
    return len(statements)


def test_loading_and_pricing_a_cart_takes_the_same_queries_whatever_its_size(
    store: Store,
) -> None:
    counts = []
    for size in SIZES:
        token = cart_of(store, size)
        counts.append(statements_for(store, partial(store.carts.price, token)))
    assert counts[0] == counts[1] == counts[2], counts


def test_pricing_a_loaded_cart_takes_no_query(store: Store) -> None:
    token = cart_of(store, 10)
    with store.storage.unit_of_work() as uow:
        cart = find_cart(uow, token)
        engine, context = load_pricing(uow, cart, store.runtime, now=store.runtime.clock.now())
        with counting(store) as statements:
            breakdown = engine.price(cart, context)
    assert statements == []
    assert breakdown.subtotal == Money("30.00", "EUR")


def ready(store: Store, lines: int) -> str:
    token = cart_of(store, lines)
    store.checkout.set_contact(token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(token, ADDRESS)
    store.checkout.choose_shipping(token, {"method_id": "post"})
    store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(token)
    return token


def test_placing_an_order_takes_the_same_statements_whatever_its_size(store: Store) -> None:
    counts = []
    for size in SIZES:
        token = ready(store, size)
        place = partial(store.checkout.place_order, token, idempotency_key=f"k-{size}")
        counts.append(statements_for(store, place))
    assert counts[0] == counts[1] == counts[2], counts


def kinds(statements: list[str]) -> dict[str, int]:
    counted: dict[str, int] = {}
    for statement in statements:
        kind = statement.split(None, 1)[0]
        counted[kind] = counted.get(kind, 0) + 1
    return counted


#: One order, whatever its lines, its products and prices known to the store's
#: catalogue snapshot: the cart (two), its checkout, the key and the cart's live
#: order, the catalogue's stamp, the cart's experiment assignment (none here), stock
#: rules and items (9 reads); the order's rows, its holds in one statement (one write
#: transaction); then, after the gateway, the settlement with no read.
PLACE_ORDER = {"BEGIN": 3, "SELECT": 9, "INSERT": 9, "UPDATE": 4, "DELETE": 1}


def test_placing_an_order_takes_this_budget_and_settles_without_reading(store: Store) -> None:
    for size in SIZES:
        token = ready(store, size)
        with counting(store) as statements:
            store.checkout.place_order(token, idempotency_key=f"budget-{size}")
        assert kinds(statements) == PLACE_ORDER, size
        last_begin = max(n for n, s in enumerate(statements) if s.startswith("BEGIN"))
        settling = statements[last_begin:]
        assert not [s for s in settling if s.startswith("SELECT")], settling


def test_the_catalogue_is_read_once_per_catalogue_change(store: Store) -> None:
    token = cart_of(store, 3)
    store.carts.price(token)
    with counting(store) as warm:
        store.carts.price(token)
    store.catalog.add_tax_zone(TaxZone(id="at", country="AT"))
    with counting(store) as cold:
        store.carts.price(token)
    tables = (
        "categories",
        "tax_zones",
        "promotions",
        "stock_locations",
        "shipping_zones",
        "delivery_methods",
        "products",
        "prices",
    )
    assert not [s for s in warm if any(f"FROM {table}" in s for table in tables)]
    # Categories, tax zones, promotions, locations, shipping zones, delivery methods,
    # products (three statements) and prices (two), once.
    assert len(cold) == len(warm) + 11
