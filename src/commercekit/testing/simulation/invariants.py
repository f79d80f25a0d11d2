"""The store's invariants: what the checks see after a step (:class:`Snapshot`),
the checks, and which run after every step (:data:`STEP_CHECKS`) and once
everything is settled (:data:`SETTLED_CHECKS`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Final

import attrs

from commercekit.domain.inventory import MovementKind, StockItem, StockMovement
from commercekit.domain.orders import FulfilmentStatus, Order, OrderStatus
from commercekit.domain.payments import GatewayEvent, Payment
from commercekit.testing.simulation._tally import tally
from commercekit.testing.simulation.books import Account


@attrs.frozen(kw_only=True)
class OrderState:
    """An order, its payment, what it holds, and what the gateway knows of it."""

    order: Order
    payment: Payment | None
    holds: Mapping[tuple[str, str], int]
    """Stock the order still holds, per ``(sku, location)``."""
    authorization: GatewayEvent | None
    """The gateway's answer to the order's authorization, if it received it."""
    account: Account | None
    """The gateway's books for the order's payment, if the gateway knows it."""
    delivered: tuple[str, ...]
    """The names of the events about this order delivered to subscribers so far."""


@attrs.frozen(kw_only=True)
class Snapshot:
    """The store as the checks see it after a step."""

    step: int
    orders: tuple[OrderState, ...]
    items: tuple[StockItem, ...]
    ledger: Mapping[tuple[str, str], tuple[StockMovement, ...]]
    """The movements of each ``(sku, location)``."""

    floors: Mapping[str, int]
    """The lowest available stock each SKU may reach."""
    received: Mapping[str, int]
    """What the simulation received of each SKU, in all."""
    keys: Mapping[str, tuple[str, ...]]
    """The orders each idempotency key was answered with."""
    undelivered: int
    """Committed events not yet delivered."""
    webhooks_waiting: int = 0
    """Gateway facts sent as webhooks that the store has not taken yet."""
    sweep_problems: tuple[str, ...] = ()
    """What the step's sweeps did and did not report, or failed at unexpectedly."""

    @property
    def held(self) -> dict[tuple[str, str], int]:
        """What the orders' live reservations hold at each ``(sku, location)``."""
        return tally(hold for state in self.orders for hold in state.holds.items())


#: A check: the problems it finds in a snapshot, in words (none when all is well).
Check = Callable[[Snapshot], Iterable[str]]


def money_conserved(snapshot: Snapshot) -> Iterator[str]:
    """Per payment: due >= authorized >= captured >= refunded >= 0, due is the order's
    total, the order follows what the payment holds, and the ledger has no more than
    the gateway did."""
    for state in snapshot.orders:
        order, payment = state.order, state.payment
        if payment is None:
            yield f"order {order.id} has no payment"
            continue
        due, authorized = payment.amount_units, payment.authorized_units
        captured, refunded = payment.captured_units, payment.refunded_units
        if not due >= authorized >= captured >= refunded >= 0:
            yield (
                f"payment {payment.id}: due {due}, authorized {authorized}, "
                f"captured {captured}, refunded {refunded}"
            )
        if due != order.totals.grand_total_units or payment.currency != order.currency:
            total = f"{order.totals.grand_total_units} {order.currency}"
            yield f"payment {payment.id} is for {due} {payment.currency}, its order {total}"
        held = (payment.capturable_units, payment.refundable_units)
        said = (order.payment_capturable_units, order.payment_refundable_units)
        if held != said:
            yield f"order {order.id} says its payment holds {said}, the payment {held}"
        yield from _within_gateway(state, payment)


def _within_gateway(state: OrderState, payment: Payment) -> Iterator[str]:
    account = state.account
    if account is None:
        if payment.authorized_units or payment.captured_units:
            yield f"payment {payment.id} records money the gateway never took"
        return
    if not account.authorized >= account.captured >= account.refunded:
        yield f"the gateway's books for payment {payment.id} break its own limits: {account}"
    ledger = (payment.authorized_units, payment.captured_units, payment.refunded_units)
    books = (account.authorized, account.captured, account.refunded)
    if any(mine > theirs for mine, theirs in zip(ledger, books, strict=True)) or (
        payment.voided and not account.voided
    ):
        mine = f"{ledger} voided {payment.voided}"
        yield f"payment {payment.id} records more than the gateway did: {mine}, {account}"


def charged_once(snapshot: Snapshot) -> Iterator[str]:
    """One order per idempotency key, one live order per cart, and the payment's
    reference is the gateway's for the order's authorization."""
    for key, order_ids in snapshot.keys.items():
        if len(set(order_ids)) > 1:
            yield f"idempotency key {key} was answered with orders {sorted(set(order_ids))}"
    live: dict[str, list[str]] = {}  # cart id: its orders not cancelled
    for state in snapshot.orders:
        order = state.order
        if order.status is not OrderStatus.CANCELLED:
            live.setdefault(order.cart_id, []).append(order.id)
        reference = state.payment.reference if state.payment else None
        answered = state.authorization
        if reference and answered and answered.payment_reference != reference:
            theirs = answered.payment_reference
            yield f"order {order.id} is paid through {reference}, the gateway's is {theirs}"
    for cart_id, live_ids in live.items():
        if len(live_ids) > 1:
            yield f"cart {cart_id} became {len(live_ids)} live orders: {live_ids}"


def _tracked(order: Order) -> dict[str, int]:
    return tally((line.sku, line.quantity) for line in order.lines if line.track_stock)


def orders_consistent(snapshot: Snapshot) -> Iterator[str]:
    """An open order is paid; nothing ships from a cancelled order; an order holds its
    stock exactly while it awaits payment or is paid and not shipped."""
    for state in snapshot.orders:
        order, payment = state.order, state.payment
        status = order.status
        paid = payment is not None and payment.covers_amount_due
        if status in (OrderStatus.OPEN, OrderStatus.COMPLETED) and not (
            paid or not order.totals.grand_total_units
        ):
            yield f"order {order.id} is {status.value} and not paid for"
        if order.shipped and status not in (OrderStatus.OPEN, OrderStatus.COMPLETED):
            yield f"order {order.id} shipped and is {status.value}"
        if status in (OrderStatus.CANCELLING, OrderStatus.CANCELLED) and (
            order.fulfilment_status is not FulfilmentStatus.UNFULFILLED
        ):
            yield f"order {order.id} is {status.value} and {order.fulfilment_status.value}"
        holding = status is OrderStatus.PENDING_PAYMENT or (
            status is OrderStatus.OPEN and not order.shipped
        )
        expected = _tracked(order) if holding else {}
        held = tally((sku, quantity) for (sku, _), quantity in state.holds.items())
        if held != expected:
            name = f"order {order.id} ({status.value}, shipped {order.shipped})"
            yield f"{name} holds {held}, should hold {expected}"
        if status is OrderStatus.COMPLETED and not order.fulfilment_status.all_shipped:
            yield f"order {order.id} completed {order.fulfilment_status.value}"


def stock_conserved(snapshot: Snapshot) -> Iterator[str]:
    """On hand is the ledger's sum, reserved is what live holds hold, nothing is below
    its floor, what was received is in the ledger and what was sold shipped."""
    holds = snapshot.held
    for item in snapshot.items:
        moves = snapshot.ledger.get(item.key, ())
        total, held = sum(m.quantity for m in moves), holds.get(item.key, 0)
        if item.on_hand != total:
            yield f"{item.key}: on hand {item.on_hand}, the ledger says {total}"
        if item.reserved != held:
            yield f"{item.key}: reserved {item.reserved}, live holds hold {held}"
        floor = snapshot.floors.get(item.sku, 0)
        if item.reserved < 0 or item.available < floor or item.on_hand < min(floor, 0):
            yield f"{item.key}: on hand {item.on_hand}, reserved {item.reserved}, floor {floor}"
    sold = tally((sku, -quantity) for sku, quantity in _moved(snapshot, MovementKind.SALE))
    received = tally(_moved(snapshot, MovementKind.RECEIPT))
    shipped = tally(
        line
        for state in snapshot.orders
        if state.order.shipped
        for line in _tracked(state.order).items()
    )
    if sold != shipped:
        yield f"sold {sold} by the ledger, shipped {shipped} by the orders"
    expected = {sku: units for sku, units in snapshot.received.items() if units}
    if received != expected:
        yield f"received {received} by the ledger, {expected} by the simulation"


def _moved(snapshot: Snapshot, kind: MovementKind) -> Iterator[tuple[str, int]]:
    """The quantities of every movement of ``kind`` in the ledger, per SKU."""
    for item in snapshot.items:
        for move in snapshot.ledger.get(item.key, ()):
            if move.kind is kind:
                yield item.sku, move.quantity


def all_or_nothing(snapshot: Snapshot) -> Iterator[str]:
    """Once everything is settled: every order open and paid, cancelled with nothing
    held, or completed with nothing left authorized; nothing under way or flagged;
    the ledger is the gateway's books; every event delivered."""
    if snapshot.undelivered:
        yield f"{snapshot.undelivered} committed events were never delivered"
    if snapshot.webhooks_waiting:
        yield f"{snapshot.webhooks_waiting} webhooks were never taken"
    for state in snapshot.orders:
        yield from _settled(state)


def _settled(state: OrderState) -> Iterator[str]:
    order, payment, account = state.order, state.payment, state.account
    status, name = order.status, f"order {order.id} ({order.status.value})"
    if payment is None:
        return
    if status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLING):
        yield f"{name} was left half-done"
    if payment.intents or order.attention or payment.attention:
        flags = f"{order.attention!r} {payment.attention!r}"
        yield f"{name} was left with operations under way or flagged: {payment.intents} {flags}"
    ledger = (
        payment.authorized_units,
        payment.captured_units,
        payment.refunded_units,
        payment.voided,
    )
    books = (0, 0, 0, False) if account is None else attrs.astuple(account)
    if ledger != books:
        yield f"{name}: the ledger {ledger} is not the gateway's books {books}"
    held = 0 if account is None else account.held
    if status is OrderStatus.CANCELLED and held:
        yield f"{name}: the gateway still holds {held} of it"
    if status is OrderStatus.OPEN and (
        account is None or account.authorized != payment.amount_units
    ):
        yield f"{name}: the gateway did not authorize the amount due ({account})"
    standing = account is not None and not account.voided and account.authorized > account.captured
    if status is OrderStatus.COMPLETED and standing:
        yield f"{name}: an authorization still stands at the gateway"
    expected = {
        OrderStatus.OPEN: "OrderPaid",
        OrderStatus.COMPLETED: "OrderPaid",
        OrderStatus.CANCELLED: "OrderCancelled",
    }.get(status)
    if expected and expected not in state.delivered:
        yield f"{name}: {expected} was never delivered"


def sweeps_say_what_they_did(snapshot: Snapshot) -> Iterator[str]:
    """Every order a sweep changed is in its report, and no sweep failed on an order
    for an unexpected reason (a bug rather than a refusal)."""
    yield from snapshot.sweep_problems


#: What must hold after every step.
STEP_CHECKS: Final[tuple[Check, ...]] = (
    money_conserved,
    sweeps_say_what_they_did,
    charged_once,
    orders_consistent,
    stock_conserved,
)
#: What must hold once everything is settled.
SETTLED_CHECKS: Final[tuple[Check, ...]] = (all_or_nothing,)
