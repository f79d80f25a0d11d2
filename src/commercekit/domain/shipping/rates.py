"""What shipping costs: rules that price a shipment by its weight and the value of
the goods, delivery methods that apply them to the addresses of their zones, and
the rates they quote."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Final, Protocol

import attrs

from commercekit.domain._validators import require_aware, strings, text, whole_number
from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.money import normalize_currency
from commercekit.domain.shipping.zones import ShippingZone

__all__ = [
    "ByValue",
    "ByWeight",
    "DeliveryMethod",
    "Flat",
    "FreeOver",
    "Rate",
    "RateRule",
    "quote_rates",
]

_UNITS = whole_number(0, 10**12)
#: How long a quoted rate holds: an order placed later is quoted again.
RATE_VALID_FOR: Final = timedelta(minutes=30)


class RateRule(Protocol):
    """Prices a shipment: ``None`` when the rule does not take it (too heavy)."""

    def price_units(self, weight_grams: int, subtotal_units: int) -> int | None: ...


@attrs.frozen
class Flat:
    """The same price for any shipment."""

    units: int = attrs.field(validator=_UNITS)

    def price_units(self, weight_grams: int, subtotal_units: int) -> int | None:
        return self.units


def _tiers(value: Iterable[tuple[int, int]], field: str) -> tuple[tuple[int, int], ...]:
    try:
        tiers = tuple((int(bound), int(units)) for bound, units in value)
    except (TypeError, ValueError):
        raise InvalidInput("must be pairs of whole numbers", field=field) from None
    if not tiers:
        raise InvalidInput("must have at least one tier", field=field)
    bounds = [bound for bound, _ in tiers]
    if bounds != sorted(set(bounds)) or any(b < 0 or u < 0 for b, u in tiers):
        raise InvalidInput("must rise, without repeats or negative numbers", field=field)
    return tiers


def _tier_list(value: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return _tiers(value, "tiers")


def _zone_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return strings(value, field="zone_ids")


def _location_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return strings(value, field="location_ids")


@attrs.frozen
class ByWeight:
    """A price per weight band: each tier is ``(up to grams, price)``; a shipment
    heavier than the last band is not taken."""

    tiers: tuple[tuple[int, int], ...] = attrs.field(converter=_tier_list)

    def price_units(self, weight_grams: int, subtotal_units: int) -> int | None:
        for up_to, units in self.tiers:
            if weight_grams <= up_to:
                return units
        return None


@attrs.frozen
class ByValue:
    """A price by the value of the goods: each tier is ``(from subtotal, price)``, the
    highest tier reached applies; below the first, the shipment is not taken."""

    tiers: tuple[tuple[int, int], ...] = attrs.field(converter=_tier_list)

    def price_units(self, weight_grams: int, subtotal_units: int) -> int | None:
        found: int | None = None
        for start, units in self.tiers:
            if subtotal_units >= start:
                found = units
        return found


@attrs.frozen
class FreeOver:
    """Free from ``threshold_units`` of goods on; below it, ``otherwise``."""

    threshold_units: int = attrs.field(validator=_UNITS)
    otherwise: RateRule

    def price_units(self, weight_grams: int, subtotal_units: int) -> int | None:
        if subtotal_units >= self.threshold_units:
            return 0
        return self.otherwise.price_units(weight_grams, subtotal_units)


def _rules(value: Mapping[str, RateRule]) -> Mapping[str, RateRule]:
    if not isinstance(value, Mapping):
        raise InvalidInput("must map currencies to rate rules", field="rules")
    rules: dict[str, RateRule] = {}
    for currency, rule in value.items():
        if not callable(getattr(rule, "price_units", None)):
            raise InvalidInput(f"no rate rule for {shown(currency)}", field="rules")
        rules[normalize_currency(currency)] = rule
    return rules


@attrs.frozen(kw_only=True)
class Rate:
    """What a method charges to ship one cart to one address, quoted at a time."""

    method_id: str
    name: str
    price_units: int
    currency: str
    earliest: date
    latest: date
    """Delivery estimates, in calendar days from when it was quoted."""
    expires_at: datetime
    """After this the rate is quoted again; an order is never placed on it."""

    def is_valid(self, now: datetime) -> bool:
        return require_aware(now, field="now") < self.expires_at


@attrs.frozen(kw_only=True)
class DeliveryMethod:
    """A way to ship, as data: the zones it serves (none: a pickup at
    ``pickup_location``, for any address), the stock locations it ships from (none:
    any), a rate rule per currency, and a delivery estimate in days.

    A method with a ``carrier`` is priced by that carrier's quote for the cart's
    parcels (its ``service``, or its cheapest), and takes its estimate from the quote;
    it needs no rules."""

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(200))
    rules: Mapping[str, RateRule] = attrs.field(factory=dict, converter=_rules)
    zone_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_zone_ids)
    location_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_location_ids)
    pickup_location: str | None = None
    min_days: int = attrs.field(default=1, validator=whole_number(0, 365))
    max_days: int = attrs.field(default=5, validator=whole_number(0, 365))
    carrier: str | None = attrs.field(default=None, validator=attrs.validators.optional(text(64)))
    service: str = attrs.field(default="", validator=text(64, blank=True))

    def __attrs_post_init__(self) -> None:
        if not self.rules and self.carrier is None:
            raise InvalidInput("must price at least one currency, or name a carrier", field="rules")
        if self.max_days < self.min_days:
            raise InvalidInput("must not be before min_days", field="max_days")
        if not self.zone_ids and self.pickup_location is None:
            raise InvalidInput("name a zone, or a pickup location", field="zone_ids")
        if self.pickup_location is not None:
            object.__setattr__(self, "location_ids", frozenset({self.pickup_location}))

    def serves(
        self, zones: Mapping[str, ShippingZone], country: str, region: str, postal_code: str
    ) -> bool:
        """Whether an address is one this method ships to."""
        if self.pickup_location is not None:
            return True
        return any(
            zone.covers(country, region, postal_code)
            for zone_id in sorted(self.zone_ids)
            if (zone := zones.get(zone_id)) is not None
        )

    def ships_from(self, location_id: str) -> bool:
        return not self.location_ids or location_id in self.location_ids


def quote_rates(
    methods: Sequence[DeliveryMethod],
    zones: Sequence[ShippingZone],
    *,
    country: str,
    region: str = "",
    postal_code: str = "",
    currency: str,
    weight_grams: int,
    subtotal_units: int,
    locations: Iterable[str],
    now: datetime,
) -> list[Rate]:
    """The rates of every method that serves the address from one of ``locations``
    (those that can serve the whole cart) and prices the shipment in ``currency``,
    cheapest first, then by name.

    :raises InvalidInput: for a naive ``now`` or a negative weight or subtotal.
    """
    now = require_aware(now, field="now")
    currency = normalize_currency(currency)
    if weight_grams < 0 or subtotal_units < 0:
        raise InvalidInput("must not be negative", field="weight_grams")
    by_id = {zone.id: zone for zone in zones}
    usable = set(locations)
    today = now.date()
    rates = []
    for method in methods:
        rule = method.rules.get(currency)
        if rule is None or not method.serves(by_id, country, region, postal_code):
            continue
        if not any(method.ships_from(location) for location in usable):
            continue
        price = rule.price_units(weight_grams, subtotal_units)
        if price is None:
            continue
        rates.append(
            Rate(
                method_id=method.id,
                name=method.name,
                price_units=price,
                currency=currency,
                earliest=today + timedelta(days=method.min_days),
                latest=today + timedelta(days=method.max_days),
                expires_at=now + RATE_VALID_FOR,
            )
        )
    return sorted(rates, key=lambda rate: (rate.price_units, rate.name, rate.method_id))
