from __future__ import annotations

import pytest

from commercekit import (
    Money,
)
from commercekit.errors import (
    CouponRejected,
    CurrencyMismatch,
    InvalidInput,
    InvalidQuantity,
    MissingPrice,
    NotFound,
    Unavailable,
    UnknownSku,
)
from commercekit.store import Store


def test_a_cart_is_reached_only_through_its_token(store: Store) -> None:
    cart = store.carts.create("EUR")
    assert store.carts.get(cart.token).id == cart.id
    for wrong in ("", "not-the-token", cart.id):
        with pytest.raises(NotFound) as caught:
            store.carts.get(wrong)
        assert caught.value.field == "token"


def test_lines_are_added_changed_and_removed(store: Store) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 2)
    store.carts.add(cart.token, "RETRO-MUG")
    store.carts.add(cart.token, "RETRO-CLOCK")
    assert store.carts.get(cart.token).quantity_of("RETRO-MUG") == 3
    store.carts.change_quantity(cart.token, "RETRO-MUG", 1)
    store.carts.remove(cart.token, "RETRO-CLOCK")
    stored = store.carts.get(cart.token)
    assert list(stored.items()) == [("RETRO-MUG", 1)]


def test_what_cannot_be_bought_is_refused_and_changes_nothing(store: Store) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG")
    with pytest.raises(UnknownSku):
        store.carts.add(cart.token, "NO-SUCH-THING")
    with pytest.raises(InvalidQuantity):
        store.carts.add(cart.token, "RETRO-MUG", 0)
    store.catalog.archive("clock")
    with pytest.raises(Unavailable):
        store.carts.add(cart.token, "RETRO-CLOCK")
    yen = store.carts.create("JPY")
    with pytest.raises(MissingPrice):
        store.carts.add(yen.token, "RETRO-MUG")
    assert list(store.carts.get(cart.token).items()) == [("RETRO-MUG", 1)]


def test_the_server_prices_the_cart(store: Store) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 2)
    breakdown = store.carts.price(cart.token)
    assert breakdown.grand_total == Money("24.00", "EUR")


def test_a_coupon_is_checked_before_it_is_held(store: Store) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 2)
    with pytest.raises(CouponRejected) as caught:
        store.carts.apply_coupon(cart.token, "NOPE")
    assert caught.value.reason == "unknown"
    store.carts.apply_coupon(cart.token, " kitchen ")
    assert store.carts.get(cart.token).coupon_codes == ("KITCHEN",)
    # 10% of 24.00
    assert store.carts.price(cart.token).discount_total == Money("2.40", "EUR")


def test_a_coupon_for_items_not_in_the_cart_is_refused(store: Store) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-CLOCK")
    with pytest.raises(CouponRejected) as caught:
        store.carts.apply_coupon(cart.token, "KITCHEN")
    assert caught.value.reason == "not_applicable"
    assert store.carts.get(cart.token).coupon_codes == ()


def test_a_guest_cart_merges_into_the_customers_and_disappears(store: Store) -> None:
    guest = store.carts.create("EUR")
    store.carts.add(guest.token, "RETRO-MUG", 2)
    mine = store.carts.create("EUR", customer_id="customer-1")
    store.carts.add(mine.token, "RETRO-MUG", 1)
    store.carts.add(mine.token, "RETRO-CLOCK", 1)
    merged = store.carts.merge(guest.token, mine.token)
    assert dict(merged.items()) == {"RETRO-MUG": 3, "RETRO-CLOCK": 1}
    assert dict(store.carts.get(mine.token).items()) == {"RETRO-MUG": 3, "RETRO-CLOCK": 1}
    with pytest.raises(NotFound):
        store.carts.get(guest.token)


def test_a_cart_merged_into_itself_is_refused_and_stays_as_it_was(store: Store) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 5)
    for _ in range(3):
        with pytest.raises(InvalidInput) as refused:
            store.carts.merge(cart.token, cart.token)
        assert refused.value.field == "guest_token"
    assert dict(store.carts.get(cart.token).items()) == {"RETRO-MUG": 5}


def test_carts_in_two_currencies_do_not_merge(store: Store) -> None:
    euros = store.carts.create("EUR")
    yen = store.carts.create("JPY")
    with pytest.raises(CurrencyMismatch):
        store.carts.merge(yen.token, euros.token)
