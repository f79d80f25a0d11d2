"""The system clock and identifier source, and a clock tests can move."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from commercekit.domain.tokens import new_token

__all__ = ["FixedClock", "RandomIds", "SystemClock"]


class SystemClock:
    """The machine's time, in UTC."""

    def now(self) -> datetime:
        """The current time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move; for tests and demos."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock keeps timezone-aware time")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The time it was set to."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += delta


class RandomIds:
    """Random ids (``order_<uuid4 hex>``) and 256-bit tokens."""

    def new_id(self, kind: str) -> str:
        """A new unique id."""
        return f"{kind}_{uuid.uuid4().hex}"

    def new_token(self) -> str:
        """A new unguessable token."""
        return new_token()
