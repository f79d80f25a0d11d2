from __future__ import annotations

from datetime import timedelta

import pytest

from commercekit import (
    Money,
)
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import InvalidTransition
from commercekit.domain.orders import OrderPaymentStatus, OrderStatus
from commercekit.domain.payments import (
    GatewayEvent,
    PaymentStatus,
    TransactionKind,
    TransactionStatus,
)
from commercekit.errors import (
    EventOutOfOrder,
    IdempotencyConflict,
    InvalidInput,
    PaymentLimitExceeded,
    WebhookRejected,
)
from commercekit.store import Store

from .conftest import ready_cart
from .test_checkout import gateway, run_together


def paid_order(store: Store, token: str = "tok_success") -> str:
    return store.checkout.place_order(
        ready_cart(store, payment_token=token).token, idempotency_key="k"
    ).id


def test_capture_in_parts_then_refund_in_parts(store: Store) -> None:
    order_id = paid_order(store)
    total = store.orders.get(order_id).totals.grand_total_units
    payment = store.payments.capture(order_id, Money("50.00", "EUR"))
    assert payment.captured_units == 5000
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.PARTIALLY_CAPTURED
    payment = store.payments.capture(order_id)
    assert payment.captured_units == total
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.CAPTURED
    store.payments.refund(order_id, Money("10.00", "EUR"))
    payment = store.payments.refund(order_id, Money("5.00", "EUR"))
    assert payment.refunded_units == 1500
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.PARTIALLY_REFUNDED
    payment = store.payments.refund(order_id)
    assert payment.refunded_units == total
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.REFUNDED


def test_an_operation_key_names_one_operation(store: Store) -> None:
    order_id = paid_order(store)
    ten = Money("10.00", "EUR")
    store.payments.capture(order_id, ten, idempotency_key="K")
    again = store.payments.capture(order_id, ten, idempotency_key="K")  # a retry
    assert again.captured_units == 1000
    for other in (
        lambda: store.payments.refund(order_id, ten, idempotency_key="K"),
        lambda: store.payments.capture(order_id, Money("90.00", "EUR"), idempotency_key="K"),
    ):
        with pytest.raises(IdempotencyConflict):
            other()
    payment = store.payments.for_order(order_id)
    assert (payment.captured_units, payment.refunded_units) == (1000, 0)
    assert len(gateway(store).calls) == len(set(gateway(store).calls))  # no key reused


def test_never_more_than_authorized_nor_refunded_beyond_captured(store: Store) -> None:
    order_id = paid_order(store)
    total = store.orders.get(order_id).totals.grand_total_units
    with pytest.raises(PaymentLimitExceeded) as caught:
        store.payments.capture(order_id, Money("1000.00", "EUR"))
    assert caught.value.available == total
    with pytest.raises(PaymentLimitExceeded):
        store.payments.refund(order_id, Money("0.01", "EUR"))
    store.payments.capture(order_id, Money("20.00", "EUR"))
    with pytest.raises(PaymentLimitExceeded):
        store.payments.refund(order_id, Money("20.01", "EUR"))
    with pytest.raises(InvalidInput) as wrong_currency:
        store.payments.capture(order_id, Money("1", "JPY"))
    assert wrong_currency.value.field == "amount"
    assert store.payments.for_order(order_id).captured_units == 2000
    assert [op for op, _ in gateway(store).calls].count("capture") == 1


def test_void_releases_an_authorization(store: Store) -> None:
    order_id = paid_order(store)
    payment = store.payments.void(order_id)
    assert payment.status is PaymentStatus.VOIDED
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.VOIDED
    with pytest.raises(InvalidTransition):
        store.payments.capture(order_id)


def test_cancelling_an_authorized_order_voids_it(store: Store) -> None:
    order_id = paid_order(store)
    order = store.orders.cancel(order_id, "customer changed their mind")
    assert order.status is OrderStatus.CANCELLED
    assert order.payment_status is OrderPaymentStatus.VOIDED
    assert [entry.action for entry in order.history][-2:] == ["payment", "cancelled"]


def test_cancelling_a_captured_order_refunds_it(store: Store) -> None:
    order_id = paid_order(store)
    store.payments.capture(order_id)
    order = store.orders.cancel(order_id, "out of stock")
    assert order.payment_status is OrderPaymentStatus.REFUNDED
    payment = store.payments.for_order(order_id)
    assert payment.refunded_units == payment.captured_units


def test_a_fulfilled_order_cannot_be_cancelled_and_completes_when_paid(store: Store) -> None:
    order_id = paid_order(store)
    store.orders.record_fulfilment(order_id, {"RETRO-MUG": 2, "RETRO-CLOCK": 1})
    with pytest.raises(InvalidTransition):
        store.orders.cancel(order_id, "too late")
    with pytest.raises(InvalidTransition):
        store.orders.complete(order_id)  # not captured yet
    store.payments.capture(order_id)
    assert store.orders.complete(order_id).status is OrderStatus.COMPLETED


# --- webhooks ------------------------------------------------------------------------


def webhook(store: Store, events: list[GatewayEvent]) -> tuple[bytes, str]:
    """The gateway's webhook, sent at the store's time (the gateway keeps real time)."""
    return gateway(store).webhook(events, sent_at=store.runtime.clock.now())


def pending_action(store: Store) -> tuple[str, str]:
    order_id = paid_order(store, "tok_requires_action")
    reference = store.payments.for_order(order_id).reference
    assert reference is not None
    return order_id, reference


def test_a_webhook_completes_a_payment_that_required_action(store: Store) -> None:
    order_id, reference = pending_action(store)
    event = gateway(store).complete_action_at_gateway(reference)
    body, signature = webhook(store, [event])
    result = store.payments.handle_webhook("test", body, signature)
    assert (result.applied, result.duplicates) == (1, 0)
    assert store.orders.get(order_id).status is OrderStatus.OPEN


def test_a_webhook_delivered_twice_is_applied_once(store: Store) -> None:
    order_id, reference = pending_action(store)
    body, signature = webhook(store, [gateway(store).complete_action_at_gateway(reference)])
    store.payments.handle_webhook("test", body, signature)
    again = store.payments.handle_webhook("test", body, signature)
    assert (again.applied, again.duplicates) == (0, 1)
    payment = store.payments.for_order(order_id)
    assert len([t for t in payment.transactions if t.status is TransactionStatus.SUCCEEDED]) == 1


def test_a_webhook_and_the_customers_confirmation_at_once_apply_once(store: Store) -> None:
    order_id, reference = pending_action(store)
    order = store.orders.get(order_id)
    body, signature = webhook(store, [gateway(store).complete_action_at_gateway(reference)])
    run_together(
        lambda: store.payments.handle_webhook("test", body, signature),
        lambda: store.payments.confirm(order.token),
    )
    payment = store.payments.for_order(order_id)
    assert payment.authorized_units == payment.amount_units
    assert len([t for t in payment.transactions if t.status is TransactionStatus.SUCCEEDED]) == 1
    assert store.orders.get(order_id).status is OrderStatus.OPEN


def test_a_forged_webhook_is_rejected_and_applies_nothing(store: Store) -> None:
    order_id, reference = pending_action(store)
    body, signature = webhook(store, [gateway(store).complete_action_at_gateway(reference)])
    tampered = body.replace(b'"succeeded"', b'"failed"')
    for payload, header in (
        (tampered, signature),
        (body, signature.replace("v1=", "v1=0")),
        (body, ""),
        (body, "t=abc,v1=00"),
    ):
        with pytest.raises(WebhookRejected) as caught:
            store.payments.handle_webhook("test", payload, header)
        assert caught.value.code == "webhook_rejected"
    assert store.orders.get(order_id).status is OrderStatus.PENDING_PAYMENT


def test_a_stale_webhook_is_rejected(store: Store, clock: FixedClock) -> None:
    order_id, reference = pending_action(store)
    body, signature = webhook(store, [gateway(store).complete_action_at_gateway(reference)])
    clock.advance(timedelta(minutes=6))
    with pytest.raises(WebhookRejected):
        store.payments.handle_webhook("test", body, signature)
    assert store.orders.get(order_id).status is OrderStatus.PENDING_PAYMENT


def test_events_out_of_order_wait_for_redelivery(store: Store, clock: FixedClock) -> None:
    order_id = paid_order(store)
    payment = store.payments.for_order(order_id)
    assert payment.reference is not None
    refund = GatewayEvent(
        transaction_id="txn_refund_early",
        payment_reference=payment.reference,
        kind=TransactionKind.REFUND,
        status=TransactionStatus.SUCCEEDED,
        amount_units=500,
        currency="EUR",
        occurred_at=clock.now(),
    )
    capture = GatewayEvent(
        transaction_id="txn_capture_late",
        payment_reference=payment.reference,
        kind=TransactionKind.CAPTURE,
        status=TransactionStatus.SUCCEEDED,
        amount_units=payment.amount_units,
        currency="EUR",
        occurred_at=clock.now(),
    )
    body, signature = webhook(store, [refund])
    with pytest.raises(EventOutOfOrder):
        store.payments.handle_webhook("test", body, signature)
    store.payments.handle_webhook("test", *webhook(store, [capture]))
    result = store.payments.handle_webhook("test", body, signature)  # the redelivery
    assert result.applied == 1
    payment = store.payments.for_order(order_id)
    assert (payment.captured_units, payment.refunded_units) == (payment.amount_units, 500)
    assert store.orders.get(order_id).payment_status is OrderPaymentStatus.PARTIALLY_REFUNDED


def test_a_webhook_for_a_payment_not_recorded_yet_is_retried_later(
    store: Store, clock: FixedClock
) -> None:
    unknown = GatewayEvent(
        transaction_id="txn_x",
        payment_reference="pay_unknown",
        kind=TransactionKind.AUTHORIZE,
        status=TransactionStatus.SUCCEEDED,
        amount_units=100,
        currency="EUR",
        occurred_at=clock.now(),
    )
    with pytest.raises(EventOutOfOrder):
        store.payments.handle_webhook("test", *webhook(store, [unknown]))


def test_money_for_a_cancelled_order_is_given_back_even_if_the_first_try_fails(
    store: Store,
) -> None:
    from commercekit.errors import GatewayError

    order_id, reference = pending_action(store)
    store.orders.cancel(order_id, "customer gave up")
    real = gateway(store)
    attempts: list[str] = []

    class VoidFailsOnce(type(real)):  # type: ignore[misc]
        __test__ = False

        def __init__(self) -> None:
            self.__dict__.update(real.__dict__)

        def void(self, reference, idempotency_key):  # type: ignore[no-untyped-def]
            attempts.append(idempotency_key)
            if len(attempts) == 1:
                raise GatewayError("the gateway timed out")
            return super().void(reference, idempotency_key)

    store.gateways["test"] = VoidFailsOnce()
    # The customer finishes the payment at the gateway after the order was cancelled.
    result = store.payments.handle_webhook(
        "test", *webhook(store, [real.complete_action_at_gateway(reference)])
    )
    assert result.applied == 1
    assert store.payments.for_order(order_id).status is PaymentStatus.AUTHORIZED
    assert attempts == []  # settling a webhook never calls the gateway
    report = store.recovery.sweep()  # the first try times out; nothing is flagged
    assert [failed for failed, _ in report.failed] == [order_id]
    assert not store.orders.get(order_id).attention
    assert store.recovery.recover_pending_checkouts() == [order_id]
    assert len(attempts) == 2
    assert store.payments.for_order(order_id).status is PaymentStatus.VOIDED
    assert store.orders.get(order_id).status is OrderStatus.CANCELLED
    assert store.recovery.recover_pending_checkouts() == []


def test_cancelling_a_partly_captured_order_releases_the_rest_and_refunds_the_part(
    store: Store,
) -> None:
    order_id = paid_order(store)
    store.payments.capture(order_id, Money("20.00", "EUR"))
    order = store.orders.cancel(order_id, "the rest is out of stock")
    payment = store.payments.for_order(order_id)
    assert order.status is OrderStatus.CANCELLED
    assert payment.voided
    assert payment.capturable_units == 0
    assert (payment.captured_units, payment.refunded_units) == (2000, 2000)
    assert order.payment_status is OrderPaymentStatus.REFUNDED
    assert [op for op, _ in gateway(store).calls][-2:] == ["void", "refund"]
