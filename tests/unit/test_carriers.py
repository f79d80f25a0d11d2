"""The built-in carriers: the manual one keeps what staff type; the sandbox quotes,
sells labels and walks each parcel through the journey its postal code names, on the
store's clock."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

from commercekit.adapters import _signing as signing
from commercekit.adapters.carriers.manual import ManualCarrier
from commercekit.adapters.carriers.sandbox import (
    FAILURE_POSTAL_CODES,
    MAX_WEBHOOK_BYTES,
    MAX_WEBHOOK_EVENTS,
    SandboxCarrier,
    webhook,
)
from commercekit.domain.checkout import Address
from commercekit.domain.errors import CarrierError, InvalidInput, WebhookRejected
from commercekit.domain.inventory import StockLocation
from commercekit.domain.shipping import Label, PackedUnit, Parcel, TrackingEvent, TrackingStatus
from commercekit.plugins import BUILTIN_PLUGINS, Plugins
from commercekit.ports.carriers import Carrier, LabelRequest, QuoteRequest

S = TrackingStatus
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
STEP = 12 * HOUR
SECRET, OLD_SECRET, STRANGER = "whsec_sandbox", "whsec_retired", "whsec_stranger"
BERLIN = StockLocation(id="berlin", name="Berlin warehouse")
CARRIER_MODULES = ("commercekit.adapters.carriers.manual", "commercekit.adapters.carriers.sandbox")


def parcel(*grams: int, sides: tuple[int, int, int] | None = None) -> Parcel:
    return Parcel(
        tuple(PackedUnit(sku="RETRO-CLOCK", weight_grams=g, sides_mm=sides) for g in grams)
    )


def address(postal_code: str = "10119") -> Address:
    return Address(
        name="Zoë Ünal",
        line1="Weinbergsweg 12",
        city="Berlin",
        postal_code=postal_code,
        country="DE",
    )


def label_request(
    key: str = "ship-1",
    *,
    postal_code: str = "10119",
    parcels: Sequence[Parcel] = (parcel(1200),),
    service: str = "standard",
    now: datetime = NOW,
    tracking_number: str = "",
) -> LabelRequest:
    return LabelRequest(
        shipment_id="shp_1",
        order_id="ord_1",
        origin=BERLIN,
        destination=address(postal_code),
        parcels=tuple(parcels),
        service=service,
        currency="EUR",
        idempotency_key=key,
        now=now,
        tracking_number=tracking_number,
    )


def quote_request(*parcels: Parcel, currency: str = "EUR") -> QuoteRequest:
    return QuoteRequest(
        origin=BERLIN, destination=address(), parcels=parcels, currency=currency, now=NOW
    )


def sandbox(**options: Any) -> SandboxCarrier:
    return SandboxCarrier("sandbox", {"webhook_secret": SECRET, **options})


def statuses(events: Sequence[TrackingEvent]) -> list[TrackingStatus]:
    return [event.status for event in events]


def plugins() -> Plugins:
    mine = tuple(module for module in CARRIER_MODULES if module not in BUILTIN_PLUGINS)
    return Plugins(entry_point_plugins=False, builtin=(*BUILTIN_PLUGINS, *mine))


# --- quotes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grams", "standard", "express"),
    [
        (0, 490, 990),
        (1000, 490, 990),
        (1001, 590, 1140),
        (2000, 590, 1140),
        (2500, 690, 1290),
        (30_000, 3390, 5340),
    ],
)
def test_one_parcel_is_priced_by_every_started_kilogram_above_the_first(
    grams: int, standard: int, express: int
) -> None:
    quotes = sandbox().quote(quote_request(parcel(grams)))
    assert [(q.service, q.price_units, q.currency) for q in quotes] == [
        ("standard", standard, "EUR"),
        ("express", express, "EUR"),
    ]
    assert [(q.min_days, q.max_days) for q in quotes] == [(2, 4), (1, 2)]


def test_several_parcels_are_priced_each_and_summed_in_any_currency() -> None:
    quotes = sandbox().quote(
        quote_request(parcel(1000), parcel(1500, 1000), parcel(30_000), currency="JPY")
    )
    assert {q.service: q.price_units for q in quotes} == {
        "standard": 490 + 690 + 3390,
        "express": 990 + 1290 + 5340,
    }
    assert {q.currency for q in quotes} == {"JPY"}


def test_no_parcels_or_a_parcel_over_the_limits_gets_no_quote() -> None:
    carrier = sandbox()
    assert carrier.quote(quote_request()) == []
    assert carrier.quote(quote_request(parcel(30_001))) == []
    assert carrier.quote(quote_request(parcel(100, sides=(1300, 10, 10)))) == []
    assert carrier.quote(quote_request(parcel(100, sides=(10, 600, 1200)))) != []


# --- labels --------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_very_same_label() -> None:
    carrier = sandbox()
    first = carrier.buy_label(label_request("ship-1"))
    assert carrier.buy_label(label_request("ship-1", now=NOW + 5 * STEP)) is first
    assert carrier.buy_label(label_request("ship-2")).tracking_number != first.tracking_number


def test_concurrent_purchases_with_one_key_buy_one_label() -> None:
    carrier = sandbox()
    with ThreadPoolExecutor(max_workers=8) as pool:
        labels = list(pool.map(lambda _: carrier.buy_label(label_request("ship-1")), range(64)))
    assert all(label is labels[0] for label in labels)


def test_a_label_is_a_printable_document_priced_by_its_service() -> None:
    carrier = sandbox()
    request = label_request(parcels=(parcel(1200), parcel(400)), service="express")
    label = carrier.buy_label(request)
    assert label.tracking_url == f"https://sandbox-carrier.test/track/{label.tracking_number}"
    assert label.media_type == "text/plain"
    assert label.created_at == NOW
    assert label.price_units == 1140 + 990
    document = label.document.decode()
    for words in (
        "express",
        label.tracking_number,
        "Berlin warehouse",
        "Zoë Ünal",
        "Weinbergsweg 12",
        "10119 Berlin",
        "parcel 1: 1200 g",
        "parcel 2: 400 g",
    ):
        assert words in document


def test_any_service_is_sold_and_priced_as_standard() -> None:
    label = sandbox().buy_label(label_request(service="next-day-by-bike"))
    assert label.price_units == 590


@pytest.mark.parametrize(
    "parcels", [(), (parcel(30_001),), (parcel(10), parcel(100, sides=(700, 700, 700)))]
)
def test_a_label_for_no_parcel_or_one_over_the_limits_is_refused(
    parcels: tuple[Parcel, ...],
) -> None:
    with pytest.raises(InvalidInput) as caught:
        sandbox().buy_label(label_request(parcels=parcels))
    assert caught.value.field == "parcels"


@pytest.mark.parametrize(
    ("postal_code", "letter"),
    [
        ("10119", "N"),
        ("", "N"),
        ("99901", "U"),
        ("999 02", "Y"),
        (" 99903 ", "L"),
        ("9 9 9 0 4", "D"),
        ("99905", "N"),
    ],
)
def test_the_tracking_number_carries_the_journey_of_the_postal_code(
    postal_code: str, letter: str
) -> None:
    label = sandbox().buy_label(label_request("ship-1", postal_code=postal_code))
    digest = hashlib.sha256(b"ship-1").hexdigest()[:12].upper()
    assert label.tracking_number == f"SBX{letter}{digest}"


def test_a_restarted_sandbox_tracks_a_label_it_sold_before() -> None:
    label = sandbox().buy_label(label_request(postal_code="99903"))
    assert statuses(sandbox().track(label, now=NOW + 10 * STEP))[-1] is S.EXCEPTION


# --- tracking ------------------------------------------------------------------------


def test_a_normal_parcel_advances_one_step_every_hours_per_step() -> None:
    carrier = sandbox()
    label = carrier.buy_label(label_request())
    journey = [S.LABEL_CREATED, S.PICKED_UP, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED]
    assert carrier.track(label, now=NOW - timedelta(seconds=1)) == []
    for step in range(5):
        assert statuses(carrier.track(label, now=NOW + step * STEP)) == journey[: step + 1]
        just_before = NOW + (step + 1) * STEP - timedelta(seconds=1)
        assert statuses(carrier.track(label, now=just_before)) == journey[: step + 1]
    events = carrier.track(label, now=NOW + 100 * STEP)
    assert statuses(events) == journey
    assert [event.at for event in events] == [NOW + n * STEP for n in range(5)]
    assert [event.id for event in events] == [f"{label.tracking_number}:{n}" for n in range(5)]
    assert {event.tracking_number for event in events} == {label.tracking_number}
    assert all(event.place for event in events)


def test_hours_per_step_sets_the_pace() -> None:
    carrier = sandbox(hours_per_step=0.5)
    label = carrier.buy_label(label_request())
    assert statuses(carrier.track(label, now=NOW + 2 * HOUR))[-1] is S.DELIVERED


@pytest.mark.parametrize(
    ("postal_code", "steps"),
    [
        (
            "99901",
            [
                (0, S.LABEL_CREATED, ""),
                (1, S.PICKED_UP, ""),
                (2, S.IN_TRANSIT, ""),
                (3, S.OUT_FOR_DELIVERY, ""),
                (4, S.EXCEPTION, "undeliverable: the address could not be found"),
                (6, S.RETURNED_TO_SENDER, ""),
            ],
        ),
        (
            "99902",
            [
                (0, S.LABEL_CREATED, ""),
                (1, S.PICKED_UP, ""),
                (2, S.IN_TRANSIT, ""),
                (3, S.DELAYED, "delayed: held up in the network"),
                (5, S.OUT_FOR_DELIVERY, ""),
                (6, S.DELIVERED, ""),
            ],
        ),
        (
            "99903",
            [
                (0, S.LABEL_CREATED, ""),
                (1, S.PICKED_UP, ""),
                (2, S.IN_TRANSIT, ""),
                (4, S.EXCEPTION, "lost: the parcel cannot be found"),
            ],
        ),
        (
            "99904",
            [
                (0, S.LABEL_CREATED, ""),
                (1, S.PICKED_UP, ""),
                (2, S.IN_TRANSIT, ""),
                (3, S.EXCEPTION, "damaged: the parcel was damaged in transit"),
                (5, S.RETURNED_TO_SENDER, ""),
            ],
        ),
    ],
)
def test_each_failure_postal_code_walks_its_own_journey(
    postal_code: str, steps: list[tuple[int, TrackingStatus, str]]
) -> None:
    carrier = sandbox()
    label = carrier.buy_label(label_request(postal_code=postal_code))
    for count, (step, _, _) in enumerate(steps, 1):
        seen = carrier.track(label, now=NOW + step * STEP)
        assert statuses(seen) == [status for _, status, _ in steps[:count]]
        assert statuses(carrier.track(label, now=NOW + step * STEP - HOUR)) == statuses(seen[:-1])
    events = carrier.track(label, now=NOW + 1000 * STEP)
    assert [(e.at, e.status) for e in events] == [(NOW + n * STEP, s) for n, s, _ in steps]
    for event, (_, _, detail) in zip(events, steps, strict=True):
        assert detail in event.detail
    assert carrier.journey(label) == events


def test_every_failure_postal_code_is_documented_by_name() -> None:
    assert set(FAILURE_POSTAL_CODES.values()) == {"undeliverable", "delayed", "lost", "damaged"}


# --- cancelling ----------------------------------------------------------------------


def test_a_label_is_cancelled_before_pick_up_and_its_journey_ends() -> None:
    carrier = sandbox()
    label = carrier.buy_label(label_request())
    carrier.cancel_label(label, idempotency_key="cancel-1", now=NOW + STEP - HOUR)
    carrier.cancel_label(label, idempotency_key="cancel-1", now=NOW + 3 * STEP)
    assert statuses(carrier.track(label, now=NOW + 10 * STEP)) == [S.LABEL_CREATED]


@pytest.mark.parametrize("after", [STEP, 3 * STEP])
def test_a_label_picked_up_can_no_longer_be_cancelled(after: timedelta) -> None:
    carrier = sandbox()
    label = carrier.buy_label(label_request())
    with pytest.raises(CarrierError) as caught:
        carrier.cancel_label(label, idempotency_key="cancel-1", now=NOW + after)
    assert caught.value.retryable is False
    assert statuses(carrier.track(label, now=NOW + 10 * STEP))[-1] is S.DELIVERED


def test_a_label_the_sandbox_never_sold_is_neither_tracked_nor_cancelled() -> None:
    carrier = sandbox()
    stranger = Label(tracking_number="1Z999AA10123456784", created_at=NOW)
    assert carrier.track(stranger, now=NOW + 10 * STEP) == []
    with pytest.raises(CarrierError):
        carrier.cancel_label(stranger, idempotency_key="cancel-1", now=NOW)


# --- the manual carrier --------------------------------------------------------------


def test_the_manual_carrier_keeps_the_number_staff_typed() -> None:
    carrier = ManualCarrier("post", tracking_url="https://post.example/t/{tracking_number}")
    label = carrier.buy_label(label_request(tracking_number="  1Z 999  "))
    assert label.tracking_number == "1Z 999"
    assert label.tracking_url == "https://post.example/t/1Z%20999"
    assert label.document == b""
    assert label.created_at == NOW
    again = carrier.buy_label(label_request(tracking_number="typed again", now=NOW + HOUR))
    assert again is label


def test_the_manual_carrier_quotes_tracks_and_cancels_nothing() -> None:
    carrier = ManualCarrier("post")
    label = carrier.buy_label(label_request(tracking_number="RR123456785DE"))
    assert label.tracking_url == ""
    assert carrier.quote(quote_request(parcel(500))) == []
    assert carrier.track(label, now=NOW + 100 * STEP) == []
    carrier.cancel_label(label, idempotency_key="cancel-1", now=NOW)
    assert carrier.limits.max_weight_grams == 1_000_000_000
    assert carrier.limits.max_sides_mm is None
    with pytest.raises(WebhookRejected):
        carrier.verify_webhook(b'{"events": []}', {}, now=NOW)


@pytest.mark.parametrize("typed", ["", "   ", "1Z\x00999", "1Z\n999", "X" * 129])
def test_the_manual_carrier_requires_a_usable_tracking_number(typed: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        ManualCarrier("post").buy_label(label_request(tracking_number=typed))
    assert caught.value.field == "tracking_number"


# --- webhooks ------------------------------------------------------------------------


def journey_events(postal_code: str = "10119") -> list[TrackingEvent]:
    carrier = sandbox()
    return carrier.journey(carrier.buy_label(label_request(postal_code=postal_code)))


def test_a_signed_webhook_brings_its_events_back_as_sent() -> None:
    events = journey_events("99902")
    body, headers = webhook(events, SECRET, now=NOW)
    assert sandbox().verify_webhook(body, headers, now=NOW + timedelta(seconds=30)) == events
    lower = {name.lower(): value for name, value in headers.items()}
    assert sandbox().verify_webhook(body, lower, now=NOW) == events


def test_a_webhook_signed_with_a_retired_secret_is_accepted_during_a_rotation() -> None:
    body, headers = webhook(journey_events(), OLD_SECRET, now=NOW)
    carrier = SandboxCarrier("sandbox", {"webhook_secret": [SECRET, OLD_SECRET]})
    assert len(carrier.verify_webhook(body, headers, now=NOW)) == 5


def test_a_webhook_with_a_wrong_missing_or_stale_signature_is_rejected() -> None:
    body, headers = webhook(journey_events(), STRANGER, now=NOW)
    with pytest.raises(WebhookRejected):
        sandbox().verify_webhook(body, headers, now=NOW)
    body, headers = webhook(journey_events(), SECRET, now=NOW)
    with pytest.raises(WebhookRejected):
        sandbox().verify_webhook(body, headers, now=NOW + timedelta(seconds=301))
    with pytest.raises(WebhookRejected):
        sandbox(tolerance_seconds=10).verify_webhook(body, headers, now=NOW - timedelta(minutes=1))
    with pytest.raises(WebhookRejected):
        sandbox().verify_webhook(body, {}, now=NOW)
    with pytest.raises(WebhookRejected):
        sandbox().verify_webhook(body + b" ", headers, now=NOW)


def test_a_sandbox_without_a_webhook_secret_rejects_every_webhook() -> None:
    body, headers = webhook([], SECRET, now=NOW)
    with pytest.raises(WebhookRejected):
        SandboxCarrier("sandbox").verify_webhook(body, headers, now=NOW)


def event_json(**changes: Any) -> dict[str, Any]:
    good = {
        "id": "SBXN000000000000:0",
        "tracking_number": "SBXN000000000000",
        "status": "in_transit",
        "at": "2026-11-27T09:00:00+00:00",
        "detail": "in transit",
        "place": "sandbox hub",
    }
    return {key: value for key, value in {**good, **changes}.items() if value is not None}


def events_body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}).encode()


HOSTILE_BODIES = {
    "not JSON": b"events: all of them",
    "empty": b"",
    "a NUL": b'{"events": []}\x00',
    "not UTF-8": b'{"events": ["\xff"]}',
    "a list": b"[]",
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "an extra key": b'{"events": [], "more": 1}',
    "a key twice": b'{"events": [], "events": []}',
    "events not a list": b'{"events": {}}',
    "an event not an object": events_body("in_transit"),  # type: ignore[arg-type]
    "a missing key": events_body(event_json(place=None)),
    "an unknown key": events_body(event_json(colour="blue")),
    "a number for text": events_body(event_json(detail=5)),
    "NaN": events_body(event_json(detail=float("nan"))),
    "a huge number": events_body(event_json(detail="N")).replace(b'"N"', b"9" * 5000),
    "an unknown status": events_body(event_json(status="teleported")),
    "a naive time": events_body(event_json(at="2026-11-27T09:00:00")),
    "a date alone": events_body(event_json(at="2026-11-27")),
    "a time of a megabyte": events_body(event_json(at="2026" * 250_000)),
    "a NUL in text": events_body(event_json(detail="in\x00transit")),
    "a lone surrogate": events_body(event_json(id="S")).replace(b'"S"', b'"\\ud800"'),
    "an id too long": events_body(event_json(id="X" * 129)),
    "too many events": events_body(*[event_json()] * (MAX_WEBHOOK_EVENTS + 1)),
    "too large": b" " * (MAX_WEBHOOK_BYTES + 1),
}


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_signed_body_that_is_not_exactly_as_documented_is_rejected(body: bytes) -> None:
    headers = {"Sandbox-Signature": signing.sign(SECRET, body, int(NOW.timestamp()))}
    with pytest.raises(WebhookRejected) as caught:
        sandbox().verify_webhook(body, headers, now=NOW)
    assert "signature" not in caught.value.message  # refused for its body, once signed


def test_the_body_checker_takes_the_largest_body_it_allows() -> None:
    body, headers = webhook([], SECRET, now=NOW)
    assert sandbox().verify_webhook(body, headers, now=NOW) == []
    many = events_body(*[event_json()] * MAX_WEBHOOK_EVENTS)
    signed = {"Sandbox-Signature": signing.sign(SECRET, many, int(NOW.timestamp()))}
    assert len(sandbox().verify_webhook(many, signed, now=NOW)) == MAX_WEBHOOK_EVENTS


# --- options and plugins -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "field"),
    [
        ("sandbox", {"hours_per_step": 0}, "carriers.main.options.hours_per_step"),
        ("sandbox", {"hours_per_step": 721}, "carriers.main.options.hours_per_step"),
        ("sandbox", {"hours_per_step": "12"}, "carriers.main.options.hours_per_step"),
        ("sandbox", {"hours_per_step": True}, "carriers.main.options.hours_per_step"),
        ("sandbox", {"webhook_secret": ""}, "carriers.main.secrets.webhook_secret"),
        ("sandbox", {"webhook_secret": []}, "carriers.main.secrets.webhook_secret"),
        ("sandbox", {"webhook_secret": ["a", ""]}, "carriers.main.secrets.webhook_secret"),
        ("sandbox", {"tracking_url": "https://x.test/"}, "carriers.main.options.tracking_url"),
        ("sandbox", {"tracking_url": "https://x.test/{id}"}, "carriers.main.options.tracking_url"),
        ("sandbox", {"tracking_url": "x" * 2001}, "carriers.main.options.tracking_url"),
        ("sandbox", {"max_weight_grams": 0}, "carriers.main.options.max_weight_grams"),
        ("sandbox", {"max_weight_grams": 1.5}, "carriers.main.options.max_weight_grams"),
        ("sandbox", {"max_sides_mm": [1, 2]}, "carriers.main.options.max_sides_mm"),
        ("sandbox", {"max_sides_mm": [1, 2, 0]}, "carriers.main.options.max_sides_mm"),
        ("sandbox", {"tolerance_seconds": 0}, "carriers.main.options.tolerance_seconds"),
        ("sandbox", {"hours_per_stepp": 1}, "carriers.main.options.hours_per_stepp"),
        ("sandbox", {"k" * 1000: 1}, "carriers.main.options"),
        ("manual", {"tracking_url": "https://x.test/{"}, "carriers.main.options.tracking_url"),
        ("manual", {"tracking_url": "a\nb{tracking_number}"}, "carriers.main.options.tracking_url"),
        ("manual", {"webhook_secret": "s"}, "carriers.main.options.webhook_secret"),
    ],
)
def test_options_that_are_wrong_are_refused_naming_the_option(
    kind: str, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        plugins().make_carrier("main", kind, options)
    assert caught.value.field == field
    assert "whsec" not in str(caught.value)


def test_options_given_directly_are_named_alone() -> None:
    with pytest.raises(InvalidInput) as caught:
        SandboxCarrier("sandbox", {"hours_per_step": -1})
    assert caught.value.field == "hours_per_step"
    with pytest.raises(InvalidInput) as caught:
        ManualCarrier("post", tracking_url="https://post.example/")
    assert caught.value.field == "tracking_url"


def test_a_secret_never_shows_in_the_options_repr() -> None:
    assert SECRET not in repr(sandbox().options)


def test_both_carriers_arrive_through_the_plugin_hook() -> None:
    built = plugins()
    assert {"manual", "sandbox"} <= set(built.carrier_kinds())
    manual: Carrier = built.make_carrier("post", "manual", {})
    assert isinstance(manual, ManualCarrier)
    assert manual.name == "post"
    carrier: Carrier = built.make_carrier(
        "test-parcels",
        "sandbox",
        {"hours_per_step": 1, "max_sides_mm": [600, 1200, 600], "webhook_secret": SECRET},
    )
    assert isinstance(carrier, SandboxCarrier)
    assert carrier.name == "test-parcels"
    assert carrier.limits.max_weight_grams == 30_000
    assert carrier.limits.max_sides_mm == (1200, 600, 600)
    label = carrier.buy_label(label_request())
    assert statuses(carrier.track(label, now=NOW + 4 * HOUR))[-1] is S.DELIVERED


# --- properties ----------------------------------------------------------------------

POSTAL_CODES = st.one_of(
    st.sampled_from([*FAILURE_POSTAL_CODES, "99 901", "10119", ""]), st.text(max_size=12)
)


@hypothesis.settings(deadline=None)
@hypothesis.given(
    postal_code=POSTAL_CODES,
    hours_per_step=st.floats(min_value=0.001, max_value=720),
    offsets=st.lists(st.integers(min_value=-(10**6), max_value=10**8), max_size=12),
)
def test_tracking_only_ever_adds_events_with_unique_ids(
    postal_code: str, hours_per_step: float, offsets: list[int]
) -> None:
    carrier = sandbox(hours_per_step=hours_per_step)
    label = carrier.buy_label(label_request(postal_code=postal_code))
    earlier: list[TrackingEvent] = []
    for offset in sorted(offsets):
        now = NOW + timedelta(seconds=offset)
        events = list(carrier.track(label, now=now))
        assert events[: len(earlier)] == earlier
        assert len({event.id for event in events}) == len(events)
        assert all(event.at <= now for event in events)
        earlier = events
    assert all(a.at <= b.at for a, b in pairwise(carrier.journey(label)))
