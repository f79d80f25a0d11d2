"""A deterministic payment gateway for tests, demos and local development.

It moves no money. The payment token decides the outcome:

============================  ==============================================
token                         outcome of ``authorize``
============================  ==============================================
``tok_success``               authorized (or captured, for a sale)
``tok_declined``              declined: ``card_declined``
``tok_insufficient_funds``    declined: ``insufficient_funds``
``tok_requires_action``       requires action; ``confirm`` then authorizes
``tok_gateway_error``         ``GatewayError`` (retryable), every time
``tok_flaky``                 ``GatewayError`` on the first call of a key,
                              authorized when the same key is tried again
``tok_no_increment``          authorized; authorizing more on it is refused
============================  ==============================================

Like a real gateway it honours idempotency keys (the same key returns the first
answer; the same key with other parameters is refused), refuses to capture more than
it authorized or refund more than it captured, and signs webhooks with HMAC-SHA256
over a timestamp and the body. Ids are derived from the keys, so runs repeat exactly.

A store has it only when its configuration names it, with a webhook secret of its
own (there is no default: a secret printed in these docs would let anyone sign
webhooks to a store that kept it)::

    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "..."}}}

To rotate the secret, give the new one as ``webhook_secret`` and the old ones, for as
long as webhooks signed with them may still arrive, as ``previous_webhook_secrets``
(a list, among the secrets). The gateway signs with ``webhook_secret`` and accepts a
signature made with any of them. ``webhook_tolerance_seconds`` (an option, a whole
number from 1 to 86400, 300 by default) is how far a webhook's timestamp may be from
the store's clock.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import attrs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from commercekit.adapters import _signing as signing
from commercekit.domain.errors import (
    GatewayError,
    InvalidInput,
    WebhookRejected,
    shown,
)
from commercekit.domain.payments import GatewayEvent, TransactionKind, TransactionStatus
from commercekit.hookspecs import GatewayFactory, Register, hookimpl
from commercekit.ports.payments import (
    PaymentRequest,
)

__all__ = [
    "MAX_TOLERANCE_SECONDS",
    "TOKENS",
    "TestGatewayOptions",
    "TestPaymentGateway",
    "register_payment_gateways",
]

TOKENS: Final = (
    "tok_success",
    "tok_declined",
    "tok_insufficient_funds",
    "tok_requires_action",
    "tok_gateway_error",
    "tok_flaky",
    "tok_no_increment",
)
_DECLINES: Final = {"tok_declined": "card_declined", "tok_insufficient_funds": "insufficient_funds"}

#: The widest tolerance window a store may configure: a day. A wider window is one in
#: which a captured webhook can be replayed for longer than any delivery retry needs.
MAX_TOLERANCE_SECONDS: Final = 86_400


def _checked_previous_secrets(value: object, field: str) -> tuple[str, ...]:
    """The previous webhook secrets, as a tuple.

    :raises InvalidInput: naming ``field``, for anything but a list of non-empty
        strings (a lone string too: it is one secret, not a list of its characters).
        The message never repeats a secret.
    """
    if isinstance(value, str) or not isinstance(value, Sequence):
        got = type(value).__name__  # only the type: the value may be a secret
        raise InvalidInput(f"the previous webhook secrets must be a list, not {got}", field=field)
    secrets = tuple(secret for secret in value if isinstance(secret, str) and secret)
    if len(secrets) != len(value):
        raise InvalidInput("every previous webhook secret must be a non-empty string", field=field)
    return secrets


def _checked_tolerance(value: object, field: str) -> int:
    """The webhook tolerance window, in whole seconds.

    :raises InvalidInput: naming ``field``, for anything but a whole number (not a
        bool) from 1 to :data:`MAX_TOLERANCE_SECONDS`.
    """
    in_range = isinstance(value, int) and 1 <= value <= MAX_TOLERANCE_SECONDS
    if isinstance(value, bool) or not isinstance(value, int) or not in_range:
        raise InvalidInput(
            f"the webhook tolerance must be a whole number of seconds from 1 to "
            f"{MAX_TOLERANCE_SECONDS}, not {shown(value)}",
            field=field,
        )
    return value


def _id(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]
    return f"{prefix}_{digest}"


@attrs.define
class _Account:
    """What the gateway knows of one payment."""

    currency: str
    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    voided: bool = False
    pending_action: int = 0
    capture_on_confirm: bool = False
    increments: bool = True
    """Whether more may be authorized on it (not for ``tok_no_increment``)."""


class TestPaymentGateway:
    """The built-in test gateway (see the module docstring for its tokens)."""

    __test__ = False  # a product class, not a pytest test class

    def __init__(
        self,
        name: str = "test",
        *,
        webhook_secret: str,
        previous_webhook_secrets: Sequence[str] = (),
        webhook_tolerance_seconds: int = signing.DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Sign webhooks with ``webhook_secret``; accept them signed with it or with one
        of ``previous_webhook_secrets`` (a rotation under way), sent no further than
        ``webhook_tolerance_seconds`` from the receiving store's time.

        :raises InvalidInput: naming the argument, for an empty ``webhook_secret``,
            previous secrets that are not a list of non-empty strings, or a tolerance
            that is not a whole number from 1 to :data:`MAX_TOLERANCE_SECONDS`.
        """
        if not isinstance(webhook_secret, str) or not webhook_secret:
            raise InvalidInput("the test gateway needs a webhook secret", field="webhook_secret")
        self._name = name
        self.webhook_secret = webhook_secret
        """The current secret: the one webhooks are signed with."""
        self.previous_webhook_secrets = _checked_previous_secrets(
            previous_webhook_secrets, "previous_webhook_secrets"
        )
        """Secrets being retired: webhooks signed with them are still accepted."""
        self.webhook_tolerance_seconds = _checked_tolerance(
            webhook_tolerance_seconds, "webhook_tolerance_seconds"
        )
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[str, GatewayEvent]] = {}
        self._accounts: dict[str, _Account] = {}
        self._flaky_seen: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        """``(operation, idempotency key)`` of every call received, for tests."""

    @property
    def name(self) -> str:
        """The name stores configure this gateway under."""
        return self._name

    # --- idempotency -----------------------------------------------------------------

    def _once(
        self, key: str, fingerprint: str, operation: Callable[[], GatewayEvent]
    ) -> GatewayEvent:
        if not key:
            raise GatewayError("an idempotency key is required", retryable=False)
        with self._lock:
            answered = self._answers.get(key)
            if answered is not None:
                if answered[0] != fingerprint:
                    raise GatewayError(
                        "idempotency key reused with different parameters", retryable=False
                    )
                return answered[1]
            event = operation()
            self._answers[key] = (fingerprint, event)
            return event

    def _event(
        self,
        key: str,
        reference: str,
        kind: TransactionKind,
        status: TransactionStatus,
        amount: int,
        currency: str,
        detail: str = "",
        transaction_id: str | None = None,
    ) -> GatewayEvent:
        return GatewayEvent(
            transaction_id=transaction_id or _id("txn", self._name, key),
            payment_reference=reference,
            kind=kind,
            status=status,
            amount_units=amount,
            currency=currency,
            occurred_at=self._clock(),
            detail=detail,
        )

    # --- the port --------------------------------------------------------------------

    def authorize(self, request: PaymentRequest) -> GatewayEvent:
        """Authorize, or capture at once for a sale, as the token says."""
        key = request.idempotency_key
        self.calls.append(("authorize", key))
        token = request.payment_token
        if token == "tok_gateway_error":
            raise GatewayError("the test gateway is unavailable (tok_gateway_error)")
        with self._lock:
            if token == "tok_flaky" and key not in self._flaky_seen:
                self._flaky_seen.add(key)
                raise GatewayError("the test gateway timed out (tok_flaky, first try)")
        fingerprint = (
            f"authorize|{request.amount_units}|{request.currency}|{token}|{request.capture}"
        )

        def run() -> GatewayEvent:
            reference = _id("pay", self._name, key)
            account = self._accounts.setdefault(reference, _Account(currency=request.currency))
            account.increments = token != "tok_no_increment"
            kind = TransactionKind.AUTHORIZE
            if token in _DECLINES:
                return self._event(
                    key,
                    reference,
                    kind,
                    TransactionStatus.FAILED,
                    request.amount_units,
                    request.currency,
                    _DECLINES[token],
                )
            if token == "tok_requires_action":
                account.pending_action = request.amount_units
                account.capture_on_confirm = request.capture
                return self._event(
                    key,
                    reference,
                    kind,
                    TransactionStatus.REQUIRES_ACTION,
                    request.amount_units,
                    request.currency,
                    "authenticate the payment",
                )
            if token not in ("tok_success", "tok_flaky", "tok_no_increment"):
                return self._event(
                    key,
                    reference,
                    kind,
                    TransactionStatus.FAILED,
                    request.amount_units,
                    request.currency,
                    "invalid_payment_method",
                )
            account.authorized = request.amount_units
            if request.capture:
                account.captured = request.amount_units
                kind = TransactionKind.CAPTURE
            return self._event(
                key,
                reference,
                kind,
                TransactionStatus.SUCCEEDED,
                request.amount_units,
                request.currency,
            )

        return self._once(key, fingerprint, run)

    def _account(self, reference: str) -> _Account:
        account = self._accounts.get(reference)
        if account is None:
            raise GatewayError(f"no payment {reference!r} at the test gateway", retryable=False)
        return account

    def _operate(
        self,
        kind: TransactionKind,
        reference: str,
        amount_units: int,
        idempotency_key: str,
        refusal: Callable[[_Account], str | None],
        book: Callable[[_Account], int],
    ) -> GatewayEvent:
        """One capture, void or refund: refused with a reason, or booked."""
        self.calls.append((kind.value, idempotency_key))

        def run() -> GatewayEvent:
            account = self._account(reference)
            reason = refusal(account)
            if reason:
                status, amount = TransactionStatus.FAILED, amount_units
            else:
                status, amount, reason = TransactionStatus.SUCCEEDED, book(account), ""
            return self._event(
                idempotency_key, reference, kind, status, amount, account.currency, reason
            )

        fingerprint = f"{kind.value}|{reference}|{amount_units}"
        return self._once(idempotency_key, fingerprint, run)

    def capture(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Capture up to what is authorized and not yet captured."""

        def refusal(account: _Account) -> str | None:
            too_much = account.captured + amount_units > account.authorized
            return "amount_too_large" if account.voided or too_much else None

        def book(account: _Account) -> int:
            account.captured += amount_units
            return amount_units

        return self._operate(
            TransactionKind.CAPTURE, reference, amount_units, idempotency_key, refusal, book
        )

    def increment_authorization(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Authorize more on a standing authorization (refused for a payment authorized
        with ``tok_no_increment``, and once voided)."""

        def refusal(account: _Account) -> str | None:
            if account.voided or not account.authorized:
                return "not_authorized"
            return None if account.increments else "increment_declined"

        def book(account: _Account) -> int:
            account.authorized += amount_units
            return amount_units

        return self._operate(
            TransactionKind.INCREMENT, reference, amount_units, idempotency_key, refusal, book
        )

    def void(self, reference: str, idempotency_key: str) -> GatewayEvent:
        """Release what is authorized and not captured."""

        def refusal(account: _Account) -> str | None:
            voidable = account.authorized > account.captured and not account.voided
            return None if voidable else "not_voidable"

        def book(account: _Account) -> int:
            account.voided = True
            return account.authorized - account.captured

        return self._operate(TransactionKind.VOID, reference, 0, idempotency_key, refusal, book)

    def refund(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Refund up to what is captured and not yet refunded."""

        def refusal(account: _Account) -> str | None:
            too_much = account.refunded + amount_units > account.captured
            return "amount_too_large" if too_much else None

        def book(account: _Account) -> int:
            account.refunded += amount_units
            return amount_units

        return self._operate(
            TransactionKind.REFUND, reference, amount_units, idempotency_key, refusal, book
        )

    def _complete(self, reference: str) -> GatewayEvent:
        # Whether the customer confirms through the shop or the gateway completes the
        # action itself, it is one transaction with one id: the two reports of it must
        # meet as the same fact in the ledger.
        account = self._account(reference)
        transaction_id = _id("txn", self._name, reference, "action")
        if account.pending_action:
            account.authorized = account.pending_action
            account.pending_action = 0
            if account.capture_on_confirm:
                account.captured = account.authorized
        kind = TransactionKind.CAPTURE if account.capture_on_confirm else TransactionKind.AUTHORIZE
        return self._event(
            "",
            reference,
            kind,
            TransactionStatus.SUCCEEDED,
            account.authorized,
            account.currency,
            transaction_id=transaction_id,
        )

    def confirm(self, reference: str, idempotency_key: str) -> GatewayEvent:
        """The customer completed the required action: the payment is authorized."""
        self.calls.append(("confirm", idempotency_key))
        return self._once(
            idempotency_key, f"confirm|{reference}", lambda: self._complete(reference)
        )

    def find(self, idempotency_key: str) -> GatewayEvent | None:
        """The answer given to an earlier call with this key, if the gateway got it."""
        with self._lock:
            answered = self._answers.get(idempotency_key)
        return None if answered is None else answered[1]

    # --- webhooks --------------------------------------------------------------------

    def complete_action_at_gateway(self, reference: str) -> GatewayEvent:
        """Simulate the customer finishing the action on the gateway's own page."""
        with self._lock:
            return self._complete(reference)

    def webhook(
        self, events: Sequence[GatewayEvent], *, sent_at: datetime | None = None
    ) -> tuple[bytes, str]:
        """The body and signature header the gateway would send for ``events``."""
        body = json.dumps({"events": [_event_to_json(e) for e in events]}, sort_keys=True).encode()
        timestamp = int((sent_at or self._clock()).timestamp())
        return body, signing.sign(self.webhook_secret, body, timestamp)

    def parse_webhook(
        self, payload: bytes, signature: str, now: datetime
    ) -> Sequence[GatewayEvent]:
        """Verify the signature, then read the events.

        :raises WebhookRejected: for a forged, stale or malformed webhook.
        """
        signing.verify(
            (self.webhook_secret, *self.previous_webhook_secrets),
            payload,
            signature,
            now,
            self.webhook_tolerance_seconds,
        )
        try:
            data = json.loads(payload)
            return [_event_from_json(item) for item in data["events"]]
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            # The error may quote a value of the body, which can be of any size.
            reason = shown(str(error), quote=False)
            raise WebhookRejected(f"the webhook body is not understood: {reason}") from None


def _event_to_json(event: GatewayEvent) -> dict[str, Any]:
    return {
        "transaction_id": event.transaction_id,
        "payment_reference": event.payment_reference,
        "kind": event.kind.value,
        "status": event.status.value,
        "amount_units": event.amount_units,
        "currency": event.currency,
        "occurred_at": event.occurred_at.isoformat(),
        "detail": event.detail,
    }


def _event_from_json(item: Mapping[str, Any]) -> GatewayEvent:
    occurred_at = datetime.fromisoformat(item["occurred_at"])
    amount = item["amount_units"]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise ValueError("amount_units must be a non-negative whole number")
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must carry a timezone")
    return GatewayEvent(
        transaction_id=str(item["transaction_id"]),
        payment_reference=str(item["payment_reference"]),
        kind=TransactionKind(item["kind"]),
        status=TransactionStatus(item["status"]),
        amount_units=amount,
        currency=str(item["currency"]),
        occurred_at=occurred_at,
        detail=str(item.get("detail", "")),
    )


class TestGatewayOptions(BaseModel):
    """The ``test`` gateway's options (``webhook_secret`` and
    ``previous_webhook_secrets`` among a store's secrets). Options it does not know
    are ignored."""

    __test__ = False  # a model, not a test class

    model_config = ConfigDict(extra="ignore", frozen=True)

    webhook_secret: SecretStr = Field(default=None, validate_default=True)
    """The secret webhooks are signed with; required (the default is refused)."""
    previous_webhook_secrets: tuple[SecretStr, ...] = Field(default=(), validate_default=True)
    """Secrets being retired: webhooks signed with them are still accepted."""
    webhook_tolerance_seconds: int = signing.DEFAULT_TOLERANCE_SECONDS
    """How far a webhook's timestamp may be from the store's clock."""

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _secret(cls, value: object) -> object:
        if not isinstance(value, str) or not value:
            raise ValueError(
                "the test gateway signs webhooks with a secret of the store's own: "
                "give it as secrets.webhook_secret"
            )
        return value

    @field_validator("previous_webhook_secrets", mode="before")
    @classmethod
    def _previous(cls, value: object) -> object:
        try:
            return _checked_previous_secrets(value, "previous_webhook_secrets")
        except InvalidInput as error:
            raise ValueError(error.message) from None

    @field_validator("webhook_tolerance_seconds", mode="before")
    @classmethod
    def _tolerance(cls, value: object) -> object:
        try:
            return _checked_tolerance(value, "webhook_tolerance_seconds")
        except InvalidInput as error:
            raise ValueError(error.message) from None


@hookimpl
def register_payment_gateways(register: Register[GatewayFactory]) -> None:
    """Offer the ``test`` gateway kind (secrets: ``webhook_secret``, required, and
    ``previous_webhook_secrets``; option: ``webhook_tolerance_seconds``).

    :raises InvalidPluginOptions: (through the store) naming the configuration field,
        for a missing or empty webhook secret, or a previous secret or tolerance that
        is not as documented.
    """

    def build(name: str, options: TestGatewayOptions) -> TestPaymentGateway:
        return TestPaymentGateway(
            name,
            webhook_secret=options.webhook_secret.get_secret_value(),
            previous_webhook_secrets=tuple(
                secret.get_secret_value() for secret in options.previous_webhook_secrets
            ),
            webhook_tolerance_seconds=options.webhook_tolerance_seconds,
        )

    register("test", build, options=TestGatewayOptions)
