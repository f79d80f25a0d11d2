"""The order aggregate: lines frozen at the price paid, payment and fulfilment followed
step by step, and every change written to the history with its time and actor."""

from __future__ import annotations

import contextlib
from collections import deque
from datetime import timedelta

import attrs
import pytest

from commercekit import (
    PercentOffLines,
    PriceBreakdown,
    Promotion,
    TaxRate,
    TaxZone,
)
from commercekit.domain.checkout import Address, ShippingChoice
from commercekit.domain.errors import InvalidTransition
from commercekit.domain.events import NeedsAttention, OrderCancelled, OrderPaid, OrderPlaced
from commercekit.domain.orders import (
    PAYMENT_TRANSITIONS,
    FulfilmentStatus,
    HistoryEntry,
    Order,
    OrderPaymentStatus,
    OrderStatus,
)
from commercekit.domain.payments import (
    GatewayEvent,
    Payment,
    PaymentStatus,
    TransactionKind,
    TransactionStatus,
)
from commercekit.domain.pricing import (
    PricingContext,
)
from commercekit.errors import (
    CommerceError,
    IdempotencyConflict,
    InvalidInput,
)

from .builders import NOW, cart, shop

GERMANY = TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT 19%", rate="0.19")])
BERLIN = Address(
    name="Ada Lovelace",
    line1="Unter den Linden 1",
    city="Berlin",
    postal_code="10117",
    country="DE",
)
STANDARD = ShippingChoice(method_id="standard", name="Standard", price_units=490, currency="EUR")
TOKEN = "o" * 43
DIGITAL = frozenset({"RETRO-MANUAL"})
"""SKUs that need no shipping."""

PLACED = NOW
PAID = NOW + timedelta(minutes=2)
LATER = NOW + timedelta(hours=1)

_P = OrderPaymentStatus


def priced(
    *lines: tuple[str, int], percent_off: int = 10, shipping: ShippingChoice | None = STANDARD
) -> PriceBreakdown:
    """A cart priced by the real engine: German VAT, a promotion, flat shipping."""
    engine = shop(
        {"RETRO-CLOCK": "24.90", "RETRO-LAMP": "39.00", "RETRO-MANUAL": "9.99"},
        zones=[GERMANY],
        promotions=[
            Promotion(
                id="autumn",
                name=f"{percent_off}% off",
                benefit=PercentOffLines(percent_off),
            )
        ],
    )
    context = PricingContext(
        now=NOW,
        address=BERLIN.for_tax(),
        shipping=shipping.price if shipping else None,
    )
    return engine.price(cart("EUR", *(lines or (("RETRO-CLOCK", 2), ("RETRO-LAMP", 1)))), context)


def names_for(breakdown: PriceBreakdown) -> dict[str, tuple[str, str, bool, bool]]:
    # The catalogue built by ``shop`` names products after their SKU.
    return {
        line.sku: (line.sku.lower(), line.sku.title(), line.sku not in DIGITAL, True)
        for line in breakdown.lines
    }


def place(
    breakdown: PriceBreakdown | None = None,
    *,
    shipping: ShippingChoice | None = STANDARD,
    actor: str | None = None,
) -> Order:
    breakdown = breakdown or priced()
    optional = {"actor": actor} if actor else {}
    return Order.place(
        id="order-1",
        token=TOKEN,
        cart_id="cart",
        customer_id="cust-ada",
        email="ada@example.com",
        breakdown=breakdown,
        names=names_for(breakdown),
        shipping_address=BERLIN,
        billing_address=None,
        shipping=shipping,
        coupon_codes=["AUTUMN"],
        payment_gateway="test",
        idempotency_key="idem-1",
        fingerprint="fp-1",
        at=PLACED,
        **optional,
    )


def payment_status_for(status: OrderPaymentStatus) -> PaymentStatus:
    """The payment status that the order mirrors as ``status``."""
    return PaymentStatus.PENDING if status is _P.UNPAID else PaymentStatus(status.value)


def path_to(target: OrderPaymentStatus) -> list[OrderPaymentStatus]:
    """The shortest legal walk from unpaid to ``target`` through PAYMENT_TRANSITIONS.

    The walk passes an authorization first when it can, so the order has opened: an
    unpaid order may also go straight to voided, when a short authorization is released.
    """
    if target is not _P.UNPAID and target in PAYMENT_TRANSITIONS[_P.AUTHORIZED]:
        return [_P.AUTHORIZED, *_walk(_P.AUTHORIZED, target)]
    return _walk(_P.UNPAID, target)


def _walk(start: OrderPaymentStatus, target: OrderPaymentStatus) -> list[OrderPaymentStatus]:
    queue = deque([[start]])
    while queue:
        walk = queue.popleft()
        if walk[-1] is target:
            return walk[1:]
        following = sorted(PAYMENT_TRANSITIONS[walk[-1]], key=list(OrderPaymentStatus).index)
        queue.extend([*walk, step] for step in following if step not in walk)
    raise AssertionError(f"{target} cannot be reached")


def order_with_payment(status: OrderPaymentStatus) -> Order:
    order = place()
    for step in path_to(status):
        order.payment_changed(payment_status_for(step), at=PAID, actor="gateway")
    assert order.payment_status is status
    return order


def open_order() -> Order:
    return order_with_payment(_P.AUTHORIZED)


def ship(order: Order, units: dict[str, int], *, at=LATER, actor="warehouse") -> None:
    """What the fulfilment service does when shipments carrying ``units`` leave."""
    order.check_can_ship()
    shipped = dict(order.fulfilled)
    for sku, n in units.items():
        shipped[sku] = shipped.get(sku, 0) + n
    order.follow_shipments(shipped, {}, at=at, actor=actor)


def fulfil_everything(order: Order) -> None:
    ship(order, {line.sku: line.quantity for line in order.lines})


def last(order: Order) -> HistoryEntry:
    return order.history[-1]


# --- placing -------------------------------------------------------------------------


def test_placing_freezes_every_line_as_priced():
    breakdown = priced()
    order = place(breakdown)

    assert len(order.lines) == len(breakdown.lines)
    for line, priced_line in zip(order.lines, breakdown.lines, strict=True):
        assert (line.sku, line.quantity) == (priced_line.sku, priced_line.quantity)
        assert line.unit_price_units == priced_line.unit_units
        assert line.subtotal_units == priced_line.subtotal_units
        assert line.discount_units == priced_line.discount_units
        assert line.tax_units == priced_line.tax_units
        assert line.total_units == priced_line.total_units
        assert (line.product_id, line.name) == names_for(breakdown)[line.sku][:2]
        assert line.adjustments == tuple(
            (adjustment.promotion_id, adjustment.units) for adjustment in priced_line.adjustments
        )
        assert line.taxes == tuple(
            (tax.name, str(tax.rate), tax.units) for tax in priced_line.taxes
        )
        # The promotion and the VAT really are there to be frozen.
        assert line.adjustments
        assert line.taxes


def test_placing_copies_the_totals_exactly():
    breakdown = priced()
    order = place(breakdown)

    totals = order.totals
    assert totals.subtotal_units == breakdown.subtotal_units
    assert totals.discount_units == breakdown.discount_units
    assert totals.shipping_units == breakdown.shipping_units == STANDARD.price_units
    assert totals.shipping_discount_units == breakdown.shipping_discount_units
    assert totals.shipping_tax_units == breakdown.shipping_tax_units
    assert totals.tax_units == breakdown.tax_units
    assert totals.grand_total_units == breakdown.grand_total_units
    assert totals.prices_include_tax == breakdown.prices_include_tax
    assert order.grand_total == breakdown.grand_total
    assert order.currency == breakdown.currency
    assert order.promotion_ids == breakdown.applied_promotions == ("autumn",)
    assert order.coupon_codes == ("AUTUMN",)


def test_a_placed_order_awaits_its_payment():
    order = place()

    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.payment_status is _P.UNPAID
    assert order.fulfilment_status is FulfilmentStatus.UNFULFILLED
    assert order.fulfilled == {}


def test_placing_records_an_order_placed_event():
    breakdown = priced()
    order = place(breakdown)

    assert order.events == [
        OrderPlaced(
            occurred_at=PLACED,
            order_id="order-1",
            currency="EUR",
            total_units=breakdown.grand_total_units,
            email="ada@example.com",
        )
    ]


def test_placing_writes_the_first_history_entry_with_time_and_actor():
    order = place(actor="staff:grace")

    assert len(order.history) == 1
    entry = last(order)
    assert (entry.at, entry.actor, entry.action) == (PLACED, "staff:grace", "placed")
    assert str(order.grand_total.amount) in entry.detail
    assert order.version == 1


def test_the_customer_places_an_order_unless_told_otherwise():
    assert last(place()).actor == "customer"


def test_an_order_needs_at_least_one_line():
    empty = attrs.evolve(priced(), lines=())

    with pytest.raises(InvalidInput) as refused:
        place(empty)

    assert refused.value.field == "cart"


def test_an_order_requires_shipping_only_for_physical_goods():
    assert place(priced(("RETRO-CLOCK", 1), ("RETRO-MANUAL", 1))).requires_shipping
    assert not place(priced(("RETRO-MANUAL", 1)), shipping=None).requires_shipping


# --- payment status ------------------------------------------------------------------

ALLOWED = [(old, new) for old, news in PAYMENT_TRANSITIONS.items() for new in sorted(news, key=str)]
ILLEGAL = [
    (old, new)
    for old in OrderPaymentStatus
    for new in OrderPaymentStatus
    if new is not old and new not in PAYMENT_TRANSITIONS[old]
]


def _pair_id(pair: object) -> str:
    old, new = pair  # type: ignore[misc]
    return f"{old.value}->{new.value}"


def test_every_payment_status_has_its_transitions_listed():
    assert set(PAYMENT_TRANSITIONS) == set(OrderPaymentStatus)


@pytest.mark.parametrize("pair", ALLOWED, ids=_pair_id)
def test_an_allowed_payment_transition_is_followed_and_logged(pair):
    old, new = pair
    order = order_with_payment(old)
    entries = len(order.history)

    changed = order.payment_changed(payment_status_for(new), at=LATER, actor="webhook")

    assert changed is True
    assert order.payment_status is new
    payment_entry = order.history[entries]
    assert (payment_entry.at, payment_entry.actor, payment_entry.action) == (
        LATER,
        "webhook",
        "payment",
    )
    assert payment_entry.detail == f"{old.value} -> {new.value}"


@pytest.mark.parametrize("pair", ILLEGAL, ids=_pair_id)
def test_an_illegal_payment_transition_is_refused_and_changes_nothing(pair):
    old, new = pair
    order = order_with_payment(old)
    history, status, version = list(order.history), order.status, order.version

    with pytest.raises(InvalidTransition) as refused:
        order.payment_changed(payment_status_for(new), at=LATER, actor="webhook")

    assert refused.value.code == "invalid_transition"
    assert refused.value.what == "order"
    assert order.payment_status is old
    assert (order.history, order.status, order.version) == (history, status, version)


def test_the_same_payment_status_again_changes_nothing():
    order = open_order()
    history = list(order.history)

    assert order.payment_changed(PaymentStatus.AUTHORIZED, at=LATER, actor="webhook") is False
    assert order.history == history


@pytest.mark.parametrize(
    "payment",
    [PaymentStatus.AUTHORIZED, PaymentStatus.PARTIALLY_CAPTURED, PaymentStatus.CAPTURED],
    ids=lambda s: s.value,
)
def test_the_order_opens_once_its_payment_is_authorized_or_captured(payment):
    order = place()
    placed_events = list(order.events)

    order.payment_changed(payment, at=PAID, actor="gateway")

    assert order.status is OrderStatus.OPEN
    assert order.events == [*placed_events, OrderPaid(occurred_at=PAID, order_id="order-1")]
    assert [(e.at, e.actor, e.action) for e in order.history[1:]] == [
        (PAID, "gateway", "payment"),
        (PAID, "gateway", "opened"),
    ]


@pytest.mark.parametrize(
    "payment", [PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED], ids=lambda s: s.value
)
def test_the_order_stays_pending_while_the_payment_is_not_authorized(payment):
    order = place()

    assert order.payment_changed(payment, at=PAID, actor="gateway") is False

    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.payment_status is _P.UNPAID
    assert not any(isinstance(e, OrderPaid) for e in order.events)
    assert len(order.history) == 1


def test_a_capture_of_an_open_order_does_not_open_it_again():
    order = open_order()
    paid_events = sum(isinstance(e, OrderPaid) for e in order.events)

    order.payment_changed(PaymentStatus.CAPTURED, at=LATER, actor="staff")

    assert order.status is OrderStatus.OPEN
    assert sum(isinstance(e, OrderPaid) for e in order.events) == paid_events
    assert last(order).action == "payment"


def test_a_payment_authorized_after_cancellation_does_not_reopen_the_order():
    order = place()
    order.cancel("changed my mind", at=PAID, actor="customer")

    order.payment_changed(PaymentStatus.AUTHORIZED, at=LATER, actor="webhook")

    assert order.status is OrderStatus.CANCELLED
    assert order.payment_status is _P.AUTHORIZED
    assert not any(isinstance(e, OrderPaid) for e in order.events)


# --- free orders ---------------------------------------------------------------------


def test_an_order_that_costs_nothing_is_settled_without_a_payment():
    breakdown = priced(("RETRO-MANUAL", 1), percent_off=100, shipping=None)
    assert breakdown.grand_total_units == 0
    order = place(breakdown, shipping=None)

    order.settle_free(at=PAID, actor="system")

    assert order.status is OrderStatus.OPEN
    assert order.payment_status is _P.CAPTURED
    assert order.events[-1] == OrderPaid(occurred_at=PAID, order_id="order-1")
    assert (last(order).at, last(order).actor, last(order).action) == (PAID, "system", "opened")


def test_an_order_that_costs_something_cannot_be_settled_as_free():
    order = place()
    assert order.totals.grand_total_units > 0
    history = list(order.history)

    with pytest.raises(InvalidTransition) as refused:
        order.settle_free(at=PAID, actor="system")

    assert refused.value.code == "invalid_transition"
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.payment_status is _P.UNPAID
    assert order.history == history


def test_a_free_order_is_settled_only_once():
    order = place(priced(("RETRO-MANUAL", 1), percent_off=100, shipping=None), shipping=None)
    order.settle_free(at=PAID, actor="system")

    with pytest.raises(InvalidTransition):
        order.settle_free(at=LATER, actor="system")
    assert sum(isinstance(e, OrderPaid) for e in order.events) == 1


# --- cancelling ----------------------------------------------------------------------


@pytest.mark.parametrize("opened", [False, True], ids=["pending", "open"])
def test_an_unfulfilled_order_can_be_cancelled(opened):
    order = open_order() if opened else place()

    order.cancel("out of stock", at=LATER, actor="staff:grace")

    assert order.status is OrderStatus.CANCELLED
    assert order.events[-1] == OrderCancelled(
        occurred_at=LATER, order_id="order-1", reason="out of stock"
    )
    assert last(order) == HistoryEntry(
        at=LATER, actor="staff:grace", action="cancelled", detail="out of stock"
    )


def test_an_order_cannot_be_cancelled_once_anything_was_fulfilled():
    order = open_order()
    first = order.lines[0]
    ship(order, {first.sku: 1})
    history = list(order.history)

    with pytest.raises(InvalidTransition) as refused:
        order.cancel("too late", at=LATER, actor="customer")

    assert refused.value.code == "invalid_transition"
    assert refused.value.state == "shipped"
    assert order.status is OrderStatus.OPEN
    assert order.history == history


def test_a_cancelled_order_cannot_be_cancelled_again():
    order = place()
    order.cancel("first", at=PAID, actor="customer")

    with pytest.raises(InvalidTransition) as refused:
        order.cancel("second", at=LATER, actor="customer")

    assert refused.value.state == OrderStatus.CANCELLED.value
    assert sum(isinstance(e, OrderCancelled) for e in order.events) == 1


def test_a_completed_order_cannot_be_cancelled():
    order = order_with_payment(_P.CAPTURED)
    fulfil_everything(order)
    order.complete(at=LATER, actor="staff")

    with pytest.raises(InvalidTransition) as refused:
        order.cancel("too late", at=LATER, actor="customer")

    assert refused.value.state == OrderStatus.COMPLETED.value
    assert order.status is OrderStatus.COMPLETED


# --- fulfilment ----------------------------------------------------------------------


def test_shipping_part_then_the_rest_ships_the_order_and_delivery_follows():
    order = open_order()
    clock, lamp = order.lines
    assert clock.quantity > 1

    ship(order, {clock.sku: 1})

    assert order.fulfilment_status is FulfilmentStatus.PARTIALLY_SHIPPED
    assert order.fulfilled == {clock.sku: 1}
    assert order.shipped
    assert (last(order).at, last(order).actor, last(order).action) == (
        LATER,
        "warehouse",
        "partially_shipped",
    )

    ship(order, {clock.sku: clock.quantity - 1, lamp.sku: lamp.quantity})

    assert order.fulfilment_status is FulfilmentStatus.SHIPPED
    assert order.fulfilled == {clock.sku: clock.quantity, lamp.sku: lamp.quantity}

    order.follow_shipments(order.fulfilled, {lamp.sku: 1}, at=LATER, actor="carrier")
    assert order.fulfilment_status is FulfilmentStatus.PARTIALLY_DELIVERED
    order.follow_shipments(order.fulfilled, order.fulfilled, at=LATER, actor="carrier")
    assert order.fulfilment_status is FulfilmentStatus.DELIVERED


def test_following_the_same_shipments_again_changes_nothing():
    order = open_order()
    ship(order, {order.lines[0].sku: 1})
    version, history = order.version, list(order.history)

    assert not order.follow_shipments(order.fulfilled, {}, at=LATER, actor="warehouse")

    assert (order.version, order.history) == (version, history)


def test_units_left_to_ship_are_what_no_shipment_carries():
    order = open_order()
    clock, lamp = order.lines

    assert order.left_to_ship({}) == {clock.sku: clock.quantity, lamp.sku: lamp.quantity}
    assert order.left_to_ship({clock.sku: clock.quantity}) == {lamp.sku: lamp.quantity}


def test_an_order_awaiting_payment_cannot_be_shipped():
    order = place()

    with pytest.raises(InvalidTransition) as refused:
        fulfil_everything(order)

    assert refused.value.state == OrderStatus.PENDING_PAYMENT.value
    assert order.fulfilment_status is FulfilmentStatus.UNFULFILLED


# --- completing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "settled", [_P.CAPTURED, _P.PARTIALLY_REFUNDED, _P.REFUNDED], ids=lambda s: s.value
)
def test_a_fulfilled_and_settled_order_can_be_completed(settled):
    order = order_with_payment(settled)
    fulfil_everything(order)

    order.complete(at=LATER, actor="staff:grace")

    assert order.status is OrderStatus.COMPLETED
    assert (last(order).at, last(order).actor, last(order).action) == (
        LATER,
        "staff:grace",
        "completed",
    )


@pytest.mark.parametrize(
    "unsettled", [_P.AUTHORIZED, _P.PARTIALLY_CAPTURED, _P.VOIDED], ids=lambda s: s.value
)
def test_an_order_whose_payment_is_not_captured_cannot_be_completed(unsettled):
    order = order_with_payment(unsettled)
    fulfil_everything(order)
    history = list(order.history)

    with pytest.raises(InvalidTransition) as refused:
        order.complete(at=LATER, actor="staff")

    assert refused.value.code == "invalid_transition"
    assert order.status is OrderStatus.OPEN
    assert order.history == history


def test_a_partly_fulfilled_order_cannot_be_completed():
    order = order_with_payment(_P.CAPTURED)
    ship(order, {order.lines[0].sku: 1})

    with pytest.raises(InvalidTransition):
        order.complete(at=LATER, actor="staff")
    assert order.status is OrderStatus.OPEN


def test_an_order_awaiting_payment_cannot_be_completed():
    order = place()

    with pytest.raises(InvalidTransition):
        order.complete(at=LATER, actor="staff")
    assert order.status is OrderStatus.PENDING_PAYMENT


def test_a_completed_order_cannot_be_completed_again():
    order = order_with_payment(_P.CAPTURED)
    fulfil_everything(order)
    order.complete(at=LATER, actor="staff")

    with pytest.raises(InvalidTransition) as refused:
        order.complete(at=LATER, actor="staff")
    assert refused.value.state == OrderStatus.COMPLETED.value


# --- ownership and idempotency -------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "owns"),
    [(TOKEN, True), ("x" * len(TOKEN), False), (TOKEN[:-1], False), ("", False), (None, False)],
    ids=["right", "wrong", "prefix", "empty", "none"],
)
def test_only_the_orders_own_token_reaches_it(token, owns):
    assert place().owned_by(token) is owns


def test_an_idempotency_conflict_names_the_key_it_is_about():
    error = IdempotencyConflict("idem-1")

    assert isinstance(error, CommerceError)
    assert error.code == "idempotency_conflict"
    assert error.field == "idempotency_key"
    assert error.key == "idem-1"
    assert "idem-1" in error.message
    assert error.as_dict()["code"] == "idempotency_conflict"


# --- history -------------------------------------------------------------------------


def test_every_change_is_logged_with_its_time_and_actor():
    order = place()
    clock, lamp = order.lines
    steps = [
        (PAID, "gateway"),
        (PAID + timedelta(minutes=1), "warehouse"),
        (PAID + timedelta(minutes=2), "warehouse"),
        (PAID + timedelta(minutes=3), "staff:capture"),
        (PAID + timedelta(minutes=4), "staff:close"),
    ]

    order.payment_changed(PaymentStatus.AUTHORIZED, at=steps[0][0], actor=steps[0][1])
    ship(order, {clock.sku: 1}, at=steps[1][0], actor=steps[1][1])
    ship(
        order,
        {clock.sku: clock.quantity - 1, lamp.sku: lamp.quantity},
        at=steps[2][0],
        actor=steps[2][1],
    )
    order.payment_changed(PaymentStatus.CAPTURED, at=steps[3][0], actor=steps[3][1])
    order.complete(at=steps[4][0], actor=steps[4][1])

    assert [(e.at, e.actor, e.action) for e in order.history] == [
        (PLACED, "customer", "placed"),
        (*steps[0], "payment"),
        (*steps[0], "opened"),
        (*steps[1], "partially_shipped"),
        (*steps[2], "shipped"),
        (*steps[3], "payment"),
        (*steps[4], "completed"),
    ]
    assert order.version == len(order.history)


# --- following the payment -----------------------------------------------------------


def test_the_order_follows_every_status_its_payment_reaches():
    order = place()
    due = order.totals.grand_total_units
    half = due // 2
    payment = Payment(
        id="pay-1",
        order_id=order.id,
        gateway="test",
        currency=order.currency,
        amount_units=due,
    )
    steps = [
        (TransactionKind.AUTHORIZE, due),
        (TransactionKind.CAPTURE, half),
        (TransactionKind.REFUND, half),
        (TransactionKind.CAPTURE, due - half),
    ]

    for number, (kind, amount) in enumerate(steps):
        event = GatewayEvent(
            transaction_id=f"txn-{number}",
            payment_reference="pi_1",
            kind=kind,
            status=TransactionStatus.SUCCEEDED,
            amount_units=amount,
            currency=order.currency,
            occurred_at=LATER,
        )
        # Refusing the late capture would be a fix too: then the order has nothing to follow.
        with contextlib.suppress(CommerceError):
            payment.apply(event)
        order.payment_changed(payment.status, at=LATER, actor="webhook")

    assert order.payment_status is _P(payment.status.value)


def test_staff_see_each_concern_once_and_a_shorter_one_is_not_taken_for_a_longer():
    order = open_order()
    assert order.flag("the gateway refused to refund: card closed", at=LATER, actor="sweep")
    assert not order.flag("the gateway refused to refund:  card closed", at=LATER, actor="sweep")
    assert order.flag("the gateway refused to refund: card", at=LATER, actor="sweep")
    assert order.attention.splitlines() == [
        "the gateway refused to refund: card closed",
        "the gateway refused to refund: card",
    ]
    assert [e.detail for e in order.events if isinstance(e, NeedsAttention)] == [
        "the gateway refused to refund: card closed",
        "the gateway refused to refund: card",
    ]


def test_an_order_stays_partially_shipped_until_every_unit_left_whatever_arrived():
    order = order_with_payment(_P.CAPTURED)
    clock, lamp = order.lines
    arrived = {clock.sku: clock.quantity}

    order.follow_shipments(arrived, arrived, at=LATER, actor="carrier")

    assert order.fulfilment_status is FulfilmentStatus.PARTIALLY_SHIPPED
    with pytest.raises(InvalidTransition):
        order.complete(at=LATER, actor="staff")
    ship(order, {lamp.sku: lamp.quantity})
    assert order.fulfilment_status is FulfilmentStatus.SHIPPED
    order.follow_shipments(order.fulfilled, arrived, at=LATER, actor="carrier")
    assert order.fulfilment_status is FulfilmentStatus.PARTIALLY_DELIVERED
    order.complete(at=LATER, actor="staff")
    assert order.status is OrderStatus.COMPLETED


def test_goods_leaving_before_any_line_counts_as_shipped_end_cancelling():
    order = open_order()

    order.follow_shipments({}, {}, at=LATER, actor="warehouse", left=True)

    assert order.fulfilment_status is FulfilmentStatus.UNFULFILLED
    with pytest.raises(InvalidTransition):
        order.cancel("too late", at=LATER, actor="customer")
