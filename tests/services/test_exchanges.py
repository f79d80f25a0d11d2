"""Exchanges on a real store (memory and a SQLite file): returned units swapped for
another variant, sent as a replacement order paid for by what they were worth, with
the difference charged on the replacement or refunded on the original; a refusal
leaves nothing behind.

The shop's order (see ``delivered``): 3 mugs at 12.00 and a clock at 40.00, VAT 19%
on top, shipping 4.90 untaxed. The mug line is 3 x 12.00 x 1.19 = 42.84, so two mugs
back are worth floor(4284 * 2 / 3) = 2856 minor units. The mug's variants cost 12.00
(red), 15.00 (XL) and 9.00 (mini): two of them cost 2856, 3570 and 2142.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from commercekit import Money, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.credit import TenderKind
from commercekit.domain.errors import (
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    PaymentDeclined,
    RefundRefused,
    UnknownSku,
)
from commercekit.domain.events import ExchangeMade, RefundIssued
from commercekit.domain.orders import OrderPaymentStatus, OrderStatus
from commercekit.domain.returns import ExchangeStatus, RefundKind, RefundStatus
from commercekit.store import Store
from tests.services.test_returns import _open, delivered, line

TWO_MUGS = 2856  # floor(3 * 12.00 * 1.19 * 2 / 3) in cents
TWO_RED, TWO_XL, TWO_MINI = 2856, 3570, 2142  # 2 x 12.00 / 15.00 / 9.00, x 1.19


@pytest.fixture
def store(store_url: str, clock: FixedClock) -> Iterator[Store]:
    with _open(store_url, clock, restocking_fee_percent="10") as opened:
        for sku, price in (("MUG-RED", "12.00"), ("MUG-XL", "15.00"), ("MUG-MINI", "9.00")):
            opened.catalog.put_variant("mug", Variant(sku=sku, options={"style": sku[4:]}))
            opened.catalog.set_price("eu", sku, Money(price, "EUR"))
            opened.inventory.receive(sku, "berlin", 5)
        yield opened


def back(store: Store, units: int = 2) -> tuple[str, str]:
    """A delivered order and an approved, received return of ``units`` of its mugs."""
    order_id = delivered(store)
    asked = store.returns.request(order_id, [line("RETRO-MUG", units)])
    store.returns.approve(asked.id)
    store.returns.receive(asked.id)
    return order_id, asked.id


def held(store: Store, sku: str) -> int:
    return sum(item.reserved for item in store.inventory.stock(sku))


def untouched(store: Store, order_id: str, return_id: str) -> None:
    """Nothing of a refused exchange was written."""
    assert store.returns.get(return_id).exchange_id == ""
    assert store.returns.get(return_id).refund_ids == ()
    assert store.refunds.for_order(order_id).refunds == ()
    assert store.returns.exchanges_for(order_id) == []
    assert [e.action for e in store.orders.get(order_id).history].count("exchange") == 0


def ship(store: Store, order_id: str) -> None:
    (shipment,) = store.fulfilment.create_shipments(order_id)
    store.fulfilment.buy_label(shipment.id, carrier="manual", tracking_number=f"R-{order_id}")
    store.fulfilment.dispatch(shipment.id)


def test_an_exchange_at_the_same_price_charges_nothing_and_the_replacement_ships(
    store: Store,
) -> None:
    order_id, return_id = back(store)
    original = store.orders.get(order_id)

    exchange = store.returns.exchange(return_id, {"RETRO-MUG": "MUG-RED"})

    assert exchange.status is ExchangeStatus.DONE
    assert (exchange.value_units, exchange.price_units) == (TWO_MUGS, TWO_RED)
    assert exchange.charged_units == exchange.difference_units == 0
    replacement = store.orders.get(exchange.replacement_id)
    # Paid wholly by the returned units: it opens paid, with nothing asked of a gateway.
    assert replacement.status is OrderStatus.OPEN
    assert replacement.payment_status is OrderPaymentStatus.CAPTURED
    assert replacement.due_units == 0
    (tender,) = replacement.tenders
    assert (tender.kind, tender.source_id, tender.units) == (
        TenderKind.EXCHANGE,
        order_id,
        TWO_MUGS,
    )
    assert [(x.sku, x.quantity) for x in replacement.lines] == [("MUG-RED", 2)]
    assert replacement.totals.shipping_units == 0
    assert replacement.shipping_address == original.shipping_address
    assert replacement.customer_id == original.customer_id
    assert replacement.email == original.email
    assert store.payments.for_order(replacement.id).amount_units == 0
    # The returned units are on the original's ledger, and no money moved.
    (carried,) = store.refunds.for_order(order_id).refunds
    assert carried.plan.kind is RefundKind.EXCHANGE
    assert carried.plan.units == {"RETRO-MUG": 2}
    assert (carried.to_exchange_units, carried.to_gateway_units, carried.status) == (
        TWO_MUGS,
        0,
        RefundStatus.DONE,
    )
    assert store.payments.for_order(order_id).refunded_units == 0
    # Both orders say so, and the return is exchanged: neither refunded nor exchanged again.
    assert "exchange" in [e.action for e in store.orders.get(order_id).history]
    assert "exchange" in [e.action for e in replacement.history]
    assert store.returns.get(return_id).exchange_id == exchange.id
    with pytest.raises(RefundRefused):
        store.returns.refund(return_id)
    with pytest.raises(InvalidTransition):
        store.returns.exchange(return_id, {"RETRO-MUG": "MUG-RED"})
    assert [e.id for e in store.returns.exchanges_for(order_id)] == [exchange.id]
    assert [e.id for e in store.returns.exchanges_for(replacement.id)] == [exchange.id]
    events = [e for _, e in store.storage.undelivered_events(10_000)]
    (made,) = [e for e in events if isinstance(e, ExchangeMade)]
    assert (made.order_id, made.replacement_id) == (order_id, replacement.id)
    (issued,) = [e for e in events if isinstance(e, RefundIssued) and e.order_id == order_id]
    assert issued.to_exchange_units == issued.total_units == TWO_MUGS

    # Its stock is held as a paid order's, and it ships as any order does.
    assert held(store, "MUG-RED") == 2
    ship(store, replacement.id)
    assert store.orders.get(replacement.id).shipped
    assert held(store, "MUG-RED") == 0


def test_an_exchange_that_costs_more_charges_the_difference_on_the_replacement(
    store: Store,
) -> None:
    order_id, return_id = back(store)
    # The difference needs a means of payment: refused without one, nothing written.
    with pytest.raises(InvalidInput) as refused:
        store.returns.exchange(return_id, {"RETRO-MUG": "MUG-XL"})
    assert refused.value.field == "payment_token"
    untouched(store, order_id, return_id)
    assert held(store, "MUG-XL") == 0

    exchange = store.returns.exchange(
        return_id, {"RETRO-MUG": "MUG-XL"}, payment_token="tok_success"
    )

    assert exchange.status is ExchangeStatus.DONE
    assert exchange.charged_units == TWO_XL - TWO_MUGS == 714
    replacement = store.orders.get(exchange.replacement_id)
    assert replacement.status is OrderStatus.OPEN
    assert replacement.payment_status is OrderPaymentStatus.AUTHORIZED
    payment = store.payments.for_order(replacement.id)
    assert (payment.amount_units, payment.authorized_units) == (714, 714)
    assert replacement.tenders[0].units == TWO_MUGS
    # The returned units count on the original's ledger once the difference is paid.
    (carried,) = store.refunds.for_order(order_id).refunds
    assert (carried.status, carried.to_exchange_units) == (RefundStatus.DONE, TWO_MUGS)
    assert store.payments.for_order(order_id).refunded_units == 0
    store.payments.capture(replacement.id)
    assert store.payments.for_order(replacement.id).captured_units == 714
    ship(store, replacement.id)
    assert store.orders.get(replacement.id).shipped


def test_a_declined_difference_undoes_the_exchange_whole(store: Store) -> None:
    order_id, return_id = back(store)
    with pytest.raises(PaymentDeclined):
        store.returns.exchange(return_id, {"RETRO-MUG": "MUG-XL"}, payment_token="tok_declined")

    (undone,) = store.returns.exchanges_for(order_id)
    assert undone.status is ExchangeStatus.UNDONE
    replacement = store.orders.get(undone.replacement_id)
    assert replacement.status is OrderStatus.CANCELLED
    assert held(store, "MUG-XL") == 0
    # The original's ledger gives back what it could before (its failed record counts
    # for nothing), and the return is as it was.
    ledger = store.refunds.for_order(order_id)
    assert ledger.refunded_units == 0
    assert ledger.returned() == {}
    assert [r.status for r in ledger.refunds] == [RefundStatus.FAILED]
    found = store.returns.get(return_id)
    assert (found.exchange_id, found.refund_ids) == ("", ())
    assert "exchange undone" in [e.action for e in store.orders.get(order_id).history]
    # So it may be exchanged again (or refunded).
    again = store.returns.exchange(return_id, {"RETRO-MUG": "MUG-RED"})
    assert again.status is ExchangeStatus.DONE
    assert store.refunds.for_order(order_id).refunded_units == TWO_MUGS


def test_an_exchange_that_costs_less_refunds_the_difference_on_the_original(
    store: Store,
) -> None:
    order_id, return_id = back(store)
    exchange = store.returns.exchange(return_id, {"RETRO-MUG": "MUG-MINI"})

    assert exchange.status is ExchangeStatus.DONE
    assert exchange.difference_units == TWO_MUGS - TWO_MINI == 714
    replacement = store.orders.get(exchange.replacement_id)
    assert replacement.status is OrderStatus.OPEN
    assert replacement.tenders[0].units == TWO_MINI
    ledger = store.refunds.for_order(order_id)
    carried, difference = ledger.refunds
    assert (carried.plan.total_units, carried.to_exchange_units) == (TWO_MINI, TWO_MINI)
    assert carried.plan.difference_units == 714
    assert difference.id == exchange.difference_refund_id
    assert (difference.plan.total_units, difference.to_gateway_units) == (714, 714)
    assert difference.plan.kind is RefundKind.EXCHANGE
    assert difference.status is RefundStatus.DONE
    # The difference went back through the original's payment; the rest paid the mini.
    assert store.payments.for_order(order_id).refunded_units == 714
    assert ledger.refunded_units == TWO_MUGS


def test_a_refused_difference_leaves_the_exchange_made_and_the_order_flagged(
    store: Store,
) -> None:
    order_id, return_id = back(store)
    payment = store.payments.for_order(order_id)
    # Everything was given back at the gateway's own dashboard: it declines the next.
    store.gateway("test").refund(payment.reference, payment.captured_units, "EUR", "outside")
    exchange = store.returns.exchange(return_id, {"RETRO-MUG": "MUG-MINI"})

    assert exchange.status is ExchangeStatus.DONE
    assert store.orders.get(exchange.replacement_id).status is OrderStatus.OPEN
    ledger = store.refunds.for_order(order_id)
    assert ledger.refund(exchange.difference_refund_id).status is RefundStatus.FAILED
    # What it owes is still the customer's on the ledger, and staff are told.
    assert ledger.refunded_units == TWO_MINI
    assert exchange.id in store.orders.get(order_id).attention


def test_refusals_leave_nothing_behind(store: Store) -> None:
    order_id, return_id = back(store)
    with pytest.raises(UnknownSku) as unknown:
        store.returns.exchange(return_id, {"RETRO-MUG": "MUG-PLAID"})
    assert unknown.value.field == "replacements"
    with pytest.raises(InvalidInput) as stranger:
        store.returns.exchange(return_id, {"RETRO-MUG": "MUG-RED", "RETRO-CLOCK": "MUG-RED"})
    assert stranger.value.field == "replacements"
    with pytest.raises(InvalidInput):
        store.returns.exchange(return_id, {})
    store.inventory.adjust("MUG-RED", "berlin", -4, reason="breakage")
    with pytest.raises(InsufficientStock):
        store.returns.exchange(return_id, {"RETRO-MUG": "MUG-RED"})
    assert held(store, "MUG-RED") == 0
    untouched(store, order_id, return_id)

    # A return not approved yet, or refunded, is not exchanged.
    other = store.returns.request(delivered(store), [line("RETRO-MUG", 1)])
    with pytest.raises(InvalidTransition):
        store.returns.exchange(other.id, {"RETRO-MUG": "MUG-XL"})
    store.returns.approve(other.id)
    store.returns.refund(other.id)
    with pytest.raises(RefundRefused):
        store.returns.exchange(other.id, {"RETRO-MUG": "MUG-XL"})
    # An exchanged return is not cancelled: the replacement stands on its units.
    third = store.returns.request(delivered(store), [line("RETRO-MUG", 1)])
    store.returns.approve(third.id)
    store.returns.exchange(third.id, {"RETRO-MUG": "MUG-XL"}, payment_token="tok_success")
    with pytest.raises(InvalidTransition):
        store.returns.cancel(third.id)


def test_everything_back_gives_back_exactly_what_was_captured(store: Store) -> None:
    order_id = delivered(store)
    asked = store.returns.request(order_id, [line("RETRO-MUG", 3), line("RETRO-CLOCK", 1)])
    store.returns.approve(asked.id)
    store.returns.exchange(asked.id, {"RETRO-MUG": "MUG-MINI", "RETRO-CLOCK": "RETRO-CLOCK"})
    # The shipping comes back last, through the gateway: every unit and the shipping
    # are back, and the ledger gave back exactly what was captured.
    store.refunds.refund_units(order_id, {}, reason="shipping", shipping=True)
    ledger = store.refunds.for_order(order_id)
    captured = store.payments.for_order(order_id).captured_units
    assert ledger.refunded_units == captured
    # What did not pay the replacement went back through the gateway.
    assert store.payments.for_order(order_id).refunded_units == captured - ledger.exchanged_units


def test_a_paid_replacement_cancelled_owes_the_exchange_on_the_original(store: Store) -> None:
    order_id, return_id = back(store)
    exchange = store.returns.exchange(return_id, {"RETRO-MUG": "MUG-RED"})
    store.orders.cancel(exchange.replacement_id, "out of red mugs after all")

    assert store.returns.exchanges_for(order_id)[0].status is ExchangeStatus.CANCELLED
    assert held(store, "MUG-RED") == 0
    ledger = store.refunds.for_order(order_id)
    assert ledger.refunds[0].released_units == TWO_MUGS
    assert ledger.refunded_units == 0
    original = store.orders.get(order_id)
    assert exchange.id in original.attention
    given = store.refunds.goodwill(order_id, Money("28.56", "EUR"), reason="exchange cancelled")
    assert given.to_gateway_units == TWO_MUGS


def test_a_refund_of_the_replacement_is_owed_on_the_original(store: Store) -> None:
    order_id, return_id = back(store)
    exchange = store.returns.exchange(return_id, {"RETRO-MUG": "MUG-RED"})
    ship(store, exchange.replacement_id)
    refund = store.refunds.refund_units(exchange.replacement_id, {"MUG-RED": 1}, reason="broke")
    # Half the replacement: 2856 / 2, paid wholly by the exchange (its payment took 0).
    assert (refund.plan.total_units, refund.to_credit_units) == (1428, 1428)
    ledger = store.refunds.for_order(order_id)
    assert ledger.refunds[0].released_units == 1428
    assert exchange.id in store.orders.get(order_id).attention


def test_a_replacement_awaiting_an_action_completes_once_it_is_paid(store: Store) -> None:
    order_id, return_id = back(store)
    exchange = store.returns.exchange(
        return_id, {"RETRO-MUG": "MUG-XL"}, payment_token="tok_requires_action"
    )
    assert exchange.status is ExchangeStatus.PENDING
    assert store.refunds.for_order(order_id).refunds[0].status is RefundStatus.PENDING
    replacement = store.orders.get(exchange.replacement_id)
    store.payments.confirm(replacement.token)
    (done,) = store.returns.exchanges_for(order_id)
    assert done.status is ExchangeStatus.DONE
    assert store.refunds.for_order(order_id).refunds[0].status is RefundStatus.DONE


def test_a_replacement_never_paid_is_undone_by_the_sweep(store: Store, clock: FixedClock) -> None:
    order_id, return_id = back(store)
    exchange = store.returns.exchange(
        return_id, {"RETRO-MUG": "MUG-XL"}, payment_token="tok_requires_action"
    )
    clock.advance(timedelta(hours=2))
    store.recovery.sweep()
    (undone,) = store.returns.exchanges_for(order_id)
    assert undone.status is ExchangeStatus.UNDONE
    assert store.orders.get(exchange.replacement_id).status is OrderStatus.CANCELLED
    assert store.refunds.for_order(order_id).refunded_units == 0
    assert store.returns.get(return_id).exchange_id == ""
    assert held(store, "MUG-XL") == 0
