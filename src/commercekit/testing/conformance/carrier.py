"""The carrier suite: what every :class:`~commercekit.ports.carriers.Carrier` promises
the core.

Turn it on for a carrier with a subclass pytest collects::

    class TestMyCarrier(CarrierConformance):
        def make_carrier(self) -> Carrier:
            return MyCarrier(api_key=..., webhook_secret="whsec_test")

        def signed_webhook(self, carrier, events, sent_at):
            return my_signed_body_and_headers(events, sent_at)

Override :meth:`CarrierConformance.label_request` (and ``quote_request``) when the
default Berlin-to-Berlin parcel of 1.2 kg is not one the carrier serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import ClassVar

import pytest

from commercekit.domain.checkout import Address
from commercekit.domain.errors import CommerceError
from commercekit.domain.inventory import StockLocation
from commercekit.domain.shipping import (
    Label,
    PackedUnit,
    Parcel,
    TrackingEvent,
    TrackingStatus,
)
from commercekit.ports.carriers import Carrier, LabelRequest, QuoteRequest
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed
from commercekit.testing.conformance._shared import fresh_key, rejects_webhook, tampered_signature

__all__ = ["RULES", "CarrierConformance"]

LIMITS = "limits are positive"
QUOTE_CURRENCY = "quotes are in the request's currency, in whole minor units"
SAME_LABEL = "buy_label with the same idempotency key returns the same label"
CANCEL_TWICE = "cancel_label is idempotent: cancelling again does nothing"
TRACK_ORDER = "track returns a label's events up to now, oldest first"
SIGNED_WEBHOOK = "a correctly signed webhook gives its tracking events"
FORGED_WEBHOOK = "a webhook with a forged or missing signature raises WebhookRejected"
TAMPERED_WEBHOOK = "a webhook whose body was changed after signing raises WebhookRejected"
STALE_WEBHOOK = "a webhook signed too long ago raises WebhookRejected"
UNKNOWN_LABEL = "a label the carrier never sold is no parcel of its own"

#: Every rule the suite checks, as its failures name them.
RULES = (
    LIMITS,
    QUOTE_CURRENCY,
    SAME_LABEL,
    CANCEL_TWICE,
    TRACK_ORDER,
    SIGNED_WEBHOOK,
    FORGED_WEBHOOK,
    TAMPERED_WEBHOOK,
    STALE_WEBHOOK,
    UNKNOWN_LABEL,
    TYPED_ERRORS,
)

_ORIGIN = StockLocation(id="conformance", name="Conformance warehouse")
_DESTINATION = Address(
    name="Zoë Ünal", line1="Weinbergsweg 12", city="Berlin", postal_code="10119", country="DE"
)
_PARCEL = Parcel((PackedUnit(sku="CONFORMANCE-MUG", weight_grams=1200),))


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class CarrierConformance:
    """The rules of the carrier port, one test each.

    Override :meth:`make_carrier` and, for a carrier that takes webhooks,
    :meth:`signed_webhook`.
    """

    currencies: ClassVar[tuple[str, ...]] = ("EUR", "JPY")
    """The currencies quotes are asked in."""
    track_after: ClassVar[timedelta] = timedelta(days=3)
    """How long after buying a label its events are asked for."""
    stale_after: ClassVar[timedelta] = timedelta(days=2)
    """How long ago a webhook is signed to count as replayed too late."""

    # --- what the author overrides ---------------------------------------------------

    def make_carrier(self) -> Carrier:
        """The carrier under test, new for each test.

        :raises NotImplementedError: until a subclass says how.
        """
        raise NotImplementedError("override make_carrier() to build your carrier")

    def signed_webhook(
        self, carrier: Carrier, events: Sequence[TrackingEvent], sent_at: datetime
    ) -> tuple[bytes, Mapping[str, str]] | None:
        """The body and headers the carrier would send for ``events`` at ``sent_at``;
        ``None`` (the default) for a carrier that sends no webhooks (then only the
        rejection rules run)."""
        return None

    def now(self) -> datetime:
        """The time labels are bought at (the wall clock unless overridden)."""
        return datetime.now(UTC)

    def quote_request(self, currency: str, now: datetime) -> QuoteRequest:
        """A request the carrier quotes for."""
        return QuoteRequest(
            origin=_ORIGIN, destination=_DESTINATION, parcels=(_PARCEL,), currency=currency, now=now
        )

    def label_request(self, key: str, now: datetime) -> LabelRequest:
        """A request the carrier sells a label for, under idempotency key ``key``."""
        return LabelRequest(
            shipment_id=f"shp-{key}",
            order_id=f"ord-{key}",
            origin=_ORIGIN,
            destination=_DESTINATION,
            parcels=(_PARCEL,),
            service="standard",
            currency=self.currencies[0],
            idempotency_key=key,
            now=now,
        )

    # --- helpers ---------------------------------------------------------------------

    def _bought(self, carrier: Carrier, now: datetime) -> Label:
        return typed(partial(carrier.buy_label, self.label_request(fresh_key("label"), now)))

    def _webhook(
        self, carrier: Carrier, sent_at: datetime
    ) -> tuple[bytes, Mapping[str, str], TrackingEvent] | None:
        label = self._bought(carrier, sent_at)
        event = TrackingEvent(
            id=f"{label.tracking_number}:conformance",
            tracking_number=label.tracking_number,
            status=TrackingStatus.IN_TRANSIT,
            at=sent_at.replace(microsecond=0),
            detail="in transit",
            place="hub",
        )
        signed = self.signed_webhook(carrier, [event], sent_at)
        return None if signed is None else (*signed, event)

    # --- the rules -------------------------------------------------------------------

    def test_limits_are_positive(self) -> None:
        """The largest parcel it takes weighs something, and each side is positive."""
        limits = typed(lambda: self.make_carrier().limits)
        rule(
            LIMITS,
            _is_whole(limits.max_weight_grams) and limits.max_weight_grams > 0,
            f"max_weight_grams is {limits.max_weight_grams!r}",
        )
        sides = limits.max_sides_mm
        rule(
            LIMITS,
            sides is None or all(_is_whole(side) and side > 0 for side in sides),
            f"max_sides_mm is {sides!r}",
        )

    def test_quotes_are_in_the_request_currency_in_whole_minor_units(self) -> None:
        """Every quote is in the currency asked for, at a whole number of minor units."""
        carrier = self.make_carrier()
        for currency in self.currencies:
            quotes = typed(partial(carrier.quote, self.quote_request(currency, self.now())))
            for quote in quotes:
                rule(
                    QUOTE_CURRENCY,
                    quote.currency == currency and _is_whole(quote.price_units),
                    f"asked in {currency}, {quote.service} is quoted "
                    f"{quote.price_units!r} {quote.currency}",
                )

    def test_the_same_key_buys_one_label(self) -> None:
        """buy_label again with the same idempotency key returns the first label."""
        carrier = self.make_carrier()
        request = self.label_request(fresh_key("label"), self.now())
        first = typed(partial(carrier.buy_label, request))
        again = typed(partial(carrier.buy_label, request))
        rule(
            SAME_LABEL,
            again == first,
            f"sold {first.tracking_number}, then {again.tracking_number}",
        )

    def test_cancelling_a_label_twice_is_idempotent(self) -> None:
        """cancel_label of a fresh label succeeds, and again does nothing."""
        carrier = self.make_carrier()
        now = self.now()
        label = self._bought(carrier, now)
        key = fresh_key("cancel")
        typed(partial(carrier.cancel_label, label, idempotency_key=key, now=now))
        try:
            typed(partial(carrier.cancel_label, label, idempotency_key=key, now=now))
        except CommerceError as error:
            rule(CANCEL_TWICE, False, f"the second cancel raised {type(error).__name__}: {error}")

    def test_tracking_is_in_time_order(self) -> None:
        """track gives the label's events up to ``now``, oldest first."""
        carrier = self.make_carrier()
        bought_at = self.now()
        label = self._bought(carrier, bought_at)
        now = bought_at + self.track_after
        events = list(typed(partial(carrier.track, label, now=now)))
        rule(
            TRACK_ORDER,
            all(earlier.at <= later.at for earlier, later in pairwise(events)),
            f"events came at {[event.at.isoformat() for event in events]}",
        )
        rule(
            TRACK_ORDER,
            all(event.at <= now for event in events),
            f"an event is after now ({now.isoformat()})",
        )
        strangers = {e.tracking_number for e in events} - {label.tracking_number}
        rule(TRACK_ORDER, not strangers, f"events of other parcels: {sorted(strangers)}")

    def test_a_correctly_signed_webhook_gives_its_events(self) -> None:
        """A webhook signed as the carrier signs gives the events it carries."""
        carrier = self.make_carrier()
        now = self.now()
        signed = self._webhook(carrier, now)
        if signed is None:
            pytest.skip("signed_webhook() gives None: the carrier sends no webhooks")
        body, headers, event = signed
        events = list(typed(partial(carrier.verify_webhook, body, headers, now=now)))
        rule(SIGNED_WEBHOOK, events == [event], f"sent {[event]}, got {events}")

    def test_a_forged_webhook_is_rejected(self) -> None:
        """A webhook whose signature no secret made, or without one, raises
        WebhookRejected."""
        carrier = self.make_carrier()
        now = self.now()
        signed = self._webhook(carrier, now)
        body, headers = (b'{"events": []}', {}) if signed is None else signed[:2]
        forged = {name: tampered_signature(value) for name, value in headers.items()}
        for sent in (forged, {}):
            rejects_webhook(FORGED_WEBHOOK, partial(carrier.verify_webhook, body, sent, now=now))

    def test_a_tampered_webhook_is_rejected(self) -> None:
        """A webhook whose body was changed after it was signed raises WebhookRejected."""
        carrier = self.make_carrier()
        now = self.now()
        signed = self._webhook(carrier, now)
        if signed is None:
            pytest.skip("signed_webhook() gives None: the carrier sends no webhooks")
        body, headers, event = signed
        status = event.status.value.encode()
        changed = (
            body.replace(status, TrackingStatus.DELIVERED.value.encode())
            if status in body
            else body + b" "
        )
        rejects_webhook(
            TAMPERED_WEBHOOK, partial(carrier.verify_webhook, changed, headers, now=now)
        )

    def test_a_stale_webhook_is_rejected(self) -> None:
        """A webhook signed ``stale_after`` ago (a replay) raises WebhookRejected."""
        carrier = self.make_carrier()
        now = self.now()
        signed = self._webhook(carrier, now - self.stale_after)
        if signed is None:
            pytest.skip("signed_webhook() gives None: the carrier sends no webhooks")
        body, headers, _ = signed
        rejects_webhook(STALE_WEBHOOK, partial(carrier.verify_webhook, body, headers, now=now))

    def test_a_label_it_never_sold_is_refused_or_ignored(self) -> None:
        """cancel_label and track of a label the carrier never sold raise nothing but a
        CommerceError, and track reports no events of it."""
        carrier = self.make_carrier()
        now = self.now()
        stranger = Label(tracking_number=fresh_key("stranger"), created_at=now)
        with suppress(CommerceError):
            typed(partial(carrier.cancel_label, stranger, idempotency_key=fresh_key("c"), now=now))
        try:
            events = list(typed(partial(carrier.track, stranger, now=now + self.track_after)))
        except CommerceError:
            return
        rule(UNKNOWN_LABEL, not events, f"track reported {events}")
