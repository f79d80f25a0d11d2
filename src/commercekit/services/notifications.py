"""Notifications: what a store tells its customers after a change was committed, each
notice at most once.

The store hands every committed event to :meth:`NotificationService.on_events`. An
event that concerns a customer (an order paid, a payment failed, a shipment gone,
arrived or in trouble, a refund) becomes a notice: rendered from its template in the
customer's locale and stored under a key made of what it says and to whom. The same
event delivered again finds its notice stored and adds nothing. Notices are then
handed to the notifier one at a time, marked *sending* before and *sent* after (see
:mod:`commercekit.domain.notifications`); a notifier that fails leaves the notice to
be tried again by :meth:`NotificationService.send_due`, and never undoes the change
that caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from commercekit.domain.errors import CommerceError, InvalidInput, NotFound
from commercekit.domain.events import (
    DomainEvent,
    OrderPaid,
    PaymentFailed,
    PaymentRefunded,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentException,
)
from commercekit.domain.identifiers import check_text
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.orders import Order
from commercekit.ports.notifications import Message, Notifier, Templates
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_page_size

__all__ = ["NotificationService", "Wanted"]

log = logging.getLogger(__name__)

_BATCH: Final = 100


@attrs.frozen
class Wanted:
    """A notice an event calls for: its template, its key and its data."""

    template: str
    key: str
    order_id: str
    data: Mapping[str, Any]


def _lines(order: Order, units: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Each line (or the ``units`` of it shipped) at its unit price, before discounts
    and any tax added on top: those the message shows beneath, and the lines add up to
    the subtotal."""
    return [
        {
            "name": line.name,
            "sku": line.sku,
            "quantity": line.quantity if units is None else units[line.sku],
            "unit_units": line.unit_price_units,
            "total_units": line.subtotal_units
            if units is None
            else line.unit_price_units * units[line.sku],
        }
        for line in order.lines
        if units is None or units.get(line.sku)
    ]


class NotificationService(Service):
    """Turns committed events into notices and hands them to the notifier."""

    def __init__(self, runtime: Runtime, templates: Templates, notifier: Notifier | None) -> None:
        super().__init__(runtime)
        self._templates = templates
        self._notifier = notifier
        self._build: Mapping[type[DomainEvent], Callable[[UnitOfWork, Any], Wanted | None]] = {
            OrderPaid: self._order_paid,
            PaymentFailed: self._payment_failed,
            PaymentRefunded: self._refunded,
            ShipmentDispatched: self._dispatched,
            ShipmentDelivered: self._delivered,
            ShipmentException: self._exception,
        }

    @property
    def active(self) -> bool:
        """Whether the store has a notifier (without one, nothing is sent or kept)."""
        return self._notifier is not None

    # --- what each event says ------------------------------------------------------

    def _order_paid(self, uow: UnitOfWork, event: OrderPaid) -> Wanted:
        order = uow.orders.get(event.order_id)
        totals = order.totals
        return Wanted(
            "order_confirmation",
            f"order_confirmation:{order.id}",
            order.id,
            {
                "lines": _lines(order),
                "subtotal_units": totals.subtotal_units,
                "discount_units": totals.discount_units,
                "shipping_units": totals.shipping_units - totals.shipping_discount_units,
                "tax_units": totals.tax_units,
                "total_units": totals.grand_total_units,
                "shipping_method": order.shipping.name if order.shipping else "",
                "placed_at": order.placed_at,
            },
        )

    def _payment_failed(self, uow: UnitOfWork, event: PaymentFailed) -> Wanted:
        return Wanted(
            "payment_failed",
            f"payment_failed:{event.payment_id}",
            event.order_id,
            {"total_units": event.amount_units, "reason": event.reason},
        )

    def _refunded(self, uow: UnitOfWork, event: PaymentRefunded) -> Wanted:
        which = event.transaction_id or f"{event.occurred_at.isoformat()}:{event.amount_units}"
        return Wanted(
            "refund_issued",
            f"refund_issued:{event.payment_id}:{which}",
            event.order_id,
            {"amount_units": event.amount_units, "refunded_at": event.occurred_at},
        )

    def _dispatched(self, uow: UnitOfWork, event: ShipmentDispatched) -> Wanted:
        shipment = uow.shipments.get(event.shipment_id)
        order = uow.orders.get(event.order_id)
        return Wanted(
            "shipment_dispatched",
            f"shipment_dispatched:{shipment.id}",
            order.id,
            {
                "shipment_id": shipment.id,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "tracking_url": shipment.tracking_url,
                "lines": _lines(order, shipment.lines),
                "earliest": None,
                "latest": None,
            },
        )

    def _delivered(self, uow: UnitOfWork, event: ShipmentDelivered) -> Wanted:
        shipment = uow.shipments.get(event.shipment_id)
        order = uow.orders.get(event.order_id)
        return Wanted(
            "shipment_delivered",
            f"shipment_delivered:{shipment.id}",
            order.id,
            {
                "shipment_id": shipment.id,
                "delivered_at": shipment.delivered_at or event.occurred_at,
                "lines": _lines(order, shipment.lines),
            },
        )

    def _exception(self, uow: UnitOfWork, event: ShipmentException) -> Wanted:
        shipment = uow.shipments.get(event.shipment_id)
        return Wanted(
            "shipment_exception",
            f"shipment_exception:{shipment.id}:{event.status}",
            event.order_id,
            {
                "shipment_id": shipment.id,
                "status": event.status,
                "detail": event.detail,
                "tracking_url": shipment.tracking_url,
            },
        )

    # --- recording and sending -----------------------------------------------------

    def on_events(self, events: Sequence[DomainEvent]) -> int:
        """Record the notices these committed events call for (each once), then hand
        those to the notifier. Never raises: a failure is logged, and the notice is
        tried again by :meth:`send_due` (run it from a worker, every few minutes).

        :returns: how many new notices were recorded.
        """
        if self._notifier is None:
            return 0
        recorded: list[str] = []
        for event in events:
            build = self._build.get(type(event))
            if build is None:
                continue
            try:
                key = self._record(build, event)
            except Exception:  # a notice must never undo or block the change
                log.exception("could not record the notice for %s", event.name)
                continue
            if key is not None:
                recorded.append(key)
        # Only what was just recorded: notices that failed before wait for send_due.
        for key in recorded:
            try:
                self._send(key)
            except Exception:  # claiming or settling it failed: the change stands
                log.exception("could not send the notice %s", key)
        return len(recorded)

    def _record(self, build: Callable[[UnitOfWork, Any], Wanted | None], event: Any) -> str | None:
        """The key of the notice ``event`` calls for, if it was recorded now (``None``
        when it calls for none, or it was recorded before)."""
        wanted, order = self._read(lambda uow: self._wanted(uow, build, event))
        if wanted is None or order is None or not order.email:
            return None
        key = f"{wanted.key}:{order.email_key or order.email}"
        if self._read(lambda uow: uow.notices.find(key)) is not None:
            return None
        channel = self._rt.settings.channels.get(order.channel or "")
        locale = channel.locale if channel is not None else "en"
        data = {
            "order_id": order.id,
            "email": order.email,
            "currency": order.currency,
            **wanted.data,
        }
        rendered = self._templates.render(wanted.template, data, locale=locale)
        notice = Notice(
            id=key,
            recipient=order.email,
            template=wanted.template,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            created_at=self.now,
        )

        def add(uow: UnitOfWork) -> str | None:
            if uow.notices.find(key) is not None:
                return None
            uow.notices.add(notice)
            return key

        return self._run(add)

    @staticmethod
    def _wanted(
        uow: UnitOfWork, build: Callable[[UnitOfWork, Any], Wanted | None], event: Any
    ) -> tuple[Wanted | None, Order | None]:
        try:
            wanted = build(uow, event)
            order = None if wanted is None else uow.orders.get(wanted.order_id)
        except NotFound:
            return None, None
        return wanted, order

    def send_due(self, *, limit: int = 500) -> int:
        """Hand notices waiting (new, or failed and due again) to the notifier, each
        claimed before it is sent so that two senders never send one twice.

        :returns: how many were sent.
        """
        most = check_page_size(limit, most=100_000)
        if self._notifier is None:
            return 0
        sent = 0
        tried: set[str] = set()
        while len(tried) < most:
            due = [
                n
                # Past the ones tried in this pass (failed, still due), or a page of
                # notices that keep failing would hide every notice behind them.
                for n in self._read(lambda uow: uow.notices.due(limit=len(tried) + _BATCH))
                if n.id not in tried
            ]
            if not due:
                break
            for notice in due[: most - len(tried)]:
                tried.add(notice.id)
                sent += self._send(notice.id)
        return sent

    def _send(self, key: str) -> int:
        assert self._notifier is not None

        def claim(uow: UnitOfWork) -> Notice | None:
            notice = uow.notices.find(key)
            if notice is None or not notice.due:
                return None
            notice.start()
            uow.notices.save(notice)
            return notice

        claimed = self._run(claim)
        if claimed is None:
            return 0
        message = Message(
            key=claimed.id,
            to=claimed.recipient,
            template=claimed.template,
            subject=claimed.subject,
            text=claimed.text,
            html=claimed.html,
        )
        try:
            self._notifier.send(message)
        except InvalidInput as error:  # an address it can never deliver to
            log.warning("notice %s refused: %s", key, error)
            refusal = str(error)
            self._settle(key, lambda notice: notice.refused(refusal))
            return 0
        except CommerceError as error:
            log.warning("notice %s not sent: %s", key, error)
            reason = str(error)
        except Exception as error:  # a notifier plugin's own failure
            log.exception("notice %s not sent", key)
            reason = repr(error)
        else:
            self._settle(key, lambda notice: notice.sent(at=self.now))
            return 1
        self._settle(key, lambda notice: notice.failed(reason))
        return 0

    def _settle(self, key: str, change: Callable[[Notice], None]) -> None:
        def work(uow: UnitOfWork) -> None:
            notice = uow.notices.find(key)
            if notice is not None and notice.status is NoticeStatus.SENDING:
                change(notice)
                uow.notices.save(notice)

        self._run(work)

    def find(self, key: str) -> Notice | None:
        """The notice stored under ``key`` (``<what>:<recipient>``), if any."""
        check_text(key, "key", max_length=400)
        return self._read(lambda uow: uow.notices.find(key))
