"""Customers and channels through the Store, as an application drives them: the
channel's and the customer's groups' price lists, a group promotion, tax as the
channel charges it, signing in with a guest cart, and a customer's order history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from commercekit import (
    Category,
    CustomerGroups,
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
from commercekit.errors import InvalidInput, NotFound
from commercekit.store import Store
from tests.services.conftest import ADDRESS, START

CONFIG = {
    "entry_point_plugins": False,
    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_customers"}}},
    "prices_include_tax": True,
    "tax_origin_country": "DE",
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
    "channels": [
        {"id": "web", "name": "Web shop", "currencies": ["EUR", "GBP"], "locale": "de_DE"},
        {
            "id": "trade",
            "name": "Trade portal",
            "currencies": ["EUR"],
            "locale": "en_GB",
            "prices_include_tax": False,
        },
    ],
}


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'shop.db'}"
    with Store.open(url, config=CONFIG, clock=FixedClock(START)) as opened:
        opened.catalog.add_category(Category(id="kitchen", name="Kitchen"))
        opened.catalog.add_product(
            Product(
                id="mug", name="Retro mug", category_ids=["kitchen"], variants=[Variant(sku="MUG")]
            )
        )
        opened.catalog.publish("mug")
        opened.catalog.add_tax_zone(
            TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
        )
        for list_id, channel, group, price in (
            ("eu", None, None, "11.90"),
            ("trade-eu", "trade", None, "8.00"),
            ("staff-eu", None, "staff", "5.95"),
            ("staff-trade", "trade", "staff", "4.00"),
        ):
            opened.catalog.add_price_list(list_id, "EUR", channel=channel, customer_group=group)
            opened.catalog.set_price(list_id, "MUG", Money(price, "EUR"))
        opened.catalog.add_promotion(
            Promotion(
                id="vip-10",
                name="VIP tenth off",
                target=ItemFilter(category_ids="kitchen"),
                benefit=PercentOffLines(10),
                conditions=[CustomerGroups({"vip"})],
            )
        )
        yield opened


def total(store: Store, token: str) -> tuple[str, str, str]:
    breakdown = store.carts.price(token)
    return (
        str(breakdown.subtotal.amount),
        str(breakdown.tax_total.amount),
        str(breakdown.grand_total.amount),
    )


def test_a_guest_pays_the_channels_price_with_the_channels_tax(store: Store) -> None:
    web = store.carts.create()
    trade = store.carts.create(channel="trade")
    for cart in (web, trade):
        store.carts.add(cart.token, "MUG", 2)

    assert (web.channel, web.currency) == ("web", "EUR")
    # The web shop lists gross prices; the trade portal nets, with VAT on top.
    assert total(store, web.token) == ("23.80", "3.80", "23.80")
    assert total(store, trade.token) == ("16.00", "3.04", "19.04")


def test_a_customers_groups_choose_their_price_lists_in_the_channel(store: Store) -> None:
    store.customers.register("user-7", {"email": "grace@example.com", "name": "Grace"})
    store.customers.join_group("user-7", "staff")
    web = store.carts.create(customer_id="user-7")
    trade = store.carts.create(channel="trade", customer_id="user-7")
    guest = store.carts.create(channel="trade")
    for cart in (web, trade, guest):
        store.carts.add(cart.token, "MUG")

    assert total(store, web.token)[2] == "5.95"
    assert total(store, trade.token)[2] == "4.76"  # 4.00 net for staff on trade, with VAT
    assert total(store, guest.token)[2] == "9.52"


def test_a_group_promotion_applies_to_its_members_only(store: Store) -> None:
    store.customers.register("user-vip", {"email": "vip@example.com"})
    store.customers.join_group("user-vip", "vip")
    member = store.carts.create(customer_id="user-vip")
    guest = store.carts.create()
    for cart in (member, guest):
        store.carts.add(cart.token, "MUG", 2)

    priced = store.carts.price(member.token)
    assert str(priced.grand_total.amount) == "21.42"
    assert [a.promotion_id for a in priced.lines[0].adjustments] == ["vip-10"]
    assert store.carts.price(guest.token).lines[0].adjustments == ()
    store.customers.leave_group("user-vip", "vip")
    assert str(store.carts.price(member.token).grand_total.amount) == "23.80"


def test_a_sku_priced_only_for_a_group_is_sold_to_that_group_only(store: Store) -> None:
    store.catalog.add_product(
        Product(id="badge", name="Staff badge", variants=[Variant(sku="BADGE")])
    )
    store.catalog.publish("badge")
    store.catalog.set_price("staff-eu", "BADGE", Money("1.00", "EUR"))
    store.customers.register("user-7", {"email": "grace@example.com"})
    store.customers.join_group("user-7", "staff")
    staff = store.carts.create(customer_id="user-7")
    guest = store.carts.create()

    store.carts.add(staff.token, "BADGE")
    with pytest.raises(NotFound) as refused:
        store.carts.add(guest.token, "BADGE")
    assert refused.value.code == "missing_price"


def test_a_cart_opens_only_in_a_channel_and_currency_the_store_sells_in(store: Store) -> None:
    assert store.carts.create("GBP").currency == "GBP"
    with pytest.raises(InvalidInput) as currency:
        store.carts.create(channel="trade", currency="GBP")
    with pytest.raises(NotFound) as channel:
        store.carts.create(channel="market")
    assert (currency.value.field, channel.value.field) == ("currency", "channel")


def test_signing_in_folds_the_guest_cart_into_the_customers_own(store: Store) -> None:
    store.customers.register("user-1815", {"email": "ada@example.com", "name": "Ada"})
    theirs = store.carts.create(customer_id="user-1815")
    store.carts.add(theirs.token, "MUG", 1)
    guest = store.carts.create()
    store.carts.add(guest.token, "MUG", 2)

    kept = store.carts.sign_in(guest.token, "user-1815")

    assert kept.id == theirs.id
    assert kept.quantity_of("MUG") == 3
    with pytest.raises(NotFound):
        store.carts.get(guest.token)
    again = store.carts.sign_in(theirs.token, "user-1815")
    assert again.quantity_of("MUG") == 3  # signing in with one's own cart changes nothing


def test_signing_in_without_a_cart_of_ones_own_takes_the_guest_cart(store: Store) -> None:
    guest = store.carts.create()
    store.carts.add(guest.token, "MUG", 2)

    kept = store.carts.sign_in(guest.token, "user-42")

    assert (kept.id, kept.customer_id) == (guest.id, "user-42")
    assert [c.id for c in store.carts.for_customer("user-42")] == [guest.id]
    with pytest.raises(InvalidInput):
        store.carts.sign_in(guest.token, "user-43")


def _buy(store: Store, customer_id: str, quantity: int, key: str) -> str:
    cart = store.carts.create(customer_id=customer_id)
    store.carts.add(cart.token, "MUG", quantity)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key=key).id


def test_a_customers_order_history_lists_their_orders_newest_first(store: Store) -> None:
    store.customers.register("user-1815", {"email": "ada@example.com"})
    clock = store.runtime.clock
    assert isinstance(clock, FixedClock)
    placed = []
    for n in range(3):
        placed.append(_buy(store, "user-1815", n + 1, f"k-{n}"))
        clock.advance(timedelta(minutes=5))
    _buy(store, "user-other", 1, "k-other")

    history = store.customers.orders("user-1815")

    assert [order.id for order in history] == list(reversed(placed))
    assert {order.channel for order in history} == {"web"}
    assert [order.id for order in store.orders.for_customer("user-1815", limit=2)] == [
        placed[2],
        placed[1],
    ]


def test_a_customers_record_keeps_their_address_book_and_every_consent(store: Store) -> None:
    store.customers.register("user-1815", {"email": "Ada@Example.COM", "name": "Ada"})
    store.customers.save_address("user-1815", "home", ADDRESS, default_shipping=True)
    store.customers.record_consent(
        "user-1815", {"granted": True, "source": "checkout", "wording": "Send me news"}
    )
    withdrawn = store.customers.record_consent("user-1815", {"granted": False, "source": "account"})

    customer = store.customers.get("user-1815")

    assert customer.email == "Ada@example.com"
    assert customer.default_shipping_address is not None
    assert customer.default_shipping_address.city == "Berlin"
    assert [(c.granted, c.source) for c in customer.consents] == [
        (True, "checkout"),
        (False, "account"),
    ]
    assert withdrawn.at == START
    assert not customer.accepts_marketing
    with pytest.raises(InvalidInput) as refused:
        store.customers.register("user-2", {"email": "not an email"})
    assert refused.value.field == "email"
    with pytest.raises(NotFound):
        store.customers.get("user-404")
