"""Payments: settling gateway answers, capture, void, refund, confirmation, webhooks,
and recovering orders whose payment outcome was never recorded.

A gateway is never called inside a database transaction. Every gateway fact, from
our own call, from the customer's confirmation or from a webhook, enters through
one function, :meth:`PaymentService.settle`, which applies it to the payment's
ledger once and brings the order along.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import attrs
import moneyed

from commercekit.domain.errors import (
    EventOutOfOrder,
    GatewayError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PaymentDeclined,
)
from commercekit.domain.money import minor_units
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.payments import (
    GatewayEvent,
    Payment,
    PaymentStatus,
    TransactionStatus,
)
from commercekit.ports.payments import PaymentRequest
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Service
from commercekit.services.holds import (
    cancel_unpaid,
    keep_until_shipped,
    wait_for_action,
)

__all__ = [
    "PaymentService",
    "WebhookResult",
    "authorization_key",
]


def authorization_key(order_id: str) -> str:
    """The idempotency key of an order's authorization: the same in the first call,
    a retry, and recovery after a crash, so the gateway answers them all alike."""
    return f"{order_id}:authorize"


@attrs.frozen
class WebhookResult:
    """What a webhook delivery did."""

    applied: int
    """Events that changed a ledger."""
    duplicates: int
    """Events already applied (by an earlier delivery or another path)."""


class PaymentService(Service):
    """Everything that moves a payment along."""

    # --- the one way in for gateway facts ---------------------------------------------

    def settle(self, payment_id: str, event: GatewayEvent, *, actor: str) -> tuple[Order, bool]:
        """Apply a gateway event to a payment's ledger, once, and bring the order along.

        Runs again if another writer changed the payment meanwhile, so two paths
        reporting the same fact at the same moment still apply it once.

        :returns: the order, and whether the event changed anything.
        """

        def work(uow: UnitOfWork) -> tuple[Order, bool]:
            payment = uow.payments.get(payment_id)
            order = uow.orders.get(payment.order_id)
            changed = payment.apply(event)
            if changed:
                self._follow(uow, order, payment, actor, event)
                uow.payments.save(payment)
                uow.orders.save(order)
            return order, changed

        order, changed = self._run(work)
        if changed and order.status is OrderStatus.CANCELLED:
            # The fact is recorded either way; if the gateway cannot give the money
            # back now, recover_pending_checkouts() tries again.
            with contextlib.suppress(GatewayError, PaymentDeclined):
                self._give_back(order)
        return order, changed

    def _give_back(self, order: Order) -> None:
        """A payment that went through for an order already cancelled (its stock
        hold expired meanwhile, say) is voided or refunded at once: no money is kept
        for an order that will not ship."""
        payment = self.for_order(order.id)
        if payment.capturable_units:
            payment = self.void(order.id, actor="system")
        if payment.refundable_units:
            self.refund(order.id, actor="system")

    def _follow(
        self, uow: UnitOfWork, order: Order, payment: Payment, actor: str, event: GatewayEvent
    ) -> None:
        """Bring the order in line with its payment."""
        now = self.now
        if payment.status is PaymentStatus.FAILED:
            cancel_unpaid(
                uow, order, f"payment failed: {event.detail or 'declined'}", actor=actor, at=now
            )
            return
        was_pending = order.status is OrderStatus.PENDING_PAYMENT
        order.payment_changed(payment.status, at=now, actor=actor)
        if payment.status is PaymentStatus.REQUIRES_ACTION:
            # The customer has until the action times out; the stock waits as long.
            until = now + timedelta(seconds=self._rt.settings.action_timeout_seconds)
            wait_for_action(uow, order, until=until)
        if was_pending and order.status is OrderStatus.OPEN:
            # Paid: the stock stays held until the order ships or is cancelled, and
            # the cart that became this order is done with.
            keep_until_shipped(uow, order)
            with contextlib.suppress(NotFound):
                uow.carts.remove(uow.carts.get(order.cart_id))

    def for_order(self, order_id: str) -> Payment:
        """The payment of an order.

        :raises NotFound: if the order has none.
        """
        payment = self._payment_of(order_id)
        if payment is None:
            raise NotFound("payment for order", order_id, field="order_id")
        return payment

    def _payment_of(self, order_id: str) -> Payment | None:
        return self._read(lambda uow: uow.payments.for_order(order_id))

    # --- operations staff or the store start ------------------------------------------

    def _units(self, payment: Payment, amount: moneyed.Money | None, default: int) -> int:
        if amount is None:
            return default
        if str(amount.currency.code) != payment.currency:
            raise InvalidInput(
                f"amount in {amount.currency.code} for a payment in {payment.currency}",
                field="amount",
            )
        return minor_units(amount)

    def _move(
        self,
        action: str,
        order_id: str,
        amount: moneyed.Money | None,
        idempotency_key: str | None,
        actor: str,
    ) -> Payment:
        """Capture or refund through the gateway, then settle its answer."""
        payment = self.for_order(order_id)
        capturing = action == "capture"
        if capturing:
            state = self._read(lambda uow: uow.orders.get(order_id).status)
            if state is OrderStatus.CANCELLED:
                raise InvalidTransition("order", state.value, "capture the payment of")
        default = payment.capturable_units if capturing else payment.refundable_units
        units = self._units(payment, amount, default)
        (payment.check_capture if capturing else payment.check_refund)(units)
        key = idempotency_key or f"{payment.id}:{action}:{len(payment.transactions)}"
        gateway = self._rt.gateway(payment.gateway)
        call = gateway.capture if capturing else gateway.refund
        event = call(str(payment.reference), units, payment.currency, key)
        return self._after_call(payment, event, action, actor)

    def _after_call(
        self, payment: Payment, event: GatewayEvent, action: str, actor: str
    ) -> Payment:
        self.settle(payment.id, event, actor=actor)
        if event.status is TransactionStatus.FAILED:
            raise PaymentDeclined(action, event.detail or "declined")
        return self.for_order(payment.order_id)

    def capture(
        self,
        order_id: str,
        amount: moneyed.Money | None = None,
        *,
        idempotency_key: str | None = None,
        actor: str = "staff",
    ) -> Payment:
        """Capture part or all of what is authorized (all when ``amount`` is None).

        :raises PaymentLimitExceeded: beyond what is authorized and not captured.
        :raises PaymentDeclined: if the gateway refuses.
        """
        return self._move("capture", order_id, amount, idempotency_key, actor)

    def refund(
        self,
        order_id: str,
        amount: moneyed.Money | None = None,
        *,
        idempotency_key: str | None = None,
        actor: str = "staff",
    ) -> Payment:
        """Refund part or all of what was captured (all when ``amount`` is None).

        :raises PaymentLimitExceeded: beyond what was captured and not refunded.
        :raises PaymentDeclined: if the gateway refuses.
        """
        return self._move("refund", order_id, amount, idempotency_key, actor)

    def void(self, order_id: str, *, actor: str = "staff") -> Payment:
        """Release what is authorized and not captured (all of it, or the rest after a
        partial capture); nothing more can be captured afterwards.

        :raises InvalidTransition: if nothing is left to release.
        """
        payment = self.for_order(order_id)
        payment.check_void()
        event = self._rt.gateway(payment.gateway).void(str(payment.reference), f"{payment.id}:void")
        return self._after_call(payment, event, "void", actor)

    def confirm(self, order_token: str) -> Order:
        """The customer completed the action their payment required (3-D Secure...).

        :raises NotFound: for an unknown order token.
        :raises InvalidTransition: if the payment does not await an action.
        """

        def find(uow: UnitOfWork) -> tuple[Order, Payment | None]:
            order = uow.orders.find_by_token(order_token) if order_token else None
            if order is None:
                raise NotFound("order", "for this token", field="token")
            return order, uow.payments.for_order(order.id)

        _, payment = self._read(find)
        if payment is None or payment.status is not PaymentStatus.REQUIRES_ACTION:
            state = "missing" if payment is None else payment.status.value
            raise InvalidTransition("payment", state, "confirm")
        event = self._rt.gateway(payment.gateway).confirm(
            str(payment.reference), f"{payment.id}:confirm"
        )
        settled, _ = self.settle(payment.id, event, actor="customer")
        return settled

    # --- webhooks ----------------------------------------------------------------------

    def handle_webhook(self, gateway: str, payload: bytes, signature: str) -> WebhookResult:
        """Verify a gateway's webhook and apply its events, each once.

        :raises WebhookRejected: for a forged, stale or malformed webhook (nothing is
            applied).
        :raises EventOutOfOrder: for an event about a payment not recorded yet, or a
            refund before its capture; answer the gateway with a retryable status so
            that it delivers the webhook again.
        """
        events = self._rt.gateway(gateway).parse_webhook(payload, signature, self.now)
        applied = duplicates = 0
        for event in events:
            payment = self._by_reference(gateway, event.payment_reference)
            if payment is None:
                raise EventOutOfOrder(
                    f"no payment {event.payment_reference!r} recorded yet",
                    field="payment_reference",
                )
            _, changed = self.settle(payment.id, event, actor=f"gateway:{gateway}")
            if changed:
                applied += 1
            else:
                duplicates += 1
        return WebhookResult(applied=applied, duplicates=duplicates)

    def _by_reference(self, gateway: str, reference: str) -> Payment | None:
        return self._read(lambda uow: uow.payments.find_by_reference(gateway, reference))

    # --- recovery ----------------------------------------------------------------------

    def authorize(self, order: Order, payment: Payment, payment_token: str) -> Order:
        """Ask the gateway to authorize (or capture) an order's payment, then settle.

        :raises GatewayError: when the outcome is unknown; the order stays pending
            for a retry with the same key, or for recovery.
        """
        request = PaymentRequest(
            payment_id=payment.id,
            order_id=order.id,
            amount_units=payment.amount_units,
            currency=payment.currency,
            payment_token=payment_token,
            idempotency_key=authorization_key(order.id),
            capture=self._rt.settings.capture_immediately,
            email=order.email,
        )
        event = self._rt.gateway(payment.gateway).authorize(request)
        settled, _ = self.settle(payment.id, event, actor="customer")
        return settled

    def recover_pending_checkouts(self, older_than: timedelta | None = None) -> list[str]:
        """Settle orders still waiting for their payment's outcome.

        A cancelled order whose payment still holds money (its void or refund failed
        when it was cancelled) is given back first. For an order whose authorization
        outcome was never recorded (the process died between writing the order and
        hearing from the gateway), the gateway is asked
        what became of the same idempotency key: its answer is settled, and an order
        the gateway never heard of is cancelled with everything it held released.
        An order whose payment awaits the customer's action is cancelled once the
        action timeout has passed.

        :returns: ids of the orders settled or cancelled.
        """
        settings = self._rt.settings
        now = self.now
        cutoff = now - (
            older_than
            if older_than is not None
            else timedelta(seconds=settings.pending_payment_timeout_seconds)
        )
        pending = self._read(lambda uow: uow.orders.pending_payment(cutoff))
        holding = self._read(lambda uow: uow.orders.cancelled_holding_money())
        handled: list[str] = []
        for order in holding:
            # A give-back that failed when the order was cancelled is tried again.
            try:
                self._give_back(order)
            except GatewayError:
                continue
            handled.append(order.id)
        for order in pending:
            payment = self._payment_of(order.id)
            if payment is None:
                continue
            if payment.status is PaymentStatus.PENDING:
                try:
                    event = self._rt.gateway(payment.gateway).find(authorization_key(order.id))
                except GatewayError:
                    continue
                if event is None:
                    self._cancel_pending(order.id, "the gateway never received the payment")
                else:
                    self.settle(payment.id, event, actor="system:recovery")
                handled.append(order.id)
            elif (
                payment.status is PaymentStatus.REQUIRES_ACTION
                and order.placed_at < now - timedelta(seconds=settings.action_timeout_seconds)
            ):
                self._cancel_pending(order.id, "the payment's required action was not completed")
                handled.append(order.id)
        return handled

    def settle_from_gateway(self, order: Order) -> bool:
        """Ask the gateway what became of an order's authorization and settle it.

        :returns: whether the gateway knew the call (and its answer was settled);
            ``False`` when it never received it.
        :raises GatewayError: when the gateway cannot say.
        """
        payment = self.for_order(order.id)
        event = self._rt.gateway(payment.gateway).find(authorization_key(order.id))
        if event is None:
            return False
        self.settle(payment.id, event, actor="system:recovery")
        return True

    def _cancel_pending(self, order_id: str, reason: str) -> None:
        self._run(
            lambda uow: cancel_unpaid(
                uow, uow.orders.get(order_id), reason, actor="system:recovery", at=self.now
            )
        )
