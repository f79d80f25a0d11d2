"""Orders after placement: looking them up, cancelling, fulfilling, completing."""

from __future__ import annotations

from collections.abc import Mapping

from commercekit.domain.errors import InvalidTransition, NotFound
from commercekit.domain.inventory import ReservationStatus
from commercekit.domain.orders import HOLDING_MONEY, Order
from commercekit.services.base import Runtime, Service
from commercekit.services.payments import PaymentService, release_order_holds

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
        with self._work() as uow:
            return uow.orders.get(order_id)

    def by_token(self, token: str) -> Order:
        """The order a customer's token opens.

        :raises NotFound: for an unknown, empty or missing token.
        """
        with self._work() as uow:
            order = uow.orders.find_by_token(token) if isinstance(token, str) and token else None
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
        with self._work() as uow:
            held = uow.inventory.reservations_for_order(order_id)
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

        def work() -> Order:
            with self._work() as uow:
                current = uow.orders.get(order_id)
                current.cancel(reason, at=self.now, actor=actor)
                release_order_holds(uow, current)
                uow.orders.save(current)
                self._commit(uow)
                return current

        return self._retrying(work)

    def record_fulfilment(
        self, order_id: str, quantities: Mapping[str, int], *, actor: str = "staff"
    ) -> Order:
        """Record units handed over, per SKU."""

        def work() -> Order:
            with self._work() as uow:
                order = uow.orders.get(order_id)
                order.record_fulfilment(quantities, at=self.now, actor=actor)
                uow.orders.save(order)
                self._commit(uow)
                return order

        return self._retrying(work)

    def complete(self, order_id: str, *, actor: str = "staff") -> Order:
        """Close a fulfilled, paid order."""

        def work() -> Order:
            with self._work() as uow:
                order = uow.orders.get(order_id)
                order.complete(at=self.now, actor=actor)
                uow.orders.save(order)
                self._commit(uow)
                return order

        return self._retrying(work)
