"""What storage looks an aggregate up by, for the aggregates kept as one record each.

Returns, refund ledgers, store-credit accounts, gift cards, invoices and support
cases are each stored whole, as one record, and found through four keys the domain
names (:class:`Index`): what the record belongs to, whose it is, where it stands and
when it wants attention. So a new aggregate of this kind costs its domain module and
nothing in storage: both adapters keep any :class:`Indexed` class.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol

import attrs

from commercekit.domain.events import DomainEvent

__all__ = ["Index", "Indexed"]


@attrs.frozen(kw_only=True)
class Index:
    """The keys a record is found by; an empty key is no key."""

    at: datetime
    """When it began: records read together come oldest first."""
    ref: str = ""
    """What it belongs to (an order's id, a gift card's code digest, a sequence)."""
    owner: str = ""
    """Whose it is (a customer's id)."""
    state: str = ""
    """Where it stands (a status)."""
    due: datetime | None = None
    """When it wants attention (a reply owed by then), if ever."""


class Indexed(Protocol):
    """An aggregate stored as one record: its fields are attrs fields with types
    storage can write (text, numbers, flags, times, enums, tuples, mappings and
    attrs classes of these); a field whose metadata says ``transient`` (its
    ``events``) is not stored."""

    KIND: ClassVar[str]
    """Stored with each record: never change it once data is stored."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def events(self) -> list[DomainEvent]: ...

    def index(self) -> Index:
        """Its keys as they stand now."""
        ...
