"""One Window decides when promotions, coupons, sales and products are in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from commercekit import (
    Coupon,
    FreeShipping,
    Money,
    Product,
    Promotion,
    SalePrice,
    Variant,
)
from commercekit.domain.pricing import (
    PriceList,
)
from commercekit.domain.window import Window
from commercekit.errors import InvalidInput

LAUNCH = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)

times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def test_a_window_includes_its_start_and_excludes_its_end() -> None:
    window = Window(starts_at=LAUNCH, ends_at=LAUNCH + timedelta(days=1))
    assert window.refusal(LAUNCH - TICK) == "not_yet_valid"
    assert window.refusal(LAUNCH) is None
    assert window.refusal(LAUNCH + timedelta(days=1) - TICK) is None
    assert window.refusal(LAUNCH + timedelta(days=1)) == "expired"


def test_an_open_end_is_no_bound() -> None:
    assert Window().contains(datetime.min.replace(tzinfo=UTC))
    assert Window(starts_at=LAUNCH).contains(datetime.max.replace(tzinfo=UTC))
    assert Window(ends_at=LAUNCH).contains(datetime.min.replace(tzinfo=UTC))


@given(st.none() | times, st.none() | times, times)
def test_in_force_exactly_when_nothing_refuses(
    starts_at: datetime | None, ends_at: datetime | None, now: datetime
) -> None:
    assume(starts_at is None or ends_at is None or starts_at < ends_at)
    window = Window(starts_at=starts_at, ends_at=ends_at)
    expected = (starts_at is None or starts_at <= now) and (ends_at is None or now < ends_at)
    assert window.contains(now) is expected
    assert (window.refusal(now) is None) is expected


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "field"),
    [
        (LAUNCH, LAUNCH, "ends_at"),
        (LAUNCH, LAUNCH - TICK, "ends_at"),
        (datetime(2026, 11, 27), None, "starts_at"),
        (None, "2026-11-28", "ends_at"),
    ],
)
def test_a_window_that_makes_no_sense_is_refused(
    starts_at: object, ends_at: object, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        Window(starts_at=starts_at, ends_at=ends_at)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_window_under_other_names_names_them_in_its_errors() -> None:
    names = ("available_from", "available_until")
    with pytest.raises(InvalidInput) as caught:
        Window.between(LAUNCH, LAUNCH, fields=names)
    assert caught.value.field == "available_until"
    with pytest.raises(InvalidInput) as caught:
        Window.between(datetime(2026, 11, 27), None, fields=names)
    assert caught.value.field == "available_from"
    assert Window.between(LAUNCH, None, fields=names) == Window(starts_at=LAUNCH)


def test_promotions_coupons_and_sales_hold_the_window_of_their_times() -> None:
    until = LAUNCH + timedelta(days=3)
    promotion = Promotion(id="p", name="P", benefit=FreeShipping(), starts_at=LAUNCH, ends_at=until)
    coupon = Coupon(code="SHIP", promotion_id="p", ends_at=until)
    sale = SalePrice(unit_price=Money("9.00", "EUR"), starts_at=LAUNCH)
    assert promotion.window == Window(starts_at=LAUNCH, ends_at=until)
    assert coupon.window == Window(ends_at=until)
    assert sale.window == Window(starts_at=LAUNCH)


def test_a_sale_price_is_in_force_only_inside_its_window() -> None:
    prices = PriceList("main", "EUR")
    prices.set_price(
        "MUG",
        Money("12.00", "EUR"),
        sale=SalePrice(
            unit_price=Money("9.00", "EUR"), starts_at=LAUNCH, ends_at=LAUNCH + timedelta(days=1)
        ),
    )
    assert prices.unit_units("MUG", 1, LAUNCH - TICK) == 1200
    assert prices.unit_units("MUG", 1, LAUNCH) == 900
    assert prices.unit_units("MUG", 1, LAUNCH + timedelta(days=1)) == 1200


def make_product(**times: datetime | None) -> Product:
    product = Product(
        id="retro-clock", name="Retro Clock", variants=[Variant(sku="CLOCK")], **times
    )
    product.publish()
    return product


def test_moving_a_products_availability_moves_its_window() -> None:
    product = make_product(available_from=LAUNCH)
    assert not product.is_available(LAUNCH - TICK)
    product.available_from = LAUNCH - timedelta(days=1)
    assert product.is_available(LAUNCH - TICK)
    product.available_until = LAUNCH
    assert not product.is_available(LAUNCH)
    product.available_until = None
    assert product.is_available(LAUNCH)


def test_a_product_refuses_to_be_moved_to_end_before_it_starts() -> None:
    product = make_product(available_from=LAUNCH, available_until=LAUNCH + timedelta(days=7))
    with pytest.raises(InvalidInput) as caught:
        product.available_until = LAUNCH
    assert caught.value.field == "available_until"
    with pytest.raises(InvalidInput) as caught:
        product.available_from = LAUNCH + timedelta(days=7)
    assert caught.value.field == "available_until"
    with pytest.raises(InvalidInput) as caught:
        product.available_from = datetime(2026, 11, 27)
    assert caught.value.field == "available_from"
    # Nothing changed: the product is on sale in its old window still.
    assert (product.available_from, product.available_until) == (
        LAUNCH,
        LAUNCH + timedelta(days=7),
    )
    assert product.is_available(LAUNCH)
