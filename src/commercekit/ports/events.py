"""The event publisher ports: where committed domain events go, in this process and
to a message broker."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from commercekit.domain.events import DomainEvent

__all__ = ["BrokerPublisher", "EventPublisher", "OutboxMessage"]


class EventPublisher(Protocol):
    """Delivers events after the transaction that recorded them has committed.

    A publisher must not raise because one subscriber failed: every subscriber gets
    every event, and the change that produced it stays committed.
    """

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Deliver ``events`` in order."""
        ...


@attrs.frozen(kw_only=True)
class OutboxMessage:
    """One committed outbox event as a broker carries it."""

    id: str
    """Unique to the event and the same every time it is sent again
    (``<stream>:<outbox id>``): what a consumer deduplicates by."""
    name: str
    """The event's stable name (``OrderPlaced``): what consumers route on."""
    body: bytes
    """The event as UTF-8 JSON, its ``name`` included."""
    occurred_at: datetime


class BrokerPublisher(Protocol):
    """Hands outbox messages to a message broker."""

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        """Send ``messages`` in order, returning once the broker has confirmed it
        holds every one of them.

        :raises BrokerUnavailable: when the broker cannot be reached, or did not
            confirm them all; some may have been sent, and all are sent again later.
        """
        ...

    def close(self) -> None:
        """Close the connection to the broker."""
        ...
