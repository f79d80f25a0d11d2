"""Orders after placement: looking them up, cancelling, fulfilling, completing.

An order is changed by one operation at a time: each writes the order (its version
moves), so of two at once the second sees the first. A cancellation is recorded
first (the order is *cancelling*: nothing ships, nothing more is captured), then the
money is given back through the gateway, then the order is cancelled.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from commercekit.domain.customers import canonical_email
from commercekit.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    OperationInProgress,
)
from commercekit.domain.fulfilment import Shipment, ShipmentStatus
from commercekit.domain.identifiers import (
    check_key,
    check_quantities,
    check_text,
    check_whole_number,
)
from commercekit.domain.orders import (
    FulfilmentStatus,
    Order,
    OrderPaymentStatus,
    OrderStatus,
)
from commercekit.domain.payments import PaymentStatus, TransactionKind
from commercekit.domain.shipping import TrackingEvent
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_choice, check_page_size
from commercekit.services.edits import OrderEdit, OrderEditService
from commercekit.services.fulfilment import FulfilmentService
from commercekit.services.holds import release_holds
from commercekit.services.payments import PaymentService
from commercekit.services.schemas import AddressIn

__all__ = ["OrderService", "OrderTracking", "ShipmentTracking"]

#: Shipment states a cancellation waits out: a label bought, or being bought or given
#: back, is settled with its carrier first.
_LABELLING: Final = frozenset(
    {ShipmentStatus.BUYING_LABEL, ShipmentStatus.LABEL_BOUGHT, ShipmentStatus.VOIDING_LABEL}
)

#: The longest reason an order's history keeps.
MAX_REASON_LENGTH: Final = 2000
#: The longest email address a customer may type to find an order (RFC 5321's path).
MAX_EMAIL_LENGTH: Final = 320
#: What a wrong number is compared with, so that it takes as long as a wrong email.
_NO_EMAIL: Final = "\x00" * 32


@attrs.frozen(kw_only=True)
class ShipmentTracking:
    """Where one shipment of an order is, as its customer may see it."""

    status: ShipmentStatus
    carrier: str
    tracking_number: str
    tracking_url: str
    timeline: tuple[TrackingEvent, ...]
    """Its carrier's events, in the order they happened."""
    dispatched_at: datetime | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, shipment: Shipment) -> ShipmentTracking:
        """What the customer may see of ``shipment``."""
        return cls(
            status=shipment.status,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            timeline=shipment.timeline,
            dispatched_at=shipment.dispatched_at,
            delivered_at=shipment.delivered_at,
        )


@attrs.frozen(kw_only=True)
class OrderTracking:
    """Where an order is, as anyone holding its number and email may see it: its
    states and its shipments' journeys, and nothing of its address, lines or money."""

    number: str
    status: OrderStatus
    payment_status: OrderPaymentStatus
    fulfilment_status: FulfilmentStatus
    placed_at: datetime
    shipments: tuple[ShipmentTracking, ...]
    """Its shipments that are not cancelled, oldest first."""


def _check_cancellation(order_id: object, reason: object, actor: object) -> None:
    """The arguments of a cancellation, checked before anything is asked of storage
    or the gateway.

    :raises InvalidInput: naming the argument.
    """
    check_key(order_id, "order_id")
    check_text(reason, "reason", max_length=MAX_REASON_LENGTH, blank=True)
    check_key(actor, "actor")


def order_number_typed(number: object) -> str:
    """An order number as a customer may type it (any case, spaces around), as
    numbers are stored.

    :raises InvalidInput: naming ``number``.
    """
    return check_text(number, "number").strip().upper()


class OrderService(Service):
    """Staff and customer operations on placed orders."""

    def __init__(
        self,
        runtime: Runtime,
        payments: PaymentService,
        fulfilment: FulfilmentService,
        edits: OrderEditService,
    ) -> None:
        super().__init__(runtime)
        self._payments = payments
        self._fulfilment = fulfilment
        self._edits = edits

    def edit(
        self,
        order_id: str,
        quantities: Mapping[str, int],
        *,
        shipping_address: Mapping[str, Any] | AddressIn | None = None,
        current_prices: bool = False,
        actor: str = "staff",
    ) -> OrderEdit:
        """Change an order before anything of it ships, priced again as it was placed:
        see :meth:`commercekit.services.edits.OrderEditService.edit`, which this is."""
        return self._edits.edit(
            order_id,
            quantities,
            shipping_address=shipping_address,
            current_prices=current_prices,
            actor=actor,
        )

    def get(self, order_id: str) -> Order:
        """An order by id (for staff and back-office code).

        :raises NotFound: for an unknown id.
        """
        check_key(order_id, "order_id")
        return self._read(lambda uow: uow.orders.get(order_id))

    def by_token(self, token: str) -> Order:
        """The order a customer's token opens.

        :raises NotFound: for an unknown, empty or missing token.
        """
        found = token is not None and check_key(token, "token")
        order = self._read(lambda uow: uow.orders.find_by_token(token)) if found else None
        if order is None:
            raise NotFound("order", "for this token", field="token")
        return order

    def by_number(self, number: str) -> Order:
        """An order by the number its customer knows it by (for staff, and for the
        shopper whose order it is); read as the customer may type it, in any case and
        with spaces around.

        :raises NotFound: naming ``number``, for no order with that number.
        """
        wanted = order_number_typed(number)
        order = self._read(lambda uow: uow.orders.find_by_number(wanted))
        if order is None:
            raise NotFound("order", number, field="number")
        return order

    def where_is_my_order(self, number: str, email: str) -> OrderTracking:
        """Where an order is, for whoever holds its number and the email it was placed
        with (in any spelling the store reads as the same address): the pair is the
        permission, as a token is.

        A wrong number, a wrong email and both are told apart by nobody: each is the
        same :class:`NotFound`, and the email is compared in constant time.

        :raises InvalidInput: naming ``number`` or ``email``, for one that cannot be
            one (not text, empty, too long, a NUL or a lone surrogate).
        :raises NotFound: naming ``number``, for a pair that is no order's.
        """
        wanted = check_text(number, "number").strip().upper()
        typed = check_text(email, "email", max_length=MAX_EMAIL_LENGTH)
        key = canonical_email(typed, subaddressing=self._rt.settings.email_subaddressing)

        def read(uow: UnitOfWork) -> OrderTracking:
            order = uow.orders.find_by_number(wanted)
            stored = order.email_key if order is not None else _NO_EMAIL
            same = hmac.compare_digest(stored.encode(), key.encode())
            if order is None or not same or not stored:
                raise NotFound("order", "for this number and email", field="number")
            shipments = uow.shipments.for_order(order.id)
            return OrderTracking(
                number=order.number,
                status=order.status,
                payment_status=order.payment_status,
                fulfilment_status=order.fulfilment_status,
                placed_at=order.placed_at,
                shipments=tuple(
                    ShipmentTracking.of(shipment)
                    for shipment in shipments
                    if shipment.status is not ShipmentStatus.CANCELLED
                ),
            )

        return self._read(read)

    def for_customer(self, customer_id: str, *, limit: int = 50) -> list[Order]:
        """A customer's orders, newest first (their order history).

        :param limit: a whole number, or its digits as a form sends them (``"20"``).
        """
        check_key(customer_id, "customer_id")
        limit = check_page_size(check_whole_number(limit, "limit"))
        return self._read(lambda uow: uow.orders.for_customer(customer_id, limit=limit))

    def search(
        self, text: str = "", *, status: OrderStatus | str | None = None, limit: int = 50
    ) -> list[Order]:
        """Orders as staff look for them, newest first.

        :param text: an email address (in any spelling: matched as the store keys
            emails) or the start of an order number (in any case); empty finds every
            order.
        :param status: only orders in this :class:`~commercekit.domain.orders.OrderStatus`
            (or its value).
        :param limit: a whole number, or its digits as a form sends them.
        """
        typed = check_text(text, "text", max_length=MAX_EMAIL_LENGTH, blank=True).strip()
        wanted = None if status is None else check_choice(status, OrderStatus, "status")
        most = check_page_size(check_whole_number(limit, "limit"))
        email = number = ""
        if "@" in typed:
            email = canonical_email(typed, subaddressing=self._rt.settings.email_subaddressing)
        else:
            number = typed.upper()
        return self._read(
            lambda uow: uow.orders.search(
                number_prefix=number, email_key=email, status=wanted, limit=most
            )
        )

    # --- cancelling ------------------------------------------------------------------

    def cancel(self, order_id: str, reason: str, *, actor: str = "staff") -> Order:
        """Cancel an order that has not shipped nor been fulfilled, giving back its
        money and what it held.

        Recorded first, in a transaction of its own (the order is *cancelling*, its
        stock and coupon uses released); then whatever the payment holds is voided or
        refunded through the gateway; then the order is cancelled. A cancellation that
        could not reach the gateway stays *cancelling*, and the sweep finishes it.

        :raises InvalidTransition: for an order shipped, fulfilled, completed or
            cancelled.
        :raises OperationInProgress: while a capture of its payment is under way.
        :raises RequestInProgress: while the payment of an order awaiting it is being
            authorized by another caller (after a bounded wait); try again.
        :raises GatewayError: when the gateway could not be reached; the order stays
            cancelling and its money is given back later.
        """
        _check_cancellation(order_id, reason, actor)
        self._settle_unknown_authorization(order_id)
        if not self.get(order_id).shipped:
            self._fulfilment.release_for_cancellation(order_id)

        def begin(uow: UnitOfWork) -> bool:
            order = uow.orders.get(order_id)
            for shipment in uow.shipments.for_order(order_id):
                if shipment.status in _LABELLING:
                    raise OperationInProgress("order's shipment", "a label purchase")
                if shipment.status is ShipmentStatus.PENDING:
                    shipment.cancel()
                    uow.shipments.save(shipment)
            payment = uow.payments.for_order(order_id)
            if payment is not None and any(
                i.kind is TransactionKind.CAPTURE for i in payment.intents
            ):
                raise OperationInProgress("order's payment", "a capture")
            holds_money = payment is not None and (payment.held_units or payment.intents)
            if holds_money:
                order.begin_cancel(reason, at=self.now, actor=actor)
            else:
                order.cancel(reason, at=self.now, actor=actor)
            release_holds(uow, order, at=self.now)
            uow.orders.save(order)
            return bool(holds_money)

        if self._run(begin):
            self.finish_cancel(order_id, reason, actor=actor)
        return self.get(order_id)

    def _settle_unknown_authorization(self, order_id: str) -> None:
        """An order whose authorization's outcome was never recorded (the process died
        between asking and hearing) may hold money at the gateway: ask first, so that
        what it authorized is given back rather than left standing."""
        payment = self._payments.find_for_order(order_id)
        if payment is not None and payment.status is PaymentStatus.PENDING:
            order = self.get(order_id)
            if order.status is OrderStatus.PENDING_PAYMENT:
                self._payments.settle_from_gateway(order)

    def finish_cancel(self, order_id: str, reason: str, *, actor: str) -> Order:
        """Give back what a cancelling order's payment holds, then cancel it.

        :raises GatewayError: when the gateway could not be reached (it stays
            cancelling).
        """
        _check_cancellation(order_id, reason, actor)
        self._payments.give_back(order_id, actor=actor)

        def finish(uow: UnitOfWork) -> Order:
            order = uow.orders.get(order_id)
            if order.status is OrderStatus.CANCELLING:
                order.cancel(reason, at=self.now, actor=actor)
                uow.orders.save(order)
            return order

        return self._run(finish)

    # --- fulfilment --------------------------------------------------------------------

    def record_fulfilment(
        self, order_id: str, quantities: Mapping[str, int], *, actor: str = "staff"
    ) -> Order:
        """Record units handed over, per SKU: they leave now as shipments without
        labels (see :meth:`FulfilmentService.ship`), each consuming exactly its units.

        :param quantities: SKU to units, each a whole number or its digits as a form
            sends them (``"2"``).
        :raises InvalidTransition: unless the order is open (paid, not being
            cancelled).
        :raises InvalidInput: naming ``quantities``, for a SKU the order does not
            have or more units than are left to ship.
        """
        check_key(order_id, "order_id")
        quantities = check_quantities(quantities, "quantities")
        if not quantities:
            raise InvalidInput("name at least one SKU to fulfil", field="quantities")
        check_key(actor, "actor")
        self._fulfilment.ship(order_id, quantities, actor=actor)
        return self.get(order_id)

    def complete(self, order_id: str, *, actor: str = "staff") -> Order:
        """Close a fulfilled, paid order, once its goods have left the shelf and no
        authorization of it stands beyond what was captured.

        :raises InvalidTransition: otherwise.
        """
        check_key(order_id, "order_id")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> Order:
            order = uow.orders.get(order_id)
            if any(r.holds for r in uow.inventory.reservations_for_order(order_id)):
                raise InvalidTransition("order", "holding stock", "complete")
            order.complete(at=self.now, actor=actor)
            uow.orders.save(order)
            return order

        return self._run(work)
