"""Price lists, taxes, and the price breakdown of a cart.

All arithmetic runs on whole minor units and exact integer fractions of them, so every
figure in a :class:`PriceBreakdown` is exact to the minor unit and its identities hold
by construction:

- each line: ``subtotal - discount`` is what the customer pays for it, and
  ``net + tax == total``;
- the cart: lines and shipping add up to the totals, and
  ``net_total + tax_total == grand_total``.

With tax-exclusive prices tax is added on top (``total = subtotal - discount + tax``);
with tax-inclusive prices the gross price stays as listed and tax is the part of it
the zone's rate says (``total = subtotal - discount``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any, Final, NamedTuple, Protocol

import attrs
import moneyed

from commercekit.domain.cart import QUANTITY_CEILING
from commercekit.domain.catalog import Catalog, aware_or_none, require_aware
from commercekit.domain.errors import (
    CurrencyMismatch,
    InvalidInput,
    InvalidQuantity,
    NotFound,
)
from commercekit.domain.money import (
    DEFAULT_ROUNDING,
    Money,
    Rounding,
    currency_precision,
    divide_rounded,
    minor_units,
    normalize_currency,
    round_table,
    round_to_total,
    to_decimal,
)
from commercekit.domain.promotions import (
    CouponUsage,
    Promotion,
    PromotionContext,
    PromotionEngine,
    WorkLine,
    normalize_coupon_code,
    normalize_coupon_usage,
)

__all__ = [
    "Adjustment",
    "LineBreakdown",
    "MissingPrice",
    "PriceBook",
    "PriceBreakdown",
    "PriceEntry",
    "PriceList",
    "PricingContext",
    "PricingEngine",
    "SalePrice",
    "TaxAddress",
    "TaxLine",
    "TaxRate",
    "TaxRounding",
    "TaxSettings",
    "TaxTable",
    "TaxZone",
    "Unavailable",
    "VolumeTier",
]

_COUNTRY: Final = re.compile(r"[A-Z]{2}")


class MissingPrice(NotFound):
    """No price list in the cart's currency (and channel) prices this SKU."""

    code = "missing_price"

    def __init__(self, sku: str, currency: str) -> None:
        super().__init__(f"price in {currency} for SKU", sku, field="sku")
        self.sku = sku
        self.currency = currency


class Unavailable(InvalidInput):
    """A product that is not on sale now (draft, archived, or outside its window)."""

    code = "unavailable"

    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {sku!r} is not available for sale", field="sku")
        self.sku = sku


# --- price lists -------------------------------------------------------------------


def _money_or_none(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, moneyed.Money):
        raise InvalidInput(f"expected Money, got {type(value).__name__}", field=attribute.name)


def _money_field(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, moneyed.Money):
        raise InvalidInput(f"expected Money, got {type(value).__name__}", field=attribute.name)


def _positive_units(value: moneyed.Money, currency: str, field: str) -> int:
    if not isinstance(value, moneyed.Money):
        raise InvalidInput(f"expected Money, got {type(value).__name__}", field=field)
    if str(value.currency.code) != currency:
        raise CurrencyMismatch(currency, str(value.currency.code), field=field)
    if value.amount < 0:
        raise InvalidInput("a price cannot be negative", field=field)
    return minor_units(value, field=field)


@attrs.frozen(kw_only=True)
class VolumeTier:
    """From ``min_quantity`` units on a line, each unit costs ``unit_price``."""

    min_quantity: int
    unit_price: moneyed.Money = attrs.field(validator=_money_field)


@attrs.frozen(kw_only=True)
class SalePrice:
    """A temporary unit price, in force from ``starts_at`` until (not at) ``ends_at``."""

    unit_price: moneyed.Money = attrs.field(validator=_money_field)
    starts_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    ends_at: datetime | None = attrs.field(default=None, validator=aware_or_none)

    def __attrs_post_init__(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise InvalidInput("must be later than starts_at", field="ends_at")


@attrs.frozen
class PriceEntry:
    """A SKU's price in a list, in minor units, as stored."""

    unit: int
    tiers: tuple[tuple[int, int], ...]
    """``(min quantity, unit)``, highest quantity first."""
    sale: tuple[int, datetime | None, datetime | None] | None
    """``(unit, starts at, ends at)``."""

    def unit_for(self, quantity: int, now: datetime) -> int:
        unit = self.unit
        if not self.tiers and self.sale is None:
            return unit
        for min_quantity, tier_unit in self.tiers:
            if quantity >= min_quantity:
                unit = min(unit, tier_unit)
                break
        if self.sale is not None:
            sale_unit, starts_at, ends_at = self.sale
            if (starts_at is None or now >= starts_at) and (ends_at is None or now < ends_at):
                unit = min(unit, sale_unit)
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
        self.id = id
        self.currency = normalize_currency(currency)
        self.channel = channel
        self.customer_group = customer_group
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
            if not isinstance(tier, VolumeTier):
                raise InvalidInput("expected VolumeTier", field="tiers")
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
            if not isinstance(sale, SalePrice):
                raise InvalidInput("expected a SalePrice", field="sale")
            if sale.starts_at and sale.ends_at and sale.ends_at <= sale.starts_at:
                raise InvalidInput("must be later than starts_at", field="sale.ends_at")
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

    For a cart in a currency, a list for the customer's group and channel comes before
    one for the group alone, then the channel alone, then the general list.
    """

    def __init__(self, lists: Iterable[PriceList] = ()) -> None:
        self._lists: list[PriceList] = []
        self._chains: dict[tuple[str, str | None, str | None], list[PriceList]] = {}
        for price_list in lists:
            self.add(price_list)

    def add(self, price_list: PriceList) -> None:
        """Add a price list."""
        if any(existing.id == price_list.id for existing in self._lists):
            raise InvalidInput(f"price list {price_list.id!r} already exists", field="id")
        self._lists.append(price_list)
        self._chains.clear()

    def chain(
        self, currency: str, channel: str | None, customer_group: str | None
    ) -> list[PriceList]:
        """The lists that apply to a cart, most specific first."""
        key = (currency, channel, customer_group)
        chain = self._chains.get(key)
        if chain is None:
            usable = [
                pl
                for pl in self._lists
                if pl.currency == currency
                and pl.channel in (None, channel)
                and pl.customer_group in (None, customer_group)
            ]
            usable.sort(key=lambda pl: (pl.customer_group is None, pl.channel is None))
            chain = self._chains[key] = usable
        return chain


# --- tax ---------------------------------------------------------------------------


class TaxRounding(enum.Enum):
    """Where tax is rounded; jurisdictions differ.

    ``PER_LINE`` rounds each line's tax (what most EU VAT invoices show);
    ``PER_TOTAL`` rounds the tax of the whole cart once per rate and spreads it back
    over the lines, so that the total is the exact rate of the taxable amount.
    """

    PER_LINE = "per_line"
    PER_TOTAL = "per_total"


def _rate(value: object) -> Decimal:
    number = to_decimal(value, field="rate")
    if not 0 <= number <= 1:
        raise InvalidInput("a tax rate is a fraction from 0 to 1 (0.19 for 19%)", field="rate")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        # Only a zero in [0, 1] has a positive exponent ("0E+3"); scaling rates to
        # integers needs places >= 0, or 10 ** places would be a float.
        return Decimal(0)
    return number


@attrs.frozen(kw_only=True, cache_hash=True)
class TaxRate:
    """One tax on one category of goods in a zone: ``rate`` 0.19 is 19%.

    A zone may charge several (a state and a county rate); each is computed on the
    same taxable amount.
    """

    name: str
    rate: Decimal = attrs.field(converter=_rate)
    category: str = "standard"


def _country(value: object) -> str:
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value.strip().upper()):
        raise InvalidInput("expected an ISO 3166 alpha-2 country code", field="country")
    return value.strip().upper()


def _optional_upper(value: object, field: str) -> str | None:
    if value is None:
        return None
    # Postal codes and region codes are often numbers in the caller's data (10115,
    # 75); they mean the same as their digits.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"expected a string, got {type(value).__name__}", field=field)
    return value.strip().upper().replace(" ", "")


# attrs (and mypy's attrs plugin) want a named converter per field.
def _region(value: object) -> str | None:
    return _optional_upper(value, "region")


def _postal_code(value: object) -> str | None:
    return _optional_upper(value, "postal_code")


def _postal_prefix(value: object) -> str | None:
    return _optional_upper(value, "postal_prefix")


@attrs.frozen(kw_only=True, cache_hash=True)
class TaxAddress:
    """The part of an address that decides tax.

    ``region`` and ``postal_code`` may be given as whole numbers; they are kept as
    their digits.
    """

    country: str = attrs.field(converter=_country)
    region: str | None = attrs.field(default=None, converter=_region)
    postal_code: str | None = attrs.field(default=None, converter=_postal_code)


def _zone_id(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a non-empty string", field=attribute.name)


def _rates(value: Iterable[TaxRate]) -> tuple[TaxRate, ...]:
    if isinstance(value, str):
        raise InvalidInput("expected TaxRate values", field="rates")
    rates = tuple(value)
    if not all(isinstance(rate, TaxRate) for rate in rates):
        raise InvalidInput("expected TaxRate values", field="rates")
    return rates


@attrs.frozen(kw_only=True)
class TaxZone:
    """Where a set of rates applies: a country, optionally narrowed to a region and a
    postal code prefix. The most specific zone matching an address wins."""

    id: str = attrs.field(validator=_zone_id)
    country: str = attrs.field(converter=_country)
    region: str | None = attrs.field(default=None, converter=_region)
    postal_prefix: str | None = attrs.field(default=None, converter=_postal_prefix)
    rates: tuple[TaxRate, ...] = attrs.field(default=(), converter=_rates)

    def specificity(self, address: TaxAddress) -> int | None:
        """How closely this zone fits ``address``: higher is closer; ``None``: not at all."""
        if address.country != self.country:
            return None
        score = 0
        if self.region is not None:
            if address.region != self.region:
                return None
            score += 1
        if self.postal_prefix is not None:
            if not (address.postal_code or "").startswith(self.postal_prefix):
                return None
            score += 1 + len(self.postal_prefix)
        return score


class TaxTable:
    """Tax zones and their rates. An address no zone matches pays no tax.

    :raises InvalidInput: naming ``id``, for two zones with the same id (storage
        keys zones by id, so one would silently stand for the other).
    """

    def __init__(self, zones: Iterable[TaxZone] = ()) -> None:
        self._zones = list(zones)
        seen: set[str] = set()
        for zone in self._zones:
            if not isinstance(zone, TaxZone):
                raise InvalidInput("expected TaxZone values", field="zones")
            if zone.id in seen:
                raise InvalidInput(f"tax zone {zone.id!r} is given twice", field="id")
            seen.add(zone.id)
        # Caches hold positions in ``_zones``, never zone ids, so that they can only
        # ever describe the zone that was matched.
        self._by_zone: dict[int, dict[str, tuple[TaxRate, ...]]] = {}
        self._zone_of: dict[TaxAddress, int | None] = {}

    def _position(self, address: TaxAddress) -> int | None:
        best: tuple[int, int] | None = None
        for position, zone in enumerate(self._zones):
            score = zone.specificity(address)
            if score is not None and (best is None or score > best[0]):
                best = (score, position)
        return None if best is None else best[1]

    def rates_by_category(self, address: TaxAddress | None) -> Callable[[str], tuple[TaxRate, ...]]:
        """A lookup from tax category to the rates charged at ``address``.

        Pricing asks once per cart, then once per line without hashing the address.
        """
        if address is None:
            return lambda category: ()
        if address in self._zone_of:
            position = self._zone_of[address]
        else:
            if len(self._zone_of) >= 10_000:  # bounded: addresses are many
                self._zone_of.clear()
            position = self._zone_of[address] = self._position(address)
        if position is None:
            return lambda category: ()
        by_category = self._by_zone.get(position)
        if by_category is None:
            grouped: dict[str, list[TaxRate]] = {}
            for rate in self._zones[position].rates:
                grouped.setdefault(rate.category, []).append(rate)
            by_category = self._by_zone[position] = {c: tuple(r) for c, r in grouped.items()}
        found = by_category
        return lambda category: found.get(category, ())


@attrs.frozen(kw_only=True)
class TaxSettings:
    """How a store charges tax."""

    prices_include_tax: bool = False
    """Whether listed prices already contain tax (as EU shops show them)."""
    rounding: TaxRounding = TaxRounding.PER_LINE
    rounding_mode: Rounding = DEFAULT_ROUNDING
    shipping_tax_category: str | None = None
    """Tax category charged on shipping; ``None`` leaves shipping untaxed."""
    default_address: TaxAddress | None = None
    """Where tax is reckoned while the cart has no shipping address yet."""


# --- the breakdown -----------------------------------------------------------------
#
# Figures are kept as whole minor units (``*_units``) and handed out as ``Money`` on
# access: the units are the exact truth, and a breakdown of a thousand lines is built
# without building thousands of ``Money`` objects nobody may read.


@cache
def _places(currency: str) -> int:
    return -currency_precision(currency)


def _money(units: int, currency: str) -> Money:
    return Money._exact(Decimal(units).scaleb(_places(currency)), currency)


@attrs.frozen
class Adjustment:
    """A discount a promotion gave, and why."""

    promotion_id: str
    promotion_name: str
    reason: str
    units: int
    """The discount in minor units, as a positive number."""
    currency: str

    @property
    def amount(self) -> Money:
        """The discount, as a positive amount."""
        return _money(self.units, self.currency)


@attrs.frozen
class TaxLine:
    """One tax charged: its name, its rate and the amount."""

    name: str
    rate: Decimal
    units: int
    currency: str

    @property
    def amount(self) -> Money:
        """The tax charged."""
        return _money(self.units, self.currency)


_Applied = tuple[tuple[Promotion, int, str], ...]
_Taxed = tuple[tuple[TaxRate, int], ...]


def _adjustments(applied: _Applied, currency: str) -> tuple[Adjustment, ...]:
    return tuple(Adjustment(p.id, p.name, reason, units, currency) for p, units, reason in applied)


def _tax_lines(taxed: _Taxed, currency: str) -> tuple[TaxLine, ...]:
    return tuple(TaxLine(rate.name, rate.rate, units, currency) for rate, units in taxed)


class LineBreakdown(NamedTuple):
    """The price of one cart line.

    ``subtotal - discount`` is what the customer pays for the line; ``net + tax ==
    total``. Each figure is also there in minor units (``subtotal_units``, ...).

    A named tuple rather than an attrs class: a breakdown holds one per cart line and
    is built on every pricing, and a tuple is immutable at a third of the cost.
    """

    sku: str
    quantity: int
    currency: str
    unit_units: int
    subtotal_units: int
    discount_units: int
    net_units: int
    tax_units: int
    total_units: int
    applied: _Applied
    """``(promotion, units, reason)`` as the engine applied them; see ``adjustments``."""
    tax_rates: tuple[TaxRate, ...]
    tax_amounts: tuple[int, ...]
    """Minor units of each of ``tax_rates``; see ``taxes``."""

    @property
    def unit_price(self) -> Money:
        """Price of one unit, before promotions."""
        return _money(self.unit_units, self.currency)

    @property
    def subtotal(self) -> Money:
        """``unit_price * quantity``, before promotions."""
        return _money(self.subtotal_units, self.currency)

    @property
    def discount(self) -> Money:
        """All promotions on this line together."""
        return _money(self.discount_units, self.currency)

    @property
    def net(self) -> Money:
        """The line without tax."""
        return _money(self.net_units, self.currency)

    @property
    def tax(self) -> Money:
        """All taxes on this line together."""
        return _money(self.tax_units, self.currency)

    @property
    def total(self) -> Money:
        """What the customer pays for this line: ``net + tax``."""
        return _money(self.total_units, self.currency)

    @property
    def adjustments(self) -> tuple[Adjustment, ...]:
        """Each promotion's discount on this line, in the order applied."""
        return _adjustments(self.applied, self.currency)

    @property
    def taxes(self) -> tuple[TaxLine, ...]:
        """Each tax on this line."""
        return _tax_lines(tuple(zip(self.tax_rates, self.tax_amounts, strict=True)), self.currency)


@attrs.frozen(kw_only=True)
class PriceBreakdown:
    """Every figure of a priced cart, each exact to the minor unit.

    Lines and shipping add up to the totals, and ``net_total + tax_total ==
    grand_total``. With tax-exclusive prices, ``grand_total = subtotal -
    discount_total + shipping + tax_total``; with tax-inclusive prices the tax is
    already inside, so ``grand_total = subtotal - discount_total + shipping``.
    """

    currency: str
    prices_include_tax: bool
    lines: tuple[LineBreakdown, ...]
    subtotal_units: int
    discount_units: int
    shipping_units: int
    shipping_discount_units: int
    shipping_tax_units: int
    shipping_total_units: int
    tax_units: int
    net_units: int
    grand_total_units: int
    shipping_applied: _Applied = attrs.field(repr=False)
    shipping_taxed: _Taxed = attrs.field(repr=False)
    tax_by_rate: tuple[tuple[str, Decimal, int], ...] = attrs.field(repr=False)
    applied_promotions: tuple[str, ...]
    """Ids of the promotions applied, in the order applied."""
    rejected_coupons: tuple[tuple[str, str], ...]
    """``(code, reason)`` for each coupon on the cart that could not be used."""

    @property
    def subtotal(self) -> Money:
        """Sum of line subtotals, before discounts."""
        return _money(self.subtotal_units, self.currency)

    @property
    def discount_total(self) -> Money:
        """Every discount, on lines and on shipping."""
        return _money(self.discount_units, self.currency)

    @property
    def shipping(self) -> Money:
        """Shipping charge before discount."""
        return _money(self.shipping_units, self.currency)

    @property
    def shipping_discount(self) -> Money:
        """Discount on shipping (free shipping and the like)."""
        return _money(self.shipping_discount_units, self.currency)

    @property
    def shipping_tax(self) -> Money:
        """Tax on shipping."""
        return _money(self.shipping_tax_units, self.currency)

    @property
    def shipping_total(self) -> Money:
        """What shipping costs after discount, with its tax."""
        return _money(self.shipping_total_units, self.currency)

    @property
    def shipping_adjustments(self) -> tuple[Adjustment, ...]:
        """Each promotion's discount on shipping."""
        return _adjustments(self.shipping_applied, self.currency)

    @property
    def shipping_taxes(self) -> tuple[TaxLine, ...]:
        """Each tax on shipping."""
        return _tax_lines(self.shipping_taxed, self.currency)

    @property
    def taxes(self) -> tuple[TaxLine, ...]:
        """Tax per rate for the whole cart, as an invoice lists it."""
        return tuple(
            TaxLine(name, rate, units, self.currency) for name, rate, units in self.tax_by_rate
        )

    @property
    def tax_total(self) -> Money:
        """All tax, on lines and shipping."""
        return _money(self.tax_units, self.currency)

    @property
    def net_total(self) -> Money:
        """Everything without tax."""
        return _money(self.net_units, self.currency)

    @property
    def grand_total(self) -> Money:
        """What the customer pays."""
        return _money(self.grand_total_units, self.currency)


# --- the engine --------------------------------------------------------------------


class CartLike(Protocol):
    """What pricing reads from a cart."""

    @property
    def currency(self) -> str: ...

    @property
    def coupon_codes(self) -> tuple[str, ...]: ...

    def items(self) -> Iterable[tuple[str, int]]: ...


@attrs.frozen(kw_only=True)
class PricingContext:
    """Who is buying, when, where to, and what shipping costs.

    ``now`` must be timezone-aware; ``coupon_usage`` is keyed by coupon code in any
    case or spacing (keys are normalised, so a limit cannot be dodged by spelling).
    """

    now: datetime = attrs.field()
    channel: str | None = None
    customer_id: str | None = None
    customer_group: str | None = None
    address: TaxAddress | None = attrs.field(default=None)
    shipping: moneyed.Money | None = attrs.field(default=None, validator=_money_or_none)
    coupon_usage: Mapping[str, CouponUsage] = attrs.field(
        factory=dict, converter=normalize_coupon_usage
    )

    @now.validator
    def _check_now(self, attribute: attrs.Attribute[datetime], value: datetime) -> None:
        require_aware(value, field="now")

    @address.validator
    def _check_address(self, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not isinstance(value, TaxAddress):
            raise InvalidInput(
                f"expected a TaxAddress, got {type(value).__name__}", field="address"
            )


class _ScaledRates(NamedTuple):
    """Rates as integer numerators over one denominator, so tax is exact integer work.

    Exclusive: tax = base * n / d. Inclusive: the gross base holds net * (1 + sum of
    rates), so each rate's part of it is base * n / (d + sum of n).
    """

    rates: tuple[TaxRate, ...]
    numerators: tuple[int, ...]
    denominator: int


_NO_TAX: Final = _ScaledRates((), (), 1)


def _scale(rates: tuple[TaxRate, ...], inclusive: bool) -> _ScaledRates:
    places = max(0, *(-int(r.rate.as_tuple().exponent) for r in rates))
    numerators = tuple(int(r.rate.scaleb(places)) for r in rates)
    denominator = 10**places + (sum(numerators) if inclusive else 0)
    return _ScaledRates(rates, numerators, denominator)


def _tax_by_rate(
    rates: Sequence[_ScaledRates], taxes: Sequence[Sequence[int]]
) -> tuple[tuple[str, Decimal, int], ...]:
    """Tax per ``(name, rate)`` over all lines and shipping, as an invoice lists it."""
    # Lines share their rate tuples (one per tax category), so sum by tuple first.
    by_rates: dict[int, tuple[_ScaledRates, list[int]]] = {}
    for scaled, amounts in zip(rates, taxes, strict=True):
        if not amounts:
            continue
        entry = by_rates.get(id(scaled))
        if entry is None:
            by_rates[id(scaled)] = (scaled, list(amounts))
        else:
            sums = entry[1]
            for k, units in enumerate(amounts):
                sums[k] += units
    totals: dict[tuple[str, Decimal], int] = {}
    for scaled, sums in by_rates.values():
        for rate, units in zip(scaled.rates, sums, strict=True):
            key = (rate.name, rate.rate)
            totals[key] = totals.get(key, 0) + units
    return tuple((name, rate, units) for (name, rate), units in totals.items())


class PricingEngine:
    """Prices carts against a catalogue, price lists, taxes and promotions.

    Build it once and reuse it: lookups it needs are indexed at construction.
    """

    def __init__(
        self,
        *,
        catalog: Catalog,
        prices: PriceBook,
        taxes: TaxTable | None = None,
        tax_settings: TaxSettings | None = None,
        promotions: PromotionEngine | None = None,
        rounding: Rounding = DEFAULT_ROUNDING,
    ) -> None:
        self.catalog = catalog
        self.prices = prices
        self.taxes = taxes or TaxTable()
        self.tax_settings = tax_settings or TaxSettings()
        self.promotions = promotions or PromotionEngine()
        self.rounding = rounding
        self._scaled: dict[tuple[tuple[TaxRate, ...], bool], _ScaledRates] = {}

    def _work_lines(self, cart: CartLike, context: PricingContext, currency: str) -> list[WorkLine]:
        chain = self.prices.chain(currency, context.channel, context.customer_group)
        facts_of = self.catalog.facts
        now = context.now
        lines: list[WorkLine] = []
        for index, (sku, quantity) in enumerate(cart.items()):
            # A cart loaded from storage is trusted by the cart, not by pricing: a
            # negative quantity here would price to a negative total.
            if type(quantity) is not int or not 0 < quantity <= QUANTITY_CEILING:
                raise InvalidQuantity(
                    f"must be a whole number from 1 to {QUANTITY_CEILING}, got {quantity!r}",
                    field="quantity",
                )
            facts = facts_of(sku)
            if not facts.product.is_available(now):
                raise Unavailable(sku)
            for price_list in chain:
                entry = price_list._entries.get(sku)
                if entry is not None:
                    unit = entry.unit_for(quantity, now)
                    break
            else:
                raise MissingPrice(sku, currency)
            subtotal = unit * quantity
            lines.append(WorkLine(index, facts, quantity, unit, subtotal, subtotal, []))
        return lines

    def _promotion_context(
        self, cart: CartLike, context: PricingContext, currency: str, shipping: int
    ) -> PromotionContext:
        return PromotionContext(
            currency=currency,
            now=context.now,
            customer_id=context.customer_id,
            customer_group=context.customer_group,
            coupon_codes=tuple(cart.coupon_codes),
            coupon_usage=context.coupon_usage,
            shipping=shipping,
            rounding=self.rounding,
        )

    def _shipping_units(self, context: PricingContext, currency: str) -> int:
        if context.shipping is None:
            return 0
        if str(context.shipping.currency.code) != currency:
            raise CurrencyMismatch(currency, str(context.shipping.currency.code), field="shipping")
        if context.shipping.amount < 0:
            raise InvalidInput("shipping cannot be negative", field="shipping")
        return minor_units(context.shipping, field="shipping")

    def check_coupon(self, cart: CartLike, code: str, context: PricingContext) -> None:
        """Check that ``code`` could be used on ``cart`` now.

        Besides the coupon's own rules, its promotion must not be kept out by the
        stacking rule (an exclusive promotion that applies alone): pricing would
        then report the coupon as rejected, ``not_combinable``.

        :raises CouponRejected: saying why not.
        """
        currency = normalize_currency(cart.currency)
        lines = self._work_lines(cart, context, currency)
        shipping = self._shipping_units(context, currency)
        promotion_context = self._promotion_context(cart, context, currency, shipping)
        coupon = self.promotions.check_coupon(code, lines, promotion_context)
        codes = [normalize_coupon_code(held) for held in promotion_context.coupon_codes]
        if coupon.code not in codes:
            codes.append(coupon.code)
        outcome = self.promotions.apply(
            lines, attrs.evolve(promotion_context, coupon_codes=tuple(codes))
        )
        for error in outcome.rejected_coupons:
            if error.coupon_code == coupon.code:
                raise error

    def price(self, cart: CartLike, context: PricingContext) -> PriceBreakdown:
        """The full price breakdown of ``cart``.

        :raises UnknownSku: for a SKU the catalogue does not have.
        :raises MissingPrice: for a SKU no usable price list prices.
        :raises Unavailable: for a product not on sale at ``context.now``.
        :raises CurrencyMismatch: for shipping in another currency than the cart.
        """
        currency = normalize_currency(cart.currency)
        lines = self._work_lines(cart, context, currency)
        shipping = self._shipping_units(context, currency)
        outcome = self.promotions.apply(
            lines, self._promotion_context(cart, context, currency, shipping)
        )
        shipping_discount = sum(units for _, units, _ in outcome.shipping_adjustments)
        shipping_base = shipping - shipping_discount

        settings = self.tax_settings
        inclusive = settings.prices_include_tax
        rates_of = self._rates_lookup(context.address or settings.default_address)
        line_rates = [rates_of(line.facts.tax_category) for line in lines]
        shipping_rates = (
            rates_of(settings.shipping_tax_category)
            if settings.shipping_tax_category is not None and shipping_base
            else _NO_TAX
        )
        bases = [line.remaining for line in lines]
        bases.append(shipping_base)
        line_rates.append(shipping_rates)
        taxes = self._taxes(bases, line_rates)

        results: list[LineBreakdown] = []
        net_sum = tax_sum = subtotal_sum = discount_sum = 0
        for line, scaled, line_taxes in zip(lines, line_rates, taxes, strict=False):
            tax = sum(line_taxes)
            paid = line.remaining
            net = paid - tax if inclusive else paid
            net_sum += net
            tax_sum += tax
            subtotal_sum += line.subtotal
            discount_sum += line.subtotal - paid
            results.append(
                LineBreakdown(
                    line.facts.sku,
                    line.quantity,
                    currency,
                    line.unit,
                    line.subtotal,
                    line.subtotal - paid,
                    net,
                    tax,
                    net + tax,
                    tuple(line.adjustments),
                    scaled.rates,
                    tuple(line_taxes),
                )
            )
        shipping_taxes = taxes[-1]
        shipping_tax = sum(shipping_taxes)
        shipping_net = shipping_base - shipping_tax if inclusive else shipping_base
        shipping_taxed = tuple(zip(shipping_rates.rates, shipping_taxes, strict=True))
        return PriceBreakdown(
            currency=currency,
            prices_include_tax=inclusive,
            lines=tuple(results),
            subtotal_units=subtotal_sum,
            discount_units=discount_sum + shipping_discount,
            shipping_units=shipping,
            shipping_discount_units=shipping_discount,
            shipping_tax_units=shipping_tax,
            shipping_total_units=shipping_net + shipping_tax,
            tax_units=tax_sum + shipping_tax,
            net_units=net_sum + shipping_net,
            grand_total_units=net_sum + tax_sum + shipping_net + shipping_tax,
            shipping_applied=outcome.shipping_adjustments,
            shipping_taxed=shipping_taxed,
            tax_by_rate=_tax_by_rate(line_rates, taxes),
            applied_promotions=outcome.applied,
            rejected_coupons=tuple(
                (error.coupon_code, error.reason) for error in outcome.rejected_coupons
            ),
        )

    def _rates_lookup(self, address: TaxAddress | None) -> Callable[[str], _ScaledRates]:
        """Per tax category, the rates charged at ``address``, scaled to integers.

        Built once per cart, so each line costs one dictionary lookup.
        """
        rates_of = self.taxes.rates_by_category(address)
        inclusive = self.tax_settings.prices_include_tax
        scaled_cache = self._scaled
        seen: dict[str, _ScaledRates] = {}

        def lookup(category: str) -> _ScaledRates:
            scaled = seen.get(category)
            if scaled is None:
                rates = rates_of(category)
                if not rates:
                    scaled = _NO_TAX
                elif (scaled := scaled_cache.get((rates, inclusive))) is None:
                    scaled = scaled_cache[rates, inclusive] = _scale(rates, inclusive)
                seen[category] = scaled
            return scaled

        return lookup

    def _taxes(self, bases: Sequence[int], rates: Sequence[_ScaledRates]) -> list[list[int]]:
        """Tax in minor units per taxed amount and per rate, rounded as the settings say.

        With tax-inclusive prices the tax of an amount is part of it, so it must never
        come to more than the amount: rounding each of two rates up could otherwise
        make the tax of a 0.01 line 0.02.
        """
        settings = self.tax_settings
        rounding = settings.rounding_mode
        inclusive = settings.prices_include_tax
        if settings.rounding is TaxRounding.PER_LINE:
            if not inclusive:
                return [
                    [
                        divide_rounded(base * n, scaled.denominator, rounding)
                        for n in scaled.numerators
                    ]
                    for base, scaled in zip(bases, rates, strict=True)
                ]
            # Inclusive: the line's whole tax is rounded once (so it stays within the
            # gross amount), then split between its rates, each the floor or ceiling
            # of its own exact share.
            result: list[list[int]] = []
            for base, scaled in zip(bases, rates, strict=True):
                numerators = scaled.numerators
                if len(numerators) <= 1:
                    result.append(
                        [divide_rounded(base * n, scaled.denominator, rounding) for n in numerators]
                    )
                    continue
                whole = divide_rounded(base * sum(numerators), scaled.denominator, rounding)
                result.append(
                    round_to_total(
                        [Fraction(base * n, scaled.denominator) for n in numerators], whole
                    )
                )
            return result
        # Per total: round each rate's exact sum once, then give each line the floor or
        # the ceiling of its own exact tax so that the lines add up to that rounded sum
        # (and, with inclusive prices, no line's tax exceeds its gross amount).
        exact: list[list[Fraction]] = []
        columns: list[list[int]] = []
        column_of: dict[tuple[str, Decimal], int] = {}
        for base, scaled in zip(bases, rates, strict=True):
            exact.append([Fraction(base * n, scaled.denominator) for n in scaled.numerators])
            columns.append(
                [column_of.setdefault((r.name, r.rate), len(column_of)) for r in scaled.rates]
            )
        sums = [Fraction(0)] * len(column_of)
        for row, row_columns in zip(exact, columns, strict=True):
            for value, column in zip(row, row_columns, strict=True):
                sums[column] += value
        totals = [divide_rounded(x.numerator, x.denominator, rounding) for x in sums]
        limits: list[int | None] = list(bases) if inclusive else [None] * len(bases)
        return round_table(exact, columns, totals, limits)
