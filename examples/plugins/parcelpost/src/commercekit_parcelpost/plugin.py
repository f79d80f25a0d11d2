"""The Parcel Post carrier and its registration with commercekit."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from commercekit.domain.errors import CarrierError, WebhookRejected
from commercekit.domain.shipping import (
    CarrierQuote,
    Label,
    ParcelLimits,
    TrackingEvent,
    TrackingStatus,
)
from commercekit.hookspecs import CarrierFactory, Register, hookimpl
from commercekit.ports.carriers import LabelRequest, QuoteRequest

__all__ = ["ParcelPost", "ParcelPostOptions", "register_carriers", "signed"]

HEADER = "ParcelPost-Signature"
PREFIX = "PP"
#: How far a webhook's timestamp may be from the store's clock.
TOLERANCE = timedelta(minutes=5)
#: Where a parcel is, how long after its label was bought.
JOURNEY = (
    (timedelta(0), TrackingStatus.LABEL_CREATED),
    (timedelta(days=1), TrackingStatus.IN_TRANSIT),
    (timedelta(days=2), TrackingStatus.DELIVERED),
)


class ParcelPostOptions(BaseModel):
    """What a store configures for Parcel Post."""

    model_config = ConfigDict(extra="forbid")

    price_units: int = Field(default=590, ge=0, le=1_000_000)
    per_kg_units: int = Field(default=100, ge=0, le=1_000_000)
    max_weight_grams: int = Field(default=20_000, ge=1, le=1_000_000)
    webhook_secret: SecretStr = SecretStr("")


def signed(
    events: Sequence[TrackingEvent], secret: str, *, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """A webhook as Parcel Post sends it: ``{"events": [...]}``, signed."""
    body = json.dumps(
        {
            "events": [
                {
                    "id": e.id,
                    "tracking_number": e.tracking_number,
                    "status": e.status.value,
                    "at": e.at.isoformat(),
                    "detail": e.detail,
                    "place": e.place,
                }
                for e in events
            ]
        }
    ).encode()
    stamp = str(int(now.timestamp()))
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return body, {HEADER: f"t={stamp},v1={digest.hexdigest()}"}


class ParcelPost:
    """A carrier on the store's clock (see the module's README)."""

    def __init__(self, name: str, options: ParcelPostOptions) -> None:
        self._name = name
        self._options = options
        self._labels: dict[str, Label] = {}
        self._cancelled: set[str] = set()

    @property
    def name(self) -> str:
        return self._name

    @property
    def limits(self) -> ParcelLimits:
        return ParcelLimits(max_weight_grams=self._options.max_weight_grams)

    def _price(self, request: QuoteRequest | LabelRequest) -> int:
        options = self._options
        price = 0
        for parcel in request.parcels:
            extra_kg = max(0, -(-parcel.weight_grams // 1000) - 1)
            price += options.price_units + options.per_kg_units * extra_kg
        return price

    def quote(self, request: QuoteRequest) -> Sequence[CarrierQuote]:
        price = self._price(request)
        return [
            CarrierQuote(
                service="parcel",
                price_units=price,
                currency=request.currency,
                min_days=2,
                max_days=2,
            )
        ]

    def buy_label(self, request: LabelRequest) -> Label:
        key = request.idempotency_key
        if key not in self._labels:
            number = PREFIX + hashlib.sha256(key.encode()).hexdigest()[:12].upper()
            self._labels[key] = Label(
                tracking_number=number,
                tracking_url=f"https://parcelpost.example/track/{number}",
                document=f"PARCEL POST {number}".encode(),
                created_at=request.now,
                price_units=self._price(request),
            )
        return self._labels[key]

    def cancel_label(self, label: Label, *, idempotency_key: str, now: datetime) -> None:
        if label.tracking_number in self._cancelled:
            return
        if now >= label.created_at + JOURNEY[1][0]:
            raise CarrierError("the parcel is on its way", retryable=False)
        self._cancelled.add(label.tracking_number)

    def track(self, label: Label, *, now: datetime) -> Sequence[TrackingEvent]:
        if not label.tracking_number.startswith(PREFIX):
            return []
        steps = JOURNEY[:1] if label.tracking_number in self._cancelled else JOURNEY
        return [
            TrackingEvent(
                id=f"{label.tracking_number}-{n}",
                tracking_number=label.tracking_number,
                status=status,
                at=label.created_at + after,
            )
            for n, (after, status) in enumerate(steps)
            if label.created_at + after <= now
        ]

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> Sequence[TrackingEvent]:
        given = {k.lower(): v for k, v in headers.items()}.get(HEADER.lower(), "")
        parts = dict(part.split("=", 1) for part in given.split(",") if "=" in part)
        stamp, signature = parts.get("t", ""), parts.get("v1", "")
        secret = self._options.webhook_secret.get_secret_value().encode()
        expected = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not secret or not signature or not hmac.compare_digest(expected, signature):
            raise WebhookRejected("the signature does not match")
        if not stamp.isdigit() or abs(now.timestamp() - int(stamp)) > TOLERANCE.total_seconds():
            raise WebhookRejected("the webhook is too old or from the future")
        try:
            return [
                TrackingEvent(
                    id=str(event["id"]),
                    tracking_number=str(event["tracking_number"]),
                    status=TrackingStatus(event["status"]),
                    at=datetime.fromisoformat(str(event["at"])),
                    detail=str(event.get("detail", "")),
                    place=str(event.get("place", "")),
                )
                for event in json.loads(body)["events"]
            ]
        except (ValueError, KeyError, TypeError) as error:
            raise WebhookRejected(f"a body Parcel Post does not send: {error!r}") from None


def _build(name: str, options: ParcelPostOptions) -> ParcelPost:
    return ParcelPost(name, options)


@hookimpl
def register_carriers(register: Register[CarrierFactory]) -> None:
    """Offer the ``parcelpost`` carrier kind, its options checked by pydantic."""
    register("parcelpost", _build, options=ParcelPostOptions)
