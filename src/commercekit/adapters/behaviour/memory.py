"""A behaviour log in this process's memory: a list, for ``memory://`` stores and
tests. It answers as the SQL log does (tests/integration/test_behaviour_log.py)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import final

from commercekit.adapters.behaviour._shared import checked_events, checked_period
from commercekit.domain.marketing.behaviour import BehaviourEvent, BehaviourKind

__all__ = ["MemoryBehaviourLog"]


@final
class MemoryBehaviourLog:
    """Events in a list, in the order recorded. Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[BehaviourEvent] = []
        self._ids: set[str] = set()

    def record(self, events: Sequence[BehaviourEvent]) -> None:
        checked = checked_events(events)
        with self._lock:
            for event in checked:
                if event.id:
                    if event.id in self._ids:
                        continue
                    self._ids.add(event.id)
                self._events.append(event)

    def events(
        self,
        *,
        since: datetime,
        until: datetime,
        visitor_id: str | None = None,
        limit: int = 1000,
    ) -> list[BehaviourEvent]:
        since, until, visitor_id, limit = checked_period(since, until, visitor_id, limit)
        with self._lock:
            found = [
                event
                for event in self._events
                if since <= event.at < until
                and (visitor_id is None or event.visitor_id == visitor_id)
            ]
        # A stable sort: events of one instant stay in the order recorded.
        return sorted(found, key=lambda event: event.at)[:limit]

    def funnel(self, *, since: datetime, until: datetime) -> Mapping[BehaviourKind, int]:
        since, until, _, _ = checked_period(since, until, None, 1)
        visitors: dict[BehaviourKind, set[str]] = {kind: set() for kind in BehaviourKind}
        with self._lock:
            for event in self._events:
                if since <= event.at < until and event.visitor_id:
                    visitors[event.kind].add(event.visitor_id)
        return {kind: len(found) for kind, found in visitors.items()}
