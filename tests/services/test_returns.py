"""Returns and refunds on a real store (memory and a SQLite file): asked for within
the policy, decided, labelled, received, inspected unit by unit, and refunded from
what was paid, never twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from commercekit import Money, StockLocation
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import (
    AccessDenied,
    GatewayError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PaymentDeclined,
    RefundRefused,
    ReturnRefused,
)
from commercekit.domain.events import RefundIssued, ReturnReceived, ReturnRequested
from commercekit.domain.inventory import MovementKind
from commercekit.domain.orders import OrderPaymentStatus
from commercekit.domain.returns import RefundStatus, ReturnStatus
from commercekit.domain.shipping import TrackingEvent, TrackingStatus
from commercekit.services.holds import release_holds
from commercekit.store import Store
from commercekit.testing.faults import Fault, inject
from tests.services.conftest import ADDRESS, CONFIG, seed

SECRET = "whsec_carrier"


def _config(**returns: Any) -> dict[str, Any]:
    return {
        **CONFIG,
        "carriers": {"sandbox": {"plugin": "sandbox", "secrets": {"webhook_secret": SECRET}}},
        "returns": returns,
    }


def _open(url: str, clock: FixedClock, **returns: Any) -> Store:
    store = Store.open(url, config=_config(**returns), clock=clock)
    seed(store)
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    store.inventory.receive("RETRO-MUG", "berlin", 10)
    store.inventory.receive("RETRO-CLOCK", "berlin", 10)
    return store


@pytest.fixture
def store(store_url: str, clock: FixedClock) -> Iterator[Store]:
    with _open(store_url, clock, restocking_fee_percent="10") as opened:
        yield opened


_NUMBERS = iter(range(10**6))


def delivered(store: Store, lines: dict[str, int] | None = None, *, coupon: str = "") -> str:
    """An order paid in full, shipped from Berlin and delivered now."""
    cart = store.carts.create("EUR")
    for sku, quantity in (lines or {"RETRO-MUG": 3, "RETRO-CLOCK": 1}).items():
        store.carts.add(cart.token, sku, quantity)
    if coupon:
        store.carts.apply_coupon(cart.token, coupon)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key=f"k{next(_NUMBERS)}")
    store.payments.capture(order.id)
    (shipment,) = store.fulfilment.create_shipments(order.id)
    number = f"JJD{next(_NUMBERS)}"
    store.fulfilment.buy_label(shipment.id, carrier="manual", tracking_number=number)
    store.fulfilment.dispatch(shipment.id)
    store.fulfilment.record_tracking(
        shipment.id,
        [
            TrackingEvent(
                id=f"e{number}",
                tracking_number=number,
                status=TrackingStatus.DELIVERED,
                at=store.runtime.clock.now(),
            )
        ],
    )
    return order.id


def line(sku: str, quantity: int, reason: str = "changed_mind") -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "reason": reason}


def shelf(store: Store, sku: str = "RETRO-MUG") -> int:
    (item,) = [i for i in store.inventory.stock(sku) if i.location_id == "berlin"]
    return item.on_hand


def test_a_return_runs_from_request_to_refund_and_restock(store: Store) -> None:
    order_id = delivered(store)
    order = store.orders.get(order_id)
    mugs = next(line for line in order.lines if line.sku == "RETRO-MUG")
    on_shelf = shelf(store)

    asked = store.returns.request(order_id, [line("RETRO-MUG", 2)], note="too small")
    assert asked.status is ReturnStatus.REQUESTED
    store.returns.approve(asked.id)
    labelled = store.returns.issue_label(asked.id, carrier="sandbox")
    assert labelled.status is ReturnStatus.LABEL_ISSUED
    assert labelled.label is not None
    assert labelled.label.tracking_number
    received = store.returns.receive(asked.id)
    assert received.status is ReturnStatus.RECEIVED
    # Receiving refunds nothing.
    assert store.refunds.for_order(order_id).refunds == ()

    inspected = store.returns.inspect(
        asked.id,
        [
            {"sku": "RETRO-MUG", "quantity": 1, "outcome": "restock"},
            {"sku": "RETRO-MUG", "quantity": 1, "outcome": "write_off"},
        ],
    )
    assert inspected.status is ReturnStatus.INSPECTED
    # One unit back on the shelf it left from, by a RETURN movement naming the shipment.
    assert shelf(store) == on_shelf + 1
    (movement,) = [
        m for m in store.inventory.movements("RETRO-MUG", "berlin") if m.kind is MovementKind.RETURN
    ]
    (shipment,) = store.fulfilment.for_order(order_id)
    assert (movement.quantity, movement.reference) == (1, shipment.id)

    plan = store.returns.plan_refund(asked.id)
    # Two of three mugs: floor(2 * total / 3), less 10% restocking fee on that, the
    # label (the customer pays it: changed mind) on top of the fee.
    two = mugs.total_units * 2 // 3
    label_price = labelled.label.price_units
    assert plan.fee_units == min(two, round(Decimal(two) / 10) + label_price)
    assert plan.total_units == two - plan.fee_units
    refund = store.returns.refund(asked.id)
    assert refund.plan.total_units == plan.total_units
    payment = store.payments.for_order(order_id)
    assert payment.refunded_units == plan.total_units
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.PARTIALLY_REFUNDED
    # The same return, and the same units, are not refunded again.
    with pytest.raises(RefundRefused):
        store.returns.refund(asked.id)
    store.returns.close(asked.id)
    history = [entry.action for entry in store.orders.get(order_id).history]
    for action in (
        "return requested",
        "return approved",
        "return label issued",
        "return received",
        "return inspected",
        "refund",
        "return closed",
    ):
        assert action in history
    events = [type(e) for _, e in store.storage.undelivered_events(10_000)]
    assert {ReturnRequested, ReturnReceived, RefundIssued} <= set(events)


def test_the_warehouse_sees_the_returns_of_a_status_oldest_first(
    store: Store, clock: FixedClock
) -> None:
    first = store.returns.request(delivered(store), [line("RETRO-MUG", 1)])
    clock.advance(timedelta(minutes=5))
    second = store.returns.request(delivered(store), [line("RETRO-CLOCK", 1)])
    store.returns.approve(first.id)
    store.returns.receive(first.id)

    assert [r.id for r in store.returns.in_state("requested")] == [second.id]
    assert [r.id for r in store.returns.in_state(ReturnStatus.RECEIVED)] == [first.id]
    assert store.returns.in_state("received", limit=1)[0].id == first.id
    with pytest.raises(InvalidInput) as refused:
        store.returns.in_state("lost")
    assert refused.value.field == "status"


def test_a_guest_holding_the_orders_token_acts_on_it_and_no_one_else_does(
    store: Store,
) -> None:
    order = store.orders.get(delivered(store))
    other = store.orders.get(delivered(store))
    guest = store.as_shopper(order_tokens=[order.token])

    made = guest.returns.request(order.id, [line("RETRO-MUG", 1)], note="Too big")
    case = guest.support.open_case(
        "About my mug", "It is too big.", email="ZOE@example.com", order_id=order.id
    )
    guest.support.customer_message(case.id, "Any news?", email="zoe@example.com")

    assert [r.id for r in guest.returns.for_order(order.id)] == [made.id]
    assert guest.returns.get(made.id).status is ReturnStatus.REQUESTED
    assert guest.support.get(case.id).order_id == order.id
    assert guest.refunds.for_order(order.id).refunds == ()
    assert guest.orders.get(order.id).id == order.id
    assert store.orders.get(order.id).history[-1].actor == "customer"
    # Holding one order's token opens nothing of another's, nor does holding none.
    for stranger, target in (
        (guest, other),
        (store.as_shopper(), order),
        (store.as_shopper(order_tokens=[other.token]), order),
        (store.as_shopper("customer-bob", order_tokens=[other.token]), order),
    ):
        with pytest.raises(AccessDenied):
            stranger.returns.request(target.id, [line("RETRO-MUG", 1)])
        with pytest.raises(AccessDenied):
            stranger.support.open_case("Hi", "Hello.", email=target.email, order_id=target.id)
        with pytest.raises(AccessDenied):
            stranger.refunds.for_order(target.id)
    with pytest.raises(AccessDenied):
        store.as_shopper(order_tokens=[other.token]).support.get(case.id)
    with pytest.raises(AccessDenied):
        store.as_shopper(order_tokens=[other.token]).returns.get(made.id)
    # Without an order, a guest's case is staff's to open.
    with pytest.raises(AccessDenied):
        guest.support.open_case("Hi", "Hello.", email="zoe@example.com")
    # The case is about the order: an email that is not the order's finds nothing.
    with pytest.raises(NotFound):
        guest.support.open_case("Hi", "Hello.", email="eve@example.com", order_id=order.id)
    for hostile in ("tok", ["\x00"], [""], [f"t{n}" for n in range(51)], [7]):
        with pytest.raises(InvalidInput) as refused:
            store.as_shopper(order_tokens=hostile)  # type: ignore[arg-type]
        assert refused.value.field == "order_tokens"


def test_a_damaged_unit_is_written_off_without_a_fee(store: Store) -> None:
    order_id = delivered(store)
    asked = store.returns.request(order_id, [line("RETRO-CLOCK", 1, "damaged")])
    store.returns.approve(asked.id)
    store.returns.receive(asked.id)
    before = shelf(store, "RETRO-CLOCK")
    store.returns.inspect(asked.id, [{"sku": "RETRO-CLOCK", "quantity": 1, "outcome": "write_off"}])
    assert shelf(store, "RETRO-CLOCK") == before  # written off: nothing comes back
    plan = store.returns.plan_refund(asked.id)
    clock_line = next(x for x in store.orders.get(order_id).lines if x.sku == "RETRO-CLOCK")
    assert plan.fee_units == 0
    assert plan.total_units == clock_line.total_units


def test_outside_the_window_and_not_delivered_are_refused(
    store_url: str, clock: FixedClock
) -> None:
    with _open(store_url, clock, window_days=14) as store:
        order_id = delivered(store)
        clock.advance(timedelta(days=14, seconds=1))
        with pytest.raises(ReturnRefused) as refused:
            store.returns.request(order_id, [line("RETRO-MUG", 1)])
        assert (refused.value.code, refused.value.reason) == ("return_refused", "outside_window")
        # Not delivered yet: an order only placed.
        cart = store.carts.create("EUR")
        store.carts.add(cart.token, "RETRO-MUG", 1)
        store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
        store.checkout.set_shipping_address(cart.token, ADDRESS)
        store.checkout.choose_shipping(cart.token, {"method_id": "post"})
        store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
        store.checkout.summary(cart.token)
        placed = store.checkout.place_order(cart.token, idempotency_key="undelivered")
        with pytest.raises(ReturnRefused) as refused:
            store.returns.request(placed.id, [line("RETRO-MUG", 1)])
        assert refused.value.reason == "not_delivered"


def test_a_non_returnable_product_or_category_is_refused(store_url: str, clock: FixedClock) -> None:
    with _open(store_url, clock, non_returnable_categories=["kitchen"]) as store:
        order_id = delivered(store)
        with pytest.raises(ReturnRefused) as refused:
            store.returns.request(order_id, [line("RETRO-MUG", 1)])
        assert refused.value.reason == "not_returnable"
        assert store.returns.request(order_id, [line("RETRO-CLOCK", 1)]).unit_count == 1


def test_never_more_than_delivered_less_what_is_on_its_way_back(store: Store) -> None:
    order_id = delivered(store)
    store.returns.request(order_id, [line("RETRO-MUG", 2)])
    with pytest.raises(ReturnRefused) as refused:
        store.returns.request(order_id, [line("RETRO-MUG", 2)])
    assert refused.value.reason == "too_many"
    rejected = store.returns.request(order_id, [line("RETRO-MUG", 1)])
    store.returns.reject(rejected.id, "worn")
    # A rejected return frees its units to be asked for again.
    assert store.returns.request(order_id, [line("RETRO-MUG", 1)]).unit_count == 1
    with pytest.raises(InvalidInput) as bad:
        store.returns.request(order_id, [line("NOT-ON-ORDER", 1)])
    assert bad.value.field == "lines"


def test_inspection_is_once_per_received_unit(store: Store) -> None:
    order_id = delivered(store)
    asked = store.returns.request(order_id, [line("RETRO-MUG", 2)])
    with pytest.raises(InvalidTransition):
        store.returns.inspect(asked.id, [{"sku": "RETRO-MUG", "quantity": 1, "outcome": "restock"}])
    store.returns.approve(asked.id)
    store.returns.receive(asked.id, {"RETRO-MUG": 1})
    before = shelf(store)
    with pytest.raises(InvalidInput):
        store.returns.inspect(asked.id, [{"sku": "RETRO-MUG", "quantity": 2, "outcome": "restock"}])
    assert shelf(store) == before  # refused whole: nothing moved
    store.returns.inspect(asked.id, [{"sku": "RETRO-MUG", "quantity": 1, "outcome": "restock"}])
    with pytest.raises(InvalidTransition):
        store.returns.inspect(
            asked.id, [{"sku": "RETRO-MUG", "quantity": 1, "outcome": "write_off"}]
        )
    assert shelf(store) == before + 1


def test_a_goodwill_refund_and_units_refunded_without_a_return(store: Store) -> None:
    order_id = delivered(store)
    order = store.orders.get(order_id)
    paid = store.payments.for_order(order_id).captured_units
    gesture = store.refunds.goodwill(order_id, Money("5.00", "EUR"), reason="late parcel")
    assert gesture.plan.total_units == 500
    with pytest.raises(RefundRefused):
        store.refunds.goodwill(order_id, Money("100000.00", "EUR"), reason="too much")
    lost = store.refunds.refund_units(
        order_id, {"RETRO-CLOCK": 1}, reason="lost in transit", shipping=True
    )
    clock_line = next(x for x in order.lines if x.sku == "RETRO-CLOCK")
    shipping = order.totals.grand_total_units - sum(x.total_units for x in order.lines)
    assert lost.plan.total_units == clock_line.total_units + shipping
    with pytest.raises(RefundRefused):
        store.refunds.refund_units(order_id, {"RETRO-CLOCK": 1}, reason="again")
    rest = store.refunds.refund_units(order_id, {"RETRO-MUG": 3}, reason="all of it")
    # Everything has gone back: exactly what was captured, the goodwill included.
    assert store.refunds.for_order(order_id).refunded_units == paid
    assert rest.plan.capped_units == 500
    assert store.payments.for_order(order_id).refunded_units == paid
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.REFUNDED


def test_a_declined_refund_frees_its_units(store: Store) -> None:
    order_id = delivered(store)
    payment = store.payments.for_order(order_id)
    # Everything was given back at the gateway's own dashboard: it declines the next.
    store.gateway("test").refund(payment.reference, payment.captured_units, "EUR", "outside")
    with pytest.raises(PaymentDeclined):
        store.refunds.refund_units(order_id, {"RETRO-MUG": 1}, reason="x")
    ledger = store.refunds.for_order(order_id)
    assert ledger.refunded_units == 0
    assert [r.status for r in ledger.refunds] == [RefundStatus.FAILED]
    assert store.refunds.plan(order_id, {"RETRO-MUG": 1}).units == {"RETRO-MUG": 1}


def test_a_lost_answer_leaves_the_refund_pending_until_asked_again(store: Store) -> None:
    order_id = delivered(store)
    with (
        inject(store, Fault.gateway_times_out_after_charging("refund")),
        pytest.raises(GatewayError),
    ):
        store.refunds.refund_units(order_id, {"RETRO-MUG": 1}, reason="x")
    (pending,) = store.refunds.for_order(order_id).pending()
    # The units count meanwhile: they cannot be refunded a second time.
    with pytest.raises(RefundRefused):
        store.refunds.refund_units(order_id, {"RETRO-MUG": 3}, reason="x")
    (settled,) = store.refunds.retry(order_id)
    assert (settled.id, settled.status) == (pending.id, RefundStatus.DONE)
    # Asked twice under one key: refunded once.
    assert store.payments.for_order(order_id).refunded_units == pending.plan.total_units


def test_unknown_ids_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.returns.get("nope")
    with pytest.raises(NotFound):
        store.returns.request("nope", [line("RETRO-MUG", 1)])
    with pytest.raises(NotFound):
        store.refunds.goodwill("nope", Money("1.00", "EUR"), reason="x")


def delivered_shipment(store: Store, lines: dict[str, int]) -> tuple[str, str]:
    """An order captured and delivered, and the shipment that carried it."""
    order_id = delivered(store, lines)
    (shipment,) = store.fulfilment.for_order(order_id)
    return order_id, shipment.id


def test_a_lost_parcel_is_sent_again_from_stock_held_for_it(store: Store) -> None:
    cart_lines = {"RETRO-CLOCK": 2}
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-CLOCK", 2)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="lost")
    (shipment,) = store.fulfilment.create_shipments(order.id)
    store.fulfilment.buy_label(shipment.id, carrier="manual", tracking_number="LOST1")
    store.fulfilment.dispatch(shipment.id)
    store.fulfilment.record_tracking(
        shipment.id,
        [
            TrackingEvent(
                id="gone",
                tracking_number="LOST1",
                status=TrackingStatus.EXCEPTION,
                at=store.runtime.clock.now(),
                detail="lost",
            )
        ],
    )
    available = store.inventory.available("RETRO-CLOCK")
    claim = store.returns.claim(shipment.id, kind="lost", resolution="reship")
    assert claim.replacement_id
    # The replacement's units are held for the order at once.
    assert store.inventory.available("RETRO-CLOCK") == available - 2
    replacement = store.fulfilment.get(claim.replacement_id)
    assert (replacement.lines, replacement.location_id) == (cart_lines, "berlin")
    on_shelf = shelf(store, "RETRO-CLOCK")
    store.fulfilment.buy_label(replacement.id, carrier="manual", tracking_number="AGAIN1")
    store.fulfilment.dispatch(replacement.id)
    assert shelf(store, "RETRO-CLOCK") == on_shelf - 2
    store.fulfilment.record_tracking(
        replacement.id,
        [
            TrackingEvent(
                id="there",
                tracking_number="AGAIN1",
                status=TrackingStatus.DELIVERED,
                at=store.runtime.clock.now(),
            )
        ],
    )
    assert store.orders.get(order.id).fulfilment_status.value == "delivered"
    with pytest.raises(InvalidTransition):
        store.returns.claim(shipment.id, kind="lost", resolution="refund")
    assert [c.id for c in store.returns.claims_for(order.id)] == [claim.id]
    assert "reshipped" in [entry.action for entry in store.orders.get(order.id).history]


def test_a_damaged_parcel_is_refunded_what_it_carried(store: Store) -> None:
    order_id, shipment_id = delivered_shipment(store, {"RETRO-MUG": 2, "RETRO-CLOCK": 1})
    claim = store.returns.claim(shipment_id, kind="damaged", resolution="refund")
    ledger = store.refunds.for_order(order_id)
    (refund,) = ledger.refunds
    assert claim.refund_id == refund.id
    order = store.orders.get(order_id)
    assert refund.plan.total_units == sum(line.total_units for line in order.lines)
    with pytest.raises(InvalidInput) as bad:
        store.returns.claim(shipment_id, kind="stolen", resolution="refund")
    assert bad.value.field == "kind"


# --- where the money goes back -------------------------------------------------------


def test_money_goes_back_where_it_came_from_gateway_first_then_the_gift_card(
    store: Store,
) -> None:
    card, code = store.credit.issue_gift_card(Money("20.00", "EUR"))
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 3)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.apply_gift_card(cart.token, code)
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="with-card")
    store.payments.capture(order.id)
    assert store.credit.gift_card(card.id).balance_units == 0
    captured = store.payments.for_order(order.id).captured_units
    assert captured + 2000 == order.totals.grand_total_units

    refund = store.refunds.refund_units(order.id, {"RETRO-MUG": 3}, reason="x", shipping=True)
    # Everything back: the gateway gives back what it took, the card the rest.
    assert refund.plan.total_units == order.totals.grand_total_units
    assert (refund.to_gateway_units, refund.to_credit_units) == (captured, 2000)
    assert store.payments.for_order(order.id).refunded_units == captured
    assert store.credit.gift_card(card.id).balance_units == 2000


def test_a_refund_given_as_store_credit(store: Store) -> None:
    store.customers.register("ada", {"email": "ada@example.com", "name": "Ada"})
    cart = store.carts.create("EUR", customer_id="ada")
    store.carts.add(cart.token, "RETRO-CLOCK", 1)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="as-credit")
    store.payments.capture(order.id)
    part = store.refunds.goodwill(
        order.id, Money("6.00", "EUR"), reason="late", to_store_credit=Money("4.00", "EUR")
    )
    assert (part.to_gateway_units, part.to_credit_units, part.store_credit_units) == (
        200,
        400,
        400,
    )
    assert store.credit.store_credit("ada", "EUR").balance_units == 400
    assert store.payments.for_order(order.id).refunded_units == 200
    with pytest.raises(InvalidInput) as too_much:
        store.refunds.goodwill(
            order.id, Money("1.00", "EUR"), reason="x", to_store_credit=Money("2.00", "EUR")
        )
    assert too_much.value.field == "to_store_credit"
    guest = delivered(store)
    with pytest.raises(InvalidInput) as guest_refused:
        store.refunds.goodwill(guest, Money("1.00", "EUR"), reason="x", to_store_credit=True)
    assert guest_refused.value.field == "to_store_credit"


# --- acting from a support case ------------------------------------------------------


def test_a_goodwill_refund_a_return_and_a_reshipment_from_a_case(store: Store) -> None:
    order_id = delivered(store)
    case = store.support.open_case(
        "Cracked mug", "One mug arrived cracked", email="zoe@example.com", order_id=order_id
    )
    refund = store.support.refund(case.id, Money("3.00", "EUR"), reason="sorry about the mug")
    assert refund.plan.total_units == 300
    assert store.payments.for_order(order_id).refunded_units == 300
    started = store.support.start_return(
        case.id, [{"sku": "RETRO-MUG", "quantity": 1, "reason": "damaged"}]
    )
    assert store.returns.get(started.id).order_id == order_id
    (shipment,) = store.fulfilment.for_order(order_id)
    claim = store.support.reship(case.id, shipment.id, kind="damaged")
    assert store.fulfilment.get(claim.replacement_id).lines == shipment.lines

    kinds = [action.kind.value for action in store.support.get(case.id).actions]
    assert kinds == ["refund", "return_started", "reshipment"]
    history = [entry.action for entry in store.orders.get(order_id).history]
    for action in ("support:refund", "support:return_started", "support:reshipment"):
        assert action in history

    # A case about no order cannot act on one, and a shipment of another order is
    # not the case's to send again.
    loose = store.support.open_case("Hello", "A question", email="zoe@example.com")
    with pytest.raises(InvalidTransition):
        store.support.refund(loose.id, Money("1.00", "EUR"), reason="x")
    other = delivered(store)
    (elsewhere,) = store.fulfilment.for_order(other)
    with pytest.raises(NotFound):
        store.support.reship(case.id, elsewhere.id)
    assert store.returns.claims_for(other) == []


def test_stock_left_held_by_a_completed_order_gives_back_no_gift_card_money(
    store: Store,
) -> None:
    card, code = store.credit.issue_gift_card(Money("200.00", "EUR"))
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 1)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.apply_gift_card(cart.token, code)
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="card-complete")
    store.fulfilment.ship(order.id)
    store.orders.complete(order.id)
    spent = store.credit.gift_card(card.id).balance_units
    assert spent == 20000 - order.totals.grand_total_units
    # What a sweep does for an ended order still holding stock: for a completed one
    # the stock alone is let go of, never what paid for it.
    with store.storage.unit_of_work() as uow:
        release_holds(uow, uow.orders.get(order.id), at=store.runtime.clock.now())
        uow.commit()
    assert store.credit.gift_card(card.id).balance_units == spent
