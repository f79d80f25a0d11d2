"""Invoices and credit notes: what an order was sold for, and what of it went back,
as documents with gapless numbers.

An :class:`Invoice` is built from an order once it is paid: its lines as frozen at
the price paid, its shipping, a tax summary per rate and its totals, each figure in
minor units exactly as the order has it. A :class:`CreditNote` is built from one
refund of the order's ledger: the goods and the shipping that went back with the tax
the refund gave back per rate, a goodwill amount, a restocking fee and whatever the
refund was limited by, so that its gross is the refund's total to the minor unit.

Figures add up by construction: every line's ``net + tax == total``; the totals are
the sums of the lines; the tax summary shares each line's net and tax out over its
rates with :func:`~commercekit.domain.money.allocate_units`, so its rows add up to
the totals too. On a credit note every figure is an amount given back; a fee kept,
or a limit on what could go back, is negative.

Numbers (``INV-WEB-000042``, see :func:`document_number`) come from a gapless
:class:`~commercekit.domain.sequences.NumberSequence` per series (``invoice``,
``credit_note``) and channel, taken in the unit of work that stores the document.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import ACTOR, aware, text, whole_number
from commercekit.domain.checkout import Address
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import DomainEvent
from commercekit.domain.identifiers import check_text
from commercekit.domain.indexed import Index
from commercekit.domain.money.splitting import allocate_units
from commercekit.domain.orders import Order, OrderLine, OrderPaymentStatus, OrderStatus
from commercekit.domain.returns.refunds import Refund, RefundStatus

__all__ = [
    "CREDIT_NOTE_SERIES",
    "INVOICE_SERIES",
    "NO_TAX",
    "SHIPPING_TAX",
    "CreditNote",
    "DocumentLine",
    "DocumentTotals",
    "Invoice",
    "LineKind",
    "Party",
    "PendingDocument",
    "Seller",
    "TaxSummaryLine",
    "build_credit_note",
    "build_invoice",
    "check_invoice_due",
    "document_number",
    "invoice_due",
    "percent",
    "summarize_taxes",
    "totals_of",
]

#: The sequence series the numbers of each document come from.
INVOICE_SERIES: Final = "invoice"
CREDIT_NOTE_SERIES: Final = "credit_note"

#: The tax-summary key ``(name, rate)`` of amounts that carry no tax.
NO_TAX: Final = ("", "0")
#: The key of shipping's tax: an order keeps it as one amount, without its rates.
SHIPPING_TAX: Final = ("shipping", "")
#: The key of a tax whose rate the order did not record.
_UNRECORDED: Final = ("", "")

#: Beyond any number a store reaches (as :class:`NumberSequence` bounds them).
_MOST_DIGITS: Final = 15

_Taxes = tuple[tuple[str, str, int], ...]


# --- who sells, who buys --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Party:
    """A seller or a buyer as a document names them."""

    name: str = ""
    address: tuple[str, ...] = ()
    """The postal address, a line each (company, street, postal code and city,
    region, country)."""
    tax_id: str = ""
    """A VAT or other tax registration number, if known."""
    email: str = ""


def _lines(value: Iterable[str]) -> tuple[str, ...]:
    lines = tuple(value)
    for line in lines:
        check_text(line, "address", max_length=200)
    return lines


@attrs.frozen(kw_only=True)
class Seller:
    """Who issues a store's invoices, and how they are numbered (from the store's
    ``seller`` configuration)."""

    name: str = attrs.field(validator=text(200, blank=True))
    address: tuple[str, ...] = attrs.field(default=(), converter=_lines)
    tax_id: str = attrs.field(default="", validator=text(64, blank=True))
    invoice_prefix: str = attrs.field(default="INV", validator=text(20, blank=True))
    credit_note_prefix: str = attrs.field(default="CN", validator=text(20, blank=True))
    number_digits: int = attrs.field(default=6, validator=whole_number(1, _MOST_DIGITS))
    """A number shorter than this is padded with zeros (``000042``)."""
    automatic: bool = True
    """Whether documents are issued as payments are captured and refunds made."""

    def party(self) -> Party:
        """The seller as a document names them."""
        return Party(name=self.name, address=self.address, tax_id=self.tax_id)


def document_number(prefix: str, scope: str, number: int, digits: int = 6) -> str:
    """A document's number as printed: the prefix, the channel (upper case) and the
    sequential number padded to ``digits``, joined by hyphens; an empty prefix or
    channel is left out (``INV-WEB-000042``, ``INV-000042``, ``000042``).

    :raises InvalidInput: for a number below 1.
    """
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise InvalidInput("must be a whole number of at least 1", field="number")
    parts = [part for part in (prefix, scope.upper()) if part]
    return "-".join([*parts, f"{number:0{digits}d}"])


# --- lines, the tax summary and the totals --------------------------------------------


class LineKind(enum.Enum):
    """What a document line stands for."""

    GOODS = "goods"
    SHIPPING = "shipping"
    GOODWILL = "goodwill"
    """Money given back with no goods (a gesture, a price adjustment)."""
    FEE = "fee"
    """A restocking fee kept: negative on a credit note."""
    CAPPED = "capped"
    """What a refund could not give back because less was left: negative."""
    BALANCE = "balance"
    """What a refund gave back beyond its parts: the last refund of an order gives
    back everything left, such as a fee kept before."""


@attrs.frozen(kw_only=True)
class DocumentLine:
    """One line of a document, in minor units: ``net + tax == total``."""

    kind: LineKind
    description: str = ""
    sku: str = ""
    quantity: int = 1
    unit_price_units: int = 0
    """The unit price before discounts, as the order's prices were given (with or
    without tax); 0 where a document does not show one."""
    discount_units: int = 0
    net_units: int
    tax_units: int
    total_units: int
    taxes: _Taxes = ()
    """``(name, rate, minor units)`` per tax, as the order named them."""


@attrs.frozen(kw_only=True)
class TaxSummaryLine:
    """The amounts a document taxed at one rate: ``name`` and ``rate`` (a decimal
    string, ``"0.19"``) as the order named them; :data:`NO_TAX` for what carries
    none, :data:`SHIPPING_TAX` for shipping's tax."""

    name: str
    rate: str
    net_units: int
    tax_units: int

    @property
    def gross_units(self) -> int:
        """Net and tax together."""
        return self.net_units + self.tax_units


@attrs.frozen(kw_only=True)
class DocumentTotals:
    """A document's totals: ``net + tax == gross``."""

    net_units: int
    tax_units: int
    gross_units: int


def _weights(count: int, units: Sequence[int]) -> list[int]:
    """Shares by the taxes' own amounts (their magnitudes), or equal ones when those
    are all nothing."""
    weights = [abs(unit) for unit in units]
    return weights if sum(weights) else [1] * count


def _rows(line: DocumentLine) -> list[tuple[tuple[str, str], int, int]]:
    """``(key, net, tax)`` of a line per rate: its tax as its taxes name it (shared
    out anew if they do not add up to it), its net shared in proportion to them."""
    if not line.taxes:
        key = NO_TAX
        if line.tax_units:
            key = SHIPPING_TAX if line.kind is LineKind.SHIPPING else _UNRECORDED
        return [(key, line.net_units, line.tax_units)]
    keys = [(name, rate) for name, rate, _ in line.taxes]
    recorded = [units for _, _, units in line.taxes]
    weights = _weights(len(keys), recorded)
    taxes = recorded if sum(recorded) == line.tax_units else allocate_units(line.tax_units, weights)
    # A line taxed at several rates at once counts its net once, shared among them as
    # its tax is, so that the summary's net adds up to the document's.
    nets = allocate_units(line.net_units, weights)
    return list(zip(keys, nets, taxes, strict=True))


def summarize_taxes(lines: Iterable[DocumentLine]) -> tuple[TaxSummaryLine, ...]:
    """The tax summary of ``lines``: per ``(name, rate)``, in the order first met,
    the net taxed and the tax. Its rows add up to the lines' net and tax exactly."""
    summary: dict[tuple[str, str], list[int]] = {}
    for line in lines:
        for key, net, tax in _rows(line):
            row = summary.setdefault(key, [0, 0])
            row[0] += net
            row[1] += tax
    return tuple(
        TaxSummaryLine(name=name, rate=rate, net_units=net, tax_units=tax)
        for (name, rate), (net, tax) in summary.items()
    )


def totals_of(lines: Iterable[DocumentLine]) -> DocumentTotals:
    """The sums of ``lines``."""
    net = tax = gross = 0
    for line in lines:
        net += line.net_units
        tax += line.tax_units
        gross += line.total_units
    return DocumentTotals(net_units=net, tax_units=tax, gross_units=gross)


# --- the documents --------------------------------------------------------------------


def _address_lines(address: Address | None) -> tuple[str, ...]:
    if address is None:
        return ()
    place = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = (address.company, address.line1, address.line2, place, address.region)
    return tuple(line for line in (*lines, address.country) if line)


def _buyer(order: Order, tax_id: str) -> Party:
    """The buyer: the billing address's name and lines, or the shipping address's."""
    address = order.billing_address or order.shipping_address
    return Party(
        name=address.name if address is not None else order.email,
        address=_address_lines(address),
        tax_id=tax_id,
        email=order.email,
    )


def _goods(line: OrderLine) -> DocumentLine:
    return DocumentLine(
        kind=LineKind.GOODS,
        description=line.name,
        sku=line.sku,
        quantity=line.quantity,
        unit_price_units=line.unit_price_units,
        discount_units=line.discount_units,
        net_units=line.total_units - line.tax_units,
        tax_units=line.tax_units,
        total_units=line.total_units,
        taxes=line.taxes,
    )


def _shipping_name(order: Order) -> str:
    return order.shipping.name if order.shipping is not None else ""


def _shipping(order: Order) -> DocumentLine | None:
    """The shipping as charged: the order's total less its lines', with its tax."""
    total = order.totals.grand_total_units - sum(line.total_units for line in order.lines)
    tax = order.totals.shipping_tax_units
    if order.shipping is None and not total and not tax:
        return None
    return DocumentLine(
        kind=LineKind.SHIPPING,
        description=_shipping_name(order),
        unit_price_units=order.totals.shipping_units,
        discount_units=order.totals.shipping_discount_units,
        net_units=total - tax,
        tax_units=tax,
        total_units=total,
    )


def _adjustment(kind: LineKind, units: int) -> DocumentLine:
    """An amount with no tax of its own (see :class:`CreditNote`)."""
    return DocumentLine(kind=kind, net_units=units, tax_units=0, total_units=units)


def invoice_due(order: Order) -> bool:
    """Whether ``order`` is to be invoiced: it is open or completed, and its money was
    taken (captured, in part or whole, whatever went back since), or it cost nothing
    (settled free, which counts as captured)."""
    return order.status in (OrderStatus.OPEN, OrderStatus.COMPLETED) and (
        order.payment_status
        in (
            OrderPaymentStatus.PARTIALLY_CAPTURED,
            OrderPaymentStatus.CAPTURED,
            OrderPaymentStatus.PARTIALLY_REFUNDED,
            OrderPaymentStatus.REFUNDED,
        )
    )


def check_invoice_due(order: Order) -> None:
    """:raises InvalidTransition: unless :func:`invoice_due`."""
    if not invoice_due(order):
        state = f"{order.status.value}, payment {order.payment_status.value}"
        raise InvalidTransition("order", state, "invoice")


@attrs.define(kw_only=True, eq=False)
class Invoice:
    """The invoice of one order: issued once, never changed."""

    KIND: ClassVar[str] = "invoice"

    id: str
    number: str
    """As printed (see :func:`document_number`)."""
    sequence: int
    """The sequential number inside :attr:`number`."""
    order_id: str
    channel: str = ""
    customer_id: str = ""
    issued_at: datetime = attrs.field(validator=aware)
    issued_by: str = attrs.field(validator=ACTOR)
    seller: Party
    buyer: Party
    currency: str
    prices_include_tax: bool
    lines: tuple[DocumentLine, ...]
    shipping: DocumentLine | None = None
    tax_summary: tuple[TaxSummaryLine, ...]
    totals: DocumentTotals
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(order_id: str) -> str:
        """The id of the invoice of an order: one each."""
        return f"invoice:{order_id}"

    def index(self) -> Index:
        """Found by its order and its channel."""
        return Index(at=self.issued_at, ref=self.order_id, owner=self.channel, state="issued")

    @property
    def all_lines(self) -> tuple[DocumentLine, ...]:
        """The lines and the shipping, as they add up to the totals."""
        return self.lines if self.shipping is None else (*self.lines, self.shipping)


def build_invoice(
    order: Order,
    *,
    number: str,
    sequence: int,
    seller: Party,
    issued_at: datetime,
    issued_by: str,
    buyer_tax_id: str = "",
) -> Invoice:
    """The invoice of ``order``, numbered ``number``: its lines and shipping as the
    order froze them, its gross the order's grand total.

    :raises InvalidTransition: for an order not to be invoiced (see
        :func:`invoice_due`).
    """
    check_invoice_due(order)
    lines = tuple(_goods(line) for line in order.lines)
    shipping = _shipping(order)
    every = lines if shipping is None else (*lines, shipping)
    return Invoice(
        id=Invoice.key(order.id),
        number=number,
        sequence=sequence,
        order_id=order.id,
        channel=order.channel or "",
        customer_id=order.customer_id or "",
        issued_at=issued_at,
        issued_by=issued_by,
        seller=seller,
        buyer=_buyer(order, buyer_tax_id),
        currency=order.currency,
        prices_include_tax=order.totals.prices_include_tax,
        lines=lines,
        shipping=shipping,
        tax_summary=summarize_taxes(every),
        totals=totals_of(every),
    )


@attrs.define(kw_only=True, eq=False)
class CreditNote:
    """What one refund of an order gave back, against the order's invoice.

    Its goods lines carry the tax the refund gave back per rate, its shipping line
    the shipping's tax. A goodwill amount, a restocking fee kept (negative), a limit
    on what could go back (negative) and a balance the last refund settles carry no
    tax of their own: the refund gave back no tax on them, and the credit note says
    what the refund did. Its gross is the refund's total exactly.
    """

    KIND: ClassVar[str] = "credit_note"

    id: str
    number: str
    sequence: int
    order_id: str
    refund_id: str
    return_id: str = ""
    invoice_id: str
    invoice_number: str
    """The number of the invoice it corrects."""
    reason: str = ""
    channel: str = ""
    customer_id: str = ""
    issued_at: datetime = attrs.field(validator=aware)
    issued_by: str = attrs.field(validator=ACTOR)
    seller: Party
    buyer: Party
    currency: str
    prices_include_tax: bool
    lines: tuple[DocumentLine, ...]
    shipping: DocumentLine | None = None
    adjustments: tuple[DocumentLine, ...] = ()
    """Goodwill, a fee, a limit, a balance (see :class:`LineKind`)."""
    tax_summary: tuple[TaxSummaryLine, ...]
    totals: DocumentTotals
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(order_id: str, refund_id: str) -> str:
        """The id of the credit note of one refund of an order: one each."""
        return f"credit_note:{order_id}:{refund_id}"

    def index(self) -> Index:
        """Found by its order and its channel."""
        return Index(at=self.issued_at, ref=self.order_id, owner=self.channel, state="issued")

    @property
    def all_lines(self) -> tuple[DocumentLine, ...]:
        """Every line, as they add up to the totals."""
        shipping = () if self.shipping is None else (self.shipping,)
        return (*self.lines, *shipping, *self.adjustments)


def build_credit_note(
    order: Order,
    refund: Refund,
    invoice: Invoice,
    *,
    number: str,
    sequence: int,
    seller: Party,
    issued_at: datetime,
    issued_by: str,
) -> CreditNote:
    """The credit note of ``refund`` (one of ``order``'s), against ``invoice``,
    numbered ``number``.

    :raises InvalidInput: for a refund or an invoice of another order.
    :raises InvalidTransition: for a refund not done (still pending with the
        gateway, or refused): nothing went back yet.
    """
    plan = refund.plan
    if plan.order_id != order.id or invoice.order_id != order.id:
        raise InvalidInput("the refund and the invoice must be this order's", field="refund_id")
    if refund.status is not RefundStatus.DONE:
        raise InvalidTransition("refund", refund.status.value, "credit")
    bought = {line.sku: line for line in order.lines}
    lines = tuple(
        DocumentLine(
            kind=LineKind.GOODS,
            description=bought[planned.sku].name if planned.sku in bought else planned.sku,
            sku=planned.sku,
            quantity=planned.units,
            net_units=planned.paid_units - planned.tax_units,
            tax_units=planned.tax_units,
            total_units=planned.paid_units,
            taxes=planned.taxes,
        )
        for planned in plan.lines
    )
    shipping = None
    if plan.shipping_units or plan.shipping_tax_units:
        shipping = DocumentLine(
            kind=LineKind.SHIPPING,
            description=_shipping_name(order),
            net_units=plan.shipping_units - plan.shipping_tax_units,
            tax_units=plan.shipping_tax_units,
            total_units=plan.shipping_units,
        )
    adjustments = [
        _adjustment(kind, units)
        for kind, units in (
            (LineKind.GOODWILL, plan.goodwill_units),
            (LineKind.FEE, -plan.fee_units),
            (LineKind.CAPPED, -plan.capped_units),
        )
        if units
    ]
    parts = sum(line.total_units for line in (*lines, *adjustments))
    parts += 0 if shipping is None else shipping.total_units
    if plan.total_units != parts:
        adjustments.append(_adjustment(LineKind.BALANCE, plan.total_units - parts))
    shipped = () if shipping is None else (shipping,)
    every = (*lines, *shipped, *adjustments)
    return CreditNote(
        id=CreditNote.key(order.id, refund.id),
        number=number,
        sequence=sequence,
        order_id=order.id,
        refund_id=refund.id,
        return_id=refund.return_id,
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        reason=refund.reason,
        channel=order.channel or "",
        customer_id=order.customer_id or "",
        issued_at=issued_at,
        issued_by=issued_by,
        seller=seller,
        buyer=invoice.buyer,
        currency=order.currency,
        prices_include_tax=order.totals.prices_include_tax,
        lines=lines,
        shipping=shipping,
        adjustments=tuple(adjustments),
        tax_summary=summarize_taxes(every),
        totals=totals_of(every),
    )


def percent(rate: str) -> str:
    """A decimal rate as a percentage (``"0.19"`` as ``"19"``, ``"0.075"`` as
    ``"7.5"``); ``""`` for a rate that is not a number."""
    try:
        value = Decimal(rate) * 100
    except (InvalidOperation, ValueError):
        return ""
    if not value.is_finite():
        return ""
    shown = format(value.normalize(), "f")
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


# --- documents owed -------------------------------------------------------------------


@attrs.define(kw_only=True, eq=False)
class PendingDocument:
    """A document that was due and could not be issued when its event came (storage
    busy, say): kept so that it is tried again until it is issued."""

    KIND: ClassVar[str] = "pending_document"

    id: str
    order_id: str
    refund_id: str = ""
    """The refund a credit note is owed for; ``""`` for the invoice."""
    since: datetime
    tries: int = 0
    error: str = ""
    done: bool = False
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(order_id: str, refund_id: str = "") -> str:
        """The id of what is owed for an order (and a refund)."""
        return f"pending_document:{order_id}:{refund_id}"

    @classmethod
    def owed(cls, order_id: str, refund_id: str = "", *, at: datetime) -> PendingDocument:
        """A document owed from ``at``."""
        key = cls.key(order_id, refund_id)
        return cls(id=key, order_id=order_id, refund_id=refund_id, since=at)

    def failed(self, error: str) -> None:
        """Another try failed with ``error`` (kept short)."""
        self.tries += 1
        self.error = error[:500]
        self.version += 1

    def issued(self, note: str = "") -> None:
        """It was issued, or is no longer owed (``note`` says why): nothing more to
        try."""
        self.done = True
        if note:
            self.error = note[:500]
        self.version += 1

    def index(self) -> Index:
        """Found by its order, and as due until it is issued."""
        return Index(at=self.since, ref=self.order_id, state="" if self.done else "due")
