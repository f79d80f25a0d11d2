"""What shipping costs a cart: a flat method of the store's configuration, or the
stored delivery methods quoting its weight and goods to its shipping address."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from commercekit.domain.cart import Cart
from commercekit.domain.catalog import Catalog
from commercekit.domain.checkout import Address, ShippingChoice, ShippingMethod
from commercekit.domain.errors import CarrierError, InvalidInput, ShippingUnavailable, shown
from commercekit.domain.inventory import StockLocation
from commercekit.domain.pricing import PricingContext, PricingEngine
from commercekit.domain.shipping import (
    RATE_VALID_FOR,
    DeliveryMethod,
    PackedUnit,
    Rate,
    pack,
    quote_rates,
)
from commercekit.ports.carriers import Carrier, QuoteRequest
from commercekit.services.snapshot import CatalogSnapshot

__all__ = ["current_choice", "quote"]

log = logging.getLogger(__name__)


def _units(catalog: Catalog, cart: Cart) -> list[PackedUnit]:
    """The cart's goods that ship, one unit each, as packing sees them."""
    units: list[PackedUnit] = []
    for sku, quantity in cart.items():
        variant = catalog.variant(sku)
        if variant.requires_shipping:
            size = variant.dimensions
            sides = None if size is None else (size.length_mm, size.width_mm, size.height_mm)
            unit = PackedUnit(sku=sku, weight_grams=variant.weight_grams or 0, sides_mm=sides)
            units.extend(unit for _ in range(quantity))
    return units


def _carrier_rate(
    method: DeliveryMethod,
    carrier: Carrier,
    origin: StockLocation,
    address: Address,
    units: Sequence[PackedUnit],
    currency: str,
    now: datetime,
) -> Rate | None:
    """What ``carrier`` quotes for ``method``: its service, or its cheapest; ``None``
    when it does not serve the parcels (or could not be asked)."""
    try:
        parcels = tuple(pack(units, carrier.limits))
        quotes = carrier.quote(
            QuoteRequest(
                origin=origin, destination=address, parcels=parcels, currency=currency, now=now
            )
        )
    except (CarrierError, InvalidInput) as error:
        log.warning("carrier %s gave no quote for %s: %s", carrier.name, method.id, error)
        return None
    except Exception:  # a carrier plugin's own failure: the method is not offered
        log.exception("carrier %s failed to quote %s", carrier.name, method.id)
        return None
    usable = [q for q in quotes if q.currency == currency]
    if method.service:
        usable = [q for q in usable if q.service == method.service]
    if not usable:
        return None
    best = min(usable, key=lambda q: (q.price_units, q.service))
    today = now.date()
    return Rate(
        method_id=method.id,
        name=method.name,
        price_units=best.price_units,
        currency=currency,
        earliest=today + timedelta(days=best.min_days),
        latest=today + timedelta(days=max(best.max_days, best.min_days)),
        expires_at=now + RATE_VALID_FOR,
    )


def quote(
    methods: Sequence[DeliveryMethod],
    snapshot: CatalogSnapshot,
    engine: PricingEngine,
    context: PricingContext,
    cart: Cart,
    address: Address | None,
    *,
    now: datetime,
    carriers: Mapping[str, Carrier] | None = None,
) -> list[Rate]:
    """What ``methods`` charge to ship the cart's goods to ``address``, from the stock
    locations that ship there, by the goods' weight and their value after discounts
    (before shipping and tax); a method with a carrier, by what the carrier quotes for
    the goods packed into its parcels. None without an address."""
    if address is None or cart.is_empty:
        return []
    units = _units(engine.catalog, cart)
    weight = sum(unit.weight_grams for unit in units)
    goods = engine.price(cart, attrs.evolve(context, shipping=None))
    places = [place for place in snapshot.locations if place.serves(address.country)]
    rates = quote_rates(
        [method for method in methods if method.carrier is None],
        snapshot.shipping_zones,
        country=address.country,
        region=address.region,
        postal_code=address.postal_code,
        currency=cart.currency,
        weight_grams=weight,
        subtotal_units=max(goods.subtotal_units - goods.discount_units, 0),
        locations=[place.id for place in places],
        now=now,
    )
    zones = {zone.id: zone for zone in snapshot.shipping_zones}
    for method in methods:
        carrier = (carriers or {}).get(method.carrier or "")
        if carrier is None or not method.serves(
            zones, address.country, address.region, address.postal_code
        ):
            continue
        origin = next((place for place in places if method.ships_from(place.id)), None)
        if origin is None:
            continue
        rate = _carrier_rate(method, carrier, origin, address, units, cart.currency, now)
        if rate is not None:
            rates.append(rate)
    return sorted(rates, key=lambda rate: (rate.price_units, rate.name, rate.method_id))


def current_choice(
    method_id: str,
    flat: Sequence[ShippingMethod],
    snapshot: CatalogSnapshot,
    engine: PricingEngine,
    context: PricingContext,
    cart: Cart,
    address: Address | None,
    *,
    now: datetime,
    carriers: Mapping[str, Carrier] | None = None,
) -> ShippingChoice:
    """``method_id`` at its price for this cart and address now: a stored delivery
    method as it quotes them, or else a ``flat`` method of the configuration.

    :raises ShippingUnavailable: for a stored method that does not serve them.
    :raises InvalidInput: naming ``method_id``, for a method the store has not in the
        cart's currency.
    """
    stored = {method.id: method for method in snapshot.delivery_methods}.get(method_id)
    if stored is not None:
        found = quote(
            [stored], snapshot, engine, context, cart, address, now=now, carriers=carriers
        )
        for rate in found:
            return ShippingChoice(
                method_id=rate.method_id,
                name=rate.name,
                price_units=rate.price_units,
                currency=rate.currency,
                expires_at=rate.expires_at,
            )
        raise ShippingUnavailable(method_id)
    for method in flat:
        price = method.price_in(cart.currency)
        if method.id == method_id and price is not None:
            return ShippingChoice(
                method_id=method.id, name=method.name, price_units=price, currency=cart.currency
            )
    raise InvalidInput(f"no shipping method {shown(method_id)} in this currency", field="method_id")
