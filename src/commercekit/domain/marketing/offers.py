"""What a variant is offered at, as a search engine or a shopping feed is told: its
price in one currency, the sale that lowers it and when, and whether it can be
bought now (in stock, on backorder, on pre-order, or not at all).

Both the shopping feed and a product page's structured data are built from
:class:`Offer` values, so that the two never tell a shopper different things.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Final

import attrs

from commercekit.domain._validators import aware_or_none, whole_number
from commercekit.domain.inventory import StockPolicy, StockRule
from commercekit.domain.money import currency_precision, normalize_currency
from commercekit.domain.pricing import PriceEntry
from commercekit.domain.window import Window

__all__ = ["Availability", "Offer", "amount_text", "availability", "bundle_availability"]

_UNITS: Final = whole_number(0, 10**15)


class Availability(enum.Enum):
    """Whether a variant can be bought now; the values are the shopping feed's."""

    IN_STOCK = "in_stock"
    BACKORDER = "backorder"
    PREORDER = "preorder"
    OUT_OF_STOCK = "out_of_stock"

    @property
    def schema_org(self) -> str:
        """The schema.org ``ItemAvailability`` URL that says the same."""
        return _SCHEMA_ORG[self]


_SCHEMA_ORG: Final = {
    Availability.IN_STOCK: "https://schema.org/InStock",
    Availability.BACKORDER: "https://schema.org/BackOrder",
    Availability.PREORDER: "https://schema.org/PreOrder",
    Availability.OUT_OF_STOCK: "https://schema.org/OutOfStock",
}
#: From the best to the worst, for a bundle that is as available as its least
#: available part.
_RANK: Final = {
    Availability.IN_STOCK: 0,
    Availability.BACKORDER: 1,
    Availability.PREORDER: 2,
    Availability.OUT_OF_STOCK: 3,
}


def availability(
    *,
    tracked: bool,
    available: int,
    rule: StockRule | None,
    now: datetime,
    needed: int = 1,
) -> Availability:
    """Whether ``needed`` units can be bought at ``now``: in stock when that many are
    available (or stock is not kept), else on backorder or pre-order while the
    variant's stock rule lets available stock go below zero that far (the rule
    reservations follow), else out of stock.

    :param available: what the variant's stock items hold beyond their holds, all
        locations together.
    """
    if not tracked or available >= needed:
        return Availability.IN_STOCK
    floor = 0 if rule is None else rule.floor(now)
    if available - needed < floor:
        return Availability.OUT_OF_STOCK
    assert rule is not None  # a floor below zero comes from a rule
    return Availability.BACKORDER if rule.policy is StockPolicy.BACKORDER else Availability.PREORDER


def bundle_availability(parts: Iterable[Availability]) -> Availability:
    """A bundle is as available as its least available part."""
    return max(parts, key=_RANK.__getitem__, default=Availability.IN_STOCK)


def amount_text(units: int, currency: str) -> str:
    """An amount as a feed and structured data write it: digits with the currency's
    own decimals (``12.30`` for EUR, ``1200`` for JPY), no thousands separator."""
    return format(Decimal(units).scaleb(-currency_precision(currency)), "f")


def _currency(value: str) -> str:
    return normalize_currency(value)


@attrs.frozen(kw_only=True)
class Offer:
    """One variant offered in one currency."""

    sku: str
    currency: str = attrs.field(converter=_currency)
    regular_units: int = attrs.field(validator=_UNITS)
    """The list price, in minor units."""
    availability: Availability
    sale_units: int | None = attrs.field(default=None, validator=attrs.validators.optional(_UNITS))
    """A sale's price, in minor units, in force from ``sale_starts_at`` until (not at)
    ``sale_ends_at``; ``None``: no sale."""
    sale_starts_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    sale_ends_at: datetime | None = attrs.field(default=None, validator=aware_or_none)

    def __attrs_post_init__(self) -> None:
        Window.between(
            self.sale_starts_at, self.sale_ends_at, fields=("sale_starts_at", "sale_ends_at")
        )

    @classmethod
    def from_entry(
        cls, sku: str, currency: str, entry: PriceEntry, availability: Availability
    ) -> Offer:
        """The offer of a stored price (its list price and sale; volume tiers are for
        carts that reach them, not for an advertised price)."""
        sale_units, starts_at, ends_at = entry.sale or (None, None, None)
        return cls(
            sku=sku,
            currency=currency,
            regular_units=entry.unit,
            availability=availability,
            sale_units=sale_units,
            sale_starts_at=starts_at,
            sale_ends_at=ends_at,
        )

    @property
    def _window(self) -> Window:
        return Window(starts_at=self.sale_starts_at, ends_at=self.sale_ends_at)

    def has_sale(self) -> bool:
        """Whether it has a sale that is cheaper than its list price."""
        return self.sale_units is not None and self.sale_units < self.regular_units

    def sale_in_force(self, now: datetime) -> bool:
        """Whether its sale lowers the price at ``now``."""
        return self.has_sale() and self._window.contains(now)

    def sale_ahead(self, now: datetime) -> bool:
        """Whether its sale starts after ``now``."""
        return self.has_sale() and self.sale_starts_at is not None and now < self.sale_starts_at

    def price_units(self, now: datetime) -> int:
        """What one unit costs at ``now``: the sale's price while it is in force."""
        if self.sale_units is not None and self.sale_in_force(now):
            return self.sale_units
        return self.regular_units
