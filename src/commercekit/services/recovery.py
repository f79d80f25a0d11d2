"""The sweep: what a periodic job runs so that every order ends cleanly.

Processes stop, gateways time out and webhooks arrive late; the sweep finds what was
left half-done and finishes it: checkouts whose payment's outcome was never heard,
customer actions never completed, gateway operations never answered, cancellations
whose money was not given back yet, money still held for cancelled orders, an
authorization still standing behind a completed order, and stock still held by
orders that ended. Every order is handled on its own: one that fails is reported
(and, where staff must look, flagged) and the sweep goes on with the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import TypeVar

import attrs

from commercekit.domain.errors import CommerceError, Conflict, GatewayError, InvalidInput
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.payments import PaymentStatus, TransactionKind, authorization_key
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service
from commercekit.services.holds import cancel_unpaid, release_holds
from commercekit.services.orders import OrderService
from commercekit.services.payments import PaymentService

__all__ = ["RecoveryService", "SweepReport"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@attrs.frozen
class SweepReport:
    """What a sweep did, order by order."""

    settled: tuple[str, ...] = ()
    """Orders whose payment's unknown outcome was asked for and settled."""
    cancelled: tuple[str, ...] = ()
    """Orders cancelled (never paid, action not completed) or whose cancellation was
    finished."""
    given_back: tuple[str, ...] = ()
    """Orders whose payment's money was voided or refunded."""
    resolved: tuple[str, ...] = ()
    """Payments whose unanswered gateway operation was settled."""
    released: tuple[str, ...] = ()
    """Ended orders whose stock was still held, released."""
    failed: tuple[tuple[str, str], ...] = ()
    """``(order id, what went wrong)`` for each order that could not be settled now."""


class RecoveryService(Service):
    """Finish what was left half-done."""

    def __init__(self, runtime: Runtime, payments: PaymentService, orders: OrderService) -> None:
        super().__init__(runtime)
        self._payments = payments
        self._orders = orders

    def _each(
        self,
        orders: Iterable[Order],
        handle: Callable[[Order], bool],
        done: list[str],
        failed: list[tuple[str, str]],
    ) -> None:
        """Run ``handle`` on each order on its own; a failure is reported, flagged for
        staff unless it is passing (a gateway out of reach, a lost race), and does not
        stop the others."""
        for order in orders:
            try:
                if handle(order):
                    done.append(order.id)
            except CommerceError as error:
                failed.append((order.id, f"{error.code}: {error.message}"))
                if not isinstance(error, GatewayError | Conflict):
                    self._flag(order.id, f"the sweep could not settle it: {error.code}")
            except Exception as error:  # a bug must not stop the sweep for every order
                log.exception("the sweep failed on order %s", order.id)
                failed.append((order.id, f"unexpected: {type(error).__name__}"))
                self._flag(order.id, "the sweep failed unexpectedly")

    def _flag(self, order_id: str, detail: str) -> None:
        try:
            self._payments.flag(order_id, detail, actor="system:sweep")
        except CommerceError:
            log.warning("could not flag order %s: %s", order_id, detail)

    def sweep(self, older_than: timedelta | None = None) -> SweepReport:
        """Finish everything left half-done that is older than ``older_than`` (the
        pending payment timeout by default).

        :returns: what was done, and what could not be.
        :raises InvalidInput: naming ``older_than``, for anything but a timedelta of
            zero or more.
        """
        if older_than is not None and (
            not isinstance(older_than, timedelta) or older_than < timedelta(0)
        ):
            raise InvalidInput("must be a timedelta of zero or more, or None", field="older_than")
        settings = self._rt.settings
        now = self.now
        cutoff = now - (
            older_than
            if older_than is not None
            else timedelta(seconds=settings.pending_payment_timeout_seconds)
        )
        settled: list[str] = []
        cancelled: list[str] = []
        given_back: list[str] = []
        resolved: list[str] = []
        released: list[str] = []
        failed: list[tuple[str, str]] = []

        busy = self._read(lambda uow: uow.payments.busy_before(cutoff))
        busy_orders = [self._orders.get(payment.order_id) for payment in busy]
        self._each(busy_orders, self._resolve, resolved, failed)
        pending = self._read(lambda uow: uow.orders.pending_payment(cutoff))
        self._each(pending, self._settle_pending, settled, failed)
        for order in pending:
            if order.id not in settled:
                self._each([order], self._expire_action, cancelled, failed)
        cancelling = self._read(lambda uow: uow.orders.cancelling())
        self._each(cancelling, self._finish_cancel, cancelled, failed)
        holding = self._read(lambda uow: uow.orders.cancelled_holding_money())
        self._each([o for o in holding if not o.attention], self._give_back, given_back, failed)
        completed = self._read(lambda uow: uow.orders.completed_holding_authorization())
        self._each(
            [o for o in completed if not o.attention], self._release_rest, given_back, failed
        )
        ended = self._read(lambda uow: uow.inventory.held_by_ended_orders())
        self._each(
            [self._orders.get(order_id) for order_id in ended],
            self._release_stock,
            released,
            failed,
        )
        return SweepReport(
            settled=tuple(settled),
            cancelled=tuple(cancelled),
            given_back=tuple(given_back),
            resolved=tuple(resolved),
            released=tuple(released),
            failed=tuple(failed),
        )

    def recover_pending_checkouts(self, older_than: timedelta | None = None) -> list[str]:
        """Run the sweep; the ids of the orders it settled, cancelled or gave money
        back for."""
        report = self.sweep(older_than)
        return list(dict.fromkeys([*report.given_back, *report.settled, *report.cancelled]))

    # --- the parts -----------------------------------------------------------------------

    def _resolve(self, order: Order) -> bool:
        payment = self._payments.for_order(order.id)
        settled = True
        for intent in payment.intents:
            if (
                intent.key == authorization_key(order.id)
                and payment.status is PaymentStatus.PENDING
                and order.status is OrderStatus.PENDING_PAYMENT
            ):
                continue  # an authorization not answered yet is settled with its order
            settled = self._payments.resolve(order.id, intent.id, actor="system:sweep") and settled
        return settled

    def _settle_pending(self, order: Order) -> bool:
        payment = self._payments.find_for_order(order.id)
        if payment is None or payment.status is not PaymentStatus.PENDING:
            return False
        key = authorization_key(order.id)
        return self._payments.resolve(order.id, key, actor="system:recovery")

    def _expire_action(self, order: Order) -> bool:
        payment = self._payments.find_for_order(order.id)
        timeout = timedelta(seconds=self._rt.settings.action_timeout_seconds)
        if payment is None or payment.status is not PaymentStatus.REQUIRES_ACTION:
            return False
        if order.placed_at >= self.now - timeout:
            return False
        return self._cancel_unpaid(order.id, "the payment's required action was not completed")

    def _cancel_unpaid(self, order_id: str, reason: str) -> bool:
        def work(uow: UnitOfWork) -> bool:
            order = uow.orders.get(order_id)
            if order.status is not OrderStatus.PENDING_PAYMENT:
                return False
            cancel_unpaid(uow, order, reason, actor="system:recovery", at=self.now)
            return True

        return self._run(work)

    def _finish_cancel(self, order: Order) -> bool:
        self._orders.finish_cancel(order.id, "cancelled", actor="system:sweep")
        return True

    def _give_back(self, order: Order) -> bool:
        problems = self._payments.give_back(order.id, actor="system:sweep")
        return not problems

    def _release_rest(self, order: Order) -> bool:
        payment = self._payments.for_order(order.id)
        if not payment.capturable_units or any(
            i.kind is TransactionKind.VOID for i in payment.intents
        ):
            return False
        self._payments.void(order.id, actor="system:sweep")
        return True

    def _release_stock(self, order: Order) -> bool:
        def work(uow: UnitOfWork) -> bool:
            found = uow.orders.get(order.id)
            return release_holds(uow, found, at=self.now) > 0

        return self._run(work)
