"""Every report on a small shop whose figures are worked out by hand, on memory, a
SQLite file and PostgreSQL.

The shop (prices without tax, German VAT 19% on goods, shipping 4.90 untaxed), its
orders placed through carts and checkout, in a period of four days from Friday 27
November 2026 (UTC):

- A, Friday, channel ``web``: 3 mugs at 12.00 (10% off with the coupon KITCHEN) and
  a clock at 40.00, paid and delivered. Mug line 36.00 - 3.60 = 32.40, VAT 6.16,
  38.56; clock line 40.00, VAT 7.60, 47.60; with shipping 91.06.
- B, Saturday, channel ``pos``: 2 clocks, paid and delivered: 80.00, VAT 15.20,
  with shipping 100.10.
- C, Monday, in the store's default channel (the first, ``web``): a mug,
  authorized, not shipped (its unit is held): 12.00, VAT 2.28, with shipping 19.18.
- D, Friday, channel ``web``: a clock whose payment is declined: cancelled, counted
  nowhere.

Returns: a mug of A, damaged (asked for); a clock of B, changed mind (rejected, so
not counted); another clock of B, does not fit (approved). Stock: 20 mugs and 20
clocks received at Berlin before the orders; A and B shipped.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import pytest

from commercekit import StockLocation
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import CommerceError, ConfigurationError, InvalidInput, NotFound
from commercekit.domain.reports import REPORTS, ReportTable
from commercekit.domain.shipping import TrackingEvent, TrackingStatus
from commercekit.store import Store
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_postgres_schema
from tests.services.conftest import ADDRESS, CONFIG, seed

FRIDAY: Final = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SINCE: Final = datetime(2026, 11, 27, tzinfo=UTC)
UNTIL: Final = datetime(2026, 12, 1, tzinfo=UTC)
SHOP: Final = {
    **CONFIG,
    "track_behaviour": True,
    "channels": [
        {"id": "web", "currencies": ["EUR"]},
        {"id": "pos", "currencies": ["EUR"]},
    ],
}
D = Decimal
_NUMBERS = itertools.count()


def backends() -> list[str]:
    found = ["memory", "sqlite"]
    if os.environ.get(POSTGRES_URL_VARIABLE) or os.environ.get("CI") == "true":
        found.append("postgresql")
    return found


def _order(
    store: Store,
    lines: dict[str, int],
    *,
    channel: str | None,
    visitor: str = "",
    coupon: str = "",
    token: str = "tok_success",
) -> str:
    cart = store.carts.create("EUR", channel=channel)
    for sku, quantity in lines.items():
        store.carts.add(cart.token, sku, quantity)
        if visitor:
            store.behaviour.added_to_cart(visitor, cart.id, sku, quantity)
    if coupon:
        store.carts.apply_coupon(cart.token, coupon)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": token})
    if visitor:
        store.behaviour.checkout_started(visitor, cart.id)
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key=f"k{next(_NUMBERS)}").id


def _deliver(store: Store, order_id: str) -> None:
    store.payments.capture(order_id)
    (shipment,) = store.fulfilment.create_shipments(order_id)
    number = f"JJD{next(_NUMBERS)}"
    store.fulfilment.buy_label(shipment.id, carrier="manual", tracking_number=number)
    store.fulfilment.dispatch(shipment.id)
    arrived = TrackingEvent(
        id=f"e{number}",
        tracking_number=number,
        status=TrackingStatus.DELIVERED,
        at=store.runtime.clock.now(),
    )
    store.fulfilment.record_tracking(shipment.id, [arrived])


def shop(store: Store, clock: FixedClock) -> None:
    """The shop of the module's docstring."""
    seed(store)
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    store.inventory.receive("RETRO-MUG", "berlin", 20)
    store.inventory.receive("RETRO-CLOCK", "berlin", 20)
    for visitor in ("v1", "v2", "v3"):
        store.behaviour.product_viewed(visitor, "mug")
    a = _order(
        store, {"RETRO-MUG": 3, "RETRO-CLOCK": 1}, channel="web", visitor="v1", coupon="KITCHEN"
    )
    _deliver(store, a)
    store.behaviour.added_to_cart("v2", store.carts.create("EUR").id, "RETRO-MUG", 1)
    clock.advance(timedelta(hours=1))
    with contextlib.suppress(CommerceError):
        _order(store, {"RETRO-CLOCK": 1}, channel="web", token="tok_declined")
    clock.advance(timedelta(hours=23))
    b = _order(store, {"RETRO-CLOCK": 2}, channel="pos")
    _deliver(store, b)
    clock.advance(timedelta(days=2))
    _order(store, {"RETRO-MUG": 1}, channel=None)
    store.returns.request(a, [{"sku": "RETRO-MUG", "quantity": 1, "reason": "damaged"}])
    refused = store.returns.request(
        b, [{"sku": "RETRO-CLOCK", "quantity": 1, "reason": "changed_mind"}]
    )
    store.returns.reject(refused.id, "worn")
    kept = store.returns.request(
        b, [{"sku": "RETRO-CLOCK", "quantity": 1, "reason": "does_not_fit"}]
    )
    store.returns.approve(kept.id)


@pytest.fixture(scope="module", params=backends())
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    with contextlib.ExitStack() as stack:
        if request.param == "memory":
            url = "memory://"
        elif request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'shop.db'}"
        else:
            url = stack.enter_context(fresh_postgres_schema())
        clock = FixedClock(FRIDAY)
        opened = stack.enter_context(Store.open(url, config=SHOP, clock=clock))
        shop(opened, clock)
        yield opened


def run(store: Store, name: str, **params: Any) -> ReportTable:
    return store.reports.run(name, since=SINCE, until=UNTIL, **params)


def test_sales_by_day_fill_the_days_without_orders(store: Store) -> None:
    table = run(store, "sales", by="day")
    assert table.names == [
        "period",
        "currency",
        "orders",
        "units",
        "gross",
        "discount",
        "shipping",
        "tax",
        "revenue",
        "average_order_value",
    ]
    assert table.rows == (
        (
            date(2026, 11, 27),
            "EUR",
            1,
            4,
            D("76.00"),
            D("3.60"),
            D("4.90"),
            D("13.76"),
            D("91.06"),
            D("91.06"),
        ),
        (
            date(2026, 11, 28),
            "EUR",
            1,
            2,
            D("80.00"),
            D("0.00"),
            D("4.90"),
            D("15.20"),
            D("100.10"),
            D("100.10"),
        ),
        (
            date(2026, 11, 29),
            "EUR",
            0,
            0,
            D("0.00"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
            D("0.00"),
            None,
        ),
        (
            date(2026, 11, 30),
            "EUR",
            1,
            1,
            D("12.00"),
            D("0.00"),
            D("4.90"),
            D("2.28"),
            D("19.18"),
            D("19.18"),
        ),
    )


def test_sales_by_week_start_on_monday_and_by_month_on_the_first(store: Store) -> None:
    weeks = run(store, "sales", by="week")
    assert weeks.rows == (
        (
            date(2026, 11, 23),
            "EUR",
            2,
            6,
            D("156.00"),
            D("3.60"),
            D("9.80"),
            D("28.96"),
            D("191.16"),
            D("95.58"),
        ),
        (
            date(2026, 11, 30),
            "EUR",
            1,
            1,
            D("12.00"),
            D("0.00"),
            D("4.90"),
            D("2.28"),
            D("19.18"),
            D("19.18"),
        ),
    )
    months = run(store, "sales", by="month")
    # 210.34 / 3 = 70.1133...: rounded half-even to the cent.
    assert months.rows == (
        (
            date(2026, 11, 1),
            "EUR",
            3,
            7,
            D("168.00"),
            D("3.60"),
            D("14.70"),
            D("31.24"),
            D("210.34"),
            D("70.11"),
        ),
    )


def test_sales_by_product_and_the_top_seller(store: Store) -> None:
    clock = ("clock", "Retro clock", "EUR", 2, 3, D("120.00"), D("0.00"), D("22.80"), D("142.80"))
    mug = ("mug", "Retro mug", "EUR", 2, 4, D("48.00"), D("3.60"), D("8.44"), D("52.84"))
    assert run(store, "sales_by_product").rows == (clock, mug)
    assert run(store, "top_products", limit=1).rows == (clock,)


def test_sales_by_category_put_products_in_none_under_a_blank(store: Store) -> None:
    assert run(store, "sales_by_category").rows == (
        ("", "", "EUR", 2, 3, D("120.00"), D("0.00"), D("22.80"), D("142.80")),
        ("kitchen", "Kitchen", "EUR", 2, 4, D("48.00"), D("3.60"), D("8.44"), D("52.84")),
    )


def test_sales_by_channel_count_only_orders_not_cancelled(store: Store) -> None:
    # A and C in web (C in the store's default channel, the first), B in pos; D not.
    assert run(store, "sales_by_channel").rows == (
        ("web", "EUR", 2, 5, D("88.00"), D("3.60"), D("9.80"), D("16.04"), D("110.24"), D("55.12")),
        (
            "pos",
            "EUR",
            1,
            2,
            D("80.00"),
            D("0.00"),
            D("4.90"),
            D("15.20"),
            D("100.10"),
            D("100.10"),
        ),
    )


def test_discounts_name_the_promotion_and_its_coupon(store: Store) -> None:
    assert run(store, "discounts").rows == (
        ("kitchen-10", "Kitchen week", "KITCHEN", "EUR", 1, D("3.60"), D("91.06")),
    )


def test_returns_leave_out_the_rejected_one(store: Store) -> None:
    # Clocks: 1 of A + 2 of B sold, 1 back (the rejected one is not); mugs: 3 of A + 1
    # of C sold, 1 back.
    assert run(store, "returns_by_product").rows == (
        ("RETRO-CLOCK", 3, 1, 1, D("0.3333")),
        ("RETRO-MUG", 4, 1, 1, D("0.2500")),
    )
    assert run(store, "returns_by_reason").rows == (
        ("damaged", 1, 1, D("0.5000")),
        ("does_not_fit", 1, 1, D("0.5000")),
    )


def test_stock_is_valued_at_list_price_with_its_days_of_cover(store: Store) -> None:
    # 3 of each left the shelf in 4 days: 0.75 a day; 17 on hand last 22.67 days.
    table = run(store, "stock", price_list_id="eu", overstock_days=30)
    assert table.rows == (
        ("RETRO-CLOCK", 17, 0, 17, 3, D("0.75"), D("22.7"), "EUR", D("40.00"), D("680.00"), False),
        ("RETRO-MUG", 17, 1, 16, 3, D("0.75"), D("22.7"), "EUR", D("12.00"), D("204.00"), False),
    )
    tighter = run(store, "stock", price_list_id="eu", overstock_days=22)
    assert tighter.column("overstock") == [True, True]
    unpriced = run(store, "stock")
    assert unpriced.column("stock_value") == [None, None]
    assert unpriced.column("currency") == ["", ""]


def test_the_funnel_is_the_behaviour_logs(store: Store) -> None:
    # v1, v2, v3 viewed; v1 and v2 added to a cart; v1 checked out and ordered.
    assert run(store, "funnel").rows == (
        ("product_viewed", 3, D("1.0000"), D("1.0000")),
        ("added_to_cart", 2, D("0.6667"), D("0.6667")),
        ("checkout_started", 1, D("0.5000"), D("0.3333")),
        ("order_placed", 1, D("1.0000"), D("0.3333")),
    )


def test_a_period_before_any_order_has_no_sales(store: Store) -> None:
    table = store.reports.run("sales", since=SINCE - timedelta(days=7), until=SINCE)
    assert table.rows == ()


def test_every_report_runs_and_writes_csv(store: Store) -> None:
    for name in REPORTS:
        table = run(store, name)
        handle = io.StringIO(newline="")
        assert table.to_csv(handle) == len(table.rows)
        header = handle.getvalue().splitlines()[0]
        assert header == ",".join(table.names)
        assert table.render().splitlines()[0].split() == table.names


def test_the_csv_of_sales_by_day(store: Store) -> None:
    handle = io.StringIO(newline="")
    run(store, "sales", by="day").to_csv(handle)
    assert handle.getvalue().splitlines()[3:5] == [
        "2026-11-29,EUR,0,0,0.00,0.00,0.00,0.00,0.00,",
        "2026-11-30,EUR,1,1,12.00,0.00,4.90,2.28,19.18,19.18",
    ]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"name": "profits"}, "name"),
        ({"name": "sales", "by": "year"}, "by"),
        ({"name": "sales", "until": SINCE}, "until"),
        ({"name": "sales", "until": SINCE + timedelta(days=4000)}, "until"),
        ({"name": "sales", "since": datetime(2026, 11, 27)}, "since"),
        ({"name": "top_products", "limit": 0}, "limit"),
        ({"name": "stock", "overstock_days": "ninety"}, "overstock_days"),
    ],
)
def test_bad_arguments_are_refused_naming_them(arguments: dict[str, Any], field: str) -> None:
    with Store.open("memory://", config=SHOP) as store:
        given = {"since": SINCE, "until": UNTIL, **arguments}
        with pytest.raises(InvalidInput) as refused:
            store.reports.run(**given)
    assert refused.value.field == field


def test_an_unknown_price_list_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as missing:
        run(store, "stock", price_list_id="nowhere")
    assert missing.value.field == "price_list_id"


def test_a_storage_that_sums_no_reports_says_so() -> None:
    with Store.open("memory://", config=SHOP) as store:
        store.runtime.storage = _NoReports(store.runtime.storage)  # type: ignore[assignment]
        with pytest.raises(ConfigurationError) as refused:
            run(store, "sales")
    assert refused.value.field == "storage"


class _NoReports:
    """A storage as a plugin may write one: everything but ``reports()``."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "reports":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_staff_need_the_marketing_permission(store: Store) -> None:
    allowed = store.as_staff("ann", ["marketing"]).reports.run("sales", since=SINCE, until=UNTIL)
    assert allowed.rows
    with pytest.raises(CommerceError) as denied:
        store.as_staff("bob", ["orders"]).reports.run("sales", since=SINCE, until=UNTIL)
    assert denied.value.code == "access_denied"
