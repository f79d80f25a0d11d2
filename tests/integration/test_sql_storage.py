"""The SQL storage on a real SQLite file: creating and migrating it, WAL mode, write
transactions that begin IMMEDIATE, times kept as UTC, a statement budget that does
not grow with the size of a cart, and the codec behind its JSON columns.

(What every storage promises is checked in ``tests/contract``.)
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import commercekit
from commercekit.adapters.storage import codec
from commercekit.adapters.storage.promotion_types import BUILTIN_PROMOTION_TYPES
from commercekit.adapters.storage.sql import (
    BUSY_TIMEOUT_MS,
    SqlStorage,
    upgrade,
)
from commercekit.adapters.storage.sql.schema import metadata
from commercekit.domain.cart import Cart
from commercekit.domain.catalog import Product, Variant
from commercekit.domain.checkout import Address, ShippingChoice
from commercekit.domain.errors import InvalidInput
from commercekit.domain.events import OrderPlaced, PaymentRefunded
from commercekit.domain.inventory import ReorderPolicy
from commercekit.domain.money import Money
from commercekit.domain.orders import HistoryEntry, Order, OrderLine, OrderTotals
from commercekit.domain.pricing import PriceList, TaxRate
from commercekit.domain.promotions import (
    AmountOffOrder,
    BuyXGetY,
    CustomerGroups,
    FixedPrice,
    FreeShipping,
    ItemFilter,
    MinimumQuantity,
    MinimumSubtotal,
    PercentOffLines,
    PercentOffOrder,
    Promotion,
    Stacking,
    TieredAmountOff,
)
from commercekit.errors import (
    ConcurrencyConflict,
    SchemaOutOfDate,
)

# The newest migration revision shipped with the package.
HEAD = max(
    path.name.split("_", 1)[0]
    for path in (Path(commercekit.__file__).parent / "adapters/storage/migrations/versions").glob(
        "0*.py"
    )
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SIZES = (1, 10, 50)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture
def storage(url: str) -> Iterator[SqlStorage]:
    opened = SqlStorage.open(url)
    yield opened
    opened.close()


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """Every statement sent to the database meanwhile, BEGIN included."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def a_cart(cart_id: str, lines: int) -> Cart:
    cart = Cart(id=cart_id, currency="EUR", token=f"token-{cart_id}")
    for n in range(lines):
        cart.add(f"RETRO-CLOCK-{n}", n % 5 + 1)
    return cart


def an_order(order_id: str, lines: int, *, placed_at: datetime = NOW) -> Order:
    return Order(
        id=order_id,
        token=f"token-{order_id}",
        cart_id=f"cart-{order_id}",
        email="ada@example.com",
        currency="EUR",
        lines=tuple(
            OrderLine(
                sku=f"RETRO-CLOCK-{n}",
                product_id="retro-clock",
                name="Retro clock",
                quantity=1,
                unit_price_units=4999,
                subtotal_units=4999,
                discount_units=0,
                tax_units=798,
                total_units=4999,
            )
            for n in range(lines)
        ),
        totals=OrderTotals(
            subtotal_units=4999 * lines,
            discount_units=0,
            shipping_units=0,
            shipping_discount_units=0,
            shipping_tax_units=0,
            tax_units=798 * lines,
            grand_total_units=4999 * lines,
            prices_include_tax=True,
        ),
        payment_gateway="test",
        idempotency_key=f"idem-{order_id}",
        fingerprint="sha256:retro",
        placed_at=placed_at,
        history=[HistoryEntry(at=placed_at, actor="customer", action="placed")],
        events=[
            OrderPlaced(
                occurred_at=placed_at,
                order_id=order_id,
                currency="EUR",
                total_units=4999 * lines,
                email="ada@example.com",
            )
        ],
    )


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# --- the file and its schema -------------------------------------------------------


def test_opening_a_new_file_creates_and_migrates_it(tmp_path: Path) -> None:
    path = tmp_path / "new" / "shop.db"
    path.parent.mkdir()

    SqlStorage.open(f"sqlite:///{path}").close()

    assert path.exists()
    assert {"carts", "orders", "payments", "outbox", "alembic_version"} <= table_names(
        f"sqlite:///{path}"
    )


def test_reopening_a_file_keeps_its_data(url: str) -> None:
    with SqlStorage.open(url) as storage, storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", 3))
        uow.commit()

    with SqlStorage.open(url) as storage, storage.unit_of_work() as uow:
        assert uow.carts.get("cart-retro").quantity_of("RETRO-CLOCK-2") == 3


def test_upgrading_twice_changes_nothing(url: str) -> None:
    def schema() -> list[tuple[str, str]]:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                rows = connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master ORDER BY name"
                ).all()
                version = connection.exec_driver_sql("SELECT * FROM alembic_version").all()
            return [(str(name), str(sql)) for name, sql in rows] + [("version", repr(version))]
        finally:
            engine.dispose()

    upgrade(url)
    first = schema()
    upgrade(url)

    assert schema() == first
    assert ("version", f"[('{HEAD}',)]") in first


def test_opening_without_migrating_refuses_a_database_that_needs_it(url: str) -> None:
    with pytest.raises(SchemaOutOfDate, match="commercekit db upgrade") as refused:
        SqlStorage.open(url, migrate=False)
    assert refused.value.current == ()
    assert refused.value.needed == (HEAD,)

    upgrade(url)
    SqlStorage.open(url, migrate=False).close()


def test_the_migrations_build_exactly_the_tables_the_code_declares(storage: SqlStorage) -> None:
    with storage.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def postgres_url() -> str:
    """The test server's URL; skipped without one, but failed in CI (``CI=true``)."""
    url = os.environ.get("COMMERCEKIT_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("COMMERCEKIT_TEST_POSTGRES_URL is not set: CI must test PostgreSQL")
        pytest.skip("COMMERCEKIT_TEST_POSTGRES_URL is not set")
    return url


def test_the_migrations_build_exactly_the_declared_tables_on_postgresql() -> None:
    base = postgres_url()
    schema = f"ck_migrations_{os.getpid()}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        scoped = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        upgrade(scoped)
        upgrade(scoped)  # idempotent here too
        with (
            SqlStorage.open(scoped, migrate=False) as storage,
            storage.engine.connect() as connection,
        ):
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# --- SQLite settings and transactions ----------------------------------------------


def test_connections_run_in_wal_mode_with_foreign_keys_and_a_busy_timeout(
    storage: SqlStorage,
) -> None:
    with storage.engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": BUSY_TIMEOUT_MS}


def test_a_writing_unit_of_work_begins_immediate_and_a_reading_one_does_not(
    storage: SqlStorage,
) -> None:
    with statements(storage.engine) as writing, storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", 2))
        uow.commit()
    with statements(storage.engine) as reading, storage.unit_of_work() as uow:
        uow.carts.get("cart-retro")
        uow.commit()

    assert writing[0] == "BEGIN IMMEDIATE"
    assert writing.count("BEGIN IMMEDIATE") == 1
    assert reading[0] == "BEGIN"
    assert "BEGIN IMMEDIATE" not in reading


def test_a_read_before_writing_does_not_hold_the_write_lock(storage: SqlStorage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", 1))
        uow.commit()

    first, second = storage.unit_of_work(), storage.unit_of_work()
    with first, second:
        mine, theirs = first.carts.get("cart-retro"), second.carts.get("cart-retro")
        mine.add("LAVA-LAMP")
        theirs.add("BEAN-BAG")
        first.carts.save(mine)
        second.carts.save(theirs)
        started = time.monotonic()
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()
    # Neither waited on the other's lock (one thread would otherwise wait it out).
    assert time.monotonic() - started < 1


def test_a_writer_waits_for_a_busy_database_instead_of_failing(
    storage: SqlStorage, tmp_path: Path
) -> None:
    holder = sqlite3.connect(tmp_path / "shop.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process, writing for half a second
    released = threading.Timer(0.5, holder.execute, ["COMMIT"])
    released.start()
    try:
        started = time.monotonic()
        with storage.unit_of_work() as uow:
            uow.carts.add(a_cart("cart-retro", 1))
            uow.commit()
        waited = time.monotonic() - started
    finally:
        released.join()
        holder.close()

    assert waited >= 0.3
    with storage.unit_of_work() as uow:
        assert uow.carts.get("cart-retro").quantity_of("RETRO-CLOCK-0") == 1


def test_times_are_stored_as_utc_and_come_back_utc_aware(storage: SqlStorage) -> None:
    berlin = timezone(timedelta(hours=1))
    with storage.unit_of_work() as uow:
        uow.orders.add(
            an_order("order-1", 1, placed_at=datetime(2026, 11, 27, 13, 0, tzinfo=berlin))
        )
        uow.commit()

    with storage.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT placed_at FROM orders").scalar()
    with storage.unit_of_work() as uow:
        loaded = uow.orders.get("order-1")

    assert str(stored).startswith("2026-11-27 12:00:00")
    assert loaded.placed_at == NOW
    assert loaded.placed_at.tzinfo is UTC


def test_a_naive_time_is_refused_and_nothing_is_written(storage: SqlStorage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", 1))
        uow.orders.add(an_order("order-1", 1, placed_at=datetime(2026, 11, 27, 12, 0)))
        with pytest.raises(InvalidInput, match="timezone-aware"):
            uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.carts.find_by_token("token-cart-retro") is None


def test_a_unit_of_work_that_lost_a_conflict_refuses_to_go_on_until_rolled_back(
    storage: SqlStorage,
) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", 1))
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", 2))  # the id is taken
        with pytest.raises(ConcurrencyConflict):
            uow.carts.find_by_token("anything")  # the read flushes, and loses
        with pytest.raises(ConcurrencyConflict, match="roll it back"):
            uow.commit()
        uow.rollback()
        assert uow.carts.get("cart-retro").quantity_of("RETRO-CLOCK-0") == 1


# --- the statement budget ----------------------------------------------------------


def count_for_each_size(storage: SqlStorage, prepare: Any, measure: Any) -> list[int]:
    """Statements ``measure`` sends, for a cart (or order, or SKU list) of each size."""
    counts = []
    for size in SIZES:
        prepared = prepare(size)
        with statements(storage.engine) as sent:
            measure(size, prepared)
        counts.append(len(sent))
    return counts


def test_loading_a_cart_takes_three_statements_whatever_its_lines(storage: SqlStorage) -> None:
    def prepare(size: int) -> None:
        with storage.unit_of_work() as uow:
            uow.carts.add(a_cart(f"cart-{size}", size))
            uow.commit()

    def measure(size: int, _: None) -> None:
        with storage.unit_of_work() as uow:
            assert len(uow.carts.get(f"cart-{size}")) == size

    # BEGIN, the cart, its lines.
    assert count_for_each_size(storage, prepare, measure) == [3, 3, 3]


def test_saving_a_changed_cart_takes_the_same_statements_whatever_its_lines(
    storage: SqlStorage,
) -> None:
    def prepare(size: int) -> None:
        with storage.unit_of_work() as uow:
            uow.carts.add(a_cart(f"cart-{size}", size))
            uow.commit()

    def measure(size: int, _: None) -> None:
        with storage.unit_of_work() as uow:
            cart = uow.carts.get(f"cart-{size}")
            cart.add("DISCO-BALL")
            uow.carts.save(cart)
            uow.commit()

    # Load (3), then BEGIN IMMEDIATE, UPDATE the cart, DELETE and INSERT its lines.
    assert count_for_each_size(storage, prepare, measure) == [7, 7, 7]


def test_adding_an_order_takes_the_same_statements_whatever_its_lines(storage: SqlStorage) -> None:
    def measure(size: int, _: None) -> None:
        with storage.unit_of_work() as uow:
            uow.orders.add(an_order(f"order-{size}", size))
            uow.commit()

    # BEGIN IMMEDIATE, the order, its lines, its history, its events to the outbox.
    assert count_for_each_size(storage, lambda size: None, measure) == [5, 5, 5]


def test_loading_an_order_takes_the_same_statements_whatever_its_lines(
    storage: SqlStorage,
) -> None:
    def prepare(size: int) -> None:
        with storage.unit_of_work() as uow:
            uow.orders.add(an_order(f"order-{size}", size))
            uow.commit()

    def measure(size: int, _: None) -> None:
        with storage.unit_of_work() as uow:
            assert len(uow.orders.get(f"order-{size}").lines) == size

    # BEGIN, the order, its lines, its history.
    assert count_for_each_size(storage, prepare, measure) == [4, 4, 4]


def test_products_for_skus_take_the_same_statements_however_many_skus(
    storage: SqlStorage,
) -> None:
    def prepare(size: int) -> list[str]:
        skus = [f"SKU-{size}-{n}" for n in range(size)]
        with storage.unit_of_work() as uow:
            for n, sku in enumerate(skus):
                variants = [Variant(sku=sku), Variant(sku=f"{sku}-XL")]
                uow.catalog.add_product(
                    Product(id=f"p-{size}-{n}", name="Lava lamp", variants=variants)
                )
            uow.commit()
        return skus

    def measure(size: int, skus: list[str]) -> None:
        with storage.unit_of_work() as uow:
            found = uow.catalog.products_for_skus(skus)
        assert len(found) == size
        assert all(len(product.variants) == 2 for product in found)

    # BEGIN, the products, their categories, their variants.
    assert count_for_each_size(storage, prepare, measure) == [4, 4, 4]


def test_price_lists_take_the_same_statements_however_many_skus(storage: SqlStorage) -> None:
    def prepare(size: int) -> list[str]:
        skus = [f"SKU-{size}-{n}" for n in range(size)]
        with storage.unit_of_work() as uow:
            for list_id in (f"retail-{size}", f"members-{size}"):
                price_list = PriceList(list_id, "EUR")
                for sku in skus:
                    price_list.set_price(sku, Money("9.99", "EUR"))
                uow.catalog.add_price_list(price_list)
            uow.commit()
        return skus

    def measure(size: int, skus: list[str]) -> None:
        with storage.unit_of_work() as uow:
            lists = uow.catalog.price_lists("EUR", skus)
        assert sum(len(price_list.entries()) for price_list in lists) == 2 * size

    # BEGIN, the lists in the currency, their prices of these SKUs.
    assert count_for_each_size(storage, prepare, measure) == [3, 3, 3]


# --- the codec ---------------------------------------------------------------------

CODEC = codec.Codec(BUILTIN_PROMOTION_TYPES)

FIXED: dict[type[Any], tuple[Callable[[Any], codec.Json], Callable[[Any], Any]]] = {
    ItemFilter: (codec.encode_item_filter, codec.decode_item_filter),
    TaxRate: (codec.encode_tax_rate, codec.decode_tax_rate),
    Address: (codec.encode_address, codec.decode_address),
    ShippingChoice: (codec.encode_shipping_choice, codec.decode_shipping_choice),
    ReorderPolicy: (codec.encode_reorder_policy, codec.decode_reorder_policy),
    Promotion: (CODEC.encode, CODEC.decode),
}


def encode(value: object) -> codec.Json:
    found = FIXED.get(type(value))
    return CODEC.encode_part(value) if found is None else found[0](value)


def decode(data: codec.Json, like: object) -> object:
    found = FIXED.get(type(like))
    return CODEC.decode_part(data) if found is None else found[1](data)


EVERY_KIND: list[object] = [
    PercentOffLines(Decimal("12.5")),
    PercentOffOrder(Decimal("10")),
    AmountOffOrder([Money("5.00", "EUR"), Money("500", "JPY")]),
    FixedPrice(Money("9.99", "EUR")),
    BuyXGetY(buy=3, get=1, percent=Decimal("50")),
    FreeShipping(),
    TieredAmountOff(((Money("100", "EUR"), Money("10", "EUR")),)),
    MinimumSubtotal(Money("50", "EUR"), items=ItemFilter(category_ids={"lamps"})),
    MinimumQuantity(2, items=None),
    CustomerGroups({"staff"}),
    ItemFilter(skus={"RETRO-CLOCK"}, exclude_category_ids={"clearance"}),
    Promotion(
        id="black-friday",
        name="Black Friday",
        benefit=PercentOffLines(Decimal("20")),
        conditions=(MinimumQuantity(2),),
        starts_at=NOW,
        ends_at=NOW + timedelta(days=3),
        priority=5,
        stacking=Stacking.EXCLUSIVE,
        requires_coupon=True,
    ),
    TaxRate(name="VAT", rate=Decimal("0.19"), category="standard"),
    Address(name="Ada Lovelace", line1="12 St James's Square", city="London", country="GB"),
    ShippingChoice(method_id="express", name="Express", price_units=990, currency="GBP"),
    ReorderPolicy(reorder_point=5, quantity=40, supplier="Acme", lead_time_days=3),
    ReorderPolicy(reorder_point=2, maximum=12),
]


@pytest.mark.parametrize("value", EVERY_KIND, ids=lambda value: type(value).__name__)
def test_every_stored_value_survives_a_trip_through_json(value: object) -> None:
    encoded = encode(value)
    assert decode(json.loads(json.dumps(encoded)), value) == value


@pytest.mark.parametrize("value", EVERY_KIND, ids=lambda value: type(value).__name__)
def test_every_field_of_a_stored_value_is_encoded(value: object) -> None:
    # A field added to a domain class and forgotten here would be lost in storage.
    fields = {field.name for field in attrs.fields(type(value))}
    assert set(encode(value)) - {"type"} == fields


def test_every_built_in_benefit_and_condition_is_tried_above() -> None:
    tried = {type(value) for value in EVERY_KIND}
    assert {kind.cls for kind in BUILTIN_PROMOTION_TYPES} <= tried


def test_money_decimals_and_times_are_written_exactly() -> None:
    encoded = CODEC.encode(
        Promotion(
            id="p",
            name="P",
            benefit=AmountOffOrder(Money("5.10", "EUR")),
            starts_at=datetime(2026, 11, 27, 13, 0, tzinfo=timezone(timedelta(hours=1))),
        )
    )
    assert encoded["benefit"]["amounts"] == [{"amount": "5.10", "currency": "EUR"}]
    assert encoded["starts_at"] == "2026-11-27T13:00:00+01:00"
    assert CODEC.encode_part(PercentOffLines(Decimal("12.50")))["percent"] == "12.50"


def test_events_survive_a_trip_through_json() -> None:
    event = PaymentRefunded(
        occurred_at=NOW, payment_id="pay-1", order_id="order-1", currency="EUR", amount_units=500
    )
    encoded = codec.encode_event(event)
    assert codec.decode_event(json.loads(json.dumps(encoded))) == event


def test_the_codec_refuses_what_it_does_not_know() -> None:
    class MysteryBenefit:
        pass

    with pytest.raises(InvalidInput, match="no plugin offers it"):
        CODEC.encode_part(MysteryBenefit())
    with pytest.raises(InvalidInput, match="unknown type"):
        CODEC.decode_part({"type": "os.system", "command": "rm -rf /"})
    with pytest.raises(InvalidInput, match="malformed"):
        codec.decode_tax_rate({"type": "TaxRate", "name": "VAT"})
    with pytest.raises(InvalidInput, match="expected a stored Promotion"):
        CODEC.decode(CODEC.encode_part(FreeShipping()))
    with pytest.raises(InvalidInput, match="given twice"):
        codec.Codec([*BUILTIN_PROMOTION_TYPES, BUILTIN_PROMOTION_TYPES[0]])


def _pragmas(storage: Any) -> tuple[str, int]:
    with storage.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        level = connection.exec_driver_sql("PRAGMA synchronous").scalar_one()
    return str(mode), int(level)


def test_a_sqlite_store_runs_in_wal_mode_with_full_sync_unless_its_url_says_otherwise(
    tmp_path: Path,
) -> None:
    with SqlStorage.open(f"sqlite:///{tmp_path / 'default.db'}") as storage:
        assert _pragmas(storage) == ("wal", 2)  # FULL
    url = f"sqlite:///{tmp_path / 'chosen.db'}?journal_mode=DELETE&synchronous=normal"
    with SqlStorage.open(url) as storage:
        assert _pragmas(storage) == ("delete", 1)  # NORMAL
        with storage.unit_of_work() as uow:
            assert uow.catalog.stamp() >= 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("journal_mode=memory", "journal_mode"),
        ("journal_mode=wal;DROP", "journal_mode"),
        ("synchronous=2", "synchronous"),
        ("synchronous=extra%00", "synchronous"),
    ],
)
def test_a_sqlite_setting_not_offered_is_refused_naming_it(
    tmp_path: Path, query: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        SqlStorage.open(f"sqlite:///{tmp_path / 'refused.db'}?{query}")
    assert raised.value.field == field
    assert not (tmp_path / "refused.db").exists()
