"""The payment gateway port: what the core asks of a payment service provider.

Every call carries an idempotency key, and a gateway must honour it: the same key
again returns the answer of the first call and never moves money twice. Answers are
:class:`~commercekit.domain.payments.GatewayEvent` values, the same type a webhook
yields, so that one function applies a gateway fact whichever path brings it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from commercekit.domain.payments import GatewayEvent

__all__ = [
    "IncrementalAuthorization",
    "PaymentGateway",
    "PaymentRequest",
]


@attrs.frozen(kw_only=True)
class PaymentRequest:
    """What the core asks a gateway to authorize (or capture at once)."""

    payment_id: str
    order_id: str
    amount_units: int
    currency: str
    payment_token: str
    """The gateway's token for the customer's means of payment."""
    idempotency_key: str
    capture: bool = False
    """Capture at once (a sale) instead of authorizing only."""
    email: str = ""


class PaymentGateway(Protocol):
    """A payment service provider, as adapters present it."""

    @property
    def name(self) -> str:
        """The name a store's configuration uses for this gateway."""
        ...

    def authorize(self, request: PaymentRequest) -> GatewayEvent:
        """Authorize (or, with ``request.capture``, capture) the amount.

        A decline is an event with status ``FAILED``; a payment the customer must
        confirm is ``REQUIRES_ACTION``.

        :raises GatewayError: when the outcome is unknown (network, outage).
        """
        ...

    def capture(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Capture part or all of an authorized payment."""
        ...

    def void(self, reference: str, idempotency_key: str) -> GatewayEvent:
        """Release an authorization without taking money."""
        ...

    def refund(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Give back part or all of what was captured."""
        ...

    def confirm(self, reference: str, idempotency_key: str) -> GatewayEvent:
        """Complete a payment after the customer's required action."""
        ...

    def find(self, idempotency_key: str) -> GatewayEvent | None:
        """What became of an earlier call with this key, or ``None`` if the gateway
        never received it. Used to settle orders after a crash."""
        ...

    def parse_webhook(
        self, payload: bytes, signature: str, now: datetime
    ) -> Sequence[GatewayEvent]:
        """Verify and read a webhook.

        :raises WebhookRejected: for a forged, malformed or stale one.
        """
        ...


@runtime_checkable
class IncrementalAuthorization(Protocol):
    """A gateway that can raise a standing authorization: optional, and what lets an
    order edited to cost more be paid without asking the customer again.

    A gateway without it still serves every order; an edit that would need more is
    then refused before anything changes.
    """

    def increment_authorization(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        """Authorize ``amount_units`` more on the payment ``reference``.

        The answer is an ``INCREMENT`` event: ``SUCCEEDED`` with the amount added, or
        ``FAILED`` when the issuer refuses (the authorization stands as it was). The
        same ``idempotency_key`` again returns the first answer.
        """
        ...
