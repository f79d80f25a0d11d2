"""What a carrier tells of a parcel: the label it sold and the tracking events that
follow, in the vocabulary every carrier is mapped to."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from commercekit.domain._validators import aware, text, whole_number

__all__ = ["CarrierQuote", "Label", "TrackingEvent", "TrackingStatus"]


class TrackingStatus(enum.Enum):
    """Where a parcel is, as every carrier's own codes are mapped."""

    LABEL_CREATED = "label_created"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELAYED = "delayed"
    """Late, still on its way."""
    EXCEPTION = "exception"
    """Something is wrong (undeliverable, lost, damaged): see the event's detail."""
    RETURNED_TO_SENDER = "returned_to_sender"


@attrs.frozen(kw_only=True)
class CarrierQuote:
    """What a carrier asks to carry parcels: one service at one price."""

    service: str = attrs.field(validator=text(64))
    price_units: int = attrs.field(validator=whole_number(0, 10**12))
    currency: str
    min_days: int = attrs.field(default=1, validator=whole_number(0, 365))
    max_days: int = attrs.field(default=5, validator=whole_number(0, 365))


@attrs.frozen(kw_only=True)
class Label:
    """A label a carrier sold: its tracking number, where the customer follows it, and
    the document to print."""

    tracking_number: str = attrs.field(validator=text(128))
    tracking_url: str = attrs.field(default="", validator=text(2000, blank=True))
    document: bytes = attrs.field(default=b"", repr=False)
    media_type: str = "text/plain"
    created_at: datetime = attrs.field(validator=aware)
    price_units: int = attrs.field(default=0, validator=whole_number(0, 10**12))
    """What the carrier charged for it, in the shipment's currency (0 when unknown)."""


@attrs.frozen(kw_only=True)
class TrackingEvent:
    """One step of a parcel's journey, as its carrier reported it.

    ``id`` is the carrier's own id for the event: the same event reported twice (a
    poll, then a webhook) is applied once.
    """

    id: str = attrs.field(validator=text(128))
    tracking_number: str = attrs.field(validator=text(128))
    status: TrackingStatus
    at: datetime = attrs.field(validator=aware)
    detail: str = attrs.field(default="", validator=text(500, blank=True))
    place: str = attrs.field(default="", validator=text(200, blank=True))
