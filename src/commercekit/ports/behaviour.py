"""The behaviour log port: where what shoppers do is kept, and counted.

A log appends :class:`~commercekit.domain.marketing.behaviour.BehaviourEvent` values
and never changes them. Recording must be cheap (a storefront records an event on
most page views), so a log takes events in batches, checks nothing twice, and needs
no unit of work: an event is a fact the moment it is handed over. An event with an
``id`` is kept once however often it is recorded (an order's event may be delivered
again after a crash).

The log also answers the questions asked of it as one aggregate each, so that a
report never reads the events one by one: :meth:`BehaviourLog.funnel` counts, for
each kind, the distinct visitors who did it in a period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from commercekit.domain.marketing.behaviour import BehaviourEvent, BehaviourKind

__all__ = ["BehaviourLog"]


class BehaviourLog(Protocol):
    """An append-only log of behaviour events."""

    def record(self, events: Sequence[BehaviourEvent]) -> None:
        """Append ``events``; one whose ``id`` the log holds already is skipped.

        :raises InvalidInput: naming ``events``, for anything not a BehaviourEvent.
        :raises StorageUnavailable: when the log cannot be written.
        """
        ...

    def events(
        self,
        *,
        since: datetime,
        until: datetime,
        visitor_id: str | None = None,
        limit: int = 1000,
    ) -> list[BehaviourEvent]:
        """The events from ``since`` (inclusive) to ``until`` (exclusive), oldest
        first (in the order recorded within one instant), of one visitor if named."""
        ...

    def funnel(self, *, since: datetime, until: datetime) -> Mapping[BehaviourKind, int]:
        """For every kind, how many distinct visitors did it from ``since`` to
        ``until`` (events without a visitor count for nobody)."""
        ...
