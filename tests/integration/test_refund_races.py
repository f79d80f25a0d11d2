"""Refunds, returns and restocking racing each other on the same order, on a SQLite
file and on PostgreSQL: the same units are never refunded twice, nothing goes back
beyond what was captured, and a unit is put back on a shelf once."""

from __future__ import annotations

from functools import partial

from commercekit.domain.inventory import MovementKind
from commercekit.domain.money import from_minor_units
from commercekit.domain.shipping import TrackingEvent, TrackingStatus
from commercekit.errors import (
    CommerceError,
    ConcurrencyConflict,
    InvalidInput,
    InvalidTransition,
    OperationInProgress,
    RefundRefused,
)
from commercekit.store import Store
from tests.integration.test_races import ROUNDS, START, at_gateway, race, ready_cart, store

__all__ = ["store"]


def delivered(store: Store, key: str, quantity: int = 2) -> str:
    """A captured order of ``quantity`` clocks, shipped and delivered."""
    order = store.checkout.place_order(ready_cart(store, quantity), idempotency_key=key)
    store.payments.capture(order.id)
    (shipment,) = store.fulfilment.create_shipments(order.id)
    store.fulfilment.buy_label(shipment.id, carrier="manual", tracking_number=f"T-{key}")
    store.fulfilment.dispatch(shipment.id)
    arrived = TrackingEvent(
        id=f"in-{key}", tracking_number=f"T-{key}", status=TrackingStatus.DELIVERED, at=START
    )
    store.fulfilment.record_tracking(shipment.id, [arrived])
    return order.id


def returned_to_shelf(store: Store) -> int:
    moves = store.inventory.movements("CLOCK", "berlin")
    return sum(m.quantity for m in moves if m.kind is MovementKind.RETURN)


def test_the_same_units_refunded_twice_at_once_go_back_once(store: Store) -> None:
    for n in range(ROUNDS):
        order_id = delivered(store, f"twice-{n}")
        first, second = race(
            partial(store.refunds.refund_units, order_id, {"CLOCK": 2}, reason="a"),
            partial(store.refunds.refund_units, order_id, {"CLOCK": 2}, reason="b"),
        )
        refused = [r for r in (first, second) if isinstance(r, CommerceError)]
        assert len(refused) == 1
        assert isinstance(refused[0], RefundRefused)
        ledger = store.refunds.for_order(order_id)
        _, captured, refunded, _ = at_gateway(store, order_id)
        clocks = next(line for line in store.orders.get(order_id).lines)
        assert refunded == ledger.refunded_units == clocks.total_units
        assert refunded <= captured


def test_a_return_refund_and_a_goodwill_refund_at_once_never_exceed_the_capture(
    store: Store,
) -> None:
    for n in range(ROUNDS):
        order_id = delivered(store, f"mixed-{n}")
        _, captured, _, _ = at_gateway(store, order_id)
        # Goodwill of all but a cent, and every unit with the shipping: together more
        # than was captured, so whichever lands second is capped or refused.
        almost = from_minor_units(captured - 1, "EUR")
        results = race(
            partial(store.refunds.goodwill, order_id, almost, reason="sorry"),
            partial(
                store.refunds.refund_units, order_id, {"CLOCK": 2}, reason="lost", shipping=True
            ),
        )
        for result in results:
            if isinstance(result, CommerceError):
                assert isinstance(result, RefundRefused)
        ledger = store.refunds.for_order(order_id)
        _, captured, refunded, _ = at_gateway(store, order_id)
        assert refunded == ledger.refunded_units <= captured


def test_a_received_unit_is_restocked_once_whoever_puts_it_back(store: Store) -> None:
    for n in range(ROUNDS):
        order_id = delivered(store, f"shelf-{n}", quantity=1)
        asked = store.returns.request(order_id, [{"sku": "CLOCK", "quantity": 1}])
        store.returns.approve(asked.id)
        store.returns.receive(asked.id)
        before = returned_to_shelf(store)
        decision = [{"sku": "CLOCK", "quantity": 1, "outcome": "restock"}]
        results = race(
            partial(store.returns.inspect, asked.id, decision),
            partial(store.returns.inspect, asked.id, decision),
            partial(store.inventory.record_return, "CLOCK", "berlin", 1, order_id=order_id),
        )
        refused = [r for r in results if isinstance(r, CommerceError)]
        assert len(refused) == 2, results
        # Another inspection finds it decided; the shelf finds it back already.
        assert all(isinstance(r, InvalidInput | InvalidTransition) for r in refused), refused
        assert returned_to_shelf(store) == before + 1
    on_hand = store.inventory.stock("CLOCK")[0].on_hand
    assert on_hand == sum(m.quantity for m in store.inventory.movements("CLOCK", "berlin"))


def test_two_edits_at_once_one_lands_and_stock_and_money_follow_it(store: Store) -> None:
    held = sum(item.reserved for item in store.inventory.stock("CLOCK"))
    for n in range(ROUNDS):
        order = store.checkout.place_order(ready_cart(store, 2), idempotency_key=f"edit-{n}")
        results = race(
            partial(store.orders.edit, order.id, {"CLOCK": 3}),
            partial(store.orders.edit, order.id, {"CLOCK": 1}),
        )
        assert any(not isinstance(r, CommerceError) for r in results), results
        for result in results:
            if isinstance(result, CommerceError):
                assert isinstance(result, ConcurrencyConflict | OperationInProgress), result
        edited = store.orders.get(order.id)
        (line,) = edited.lines
        # The stock held is the edited count, whichever edit landed.
        held += line.quantity
        assert sum(item.reserved for item in store.inventory.stock("CLOCK")) == held
        payment = store.payments.for_order(order.id)
        assert payment.amount_units == edited.totals.grand_total_units
        assert payment.authorized_units >= payment.amount_units
        assert at_gateway(store, order.id)[0] == payment.authorized_units
        # Capturing all takes exactly what the edited order is due, and releases the rest.
        captured = store.payments.capture(order.id)
        assert captured.captured_units == edited.totals.grand_total_units
        assert captured.capturable_units == 0


def test_an_edit_racing_a_shipment_plan_one_wins(store: Store) -> None:
    for n in range(ROUNDS):
        order = store.checkout.place_order(ready_cart(store, 2), idempotency_key=f"plan-{n}")
        edited, planned = race(
            partial(store.orders.edit, order.id, {"CLOCK": 1}),
            partial(store.fulfilment.create_shipments, order.id),
        )
        shipments = store.fulfilment.for_order(order.id)
        lines = store.orders.get(order.id).lines
        if isinstance(edited, CommerceError):
            # Planned first: the edit is refused and the order ships as placed.
            assert isinstance(edited, InvalidTransition | ConcurrencyConflict)
            assert lines[0].quantity == 2
        else:
            # Edited first: the plan carries the edited count, never the old one.
            assert lines[0].quantity == 1
            if not isinstance(planned, CommerceError):
                assert sum(s.lines.get("CLOCK", 0) for s in shipments) == 1
