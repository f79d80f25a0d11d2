"""Shipping as data: zones, delivery methods and their rate rules, and packing."""

from commercekit.domain.shipping.packing import PackedUnit, Parcel, ParcelLimits, pack
from commercekit.domain.shipping.rates import (
    RATE_VALID_FOR,
    ByValue,
    ByWeight,
    DeliveryMethod,
    Flat,
    FreeOver,
    Rate,
    RateRule,
    quote_rates,
)
from commercekit.domain.shipping.tracking import CarrierQuote, Label, TrackingEvent, TrackingStatus
from commercekit.domain.shipping.zones import ShippingZone

__all__ = [
    "RATE_VALID_FOR",
    "ByValue",
    "ByWeight",
    "CarrierQuote",
    "DeliveryMethod",
    "Flat",
    "FreeOver",
    "Label",
    "PackedUnit",
    "Parcel",
    "ParcelLimits",
    "Rate",
    "RateRule",
    "ShippingZone",
    "TrackingEvent",
    "TrackingStatus",
    "pack",
    "quote_rates",
]
