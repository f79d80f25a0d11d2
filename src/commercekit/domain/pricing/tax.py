"""Taxes: rates per category, the zones they apply in, and how a store charges them."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Final, Protocol

import attrs

from commercekit.domain._validators import instances, text
from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.money import DEFAULT_ROUNDING, Rounding, to_decimal

__all__ = [
    "TaxAddress",
    "TaxRate",
    "TaxRates",
    "TaxRounding",
    "TaxSettings",
    "TaxTable",
    "TaxZone",
]

_COUNTRY: Final = re.compile(r"[A-Z]{2}")


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


def _rates(value: Iterable[TaxRate]) -> tuple[TaxRate, ...]:
    return instances(value, TaxRate, field="rates")


@attrs.frozen(kw_only=True)
class TaxZone:
    """Where a set of rates applies: a country, optionally narrowed to a region and a
    postal code prefix. The most specific zone matching an address wins."""

    id: str = attrs.field(validator=text())
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


class TaxRates(Protocol):
    """Where pricing learns the rates of an address: the store's own zones (a
    :class:`TaxTable`), or an outside tax service's answer."""

    def rates_by_category(self, address: TaxAddress | None) -> Callable[[str], tuple[TaxRate, ...]]:
        """A lookup from tax category to the rates charged at ``address`` (none for
        ``None``)."""
        ...


class TaxTable:
    """Tax zones and their rates. An address no zone matches pays no tax.

    :raises InvalidInput: naming ``id``, for two zones with the same id (storage
        keys zones by id, so one would silently stand for the other).
    """

    def __init__(self, zones: Iterable[TaxZone] = ()) -> None:
        self._zones = instances(zones, TaxZone, field="zones")
        seen: set[str] = set()
        for zone in self._zones:
            if zone.id in seen:
                raise InvalidInput(f"tax zone {shown(zone.id)} is given twice", field="id")
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
