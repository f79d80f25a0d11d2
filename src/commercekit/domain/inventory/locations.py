"""Where stock is kept, and what a variant may do when it runs out."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Final

import attrs

from commercekit.domain._validators import text
from commercekit.domain.errors import InvalidInput

__all__ = [
    "UNLIMITED",
    "StockLocation",
    "StockPolicy",
    "StockRule",
    "check_count",
]

#: The largest quantity commercekit moves or holds at once, and the depth of an
#: "unlimited" backorder: no shelf holds a billion of anything.
UNLIMITED: Final = 10**9


def check_count(value: object, field: str, *, minimum: int = 0) -> int:
    """``value`` if it is a whole number from ``minimum`` to :data:`UNLIMITED`.

    :raises InvalidInput: naming ``field`` otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= UNLIMITED:
        raise InvalidInput(f"must be a whole number from {minimum} to {UNLIMITED}", field=field)
    return value


def _priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 1_000_000:
        raise InvalidInput("must be a whole number from -1,000,000 to 1,000,000", field="priority")
    return value


def _countries(value: Iterable[str] | None) -> frozenset[str]:
    if isinstance(value, str):
        value = (value,)
    return frozenset(code.strip().upper() for code in value or ())


@attrs.frozen(kw_only=True)
class StockLocation:
    """A place stock is kept and shipped from."""

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(64))
    kind: str = "warehouse"
    """``warehouse``, ``shop`` or ``dropshipper``: informative."""
    priority: int = attrs.field(default=0, converter=_priority)
    """Lower ships first."""
    ships_to: frozenset[str] = attrs.field(factory=frozenset, converter=_countries)
    """ISO country codes served; empty serves everywhere."""

    def serves(self, country: str | None) -> bool:
        """Whether this location ships to ``country`` (any, when unknown)."""
        return not self.ships_to or country is None or country.upper() in self.ships_to


class StockPolicy(enum.Enum):
    """What happens when a variant runs out."""

    DENY = "deny"
    BACKORDER = "backorder"
    PREORDER = "preorder"


@attrs.frozen(kw_only=True)
class StockRule:
    """A variant's stock policy. Variants without a rule deny when out."""

    sku: str
    policy: StockPolicy = attrs.field(default=StockPolicy.DENY, converter=StockPolicy)
    backorder_limit: int | None = attrs.field(default=None)
    """How far below zero available may go; ``None`` is without limit."""

    @backorder_limit.validator
    def _limit(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None:
            check_count(value, "backorder_limit")

    preorder_until: datetime | None = None
    """Pre-orders are taken until then; after it, the variant denies when out."""

    def floor(self, now: datetime) -> int:
        """The lowest available stock may go to (0, or minus what may be owed)."""
        if self.policy is StockPolicy.BACKORDER:
            return -(UNLIMITED if self.backorder_limit is None else self.backorder_limit)
        if self.policy is StockPolicy.PREORDER and (
            self.preorder_until is None or now < self.preorder_until
        ):
            return -UNLIMITED
        return 0
