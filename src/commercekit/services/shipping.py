"""What shipping costs a cart: a flat method of the store's configuration, or the
stored delivery methods quoting its weight and goods to its shipping address."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from commercekit.domain.cart import Cart
from commercekit.domain.checkout import Address, ShippingChoice, ShippingMethod
from commercekit.domain.errors import InvalidInput, ShippingUnavailable, shown
from commercekit.domain.pricing import PricingContext, PricingEngine
from commercekit.domain.shipping import DeliveryMethod, Rate, quote_rates
from commercekit.services.snapshot import CatalogSnapshot

__all__ = ["current_choice", "quote"]


def quote(
    methods: Sequence[DeliveryMethod],
    snapshot: CatalogSnapshot,
    engine: PricingEngine,
    context: PricingContext,
    cart: Cart,
    address: Address | None,
    *,
    now: datetime,
) -> list[Rate]:
    """What ``methods`` charge to ship the cart's goods to ``address``, from the stock
    locations that ship there, by the goods' weight and their value after discounts
    (before shipping and tax); none without an address."""
    if address is None or cart.is_empty:
        return []
    catalog = engine.catalog
    weight = 0
    for sku, quantity in cart.items():
        variant = catalog.variant(sku)
        if variant.requires_shipping:
            weight += (variant.weight_grams or 0) * quantity
    goods = engine.price(cart, attrs.evolve(context, shipping=None))
    return quote_rates(
        methods,
        snapshot.shipping_zones,
        country=address.country,
        region=address.region,
        postal_code=address.postal_code,
        currency=cart.currency,
        weight_grams=weight,
        subtotal_units=max(goods.subtotal_units - goods.discount_units, 0),
        locations=[place.id for place in snapshot.locations if place.serves(address.country)],
        now=now,
    )


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
) -> ShippingChoice:
    """``method_id`` at its price for this cart and address now: a stored delivery
    method as it quotes them, or else a ``flat`` method of the configuration.

    :raises ShippingUnavailable: for a stored method that does not serve them.
    :raises InvalidInput: naming ``method_id``, for a method the store has not in the
        cart's currency.
    """
    stored = {method.id: method for method in snapshot.delivery_methods}.get(method_id)
    if stored is not None:
        for rate in quote([stored], snapshot, engine, context, cart, address, now=now):
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
