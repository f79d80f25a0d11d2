"""Invoicing: an invoice for every paid order and a credit note for every refund,
numbered without gaps per channel, and rendered as HTML and text.

Each document is issued once: its id is derived from the order (and the refund), so
asking again, or two callers asking at once, gives the one stored. Its number is
taken from the series' :class:`~commercekit.domain.sequences.NumberSequence` in the
unit of work that stores it: of two documents numbered at once, one commits and the
other is tried again with the next number, and a unit of work that fails takes
nothing. So the numbers run 1, 2, 3... per series and channel, never twice and never
with a gap.

A store whose configuration names its ``seller`` issues them as things happen: the
store hands committed events to :meth:`InvoicingService.on_events`, which invoices an
order once its money is captured (or it settled free) and credits each refund once
it is done. A failure there never undoes the capture or the refund: the document is
kept as owed, and :meth:`InvoicingService.issue_due` issues it later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from commercekit.domain.errors import InvalidInput, InvalidTransition, NotFound, shown
from commercekit.domain.events import DomainEvent, OrderPaid, PaymentCaptured, RefundIssued
from commercekit.domain.identifiers import check_key
from commercekit.domain.invoicing import (
    CREDIT_NOTE_SERIES,
    INVOICE_SERIES,
    NO_TAX,
    SHIPPING_TAX,
    CreditNote,
    DocumentLine,
    Invoice,
    Party,
    PendingDocument,
    build_credit_note,
    build_invoice,
    check_invoice_due,
    document_number,
    invoice_due,
    percent,
)
from commercekit.domain.orders import Order
from commercekit.domain.returns.refunds import RefundLedger
from commercekit.domain.sequences import NumberSequence
from commercekit.ports.notifications import Templates
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_page_size

__all__ = ["FORMATS", "InvoicingService", "credit_note_data", "document_order", "invoice_data"]

log = logging.getLogger(__name__)

#: What :meth:`InvoicingService.render` makes of a document.
FORMATS: Final = ("html", "text")
#: Tries of a unit of work that numbers a document: each lost race means another
#: document took the number, so a burst of N documents at once needs up to N tries.
ATTEMPTS: Final = 64
#: The most credit notes one read returns for an order.
_MOST_NOTES: Final = 1000


# --- what the templates get -------------------------------------------------------------


def _party(party: Party) -> dict[str, Any]:
    return {
        "name": party.name,
        "address": list(party.address),
        "tax_id": party.tax_id,
        "email": party.email,
    }


def _line(line: DocumentLine) -> dict[str, Any]:
    return {
        "kind": line.kind.value,
        "description": line.description,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price_units": line.unit_price_units,
        "discount_units": line.discount_units,
        "net_units": line.net_units,
        "tax_units": line.tax_units,
        "total_units": line.total_units,
    }


def _common(document: Invoice | CreditNote) -> dict[str, Any]:
    return {
        "number": document.number,
        "issued_at": document.issued_at,
        "order_id": document.order_id,
        "currency": document.currency,
        "prices_include_tax": document.prices_include_tax,
        "seller": _party(document.seller),
        "buyer": _party(document.buyer),
        "lines": [_line(line) for line in document.lines],
        "shipping": None if document.shipping is None else _line(document.shipping),
        "tax_summary": [
            {
                "name": row.name,
                "rate": row.rate,
                "percent": percent(row.rate),
                "untaxed": (row.name, row.rate) == NO_TAX,
                "shipping": (row.name, row.rate) == SHIPPING_TAX,
                "net_units": row.net_units,
                "tax_units": row.tax_units,
                "gross_units": row.gross_units,
            }
            for row in document.tax_summary
        ],
        "net_units": document.totals.net_units,
        "tax_units": document.totals.tax_units,
        "gross_units": document.totals.gross_units,
    }


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    """What the ``invoice`` template gets: plain values, money in minor units."""
    return {"document": "invoice", **_common(invoice)}


def credit_note_data(note: CreditNote) -> dict[str, Any]:
    """What the ``credit_note`` template gets: plain values, money in minor units,
    each an amount given back (a fee kept is negative)."""
    return {
        "document": "credit_note",
        **_common(note),
        "invoice_number": note.invoice_number,
        "refund_id": note.refund_id,
        "return_id": note.return_id,
        "reason": note.reason,
        "adjustments": [_line(line) for line in note.adjustments],
    }


# --- reading -----------------------------------------------------------------------------


def document_order(uow: UnitOfWork, document_id: str) -> str | None:
    """The id of the order an invoice or credit note is of, if there is one by that id."""
    document = uow.records(Invoice).find(document_id) or uow.records(CreditNote).find(document_id)
    return None if document is None else document.order_id


def _take(uow: UnitOfWork, series: str, scope: str, *, at: datetime) -> int:
    """The next number of ``series`` in ``scope``, taken in this unit of work."""
    sequences = uow.records(NumberSequence)
    sequence = sequences.find(NumberSequence.key(series, scope))
    if sequence is None:
        sequence = NumberSequence.start(series, scope, at=at)
        number = sequence.take()
        sequences.add(sequence)
    else:
        number = sequence.take()
        sequences.save(sequence)
    return number


def _check_actor(actor: object) -> str:
    return check_key(actor, "actor")


class InvoicingService(Service):
    """Issues, finds and renders a store's invoices and credit notes."""

    def __init__(self, runtime: Runtime, templates: Templates) -> None:
        super().__init__(runtime)
        self._templates = templates

    @property
    def automatic(self) -> bool:
        """Whether documents are issued as payments are captured and refunds done
        (the store's configuration names its seller, and does not say otherwise)."""
        seller = self._rt.settings.seller
        return seller is not None and seller.automatic

    def _seller(self) -> Party:
        seller = self._rt.settings.seller
        return Party() if seller is None else seller.party()

    def _number(self, uow: UnitOfWork, series: str, scope: str) -> tuple[str, int]:
        seller = self._rt.settings.seller
        if seller is None:
            prefix, digits = ("INV" if series == INVOICE_SERIES else "CN"), 6
        elif series == INVOICE_SERIES:
            prefix, digits = seller.invoice_prefix, seller.number_digits
        else:
            prefix, digits = seller.credit_note_prefix, seller.number_digits
        number = _take(uow, series, scope, at=self.now)
        return document_number(prefix, scope, number, digits), number

    # --- issuing -----------------------------------------------------------------------

    def _invoice(self, uow: UnitOfWork, order: Order, actor: str) -> tuple[Invoice, bool]:
        """The order's invoice, issued in this unit of work if it has none yet.

        :returns: it, and whether it is new.
        """
        invoices = uow.records(Invoice)
        found = invoices.find(Invoice.key(order.id))
        if found is not None:
            return found, False
        check_invoice_due(order)
        number, sequence = self._number(uow, INVOICE_SERIES, order.channel or "")
        invoice = build_invoice(
            order,
            number=number,
            sequence=sequence,
            seller=self._seller(),
            issued_at=self.now,
            issued_by=actor,
        )
        invoices.add(invoice)
        return invoice, True

    def _issue_invoice(self, order_id: str, actor: str) -> tuple[Invoice, bool]:
        def work(uow: UnitOfWork) -> tuple[Invoice, bool]:
            found = uow.records(Invoice).find(Invoice.key(order_id))
            if found is not None:
                return found, False
            return self._invoice(uow, uow.orders.get(order_id), actor)

        return self._run(work, attempts=ATTEMPTS)

    def issue_invoice(self, order_id: str, *, actor: str = "staff") -> Invoice:
        """The invoice of a paid order: issued now with the next number of its
        channel's series, or the one issued before (an order has one invoice).

        :raises NotFound: naming ``order_id``, for an unknown order.
        :raises InvalidTransition: for an order not paid yet: it is invoiced once it is
            open or completed and its money was captured (in part or whole), or it
            settled free.
        """
        check_key(order_id, "order_id")
        _check_actor(actor)
        return self._issue_invoice(order_id, actor)[0]

    def _issue_credit_note(
        self, order_id: str, refund_id: str, actor: str
    ) -> tuple[CreditNote, bool]:
        def work(uow: UnitOfWork) -> tuple[CreditNote, bool]:
            notes = uow.records(CreditNote)
            found = notes.find(CreditNote.key(order_id, refund_id))
            if found is not None:
                return found, False
            order = uow.orders.get(order_id)
            ledger = uow.records(RefundLedger).find(RefundLedger.key(order_id))
            refund = next(
                (r for r in (ledger.refunds if ledger else ()) if r.id == refund_id), None
            )
            if refund is None:
                raise NotFound("refund", refund_id, field="refund_id")
            invoice, _ = self._invoice(uow, order, actor)
            number, sequence = self._number(uow, CREDIT_NOTE_SERIES, order.channel or "")
            note = build_credit_note(
                order,
                refund,
                invoice,
                number=number,
                sequence=sequence,
                seller=self._seller(),
                issued_at=self.now,
                issued_by=actor,
            )
            notes.add(note)
            return note, True

        return self._run(work, attempts=ATTEMPTS)

    def credit_note_for_refund(
        self, order_id: str, refund_id: str, *, actor: str = "staff"
    ) -> CreditNote:
        """The credit note of a refund of an order: issued now (after the order's
        invoice, in the same unit of work, if it has none yet), or the one issued
        before (a refund has one credit note).

        :raises NotFound: naming ``order_id`` or ``refund_id``, for an unknown order,
            or a refund the order's ledger does not hold.
        :raises InvalidTransition: for a refund not done yet (the gateway has not
            answered) or refused, or an order that cannot be invoiced.
        """
        check_key(order_id, "order_id")
        check_key(refund_id, "refund_id")
        _check_actor(actor)
        return self._issue_credit_note(order_id, refund_id, actor)[0]

    # --- finding and rendering --------------------------------------------------------

    def invoice_for(self, order_id: str) -> Invoice | None:
        """The invoice of an order, if it has been issued."""
        check_key(order_id, "order_id")
        return self._read(lambda uow: uow.records(Invoice).find(Invoice.key(order_id)))

    def credit_notes_for(self, order_id: str) -> list[CreditNote]:
        """The credit notes of an order, in the order they were issued."""
        check_key(order_id, "order_id")
        found = self._read(
            lambda uow: uow.records(CreditNote).where(ref=order_id, limit=_MOST_NOTES)
        )
        return sorted(found, key=lambda note: (note.sequence, note.issued_at))

    def _locale(self, channel: str) -> str:
        found = self._rt.settings.channels.get(channel) if channel else None
        return "en" if found is None else found.locale

    def render(self, document_id: str, format: str = "html") -> str:
        """An invoice or a credit note, by its id, as HTML or plain text (templates
        ``invoice`` and ``credit_note``), money formatted for its channel's locale.

        :param format: ``"html"`` or ``"text"``.
        :raises NotFound: naming ``document_id``, for no document by that id.
        :raises InvalidInput: naming ``format``, for another format.
        """
        check_key(document_id, "document_id")
        if format not in FORMATS:
            raise InvalidInput(
                f"must be one of {', '.join(FORMATS)}, not {shown(format)}", field="format"
            )

        def read(uow: UnitOfWork) -> Invoice | CreditNote | None:
            return uow.records(Invoice).find(document_id) or uow.records(CreditNote).find(
                document_id
            )

        document = self._read(read)
        if document is None:
            raise NotFound("document", document_id, field="document_id")
        if isinstance(document, Invoice):
            name, data = "invoice", invoice_data(document)
        else:
            name, data = "credit_note", credit_note_data(document)
        rendered = self._templates.render(name, data, locale=self._locale(document.channel))
        return rendered.html if format == "html" else rendered.text

    # --- issuing as things happen -----------------------------------------------------

    def _owed(self, order_id: str, refund_id: str) -> bool:
        """Issue what is owed for an order (its invoice) or a refund (its credit note).

        :returns: whether a document was issued now.
        """
        if refund_id:
            return self._issue_credit_note(order_id, refund_id, "system")[1]
        try:
            order = self._read(lambda uow: uow.orders.get(order_id))
        except NotFound:
            return False
        if not invoice_due(order):
            return False
        return self._issue_invoice(order_id, "system")[1]

    def on_events(self, events: Sequence[DomainEvent]) -> int:
        """Issue the documents these committed events call for: an order's invoice once
        its money is captured (``PaymentCaptured``, or ``OrderPaid`` of an order that
        settled free), a refund's credit note once it is done (``RefundIssued``). Only
        when :attr:`automatic`. Never raises for a document: one that could not be
        issued is kept as owed, and :meth:`issue_due` tries it again (the same event
        delivered again issues nothing twice).

        :returns: how many documents were issued now.
        :raises InvalidInput: naming ``events``, for anything but a list (or tuple).
        """
        if not isinstance(events, list | tuple):
            raise InvalidInput("must be a list of events", field="events")
        if not self.automatic:
            return 0
        owed: dict[tuple[str, str], None] = {}
        for event in events:
            if isinstance(event, PaymentCaptured | OrderPaid):
                owed[(event.order_id, "")] = None
            elif isinstance(event, RefundIssued):
                owed[(event.order_id, event.refund_id)] = None
        issued = 0
        for order_id, refund_id in owed:
            try:
                issued += self._owed(order_id, refund_id)
            except (InvalidTransition, NotFound) as refused:
                log.warning("no document for order %s: %s", order_id, refused)
            except Exception as error:  # the capture or refund stands; owed, tried later
                log.exception("could not issue the document owed for order %s", order_id)
                self._remember(order_id, refund_id, repr(error))
        return issued

    def _remember(self, order_id: str, refund_id: str, error: str) -> None:
        def work(uow: UnitOfWork) -> None:
            pending = uow.records(PendingDocument)
            found = pending.find(PendingDocument.key(order_id, refund_id))
            if found is None:
                found = PendingDocument.owed(order_id, refund_id, at=self.now)
                found.failed(error)
                pending.add(found)
            else:
                found.failed(error)
                pending.save(found)

        try:
            self._run(work)
        except Exception:  # nothing more can be done now; the error is logged
            log.exception("could not keep the document owed for order %s", order_id)

    def issue_due(self, *, limit: int = 100) -> int:
        """Issue the documents owed since :meth:`on_events` could not issue them (run
        it from a worker every few minutes). One that can no longer be issued (its
        order cancelled since, say) is no longer owed.

        :param limit: how many owed documents to try, at most.
        :returns: how many were issued now.
        """
        most = check_page_size(limit, most=10_000)
        due = self._read(lambda uow: uow.records(PendingDocument).where(state="due", limit=most))
        issued = 0
        for owed in due:
            try:
                issued += self._owed(owed.order_id, owed.refund_id)
            except (InvalidTransition, NotFound) as refused:
                self._settle(owed.id, f"no longer owed: {refused}")
            except Exception as error:
                log.exception("could not issue the document owed for order %s", owed.order_id)
                self._settle(owed.id, repr(error), failed=True)
            else:
                self._settle(owed.id, "")
        return issued

    def _settle(self, pending_id: str, error: str, *, failed: bool = False) -> None:
        def work(uow: UnitOfWork) -> None:
            pending = uow.records(PendingDocument)
            found = pending.find(pending_id)
            if found is None or found.done:
                return
            if failed:
                found.failed(error)
            else:
                found.issued(error)
            pending.save(found)

        self._run(work)
