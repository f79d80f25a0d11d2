"""Domain events: facts, in the past tense, that other parts of a store react to.

Aggregates record events as they change; the unit of work writes them to an outbox
in the same transaction and, after commit, hands them to subscribers. Events carry
plain values only (strings, whole minor units, times), so that they serialise to
JSON and back without loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Final

import attrs

from commercekit.domain.errors import InvalidInput, shown

__all__ = [
    "EVENT_TYPES",
    "CaseOpened",
    "CaseResolved",
    "CatalogUpdated",
    "DomainEvent",
    "ExchangeMade",
    "GiftCardIssued",
    "NeedsAttention",
    "OrderCancelled",
    "OrderPaid",
    "OrderPlaced",
    "PaymentAuthorized",
    "PaymentCaptured",
    "PaymentFailed",
    "PaymentRefunded",
    "PaymentRequiresAction",
    "PaymentVoided",
    "RefundIssued",
    "ReturnReceived",
    "ReturnRequested",
    "ShipmentDelivered",
    "ShipmentDispatched",
    "ShipmentException",
    "StockChanged",
    "StockLow",
    "StoreCreditIssued",
    "event_from_dict",
    "event_to_dict",
    "with_note",
]


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Base of every event; ``name`` is stable and is what subscribers match on."""

    name: ClassVar[str] = "DomainEvent"
    occurred_at: datetime


@attrs.frozen(kw_only=True)
class OrderPlaced(DomainEvent):
    """An order was written, awaiting the outcome of its payment."""

    name: ClassVar[str] = "OrderPlaced"
    order_id: str
    currency: str
    total_units: int
    email: str


@attrs.frozen(kw_only=True)
class OrderPaid(DomainEvent):
    """An order's payment was authorized or captured: it is open for fulfilment."""

    name: ClassVar[str] = "OrderPaid"
    order_id: str


@attrs.frozen(kw_only=True)
class OrderCancelled(DomainEvent):
    """An order was cancelled; whatever it held has been released."""

    name: ClassVar[str] = "OrderCancelled"
    order_id: str
    reason: str


@attrs.frozen(kw_only=True)
class _PaymentEvent(DomainEvent):
    payment_id: str
    order_id: str
    currency: str
    amount_units: int


@attrs.frozen(kw_only=True)
class PaymentAuthorized(_PaymentEvent):
    """The gateway reserved the amount on the customer's means of payment."""

    name: ClassVar[str] = "PaymentAuthorized"


@attrs.frozen(kw_only=True)
class PaymentRequiresAction(_PaymentEvent):
    """The customer must confirm the payment (3-D Secure and the like)."""

    name: ClassVar[str] = "PaymentRequiresAction"


@attrs.frozen(kw_only=True)
class PaymentCaptured(_PaymentEvent):
    """Money was taken (part or all of what was authorized)."""

    name: ClassVar[str] = "PaymentCaptured"


@attrs.frozen(kw_only=True)
class PaymentVoided(_PaymentEvent):
    """What was authorized and not captured was released (all of it, or the rest
    after a partial capture)."""

    name: ClassVar[str] = "PaymentVoided"


@attrs.frozen(kw_only=True)
class PaymentRefunded(_PaymentEvent):
    """Money taken was given back (part or all)."""

    name: ClassVar[str] = "PaymentRefunded"
    transaction_id: str = ""
    """The gateway's id for the refund: one notice per refund."""


@attrs.frozen(kw_only=True)
class PaymentFailed(_PaymentEvent):
    """The gateway declined, or the payment could not be completed."""

    name: ClassVar[str] = "PaymentFailed"
    reason: str


@attrs.frozen(kw_only=True)
class NeedsAttention(DomainEvent):
    """Something staff must look at: a gateway fact the ledger could not take, money
    that could not be given back, an order a sweep could not settle."""

    name: ClassVar[str] = "NeedsAttention"
    order_id: str
    payment_id: str = ""
    detail: str


def with_note(attention: str, note: str, *, about: str = "") -> str | None:
    """``attention`` (what staff must look at, a note a line) with ``note`` added, or
    ``None`` when it holds that note already, or one starting with ``about``."""
    note = " ".join(note.split())
    lines = attention.splitlines()
    if any(line == note or (about and line.startswith(about)) for line in lines):
        return None
    return "\n".join([*lines, note])


@attrs.frozen(kw_only=True)
class StockLow(DomainEvent):
    """Available stock of a SKU at a location fell to its low-stock threshold."""

    name: ClassVar[str] = "StockLow"
    sku: str
    location_id: str
    available: int
    threshold: int


@attrs.frozen(kw_only=True)
class _ShipmentEvent(DomainEvent):
    order_id: str
    shipment_id: str


@attrs.frozen(kw_only=True)
class ShipmentDispatched(_ShipmentEvent):
    """A shipment left its location: its units were consumed from stock."""

    name: ClassVar[str] = "ShipmentDispatched"
    carrier: str
    tracking_number: str
    tracking_url: str


@attrs.frozen(kw_only=True)
class ShipmentDelivered(_ShipmentEvent):
    """A shipment's carrier reported it delivered."""

    name: ClassVar[str] = "ShipmentDelivered"


@attrs.frozen(kw_only=True)
class ShipmentException(_ShipmentEvent):
    """A shipment's carrier reported a problem (undeliverable, lost, damaged,
    returned to sender)."""

    name: ClassVar[str] = "ShipmentException"
    status: str
    detail: str


@attrs.frozen(kw_only=True)
class _CaseEvent(DomainEvent):
    case_id: str
    customer_id: str
    """The customer's id; empty for a guest, known by ``email``."""
    email: str
    """Where the customer is written to; empty when the store knows no address."""
    order_id: str
    """The order it is about; empty for none."""
    subject: str


@attrs.frozen(kw_only=True)
class CaseOpened(_CaseEvent):
    """A customer's support case was opened."""

    name: ClassVar[str] = "CaseOpened"


@attrs.frozen(kw_only=True)
class CaseResolved(_CaseEvent):
    """A support case was marked resolved."""

    name: ClassVar[str] = "CaseResolved"


def _keys(value: Any) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class CatalogUpdated(DomainEvent):
    """Products were added or changed (their fields, variants, prices): what shows
    them (a search index) takes them again."""

    name: ClassVar[str] = "CatalogUpdated"
    product_ids: tuple[str, ...] = attrs.field(converter=_keys)


@attrs.frozen(kw_only=True)
class StockChanged(DomainEvent):
    """Stock of these SKUs was received, counted, adjusted, moved or returned."""

    name: ClassVar[str] = "StockChanged"
    skus: tuple[str, ...] = attrs.field(converter=_keys)


@attrs.frozen(kw_only=True)
class ReturnRequested(DomainEvent):
    """A customer asked to send units of an order back."""

    name: ClassVar[str] = "ReturnRequested"
    return_id: str
    order_id: str
    units: int
    """How many units, all lines together."""


@attrs.frozen(kw_only=True)
class ReturnReceived(DomainEvent):
    """A return's parcel arrived at the store."""

    name: ClassVar[str] = "ReturnReceived"
    return_id: str
    order_id: str


@attrs.frozen(kw_only=True)
class RefundIssued(DomainEvent):
    """Money went back to a customer: through the gateway, as store credit, or both;
    or, for units exchanged, toward a replacement order (``total_units`` is the sum
    of the three)."""

    name: ClassVar[str] = "RefundIssued"
    order_id: str
    refund_id: str
    currency: str
    total_units: int
    to_gateway_units: int = 0
    to_credit_units: int = 0
    return_id: str = ""
    to_exchange_units: int = 0
    """What paid for a replacement order: it did not reach the customer as money."""


@attrs.frozen(kw_only=True)
class ExchangeMade(DomainEvent):
    """Units of an order came back and a replacement order, paid for by what they
    were worth (and the difference, either way), is open to ship."""

    name: ClassVar[str] = "ExchangeMade"
    exchange_id: str
    order_id: str
    replacement_id: str
    return_id: str
    currency: str
    value_units: int
    """What the returned units were worth."""
    price_units: int
    """What the replacement costs."""


@attrs.frozen(kw_only=True)
class GiftCardIssued(DomainEvent):
    """A gift card was issued (its code is never in an event: it was handed out
    once, to whoever issued it)."""

    name: ClassVar[str] = "GiftCardIssued"
    gift_card_id: str
    currency: str
    amount_units: int
    reference: str = ""
    """What it was issued for (an order that bought it), if anything."""


@attrs.frozen(kw_only=True)
class StoreCreditIssued(DomainEvent):
    """Store credit was given to a customer (issued by the merchant, or a refund)."""

    name: ClassVar[str] = "StoreCreditIssued"
    customer_id: str
    currency: str
    amount_units: int
    reason: str
    reference: str = ""


EVENT_TYPES: Final[Mapping[str, type[DomainEvent]]] = {
    cls.name: cls
    for cls in (
        OrderPlaced,
        OrderPaid,
        OrderCancelled,
        PaymentAuthorized,
        PaymentRequiresAction,
        PaymentCaptured,
        PaymentVoided,
        PaymentRefunded,
        PaymentFailed,
        NeedsAttention,
        StockLow,
        ShipmentDispatched,
        ShipmentDelivered,
        ShipmentException,
        CaseOpened,
        CaseResolved,
        CatalogUpdated,
        StockChanged,
        GiftCardIssued,
        StoreCreditIssued,
        ReturnRequested,
        ReturnReceived,
        RefundIssued,
        ExchangeMade,
    )
}


def event_to_dict(event: DomainEvent) -> dict[str, Any]:
    """The event as JSON-ready data, with its ``name``."""
    data = attrs.asdict(event)
    data["occurred_at"] = event.occurred_at.isoformat()
    data["name"] = event.name
    return data


def event_from_dict(data: Mapping[str, Any]) -> DomainEvent:
    """Rebuild an event written by :func:`event_to_dict`.

    :raises InvalidInput: for an unknown event name.
    """
    fields = dict(data)
    name = fields.pop("name", None)
    cls = EVENT_TYPES.get(str(name))
    if cls is None:
        raise InvalidInput(f"unknown event {shown(name)}", field="name")
    fields["occurred_at"] = datetime.fromisoformat(fields["occurred_at"])
    return cls(**fields)
