"""The payment gateway suite: what every :class:`~commercekit.ports.payments.PaymentGateway`
promises the core.

Turn it on for a gateway with a subclass pytest collects::

    class TestMyGateway(GatewayConformance):
        success_token = "tok_visa"
        decline_token = "tok_chargeDeclined"
        action_token = "tok_threeDSecure"  # None (the default) skips that rule

        def make_gateway(self) -> PaymentGateway:
            return MyGateway(api_key=..., webhook_secret="whsec_test")

        def signed_webhook(self, gateway, events, sent_at):
            return my_signed_body_and_header(events, sent_at)

Each test builds a fresh gateway with :meth:`GatewayConformance.make_gateway` and uses
idempotency keys no earlier run used, so a gateway's own sandbox may keep its state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import ClassVar

import pytest

from commercekit.domain.errors import CommerceError
from commercekit.domain.payments import GatewayEvent, TransactionKind, TransactionStatus
from commercekit.ports.payments import IncrementalAuthorization, PaymentGateway, PaymentRequest
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed
from commercekit.testing.conformance._shared import fresh_key, rejects_webhook, tampered_signature

__all__ = ["RULES", "GatewayConformance"]

MINOR_UNITS = "amounts are in minor units, in the request's currency"
SALE = "a sale captures the whole amount at once"
SAME_ANSWER = "the same idempotency key returns the same answer and moves money once"
OTHER_PARAMETERS = "the same idempotency key with other parameters is refused with a CommerceError"
CAPTURE_LIMIT = "capture never takes more than was authorized"
PARTIAL_CAPTURES = "partial captures add up to the authorization"
REFUND_LIMIT = "refund never gives back more than was captured"
PARTIAL_REFUNDS = "partial refunds add up to what was captured"
VOID = "void releases the authorization"
DECLINE = "a declined payment is a FAILED event, not an exception"
ACTION = "a payment requiring action is REQUIRES_ACTION, and confirm authorizes it"
FIND = "find(key) finds an operation by its idempotency key"
SIGNED_WEBHOOK = "a correctly signed webhook parses into its events"
FORGED_WEBHOOK = "a webhook with a forged or missing signature raises WebhookRejected"
TAMPERED_WEBHOOK = "a webhook whose body was changed after signing raises WebhookRejected"
STALE_WEBHOOK = "a webhook signed too long ago raises WebhookRejected"
UNKNOWN_PAYMENT = "an operation on a payment the gateway never made is refused"
INCREMENT = "an increment raises what may be captured by its amount, once per key"


def _shown(event: GatewayEvent) -> str:
    return (
        f"{event.kind.value} {event.status.value} {event.amount_units!r} {event.currency} "
        f"({event.transaction_id}, {event.detail!r})"
    )


def _fact(event: GatewayEvent) -> tuple[object, ...]:
    """What makes two answers the same fact (not when they were read)."""
    return (
        event.transaction_id,
        event.payment_reference,
        event.kind,
        event.status,
        event.amount_units,
        event.currency,
    )


def _refused(call: Callable[[], GatewayEvent]) -> GatewayEvent | None:
    """``None`` when the gateway refused (a FAILED event or a CommerceError), else its
    answer."""
    try:
        event = typed(call)
    except CommerceError:
        return None
    return None if event.status is TransactionStatus.FAILED else event


class GatewayConformance:
    """The rules of the payment gateway port, one test each.

    Override :meth:`make_gateway`, :meth:`signed_webhook` and the tokens; override
    :meth:`request` when a payment needs more than a token to succeed, decline or
    require action.
    """

    success_token: ClassVar[str]
    """A payment token the gateway authorizes."""
    decline_token: ClassVar[str]
    """A payment token the gateway declines."""
    action_token: ClassVar[str | None] = None
    """A payment token that requires the customer's action; ``None`` skips that rule."""
    amount_units: ClassVar[int] = 1234
    """The amount each test pays, in minor units (at least 3)."""
    multicapture: ClassVar[bool] = True
    """Whether one authorization can be captured in several parts (a provider may
    offer it only on some accounts); without it, one partial capture must release the
    rest."""
    currencies: ClassVar[tuple[str, ...]] = ("EUR", "JPY")
    """The currencies amounts are checked in: one with cents, one without."""
    stale_after: ClassVar[timedelta] = timedelta(days=2)
    """How long ago a webhook is signed to count as replayed too late."""

    # --- what the author overrides ---------------------------------------------------

    def make_gateway(self) -> PaymentGateway:
        """The gateway under test, new for each test.

        :raises NotImplementedError: until a subclass says how.
        """
        raise NotImplementedError("override make_gateway() to build your gateway")

    def signed_webhook(
        self, gateway: PaymentGateway, events: Sequence[GatewayEvent], sent_at: datetime
    ) -> tuple[bytes, str]:
        """The body and signature the provider would send for ``events`` at ``sent_at``.

        :raises NotImplementedError: until a subclass says how.
        """
        raise NotImplementedError("override signed_webhook() to sign webhooks as your provider")

    def request(
        self, key: str, *, token: str, amount_units: int, currency: str, capture: bool = False
    ) -> PaymentRequest:
        """The request a test authorizes with."""
        return PaymentRequest(
            payment_id=f"pay-{key}",
            order_id=f"ord-{key}",
            amount_units=amount_units,
            currency=currency,
            payment_token=token,
            idempotency_key=key,
            capture=capture,
            email="conformance@example.com",
        )

    def complete_customer_action(self, gateway: PaymentGateway, pending: GatewayEvent) -> None:
        """Do what the customer does between ``REQUIRES_ACTION`` and ``confirm`` (pass
        a 3-D Secure challenge in the provider's sandbox); nothing unless overridden,
        for a gateway whose test token needs no more."""

    def now(self) -> datetime:
        """The time webhooks are received at (the wall clock unless overridden)."""
        return datetime.now(UTC)

    # --- helpers ---------------------------------------------------------------------

    def _authorized(self, gateway: PaymentGateway, key: str) -> GatewayEvent:
        request = self.request(
            key,
            token=self.success_token,
            amount_units=self.amount_units,
            currency=self.currencies[0],
        )
        event = typed(lambda: gateway.authorize(request))
        rule(
            "the success token authorizes",
            event.status is TransactionStatus.SUCCEEDED,
            f"authorize answered {_shown(event)}",
        )
        return event

    def _captured(self, gateway: PaymentGateway, key: str) -> GatewayEvent:
        authorized = self._authorized(gateway, key)
        currency = authorized.currency
        reference = authorized.payment_reference
        captured = typed(
            lambda: gateway.capture(reference, self.amount_units, currency, fresh_key("capture"))
        )
        rule(
            CAPTURE_LIMIT,
            captured.status is TransactionStatus.SUCCEEDED,
            f"capturing the whole authorization answered {_shown(captured)}",
        )
        return authorized

    # --- the rules -------------------------------------------------------------------

    def test_authorize_answers_in_minor_units_in_the_request_currency(self) -> None:
        """authorize returns a GatewayEvent for the whole amount, in minor units, in the
        request's currency."""
        gateway = self.make_gateway()
        for currency in self.currencies:
            request = self.request(
                fresh_key("authorize"),
                token=self.success_token,
                amount_units=self.amount_units,
                currency=currency,
            )
            event = typed(partial(gateway.authorize, request))
            rule(MINOR_UNITS, isinstance(event, GatewayEvent), f"answered {event!r}")
            amount = event.amount_units
            whole = isinstance(amount, int) and not isinstance(amount, bool)
            rule(
                MINOR_UNITS,
                whole and amount == self.amount_units and event.currency == currency,
                f"asked {self.amount_units} {currency}, answered {amount!r} {event.currency}",
            )
            rule(
                "an authorization succeeds as AUTHORIZE",
                event.kind is TransactionKind.AUTHORIZE
                and event.status is TransactionStatus.SUCCEEDED,
                f"answered {_shown(event)}",
            )

    def test_a_sale_captures_the_whole_amount_at_once(self) -> None:
        """authorize with ``capture=True`` answers a CAPTURE of the whole amount."""
        gateway = self.make_gateway()
        currency = self.currencies[0]
        request = self.request(
            fresh_key("sale"),
            token=self.success_token,
            amount_units=self.amount_units,
            currency=currency,
            capture=True,
        )
        event = typed(lambda: gateway.authorize(request))
        rule(
            SALE,
            event.kind is TransactionKind.CAPTURE
            and event.status is TransactionStatus.SUCCEEDED
            and event.amount_units == self.amount_units
            and event.currency == currency,
            f"asked {self.amount_units} {currency}, answered {_shown(event)}",
        )

    def test_the_same_key_returns_the_same_answer_and_moves_money_once(self) -> None:
        """The same idempotency key again returns the first answer, and a capture
        repeated under its key takes the money once."""
        gateway = self.make_gateway()
        key = fresh_key("authorize")
        first = self._authorized(gateway, key)
        again = self._authorized(gateway, key)
        rule(
            SAME_ANSWER,
            _fact(again) == _fact(first),
            f"authorize answered {_shown(first)}, then {_shown(again)}",
        )
        reference, currency = first.payment_reference, first.currency
        half = self.amount_units // 2
        capture_key = fresh_key("capture")
        captures = [
            typed(lambda: gateway.capture(reference, half, currency, capture_key)) for _ in range(2)
        ]
        rule(
            SAME_ANSWER,
            _fact(captures[0]) == _fact(captures[1]),
            f"capture answered {_shown(captures[0])}, then {_shown(captures[1])}",
        )
        if not self.multicapture:
            return  # the partial capture released the rest: nothing more to take
        rest = self.amount_units - half
        last = _refused(lambda: gateway.capture(reference, rest, currency, fresh_key("capture")))
        rule(
            SAME_ANSWER,
            last is not None and last.amount_units == rest,
            f"after one capture of {half} sent twice, capturing the other {rest} of "
            f"{self.amount_units} was refused: the repeat took money again",
        )

    def test_the_same_key_with_other_parameters_is_refused(self) -> None:
        """The same idempotency key with another amount raises a CommerceError."""
        gateway = self.make_gateway()
        key = fresh_key("authorize")
        first = self._authorized(gateway, key)
        request = self.request(
            key,
            token=self.success_token,
            amount_units=self.amount_units + 1,
            currency=first.currency,
        )
        try:
            other = typed(partial(gateway.authorize, request))
        except CommerceError:
            return
        rule(
            OTHER_PARAMETERS,
            False,
            f"authorize {self.amount_units}, then {self.amount_units + 1} under the same key "
            f"answered {_shown(first)}, then {_shown(other)}",
        )

    def test_capture_never_exceeds_the_authorization(self) -> None:
        """Capturing more than authorized is refused (a FAILED event or a CommerceError)
        and takes nothing: the whole amount can still be captured."""
        gateway = self.make_gateway()
        authorized = self._authorized(gateway, fresh_key("authorize"))
        reference, currency, amount = (
            authorized.payment_reference,
            authorized.currency,
            self.amount_units,
        )
        over = _refused(
            lambda: gateway.capture(reference, amount + 1, currency, fresh_key("capture"))
        )
        rule(
            CAPTURE_LIMIT,
            over is None,
            f"capturing {amount + 1} of {amount} answered {over and _shown(over)}",
        )
        whole = _refused(lambda: gateway.capture(reference, amount, currency, fresh_key("capture")))
        rule(
            CAPTURE_LIMIT,
            whole is not None and whole.amount_units == amount,
            "after a refused capture, capturing the whole authorization was refused",
        )

    def test_an_increment_raises_what_may_be_captured(self) -> None:
        """For a gateway that increments authorizations (the optional
        :class:`~commercekit.ports.payments.IncrementalAuthorization`): an increment
        answers in its amount, the same key again moves nothing more, and the whole
        raised amount, and not one unit more, can then be captured."""
        gateway = self.make_gateway()
        if not isinstance(gateway, IncrementalAuthorization):
            pytest.skip("the gateway does not increment authorizations")
        authorized = self._authorized(gateway, fresh_key("authorize"))
        reference, currency, more = authorized.payment_reference, authorized.currency, 100
        key = fresh_key("increment")
        raised = [
            typed(partial(gateway.increment_authorization, reference, more, currency, key))
            for _ in range(2)
        ]
        rule(
            INCREMENT,
            raised[0].kind is TransactionKind.INCREMENT
            and raised[0].status is TransactionStatus.SUCCEEDED
            and raised[0].amount_units == more,
            f"incrementing by {more} answered {_shown(raised[0])}",
        )
        rule(INCREMENT, _fact(raised[1]) == _fact(raised[0]), "the same key answered anew")
        whole = self.amount_units + more
        taken = _refused(partial(gateway.capture, reference, whole, currency, fresh_key("c")))
        rule(
            INCREMENT,
            taken is not None and taken.amount_units == whole,
            f"capturing the raised {whole} answered {taken and _shown(taken)}",
        )
        over = _refused(partial(gateway.capture, reference, 1, currency, fresh_key("c")))
        rule(INCREMENT, over is None, f"after capturing all {whole}, one more unit was taken")

    def test_partial_captures_add_up(self) -> None:
        """Two partial captures take the whole authorization; one unit more is refused.
        Without :attr:`multicapture`, one partial capture takes its part and releases
        the rest: one unit more is refused after it."""
        gateway = self.make_gateway()
        authorized = self._authorized(gateway, fresh_key("authorize"))
        reference, currency = authorized.payment_reference, authorized.currency
        first = self.amount_units // 3
        parts = (first, self.amount_units - first) if self.multicapture else (first,)
        for part in parts:
            event = _refused(partial(gateway.capture, reference, part, currency, fresh_key("c")))
            rule(
                PARTIAL_CAPTURES,
                event is not None and event.amount_units == part,
                f"capturing {part} of {self.amount_units} answered {event and _shown(event)}",
            )
        more = _refused(lambda: gateway.capture(reference, 1, currency, fresh_key("capture")))
        rule(
            PARTIAL_CAPTURES,
            more is None,
            f"after capturing {sum(parts)} of {self.amount_units}, one more unit was taken",
        )

    def test_refund_never_exceeds_what_was_captured(self) -> None:
        """Refunding more than captured is refused and gives nothing back: the whole
        capture can still be refunded."""
        gateway = self.make_gateway()
        captured = self._captured(gateway, fresh_key("authorize"))
        reference, currency, amount = (
            captured.payment_reference,
            captured.currency,
            self.amount_units,
        )
        over = _refused(
            lambda: gateway.refund(reference, amount + 1, currency, fresh_key("refund"))
        )
        rule(
            REFUND_LIMIT,
            over is None,
            f"refunding {amount + 1} of {amount} answered {over and _shown(over)}",
        )
        whole = _refused(lambda: gateway.refund(reference, amount, currency, fresh_key("refund")))
        rule(
            REFUND_LIMIT,
            whole is not None and whole.amount_units == amount,
            "after a refused refund, refunding the whole capture was refused",
        )

    def test_partial_refunds_add_up(self) -> None:
        """Three partial refunds give back the whole capture; one unit more is refused."""
        gateway = self.make_gateway()
        captured = self._captured(gateway, fresh_key("authorize"))
        reference, currency = captured.payment_reference, captured.currency
        third = self.amount_units // 3
        for part in (third, third, self.amount_units - 2 * third):
            event = _refused(partial(gateway.refund, reference, part, currency, fresh_key("r")))
            rule(
                PARTIAL_REFUNDS,
                event is not None and event.amount_units == part,
                f"refunding {part} of {self.amount_units} answered {event and _shown(event)}",
            )
        more = _refused(lambda: gateway.refund(reference, 1, currency, fresh_key("refund")))
        rule(
            PARTIAL_REFUNDS,
            more is None,
            f"after refunding all {self.amount_units}, one more unit was given back",
        )

    def test_void_releases_the_authorization(self) -> None:
        """void succeeds as a VOID, and nothing can be captured after it."""
        gateway = self.make_gateway()
        authorized = self._authorized(gateway, fresh_key("authorize"))
        reference, currency = authorized.payment_reference, authorized.currency
        voided = typed(lambda: gateway.void(reference, fresh_key("void")))
        rule(
            VOID,
            voided.kind is TransactionKind.VOID and voided.status is TransactionStatus.SUCCEEDED,
            f"void answered {_shown(voided)}",
        )
        after = _refused(lambda: gateway.capture(reference, 1, currency, fresh_key("capture")))
        rule(VOID, after is None, f"a capture after the void answered {after and _shown(after)}")

    def test_a_decline_is_a_failed_event_not_an_exception(self) -> None:
        """The decline token answers a FAILED event, raising nothing."""
        gateway = self.make_gateway()
        request = self.request(
            fresh_key("decline"),
            token=self.decline_token,
            amount_units=self.amount_units,
            currency=self.currencies[0],
        )
        try:
            event = typed(lambda: gateway.authorize(request))
        except CommerceError as error:
            rule(DECLINE, False, f"raised {type(error).__name__}: {error}")
        rule(DECLINE, event.status is TransactionStatus.FAILED, f"answered {_shown(event)}")

    def test_a_required_action_is_confirmed(self) -> None:
        """The action token answers REQUIRES_ACTION; confirm then authorizes the amount."""
        if self.action_token is None:
            pytest.skip("no action_token: the gateway never requires the customer's action")
        gateway = self.make_gateway()
        request = self.request(
            fresh_key("action"),
            token=self.action_token,
            amount_units=self.amount_units,
            currency=self.currencies[0],
        )
        pending = typed(lambda: gateway.authorize(request))
        rule(
            ACTION,
            pending.status is TransactionStatus.REQUIRES_ACTION,
            f"authorize answered {_shown(pending)}",
        )
        self.complete_customer_action(gateway, pending)
        done = typed(lambda: gateway.confirm(pending.payment_reference, fresh_key("confirm")))
        rule(
            ACTION,
            done.status is TransactionStatus.SUCCEEDED and done.amount_units == self.amount_units,
            f"confirm answered {_shown(done)}",
        )

    def test_find_returns_the_answer_of_a_key(self) -> None:
        """find(key) returns the answer given under the key, and None for a key never
        sent."""
        gateway = self.make_gateway()
        key = fresh_key("authorize")
        answer = self._authorized(gateway, key)
        found = typed(lambda: gateway.find(key))
        rule(
            FIND,
            found is not None and _fact(found) == _fact(answer),
            f"authorize answered {_shown(answer)}, find found {found and _shown(found)}",
        )
        never = typed(lambda: gateway.find(fresh_key("never-sent")))
        rule(FIND, never is None, f"a key never sent found {never and _shown(never)}")

    def _webhook(
        self, gateway: PaymentGateway, sent_at: datetime
    ) -> tuple[bytes, str, GatewayEvent]:
        event = self._authorized(gateway, fresh_key("webhook"))
        body, signature = self.signed_webhook(gateway, [event], sent_at)
        return body, signature, event

    def test_a_correctly_signed_webhook_parses(self) -> None:
        """A webhook signed as the provider signs parses into the events it carries."""
        gateway = self.make_gateway()
        now = self.now()
        body, signature, event = self._webhook(gateway, now)
        parsed = typed(lambda: gateway.parse_webhook(body, signature, now))
        rule(
            SIGNED_WEBHOOK,
            [_fact(found) for found in parsed] == [_fact(event)],
            f"sent {_shown(event)}, parsed {[_shown(found) for found in parsed]}",
        )

    def test_a_forged_webhook_is_rejected(self) -> None:
        """A webhook whose signature no secret made, or with none, raises
        WebhookRejected."""
        gateway = self.make_gateway()
        now = self.now()
        body, signature, _ = self._webhook(gateway, now)
        for forged in (tampered_signature(signature), ""):
            rejects_webhook(
                FORGED_WEBHOOK,
                partial(gateway.parse_webhook, body, forged, now),
            )

    def test_a_tampered_webhook_is_rejected(self) -> None:
        """A webhook whose body was changed after it was signed raises WebhookRejected."""
        gateway = self.make_gateway()
        now = self.now()
        body, signature, event = self._webhook(gateway, now)
        amount = str(event.amount_units).encode()
        changed = (
            body.replace(amount, str(event.amount_units + 1).encode())
            if amount in body
            else body + b" "
        )
        rejects_webhook(TAMPERED_WEBHOOK, lambda: gateway.parse_webhook(changed, signature, now))

    def test_a_stale_webhook_is_rejected(self) -> None:
        """A webhook signed ``stale_after`` ago (a replay) raises WebhookRejected."""
        gateway = self.make_gateway()
        now = self.now()
        body, signature, _ = self._webhook(gateway, now - self.stale_after)
        rejects_webhook(STALE_WEBHOOK, lambda: gateway.parse_webhook(body, signature, now))

    def test_an_unknown_payment_is_refused(self) -> None:
        """capture, refund and void of a payment the gateway never made are refused
        (a FAILED event or a CommerceError, never another exception)."""
        gateway = self.make_gateway()
        reference, currency = fresh_key("unknown"), self.currencies[0]
        calls: dict[str, Callable[[], GatewayEvent]] = {
            "capture": lambda: gateway.capture(reference, 1, currency, fresh_key("capture")),
            "refund": lambda: gateway.refund(reference, 1, currency, fresh_key("refund")),
            "void": lambda: gateway.void(reference, fresh_key("void")),
        }
        for name, call in calls.items():
            try:
                answer = _refused(call)
            except AssertionError as error:
                raise AssertionError(f"{error} (from {name})") from error
            rule(UNKNOWN_PAYMENT, answer is None, f"{name} answered {answer and _shown(answer)}")


#: Every rule the suite checks, as its failures name them.
RULES = (
    MINOR_UNITS,
    SALE,
    SAME_ANSWER,
    OTHER_PARAMETERS,
    CAPTURE_LIMIT,
    PARTIAL_CAPTURES,
    REFUND_LIMIT,
    PARTIAL_REFUNDS,
    VOID,
    DECLINE,
    ACTION,
    FIND,
    SIGNED_WEBHOOK,
    FORGED_WEBHOOK,
    TAMPERED_WEBHOOK,
    STALE_WEBHOOK,
    UNKNOWN_PAYMENT,
    INCREMENT,
    TYPED_ERRORS,
)
