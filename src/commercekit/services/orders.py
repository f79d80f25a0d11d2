"""Orders after placement: looking them up, cancelling, fulfilling, completing."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from commercekit.domain.errors import InvalidTransition, NotFound
from commercekit.domain.inventory import ReservationStatus
from commercekit.domain.orders import HOLDING_MONEY, Order
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service
from commercekit.services.holds import release_holds
from commercekit.services.payments import PaymentService

__all__ = ["OrderService"]


class OrderService(Service):
    """Staff and customer operations on placed orders."""

    def __init__(self, runtime: Runtime, payments: PaymentService) -> None:
        super().__init__(runtime)
        self._payments = payments

    def get(self, order_id: str) -> Order:
        """An order by id (for staff and back-office code).

        :raises NotFound: for an unknown id.
        """
        return self._read(lambda uow: uow.orders.get(order_id))

    def by_token(self, token: str) -> Order:
        """The order a customer's token opens.

        :raises NotFound: for an unknown, empty or missing token.
        """
        found = isinstance(token, str) and token
        order = self._read(lambda uow: uow.orders.find_by_token(token)) if found else None
        if order is None:
            raise NotFound("order", "for this token", field="token")
        return order

    def cancel(self, order_id: str, reason: str, *, actor: str = "staff") -> Order:
        """Cancel an unfulfilled order, giving back its money and what it held.

        An authorization is voided and a capture refunded through the gateway first
        (outside any transaction); then the order is cancelled and its holds released.

        :raises InvalidTransition: for a fulfilled, completed or cancelled order.
        """
        order = self.get(order_id)
        order.cancel(reason, at=self.now, actor=actor)  # checks the transition early
        held = self._read(lambda uow: uow.inventory.reservations_for_order(order_id))
        if any(r.status is ReservationStatus.CONSUMED for r in held):
            raise InvalidTransition("order", "shipped", "cancel")
        # Money first, through the gateway: release what is authorized and not
        # captured, then give back what was captured.
        payment = (
            self._payments.for_order(order_id) if order.payment_status in HOLDING_MONEY else None
        )
        if payment is not None and payment.capturable_units:
            payment = self._payments.void(order_id, actor=actor)
        if payment is not None and payment.refundable_units:
            self._payments.refund(order_id, actor=actor)

        def work(uow: UnitOfWork) -> Order:
            current = uow.orders.get(order_id)
            current.cancel(reason, at=self.now, actor=actor)
            release_holds(uow, current, at=self.now)
            uow.orders.save(current)
            return current

        return self._run(work)

    def for_customer(self, customer_id: str, *, limit: int = 50) -> list[Order]:
        """A customer's orders, newest first (their order history)."""
        return self._read(lambda uow: uow.orders.for_customer(customer_id, limit=limit))

    def _change(self, order_id: str, change: Callable[[Order], None]) -> Order:
        def work(uow: UnitOfWork) -> Order:
            order = uow.orders.get(order_id)
            change(order)
            uow.orders.save(order)
            return order

        return self._run(work)

    def record_fulfilment(
        self, order_id: str, quantities: Mapping[str, int], *, actor: str = "staff"
    ) -> Order:
        """Record units handed over, per SKU."""
        return self._change(
            order_id, lambda order: order.record_fulfilment(quantities, at=self.now, actor=actor)
        )

    def complete(self, order_id: str, *, actor: str = "staff") -> Order:
        """Close a fulfilled, paid order."""
        return self._change(order_id, lambda order: order.complete(at=self.now, actor=actor))
