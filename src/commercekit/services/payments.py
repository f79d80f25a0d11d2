"""Payments: settling gateway answers, capture, void, refund, confirmation, webhooks,
and giving money back.

A gateway is never called inside a database transaction, and money moves in three
steps: the intent is recorded on the payment in its own transaction (what it takes
is counted against the ledger with every other operation under way, and it gets a
key of its own), then the gateway is called with that key, then its answer is
settled. Every gateway fact, from our own call, from the customer's confirmation or
from a webhook, enters through one function, :meth:`PaymentService.settle`, which
applies it to the payment's ledger once and brings the order along.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Final

import attrs
import moneyed

from commercekit.domain._validators import require_instance
from commercekit.domain.errors import (
    CommerceError,
    EventOutOfOrder,
    GatewayError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PaymentDeclined,
    RequestInProgress,
    UnknownGateway,
    UnsupportedByGateway,
    shown,
)
from commercekit.domain.identifiers import check_key
from commercekit.domain.money import minor_units
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.payments import (
    GatewayEvent,
    Intent,
    Payment,
    PaymentStatus,
    TransactionKind,
    TransactionStatus,
    authorization_key,
)
from commercekit.ports.payments import IncrementalAuthorization, PaymentGateway, PaymentRequest
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Service
from commercekit.services.holds import cancel_unpaid, keep_until_shipped, wait_for_action

__all__ = ["PaymentService", "WebhookResult", "authorization_key"]


@attrs.frozen
class WebhookResult:
    """What a webhook delivery did."""

    applied: int
    """Events that changed a ledger."""
    duplicates: int
    """Events already applied (by an earlier delivery or another path)."""


#: How often a write of one payment (an operation begun, claimed, let go, answered)
#: is tried again after losing a race: each is small, and several operations of one
#: order at once (refunds of its lines) collide on its payment.
_ATTEMPTS: Final = 20


def _operation(gateway: PaymentGateway, payment: Payment, intent: Intent) -> GatewayEvent:
    """Ask ``gateway`` for the capture, refund or void ``intent`` records."""
    reference = str(payment.reference)
    if intent.kind is TransactionKind.CAPTURE:
        return gateway.capture(reference, intent.amount_units, payment.currency, intent.key)
    if intent.kind is TransactionKind.REFUND:
        return gateway.refund(reference, intent.amount_units, payment.currency, intent.key)
    if intent.kind is TransactionKind.VOID:
        return gateway.void(reference, intent.key)
    if intent.kind is TransactionKind.INCREMENT:
        if not isinstance(gateway, IncrementalAuthorization):
            raise UnsupportedByGateway(gateway.name, "authorizing more on a payment")
        return gateway.increment_authorization(
            reference, intent.amount_units, payment.currency, intent.key
        )
    raise InvalidInput("an authorization is asked for as the order is placed", field="kind")


def _may_capture(order: Order) -> None:
    if order.status is not OrderStatus.OPEN:
        raise InvalidTransition("order", order.status.value, "capture the payment of")


def _any_state(order: Order) -> None:
    return None


class PaymentService(Service):
    """Everything that moves a payment along."""

    # --- the one way in for gateway facts ---------------------------------------------

    def settle(
        self, payment_id: str, event: GatewayEvent, *, actor: str, intent_id: str = ""
    ) -> tuple[Order, bool]:
        """Apply a gateway event to a payment's ledger, once, and bring the order along.

        Runs again if another writer changed the payment meanwhile, so two paths
        reporting the same fact at the same moment still apply it once. Settling calls
        the gateway only to release an authorization that this very event reported
        and that is too small to pay for the order; any other money a cancelled order
        still holds is given back by the cancellation and by the sweep, so that a
        refusal to give it back never sets off another attempt.

        :param intent_id: the operation of ours the event answers; it is no longer
            under way once settled.
        :returns: the order, and whether the event changed anything.
        """
        check_key(payment_id, "payment_id")
        require_instance(event, GatewayEvent, "a GatewayEvent", field="event")
        check_key(actor, "actor")
        check_key(intent_id, "intent_id")
        return self._settle(payment_id, event, actor=actor, intent_id=intent_id)

    def _settle(
        self,
        payment_id: str,
        event: GatewayEvent,
        *,
        actor: str,
        intent_id: str,
        known: tuple[Order, Payment] | None = None,
    ) -> tuple[Order, bool]:
        """:meth:`settle`, its arguments checked.

        :param known: the order and its payment exactly as this caller committed
            them, settled without reading them again (read afresh if another writer
            changed either meanwhile).
        """
        unread = [known] if known is not None and known[1].id == payment_id else []

        def work(uow: UnitOfWork) -> tuple[Order, bool, bool]:
            if unread:
                # First try only: a lost race reads both afresh.
                order, payment = unread.pop()
                uow.orders.adopt(order)
                uow.payments.adopt(payment)
            else:
                payment = uow.payments.get(payment_id)
                order = uow.orders.get(payment.order_id)
            changed = payment.apply(event, intent_id=intent_id)
            refused_short = False
            if changed:
                refused_short = self._follow(uow, order, payment, actor, event)
                uow.payments.save(payment)
                uow.orders.save(order)
            return order, changed, refused_short

        order, changed, refused_short = self._run(work, attempts=_ATTEMPTS)
        if refused_short:
            # The authorization this event reported was too small to pay for the
            # order: it is released now, once. Answers to that release settle here
            # too, but cancel nothing, so a refusal is flagged, not tried again.
            with contextlib.suppress(CommerceError):
                self.give_back(order.id, actor="system")
        return order, changed

    def _follow(
        self, uow: UnitOfWork, order: Order, payment: Payment, actor: str, event: GatewayEvent
    ) -> bool:
        """Bring the order in line with its payment.

        :returns: whether the order was cancelled because what was authorized does
            not cover the amount due (so that it is released).
        """
        now = self.now
        if payment.status is PaymentStatus.FAILED:
            cancel_unpaid(
                uow, order, f"payment failed: {event.detail or 'declined'}", actor=actor, at=now
            )
            return False
        was_pending = order.status is OrderStatus.PENDING_PAYMENT
        order.follow(payment, at=now, actor=actor)
        if was_pending and payment.authorized_short:
            # Less than the amount due was authorized: the order cannot open, and what
            # was authorized is given back (by settle, once this is written).
            due, got = payment.amount_units, payment.authorized_units
            reason = f"the authorization ({got}) does not cover the amount due ({due})"
            cancel_unpaid(uow, order, reason, actor=actor, at=now)
            return True
        if payment.status is PaymentStatus.REQUIRES_ACTION:
            # The customer has until the gateway's session for the action ends; the
            # stock and any coupon uses wait as long, and no longer.
            until = now + timedelta(seconds=self._rt.settings.action_timeout_seconds)
            wait_for_action(uow, order, until=until)
        if was_pending and order.status is OrderStatus.OPEN:
            # Paid: the stock stays held until the order ships or is cancelled, and
            # the cart that became this order is done with.
            keep_until_shipped(uow, order)
            uow.carts.discard(order.cart_id)
        return False

    def for_order(self, order_id: str) -> Payment:
        """The payment of an order.

        :raises NotFound: if the order has none.
        """
        payment = self.find_for_order(order_id)
        if payment is None:
            raise NotFound("payment for order", order_id, field="order_id")
        return payment

    def find_for_order(self, order_id: str) -> Payment | None:
        """The payment of an order, if it has one."""
        check_key(order_id, "order_id")
        return self._read(lambda uow: uow.payments.for_order(order_id))

    # --- operations staff or the store start ------------------------------------------

    def _units(self, payment: Payment, amount: moneyed.Money | None) -> int | None:
        if amount is None:
            return None
        if not isinstance(amount, moneyed.Money):
            raise InvalidInput(f"expected Money, got {type(amount).__name__}", field="amount")
        if str(amount.currency.code) != payment.currency:
            raise InvalidInput(
                f"amount in {amount.currency.code} for a payment in {payment.currency}",
                field="amount",
            )
        return minor_units(amount)

    def begin(
        self,
        order_id: str,
        kind: TransactionKind,
        amount: moneyed.Money | None = None,
        *,
        operation_id: str | None = None,
        actor: str,
        allowed: Callable[[Order], None] = _any_state,
    ) -> Intent | None:
        """Record the intent of a capture, void or refund on the payment, in a
        transaction of its own, before the gateway hears of it.

        :returns: the intent, or ``None`` when an operation with this id was answered
            already (a retry after the answer was settled).
        :raises IdempotencyConflict: for an id that names another operation.
        """
        check_key(order_id, "order_id")
        require_instance(kind, TransactionKind, "a TransactionKind", field="kind")
        if amount is not None:
            require_instance(amount, moneyed.Money, "Money", field="amount")
        if operation_id is not None:
            check_key(operation_id, "idempotency_key")
        check_key(actor, "actor")
        op_id = operation_id or self._rt.ids.new_id("op")

        def work(uow: UnitOfWork) -> Intent | None:
            payment = uow.payments.for_order(order_id)
            if payment is None:
                raise NotFound("payment for order", order_id, field="order_id")
            units = self._units(payment, amount)
            if payment.answered(op_id, kind, units) is not None:
                return None
            allowed(uow.orders.get(order_id))
            intent = payment.begin(kind, units, id=op_id, at=self.now, actor=actor)
            uow.payments.save(payment)
            return intent

        return self._run(work, attempts=_ATTEMPTS)

    # --- one gateway call per operation, however many callers ------------------------

    def _claim(
        self, order_id: str, intent_id: str, holder: str, starts: PaymentStatus | None
    ) -> tuple[Payment, Intent] | None:
        """Take the operation ``intent_id`` for ``holder`` to ask the gateway.

        :param starts: for the authorization, the payment's state in which it is
            recorded as it is taken when it is not under way yet (pending: the
            authorization itself; requires action: its confirmation).
        :returns: the payment and the operation, or ``None`` when it is no longer under
            way (answered, by this or another caller or a webhook).
        :raises RequestInProgress: while another caller holds it.
        """
        lease = timedelta(seconds=self._rt.settings.request_lease_seconds)

        def work(uow: UnitOfWork) -> tuple[Payment, Intent] | None:
            payment = uow.payments.for_order(order_id)
            if payment is None:
                raise NotFound("payment for order", order_id, field="order_id")
            version, now = payment.version, self.now
            if payment.intent(intent_id) is not None:
                intent = payment.claim(intent_id, holder, at=now, lease=lease)
            elif starts is not None and payment.status is starts:
                intent = payment.ask_authorization(at=now, holder=holder, lease=lease)
            else:
                return None
            if payment.version != version:
                uow.payments.save(payment)
            return payment, intent

        # Waiting callers look before they try to take it, so that they read, not write.
        payment = self._read(lambda uow: uow.payments.for_order(order_id))
        if payment is not None:
            found = payment.intent(intent_id)
            if found is not None and found.held_by_other(holder, self.now):
                raise RequestInProgress()
        return self._run(work, attempts=_ATTEMPTS)

    def _let_go(self, payment_id: str, intent_id: str, holder: str) -> None:
        def work(uow: UnitOfWork) -> None:
            payment = uow.payments.get(payment_id)
            if payment.let_go(intent_id, holder):
                uow.payments.save(payment)

        self._run(work, attempts=_ATTEMPTS)

    def _ask_once(
        self,
        order_id: str,
        intent_id: str,
        call: Callable[[PaymentGateway, Payment, Intent], GatewayEvent | None],
        *,
        actor: str,
        holder: str | None = None,
        wait: bool = True,
        held: tuple[Payment, Intent] | None = None,
        order: Order | None = None,
        starts: PaymentStatus | None = None,
    ) -> Order | None:
        """Ask the gateway for an operation under way once, however many callers ask
        for it at the same moment: the one that takes it calls ``call`` and settles the
        answer; the others wait (a bounded time) until it is answered, or take it over
        once the holder's claim ran out (the holder stopped midway).

        :param call: asks the gateway; ``None`` when there is nothing to settle.
        :param wait: whether to wait for another caller that holds it (the sweep
            does not: it comes back later).
        :param held: the payment and the operation as this caller wrote them, held
            by ``holder`` (nothing to take then).
        :param order: with ``held``, the order as this caller wrote it in the same
            transaction: the answer is settled on both without reading them again.
        :param starts: see :meth:`_claim`.
        :returns: the order as this caller settled it, or ``None`` when it settled
            nothing (another caller or a webhook did, or ``call`` had no answer).
        :raises RequestInProgress: when another caller still holds it after the wait.
        :raises GatewayError: when the outcome is unknown: the operation stays under
            way, free for a retry with the same key or for the sweep.
        """
        holder = holder or self._rt.ids.new_id("call")
        deadline = time.monotonic() + self._rt.settings.request_wait_seconds
        pause = 0.005
        while True:
            try:
                claimed = held or self._claim(order_id, intent_id, holder, starts)
            except RequestInProgress:
                if not wait or time.monotonic() >= deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
                continue
            if claimed is None:
                return None
            payment, intent = claimed
            try:
                event = call(self._rt.gateway(payment.gateway), payment, intent)
                if event is None:
                    return None
                known = None if held is None or order is None else (order, payment)
                settled, _ = self._settle(
                    payment.id, event, actor=actor, intent_id=intent.id, known=known
                )
            except Exception:
                # Whatever went wrong, another caller may ask at once (a process that
                # dies here keeps it only until its lease runs out).
                self._let_go(payment.id, intent.id, holder)
                raise
            return settled

    def carry_out(self, order_id: str, intent: Intent, *, actor: str) -> None:
        """Ask the gateway for an operation whose intent is recorded, under its own key,
        once, and settle the answer.

        :raises GatewayError: when the outcome is unknown: the intent stays, and the
            same call with the same key is tried again (by a retry or the sweep).
        :raises RequestInProgress: while another caller is asking for it.
        """
        check_key(order_id, "order_id")
        require_instance(intent, Intent, "an Intent", field="intent")
        check_key(actor, "actor")
        self._ask_once(order_id, intent.id, _operation, actor=actor)

    def _operate(
        self,
        kind: TransactionKind,
        order_id: str,
        amount: moneyed.Money | None,
        idempotency_key: str | None,
        actor: str,
        allowed: Callable[[Order], None] = _any_state,
    ) -> Payment:
        intent = self.begin(
            order_id, kind, amount, operation_id=idempotency_key, actor=actor, allowed=allowed
        )
        if intent is not None:
            self.carry_out(order_id, intent, actor=actor)
        payment = self.for_order(order_id)
        # Whoever asked the gateway, every caller of the operation hears its answer,
        # and so does a replay of it.
        operation = intent.id if intent is not None else idempotency_key
        answer = payment.answered(operation, kind) if operation else None
        if answer is not None and answer.status is TransactionStatus.FAILED:
            raise PaymentDeclined(kind.value, answer.detail or "declined")
        return payment

    def capture(
        self,
        order_id: str,
        amount: moneyed.Money | None = None,
        *,
        idempotency_key: str | None = None,
        actor: str = "staff",
    ) -> Payment:
        """Capture part or all of what is authorized (all that is due when ``amount``
        is None; what stands authorized beyond it, after an edit made the order cost
        less, is released then).

        Two captures at once each count what the other takes: together they never
        take more than was authorized. The same ``idempotency_key`` again is the same
        capture, never a second one.

        :raises PaymentLimitExceeded: beyond what is authorized and not captured.
        :raises InvalidTransition: unless the order is open (paid, not being cancelled).
        :raises OperationInProgress: while a void is under way.
        :raises PaymentDeclined: if the gateway refuses.
        """
        payment = self._operate(
            TransactionKind.CAPTURE, order_id, amount, idempotency_key, actor, _may_capture
        )
        taken = payment.captured_units >= payment.amount_units
        if amount is None and taken and payment.capturable_units and not payment.intents:
            # Everything due is taken (an edit made it less than was authorized): what
            # stands authorized beyond it is released.
            payment = self._operate(TransactionKind.VOID, order_id, None, None, actor)
        return payment

    def refund(
        self,
        order_id: str,
        amount: moneyed.Money | None = None,
        *,
        idempotency_key: str | None = None,
        actor: str = "staff",
    ) -> Payment:
        """Refund part or all of what was captured (all when ``amount`` is None).

        Two refunds at once each count what the other gives back: together they never
        give back more than was captured.

        :raises PaymentLimitExceeded: beyond what was captured and not refunded.
        :raises PaymentDeclined: if the gateway refuses.
        """
        return self._operate(TransactionKind.REFUND, order_id, amount, idempotency_key, actor)

    def _authorize_more(
        self,
        order_id: str,
        amount: moneyed.Money,
        *,
        idempotency_key: str | None = None,
        actor: str = "staff",
    ) -> Payment:
        """Authorize ``amount`` more on the order's standing authorization (its order
        was edited to cost more; the amount due grows with the edit), through a
        gateway that can (``increment_authorization``). The same ``idempotency_key``
        again is the same request.

        :raises UnsupportedByGateway: for a gateway that cannot (nothing is asked).
        :raises InvalidTransition: for a payment not authorized, or voided.
        :raises PaymentDeclined: if the gateway refuses.
        """
        check_key(order_id, "order_id")
        payment = self.for_order(order_id)
        gateway = self._rt.gateway(payment.gateway)
        if not isinstance(gateway, IncrementalAuthorization):
            raise UnsupportedByGateway(gateway.name, "authorizing more on a payment")
        return self._operate(TransactionKind.INCREMENT, order_id, amount, idempotency_key, actor)

    def void(self, order_id: str, *, actor: str = "staff") -> Payment:
        """Release what is authorized and not captured (all of it, or the rest after a
        partial capture); nothing more can be captured afterwards.

        :raises InvalidTransition: if nothing is left to release.
        :raises OperationInProgress: while a capture is under way.
        """
        return self._operate(TransactionKind.VOID, order_id, None, None, actor)

    def give_back(self, order_id: str, *, actor: str) -> list[str]:
        """Release whatever the payment still holds: void an authorization standing,
        refund what was captured. Each is its own intent; a refusal is recorded and
        flags the order for staff, and is not tried again on its own.

        :returns: what could not be given back, in words (empty when all was).
        :raises GatewayError: when the gateway could not be reached (the intents stay,
            for a retry or the sweep).
        """
        check_key(actor, "actor")
        payment = self.for_order(order_id)
        giving = (TransactionKind.VOID, TransactionKind.REFUND)
        intents = [i for i in payment.intents if i.kind in giving]
        started = {i.kind for i in intents}
        for kind in giving:
            if kind in started:
                continue
            left = (
                payment.capturable_units
                if kind is TransactionKind.VOID
                else (payment.refundable_units)
            )
            if left:
                intent = self.begin(order_id, kind, actor=actor)
                if intent is not None:
                    intents.append(intent)
        problems: list[str] = []
        unreachable: GatewayError | None = None
        for intent in intents:
            try:
                self.carry_out(order_id, intent, actor=actor)
            except GatewayError as error:
                unreachable = error
                continue
            except RequestInProgress:
                continue  # another caller is asking for it, and settles its answer
            answer = self.for_order(order_id).answered(intent.id, intent.kind)
            if answer is not None and answer.status is TransactionStatus.FAILED:
                problems.append(f"the gateway refused to {intent.kind.value}: {answer.detail}")
        if problems:
            self.flag(order_id, "; ".join(problems), actor=actor)
        if unreachable is not None:
            raise unreachable
        return problems

    def flag(self, order_id: str, detail: str, *, actor: str) -> None:
        """Ask staff to look at an order."""
        check_key(order_id, "order_id")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> None:
            order = uow.orders.get(order_id)
            if order.flag(detail, at=self.now, actor=actor):
                uow.orders.save(order)

        self._run(work)

    def confirm(self, order_token: str) -> Order:
        """The customer completed the action their payment required (3-D Secure...).

        :raises NotFound: for an unknown order token.
        :raises InvalidTransition: if the payment does not await an action.
        """

        def find(uow: UnitOfWork) -> tuple[Order, Payment | None]:
            found = order_token is not None and check_key(order_token, "token")
            order = uow.orders.find_by_token(order_token) if found else None
            if order is None:
                raise NotFound("order", "for this token", field="token")
            return order, uow.payments.for_order(order.id)

        order, payment = self._read(find)
        if payment is None or payment.status is not PaymentStatus.REQUIRES_ACTION:
            state = "missing" if payment is None else payment.status.value
            raise InvalidTransition("payment", state, "confirm")
        if order.status is not OrderStatus.PENDING_PAYMENT:
            raise InvalidTransition("order", order.status.value, "confirm the payment of")

        def call(gateway: PaymentGateway, held: Payment, intent: Intent) -> GatewayEvent:
            return gateway.confirm(str(held.reference), intent.key)

        # Asked once however often the customer's page sends it; the others wait.
        key = authorization_key(order.id)
        settled = self._ask_once(
            order.id, key, call, actor="customer", starts=PaymentStatus.REQUIRES_ACTION
        )
        return settled or self._read(lambda uow: uow.orders.get(order.id))

    # --- webhooks ----------------------------------------------------------------------

    def handle_webhook(self, gateway: str, payload: bytes, signature: str) -> WebhookResult:
        """Verify a gateway's webhook and apply its events, each once.

        :raises WebhookRejected: for a forged, stale or malformed webhook (nothing is
            applied).
        :raises EventOutOfOrder: for an event about a payment not recorded yet, or a
            refund before its capture; answer the gateway with a retryable status so
            that it delivers the webhook again.
        :raises UnknownGateway: naming ``gateway``, for one the store does not have.
        :raises InvalidInput: naming ``payload``, for anything but the bytes received.
        """
        if check_key(gateway, "gateway") not in self._rt.gateways:
            raise UnknownGateway(gateway, self._rt.gateways, field="gateway")
        if not isinstance(payload, bytes | bytearray | memoryview):
            kind = type(payload).__name__
            raise InvalidInput(f"must be the raw bytes received, got {kind}", field="payload")
        events = self._rt.gateway(gateway).parse_webhook(payload, signature, self.now)
        applied = duplicates = 0
        for event in events:
            payment = self._by_reference(gateway, event.payment_reference)
            if payment is None:
                raise EventOutOfOrder(
                    f"no payment {shown(event.payment_reference)} recorded yet",
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

    # --- authorization -------------------------------------------------------------------

    def authorize(self, order: Order, payment_token: str, *, held: Payment | None = None) -> Order:
        """Ask the gateway to authorize (or capture) an order's payment, then settle:
        once, however many callers place the same order at the same moment (the others
        wait for its outcome).

        :param held: the payment as this caller just wrote it with the order, holding
            its authorization (see :meth:`Payment.ask_authorization`).
        :raises GatewayError: when the outcome is unknown; the order stays pending
            for a retry with the same key, or for recovery.
        :raises RequestInProgress: when another caller is still asking after the wait;
            the same call again returns the outcome.
        """
        require_instance(order, Order, "an Order", field="order")
        check_key(payment_token, "payment_token")
        key = authorization_key(order.id)

        def call(gateway: PaymentGateway, payment: Payment, intent: Intent) -> GatewayEvent | None:
            if intent.key != key or (held is None and not self._awaiting_payment(order.id)):
                # Cancelled while the authorization waited for a retry (or it became
                # the customer's confirmation meanwhile): never charge it now, only
                # settle what the gateway may already have done.
                return gateway.find(intent.key)
            request = PaymentRequest(
                payment_id=payment.id,
                order_id=order.id,
                amount_units=payment.amount_units,
                currency=payment.currency,
                payment_token=payment_token,
                idempotency_key=intent.key,
                capture=self._rt.settings.capture_immediately,
                email=order.email,
            )
            return gateway.authorize(request)

        mine = None if held is None or held.authorizing is None else (held, held.authorizing)
        holder = None if mine is None else mine[1].holder
        settled = self._ask_once(
            order.id,
            key,
            call,
            actor="customer",
            holder=holder,
            held=mine,
            order=order,
            starts=PaymentStatus.PENDING,
        )
        return settled or self._read(lambda uow: uow.orders.get(order.id))

    def _awaiting_payment(self, order_id: str) -> bool:
        order = self._read(lambda uow: uow.orders.get(order_id))
        return order.status is OrderStatus.PENDING_PAYMENT

    def settle_from_gateway(self, order: Order) -> bool:
        """Ask the gateway what became of an order's authorization and settle it.

        :returns: whether its outcome is known now (settled, by this call or another);
            ``False`` when the gateway never received it.
        :raises GatewayError: when the gateway cannot say.
        :raises RequestInProgress: while another caller is still asking the gateway.
        """
        require_instance(order, Order, "an Order", field="order")
        heard: list[bool] = []

        def call(gateway: PaymentGateway, payment: Payment, intent: Intent) -> GatewayEvent | None:
            event = gateway.find(intent.key)
            heard.append(event is not None)
            return event

        holder = self._rt.ids.new_id("call")
        key = authorization_key(order.id)
        self._ask_once(
            order.id,
            key,
            call,
            actor="system:recovery",
            holder=holder,
            starts=PaymentStatus.PENDING,
        )
        if heard == [False]:
            self._let_go(self.for_order(order.id).id, key, holder)
            return False
        return True

    def resolve(self, order_id: str, intent_id: str, *, actor: str) -> bool:
        """Finish an operation whose answer was never settled (the gateway could not be
        reached, or the process stopped): the gateway is asked what became of its key,
        and a capture, void or refund is asked again under the same key when it never
        arrived; an authorization that never arrived cancels its order.

        :returns: whether it is settled now (``False`` when the gateway could not be
            reached or another caller is asking it now).
        """
        check_key(order_id, "order_id")
        check_key(intent_id, "intent_id")
        check_key(actor, "actor")
        never_received: list[bool] = []

        def call(gateway: PaymentGateway, payment: Payment, claimed: Intent) -> GatewayEvent | None:
            event = gateway.find(claimed.key)
            if event is not None:
                return event
            if claimed.kind is TransactionKind.AUTHORIZE:
                # An authorization never received cancels its order; a confirmation
                # never received is only no longer asked (the customer may try again).
                never_received.append(claimed.key == authorization_key(order_id))
                return None
            return _operation(gateway, payment, claimed)

        try:
            self._ask_once(
                order_id, intent_id, call, actor=actor, wait=False, starts=PaymentStatus.PENDING
            )
        except (GatewayError, RequestInProgress):
            return False
        if never_received:
            self._never_received(order_id, intent_id, actor=actor, cancel=never_received[0])
        return True

    def _never_received(self, order_id: str, intent_id: str, *, actor: str, cancel: bool) -> None:
        """The gateway never received the operation: it is no longer asked, and, for
        the order's authorization, the order, still unpaid, is cancelled with what it
        held given back."""

        def work(uow: UnitOfWork) -> None:
            order = uow.orders.get(order_id)
            payment = uow.payments.for_order(order_id)
            if payment is not None and payment.finish(intent_id):
                uow.payments.save(payment)
            if cancel:
                reason = "the gateway never received the payment"
                cancel_unpaid(uow, order, reason, actor=actor, at=self.now)

        self._run(work)
