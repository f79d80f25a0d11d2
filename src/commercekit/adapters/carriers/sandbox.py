"""The sandbox carrier: a parcel carrier for applications to test against.

It carries nothing. Every answer follows from the request and the store's clock (the
``now`` it is handed, never the wall clock), so a test walks a parcel's journey by
moving its clock. The table below times each event in steps of ``hours_per_step``
hours (12 by default) after the label was bought.

It quotes two services, for any currency, in minor units, per parcel and summed:
``standard`` (490, plus 100 per started kilogram above the first; 2 to 4 days) and
``express`` (990, plus 150 per started kilogram above the first; 1 to 2 days).

The destination's postal code (spaces removed, upper case) decides the journey:

==========  ==============  =====================================================
postal      journey         steps (in units of ``hours_per_step``)
==========  ==============  =====================================================
any other   normal          created 0, picked up 1, in transit 2, out for delivery
                            3, delivered 4
``99901``   undeliverable   ... out for delivery 3, exception 4, returned 6
``99902``   delayed         ... in transit 2, delayed 3, out for delivery 5,
                            delivered 6
``99903``   lost            ... in transit 2, exception 4, nothing after
``99904``   damaged         ... in transit 2, exception 3, returned 5
==========  ==============  =====================================================

The journey is written into the tracking number (``SBX``, a scenario letter, twelve
hex digits of the idempotency key's SHA-256), so a store that restarts between
buying a label and tracking it still hears the same journey. A label may be
cancelled until it is picked up; its journey then ends at its creation.

Webhooks carry ``{"events": [...]}``, signed as payment webhooks are (HMAC-SHA256
over a timestamp and the body) in the ``Sandbox-Signature`` header; :func:`webhook`
makes one.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, NamedTuple, final

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from commercekit.adapters import _signing as signing
from commercekit.adapters.carriers import (
    MAX_TRACKING_URL_LENGTH,
    TrackingUrlTemplate,
    parse_options,
    tracking_url,
)
from commercekit.domain._validators import require_aware
from commercekit.domain.checkout import Address
from commercekit.domain.errors import CarrierError, InvalidInput, WebhookRejected, shown
from commercekit.domain.identifiers import check_text
from commercekit.domain.shipping import (
    CarrierQuote,
    Label,
    Parcel,
    ParcelLimits,
    TrackingEvent,
    TrackingStatus,
)
from commercekit.hookspecs import CarrierFactory, Register, hookimpl
from commercekit.ports.carriers import LabelRequest, QuoteRequest

__all__ = [
    "FAILURE_POSTAL_CODES",
    "MAX_WEBHOOK_BYTES",
    "MAX_WEBHOOK_EVENTS",
    "SIGNATURE_HEADER",
    "SandboxCarrier",
    "SandboxOptions",
    "register_carriers",
    "webhook",
]

#: The postal codes that send a parcel on a journey that goes wrong, by journey.
FAILURE_POSTAL_CODES: Final[Mapping[str, str]] = {
    "99901": "undeliverable",
    "99902": "delayed",
    "99903": "lost",
    "99904": "damaged",
}
SIGNATURE_HEADER: Final = "Sandbox-Signature"
MAX_WEBHOOK_EVENTS: Final = 1000
#: Room for :data:`MAX_WEBHOOK_EVENTS` events of the longest fields a
#: :class:`~commercekit.domain.shipping.TrackingEvent` keeps, escaped.
MAX_WEBHOOK_BYTES: Final = 8 * 1024 * 1024

_PREFIX: Final = "SBX"
_LETTERS: Final = {
    "normal": "N",
    "undeliverable": "U",
    "delayed": "Y",
    "lost": "L",
    "damaged": "D",
}
_EVENT_KEYS: Final = frozenset({"id", "tracking_number", "status", "at", "detail", "place"})
_LONGEST_TIME: Final = 64
_LONGEST_LINE: Final = 200
_MOST_SECRETS: Final = 16


class _Service(NamedTuple):
    base_units: int
    per_kg_units: int
    """For every started kilogram above the first."""
    min_days: int
    max_days: int


_SERVICES: Final[Mapping[str, _Service]] = {
    "standard": _Service(490, 100, 2, 4),
    "express": _Service(990, 150, 1, 2),
}


class _Step(NamedTuple):
    after: int
    """How many ``hours_per_step`` after the label's creation."""
    status: TrackingStatus
    detail: str
    place: str


_HUB, _DEPOT, _SENDER = "sandbox hub", "sandbox delivery depot", "sender"
_ON_ITS_WAY: Final = (
    _Step(0, TrackingStatus.LABEL_CREATED, "label created", _SENDER),
    _Step(1, TrackingStatus.PICKED_UP, "picked up", _SENDER),
    _Step(2, TrackingStatus.IN_TRANSIT, "in transit", _HUB),
)
_JOURNEYS: Final[Mapping[str, tuple[_Step, ...]]] = {
    "N": (
        *_ON_ITS_WAY,
        _Step(3, TrackingStatus.OUT_FOR_DELIVERY, "out for delivery", _DEPOT),
        _Step(4, TrackingStatus.DELIVERED, "delivered", "recipient"),
    ),
    "U": (
        *_ON_ITS_WAY,
        _Step(3, TrackingStatus.OUT_FOR_DELIVERY, "out for delivery", _DEPOT),
        _Step(
            4,
            TrackingStatus.EXCEPTION,
            "undeliverable: the address could not be found",
            _DEPOT,
        ),
        _Step(6, TrackingStatus.RETURNED_TO_SENDER, "returned to the sender", _SENDER),
    ),
    "Y": (
        *_ON_ITS_WAY,
        _Step(3, TrackingStatus.DELAYED, "delayed: held up in the network", _HUB),
        _Step(5, TrackingStatus.OUT_FOR_DELIVERY, "out for delivery", _DEPOT),
        _Step(6, TrackingStatus.DELIVERED, "delivered", "recipient"),
    ),
    "L": (
        *_ON_ITS_WAY,
        _Step(4, TrackingStatus.EXCEPTION, "lost: the parcel cannot be found", _HUB),
    ),
    "D": (
        *_ON_ITS_WAY,
        _Step(3, TrackingStatus.EXCEPTION, "damaged: the parcel was damaged in transit", _HUB),
        _Step(5, TrackingStatus.RETURNED_TO_SENDER, "returned to the sender", _SENDER),
    ),
}
_TRACKING_NUMBER: Final = re.compile(rf"{_PREFIX}([{''.join(_JOURNEYS)}])[0-9A-F]{{12}}", re.ASCII)


_Secret = Annotated[StrictStr, Field(min_length=1, max_length=4096)]
_Side = Annotated[StrictInt, Field(ge=1, le=100_000)]


class SandboxOptions(BaseModel):
    """The sandbox carrier's options (``webhook_secret`` is given among a store's
    secrets)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours_per_step: Annotated[float, Field(strict=True, gt=0, le=720)] = 12
    """The time between two steps of a journey."""
    webhook_secret: _Secret | tuple[_Secret, ...] | None = Field(
        default=None, repr=False, json_schema_extra={"secret": True}
    )
    """The secret webhooks are signed with, or a list of them (the current one and
    those being retired); ``None`` refuses every webhook."""
    tracking_url: TrackingUrlTemplate = "https://sandbox-carrier.test/track/{tracking_number}"
    max_weight_grams: Annotated[StrictInt, Field(ge=1, le=1_000_000_000)] = 30_000
    max_sides_mm: tuple[_Side, _Side, _Side] = (1200, 600, 600)
    tolerance_seconds: Annotated[StrictInt, Field(ge=1, le=86_400)] = (
        signing.DEFAULT_TOLERANCE_SECONDS
    )
    """How far a webhook's timestamp may be from the store's clock."""

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _secrets(cls, value: object) -> object:
        if isinstance(value, list | tuple) and not 1 <= len(value) <= _MOST_SECRETS:
            raise ValueError(f"must list from 1 to {_MOST_SECRETS} secrets")
        return tuple(value) if isinstance(value, list) else value

    @field_validator("max_sides_mm", mode="before")
    @classmethod
    def _three(cls, value: object) -> object:
        if not isinstance(value, list | tuple) or len(value) != 3:
            raise ValueError("must be three whole numbers of mm (any order)")
        return value

    @field_validator("tracking_url")
    @classmethod
    def _fits(cls, value: str) -> str:
        sample = f"{_PREFIX}N{'0' * 12}"
        if len(value.format(tracking_number=sample) if value else "") > MAX_TRACKING_URL_LENGTH:
            raise ValueError(f"makes addresses longer than {MAX_TRACKING_URL_LENGTH} characters")
        return value


@final
class SandboxCarrier:
    """The built-in carrier for tests (see the module docstring for its journeys)."""

    def __init__(
        self, name: str = "sandbox", options: SandboxOptions | Mapping[str, Any] | None = None
    ) -> None:
        """:raises InvalidInput: naming the option, for options that are unknown or not
        as :class:`SandboxOptions` says."""
        self._name = check_text(name, "name", max_length=64)
        if not isinstance(options, SandboxOptions):
            options = parse_options(SandboxOptions, {} if options is None else options)
        self.options = options
        self._limits = ParcelLimits(
            max_weight_grams=options.max_weight_grams, max_sides_mm=options.max_sides_mm
        )
        self._step = timedelta(hours=options.hours_per_step)
        self._lock = threading.Lock()
        self._labels: dict[str, Label] = {}
        self._cancelled: set[str] = set()

    @property
    def name(self) -> str:
        """The name a store's configuration uses for this carrier."""
        return self._name

    @property
    def limits(self) -> ParcelLimits:
        """``max_weight_grams`` and ``max_sides_mm``, from the options."""
        return self._limits

    def _fits(self, parcel: Parcel) -> bool:
        return parcel.weight_grams <= self._limits.max_weight_grams and all(
            unit.fits(self._limits) for unit in parcel.units
        )

    def quote(self, request: QuoteRequest) -> Sequence[CarrierQuote]:
        """``standard`` and ``express``; nothing for no parcels, or one over its limits."""
        parcels = request.parcels
        if not parcels or not all(self._fits(parcel) for parcel in parcels):
            return []
        return [
            CarrierQuote(
                service=name,
                price_units=_price(service, parcels),
                currency=request.currency,
                min_days=service.min_days,
                max_days=service.max_days,
            )
            for name, service in _SERVICES.items()
        ]

    def buy_label(self, request: LabelRequest) -> Label:
        """A label whose tracking number carries the destination's journey; the same
        idempotency key again gives the very same label.

        Any service is sold (a delivery method's id may stand for one); it is priced
        as ``standard`` unless it is ``express``.

        :raises InvalidInput: naming ``parcels``, for none or one over its limits.
        """
        key = check_text(request.idempotency_key, "idempotency_key")
        with self._lock:
            label = self._labels.get(key)
            if label is None:
                label = self._label(request, key)
                self._labels[key] = label
            return label

    def _label(self, request: LabelRequest, key: str) -> Label:
        require_aware(request.now, field="now")
        if not request.parcels:
            raise InvalidInput("a label needs at least one parcel", field="parcels")
        if not all(self._fits(parcel) for parcel in request.parcels):
            raise InvalidInput(
                f"a parcel is over the sandbox's limits ({self._limits.max_weight_grams} g, "
                f"sides {self._limits.max_sides_mm} mm)",
                field="parcels",
            )
        digest = hashlib.sha256(key.encode()).hexdigest()[:12].upper()
        number = f"{_PREFIX}{_LETTERS[_journey_of(request.destination)]}{digest}"
        service = _SERVICES.get(request.service, _SERVICES["standard"])
        return Label(
            tracking_number=number,
            tracking_url=tracking_url(self.options.tracking_url, number, field="tracking_url"),
            document=self._document(request, number),
            media_type="text/plain",
            created_at=request.now,
            price_units=_price(service, request.parcels),
        )

    def _document(self, request: LabelRequest, number: str) -> bytes:
        lines = [
            f"SANDBOX CARRIER {self._name}: a test label, not for real parcels",
            f"service: {request.service}",
            f"tracking number: {number}",
            f"from: {request.origin.name}",
            "to:",
            *(f"  {line}" for line in _address_lines(request.destination)),
            *(
                f"parcel {n}: {parcel.weight_grams} g"
                for n, parcel in enumerate(request.parcels, 1)
            ),
        ]
        return "".join(f"{_printable(line)}\n" for line in lines).encode()

    def cancel_label(self, label: Label, *, idempotency_key: str, now: datetime) -> None:
        """Give back a label not yet picked up; cancelling it again does nothing.

        :raises CarrierError: not retryable, once the parcel is picked up, or for a
            label the sandbox never sold.
        """
        require_aware(now, field="now")
        number = label.tracking_number
        if _TRACKING_NUMBER.fullmatch(number) is None:
            raise CarrierError(f"{shown(number)} is not a sandbox label", retryable=False)
        picked_up = self._at(label, 1)
        with self._lock:
            if number in self._cancelled:
                return
            if picked_up is not None and now >= picked_up:
                raise CarrierError(
                    f"{number} was picked up at {picked_up.isoformat()}: too late to cancel",
                    retryable=False,
                )
            self._cancelled.add(number)

    def journey(self, label: Label) -> list[TrackingEvent]:
        """Every event the label's parcel will see, oldest first, whenever they come
        (the first alone, for a cancelled label; none, for a label not the sandbox's)."""
        number = label.tracking_number
        found = _TRACKING_NUMBER.fullmatch(number)
        if found is None:
            return []
        steps = _JOURNEYS[found.group(1)]
        with self._lock:
            if number in self._cancelled:
                steps = steps[:1]
        events = []
        for index, step in enumerate(steps):
            at = self._at(label, step.after)
            if at is None:
                break
            events.append(
                TrackingEvent(
                    id=f"{number}:{index}",
                    tracking_number=number,
                    status=step.status,
                    at=at,
                    detail=step.detail,
                    place=step.place,
                )
            )
        return events

    def _at(self, label: Label, steps: int) -> datetime | None:
        """When a step comes; ``None`` past the last time a datetime holds (never)."""
        try:
            return label.created_at + self._step * steps
        except OverflowError:
            return None

    def track(self, label: Label, *, now: datetime) -> Sequence[TrackingEvent]:
        """The journey's events up to ``now``, oldest first."""
        require_aware(now, field="now")
        return [event for event in self.journey(label) if event.at <= now]

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> Sequence[TrackingEvent]:
        """The events of a webhook signed with a ``webhook_secret``, in the
        ``Sandbox-Signature`` header (any case).

        :raises WebhookRejected: with no secret configured, for a signature that is
            wrong, missing or stale, or a body that is not exactly as documented.
        """
        require_aware(now, field="now")
        if self.options.webhook_secret is None:
            raise WebhookRejected("the sandbox carrier has no webhook secret configured")
        if not isinstance(body, bytes | bytearray):
            raise WebhookRejected("the webhook body must be the raw bytes received")
        if len(body) > MAX_WEBHOOK_BYTES:
            raise WebhookRejected(f"the webhook body must be at most {MAX_WEBHOOK_BYTES} bytes")
        raw = bytes(body)
        signing.verify(
            self.options.webhook_secret,
            raw,
            _signature(headers),
            now,
            self.options.tolerance_seconds,
        )
        return _events(raw)


def _journey_of(destination: Address) -> str:
    postal_code = destination.postal_code if isinstance(destination.postal_code, str) else ""
    return FAILURE_POSTAL_CODES.get("".join(postal_code.split()).upper(), "normal")


def _price(service: _Service, parcels: Iterable[Parcel]) -> int:
    return sum(
        service.base_units + service.per_kg_units * max(0, -(-parcel.weight_grams // 1000) - 1)
        for parcel in parcels
    )


def _address_lines(address: Address) -> list[str]:
    town = f"{address.postal_code} {address.city}".strip()
    lines = [address.name, address.company, address.line1, address.line2, town]
    return [str(line) for line in (*lines, address.region, address.country) if line]


def _printable(line: str) -> str:
    """``line`` as one line a printer prints: anything else becomes a space."""
    return "".join(char if char.isprintable() else " " for char in line)[:_LONGEST_LINE]


def _signature(headers: Mapping[str, str]) -> str:
    if not isinstance(headers, Mapping):
        raise WebhookRejected("the webhook headers must be a mapping")
    wanted = SIGNATURE_HEADER.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            return value
    return ""


# --- webhook bodies ----------------------------------------------------------------


def webhook(
    events: Iterable[TrackingEvent], secret: str, *, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a webhook pushing ``events``, signed with ``secret`` as
    sent at ``now``: what the sandbox would send, for tests and for applications
    simulating a push.

    :raises InvalidInput: naming ``secret``, for an empty one.
    """
    if not isinstance(secret, str) or not secret:
        raise InvalidInput("a webhook is signed with a non-empty secret", field="secret")
    require_aware(now, field="now")
    body = json.dumps({"events": [_event_json(event) for event in events]}, sort_keys=True)
    raw = body.encode()
    return raw, {SIGNATURE_HEADER: signing.sign(secret, raw, int(now.timestamp()))}


def _event_json(event: TrackingEvent) -> dict[str, str]:
    return {
        "id": event.id,
        "tracking_number": event.tracking_number,
        "status": event.status.value,
        "at": event.at.isoformat(),
        "detail": event.detail,
        "place": event.place,
    }


def _events(body: bytes) -> list[TrackingEvent]:
    """The events of a webhook body, read strictly.

    :raises WebhookRejected: for anything but ``{"events": [...]}`` of at most
        :data:`MAX_WEBHOOK_EVENTS` events, each with exactly the documented keys.
    """
    try:
        data = json.loads(body.decode(), object_pairs_hook=_unique, parse_constant=_refuse)
    except (ValueError, RecursionError):
        raise WebhookRejected("the webhook body is not JSON in UTF-8") from None
    if not isinstance(data, dict) or set(data) != {"events"}:
        raise WebhookRejected('the webhook body must be {"events": [...]}')
    items = data["events"]
    if not isinstance(items, list) or len(items) > MAX_WEBHOOK_EVENTS:
        raise WebhookRejected(f"events must be a list of at most {MAX_WEBHOOK_EVENTS} events")
    return [_event(item, index) for index, item in enumerate(items)]


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a key is given twice")
    return found


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _event(item: object, index: int) -> TrackingEvent:
    where = f"event {index}"
    if not isinstance(item, dict) or set(item) != _EVENT_KEYS:
        raise WebhookRejected(
            f"{where} must have exactly the keys {', '.join(sorted(_EVENT_KEYS))}"
        )
    wrong = sorted(key for key, value in item.items() if not isinstance(value, str))
    if wrong:
        raise WebhookRejected(f"{where}: {wrong[0]} must be a string")
    try:
        status = TrackingStatus(item["status"])
    except ValueError:
        raise WebhookRejected(
            f"{where}: {shown(item['status'])} is not a tracking status"
        ) from None
    at = _time(item["at"], where)
    try:
        return TrackingEvent(
            id=item["id"],
            tracking_number=item["tracking_number"],
            status=status,
            at=at,
            detail=item["detail"],
            place=item["place"],
        )
    except InvalidInput as error:
        raise WebhookRejected(f"{where}: {error}") from None


def _time(text: str, where: str) -> datetime:
    """An ISO 8601 time with its offset: a naive one means another instant on every
    server."""
    try:
        at = datetime.fromisoformat(text) if len(text) <= _LONGEST_TIME else None
    except ValueError:
        at = None
    if at is None or at.utcoffset() is None:
        raise WebhookRejected(f"{where}: at must be an ISO 8601 time with its offset")
    return at


@hookimpl
def register_carriers(register: Register[CarrierFactory]) -> None:
    """Offer the ``sandbox`` carrier kind (the options of :class:`SandboxOptions`;
    ``webhook_secret`` among the secrets), checked by the store: it refuses an option
    that is unknown or not as documented naming ``carriers.<name>.options.<option>``
    (or ``secrets.webhook_secret``)."""

    def build(name: str, options: SandboxOptions) -> SandboxCarrier:
        return SandboxCarrier(name, options)

    register("sandbox", build, options=SandboxOptions)
