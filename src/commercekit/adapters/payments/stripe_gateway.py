"""A payment gateway on Stripe's PaymentIntents API, through Stripe's own Python SDK.

Install it with the ``stripe`` extra (``pip install 'commercekit[stripe]'``) and name
it in a store's configuration::

    "gateways": {"card": {
        "plugin": "stripe",
        "secrets": {"api_key": "sk_live_...", "webhook_secret": "whsec_..."},
    }}

What the port asks, and what Stripe is asked for it:

==========================  ==============================================================
port                        Stripe
==========================  ==============================================================
``authorize``               a PaymentIntent confirmed at once: capture ``manual`` (with
                            multicapture and incremental authorization asked for where the
                            card allows them), or ``automatic`` for a sale
``capture``                 ``/capture`` with ``amount_to_capture``; ``final_capture`` is
                            false unless it takes all that is left, so that partial
                            captures add up and the last one closes the authorization
``void``                    ``/cancel``: Stripe releases what was not captured
``refund``                  a Refund of the PaymentIntent
``increment_authorization`` ``/increment_authorization`` to the new total
``confirm``                 ``/confirm`` when the PaymentIntent waits for it; otherwise what
                            the customer's action (3-D Secure, done with Stripe.js) made of it
``find``                    the PaymentIntent that records the key (see below)
``parse_webhook``           Stripe's own signature check, the store's clock for staleness
==========================  ==============================================================

Every call that changes something carries the core's idempotency key as Stripe's
``Idempotency-Key``, so a retry is answered by Stripe with the first answer and never
moves money twice. A decline (a ``card_error``, or a PaymentIntent left without a
payment) is a ``FAILED`` event; a refusal of a capture, refund or void (more than is
left, a payment in the wrong state) is a ``FAILED`` event too, carrying Stripe's code.
A network failure, a 5xx or an answer that cannot be read raises
:class:`~commercekit.errors.GatewayError`; no Stripe exception leaves this module.

**Finding what became of a key.** Stripe does not look requests up by their idempotency
key, so each operation records its key on the PaymentIntent's metadata, in the same
request where the endpoint takes metadata (creation, capture, increment; a refund
records it on the PaymentIntent first, and on the Refund itself): ``ck_<digest>`` names
the operation and ``ck_<digest>_amount`` what it moved. :meth:`StripeGateway.find`
looks the digest up with the PaymentIntent search API, which Stripe documents for
exactly this (an exact match on a metadata value), and, because Stripe documents
search as lagging writes by up to a minute (an hour in an outage) and tells
read-after-write flows to use the list APIs, it then lists the PaymentIntents created
within ``find_lookback_seconds`` (an hour by default), which are read as written. A
capture, refund or void whose key it cannot find yet is asked again under the same key
by the core, and Stripe answers that from its idempotency store. A PaymentIntent keeps
at most 50 metadata keys: about twenty captures, increments and refunds through
commercekit each.

**Amounts.** commercekit counts minor units by the currency's CLDR precision; Stripe
by its own table (zero-decimal currencies such as JPY, three-decimal ones such as KWD,
two decimals for every other, HUF and ISK included). The amounts are scaled between the
two, so that 1500 HUF is 1500 units here and 150000 on the wire.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from commercekit.domain.errors import (
    CommerceError,
    GatewayError,
    IdempotencyConflict,
    InvalidInput,
    PluginError,
    WebhookRejected,
    shown,
)
from commercekit.domain.money import currency_precision
from commercekit.domain.payments import GatewayEvent, TransactionKind, TransactionStatus
from commercekit.hookspecs import GatewayFactory, Register, hookimpl
from commercekit.ports.payments import PaymentRequest

if TYPE_CHECKING:
    from stripe import StripeClient
    from stripe.params import (
        PaymentIntentCaptureParams,
        PaymentIntentCreateParams,
        PaymentIntentListParams,
        RefundListParams,
    )

__all__ = [
    "EXTRA",
    "StripeGateway",
    "StripeGatewayOptions",
    "from_stripe_units",
    "register_payment_gateways",
    "stripe_exponent",
    "to_stripe_units",
]

#: How the SDK is installed with commercekit.
EXTRA: Final = "pip install 'commercekit[stripe]'"

#: Stripe's zero-decimal and three-decimal currencies, as its currency guide lists
#: them; Stripe counts every other currency in hundredths.
_ZERO_DECIMAL: Final = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DECIMAL: Final = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

_DEFAULT_TOLERANCE: Final = 300
_MAX_TOLERANCE: Final = 86_400
_MAX_HEADER_LENGTH: Final = 4096
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}", re.ASCII)
_PAGE: Final = 100
_JOURNAL_KINDS: Final = ("authorize", "capture", "increment", "refund")

_T = TypeVar("_T")


# --- amounts -------------------------------------------------------------------------


def _power_of_ten(exponent: int) -> int:
    return int(10**exponent)


def stripe_exponent(currency: str) -> int:
    """How many decimals Stripe counts ``currency`` in (its smallest unit)."""
    code = currency.upper()
    if code in _ZERO_DECIMAL:
        return 0
    return 3 if code in _THREE_DECIMAL else 2


def to_stripe_units(units: int, currency: str) -> int:
    """``units`` (commercekit's minor units of ``currency``) in Stripe's units.

    :raises GatewayError: (not retryable) for an amount Stripe cannot express, finer
        than its unit for the currency.
    """
    shift = stripe_exponent(currency) - currency_precision(currency.upper())
    if shift >= 0:
        return units * _power_of_ten(shift)
    step = _power_of_ten(-shift)
    if units % step:
        raise GatewayError(
            f"Stripe counts {currency.upper()} in units of {step} of commercekit's: "
            f"{units} cannot be sent",
            retryable=False,
        )
    return units // step


def from_stripe_units(amount: int, currency: str) -> int:
    """Stripe's ``amount`` of ``currency`` in commercekit's minor units.

    :raises ValueError: for an amount finer than commercekit's unit (a Stripe amount of
        1500.50 HUF, set outside commercekit): it cannot be recorded exactly.
    """
    shift = stripe_exponent(currency) - currency_precision(currency.upper())
    if shift <= 0:
        return amount * _power_of_ten(-shift)
    step = _power_of_ten(shift)
    if amount % step:
        raise ValueError(f"{amount} is not a whole number of {currency.upper()} minor units")
    return amount // step


# --- reading Stripe's answers ----------------------------------------------------------


class _Unreadable(ValueError):
    """An answer from Stripe without what this adapter needs from it."""


def _field(data: Mapping[str, Any], name: str) -> Any:
    if not isinstance(data, Mapping) or name not in data:
        raise _Unreadable(f"no {name!r} in Stripe's answer")
    return data[name]


def _text(data: Mapping[str, Any], name: str) -> str:
    value = _field(data, name)
    if not isinstance(value, str):
        raise _Unreadable(f"{name!r} is not text in Stripe's answer")
    return value


def _count(data: Mapping[str, Any], name: str) -> int:
    value = _field(data, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Unreadable(f"{name!r} is not a whole amount in Stripe's answer")
    return value


def _object(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _digest(key: str) -> str:
    """A short, fixed-width name for an idempotency key: metadata keys have at most 40
    characters, and the search query language needs no escaping for hex."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _journal_key(digest: str) -> str:
    return f"ck_{digest}"


def _amount_key(digest: str) -> str:
    return f"ck_{digest}_amount"


@attrs.frozen
class _Refusal:
    """What Stripe said when it refused a request it understood."""

    status: int
    kind: str
    code: str
    decline_code: str
    message: str
    payment_intent: Mapping[str, Any]

    @property
    def reason(self) -> str:
        return self.decline_code or self.code or self.kind or "refused"

    @property
    def unknown_object(self) -> bool:
        return self.code == "resource_missing" or self.status == 404


def _refusal(error: Exception) -> _Refusal:
    body = getattr(error, "json_body", None)
    found = _object(body, "error") if isinstance(body, Mapping) else {}
    status = getattr(error, "http_status", None)

    def said(name: str) -> str:
        value = found.get(name)
        return value if isinstance(value, str) else ""

    return _Refusal(
        status=status if isinstance(status, int) else 0,
        kind=said("type"),
        code=said("code"),
        decline_code=said("decline_code"),
        message=said("message"),
        payment_intent=_object(found, "payment_intent"),
    )


# --- the gateway -----------------------------------------------------------------------


def _sdk_missing() -> PluginError:
    return PluginError("stripe", f"the stripe gateway needs Stripe's Python SDK: {EXTRA}")


class StripeGateway:
    """Stripe's PaymentIntents behind the payment gateway port (see the module
    docstring for what each call asks of Stripe)."""

    def __init__(
        self,
        name: str = "stripe",
        *,
        api_key: str,
        webhook_secret: str,
        previous_webhook_secrets: Sequence[str] = (),
        api_base: str | None = None,
        timeout_seconds: float = 30.0,
        max_network_retries: int = 2,
        webhook_tolerance_seconds: int = _DEFAULT_TOLERANCE,
        find_lookback_seconds: int = 3600,
        return_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Talk to Stripe with ``api_key`` (at ``api_base``, Stripe's own API unless
        given), each request waiting at most ``timeout_seconds`` and retried by the SDK
        up to ``max_network_retries`` times under its key; accept webhooks signed with
        ``webhook_secret`` or one of ``previous_webhook_secrets`` (a rotation), sent no
        further than ``webhook_tolerance_seconds`` from the receiving store's time.

        :raises PluginError: without Stripe's SDK (the ``stripe`` extra).
        :raises InvalidInput: naming the argument, for an empty key or secret.
        """
        try:
            import stripe
        except ImportError:
            raise _sdk_missing() from None
        if not isinstance(api_key, str) or not api_key:
            raise InvalidInput("the stripe gateway needs an API key", field="api_key")
        if isinstance(previous_webhook_secrets, str):
            raise InvalidInput(
                "the previous webhook secrets must be a list", field="previous_webhook_secrets"
            )
        secrets = (webhook_secret, *previous_webhook_secrets)
        if not all(isinstance(secret, str) and secret for secret in secrets):
            raise InvalidInput("webhook secrets must be non-empty text", field="webhook_secret")
        self._name = name
        self._secrets: tuple[str, ...] = secrets
        self._tolerance = webhook_tolerance_seconds
        self._lookback = find_lookback_seconds
        self._return_url = return_url
        self._clock = clock or (lambda: datetime.now(UTC))
        self._client: StripeClient = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
        )

    @property
    def name(self) -> str:
        """The name stores configure this gateway under."""
        return self._name

    # --- calling Stripe --------------------------------------------------------------

    def _call(
        self,
        call: Callable[[], _T],
        refused: Callable[[_Refusal], _T] | None = None,
        *,
        key: str = "",
    ) -> _T:
        """Run one request to Stripe, turning every failure into a commercekit one.

        :param refused: what a refusal Stripe understood (a card error, a request it
            will not carry out) becomes; without it, a :class:`GatewayError`.
        :raises IdempotencyConflict: for ``key`` reused with other parameters.
        :raises GatewayError: when the outcome is unknown (network, 5xx, an answer that
            cannot be read: retryable) or Stripe refused the API key (not retryable).
        """
        import stripe

        try:
            return call()
        except CommerceError:
            raise
        except stripe.IdempotencyError:
            raise IdempotencyConflict(key) from None
        except (stripe.CardError, stripe.InvalidRequestError) as error:
            refusal = _refusal(error)
            if refused is None:
                raise GatewayError(
                    f"Stripe refused: {shown(refusal.message or refusal.reason, quote=False)}",
                    retryable=False,
                ) from None
            return refused(refusal)
        except (stripe.AuthenticationError, stripe.PermissionError) as error:
            detail = shown(str(error), quote=False)
            raise GatewayError(f"Stripe refused the API key: {detail}", retryable=False) from None
        except stripe.StripeError as error:
            # Network, rate limit, 5xx, or something new: nothing is known to be done,
            # and the same key again is answered as the first request was.
            detail = shown(f"{type(error).__name__}: {error}", quote=False)
            raise GatewayError(f"Stripe could not be reached: {detail}") from None
        except (_Unreadable, KeyError, TypeError, ValueError, AttributeError) as error:
            detail = shown(str(error), quote=False)
            raise GatewayError(f"Stripe's answer could not be read: {detail}") from None

    @staticmethod
    def _check_key(key: str) -> None:
        if not isinstance(key, str) or not key:
            raise GatewayError("an idempotency key is required", retryable=False)

    def _unknown(self, reference: str) -> GatewayError:
        return GatewayError(f"no payment {shown(reference)} at Stripe", retryable=False)

    def _retrieve(self, reference: str) -> dict[str, Any]:
        """The PaymentIntent ``reference``, with its latest charge.

        :raises GatewayError: (not retryable) for one Stripe does not know.
        """

        def unknown(refusal: _Refusal) -> dict[str, Any]:
            raise self._unknown(reference)

        return self._call(
            lambda: self._client.v1.payment_intents.retrieve(
                reference, {"expand": ["latest_charge"]}
            ).to_dict(),
            unknown,
        )

    # --- turning PaymentIntents into events ----------------------------------------

    def _event(
        self,
        transaction_id: str,
        reference: str,
        kind: TransactionKind,
        status: TransactionStatus,
        amount: int,
        currency: str,
        detail: str = "",
        at: datetime | None = None,
    ) -> GatewayEvent:
        return GatewayEvent(
            transaction_id=transaction_id,
            payment_reference=reference,
            kind=kind,
            status=status,
            amount_units=amount,
            currency=currency.upper(),
            occurred_at=at or self._clock(),
            detail=detail,
        )

    @staticmethod
    def _journal(intent: Mapping[str, Any], kind: str) -> list[tuple[str, int]]:
        """The operations of ``kind`` recorded on the PaymentIntent: (digest, amount in
        Stripe's units)."""
        metadata = _object(intent, "metadata")
        entries = []
        for name, value in metadata.items():
            if value != kind or not isinstance(name, str) or not name.startswith("ck_"):
                continue
            digest = name.removeprefix("ck_")
            raw = metadata.get(_amount_key(digest), "0")
            entries.append((digest, int(raw) if isinstance(raw, str) and raw.isdigit() else 0))
        return sorted(entries)

    def _authorization(
        self, intent: Mapping[str, Any], at: datetime | None = None
    ) -> GatewayEvent | None:
        """What the PaymentIntent says of its authorization (or sale): ``None`` while
        it says nothing final (processing, created and not confirmed)."""
        reference, status = _text(intent, "id"), _text(intent, "status")
        currency = _text(intent, "currency")
        increments = sum(amount for _, amount in self._journal(intent, "increment"))
        amount = from_stripe_units(_count(intent, "amount") - increments, currency)
        sale = intent.get("capture_method") != "manual"
        authorized = status in ("requires_capture", "succeeded") or (
            status == "canceled" and _was_authorized(intent)
        )
        if authorized and sale:
            received = from_stripe_units(_count(intent, "amount_received"), currency)
            return self._event(
                f"{reference}:sale",
                reference,
                TransactionKind.CAPTURE,
                TransactionStatus.SUCCEEDED,
                received,
                currency,
                at=at,
            )
        if authorized:
            return self._event(
                f"{reference}:authorized",
                reference,
                TransactionKind.AUTHORIZE,
                TransactionStatus.SUCCEEDED,
                amount,
                currency,
                at=at,
            )
        if status in ("requires_action", "requires_confirmation"):
            action = _object(intent, "next_action").get("type")
            return self._event(
                f"{reference}:action",
                reference,
                TransactionKind.AUTHORIZE,
                TransactionStatus.REQUIRES_ACTION,
                amount,
                currency,
                f"authenticate the payment ({action or 'confirm'})",
                at=at,
            )
        error = _object(intent, "last_payment_error")
        if status == "canceled" or (status == "requires_payment_method" and error):
            reason = error.get("decline_code") or error.get("code") or status
            return self._event(
                f"{reference}:declined",
                reference,
                TransactionKind.AUTHORIZE,
                TransactionStatus.FAILED,
                amount,
                currency,
                str(reason),
                at=at,
            )
        return None

    def _journaled(
        self, intent: Mapping[str, Any], kind: str, at: datetime | None = None
    ) -> list[GatewayEvent]:
        """The captures or increments recorded on the PaymentIntent, as events."""
        reference, currency = _text(intent, "id"), _text(intent, "currency")
        transaction_kind = (
            TransactionKind.CAPTURE if kind == "capture" else TransactionKind.INCREMENT
        )
        return [
            self._event(
                f"{reference}:{kind}:{digest}",
                reference,
                transaction_kind,
                TransactionStatus.SUCCEEDED,
                from_stripe_units(amount, currency),
                currency,
                at=at,
            )
            for digest, amount in self._journal(intent, kind)
        ]

    def _facts(self, intent: Mapping[str, Any], at: datetime) -> list[GatewayEvent]:
        """Everything a PaymentIntent shows, oldest first: its authorization (or sale or
        decline), what was authorized more and captured through commercekit, what was
        captured elsewhere (the Dashboard), and its release. The ledger records each
        once, however often it is reported."""
        first = self._authorization(intent, at)
        if first is None:
            return []
        facts = [first]
        manual = intent.get("capture_method") == "manual"
        if first.status is not TransactionStatus.SUCCEEDED or not manual:
            return facts
        facts += self._journaled(intent, "increment", at)
        captures = self._journaled(intent, "capture", at)
        facts += captures
        reference, currency = _text(intent, "id"), _text(intent, "currency")
        received = from_stripe_units(_count(intent, "amount_received"), currency)
        elsewhere = received - sum(event.amount_units for event in captures)
        if elsewhere > 0:
            facts.append(
                self._event(
                    f"{reference}:capture:elsewhere:{received}",
                    reference,
                    TransactionKind.CAPTURE,
                    TransactionStatus.SUCCEEDED,
                    elsewhere,
                    currency,
                    "captured outside commercekit",
                    at=at,
                )
            )
        if _text(intent, "status") == "canceled":
            facts.append(self._voided(intent, at))
        return facts

    def _voided(self, intent: Mapping[str, Any], at: datetime | None = None) -> GatewayEvent:
        reference, currency = _text(intent, "id"), _text(intent, "currency")
        released = _count(intent, "amount") - _count(intent, "amount_received")
        return self._event(
            f"{reference}:void",
            reference,
            TransactionKind.VOID,
            TransactionStatus.SUCCEEDED,
            from_stripe_units(max(released, 0), currency),
            currency,
            at=at,
        )

    def _refused(
        self,
        kind: TransactionKind,
        reference: str,
        key: str,
        amount: int,
        currency: str,
        refusal: _Refusal,
    ) -> GatewayEvent:
        """A capture, refund, void or increment Stripe refused, as a ``FAILED`` event
        (or an error, for a payment Stripe does not know)."""
        if refusal.unknown_object:
            raise self._unknown(reference)
        return self._event(
            f"{reference}:{kind.value}:{_digest(key)}:refused",
            reference,
            kind,
            TransactionStatus.FAILED,
            amount,
            currency,
            refusal.reason,
        )

    # --- the port --------------------------------------------------------------------

    def authorize(self, request: PaymentRequest) -> GatewayEvent:
        """Create and confirm a PaymentIntent: ``manual`` capture to authorize,
        ``automatic`` for a sale (``request.capture``)."""
        key = request.idempotency_key
        self._check_key(key)
        currency = request.currency.upper()
        digest = _digest(key)
        metadata = {
            "commercekit_key": key,
            "commercekit_payment_id": request.payment_id,
            "commercekit_order_id": request.order_id,
            _journal_key(digest): "authorize",
        }
        wire = to_stripe_units(request.amount_units, currency)

        params: PaymentIntentCreateParams = {
            "amount": wire,
            "currency": currency.lower(),
            "payment_method": request.payment_token,
            "allowed_payment_method_types": ["card"],
            "confirm": True,
            "capture_method": "automatic" if request.capture else "manual",
            "description": f"order {request.order_id}",
            "metadata": metadata,
        }
        if not request.capture:
            # Asked for where the card allows them: several captures of one
            # authorization (orders shipped in parts), and authorizing more on it.
            params["payment_method_options"] = {
                "card": {
                    "request_multicapture": "if_available",
                    "request_incremental_authorization": "if_available",
                }
            }
        if self._return_url:
            params["return_url"] = self._return_url

        def create() -> GatewayEvent:
            intent = self._client.v1.payment_intents.create(
                params, {"idempotency_key": key}
            ).to_dict()
            event = self._authorization(intent)
            if event is None:
                raise GatewayError(f"Stripe is still processing the payment: {intent['status']}")
            return event

        def declined(refusal: _Refusal) -> GatewayEvent:
            intent = refusal.payment_intent
            reference = intent.get("id") if isinstance(intent.get("id"), str) else ""
            return self._event(
                f"{reference}:declined" if reference else f"declined:{digest}",
                str(reference),
                TransactionKind.AUTHORIZE,
                TransactionStatus.FAILED,
                request.amount_units,
                currency,
                refusal.reason,
            )

        return self._call(create, declined, key=key)

    def _recorded(self, intent: Mapping[str, Any], key: str, kind: str) -> GatewayEvent | None:
        """The answer to ``key`` if the PaymentIntent records it already (a retry
        after an answer that was lost).

        :raises IdempotencyConflict: if it records the key for another operation.
        """
        digest = _digest(key)
        recorded = _object(intent, "metadata").get(_journal_key(digest))
        if recorded is None:
            return None
        if recorded != kind:
            raise IdempotencyConflict(key)
        found = [e for e in self._journaled(intent, kind) if e.transaction_id.endswith(digest)]
        return found[0] if found else None

    def _operate(
        self,
        kind: TransactionKind,
        reference: str,
        amount_units: int,
        currency: str,
        key: str,
        send: Callable[[dict[str, Any], int, dict[str, str]], None],
    ) -> GatewayEvent:
        """A capture or an increment: recorded on the PaymentIntent with the request
        that makes it, answered from that record when asked again."""
        self._check_key(key)
        currency = currency.upper()
        intent = self._retrieve(reference)

        def run() -> GatewayEvent:
            done = self._recorded(intent, key, kind.value)
            if done is not None and done.amount_units != amount_units:
                raise IdempotencyConflict(key)
            if done is not None:
                return done
            if _text(intent, "currency").upper() != currency:
                return self._event(
                    f"{reference}:{kind.value}:{_digest(key)}:refused",
                    reference,
                    kind,
                    TransactionStatus.FAILED,
                    amount_units,
                    currency,
                    "currency_mismatch",
                )
            wire = to_stripe_units(amount_units, currency)
            digest = _digest(key)
            metadata = {_journal_key(digest): kind.value, _amount_key(digest): str(wire)}
            send(intent, wire, metadata)
            return self._event(
                f"{reference}:{kind.value}:{digest}",
                reference,
                kind,
                TransactionStatus.SUCCEEDED,
                amount_units,
                currency,
            )

        return self._call(
            run,
            lambda refusal: self._refused(kind, reference, key, amount_units, currency, refusal),
            key=key,
        )

    def capture(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Capture part or all of what is authorized; a part leaves the rest
        capturable (multicapture), all that is left closes the authorization."""

        def send(intent: dict[str, Any], wire: int, metadata: dict[str, str]) -> None:
            charge = _object(intent, "latest_charge")
            card = _object(_object(charge, "payment_method_details"), "card")
            multicapture = _object(card, "multicapture").get("status") == "available"
            # Not the last: keep the rest authorized for the captures to come. The last
            # (or a card without multicapture) releases whatever is left.
            final = not multicapture or wire >= _count(intent, "amount_capturable")
            params: PaymentIntentCaptureParams = {"amount_to_capture": wire, "metadata": metadata}
            if not final:
                params["final_capture"] = False
            self._client.v1.payment_intents.capture(
                reference, params, {"idempotency_key": idempotency_key}
            )

        return self._operate(
            TransactionKind.CAPTURE, reference, amount_units, currency, idempotency_key, send
        )

    def increment_authorization(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Authorize ``amount_units`` more on a standing authorization (Stripe takes the
        new total); a card that does not allow it answers a ``FAILED`` event."""

        def send(intent: dict[str, Any], wire: int, metadata: dict[str, str]) -> None:
            self._client.v1.payment_intents.increment_authorization(
                reference,
                {"amount": _count(intent, "amount") + wire, "metadata": metadata},
                {"idempotency_key": idempotency_key},
            )

        return self._operate(
            TransactionKind.INCREMENT, reference, amount_units, currency, idempotency_key, send
        )

    def void(self, reference: str, idempotency_key: str) -> GatewayEvent:
        """Cancel the PaymentIntent: Stripe releases what was not captured. Cancelling
        one already cancelled answers the same release (asking twice is harmless)."""
        self._check_key(idempotency_key)

        def cancel() -> GatewayEvent:
            intent = self._client.v1.payment_intents.cancel(
                reference, {}, {"idempotency_key": idempotency_key}
            ).to_dict()
            return self._voided(intent)

        def refused(refusal: _Refusal) -> GatewayEvent:
            if refusal.unknown_object:
                raise self._unknown(reference)
            intent = self._retrieve(reference)
            if _text(intent, "status") == "canceled" and _was_authorized(intent):
                return self._voided(intent)
            return self._refused(
                TransactionKind.VOID,
                reference,
                idempotency_key,
                0,
                _text(intent, "currency"),
                refusal,
            )

        return self._call(cancel, refused, key=idempotency_key)

    def refund(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Refund part or all of what was captured, with the key recorded on the
        PaymentIntent first (so that :meth:`find` reaches the refund)."""
        self._check_key(idempotency_key)
        currency = currency.upper()
        digest = _digest(idempotency_key)

        def unknown(refusal: _Refusal) -> dict[str, Any]:
            raise self._unknown(reference)

        # Recording first, under a key of its own, changes nothing but metadata: if the
        # refund itself never arrives, find() says so and the core asks again.
        intent = self._call(
            lambda: self._client.v1.payment_intents.update(
                reference,
                {"metadata": {_journal_key(digest): "refund"}},
                {"idempotency_key": f"commercekit-journal-{digest}"},
            ).to_dict(),
            unknown,
            key=idempotency_key,
        )

        def create() -> GatewayEvent:
            if _text(intent, "currency").upper() != currency:
                return self._event(
                    f"{reference}:refund:{digest}:refused",
                    reference,
                    TransactionKind.REFUND,
                    TransactionStatus.FAILED,
                    amount_units,
                    currency,
                    "currency_mismatch",
                )
            refund = self._client.v1.refunds.create(
                {
                    "payment_intent": reference,
                    "amount": to_stripe_units(amount_units, currency),
                    "metadata": {"commercekit_key": idempotency_key},
                },
                {"idempotency_key": idempotency_key},
            ).to_dict()
            return self._refund_event(refund, reference)

        return self._call(
            create,
            lambda refusal: self._refused(
                TransactionKind.REFUND, reference, idempotency_key, amount_units, currency, refusal
            ),
            key=idempotency_key,
        )

    def _refund_event(
        self, refund: Mapping[str, Any], reference: str = "", at: datetime | None = None
    ) -> GatewayEvent:
        currency = _text(refund, "currency")
        status = _text(refund, "status")
        # A card refund Stripe reports pending is on its way back: it counts as given.
        given = status in ("succeeded", "pending")
        intent = refund.get("payment_intent")
        return self._event(
            _text(refund, "id"),
            intent if isinstance(intent, str) else reference,
            TransactionKind.REFUND,
            TransactionStatus.SUCCEEDED if given else TransactionStatus.FAILED,
            from_stripe_units(_count(refund, "amount"), currency),
            currency,
            "" if given else str(refund.get("failure_reason") or status),
            at=at,
        )

    def confirm(self, reference: str, idempotency_key: str) -> GatewayEvent:
        """After the customer's action: confirm the PaymentIntent if it waits for that,
        and answer what it became (authorized, still awaiting the action, declined)."""
        self._check_key(idempotency_key)
        intent = self._retrieve(reference)

        def run() -> GatewayEvent:
            current: Mapping[str, Any] = intent
            if _text(intent, "status") == "requires_confirmation":
                current = self._client.v1.payment_intents.confirm(
                    reference, {}, {"idempotency_key": idempotency_key}
                ).to_dict()
            event = self._authorization(current)
            if event is None:
                raise GatewayError(f"Stripe is still processing the payment: {current['status']}")
            return event

        def declined(refusal: _Refusal) -> GatewayEvent:
            if refusal.unknown_object:
                raise self._unknown(reference)
            return self._event(
                f"{reference}:declined",
                reference,
                TransactionKind.AUTHORIZE,
                TransactionStatus.FAILED,
                from_stripe_units(_count(intent, "amount"), _text(intent, "currency")),
                _text(intent, "currency"),
                refusal.reason,
            )

        return self._call(run, declined, key=idempotency_key)

    # --- find ------------------------------------------------------------------------

    def find(self, idempotency_key: str) -> GatewayEvent | None:
        """What became of an earlier authorization, capture, increment or refund sent
        with this key, or ``None`` if Stripe never carried it out.

        :raises GatewayError: when Stripe cannot be asked.
        """
        self._check_key(idempotency_key)
        digest = _digest(idempotency_key)
        intent = self._searched(digest) or self._listed(digest)
        if intent is None:
            return None
        kind = _object(intent, "metadata").get(_journal_key(digest))
        if kind == "authorize":
            return self._call(lambda: self._authorization(intent))
        if kind in ("capture", "increment"):
            return self._call(lambda: self._recorded(intent, idempotency_key, str(kind)))
        if kind == "refund":
            return self._found_refund(_text(intent, "id"), idempotency_key)
        return None

    def _searched(self, digest: str) -> dict[str, Any] | None:
        name = _journal_key(digest)
        query = " OR ".join(f"metadata['{name}']:'{kind}'" for kind in _JOURNAL_KINDS)
        found = self._call(
            lambda: self._client.v1.payment_intents.search({"query": query, "limit": 10}).to_dict()
        )
        data = found.get("data")
        return next(iter(_intents(data if isinstance(data, list) else [], name)), None)

    def _listed(self, digest: str) -> dict[str, Any] | None:
        """The PaymentIntent recording ``digest`` among those created within the
        lookback window (the list API reads what was just written)."""
        name = _journal_key(digest)
        since = int(self._clock().timestamp()) - self._lookback

        def fetch(after: str | None) -> dict[str, Any]:
            params: PaymentIntentListParams = {"created": {"gte": since}, "limit": _PAGE}
            if after:
                params["starting_after"] = after
            return self._client.v1.payment_intents.list(params).to_dict()

        return next(iter(_intents(self._pages(fetch), name)), None)

    def _found_refund(self, reference: str, key: str) -> GatewayEvent | None:
        def fetch(after: str | None) -> dict[str, Any]:
            params: RefundListParams = {"payment_intent": reference, "limit": _PAGE}
            if after:
                params["starting_after"] = after
            return self._client.v1.refunds.list(params).to_dict()

        for refund in self._pages(fetch):
            if _object(refund, "metadata").get("commercekit_key") == key:
                return self._call(partial(self._refund_event, refund, reference))
        return None

    def _pages(self, fetch: Callable[[str | None], dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """Every object of a list, page after page."""
        after: str | None = None
        while True:
            page = self._call(partial(fetch, after))
            data = page.get("data")
            yield from (
                (item for item in data if isinstance(item, dict)) if isinstance(data, list) else ()
            )
            after = _next_page(page)
            if after is None:
                return

    # --- webhooks --------------------------------------------------------------------

    def parse_webhook(
        self, payload: bytes, signature: str, now: datetime
    ) -> Sequence[GatewayEvent]:
        """Verify the ``Stripe-Signature`` header with the SDK's own check and the
        timestamp against ``now`` (the store's clock), then read the event:
        ``payment_intent.*`` events report what the PaymentIntent shows (see
        :meth:`_facts`), ``charge.refunded`` the charge's refunds, ``refund.*`` and
        ``charge.refund.updated`` their refund; other events report nothing.

        :raises WebhookRejected: for a forged, stale or malformed webhook.
        """
        text = self._verified(payload, signature, now)
        try:
            event = json.loads(text)
            return self._read_event(event)
        except (ValueError, KeyError, TypeError, RecursionError, InvalidInput) as error:
            reason = shown(str(error), quote=False)
            raise WebhookRejected(f"the webhook body is not understood: {reason}") from None

    def _verified(self, payload: bytes, signature: str, now: datetime) -> str:
        import stripe

        if not isinstance(payload, bytes | bytearray | memoryview):
            raise WebhookRejected("the webhook body must be the raw bytes received")
        if not isinstance(signature, str) or not signature:
            raise WebhookRejected("the webhook has no Stripe-Signature header")
        if len(signature) > _MAX_HEADER_LENGTH:
            raise WebhookRejected("the signature header is too long")
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise WebhookRejected("the webhook body is not UTF-8") from None
        stamps = [
            item.strip()[2:] for item in signature.split(",") if item.strip().startswith("t=")
        ]
        if len(stamps) != 1 or not _TIMESTAMP.fullmatch(stamps[0]):
            raise WebhookRejected("the signature header has no valid timestamp")
        matched = False
        for secret in self._secrets:
            try:
                # The SDK checks the signature; its own staleness check reads the wall
                # clock, so the store's clock decides that below.
                stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=None)
            except Exception:  # any failure of the check is a mismatch, never a crash
                continue
            matched = True
        if not matched:
            raise WebhookRejected("the webhook signature does not match")
        if abs(now.timestamp() - int(stamps[0])) > self._tolerance:
            raise WebhookRejected("the webhook is outside the tolerance window (stale or replayed)")
        return text

    def _read_event(self, event: object) -> list[GatewayEvent]:
        if not isinstance(event, Mapping) or event.get("object") != "event":
            raise ValueError("not a Stripe event")
        kind = _text(event, "type")
        created = _count(event, "created")
        at = datetime.fromtimestamp(created, UTC)
        subject = _object(_object(event, "data"), "object")
        if not subject:
            raise ValueError("the event carries no object")
        if kind.startswith("payment_intent."):
            # A PaymentIntent another system made on the same account is none of ours.
            ours = "commercekit_key" in _object(subject, "metadata")
            return self._facts(subject, at) if ours else []
        if kind == "charge.refunded":
            refunds = _object(subject, "refunds").get("data")
            reference = subject.get("payment_intent")
            return [
                self._refund_event(refund, reference if isinstance(reference, str) else "", at)
                for refund in (refunds if isinstance(refunds, list) else [])
                if isinstance(refund, Mapping)
            ]
        if kind in ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated"):
            return [self._refund_event(subject, at=at)]
        return []


def _was_authorized(intent: Mapping[str, Any]) -> bool:
    """Whether a cancelled PaymentIntent had been authorized before (a charge made and
    no payment error since), rather than given up before its payment."""
    return bool(intent.get("latest_charge")) and not intent.get("last_payment_error")


def _next_page(page: Mapping[str, Any]) -> str | None:
    """The id to list on from, when a list answer has more."""
    data = page.get("data")
    if not page.get("has_more") or not isinstance(data, list) or not data:
        return None
    last = data[-1].get("id") if isinstance(data[-1], Mapping) else None
    return last if isinstance(last, str) and last else None


def _intents(data: Iterable[object], name: str) -> Iterator[dict[str, Any]]:
    """The PaymentIntents in ``data`` whose metadata holds ``name``."""
    for item in data:
        if isinstance(item, dict) and name in _object(item, "metadata"):
            yield item


# --- options and registration ----------------------------------------------------------


class StripeGatewayOptions(BaseModel):
    """The ``stripe`` gateway's options (``api_key``, ``webhook_secret`` and
    ``previous_webhook_secrets`` among a store's secrets). An option it does not know
    is refused, naming it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr = Field(default=None, validate_default=True)
    """A secret (``sk_``) or restricted (``rk_``) API key; required."""
    webhook_secret: SecretStr = Field(default=None, validate_default=True)
    """The endpoint's signing secret (``whsec_...``); required."""
    previous_webhook_secrets: tuple[SecretStr, ...] = ()
    """Signing secrets being rolled over: webhooks signed with them are still accepted."""
    api_base: str | None = None
    """Where Stripe's API is (Stripe's own unless given): a local server in tests."""
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    """How long one request may wait for Stripe."""
    max_network_retries: int = Field(default=2, ge=0, le=10)
    """How often the SDK retries a request that failed on the way (under its key)."""
    webhook_tolerance_seconds: int = Field(default=_DEFAULT_TOLERANCE, ge=1, le=_MAX_TOLERANCE)
    """How far a webhook's timestamp may be from the store's clock."""
    find_lookback_seconds: int = Field(default=3600, ge=60, le=_MAX_TOLERANCE)
    """How far back ``find`` lists PaymentIntents that search may not show yet."""
    return_url: str | None = None
    """Where Stripe sends a customer back after authenticating on a bank's page."""

    @field_validator("api_key", mode="before")
    @classmethod
    def _api_key(cls, value: object) -> object:
        if not isinstance(value, str) or not value:
            raise ValueError(
                "the stripe gateway needs a secret API key: give it as secrets.api_key"
            )
        if not value.startswith(("sk_", "rk_")):
            # Never repeated: a key in the wrong place is still a key.
            raise ValueError("expected a secret (sk_...) or restricted (rk_...) API key")
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if not isinstance(value, str) or not value:
            raise ValueError(
                "the stripe gateway needs the endpoint's signing secret: "
                "give it as secrets.webhook_secret"
            )
        return value

    @field_validator("api_base", "return_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s) URL")
        return value


@hookimpl
def register_payment_gateways(register: Register[GatewayFactory]) -> None:
    """Offer the ``stripe`` gateway kind (secrets: ``api_key`` and ``webhook_secret``,
    required, ``previous_webhook_secrets``; options as :class:`StripeGatewayOptions`).
    It is offered whether or not Stripe's SDK is installed, so that a store naming it
    without the ``stripe`` extra is told what to install.

    :raises PluginError: (through the store) without the ``stripe`` extra.
    :raises InvalidPluginOptions: (through the store) naming the configuration field
        that is wrong.
    """

    def build(name: str, options: StripeGatewayOptions) -> StripeGateway:
        return StripeGateway(
            name,
            api_key=options.api_key.get_secret_value(),
            webhook_secret=options.webhook_secret.get_secret_value(),
            previous_webhook_secrets=tuple(
                secret.get_secret_value() for secret in options.previous_webhook_secrets
            ),
            api_base=options.api_base,
            timeout_seconds=options.timeout_seconds,
            max_network_retries=options.max_network_retries,
            webhook_tolerance_seconds=options.webhook_tolerance_seconds,
            find_lookback_seconds=options.find_lookback_seconds,
            return_url=options.return_url,
        )

    register("stripe", build, options=StripeGatewayOptions)
