"""Gapless numbers: an invoice's, a credit note's, an order's, per channel.

A number is taken in the unit of work that writes the document it numbers. The
sequence is one record, version-checked: of two documents taking the next number at
once one commits and the other tries again with the number after, and a unit of work
that fails takes nothing. So the numbers a store hands out run without gaps and never
twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Final

import attrs

from commercekit.domain.errors import InvalidInput
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index

__all__ = ["NumberSequence"]

#: Beyond any number a store reaches; keeps numbers within 64 bits everywhere.
_MOST: Final = 10**15


@attrs.define(kw_only=True, eq=False)
class NumberSequence:
    """The next number of one series (``name``) in one scope (a channel)."""

    KIND: ClassVar[str] = "sequence"

    id: str
    name: str
    scope: str
    next_number: int = 1
    started_at: datetime
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(name: str, scope: str) -> str:
        """The id of the series ``name`` in ``scope``."""
        return f"sequence:{name}:{scope}"

    @classmethod
    def start(cls, name: str, scope: str, *, at: datetime, first: int = 1) -> NumberSequence:
        """A new series whose first number is ``first``."""
        if isinstance(first, bool) or not isinstance(first, int) or not 1 <= first < _MOST:
            raise InvalidInput(f"must be a whole number from 1 to {_MOST - 1}", field="first")
        return cls(
            id=cls.key(name, scope), name=name, scope=scope, next_number=first, started_at=at
        )

    def take(self) -> int:
        """The next number, now taken."""
        number = self.next_number
        self.next_number += 1
        self.version += 1
        return number

    def index(self) -> Index:
        return Index(at=self.started_at, ref=self.name, owner=self.scope)
