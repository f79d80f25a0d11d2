"""Customer service: support cases, their threads, what was done from them, and the
cases whose reply is overdue.

A case is one record (see :mod:`commercekit.domain.support`), written whole and
version-checked: of two agents replying at once, one commits first and the other's
unit of work runs again on the case as it now stands, so the thread holds both
replies. An action taken from a case (a refund, a reshipment, a notice sent again)
is recorded on the case and in its order's history in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

import moneyed

from commercekit.domain.customers import canonical_email, check_customer_id
from commercekit.domain.errors import InvalidInput, InvalidTransition, NotFound
from commercekit.domain.identifiers import check_key, check_text, check_whole_number
from commercekit.domain.money import from_minor_units
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.orders import Order
from commercekit.domain.returns import Claim, Refund, Return
from commercekit.domain.support import (
    MAX_BODY_LENGTH,
    MAX_DETAIL_LENGTH,
    MAX_SUBJECT_LENGTH,
    RESPONSE_TARGETS,
    ActionKind,
    CaseChannel,
    CasePriority,
    CaseStatus,
    SupportCase,
)
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_choice, check_page_size
from commercekit.services.edits import OrderEdit, OrderEditService
from commercekit.services.notifications import NotificationService
from commercekit.services.refunds import RefundService
from commercekit.services.returns import ReturnService
from commercekit.services.schemas import ContactIn, parse

__all__ = ["SupportService"]

#: How many overdue cases :meth:`SupportService.overdue` reads to put the most
#: overdue first: storage hands them over oldest opened first.
OVERDUE_SCAN: Final = 10_000


def _optional_key(value: object, field: str) -> str | None:
    """``None``, or a key that is more than spaces."""
    return None if value is None else check_text(value, field)


def _who(customer_id: object, email: object) -> tuple[str | None, str | None]:
    """A customer's id or a guest's email address, exactly one of them.

    :raises InvalidInput: naming ``customer_id`` for neither, ``email`` for both or
        for an address that is not one.
    """
    if customer_id is None and email is None:
        raise InvalidInput("give the customer's id or, for a guest, an email", field="customer_id")
    if customer_id is not None and email is not None:
        raise InvalidInput("give the customer's id or an email, not both", field="email")
    if customer_id is not None:
        return check_customer_id(customer_id), None
    return None, parse(ContactIn, {"email": email}, field="email").email


class SupportService(Service):
    """Open and answer support cases; list those overdue; record what was done.

    :param targets: how long after a customer's message a reply is owed, by
        priority (:data:`~commercekit.domain.support.RESPONSE_TARGETS` for any not
        given).
    """

    def __init__(
        self,
        runtime: Runtime,
        notifications: NotificationService,
        *,
        refunds: RefundService,
        returns: ReturnService,
        edits: OrderEditService,
        targets: Mapping[CasePriority, timedelta] | None = None,
    ) -> None:
        super().__init__(runtime)
        self._notifications = notifications
        self._refunds = refunds
        self._returns = returns
        self._edits = edits
        self._targets: Mapping[CasePriority, timedelta] = {**RESPONSE_TARGETS, **(targets or {})}

    def _email_key(self, email: str) -> str:
        return canonical_email(email, subaddressing=self._rt.settings.email_subaddressing)

    # --- opening a case ------------------------------------------------------------

    def open_case(
        self,
        subject: str,
        body: str,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        channel: CaseChannel | str = CaseChannel.WEB,
        order_id: str | None = None,
        shipment_id: str | None = None,
        return_id: str | None = None,
        priority: CasePriority | str = CasePriority.NORMAL,
        actor: str = "customer",
    ) -> SupportCase:
        """Open a case for a signed-in customer (``customer_id``) or a guest
        (``email``), its first message ``body``; a reply is owed from now. The
        customer is told (``case_opened``) at their email: the guest's, the
        customer's record's, or the order's.

        :param order_id: the order it is about, which must be the customer's (placed
            under their id, or with the guest's email in any spelling).
        :param shipment_id: a shipment it is about: its order is the case's order.
        :param return_id: a return it is about, kept as given.
        :raises InvalidInput: naming the argument that breaks its rule.
        :raises NotFound: naming ``order_id`` or ``shipment_id``, for one that does
            not exist or is not the customer's (the two are not told apart).
        """
        subject = check_text(subject, "subject", max_length=MAX_SUBJECT_LENGTH)
        check_text(body, "body", max_length=MAX_BODY_LENGTH)
        customer, guest = _who(customer_id, email)
        kind = check_choice(channel, CaseChannel, "channel")
        order_ref = _optional_key(order_id, "order_id")
        shipment_ref = _optional_key(shipment_id, "shipment_id")
        return_ref = _optional_key(return_id, "return_id")
        level = check_choice(priority, CasePriority, "priority")
        check_key(actor, "actor")
        guest_key = None if guest is None else self._email_key(guest)

        def work(uow: UnitOfWork) -> SupportCase:
            about, field = order_ref, "order_id"
            if shipment_ref is not None:
                about, field = _shipment_order(uow, shipment_ref, about), "shipment_id"
            order = None if about is None else _owned(uow, about, customer, guest_key, field)
            contact = guest or ""
            if customer is not None:
                record = uow.customers.find(customer)
                contact = record.email if record is not None else ""
            if not contact and order is not None:
                contact = order.email
            case = SupportCase.open(
                id=self._rt.ids.new_id("case"),
                subject=subject,
                body=body,
                channel=kind,
                at=self.now,
                actor=actor,
                customer_id=customer,
                email=contact,
                email_key=self._email_key(contact) if contact else "",
                order_id=about,
                shipment_id=shipment_ref,
                return_id=return_ref,
                priority=level,
                targets=self._targets,
            )
            uow.records(SupportCase).add(case)
            return case

        return self._run(work)

    # --- the thread ----------------------------------------------------------------

    def _change(self, case_id: str, change: Callable[[SupportCase], object]) -> SupportCase:
        def work(uow: UnitOfWork) -> SupportCase:
            case = uow.records(SupportCase).get(case_id)
            change(case)
            uow.records(SupportCase).save(case)
            return case

        return self._run(work)

    def reply(self, case_id: str, body: str, *, actor: str = "staff") -> SupportCase:
        """An agent's reply: no reply is owed any more.

        :raises NotFound: naming ``case_id``.
        :raises InvalidTransition: for a closed case, or one whose thread is full.
        """
        check_key(case_id, "case_id")
        check_text(body, "body", max_length=MAX_BODY_LENGTH)
        check_key(actor, "actor")
        return self._change(case_id, lambda case: case.reply(body, at=self.now, actor=actor))

    def customer_message(
        self,
        case_id: str,
        body: str,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        actor: str = "customer",
    ) -> SupportCase:
        """A message from the case's customer (by ``customer_id``, or a guest's
        ``email`` in any spelling): a case waiting on them or resolved opens again,
        and a reply is owed.

        :raises NotFound: naming ``case_id``, for no case, or one that is not theirs
            (the two are not told apart).
        :raises InvalidTransition: for a closed case, or one whose thread is full.
        """
        check_key(case_id, "case_id")
        check_text(body, "body", max_length=MAX_BODY_LENGTH)
        customer, guest = _who(customer_id, email)
        check_key(actor, "actor")
        guest_key = None if guest is None else self._email_key(guest)

        def work(uow: UnitOfWork) -> SupportCase:
            case = uow.records(SupportCase).find(case_id)
            if case is None or not case.belongs_to(customer_id=customer, email_key=guest_key):
                raise NotFound("support case", case_id, field="case_id")
            case.customer_message(body, at=self.now, actor=actor, targets=self._targets)
            uow.records(SupportCase).save(case)
            return case

        return self._run(work)

    def set_status(self, case_id: str, status: CaseStatus | str) -> SupportCase:
        """Move the case on: ``open``, ``waiting_on_customer``, ``resolved`` (the
        customer is told, ``case_resolved``) or ``closed`` (final).

        :raises NotFound: naming ``case_id``.
        :raises InvalidTransition: for a move its status does not allow.
        """
        check_key(case_id, "case_id")
        wanted = check_choice(status, CaseStatus, "status")
        return self._change(
            case_id, lambda case: case.set_status(wanted, at=self.now, targets=self._targets)
        )

    def set_priority(self, case_id: str, priority: CasePriority | str) -> SupportCase:
        """Change how soon a reply is owed: one owed now is owed by the new priority's
        target, counted from the same message.

        :raises NotFound: naming ``case_id``.
        :raises InvalidTransition: for a closed case.
        """
        check_key(case_id, "case_id")
        wanted = check_choice(priority, CasePriority, "priority")
        return self._change(case_id, lambda case: case.set_priority(wanted, targets=self._targets))

    def assign(self, case_id: str, agent_id: str) -> SupportCase:
        """Give the case to an agent (``""``: to nobody).

        :raises NotFound: naming ``case_id``.
        :raises InvalidTransition: for a closed case.
        """
        check_key(case_id, "case_id")
        agent = check_key(agent_id, "agent_id").strip()
        return self._change(case_id, lambda case: case.assign(agent))

    # --- reading -------------------------------------------------------------------

    def get(self, case_id: str) -> SupportCase:
        """A case by id.

        :raises NotFound: naming ``case_id``.
        """
        check_key(case_id, "case_id")
        return self._read(lambda uow: uow.records(SupportCase).get(case_id))

    def for_customer(self, customer_id: str, *, limit: int = 50) -> list[SupportCase]:
        """A signed-in customer's cases, oldest first.

        :param limit: a whole number, or its digits as a form sends them.
        """
        owner = f"customer:{check_customer_id(customer_id)}"
        most = check_page_size(check_whole_number(limit, "limit"))
        return self._read(lambda uow: uow.records(SupportCase).where(owner=owner, limit=most))

    def for_email(self, email: str, *, limit: int = 50) -> list[SupportCase]:
        """A guest's cases, by their email in any spelling, oldest first."""
        typed = check_text(email, "email", max_length=320)
        owner = f"email:{self._email_key(typed)}"
        most = check_page_size(check_whole_number(limit, "limit"))
        return self._read(lambda uow: uow.records(SupportCase).where(owner=owner, limit=most))

    def for_order(self, order_id: str, *, limit: int = 50) -> list[SupportCase]:
        """The cases about an order (or one of its shipments), oldest first."""
        check_key(order_id, "order_id")
        most = check_page_size(check_whole_number(limit, "limit"))
        return self._read(lambda uow: uow.records(SupportCase).where(ref=order_id, limit=most))

    def in_status(self, status: CaseStatus | str, *, limit: int = 50) -> list[SupportCase]:
        """The cases in ``status``, oldest first: an agent's queue.

        :param status: a :class:`~commercekit.domain.support.CaseStatus` or its value.
        """
        state = check_choice(status, CaseStatus, "status").value
        most = check_page_size(check_whole_number(limit, "limit"))
        return self._read(lambda uow: uow.records(SupportCase).where(state=state, limit=most))

    def overdue(self, *, limit: int = 50) -> list[SupportCase]:
        """The cases whose reply was owed before now (the store's clock), the most
        overdue first: what an agent picks up next.

        Of more than :data:`OVERDUE_SCAN` overdue cases, those opened first are
        ranked.
        """
        most = check_page_size(check_whole_number(limit, "limit"))
        now = self.now
        found = self._read(
            lambda uow: uow.records(SupportCase).where(
                state=CaseStatus.OPEN.value, due_before=now, limit=OVERDUE_SCAN
            )
        )
        found.sort(key=lambda case: (case.response_due or now, case.id))
        return found[:most]

    # --- what was done -------------------------------------------------------------

    def record_action(
        self, case_id: str, kind: ActionKind | str, detail: str, *, actor: str = "staff"
    ) -> SupportCase:
        """Record something done from the case (a refund, a reshipment, a return
        started, the order edited): on the case, and, for a case about an order, in
        the order's history (``support:<kind>``), in one unit of work.

        :raises NotFound: naming ``case_id``.
        :raises InvalidTransition: for a closed case.
        """
        check_key(case_id, "case_id")
        action = check_choice(kind, ActionKind, "kind")
        check_text(detail, "detail", max_length=MAX_DETAIL_LENGTH, blank=True)
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> SupportCase:
            case = uow.records(SupportCase).get(case_id)
            self._record(uow, case, action, detail, actor=actor)
            return case

        return self._run(work)

    def _record(
        self, uow: UnitOfWork, case: SupportCase, kind: ActionKind, detail: str, *, actor: str
    ) -> None:
        now = self.now
        case.record(kind, detail, at=now, actor=actor)
        uow.records(SupportCase).save(case)
        if case.order_id is not None:
            order = uow.orders.get(case.order_id)
            said = f"case {case.id}: {detail}" if detail else f"case {case.id}"
            order.note(f"support:{kind.value}", said, at=now, actor=actor)
            uow.orders.save(order)

    # --- acting from a case ----------------------------------------------------------

    def _order_of(self, case_id: str) -> str:
        """The order a case is about, checked before anything is done from it.

        :raises InvalidTransition: for a closed case, or one about no order.
        """
        case = self.get(case_id)
        if case.status is CaseStatus.CLOSED:
            raise InvalidTransition("case", case.status.value, "act from")
        if case.order_id is None:
            raise InvalidTransition("case", "about no order", "act on an order from")
        return case.order_id

    def refund(
        self,
        case_id: str,
        amount: moneyed.Money,
        *,
        reason: str,
        to_store_credit: moneyed.Money | bool = False,
        actor: str = "staff",
    ) -> Refund:
        """Give back ``amount`` of the case's order as goodwill (see
        :meth:`RefundService.goodwill`), recorded on the case and the order.

        :raises InvalidTransition: for a closed case, or one about no order.
        """
        check_key(case_id, "case_id")
        check_key(actor, "actor")
        order_id = self._order_of(case_id)
        refund = self._refunds.goodwill(
            order_id, amount, reason=reason, to_store_credit=to_store_credit, actor=actor
        )
        total = from_minor_units(refund.plan.total_units, refund.plan.currency).amount
        detail = f"{refund.id}: {total} {refund.plan.currency}; {refund.reason}"
        self.record_action(case_id, ActionKind.REFUND, detail[:MAX_DETAIL_LENGTH], actor=actor)
        return refund

    def start_return(
        self,
        case_id: str,
        lines: Sequence[Mapping[str, Any]],
        *,
        note: str = "",
        actor: str = "staff",
    ) -> Return:
        """Ask for a return of the case's order on the customer's behalf (see
        :meth:`ReturnService.request`), recorded on the case and the order.

        :raises InvalidTransition: for a closed case, or one about no order.
        """
        check_key(case_id, "case_id")
        check_key(actor, "actor")
        order_id = self._order_of(case_id)
        made = self._returns.request(order_id, lines, note=note, actor=actor)
        detail = f"{made.id}: {made.unit_count} unit(s)"
        self.record_action(case_id, ActionKind.RETURN_STARTED, detail, actor=actor)
        return made

    def edit_order(
        self,
        case_id: str,
        quantities: Mapping[str, int],
        *,
        shipping_address: Mapping[str, Any] | None = None,
        actor: str = "staff",
    ) -> OrderEdit:
        """Change the case's order before it ships (see
        :meth:`~commercekit.services.orders.OrderService.edit`), recorded on the case
        and the order.

        :raises InvalidTransition: for a closed case, or one about no order.
        """
        check_key(case_id, "case_id")
        check_key(actor, "actor")
        order_id = self._order_of(case_id)
        edit = self._edits.edit(
            order_id, quantities, shipping_address=shipping_address, actor=actor
        )
        currency = edit.order.currency
        detail = (
            f"total {from_minor_units(edit.before_units, currency).amount} -> "
            f"{from_minor_units(edit.after_units, currency).amount} {currency}"
        )
        self.record_action(case_id, ActionKind.ORDER_EDITED, detail, actor=actor)
        return edit

    def reship(
        self,
        case_id: str,
        shipment_id: str,
        *,
        kind: str = "lost",
        location_id: str | None = None,
        actor: str = "staff",
    ) -> Claim:
        """Send a lost or damaged shipment of the case's order again (see
        :meth:`ReturnService.claim`), recorded on the case and the order.

        :raises InvalidTransition: for a closed case, one about no order, or a
            shipment of another order.
        """
        check_key(case_id, "case_id")
        check_key(shipment_id, "shipment_id")
        check_key(actor, "actor")
        order_id = self._order_of(case_id)
        claimed = self._returns.claim(
            shipment_id,
            kind=kind,
            resolution="reship",
            location_id=location_id,
            actor=actor,
            order_id=order_id,
        )
        detail = f"{claimed.replacement_id} sends again what {shipment_id} carried"
        self.record_action(case_id, ActionKind.RESHIPMENT, detail, actor=actor)
        return claimed

    def resend_notification(self, case_id: str, key: str, *, actor: str = "staff") -> Notice:
        """Send a notice the case's customer was sent before once more (see
        :meth:`NotificationService.resend`), recorded on the case (and its order)
        first, as ``notification_resent``.

        :param key: the notice's key, as :meth:`NotificationService.find` takes it.
        :returns: the copy sent.
        :raises NotFound: naming ``case_id``; naming ``key`` for no such notice, or
            one that went to another address than the case's.
        :raises InvalidTransition: for a closed case, or a notice not sent yet.
        """
        check_key(case_id, "case_id")
        check_text(key, "key", max_length=400)
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> str:
            case = uow.records(SupportCase).get(case_id)
            notice = uow.notices.find(key)
            if notice is None or not case.email_key:
                raise NotFound("notice", key, field="key")
            if self._email_key(notice.recipient) != case.email_key:
                raise NotFound("notice", key, field="key")
            if notice.status not in (NoticeStatus.SENT, NoticeStatus.ABANDONED):
                raise InvalidTransition("notice", notice.status.value, "send again")
            self._record(uow, case, ActionKind.NOTIFICATION_RESENT, f"notice {key}", actor=actor)
            # One sending per action: recording it again would send it again.
            return f"{case.id}:{len(case.actions)}"

        reference = self._run(work)
        return self._notifications.resend(key, reference=reference)


def _shipment_order(uow: UnitOfWork, shipment_id: str, order_id: str | None) -> str:
    """The id of the order the shipment is of, which must be ``order_id`` if given.

    :raises NotFound: naming ``shipment_id``, for no such shipment, or one of another
        order.
    """
    try:
        shipment = uow.shipments.get(shipment_id)
    except NotFound:
        shipment = None
    if shipment is None or order_id not in (None, shipment.order_id):
        raise NotFound("shipment", shipment_id, field="shipment_id")
    return shipment.order_id


def _owned(
    uow: UnitOfWork, order_id: str, customer_id: str | None, email_key: str | None, field: str
) -> Order:
    """The order, if it is the customer's (or the guest's, by email).

    :raises NotFound: naming ``field``, for one that does not exist or is not theirs.
    """
    try:
        order = uow.orders.get(order_id)
    except NotFound:
        raise NotFound("order", order_id, field=field) from None
    if customer_id is not None:
        theirs = order.customer_id == customer_id
    else:
        theirs = bool(email_key) and order.email_key == email_key
    if not theirs:
        raise NotFound("order", order_id, field=field)
    return order
