"""The manual carrier: for parcels whose labels the merchant makes elsewhere.

Staff type the tracking number when they ship (``LabelRequest.tracking_number``);
the carrier keeps it, with the store's tracking address for it if one is
configured. It quotes nothing (a delivery method's own price applies), takes any
parcel, reports no tracking (staff record events by hand) and takes no webhooks::

    "carriers": {"post": {"plugin": "manual",
                          "options": {"tracking_url": "https://post.example/t/{tracking_number}"}}}
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final, final

from pydantic import BaseModel, ConfigDict

from commercekit.adapters.carriers import TrackingUrlTemplate, parse_options, tracking_url
from commercekit.domain._validators import require_aware
from commercekit.domain.errors import InvalidInput, WebhookRejected
from commercekit.domain.identifiers import check_text
from commercekit.domain.shipping import CarrierQuote, Label, ParcelLimits, TrackingEvent
from commercekit.hookspecs import CarrierFactory, Register, hookimpl
from commercekit.ports.carriers import LabelRequest, QuoteRequest

__all__ = ["MAX_TRACKING_NUMBER_LENGTH", "ManualCarrier", "ManualOptions", "register_carriers"]

MAX_TRACKING_NUMBER_LENGTH: Final = 128


class ManualOptions(BaseModel):
    """The manual carrier's options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_url: TrackingUrlTemplate = ""
    """Where customers follow a parcel, with ``{tracking_number}``; empty for nowhere."""


def _tracking_number(value: object) -> str:
    """The number staff typed, without surrounding spaces.

    :raises InvalidInput: naming ``tracking_number``, for no number, or one no label
        keeps (NUL, line breaks, over :data:`MAX_TRACKING_NUMBER_LENGTH` characters).
    """
    number = value.strip() if isinstance(value, str) else value
    checked = check_text(number, "tracking_number", max_length=MAX_TRACKING_NUMBER_LENGTH)
    if not checked.isprintable():
        raise InvalidInput("must be printable text on one line", field="tracking_number")
    return checked


@final
class ManualCarrier:
    """A carrier whose tracking numbers staff type in."""

    def __init__(self, name: str = "manual", *, tracking_url: str = "") -> None:
        """:raises InvalidInput: naming ``tracking_url``, for a template that is not
        empty and lacks ``{tracking_number}``, has other placeholders, or is over
        2000 characters."""
        self._name = check_text(name, "name", max_length=64)
        self.options = parse_options(ManualOptions, {"tracking_url": tracking_url})
        self._lock = threading.Lock()
        self._labels: dict[str, Label] = {}

    @property
    def name(self) -> str:
        """The name a store's configuration uses for this carrier."""
        return self._name

    @property
    def limits(self) -> ParcelLimits:
        """Any parcel: the merchant's own carrier decides what it takes."""
        return ParcelLimits(max_weight_grams=1_000_000_000)

    def quote(self, request: QuoteRequest) -> Sequence[CarrierQuote]:
        """Nothing: the price is the store's delivery method's."""
        return []

    def buy_label(self, request: LabelRequest) -> Label:
        """Keep the number staff typed; the same idempotency key again gives the
        first label.

        :raises InvalidInput: naming ``tracking_number``, for a missing or unusable
            number (or one that makes the tracking address too long).
        """
        key = check_text(request.idempotency_key, "idempotency_key")
        require_aware(request.now, field="now")
        with self._lock:
            label = self._labels.get(key)
            if label is None:
                number = _tracking_number(request.tracking_number)
                label = Label(
                    tracking_number=number,
                    tracking_url=tracking_url(
                        self.options.tracking_url, number, field="tracking_number"
                    ),
                    created_at=request.now,
                )
                self._labels[key] = label
            return label

    def cancel_label(self, label: Label, *, idempotency_key: str, now: datetime) -> None:
        """Nothing to give back: the merchant cancels with their carrier."""

    def track(self, label: Label, *, now: datetime) -> Sequence[TrackingEvent]:
        """Nothing: staff record the parcel's events by hand."""
        return []

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> Sequence[TrackingEvent]:
        """:raises WebhookRejected: always; nothing sends this carrier webhooks."""
        raise WebhookRejected("the manual carrier takes no webhooks")


@hookimpl
def register_carriers(register: Register[CarrierFactory]) -> None:
    """Offer the ``manual`` carrier kind (option: ``tracking_url``), checked by the
    store: it refuses an option that is unknown or not as documented naming
    ``carriers.<name>.options.<option>``."""

    def build(name: str, options: ManualOptions) -> ManualCarrier:
        return ManualCarrier(name, tracking_url=options.tracking_url)

    register("manual", build, options=ManualOptions)
