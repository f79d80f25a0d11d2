"""The conformance suites catch what they promise to: each deliberately broken adapter
fails the suite method of the rule it breaks, with a message naming that rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from commercekit.adapters import _signing as signing
from commercekit.adapters.carriers.sandbox import SIGNATURE_HEADER, SandboxCarrier
from commercekit.adapters.notifications.files import FileNotifier
from commercekit.domain.errors import CarrierError, GatewayError
from commercekit.domain.payments import GatewayEvent, TransactionKind, TransactionStatus
from commercekit.domain.shipping import CarrierQuote, Label, TrackingEvent, TrackingStatus
from commercekit.ports.carriers import Carrier, LabelRequest, QuoteRequest
from commercekit.ports.notifications import Message, Notifier
from commercekit.ports.payments import PaymentGateway, PaymentRequest
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed
from commercekit.testing.conformance import carrier as carrier_rules
from commercekit.testing.conformance import gateway as gateway_rules
from commercekit.testing.conformance import notifier as notifier_rules

# Imported as a module: names starting with Test would be collected here again.
from tests.conformance import test_builtin_adapters as builtin


def broken_rule(test: Callable[[], None]) -> str:
    """The message a suite method fails with."""
    with pytest.raises(AssertionError) as caught:
        test()
    message = str(caught.value)
    assert message.startswith("rule broken: ")
    return message


# --- the helpers ------------------------------------------------------------------------


def test_rule_passes_a_kept_rule_and_names_a_broken_one() -> None:
    rule("amounts are in minor units", True, "unused")
    with pytest.raises(AssertionError, match=r"^rule broken: amounts are in minor units: 12\.34$"):
        rule("amounts are in minor units", False, "12.34")


def test_typed_lets_commerce_errors_through_and_names_raw_ones() -> None:
    def raw() -> None:
        raise KeyError("payment")

    def carrier_error() -> None:
        raise CarrierError("down")

    assert typed(lambda: 7) == 7
    with pytest.raises(CarrierError):
        typed(carrier_error)
    with pytest.raises(AssertionError, match=f"rule broken: {TYPED_ERRORS}: raised KeyError"):
        typed(raw)


# --- gateways ---------------------------------------------------------------------------


class Wrapped:
    """Every call goes to ``inner`` unless a broken gateway overrides it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ChargesTwice(Wrapped):
    def authorize(self, request: PaymentRequest) -> GatewayEvent:
        key = f"{request.idempotency_key}:{len(self.inner.calls)}"
        event: GatewayEvent = self.inner.authorize(attrs.evolve(request, idempotency_key=key))
        return event


class MajorUnits(Wrapped):
    def authorize(self, request: PaymentRequest) -> GatewayEvent:
        event: GatewayEvent = self.inner.authorize(request)
        return attrs.evolve(event, amount_units=event.amount_units // 100)


class AcceptsForgedWebhooks(Wrapped):
    def parse_webhook(self, payload: bytes, signature: str, now: datetime) -> Any:
        resigned = signing.sign(builtin.SECRET, payload, int(now.timestamp()))
        return self.inner.parse_webhook(payload, resigned, now)


class RaisesOnDecline(Wrapped):
    def authorize(self, request: PaymentRequest) -> GatewayEvent:
        if request.payment_token == "tok_declined":
            raise ValueError("card declined")
        event: GatewayEvent = self.inner.authorize(request)
        return event


class CapturesAnything(Wrapped):
    def capture(self, reference: str, amount_units: int, currency: str, key: str) -> Any:
        event = self.inner.capture(reference, amount_units, currency, key)
        return attrs.evolve(event, status=TransactionStatus.SUCCEEDED)


class InventsPayments(Wrapped):
    def capture(self, reference: str, amount_units: int, currency: str, key: str) -> Any:
        try:
            return self.inner.capture(reference, amount_units, currency, key)
        except GatewayError:
            return GatewayEvent(
                transaction_id="txn_invented",
                payment_reference=reference,
                kind=TransactionKind.CAPTURE,
                status=TransactionStatus.SUCCEEDED,
                amount_units=amount_units,
                currency=currency,
                occurred_at=datetime.now(UTC),
            )


class IgnoresChangedParameters(Wrapped):
    def authorize(self, request: PaymentRequest) -> GatewayEvent:
        found: GatewayEvent | None = self.inner.find(request.idempotency_key)
        return found or self.inner.authorize(request)


class IncrementsOnPaper(Wrapped):
    """Answers an increment as done without raising the authorization."""

    def increment_authorization(
        self, reference: str, amount_units: int, currency: str, key: str
    ) -> GatewayEvent:
        return GatewayEvent(
            transaction_id=f"txn_{key}",
            payment_reference=reference,
            kind=TransactionKind.INCREMENT,
            status=TransactionStatus.SUCCEEDED,
            amount_units=amount_units,
            currency=currency,
            occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        )


def gateway_suite(broken: type[Wrapped]) -> builtin.TestTheTestGateway:
    class Suite(builtin.TestTheTestGateway):
        def make_gateway(self) -> PaymentGateway:
            return broken(super().make_gateway())  # type: ignore[return-value]

        def signed_webhook(
            self, gateway: PaymentGateway, events: Sequence[GatewayEvent], sent_at: datetime
        ) -> tuple[bytes, str]:
            return super().signed_webhook(gateway.inner, events, sent_at)  # type: ignore[attr-defined]

    return Suite()


@pytest.mark.parametrize(
    ("broken", "method", "broken_rule_name"),
    [
        (
            ChargesTwice,
            "test_the_same_key_returns_the_same_answer_and_moves_money_once",
            gateway_rules.SAME_ANSWER,
        ),
        (ChargesTwice, "test_find_returns_the_answer_of_a_key", gateway_rules.FIND),
        (
            MajorUnits,
            "test_authorize_answers_in_minor_units_in_the_request_currency",
            gateway_rules.MINOR_UNITS,
        ),
        (AcceptsForgedWebhooks, "test_a_forged_webhook_is_rejected", gateway_rules.FORGED_WEBHOOK),
        (
            AcceptsForgedWebhooks,
            "test_a_tampered_webhook_is_rejected",
            gateway_rules.TAMPERED_WEBHOOK,
        ),
        (AcceptsForgedWebhooks, "test_a_stale_webhook_is_rejected", gateway_rules.STALE_WEBHOOK),
        (RaisesOnDecline, "test_a_decline_is_a_failed_event_not_an_exception", TYPED_ERRORS),
        (
            CapturesAnything,
            "test_capture_never_exceeds_the_authorization",
            gateway_rules.CAPTURE_LIMIT,
        ),
        (CapturesAnything, "test_partial_captures_add_up", gateway_rules.PARTIAL_CAPTURES),
        (CapturesAnything, "test_void_releases_the_authorization", gateway_rules.VOID),
        (InventsPayments, "test_an_unknown_payment_is_refused", gateway_rules.UNKNOWN_PAYMENT),
        (
            IncrementsOnPaper,
            "test_an_increment_raises_what_may_be_captured",
            gateway_rules.INCREMENT,
        ),
        (
            IgnoresChangedParameters,
            "test_the_same_key_with_other_parameters_is_refused",
            gateway_rules.OTHER_PARAMETERS,
        ),
    ],
)
def test_a_broken_gateway_fails_the_rule_it_breaks(
    broken: type[Wrapped], method: str, broken_rule_name: str
) -> None:
    message = broken_rule(getattr(gateway_suite(broken), method))

    assert message.startswith(f"rule broken: {broken_rule_name}: ")


def test_the_kept_rules_of_a_broken_gateway_still_pass() -> None:
    suite = gateway_suite(MajorUnits)

    suite.test_partial_refunds_add_up()
    suite.test_a_correctly_signed_webhook_parses()


# --- carriers ---------------------------------------------------------------------------


class SellsAgain(Wrapped):
    def buy_label(self, request: LabelRequest) -> Label:
        self.sold = getattr(self, "sold", 0) + 1
        key = f"{request.idempotency_key}:{self.sold}"
        label: Label = self.inner.buy_label(attrs.evolve(request, idempotency_key=key))
        return label


class QuotesInEuros(Wrapped):
    def quote(self, request: QuoteRequest) -> Sequence[CarrierQuote]:
        return [attrs.evolve(q, currency="EUR") for q in self.inner.quote(request)]


class CancelsOnce(Wrapped):
    def cancel_label(self, label: Label, *, idempotency_key: str, now: datetime) -> None:
        if getattr(self, "cancelled", False):
            raise CarrierError("already cancelled", retryable=False)
        self.inner.cancel_label(label, idempotency_key=idempotency_key, now=now)
        self.cancelled = True


class TracksNewestFirst(Wrapped):
    def track(self, label: Label, *, now: datetime) -> Sequence[TrackingEvent]:
        return list(reversed(self.inner.track(label, now=now)))


class TrustsAnyWebhook(Wrapped):
    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> Sequence[TrackingEvent]:
        signed = {SIGNATURE_HEADER: signing.sign(builtin.SECRET, body, int(now.timestamp()))}
        events: Sequence[TrackingEvent] = self.inner.verify_webhook(body, signed, now=now)
        return events


class TracksAnything(Wrapped):
    def track(self, label: Label, *, now: datetime) -> Sequence[TrackingEvent]:
        status = TrackingStatus.IN_TRANSIT
        number = label.tracking_number
        return [TrackingEvent(id=f"{number}:0", tracking_number=number, status=status, at=now)]


class RaisesRawErrors(Wrapped):
    @property
    def limits(self) -> Any:
        raise RuntimeError("limits unavailable")


def carrier_suite(broken: type[Wrapped]) -> builtin.TestTheSandboxCarrier:
    class Suite(builtin.TestTheSandboxCarrier):
        def make_carrier(self) -> Carrier:
            return broken(SandboxCarrier("sandbox", {"webhook_secret": builtin.SECRET}))  # type: ignore[return-value]

    return Suite()


@pytest.mark.parametrize(
    ("broken", "method", "broken_rule_name"),
    [
        (SellsAgain, "test_the_same_key_buys_one_label", carrier_rules.SAME_LABEL),
        (
            QuotesInEuros,
            "test_quotes_are_in_the_request_currency_in_whole_minor_units",
            carrier_rules.QUOTE_CURRENCY,
        ),
        (CancelsOnce, "test_cancelling_a_label_twice_is_idempotent", carrier_rules.CANCEL_TWICE),
        (TracksNewestFirst, "test_tracking_is_in_time_order", carrier_rules.TRACK_ORDER),
        (TrustsAnyWebhook, "test_a_forged_webhook_is_rejected", carrier_rules.FORGED_WEBHOOK),
        (TrustsAnyWebhook, "test_a_tampered_webhook_is_rejected", carrier_rules.TAMPERED_WEBHOOK),
        (TrustsAnyWebhook, "test_a_stale_webhook_is_rejected", carrier_rules.STALE_WEBHOOK),
        (RaisesRawErrors, "test_limits_are_positive", TYPED_ERRORS),
        (
            TracksAnything,
            "test_a_label_it_never_sold_is_refused_or_ignored",
            carrier_rules.UNKNOWN_LABEL,
        ),
    ],
)
def test_a_broken_carrier_fails_the_rule_it_breaks(
    broken: type[Wrapped], method: str, broken_rule_name: str
) -> None:
    message = broken_rule(getattr(carrier_suite(broken), method))

    assert message.startswith(f"rule broken: {broken_rule_name}: ")


# --- notifiers --------------------------------------------------------------------------


class DropsHtml(Wrapped):
    def send(self, message: Message) -> None:
        self.inner.send(attrs.evolve(message, html=""))


class SendsToTheFirstRecipient(Wrapped):
    def send(self, message: Message) -> None:
        self.first = getattr(self, "first", message.to)
        self.inner.send(attrs.evolve(message, to=self.first))


class RaisesRawOSError:
    def send(self, message: Message) -> None:
        raise OSError("disk full")


class SwallowsFailures(Wrapped):
    def send(self, message: Message) -> None:
        try:
            self.inner.send(message)
        except Exception:
            return


def notifier_suite(broken: type[Any], tmp_path: Path, *, failing: bool = False) -> Any:
    class Suite(builtin.TestTheFileNotifier):
        def make_notifier(self) -> Notifier:
            inner = FileNotifier(self.folder / "outbox")
            return broken(inner)  # type: ignore[no-any-return]

        def failing_notifier(self) -> Notifier:
            inner = super().failing_notifier()
            return broken(inner) if failing else inner  # type: ignore[no-any-return]

    suite = Suite()
    suite.folder = tmp_path
    return suite


def test_a_notifier_that_drops_the_html_breaks_the_intact_rule(tmp_path: Path) -> None:
    message = broken_rule(notifier_suite(DropsHtml, tmp_path).test_send_delivers_every_part_intact)

    assert message.startswith(f"rule broken: {notifier_rules.INTACT}: html: ")


def test_a_notifier_that_mixes_up_recipients_breaks_the_each_rule(tmp_path: Path) -> None:
    suite = notifier_suite(SendsToTheFirstRecipient, tmp_path)

    message = broken_rule(suite.test_each_message_is_delivered_to_its_recipient)

    assert message.startswith(f"rule broken: {notifier_rules.EACH}: ")


def test_a_notifier_raising_a_raw_error_breaks_the_typed_rule(tmp_path: Path) -> None:
    suite = notifier_suite(lambda inner: RaisesRawOSError(), tmp_path, failing=True)  # type: ignore[arg-type]

    message = broken_rule(suite.test_a_failure_is_a_typed_error)

    assert message.startswith(f"rule broken: {TYPED_ERRORS}: raised OSError: disk full")


def test_a_notifier_that_swallows_failures_breaks_the_failure_rule(tmp_path: Path) -> None:
    suite = notifier_suite(SwallowsFailures, tmp_path, failing=True)

    message = broken_rule(suite.test_a_failure_is_a_typed_error)

    assert message.startswith(f"rule broken: {notifier_rules.FAILURE}: send returned")


def test_a_notifier_without_a_failing_twin_skips_the_failure_rule() -> None:
    class Suite(notifier_rules.NotifierConformance):
        pass

    with pytest.raises(pytest.skip.Exception, match="failing_notifier"):
        Suite().test_a_failure_is_a_typed_error()
