"""Parcel Post, proven by commercekit's carrier conformance suite."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from commercekit_parcelpost import ParcelPost, ParcelPostOptions, signed

from commercekit.domain.shipping import TrackingEvent
from commercekit.ports.carriers import Carrier
from commercekit.testing.conformance.carrier import CarrierConformance


class TestParcelPost(CarrierConformance):
    def make_carrier(self) -> Carrier:
        return ParcelPost("post", ParcelPostOptions(webhook_secret="whsec_pp"))

    def signed_webhook(
        self, carrier: Carrier, events: Sequence[TrackingEvent], sent_at: datetime
    ) -> tuple[bytes, Mapping[str, str]]:
        return signed(events, "whsec_pp", now=sent_at)
