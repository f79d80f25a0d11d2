"""What shoppers do, recorded through a real store (memory, and a SQLite file), and
the campaign that brought them carried from their visit to their order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.events import OrderPlaced
from commercekit.domain.marketing.behaviour import AttributionScope, BehaviourKind
from commercekit.store import Store
from tests.services.conftest import ADDRESS, CONFIG, START, seed


@pytest.fixture
def store(store_url: str, clock: FixedClock) -> Iterator[Store]:
    """The shop, keeping a behaviour log."""
    with Store.open(store_url, config={**CONFIG, "track_behaviour": True}, clock=clock) as opened:
        seed(opened)
        yield opened


def place(store: Store, visitor: str, *, key: str) -> str:
    """A cart the visitor fills and checks out; the id of the order placed."""
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 2)
    store.behaviour.added_to_cart(visitor, cart.id, "RETRO-MUG", 2)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.behaviour.checkout_started(visitor, cart.id)
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key=key).id


def test_the_campaign_is_carried_from_the_visit_through_the_cart_to_the_order(
    store: Store, clock: FixedClock
) -> None:
    store.behaviour.visit(
        "v1",
        url="https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=winter",
    )
    clock.advance(timedelta(hours=1))
    # Typed in again: direct, which replaces neither touch.
    store.behaviour.visit("v1", url="https://shop.example/mugs")
    clock.advance(timedelta(hours=1))
    last = store.behaviour.visit(
        "v1", url="https://shop.example/mugs", referrer="https://www.google.com/search?q=mug"
    )
    assert (last.source, last.medium) == ("www.google.com", "referral")
    clock.advance(timedelta(minutes=5))

    order_id = place(store, "v1", key="order-v1")

    attribution = store.behaviour.attribution(order_id=order_id)
    assert attribution is not None
    assert attribution.scope is AttributionScope.ORDER
    assert attribution.visitor_id == "v1"
    assert attribution.first is not None
    assert attribution.last is not None
    assert (attribution.first.source, attribution.first.medium, attribution.first.campaign) == (
        "newsletter",
        "email",
        "winter",
    )
    assert attribution.first.at == START
    assert attribution.last == last
    placed = [
        event
        for event in store.behaviour.events(since=START, until=clock.now() + timedelta(1))
        if event.kind is BehaviourKind.ORDER_PLACED
    ]
    order = store.orders.get(order_id)
    assert len(placed) == 1
    assert placed[0].order_id == order_id
    assert placed[0].visitor_id == "v1"
    assert (placed[0].value_units, placed[0].currency) == (
        order.totals.grand_total_units,
        "EUR",
    )
    assert placed[0].touch == last
    assert placed[0].first_touch == attribution.first


def test_an_order_delivered_twice_is_recorded_once(store: Store, clock: FixedClock) -> None:
    store.behaviour.visit("v1", url="https://shop.example/?utm_source=ads&utm_medium=cpc")
    order_id = place(store, "v1", key="order-twice")
    order = store.orders.get(order_id)
    again = OrderPlaced(
        occurred_at=order.placed_at,
        order_id=order_id,
        currency="EUR",
        total_units=order.totals.grand_total_units,
        email=order.email,
    )
    assert store.behaviour.on_events([again, again]) == 2
    events = store.behaviour.events(since=START, until=clock.now() + timedelta(1))
    assert [e.order_id for e in events if e.kind is BehaviourKind.ORDER_PLACED] == [order_id]


def test_the_funnel_counts_visitors_at_each_step(store: Store, clock: FixedClock) -> None:
    for visitor in ("v1", "v2", "v3", "v4"):
        store.behaviour.product_viewed(visitor, "mug")
    store.behaviour.product_viewed("v1", "clock")
    store.behaviour.searched("v2", "crème brûlée torch", 0)
    place(store, "v1", key="order-funnel")
    cart = store.carts.create("EUR")
    store.behaviour.added_to_cart("v2", cart.id, "RETRO-CLOCK", 1)
    # A visitor seen first with a cart: added, checked out and ordered, never viewed.
    place(store, "v9", key="order-unseen")

    funnel = store.behaviour.funnel(since=START, until=clock.now() + timedelta(1))

    assert [step.visitors for step in funnel.steps] == [4, 3, 2, 2]
    assert [step.of_previous for step in funnel.steps] == [
        Decimal(1),
        Decimal("0.75"),
        Decimal("0.6667"),
        Decimal(1),
    ]
    assert funnel.steps[-1].of_first == Decimal("0.5")
    assert (funnel.visits, funnel.searches) == (0, 1)


def test_a_cart_the_store_does_not_have_is_refused_and_nothing_is_recorded(
    store: Store, clock: FixedClock
) -> None:
    with pytest.raises(NotFound):
        store.behaviour.added_to_cart("v1", "no-such-cart", "RETRO-MUG", 1)
    with pytest.raises(NotFound):
        store.behaviour.visit("v1", url="https://shop.example/", cart_id="no-such-cart")
    assert store.behaviour.events(since=START, until=clock.now() + timedelta(1)) == []


def test_what_a_shopper_types_is_kept_as_far_as_it_fits(store: Store, clock: FixedClock) -> None:
    store.behaviour.searched("v1", "mug\x00" + "é" * 300, 3)
    (event,) = store.behaviour.events(since=START, until=clock.now() + timedelta(1))
    assert event.query == "mug" + "é" * 253
    assert event.result_count == 3
    with pytest.raises(InvalidInput) as caught:
        store.behaviour.searched("v1", "mug", -1)
    assert caught.value.field == "result_count"
    with pytest.raises(InvalidInput) as caught:
        store.behaviour.visit("", url="https://shop.example/")
    assert caught.value.field == "visitor_id"


def test_a_store_keeps_no_behaviour_log_unless_asked(store_url: str, clock: FixedClock) -> None:
    with Store.open(store_url, config=CONFIG, clock=clock) as quiet:
        seed(quiet)
        quiet.behaviour.product_viewed("v1", "mug")
        place(quiet, "v1", key="order-quiet")
        with pytest.raises(InvalidInput) as caught:
            quiet.behaviour.funnel(since=START, until=START + timedelta(days=1))
        assert caught.value.field == "behaviour"
