"""What the test gateway did, per payment, from its own public record: the calls it
received and what it answered each."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.payments import GatewayEvent, TransactionKind, TransactionStatus


@attrs.define
class Account:
    """What the gateway did for one payment, from its own answers."""

    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    voided: bool = False

    @property
    def held(self) -> int:
        """What the gateway still holds: authorized and not captured (unless voided),
        and captured and not refunded."""
        standing = 0 if self.voided else self.authorized - self.captured
        return standing + self.captured - self.refunded

    def take(self, operation: str, event: GatewayEvent) -> None:
        """Book one answer of the gateway's (of ``operation``, the call it answered)."""
        if event.status is not TransactionStatus.SUCCEEDED:
            return
        units = event.amount_units
        if event.kind is TransactionKind.AUTHORIZE:
            self.authorized = units
        elif event.kind is TransactionKind.CAPTURE:
            if operation in ("authorize", "confirm", "complete"):
                self.authorized = units  # a sale: authorized and captured at once
            self.captured += units
        elif event.kind is TransactionKind.VOID:
            self.voided = True
        else:
            self.refunded += units


def gateway_answers(gateway: TestPaymentGateway) -> list[tuple[str, GatewayEvent | None]]:
    """Every distinct call the gateway received (its operation), with what it
    answered (``None`` for a call it never answered), in the order it received them."""
    return [(operation, gateway.find(key)) for operation, key in dict.fromkeys(gateway.calls)]


def gateway_books(
    gateway: TestPaymentGateway, also: Iterable[GatewayEvent] = ()
) -> dict[str, Account]:
    """The test gateway's books per payment reference, rebuilt from its public record:
    every call it received (``calls``), what it answered each (``find``), and facts
    it reported on its own (``also``: actions completed on its page). Each fact
    counts once, by its transaction id.
    """
    answers = gateway_answers(gateway)
    answers.extend(("complete", event) for event in also)
    seen: set[str] = set()
    books: dict[str, Account] = {}
    for operation, event in answers:
        if event is None or event.transaction_id in seen:
            continue
        seen.add(event.transaction_id)
        books.setdefault(event.payment_reference, Account()).take(operation, event)
    return books
