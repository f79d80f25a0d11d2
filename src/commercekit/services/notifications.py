"""Notifications: what a store tells its customers after a change was committed, each
notice at most once.

The store hands every committed event to :meth:`NotificationService.on_events`. An
event that concerns a customer (an order paid, a payment failed, a shipment gone,
arrived or in trouble, a refund, a support case opened or resolved) becomes a
notice: rendered from its template in the customer's locale and stored under a key
made of what it says and to whom. The same event delivered again finds its notice
stored and adds nothing. Notices are then handed to the notifier one at a time,
marked *sending* before and *sent* after (see :mod:`commercekit.domain.notifications`);
a notifier that fails leaves the notice to be tried again by
:meth:`NotificationService.send_due`, and never undoes the change that caused it.

A notice may wait a long time between being written and being handed over (a store
without a notifier yet, a mail server away), and what made it right to send may
change meanwhile. A service that writes notices of a template can register a
:data:`Guard` for it: called in the unit of work that claims the notice, just before
it is handed over, however it is sent (at once, by ``send_due`` or ``resend``), it
names a reason to give the notice up, and the notice is then marked given up
(*abandoned*) with that reason instead of being sent.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import attrs

from commercekit.domain.customers import canonical_email
from commercekit.domain.errors import CommerceError, InvalidInput, InvalidTransition, NotFound
from commercekit.domain.events import (
    CaseOpened,
    CaseResolved,
    DomainEvent,
    OrderPaid,
    PaymentFailed,
    PaymentRefunded,
    RefundIssued,
    ReturnReceived,
    ReturnRequested,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentException,
)
from commercekit.domain.identifiers import check_key, check_text
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.orders import Order
from commercekit.domain.returns import RefundLedger, Return
from commercekit.ports.notifications import Message, Notifier, Templates
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_page_size

__all__ = ["Guard", "NotificationService", "Wanted"]

#: Looks at a notice about to be handed over, in the unit of work that claims it:
#: the reason to give it up, or ``None`` to send it.
Guard = Callable[[UnitOfWork, Notice], str | None]

log = logging.getLogger(__name__)

_BATCH: Final = 100


@attrs.frozen
class Wanted:
    """A notice an event calls for: its template, its key and its data."""

    template: str
    key: str
    order_id: str
    """The order it is about; empty for none (then it goes to ``recipient``)."""
    data: Mapping[str, Any]
    recipient: str = ""
    """Whom it goes to, when not to the order's email (a support case's customer)."""


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
            RefundIssued: self._refund_issued,
            ReturnRequested: self._return_requested,
            ReturnReceived: self._return_received,
            ShipmentDispatched: self._dispatched,
            ShipmentDelivered: self._delivered,
            ShipmentException: self._exception,
            CaseOpened: self._case_opened,
            CaseResolved: self._case_resolved,
        }
        self._guards: dict[str, Guard] = {}

    def _guard(self, template: str, guard: Guard) -> None:
        """Have ``guard`` look at every notice of ``template`` just before it is handed
        over (the store's services register theirs when they are made)."""
        self._guards[template] = guard

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

    def _refunded(self, uow: UnitOfWork, event: PaymentRefunded) -> Wanted | None:
        ledger = uow.records(RefundLedger).find(RefundLedger.key(event.order_id))
        payment = uow.payments.for_order(event.order_id)
        if (
            ledger is not None
            and payment is not None
            and ledger.gateway_units >= payment.refunded_units
        ):
            return None  # a refund of the ledger's: ``RefundIssued`` tells of it
        which = event.transaction_id or f"{event.occurred_at.isoformat()}:{event.amount_units}"
        return Wanted(
            "refund_issued",
            f"refund_issued:{event.payment_id}:{which}",
            event.order_id,
            {
                "amount_units": event.amount_units,
                "gateway_units": event.amount_units,
                "credit_units": 0,
                "refunded_at": event.occurred_at,
            },
        )

    def _refund_issued(self, uow: UnitOfWork, event: RefundIssued) -> Wanted | None:
        if event.to_exchange_units >= event.total_units:
            return None  # it all paid for a replacement order, whose own notices tell
        return Wanted(
            "refund_issued",
            f"refund_issued:{event.order_id}:{event.refund_id}",
            event.order_id,
            {
                "amount_units": event.total_units - event.to_exchange_units,
                "gateway_units": event.to_gateway_units,
                "credit_units": event.to_credit_units,
                "refunded_at": event.occurred_at,
            },
        )

    def _return_requested(self, uow: UnitOfWork, event: ReturnRequested) -> Wanted:
        found = uow.records(Return).get(event.return_id)
        lines = [
            {"sku": line.sku, "quantity": line.quantity, "reason": line.reason.value}
            for line in found.lines
        ]
        return Wanted(
            "return_requested",
            f"return_requested:{event.return_id}",
            event.order_id,
            {"return_id": event.return_id, "units": event.units, "lines": lines},
        )

    def _return_received(self, uow: UnitOfWork, event: ReturnReceived) -> Wanted:
        return Wanted(
            "return_received",
            f"return_received:{event.return_id}",
            event.order_id,
            {"return_id": event.return_id, "received_at": event.occurred_at},
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

    @staticmethod
    def _case(uow: UnitOfWork, template: str, event: CaseOpened | CaseResolved) -> Wanted:
        number = uow.orders.get(event.order_id).number if event.order_id else ""
        # A case resolved, reopened and resolved again is told again.
        when = f":{event.occurred_at.isoformat()}" if isinstance(event, CaseResolved) else ""
        return Wanted(
            template,
            f"{template}:{event.case_id}{when}",
            event.order_id,
            {
                "case_id": event.case_id,
                "subject": event.subject,
                "order_number": number,
                "at": event.occurred_at,
            },
            recipient=event.email,
        )

    def _case_opened(self, uow: UnitOfWork, event: CaseOpened) -> Wanted:
        return self._case(uow, "case_opened", event)

    def _case_resolved(self, uow: UnitOfWork, event: CaseResolved) -> Wanted:
        return self._case(uow, "case_resolved", event)

    # --- recording and sending -----------------------------------------------------

    def on_events(self, events: Sequence[DomainEvent]) -> int:
        """Record the notices these committed events call for (each once), then hand
        those to the notifier. Never raises: a failure is logged, and the notice is
        tried again by :meth:`send_due` (run it from a worker, every few minutes).

        :returns: how many new notices were recorded.
        :raises InvalidInput: naming ``events``, for anything but a list (or tuple).
        """
        if not isinstance(events, list | tuple):
            raise InvalidInput("must be a list of events", field="events")
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
        if wanted is None or (order is None and not wanted.recipient):
            return None
        if wanted.recipient:
            email = wanted.recipient
            who = canonical_email(email, subaddressing=self._rt.settings.email_subaddressing)
        elif order is not None and order.email:
            email, who = order.email, order.email_key or order.email
        else:
            return None
        key = f"{wanted.key}:{who}"
        if self._read(lambda uow: uow.notices.find(key)) is not None:
            return None
        channel = self._rt.settings.channels.get(order.channel or "") if order else None
        locale = channel.locale if channel is not None else "en"
        data = {
            "order_id": order.id if order else "",
            "email": email,
            "currency": order.currency if order else "",
            **wanted.data,
        }
        rendered = self._templates.render(wanted.template, data, locale=locale)
        notice = Notice(
            id=key,
            recipient=email,
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
            order = (
                None if wanted is None or not wanted.order_id else uow.orders.get(wanted.order_id)
            )
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
            guard = self._guards.get(notice.template)
            try:
                refusal = None if guard is None else guard(uow, notice)
            except Exception:  # it waits, unsent, until it can be looked at
                log.exception("could not look at the notice %s before sending it", key)
                return None
            notice.start()
            if refusal is not None:
                log.info("notice %s given up: %s", key, refusal)
                notice.refused(refusal)
                uow.notices.save(notice)
                return None
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

    def resend(self, key: str, *, reference: str = "") -> Notice:
        """Send a notice that went (or was given up) once more: a copy of it, stored
        under its own key (``<key>:resend:<reference>``), is handed to the notifier
        as any notice is, and is tried again by :meth:`send_due` if that fails.

        :param reference: what this sending is for (a support case's action): the
            same reference again sends nothing more. A new one is made if empty.
        :returns: the copy, as it stands after the attempt (left waiting when the
            store has no notifier).
        :raises NotFound: naming ``key``, for no notice stored under it.
        :raises InvalidTransition: for a notice still waiting to be sent (it goes
            anyway).
        """
        check_text(key, "key", max_length=400)
        check_key(reference, "reference")
        reference = reference or self._rt.ids.new_id("resend")
        copy_key = f"{key}:resend:{reference}"
        if len(copy_key) > 400:
            copy_key = f"resend:{reference}:{hashlib.sha256(key.encode()).hexdigest()}"

        def add(uow: UnitOfWork) -> bool:
            if uow.notices.find(copy_key) is not None:
                return False
            original = uow.notices.find(key)
            if original is None:
                raise NotFound("notice", key, field="key")
            if original.status not in (NoticeStatus.SENT, NoticeStatus.ABANDONED):
                raise InvalidTransition("notice", original.status.value, "send again")
            uow.notices.add(
                Notice(
                    id=copy_key,
                    recipient=original.recipient,
                    template=original.template,
                    subject=original.subject,
                    text=original.text,
                    html=original.html,
                    created_at=self.now,
                )
            )
            return True

        if self._run(add) and self._notifier is not None:
            self._send(copy_key)
        copy = self._read(lambda uow: uow.notices.find(copy_key))
        assert copy is not None  # notices are never deleted
        return copy
