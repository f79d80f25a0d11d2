"""A small shop on a real store (memory, and a SQLite file), driven through the
services exactly as an application drives them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from commercekit import (
    Category,
    Coupon,
    ItemFilter,
    Money,
    PercentOffLines,
    Product,
    Promotion,
    TaxRate,
    TaxZone,
    Variant,
)
from commercekit.adapters.clock import FixedClock
from commercekit.domain.cart import Cart
from commercekit.store import Store

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CONFIG = {
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90", "JPY": "800"}}],
    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_shop"}}},
    "entry_point_plugins": False,
    "request_wait_seconds": 0.5,
}
ADDRESS = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}


def backends() -> list[str]:
    return ["memory", "sqlite"]


@pytest.fixture(params=backends())
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    return f"sqlite:///{tmp_path / 'shop.db'}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def store(store_url: str, clock: FixedClock) -> Iterator[Store]:
    with Store.open(store_url, config=CONFIG, clock=clock) as opened:
        seed(opened)
        yield opened


def seed(store: Store) -> None:
    store.catalog.add_category(Category(id="kitchen", name="Kitchen"))
    store.catalog.add_product(
        Product(
            id="mug",
            name="Retro mug",
            category_ids=["kitchen"],
            variants=[Variant(sku="RETRO-MUG")],
        )
    )
    store.catalog.add_product(
        Product(id="clock", name="Retro clock", variants=[Variant(sku="RETRO-CLOCK")])
    )
    store.catalog.add_product(
        Product(id="manual", name="Clock manual", variants=[Variant(sku="CLOCK-PDF", digital=True)])
    )
    for product_id in ("mug", "clock", "manual"):
        store.catalog.publish(product_id)
    store.catalog.add_price_list("eu", "EUR")
    store.catalog.set_price("eu", "RETRO-MUG", Money("12.00", "EUR"))
    store.catalog.set_price("eu", "RETRO-CLOCK", Money("40.00", "EUR"))
    store.catalog.set_price("eu", "CLOCK-PDF", Money("5.00", "EUR"))
    store.catalog.add_tax_zone(
        TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
    )
    store.catalog.add_promotion(
        Promotion(
            id="kitchen-10",
            name="Kitchen week",
            target=ItemFilter(category_ids="kitchen"),
            benefit=PercentOffLines(10),
            requires_coupon=True,
        )
    )
    store.catalog.add_coupon(Coupon(code="KITCHEN", promotion_id="kitchen-10", usage_limit=1))


def ready_cart(
    store: Store, *, payment_token: str = "tok_success", lines: dict[str, int] | None = None
) -> Cart:
    """A cart whose checkout is complete and has been shown its total."""
    cart = store.carts.create("EUR")
    for sku, quantity in (lines or {"RETRO-MUG": 2, "RETRO-CLOCK": 1}).items():
        store.carts.add(cart.token, sku, quantity)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": payment_token})
    store.checkout.summary(cart.token)
    return cart
