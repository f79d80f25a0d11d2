"""Orders changed after placement and before they ship, on a real store (memory and
a SQLite file): priced again as placed, stock held to match, the difference
authorized more or given back, and a refusal leaving everything as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from commercekit import Money, StockLocation
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import (
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    PaymentDeclined,
)
from commercekit.domain.orders import OrderPaymentStatus
from commercekit.store import Store
from tests.services.conftest import ADDRESS, CONFIG, seed


@pytest.fixture
def store(store_url: str, clock: FixedClock) -> Iterator[Store]:
    with Store.open(store_url, config=CONFIG, clock=clock) as opened:
        seed(opened)
        opened.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        opened.inventory.receive("RETRO-MUG", "berlin", 5)
        opened.inventory.receive("RETRO-CLOCK", "berlin", 5)
        yield opened


_KEYS = iter(range(10**6))


def placed(
    store: Store,
    lines: dict[str, int],
    *,
    token: str = "tok_success",
    coupon: str = "",
    config: dict[str, Any] | None = None,
) -> str:
    cart = store.carts.create("EUR")
    for sku, quantity in lines.items():
        store.carts.add(cart.token, sku, quantity)
    if coupon:
        store.carts.apply_coupon(cart.token, coupon)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": token})
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key=f"e{next(_KEYS)}").id


def reserved(store: Store, sku: str) -> int:
    return sum(item.reserved for item in store.inventory.stock(sku))


def test_an_edit_that_costs_less_lowers_what_is_due_and_capture_takes_only_that(
    store: Store,
) -> None:
    order_id = placed(store, {"RETRO-MUG": 2, "RETRO-CLOCK": 1})
    before = store.orders.get(order_id)
    assert reserved(store, "RETRO-MUG") == 2
    edit = store.orders.edit(order_id, {"RETRO-MUG": 1})
    # One mug of 12.00 less (no tax configured for the cart's address here beyond
    # what pricing computes: the difference is the mug line's per-unit total).
    mug = next(line for line in before.lines if line.sku == "RETRO-MUG")
    assert edit.difference_units == -(mug.total_units // 2)
    assert edit.refund is None
    assert reserved(store, "RETRO-MUG") == 1
    payment = store.payments.for_order(order_id)
    assert payment.amount_units == edit.after_units
    # Capturing everything takes what is due and releases the rest.
    payment = store.payments.capture(order_id)
    assert payment.captured_units == edit.after_units
    assert payment.capturable_units == 0
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.CAPTURED
    assert "edited" in [entry.action for entry in store.orders.get(order_id).history]


def test_an_edit_that_costs_less_after_capture_gives_the_difference_back(store: Store) -> None:
    order_id = placed(store, {"RETRO-MUG": 2, "RETRO-CLOCK": 1})
    store.payments.capture(order_id)
    edit = store.orders.edit(order_id, {"RETRO-CLOCK": 0})
    assert edit.refund is not None
    assert edit.refund.plan.total_units == -edit.difference_units
    payment = store.payments.for_order(order_id)
    assert payment.refunded_units == -edit.difference_units
    assert [line.sku for line in store.orders.get(order_id).lines] == ["RETRO-MUG"]
    assert reserved(store, "RETRO-CLOCK") == 0
    # What is left to give back is now exactly the edited order's total.
    rest = store.refunds.refund_units(order_id, {"RETRO-MUG": 2}, reason="all", shipping=True)
    assert rest.plan.total_units == edit.after_units
    assert store.payments.for_order(order_id).refunded_units == payment.captured_units


def test_an_edit_that_costs_more_authorizes_the_difference_first(store: Store) -> None:
    order_id = placed(store, {"RETRO-MUG": 1})
    edit = store.orders.edit(order_id, {"RETRO-MUG": 2, "RETRO-CLOCK": 1})
    assert edit.charged_units == edit.difference_units > 0
    payment = store.payments.for_order(order_id)
    assert payment.authorized_units == edit.after_units == payment.amount_units
    assert (reserved(store, "RETRO-MUG"), reserved(store, "RETRO-CLOCK")) == (2, 1)
    assert store.payments.capture(order_id).captured_units == edit.after_units


def test_a_refused_increase_leaves_the_order_as_it_was(store: Store) -> None:
    order_id = placed(store, {"RETRO-MUG": 1}, token="tok_no_increment")
    before = store.orders.get(order_id)
    with pytest.raises(PaymentDeclined):
        store.orders.edit(order_id, {"RETRO-MUG": 3})
    after = store.orders.get(order_id)
    assert after.lines == before.lines
    assert after.totals == before.totals
    assert reserved(store, "RETRO-MUG") == 1
    assert store.payments.for_order(order_id).authorized_units == before.totals.grand_total_units
    # Nor when the stock is not there: nothing is asked of the gateway then either.
    other = placed(store, {"RETRO-CLOCK": 1})
    authorized = store.payments.for_order(other).authorized_units
    with pytest.raises(InsufficientStock):
        store.orders.edit(other, {"RETRO-CLOCK": 50})
    assert store.payments.for_order(other).authorized_units == authorized
    assert reserved(store, "RETRO-CLOCK") == 1


def test_the_order_is_priced_as_it_was_placed_unless_asked(store: Store) -> None:
    order_id = placed(store, {"RETRO-MUG": 1}, coupon="KITCHEN")
    store.catalog.set_price("eu", "RETRO-MUG", Money("20.00", "EUR"))
    before = store.orders.get(order_id)
    (line,) = before.lines
    assert line.discount_units > 0  # the coupon's 10%
    # Its own price and its coupon still apply, although the price went up and the
    # coupon (limited to one use) is used up.
    edit = store.orders.edit(order_id, {"RETRO-MUG": 2})
    (edited,) = edit.order.lines
    assert edited.unit_price_units == line.unit_price_units
    assert edited.discount_units == 2 * line.discount_units
    assert edit.difference_units == line.total_units
    today = store.orders.edit(order_id, {"RETRO-MUG": 2}, current_prices=True)
    (current,) = today.order.lines
    assert current.unit_price_units == 2000


def test_an_order_planned_to_ship_or_gone_cannot_be_edited(store: Store) -> None:
    order_id = placed(store, {"RETRO-MUG": 1})
    store.fulfilment.create_shipments(order_id)
    with pytest.raises(InvalidTransition):
        store.orders.edit(order_id, {"RETRO-MUG": 2})
    with pytest.raises(InvalidInput) as emptied:
        store.orders.edit(placed(store, {"RETRO-MUG": 1}), {"RETRO-MUG": 0})
    assert emptied.value.field == "quantities"


def test_the_address_changes_with_an_edit(store: Store) -> None:
    order_id = placed(store, {"RETRO-MUG": 1})
    moved = {**ADDRESS, "line1": "Kastanienallee 5", "postal_code": "10435"}
    edit = store.orders.edit(order_id, {}, shipping_address=moved)
    assert edit.order.shipping_address is not None
    assert edit.order.shipping_address.line1 == "Kastanienallee 5"
    assert edit.difference_units == 0
    with pytest.raises(InvalidInput) as bad:
        store.orders.edit(order_id, {}, shipping_address={"line1": "nowhere"})
    assert bad.value.field is not None


def test_an_order_edited_from_a_support_case(store: Store) -> None:
    order_id = placed(store, {"RETRO-MUG": 1})
    case = store.support.open_case(
        "One more", "Please add a clock", email="zoe@example.com", order_id=order_id
    )
    edit = store.support.edit_order(case.id, {"RETRO-CLOCK": 1})
    assert [line.sku for line in edit.order.lines] == ["RETRO-MUG", "RETRO-CLOCK"]
    (action,) = store.support.get(case.id).actions
    assert action.kind.value == "order_edited"
    history = [entry.action for entry in store.orders.get(order_id).history]
    assert {"edited", "support:order_edited"} <= set(history)
