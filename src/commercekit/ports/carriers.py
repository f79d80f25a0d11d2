"""The carrier port: what the core asks of a parcel carrier.

A carrier quotes what it charges to carry parcels from a stock location to an
address, sells a label for a chosen service, cancels a label not yet used, reports a
parcel's tracking events, and checks that a webhook claiming to come from it did.
Calls that cost money carry an idempotency key, and a carrier must honour it: the
same key again returns the first call's label and never buys two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

import attrs

from commercekit.domain.checkout import Address
from commercekit.domain.inventory import StockLocation
from commercekit.domain.shipping import CarrierQuote, Label, Parcel, ParcelLimits, TrackingEvent

__all__ = ["Carrier", "LabelRequest", "QuoteRequest"]


@attrs.frozen(kw_only=True)
class QuoteRequest:
    """Parcels to carry from a location to an address, priced in ``currency``."""

    origin: StockLocation
    destination: Address
    parcels: tuple[Parcel, ...]
    currency: str
    now: datetime


@attrs.frozen(kw_only=True)
class LabelRequest:
    """A label to buy for one shipment."""

    shipment_id: str
    order_id: str
    origin: StockLocation
    destination: Address
    parcels: tuple[Parcel, ...]
    service: str
    """The quoted service chosen (a delivery method's id when it is not the carrier's)."""
    currency: str
    idempotency_key: str
    now: datetime
    tracking_number: str = ""
    """For a carrier whose labels the merchant makes elsewhere: the number they typed."""
    inbound: bool = False
    """A return: the parcel travels from ``destination`` back to ``origin``."""


class Carrier(Protocol):
    """A parcel carrier, as adapters present it."""

    @property
    def name(self) -> str:
        """The name a store's configuration uses for this carrier."""
        ...

    @property
    def limits(self) -> ParcelLimits:
        """The largest parcel it takes: what packing fills."""
        ...

    def quote(self, request: QuoteRequest) -> Sequence[CarrierQuote]:
        """Its services and prices for these parcels; empty when it does not serve
        the address.

        :raises CarrierError: when it could not be asked.
        """
        ...

    def buy_label(self, request: LabelRequest) -> Label:
        """Buy a label for the parcels, by ``request.idempotency_key``: the same key
        again returns the same label.

        :raises CarrierError: when no label was bought (or it is not known whether).
        :raises InvalidInput: for a request it can never accept (naming the field).
        """
        ...

    def cancel_label(self, label: Label, *, idempotency_key: str, now: datetime) -> None:
        """Give back a label that has not been used.

        :raises CarrierError: when the carrier refuses (the parcel is on its way).
        """
        ...

    def track(self, label: Label, *, now: datetime) -> Sequence[TrackingEvent]:
        """Every tracking event of the label's parcels up to ``now``, oldest first."""
        ...

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> Sequence[TrackingEvent]:
        """The tracking events a webhook carries, once its signature is checked.

        :raises WebhookRejected: for a signature that is wrong, missing or stale, or
            a body it does not understand; nothing is applied then.
        """
        ...
