"""The stripe gateway, through Stripe's own SDK, against a local stand-in for Stripe's API
(tests/stripe_server.py): the gateway conformance suite, then what is Stripe's own
(declines, 3-D Secure, multicapture, the Idempotency-Key header, outages, units,
webhooks, options) and a whole checkout through a store on a SQLite file."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe

from commercekit import Money
from commercekit.adapters.payments.stripe_gateway import (
    StripeGateway,
    from_stripe_units,
    to_stripe_units,
)
from commercekit.domain.orders import OrderStatus
from commercekit.domain.payments import GatewayEvent, TransactionKind, TransactionStatus
from commercekit.errors import (
    GatewayError,
    IdempotencyConflict,
    InvalidPluginOptions,
    PluginError,
    WebhookRejected,
)
from commercekit.ports.payments import PaymentGateway, PaymentRequest
from commercekit.store import Store
from commercekit.testing.conformance.gateway import GatewayConformance
from tests.services.conftest import ADDRESS, seed
from tests.stripe_server import API_KEY, StripeServer, running

SECRET = "whsec_local_stripe"

#: The Stripe event each kind of fact arrives as.
_EVENT_TYPES = {
    (
        TransactionKind.AUTHORIZE,
        TransactionStatus.SUCCEEDED,
    ): "payment_intent.amount_capturable_updated",
    (
        TransactionKind.AUTHORIZE,
        TransactionStatus.REQUIRES_ACTION,
    ): "payment_intent.requires_action",
    (TransactionKind.AUTHORIZE, TransactionStatus.FAILED): "payment_intent.payment_failed",
    (TransactionKind.CAPTURE, TransactionStatus.SUCCEEDED): "payment_intent.succeeded",
    (TransactionKind.VOID, TransactionStatus.SUCCEEDED): "payment_intent.canceled",
}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Stripe-Signature`` header: HMAC-SHA256 of ``"{t}.{body}"``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def signed(
    server: StripeServer, kind: str, obj: Mapping[str, Any], sent_at: datetime, secret: str = SECRET
) -> tuple[bytes, str]:
    stamp = int(sent_at.timestamp())
    body = json.dumps(server.event(kind, obj, stamp)).encode()
    return body, sign(secret, body, stamp)


def intent_of(server: StripeServer, reference: str) -> dict[str, Any]:
    with server.lock:
        return json.loads(json.dumps(server._public(server.intents[reference])))


def gateway_for(server: StripeServer, **options: Any) -> StripeGateway:
    settings: dict[str, Any] = {"max_network_retries": 0, "timeout_seconds": 5.0}
    settings.update(options)
    return StripeGateway(api_key=API_KEY, webhook_secret=SECRET, api_base=server.url, **settings)


def request(
    key: str, token: str = "pm_card_visa", units: int = 1234, currency: str = "EUR", **more: Any
) -> PaymentRequest:
    return PaymentRequest(
        payment_id=f"pay-{key}",
        order_id=f"ord-{key}",
        amount_units=units,
        currency=currency,
        payment_token=token,
        idempotency_key=key,
        **more,
    )


@pytest.fixture
def server() -> Iterator[StripeServer]:
    with running() as started:
        yield started


@pytest.fixture
def gateway(server: StripeServer) -> StripeGateway:
    return gateway_for(server)


# --- the conformance suite ---------------------------------------------------------------


class TestTheStripeGateway(GatewayConformance):
    success_token = "pm_card_visa"
    decline_token = "pm_card_chargeDeclined"
    action_token = "pm_card_threeDSecure2Required"

    @pytest.fixture(autouse=True)
    def _server(self) -> Iterator[None]:
        with running() as started:
            self.server = started
            # The customer authenticates only when the suite says they do.
            started.authenticate_at_once = False
            yield

    def make_gateway(self) -> PaymentGateway:
        return gateway_for(self.server)

    def complete_customer_action(self, gateway: PaymentGateway, pending: GatewayEvent) -> None:
        self.server.authenticate(pending.payment_reference)

    def signed_webhook(
        self, gateway: PaymentGateway, events: Sequence[GatewayEvent], sent_at: datetime
    ) -> tuple[bytes, str]:
        (event,) = events  # Stripe delivers one event a request
        kind = _EVENT_TYPES[(event.kind, event.status)]
        return signed(self.server, kind, intent_of(self.server, event.payment_reference), sent_at)


class TestTheStripeGatewayWithoutMulticapture(TestTheStripeGateway):
    """An account whose plan captures a payment once: a partial capture releases the
    rest."""

    multicapture = False

    @pytest.fixture(autouse=True)
    def _single_capture(self, _server: None) -> None:
        self.server.multicapture_offered = False


# --- what is Stripe's own ----------------------------------------------------------------


def test_the_signature_scheme_is_the_sdks() -> None:
    payload = '{"id": "evt_1"}'
    assert sign(SECRET, payload.encode(), 1_700_000_000) == (
        stripe.WebhookSignature.generate_signature_header(payload, SECRET, 1_700_000_000)
    )


def test_a_declined_card_is_a_failed_event_with_stripes_decline_code(
    gateway: StripeGateway,
) -> None:
    declined = gateway.authorize(request("decline", "pm_card_chargeDeclinedInsufficientFunds"))
    assert (declined.kind, declined.status) == (TransactionKind.AUTHORIZE, TransactionStatus.FAILED)
    assert declined.detail == "insufficient_funds"
    assert declined.payment_reference.startswith("pi_")
    again = gateway.authorize(request("decline", "pm_card_chargeDeclinedInsufficientFunds"))
    assert fact(again) == fact(declined)
    assert fact(gateway.find("decline")) == fact(declined)


def fact(event: GatewayEvent | None) -> tuple[object, ...] | None:
    """What makes two answers the same fact (not when they were read)."""
    if event is None:
        return None
    return (
        event.transaction_id,
        event.payment_reference,
        event.kind,
        event.status,
        event.amount_units,
        event.currency,
    )


def test_3d_secure_waits_for_the_customer_then_confirm_authorizes(
    server: StripeServer, gateway: StripeGateway
) -> None:
    server.authenticate_at_once = False
    pending = gateway.authorize(request("3ds", "pm_card_threeDSecure2Required"))
    assert pending.status is TransactionStatus.REQUIRES_ACTION
    early = gateway.confirm(pending.payment_reference, "3ds-confirm")
    assert (early.status, early.transaction_id) == (pending.status, pending.transaction_id)
    server.authenticate(pending.payment_reference)
    done = gateway.confirm(pending.payment_reference, "3ds-confirm")
    assert (done.kind, done.status, done.amount_units) == (
        TransactionKind.AUTHORIZE,
        TransactionStatus.SUCCEEDED,
        1234,
    )
    failing = gateway.authorize(request("3ds-fail", "pm_card_authenticationRequired"))
    server.authenticate(failing.payment_reference, succeed=False)
    failed = gateway.confirm(failing.payment_reference, "3ds-fail-confirm")
    assert failed.status is TransactionStatus.FAILED
    assert failed.detail == "payment_intent_authentication_failure"


def test_partial_captures_keep_the_rest_authorized_until_the_last(
    server: StripeServer, gateway: StripeGateway
) -> None:
    reference = gateway.authorize(request("multi", units=1000)).payment_reference
    creation = next(
        params for method, path, params in server.calls if path == "/v1/payment_intents"
    )
    assert creation["payment_method_options"] == {
        "card": {
            "request_multicapture": "if_available",
            "request_incremental_authorization": "if_available",
        }
    }
    assert creation["capture_method"] == "manual"
    first = gateway.capture(reference, 400, "EUR", "multi-c1")
    assert (first.status, first.amount_units) == (TransactionStatus.SUCCEEDED, 400)
    captures = [params for _, path, params in server.calls if path.endswith("/capture")]
    assert captures[-1]["final_capture"] == "false"
    assert captures[-1]["amount_to_capture"] == "400"
    assert intent_of(server, reference)["status"] == "requires_capture"
    assert intent_of(server, reference)["amount_capturable"] == 600
    last = gateway.capture(reference, 600, "EUR", "multi-c2")
    assert last.status is TransactionStatus.SUCCEEDED
    captures = [params for _, path, params in server.calls if path.endswith("/capture")]
    assert "final_capture" not in captures[-1]  # Stripe's default: the last one
    assert intent_of(server, reference)["status"] == "succeeded"


def test_a_void_after_a_partial_capture_releases_the_rest(
    server: StripeServer, gateway: StripeGateway
) -> None:
    reference = gateway.authorize(request("rest", units=1000)).payment_reference
    gateway.capture(reference, 250, "EUR", "rest-c1")
    voided = gateway.void(reference, "rest-v")
    assert (voided.kind, voided.status, voided.amount_units) == (
        TransactionKind.VOID,
        TransactionStatus.SUCCEEDED,
        750,
    )
    assert intent_of(server, reference)["status"] == "canceled"
    assert gateway.void(reference, "rest-v2").transaction_id == voided.transaction_id
    refused = gateway.capture(reference, 1, "EUR", "rest-c2")
    assert (refused.status, refused.detail) == (
        TransactionStatus.FAILED,
        "payment_intent_unexpected_state",
    )


def test_partial_refunds_add_up_and_each_is_found_by_its_key(gateway: StripeGateway) -> None:
    reference = gateway.authorize(request("refunds", units=1000, capture=True)).payment_reference
    parts = [
        gateway.refund(reference, units, "EUR", f"refunds-r{i}")
        for i, units in enumerate((300, 300, 400))
    ]
    assert [(p.status, p.amount_units) for p in parts] == [
        (TransactionStatus.SUCCEEDED, 300),
        (TransactionStatus.SUCCEEDED, 300),
        (TransactionStatus.SUCCEEDED, 400),
    ]
    more = gateway.refund(reference, 1, "EUR", "refunds-r3")
    assert (more.status, more.detail) == (TransactionStatus.FAILED, "charge_already_refunded")
    found = gateway.find("refunds-r1")
    assert found is not None
    assert (found.transaction_id, found.amount_units) == (parts[1].transaction_id, 300)
    again = gateway.refund(reference, 300, "EUR", "refunds-r1")
    assert again.transaction_id == parts[1].transaction_id


def test_every_change_carries_the_cores_key_as_the_idempotency_key_header(
    server: StripeServer, gateway: StripeGateway
) -> None:
    reference = gateway.authorize(request("order-7:authorize", units=900)).payment_reference
    gateway.capture(reference, 500, "EUR", "pay-7:capture:op1")
    gateway.refund(reference, 200, "EUR", "pay-7:refund:op2")
    gateway.void(reference, "pay-7:void:op3")
    keys = server.idempotency_keys()
    for key in ("order-7:authorize", "pay-7:capture:op1", "pay-7:refund:op2", "pay-7:void:op3"):
        assert key in keys
    posts = [headers for method, _, headers in server.requests if method == "POST"]
    assert all("idempotency-key" in headers for headers in posts)


def test_the_same_key_with_other_parameters_is_an_idempotency_conflict(
    gateway: StripeGateway,
) -> None:
    reference = gateway.authorize(request("twice", units=1000)).payment_reference
    with pytest.raises(IdempotencyConflict) as caught:
        gateway.authorize(request("twice", units=1001))
    assert caught.value.code == "idempotency_conflict"
    gateway.capture(reference, 300, "EUR", "twice-c")
    for other in (
        lambda: gateway.capture(reference, 301, "EUR", "twice-c"),
        lambda: gateway.increment_authorization(reference, 300, "EUR", "twice-c"),
    ):
        with pytest.raises(IdempotencyConflict):
            other()


def test_a_500_is_a_retryable_gateway_error_and_the_retry_charges_once(
    server: StripeServer, gateway: StripeGateway
) -> None:
    server.fail_next()
    with pytest.raises(GatewayError) as caught:
        gateway.authorize(request("outage"))
    assert caught.value.retryable
    assert not isinstance(caught.value.__cause__, stripe.StripeError)
    event = gateway.authorize(request("outage"))
    assert event.status is TransactionStatus.SUCCEEDED
    assert len(server.intents) == 1


def test_the_sdk_retries_a_500_under_the_same_key(server: StripeServer) -> None:
    server.fail_next()
    event = gateway_for(server, max_network_retries=1).authorize(request("sdk-retry"))
    assert event.status is TransactionStatus.SUCCEEDED
    assert server.idempotency_keys() == ["sdk-retry", "sdk-retry"]


def test_a_timeout_is_retryable_and_the_retry_gets_stripes_first_answer(
    server: StripeServer,
) -> None:
    gateway = gateway_for(server, timeout_seconds=0.3)
    server.delay_next(1.0)
    with pytest.raises(GatewayError) as caught:
        gateway.authorize(request("slow"))
    assert caught.value.retryable
    event = gateway.authorize(request("slow"))
    assert event.status is TransactionStatus.SUCCEEDED
    assert len(server.intents) == 1  # the first request was carried out: it is not repeated


def test_a_wrong_api_key_is_a_gateway_error_that_no_retry_fixes(server: StripeServer) -> None:
    wrong = StripeGateway(api_key="sk_test_wrong", webhook_secret=SECRET, api_base=server.url)
    with pytest.raises(GatewayError) as caught:
        wrong.authorize(request("key"))
    assert not caught.value.retryable
    assert not server.intents


def test_operations_on_a_payment_stripe_never_made_are_refused(gateway: StripeGateway) -> None:
    for call in (
        lambda: gateway.capture("pi_missing", 1, "EUR", "m-c"),
        lambda: gateway.refund("pi_missing", 1, "EUR", "m-r"),
        lambda: gateway.void("pi_missing", "m-v"),
        lambda: gateway.confirm("pi_missing", "m-k"),
        lambda: gateway.increment_authorization("pi_missing", 1, "EUR", "m-i"),
    ):
        with pytest.raises(GatewayError) as caught:
            call()
        assert not caught.value.retryable


def test_amounts_go_over_the_wire_in_stripes_units_for_the_currency(
    server: StripeServer, gateway: StripeGateway
) -> None:
    # commercekit counts HUF in whole forints (CLDR), Stripe in hundredths; JPY alike in
    # both; KWD in thousandths in both, where Stripe wants the last digit 0.
    assert (to_stripe_units(1500, "HUF"), from_stripe_units(150000, "HUF")) == (150000, 1500)
    assert (to_stripe_units(1234, "JPY"), to_stripe_units(1234, "EUR")) == (1234, 1234)
    forints = gateway.authorize(request("huf", units=1500, currency="HUF"))
    assert (forints.amount_units, forints.currency) == (1500, "HUF")
    assert intent_of(server, forints.payment_reference)["amount"] == 150000
    assert intent_of(server, forints.payment_reference)["currency"] == "huf"
    captured = gateway.capture(forints.payment_reference, 500, "HUF", "huf-c")
    assert captured.amount_units == 500
    assert intent_of(server, forints.payment_reference)["amount_received"] == 50000
    yen = gateway.authorize(request("jpy", units=1234, currency="JPY"))
    assert intent_of(server, yen.payment_reference)["amount"] == 1234
    dinars = gateway.authorize(request("kwd", units=1234, currency="KWD"))
    assert (dinars.status, dinars.detail) == (TransactionStatus.FAILED, "invalid_amount")
    with pytest.raises(ValueError, match="whole number"):
        from_stripe_units(150050, "HUF")


def test_find_reads_the_list_while_search_lags_behind(server: StripeServer) -> None:
    server.index_at_once = False
    now = datetime.now(UTC)
    gateway = gateway_for(server, clock=lambda: now)
    answer = gateway.authorize(request("lagging"))
    found = gateway.find("lagging")
    assert found is not None
    assert found.transaction_id == answer.transaction_id
    later = gateway_for(server, clock=lambda: now + timedelta(hours=2))
    assert later.find("lagging") is None  # not listed that far back, not searchable yet
    server.index()
    again = later.find("lagging")
    assert again is not None
    assert again.transaction_id == answer.transaction_id
    searches = [path for _, path, _ in server.calls if path.endswith("/search")]
    assert searches


def test_an_authorization_grows_by_increment_and_stays_its_own_fact(
    server: StripeServer, gateway: StripeGateway
) -> None:
    reference = gateway.authorize(request("grow", units=1000)).payment_reference
    more = gateway.increment_authorization(reference, 250, "EUR", "grow-i1")
    assert (more.kind, more.status, more.amount_units) == (
        TransactionKind.INCREMENT,
        TransactionStatus.SUCCEEDED,
        250,
    )
    assert intent_of(server, reference)["amount"] == 1250
    assert fact(gateway.increment_authorization(reference, 250, "EUR", "grow-i1")) == fact(more)
    assert fact(gateway.find("grow-i1")) == fact(more)
    assert intent_of(server, reference)["amount"] == 1250
    authorization = gateway.find("grow")
    assert authorization is not None
    assert authorization.amount_units == 1000
    gateway.capture(reference, 1250, "EUR", "grow-c")
    refused = gateway.increment_authorization(reference, 1, "EUR", "grow-i2")
    assert refused.status is TransactionStatus.FAILED


def test_webhooks_report_what_the_payment_intent_shows(
    server: StripeServer, gateway: StripeGateway
) -> None:
    now = datetime.now(UTC)
    reference = gateway.authorize(request("hook", units=1000)).payment_reference
    capture = gateway.capture(reference, 400, "EUR", "hook-c")
    gateway.void(reference, "hook-v")
    body, header = signed(server, "payment_intent.canceled", intent_of(server, reference), now)
    facts = gateway.parse_webhook(body, header, now)
    assert [(f.kind, f.amount_units) for f in facts] == [
        (TransactionKind.AUTHORIZE, 1000),
        (TransactionKind.CAPTURE, 400),
        (TransactionKind.VOID, 600),
    ]
    assert facts[1].transaction_id == capture.transaction_id
    sale = gateway.authorize(request("hook-sale", units=800, capture=True)).payment_reference
    refund = gateway.refund(sale, 300, "EUR", "hook-r")
    with server.lock:
        charge = json.loads(json.dumps(server.charges[server.intents[sale]["latest_charge"]]))
    body, header = signed(server, "charge.refunded", charge, now)
    (refunded,) = gateway.parse_webhook(body, header, now)
    assert (refunded.transaction_id, refunded.payment_reference, refunded.amount_units) == (
        refund.transaction_id,
        sale,
        300,
    )
    body, header = signed(server, "customer.created", {"id": "cus_1", "object": "customer"}, now)
    assert gateway.parse_webhook(body, header, now) == []
    unconfirmed = intent_of(server, reference) | {
        "status": "requires_payment_method",
        "last_payment_error": None,
    }
    body, header = signed(server, "payment_intent.created", unconfirmed, now)
    assert gateway.parse_webhook(body, header, now) == []  # nothing final yet
    foreign = intent_of(server, reference) | {"metadata": {"order": "from another system"}}
    body, header = signed(server, "payment_intent.succeeded", foreign, now)
    assert gateway.parse_webhook(body, header, now) == []


def test_forged_stale_and_malformed_webhooks_are_rejected(
    server: StripeServer, gateway: StripeGateway
) -> None:
    now = datetime.now(UTC)
    reference = gateway.authorize(request("forged")).payment_reference
    intent = intent_of(server, reference)
    body, header = signed(server, "payment_intent.succeeded", intent, now)
    forged = signed(server, "payment_intent.succeeded", intent, now, secret="whsec_other")
    stale = signed(server, "payment_intent.succeeded", intent, now - timedelta(minutes=6))
    ahead = signed(server, "payment_intent.succeeded", intent, now + timedelta(minutes=6))
    stamp = int(now.timestamp())
    for payload, signature in (
        forged,
        stale,
        ahead,
        (body.replace(b"1234", b"1", 1), header),
        (body, ""),
        (body, "t=abc,v1=00"),
        (body, f"t={stamp}"),
        (body, f"t=1_{stamp},v1=" + header.split("v1=")[1]),
        (body, f"t={stamp},v1=é"),
        (b"\xff" + body, header),
        (b"[]", sign(SECRET, b"[]", stamp)),
        (b"{}", sign(SECRET, b"{}", stamp)),
    ):
        with pytest.raises(WebhookRejected):
            gateway.parse_webhook(payload, signature, now)
    rolled = gateway_for(server)
    rolled_over = StripeGateway(
        api_key=API_KEY,
        webhook_secret="whsec_new",
        previous_webhook_secrets=[SECRET],
        api_base=server.url,
    )
    assert rolled.parse_webhook(body, header, now)
    assert rolled_over.parse_webhook(body, header, now)


# --- through a store ------------------------------------------------------------------


def stripe_config(server: StripeServer, **options: Any) -> dict[str, Any]:
    return {
        "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
        "gateways": {
            "card": {
                "plugin": "stripe",
                "options": {"api_base": server.url, "max_network_retries": 0, **options},
                "secrets": {"api_key": API_KEY, "webhook_secret": SECRET},
            }
        },
        "entry_point_plugins": False,
    }


def test_a_wrong_option_is_refused_as_the_store_opens_naming_plugin_and_field(
    server: StripeServer,
) -> None:
    for config, field in (
        (stripe_config(server, timeout_seconds=0), "gateways.card.options.timeout_seconds"),
        (stripe_config(server, api_bse="http://x"), "gateways.card.options.api_bse"),
        (stripe_config(server, api_base="ftp://stripe"), "gateways.card.options.api_base"),
    ):
        with pytest.raises(InvalidPluginOptions) as caught:
            Store.open("memory://", config=config)
        assert (caught.value.field, caught.value.plugin) == (field, "stripe")
    publishable = stripe_config(server)
    publishable["gateways"]["card"]["secrets"]["api_key"] = "pk_test_not_secret"
    with pytest.raises(InvalidPluginOptions) as caught:
        Store.open("memory://", config=publishable)
    assert caught.value.field == "gateways.card.secrets.api_key"
    assert "pk_test_not_secret" not in str(caught.value)
    missing = stripe_config(server)
    del missing["gateways"]["card"]["secrets"]["webhook_secret"]
    with pytest.raises(InvalidPluginOptions) as caught:
        Store.open("memory://", config=missing)
    assert caught.value.field == "gateways.card.secrets.webhook_secret"


def test_without_the_sdk_the_store_names_the_extra(
    server: StripeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "stripe", None)
    with pytest.raises(PluginError) as caught:
        Store.open("memory://", config=stripe_config(server))
    assert "commercekit[stripe]" in str(caught.value)


def test_a_whole_checkout_on_a_sqlite_file_pays_through_stripe(
    server: StripeServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    with Store.open(url, config=stripe_config(server)) as store:
        seed(store)

        def place(key: str, token: str) -> str:
            cart = store.carts.create("EUR")
            store.carts.add(cart.token, "RETRO-MUG", 2)
            store.carts.add(cart.token, "RETRO-CLOCK", 1)
            store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
            store.checkout.set_shipping_address(cart.token, ADDRESS)
            store.checkout.choose_shipping(cart.token, {"method_id": "post"})
            store.checkout.set_payment_method(cart.token, {"gateway": "card", "token": token})
            store.checkout.summary(cart.token)
            return store.checkout.place_order(cart.token, idempotency_key=key).id

        order_id = place("checkout-1", "pm_card_visa")
        order = store.orders.get(order_id)
        assert order.status is OrderStatus.OPEN
        payment = store.payments.for_order(order_id)
        total = order.totals.grand_total_units
        assert payment.authorized_units == total
        assert intent_of(server, str(payment.reference))["amount"] == total
        store.payments.capture(order_id, Money("20.00", "EUR"))
        store.payments.capture(order_id)
        store.payments.refund(order_id, Money("5.00", "EUR"))
        payment = store.payments.for_order(order_id)
        assert (payment.captured_units, payment.refunded_units) == (total, 500)
        stripe_side = intent_of(server, str(payment.reference))
        assert (stripe_side["status"], stripe_side["amount_received"]) == ("succeeded", total)

        declined = store.orders.get(place("checkout-2", "pm_card_chargeDeclined"))
        assert declined.status is OrderStatus.CANCELLED

        server.authenticate_at_once = False
        waiting = place("checkout-3", "pm_card_threeDSecure2Required")
        reference = str(store.payments.for_order(waiting).reference)
        assert store.orders.get(waiting).status is OrderStatus.PENDING_PAYMENT
        server.authenticate(reference)  # the customer passes 3-D Secure in Stripe.js
        body, header = signed(
            server,
            "payment_intent.amount_capturable_updated",
            intent_of(server, reference),
            store.runtime.clock.now(),
        )
        result = store.payments.handle_webhook("card", body, header)
        assert (result.applied, result.duplicates) == (1, 0)
        assert store.orders.get(waiting).status is OrderStatus.OPEN
        assert store.payments.handle_webhook("card", body, header).duplicates == 1
