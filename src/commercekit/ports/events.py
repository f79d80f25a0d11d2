"""The event publisher port: where committed domain events go."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from commercekit.domain.events import DomainEvent

__all__ = ["EventPublisher"]


class EventPublisher(Protocol):
    """Delivers events after the transaction that recorded them has committed.

    A publisher must not raise because one subscriber failed: every subscriber gets
    every event, and the change that produced it stays committed.
    """

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Deliver ``events`` in order."""
        ...
