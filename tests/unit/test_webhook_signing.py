"""Webhook secrets rotate (the current one and previous ones valid at once) and the
tolerance window is configured per gateway."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commercekit.adapters import _signing as signing
from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import MAX_TOLERANCE_SECONDS, TestPaymentGateway
from commercekit.domain.errors import InvalidInput, WebhookRejected
from commercekit.plugins import Plugins
from commercekit.store import Store

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OLD, NEW, STRANGER = "whsec_old", "whsec_new", "whsec_stranger"
BODY = b'{"events": []}'
PREVIOUS_FIELD = "gateways.test.secrets.previous_webhook_secrets"
TOLERANCE_FIELD = "gateways.test.options.webhook_tolerance_seconds"


def header(secret: str, *, sent_at: datetime = START) -> str:
    """The signature header a gateway holding ``secret`` sends with ``BODY``."""
    return signing.sign(secret, BODY, int(sent_at.timestamp()))


def gateway(options: Mapping[str, Any]) -> TestPaymentGateway:
    """The ``test`` gateway built from a store's configuration, as a store builds it."""
    built = Plugins(entry_point_plugins=False).make_gateway("test", "test", options)
    assert isinstance(built, TestPaymentGateway)
    return built


def accepts(receiver: TestPaymentGateway, signature: str, now: datetime = START) -> bool:
    """Whether ``receiver`` takes ``BODY`` with ``signature`` at ``now``."""
    try:
        receiver.parse_webhook(BODY, signature, now)
    except WebhookRejected:
        return False
    return True


# --- signing.verify -------------------------------------------------------------------


def test_verify_accepts_a_signature_made_with_any_of_the_secrets() -> None:
    for secret in (NEW, OLD):
        signing.verify([NEW, OLD], BODY, header(secret), START)
    signing.verify(NEW, BODY, header(NEW), START)  # one secret, as before


def test_verify_rejects_a_signature_made_with_none_of_the_secrets() -> None:
    with pytest.raises(WebhookRejected, match="does not match"):
        signing.verify([NEW, OLD], BODY, header(STRANGER), START)


@pytest.mark.parametrize("secrets", ["", [], (), [NEW, ""], [""]], ids=repr)
def test_verify_refuses_to_check_without_a_secret_or_with_an_empty_one(
    secrets: str | list[str],
) -> None:
    # An empty key is one anyone can sign with: nothing verifies against it.
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        signing.verify(secrets, BODY, signing.sign("", BODY, int(START.timestamp())), START)


# --- rotation -------------------------------------------------------------------------


def test_the_old_secret_is_accepted_while_listed_as_previous_and_rejected_once_removed() -> None:
    rotating = gateway({"webhook_secret": NEW, "previous_webhook_secrets": [OLD]})
    assert accepts(rotating, header(OLD))
    assert accepts(rotating, header(NEW))
    retired = gateway({"webhook_secret": NEW})
    assert not accepts(retired, header(OLD))
    assert accepts(retired, header(NEW))


def test_every_previous_secret_is_accepted() -> None:
    rotating = gateway({"webhook_secret": NEW, "previous_webhook_secrets": [OLD, "whsec_older"]})
    assert all(accepts(rotating, header(s)) for s in (NEW, OLD, "whsec_older"))


def test_a_webhook_signed_with_an_unknown_secret_is_rejected() -> None:
    rotating = gateway({"webhook_secret": NEW, "previous_webhook_secrets": [OLD]})
    with pytest.raises(WebhookRejected) as caught:
        rotating.parse_webhook(BODY, header(STRANGER), START)
    assert caught.value.code == "webhook_rejected"


def test_the_gateway_signs_with_the_current_secret_only() -> None:
    rotating = TestPaymentGateway(
        "test", webhook_secret=NEW, previous_webhook_secrets=[OLD], clock=lambda: START
    )
    body, signature = rotating.webhook([])
    signing.verify(NEW, body, signature, START)
    with pytest.raises(WebhookRejected):
        signing.verify(OLD, body, signature, START)


# --- the tolerance window -------------------------------------------------------------


def test_the_tolerance_is_five_minutes_unless_configured() -> None:
    receiver = gateway({"webhook_secret": NEW})
    assert receiver.webhook_tolerance_seconds == signing.DEFAULT_TOLERANCE_SECONDS == 300
    assert accepts(receiver, header(NEW), START + timedelta(seconds=300))
    assert not accepts(receiver, header(NEW), START + timedelta(seconds=301))


@pytest.mark.parametrize("tolerance", [1, 60, 3600, MAX_TOLERANCE_SECONDS])
def test_a_webhook_inside_the_configured_tolerance_is_accepted_and_one_beyond_rejected(
    tolerance: int,
) -> None:
    receiver = gateway({"webhook_secret": NEW, "webhook_tolerance_seconds": tolerance})
    window = timedelta(seconds=tolerance)
    second = timedelta(seconds=1)
    assert accepts(receiver, header(NEW), START + window)  # late, within the window
    assert not accepts(receiver, header(NEW), START + window + second)  # stale
    assert not accepts(receiver, header(NEW, sent_at=START + window + second))  # from ahead


def test_the_tolerance_holds_for_the_previous_secrets_too() -> None:
    receiver = gateway(
        {"webhook_secret": NEW, "previous_webhook_secrets": [OLD], "webhook_tolerance_seconds": 60}
    )
    assert accepts(receiver, header(OLD), START + timedelta(seconds=60))
    assert not accepts(receiver, header(OLD), START + timedelta(seconds=61))


# --- bad configuration ----------------------------------------------------------------


@pytest.mark.parametrize(
    "previous",
    [OLD, None, 42, [""], [OLD, ""], [OLD, 7], [None], {"key": OLD}, b"whsec_old"],
    ids=repr,
)
def test_previous_secrets_that_are_not_a_list_of_non_empty_strings_are_refused(
    previous: object,
) -> None:
    with pytest.raises(InvalidInput) as caught:
        gateway({"webhook_secret": NEW, "previous_webhook_secrets": previous})
    assert caught.value.field == PREVIOUS_FIELD
    assert OLD not in str(caught.value)  # the message never repeats a secret


@pytest.mark.parametrize(
    "tolerance",
    [0, -1, MAX_TOLERANCE_SECONDS + 1, 10**100, True, False, 300.0, "300", None],
    ids=repr,
)
def test_a_tolerance_that_is_not_a_whole_number_in_range_is_refused(tolerance: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        gateway({"webhook_secret": NEW, "webhook_tolerance_seconds": tolerance})
    assert caught.value.field == TOLERANCE_FIELD
    assert len(str(caught.value)) < 300


def test_the_gateway_refuses_bad_rotation_settings_naming_its_own_argument() -> None:
    with pytest.raises(InvalidInput) as caught:
        TestPaymentGateway("test", webhook_secret=NEW, previous_webhook_secrets=OLD)
    assert caught.value.field == "previous_webhook_secrets"
    with pytest.raises(InvalidInput) as caught:
        TestPaymentGateway("test", webhook_secret=NEW, webhook_tolerance_seconds=0)
    assert caught.value.field == "webhook_tolerance_seconds"


# --- through a store ------------------------------------------------------------------


@contextmanager
def store_with(test_gateway: Mapping[str, Any], clock: FixedClock) -> Iterator[Store]:
    """A store on memory whose ``test`` gateway is configured as given."""
    config = {
        "gateways": {"test": {"plugin": "test", **test_gateway}},
        "entry_point_plugins": False,
    }
    with Store.open("memory://", config=config, clock=clock) as store:
        yield store


def test_a_store_applies_the_configured_tolerance() -> None:
    clock = FixedClock(START)
    config = {"secrets": {"webhook_secret": NEW}, "options": {"webhook_tolerance_seconds": 600}}
    with store_with(config, clock) as store:
        clock.advance(timedelta(minutes=10))  # beyond the default five, within ten
        assert store.payments.handle_webhook("test", BODY, header(NEW)).applied == 0
        clock.advance(timedelta(seconds=1))
        with pytest.raises(WebhookRejected, match="tolerance"):
            store.payments.handle_webhook("test", BODY, header(NEW))


def test_a_store_refuses_a_bad_tolerance_naming_the_field() -> None:
    config = {"secrets": {"webhook_secret": NEW}, "options": {"webhook_tolerance_seconds": 0}}
    with pytest.raises(InvalidInput) as caught, store_with(config, FixedClock(START)):
        pass
    assert caught.value.field == TOLERANCE_FIELD


def test_a_store_accepts_the_previous_secret_until_it_is_retired() -> None:
    clock = FixedClock(START)
    rotating = {"secrets": {"webhook_secret": NEW, "previous_webhook_secrets": [OLD]}}
    with store_with(rotating, clock) as store:
        for secret in (OLD, NEW):
            result = store.payments.handle_webhook("test", BODY, header(secret))
            assert (result.applied, result.duplicates) == (0, 0)
        with pytest.raises(WebhookRejected):
            store.payments.handle_webhook("test", BODY, header(STRANGER))
    with store_with({"secrets": {"webhook_secret": NEW}}, clock) as store:
        with pytest.raises(WebhookRejected):
            store.payments.handle_webhook("test", BODY, header(OLD))
        store.payments.handle_webhook("test", BODY, header(NEW))
