"""What the behaviour logs check alike at their door."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from commercekit.domain._validators import require_aware
from commercekit.domain.errors import InvalidInput
from commercekit.domain.identifiers import check_key
from commercekit.domain.marketing.behaviour import BehaviourEvent

__all__ = ["MAX_BATCH", "MAX_LIMIT", "checked_events", "checked_period"]

#: The most events one call records, and the most one read returns.
MAX_BATCH: Final = 10_000
MAX_LIMIT: Final = 10_000


def checked_events(events: object) -> list[BehaviourEvent]:
    """``events`` as a list of behaviour events.

    :raises InvalidInput: naming ``events``, for anything else, or too many at once.
    """
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise InvalidInput("must be a sequence of BehaviourEvent", field="events")
    if len(events) > MAX_BATCH:
        raise InvalidInput(f"must hold at most {MAX_BATCH:,} events", field="events")
    if not all(isinstance(event, BehaviourEvent) for event in events):
        raise InvalidInput("must be a sequence of BehaviourEvent", field="events")
    return list(events)


def checked_period(
    since: object, until: object, visitor_id: object, limit: object
) -> tuple[datetime, datetime, str | None, int]:
    """A read's arguments, checked.

    :raises InvalidInput: naming the argument that is wrong.
    """
    start = require_aware(since, field="since")
    end = require_aware(until, field="until")
    if end < start:
        raise InvalidInput("must not be before since", field="until")
    who = None if visitor_id is None else check_key(visitor_id, "visitor_id")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"must be a whole number from 1 to {MAX_LIMIT:,}", field="limit")
    return start, end, who, limit
