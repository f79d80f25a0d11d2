"""Time and identifiers: the two things the core asks for instead of taking."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock", "IdGenerator"]


class Clock(Protocol):
    """Tells the time; tests pass a fixed or stepping clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class IdGenerator(Protocol):
    """Hands out identifiers and unguessable tokens."""

    def new_id(self, kind: str) -> str:
        """A new unique id for an aggregate of ``kind`` (``"order"``, ``"cart"``...)."""
        ...

    def new_token(self) -> str:
        """A new unguessable token, for reaching a cart or an order from outside."""
        ...
