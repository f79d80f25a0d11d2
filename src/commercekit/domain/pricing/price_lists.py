"""Price lists: what a SKU costs in a currency, for a channel or a customer group.

Prices are kept in whole minor units as :class:`PriceEntry` values; where a list
price, a volume tier and a sale all apply, the customer pays the lowest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Final

import attrs
import moneyed

from commercekit.domain._validators import aware_or_none, instance_of, require_instance
from commercekit.domain.errors import CurrencyMismatch, InvalidInput, NotFound, shown
from commercekit.domain.identifiers import check_text
from commercekit.domain.money import Money, currency_precision, minor_units, normalize_currency
from commercekit.domain.promotions import normalize_customer_groups
from commercekit.domain.window import Window

__all__ = [
    "PriceBook",
    "PriceEntry",
    "PriceList",
    "SalePrice",
    "VolumeTier",
]


_MONEY: Final = instance_of(moneyed.Money, "Money")


def _positive_units(value: moneyed.Money, currency: str, field: str) -> int:
    require_instance(value, moneyed.Money, "Money", field=field)
    if str(value.currency.code) != currency:
        raise CurrencyMismatch(currency, str(value.currency.code), field=field)
    if value.amount < 0:
        raise InvalidInput("a price cannot be negative", field=field)
    return minor_units(value, field=field)


@attrs.frozen(kw_only=True)
class VolumeTier:
    """From ``min_quantity`` units on a line, each unit costs ``unit_price``."""

    min_quantity: int
    unit_price: moneyed.Money = attrs.field(validator=_MONEY)


@attrs.frozen(kw_only=True)
class SalePrice:
    """A temporary unit price, in force from ``starts_at`` until (not at) ``ends_at``."""

    unit_price: moneyed.Money = attrs.field(validator=_MONEY)
    starts_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    ends_at: datetime | None = attrs.field(default=None, validator=aware_or_none)

    @property
    def window(self) -> Window:
        """When the sale price is in force."""
        return Window(starts_at=self.starts_at, ends_at=self.ends_at)

    def __attrs_post_init__(self) -> None:
        _ = self.window  # refuses an end that is not later than the start


def _parse_sale(entry: PriceEntry) -> tuple[int, Window] | None:
    """A stored sale's unit and the window it is in force in."""
    if entry.sale is None:
        return None
    unit, starts_at, ends_at = entry.sale
    return unit, Window(starts_at=starts_at, ends_at=ends_at)


@attrs.frozen
class PriceEntry:
    """A SKU's price in a list, in minor units, as stored."""

    unit: int
    tiers: tuple[tuple[int, int], ...]
    """``(min quantity, unit)``, highest quantity first."""
    sale: tuple[int, datetime | None, datetime | None] | None
    """``(unit, starts at, ends at)``."""
    # Worked out once here rather than for every line in unit_for. A field, not a
    # cached_property: for one of those attrs gives a slotted class a __getattr__,
    # which makes every attribute read on it slower, unit and tiers included.
    _sale_in_force: tuple[int, Window] | None = attrs.field(
        init=False, eq=False, repr=False, default=attrs.Factory(_parse_sale, takes_self=True)
    )

    def unit_for(self, quantity: int, now: datetime) -> int:
        """The unit price in minor units for ``quantity`` units at ``now``: the lowest
        of the list price, the volume tier reached, and a sale in force."""
        unit = self.unit
        if not self.tiers and self.sale is None:
            return unit
        for min_quantity, tier_unit in self.tiers:
            if quantity >= min_quantity:
                unit = min(unit, tier_unit)
                break
        sale = self._sale_in_force
        if sale is not None and sale[1].contains(now):
            unit = min(unit, sale[0])
        return unit


class PriceList:
    """Unit prices of SKUs in one currency, optionally for one channel or customer group.

    Where several prices apply (the list price, a volume tier, a sale), the customer
    pays the lowest.
    """

    def __init__(
        self,
        id: str,
        currency: str,
        *,
        channel: str | None = None,
        customer_group: str | None = None,
    ) -> None:
        self.id = check_text(id, "id", max_length=64)
        self.currency = normalize_currency(currency)
        self.channel = None if channel is None else check_text(channel, "channel", max_length=64)
        self.customer_group = (
            None
            if customer_group is None
            else check_text(customer_group, "customer_group", max_length=64)
        )
        self._entries: dict[str, PriceEntry] = {}

    def set_price(
        self,
        sku: str,
        unit_price: moneyed.Money,
        *,
        tiers: Iterable[VolumeTier] = (),
        sale: SalePrice | None = None,
    ) -> None:
        """Set the price of ``sku`` (replacing any earlier one).

        :raises CurrencyMismatch: for a price in another currency than the list's.
        :raises InvalidInput: for a negative price, one finer than the minor unit, or a
            tier below 2 units.
        """
        unit = _positive_units(unit_price, self.currency, "unit_price")
        parsed_tiers: list[tuple[int, int]] = []
        for tier in tiers:
            require_instance(tier, VolumeTier, "a VolumeTier", field="tiers")
            if (
                isinstance(tier.min_quantity, bool)
                or not isinstance(tier.min_quantity, int)
                or tier.min_quantity < 2
            ):
                raise InvalidInput(
                    "a volume tier starts at 2 units or more", field="tiers.min_quantity"
                )
            parsed_tiers.append(
                (
                    tier.min_quantity,
                    _positive_units(tier.unit_price, self.currency, "tiers.unit_price"),
                )
            )
        parsed_sale = None
        if sale is not None:
            require_instance(sale, SalePrice, "a SalePrice", field="sale")
            parsed_sale = (
                _positive_units(sale.unit_price, self.currency, "sale.unit_price"),
                sale.starts_at,
                sale.ends_at,
            )
        parsed_tiers.sort(reverse=True)
        self._entries[sku] = PriceEntry(unit, tuple(parsed_tiers), parsed_sale)

    def unit_units(self, sku: str, quantity: int, now: datetime) -> int | None:
        """The unit price in minor units for ``quantity`` units at ``now``, if listed."""
        entry = self._entries.get(sku)
        return None if entry is None else entry.unit_for(quantity, now)

    def unit_price(self, sku: str, quantity: int, now: datetime) -> Money | None:
        """The unit price for ``quantity`` units at ``now``, or ``None`` if not listed."""
        units = self.unit_units(sku, quantity, now)
        return (
            None
            if units is None
            else Money._exact(
                Decimal(units).scaleb(-currency_precision(self.currency)), self.currency
            )
        )

    def remove_price(self, sku: str) -> None:
        """Take a SKU's price out of the list (it is no longer sold in it).

        :raises NotFound: naming ``sku``, for a SKU the list has no price for.
        """
        if sku not in self._entries:
            raise NotFound("price", sku, field="sku")
        del self._entries[sku]

    def __contains__(self, sku: object) -> bool:
        return sku in self._entries

    def entries(self) -> dict[str, PriceEntry]:
        """Every price in the list, by SKU (a copy)."""
        return dict(self._entries)

    def load(self, sku: str, entry: PriceEntry) -> None:
        """Put a stored entry back (for storage adapters; it was checked when set)."""
        self._entries[sku] = entry


class PriceBook:
    """All price lists; picks the most specific one that prices a SKU.

    For a cart in a currency, the lists for one of the customer's groups and the
    channel come first (in the customer's order of groups), then those for one of
    the groups alone (in the same order), then the list for the channel alone, then
    the general list.
    """

    def __init__(self, lists: Iterable[PriceList] = ()) -> None:
        self._lists: list[PriceList] = []
        self._chains: dict[tuple[str, str | None, tuple[str, ...]], list[PriceList]] = {}
        for price_list in lists:
            self.add(price_list)

    def add(self, price_list: PriceList) -> None:
        """Add a price list."""
        if any(existing.id == price_list.id for existing in self._lists):
            raise InvalidInput(f"price list {shown(price_list.id)} already exists", field="id")
        self._lists.append(price_list)
        self._chains.clear()

    def chain(
        self,
        currency: str,
        channel: str | None,
        customer_groups: Iterable[str] | str | None = (),
    ) -> list[PriceList]:
        """The lists that apply to a cart, most specific first.

        :param customer_groups: the customer's groups in their order of preference (a
            single string is one group).
        :raises InvalidInput: naming ``customer_groups``, for a set of groups (it has
            no order) or anything but strings.
        """
        # Pricing hands in the tuple its context already checked: look that up as it
        # is, and check the groups only to build a chain.
        if not isinstance(customer_groups, tuple):
            customer_groups = normalize_customer_groups(customer_groups)
        key = (currency, channel, customer_groups)
        chain = self._chains.get(key)
        if chain is None:
            groups = normalize_customer_groups(customer_groups)
            rank: dict[str | None, int] = {group: n for n, group in enumerate(groups)}
            usable = [
                pl
                for pl in self._lists
                if pl.currency == currency
                and pl.channel in (None, channel)
                and (pl.customer_group is None or pl.customer_group in rank)
            ]
            # A stable sort: lists that tie (same group and channel) keep the order added.
            usable.sort(
                key=lambda pl: (
                    pl.customer_group is None,
                    pl.channel is None,
                    rank.get(pl.customer_group, 0),
                )
            )
            chain = self._chains[key] = usable
        return chain
