"""Memory, SQLite and PostgreSQL sum every report alike.

The memory storage runs the reference definitions
(:mod:`commercekit.domain.reports.reference`) over its objects; SQL storage runs one
aggregate statement per report. Random orders (every status, channels, two
currencies, discounts and coupons, lines of products in several categories or none,
a product since deleted), returns in every status, a stock ledger and the recoveries
of abandoned carts (reminded, restored, recovered in either currency or not) are
written to all three, and every report over random periods and buckets must come back
the same, row for row and type for type.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercekit import Category, Coupon, PercentOffLines, Product, Promotion, Variant
from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.adapters.storage.sql.schema import metadata
from commercekit.domain.inventory import MovementKind, StockChange, StockLocation, StockMovement
from commercekit.domain.marketing.abandoned import (
    CartRecovery,
    RecoveryNotice,
    RecoveryStatus,
    RecoveryTotals,
)
from commercekit.domain.orders import Order, OrderLine, OrderStatus, OrderTotals
from commercekit.domain.pricing import PriceList
from commercekit.domain.pricing.price_lists import PriceEntry
from commercekit.domain.reports import Granularity, Period
from commercekit.domain.reports import tables as finish
from commercekit.domain.returns import Return, ReturnLine, ReturnReason, ReturnStatus
from commercekit.ports.reports import ReportSource
from commercekit.ports.storage import Storage

BASE: Final = datetime(2026, 3, 1, tzinfo=UTC)
#: SKUs and their products: mixed case, so that sorting by code point shows; "gone"
#: is a product no longer in the catalogue.
SKUS: Final = {
    "MUG-RED": "mug",
    "MUG-BLUE": "mug",
    "CLOCK": "clock",
    "lamp-x": "lamp",
    "Zebra-1": "gone",
}
PRODUCTS: Final = {"mug": ("kitchen", "Living"), "clock": ("Living",), "lamp": ()}
CATEGORIES: Final = {"kitchen": "Kitchen", "Living": "Living room", "zz-empty": "Nothing"}
PROMOTIONS: Final = {"spring": "Spring", "VIP": "Very important", "Autumn": "Autumn"}
#: Codes and their promotions; "retired" is a promotion no longer stored.
COUPONS: Final = {"SPRING10": "spring", "SPRING20": "spring", "VIPCODE": "VIP"}
ADJUSTED: Final = (*PROMOTIONS, "retired")
PLACES: Final = ("berlin", "hamburg")
_EXAMPLES = itertools.count()

lines = st.lists(
    st.tuples(
        st.sampled_from(sorted(SKUS)),
        st.integers(1, 5),
        st.integers(0, 5000),
        st.lists(st.tuples(st.sampled_from(ADJUSTED), st.integers(0, 400)), max_size=2),
        st.integers(0, 900),
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda line: line[0],
)
orders = st.lists(
    st.tuples(
        st.integers(-3 * 1440, 70 * 1440),
        st.sampled_from(OrderStatus),
        st.sampled_from([None, "web", "POS", "app"]),
        st.sampled_from(["EUR", "JPY"]),
        lines,
        st.lists(st.sampled_from(sorted(COUPONS)), unique=True, max_size=2),
        st.integers(0, 990),
    ),
    max_size=12,
)
returns = st.lists(
    st.tuples(
        st.integers(0, 11),
        st.sampled_from(ReturnStatus),
        st.lists(
            st.tuples(st.integers(0, 2), st.integers(1, 4), st.sampled_from(ReturnReason)),
            min_size=1,
            max_size=3,
            unique_by=lambda line: line[0],
        ),
    ),
    max_size=6,
)
sales = st.lists(
    st.tuples(
        st.sampled_from(sorted(SKUS)),
        st.sampled_from(PLACES),
        st.integers(1, 9),
        st.integers(-3 * 1440, 70 * 1440),
    ),
    max_size=10,
)
recoveries = st.lists(
    st.tuples(
        st.integers(-3 * 1440, 45 * 1440),
        st.sampled_from(RecoveryStatus),
        st.integers(0, 3),
        st.integers(0, 2),
        st.sampled_from(["EUR", "JPY"]),
        st.integers(0, 90_000),
    ),
    max_size=8,
)
periods = st.tuples(
    st.integers(-2 * 1440, 40 * 1440),
    st.integers(1, 45 * 1440),
    st.sampled_from([0, 330, -420]),
    st.sampled_from(Granularity),
)


def _empty(storage: SqlStorage) -> None:
    with storage.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def sql_storages(tmp_path: Path, storage_postgresql: SqlStorage) -> Iterator[dict[str, SqlStorage]]:
    sqlite = SqlStorage.open(f"sqlite:///{tmp_path / 'reports.db'}")
    yield {"sqlite": sqlite, "postgresql": storage_postgresql}
    sqlite.close()


def _order(number: int, drawn: tuple[Any, ...]) -> Order:
    minutes, status, channel, currency, drawn_lines, _, shipping = drawn
    order_lines = tuple(
        OrderLine(
            sku=sku,
            product_id=SKUS[sku],
            name=sku.title(),
            quantity=quantity,
            unit_price_units=unit,
            subtotal_units=unit * quantity,
            discount_units=sum(units for _, units in adjustments),
            tax_units=tax,
            total_units=unit * quantity + tax,
            adjustments=tuple(adjustments),
        )
        for sku, quantity, unit, adjustments, tax in drawn_lines
    )
    line_total = sum(line.total_units for line in order_lines)
    order_id = f"order-{number}"
    return Order(
        id=order_id,
        token=f"token-{order_id}",
        cart_id=f"cart-{order_id}",
        channel=channel,
        number=f"N-{number}",
        email="ada@example.com",
        currency=currency,
        lines=order_lines,
        totals=OrderTotals(
            subtotal_units=sum(line.subtotal_units for line in order_lines),
            discount_units=sum(line.discount_units for line in order_lines) + shipping // 3,
            shipping_units=shipping,
            shipping_discount_units=shipping // 3,
            shipping_tax_units=0,
            tax_units=sum(line.tax_units for line in order_lines),
            grand_total_units=line_total + shipping - shipping // 3,
            prices_include_tax=False,
        ),
        payment_gateway="test",
        idempotency_key=f"key-{order_id}",
        fingerprint=f"sha256:{order_id}",
        placed_at=BASE + timedelta(minutes=minutes),
        status=status,
    )


def _recovery(number: int, drawn: tuple[Any, ...]) -> CartRecovery:
    """A cart's recovery as the domain leaves it: a cart reminded before it is
    recovered, never reminded while it is only watched, and an order's currency and
    total only on a recovered one."""
    minutes, status, notices, restores, currency, total = drawn
    if status is RecoveryStatus.WATCHING:
        notices = 0
    elif status is RecoveryStatus.RECOVERED:
        notices = max(notices, 1)
    recovered = status is RecoveryStatus.RECOVERED
    watched_at = BASE + timedelta(minutes=minutes)
    recovery = CartRecovery.watch(
        f"Cart-{number}", cart_version=1, checkout_version=1, at=watched_at
    )
    return attrs.evolve(
        recovery,
        status=status,
        notices=tuple(
            RecoveryNotice(
                number=n,
                key=f"cart_recovery:Cart-{number}:{n}:ada@example.com",
                email="ada@example.com",
                at=watched_at + timedelta(hours=n),
            )
            for n in range(1, notices + 1)
        ),
        restores=restores,
        restored_at=watched_at + timedelta(hours=2) if restores else None,
        order_id=f"order-{number}" if recovered else "",
        currency=currency if recovered else "",
        revenue_units=total if recovered else 0,
        recovered_at=watched_at + timedelta(hours=5) if recovered else None,
    )


def _write(
    storage: Storage,
    drawn_orders: list[Any],
    drawn_returns: list[Any],
    moves: list[Any],
    drawn_recoveries: list[Any],
) -> None:
    with storage.unit_of_work() as uow:
        catalog = uow.catalog
        for category_id, name in CATEGORIES.items():
            catalog.add_category(Category(id=category_id, name=name))
        for product_id, categories in PRODUCTS.items():
            variants = [Variant(sku=sku) for sku, owner in SKUS.items() if owner == product_id]
            catalog.add_product(
                Product(
                    id=product_id,
                    name=f"The {product_id}",
                    category_ids=list(categories),
                    variants=variants,
                )
            )
        for promotion_id, name in PROMOTIONS.items():
            catalog.add_promotion(
                Promotion(id=promotion_id, name=name, benefit=PercentOffLines(10))
            )
        for code, promotion_id in COUPONS.items():
            catalog.add_coupon(Coupon(code=code, promotion_id=promotion_id))
        catalog.add_price_list(PriceList("eu", "EUR"))
        catalog.put_prices(
            "eu", {"MUG-RED": PriceEntry(1250, (), None), "CLOCK": PriceEntry(4000, (), None)}
        )
        placed = [_order(n, drawn) for n, drawn in enumerate(drawn_orders)]
        for order, drawn in zip(placed, drawn_orders, strict=True):
            uow.orders.add(order)
            for code in drawn[5]:
                catalog.record_coupon_use(code, None, order.id)
        for n, (which, status, wanted) in enumerate(drawn_returns):
            if not placed:
                break
            order = placed[which % len(placed)]
            skus = [line.sku for line in order.lines]
            chosen = {
                skus[index % len(skus)]: (quantity, reason) for index, quantity, reason in wanted
            }
            uow.records(Return).add(
                Return(
                    id=f"return-{n}",
                    order_id=order.id,
                    owner="",
                    currency=order.currency,
                    created_at=order.placed_at + timedelta(days=3),
                    lines=tuple(
                        ReturnLine(sku=sku, quantity=quantity, reason=reason)
                        for sku, (quantity, reason) in chosen.items()
                    ),
                    status=status,
                )
            )
        for place in PLACES:
            uow.inventory.add_location(StockLocation(id=place, name=place.title()))
        changes = [
            StockChange.move(
                StockMovement(
                    id=f"in-{sku}-{place}",
                    sku=sku,
                    location_id=place,
                    kind=MovementKind.RECEIPT,
                    quantity=100,
                    at=BASE - timedelta(days=10),
                )
            )
            for sku in ("MUG-RED", "CLOCK", "lamp-x")
            for place in PLACES
        ]
        for n, (sku, place, quantity, minutes) in enumerate(moves):
            if sku in ("MUG-RED", "CLOCK", "lamp-x"):
                changes.append(
                    StockChange.move(
                        StockMovement(
                            id=f"sale-{n}",
                            sku=sku,
                            location_id=place,
                            kind=MovementKind.SALE,
                            quantity=-quantity,
                            at=BASE + timedelta(minutes=minutes),
                            reference=f"order-{n}",
                        )
                    )
                )
        uow.inventory.apply(changes)
        for n, drawn in enumerate(drawn_recoveries):
            uow.records(CartRecovery).add(_recovery(n, drawn))
        # The running totals are records too, of another kind, that no report counts.
        uow.records(RecoveryTotals).add(RecoveryTotals(started_at=BASE, reminders=99))
        uow.commit()


def _everything(source: ReportSource, period: Period, granularity: Granularity) -> dict[str, Any]:
    return {
        "sales": source.sales_over_time(period, granularity),
        "products": source.sales_by_product(period),
        "top": source.sales_by_product(period, 2),
        "categories": source.sales_by_category(period),
        "channels": source.sales_by_channel(period),
        "discounts": source.discounts(period),
        "returned": source.returns_by_product(period),
        "reasons": source.returns_by_reason(period),
        "stock": source.stock(period),
        "stock_priced": source.stock(period, "eu"),
        "abandoned": source.abandoned_carts(period),
    }


def _types(value: Any) -> Any:
    """Every row's fields with their types, so that an int is never a Decimal."""
    if isinstance(value, dict):
        return {key: _types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_types(item) for item in value]
    return [(field.name, type(getattr(value, field.name))) for field in attrs.fields(type(value))]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    drawn_orders=orders,
    drawn_returns=returns,
    moves=sales,
    drawn_recoveries=recoveries,
    asked=st.lists(periods, min_size=1, max_size=3),
)
def test_every_report_is_summed_alike_on_every_storage(
    sql_storages: dict[str, SqlStorage],
    drawn_orders: list[Any],
    drawn_returns: list[Any],
    moves: list[Any],
    drawn_recoveries: list[Any],
    asked: list[tuple[int, int, int, Granularity]],
) -> None:
    memory = MemoryStorage()
    storages: dict[str, Any] = {"memory": memory, **sql_storages}
    for storage in sql_storages.values():
        _empty(storage)
    for storage in storages.values():
        _write(storage, drawn_orders, drawn_returns, moves, drawn_recoveries)
    for start, minutes, offset, granularity in asked:
        zone = timezone(timedelta(minutes=offset))
        since = (BASE + timedelta(minutes=start)).astimezone(zone)
        period = Period(since=since, until=since + timedelta(minutes=minutes))
        found = {
            name: _everything(storage.reports(), period, granularity)
            for name, storage in storages.items()
        }
        assert found["sqlite"] == found["memory"]
        assert found["postgresql"] == found["memory"]
        assert _types(found["sqlite"]) == _types(found["memory"])
        assert _types(found["postgresql"]) == _types(found["memory"])
        # And the figures agree with one another.
        reported = found["memory"]
        table = finish.sales_table(reported["sales"], period, granularity)
        assert sum(r.revenue_units for r in reported["sales"]) == sum(
            r.revenue_units for r in reported["channels"]
        )
        counted = [cell for cell in table.column("orders") if isinstance(cell, int)]
        assert sum(r.orders for r in reported["sales"]) == sum(counted)
        assert sum(r.units for r in reported["products"]) == sum(r.units for r in reported["sales"])
        watched = [
            drawn
            for drawn in drawn_recoveries
            if period.contains(BASE + timedelta(minutes=drawn[0]))
        ]
        assert sum(r.carts for r in reported["abandoned"]) == len(watched)
        for row in reported["abandoned"]:
            assert row.orders_recovered <= row.carts_reminded <= row.carts
            assert row.currency or not row.orders_recovered


def test_postgresql_sorts_text_by_code_point_whatever_the_database_collation() -> None:
    # The test server may well sort in "C" already, where the property cannot tell.
    from sqlalchemy.dialects import postgresql

    from commercekit.adapters.storage.sql import reports

    dialect = reports._dialect("postgresql")
    statements = [
        reports._sales_over_time(dialect, Granularity.WEEK),
        reports._sales_by_product(dialect, True),
        reports._sales_by_category(dialect),
        reports._sales_by_channel(dialect),
        reports._discounts(dialect),
        reports._returns_by_product(dialect),
        reports._returns_by_reason(dialect),
        reports._stock(dialect),
        reports._abandoned_carts(dialect),
    ]
    for statement in statements:
        sql = str(statement.compile(dialect=postgresql.dialect()))
        assert 'COLLATE "C"' in sql.rpartition("ORDER BY")[2], sql
