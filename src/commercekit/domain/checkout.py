"""Checkout: who the order is for, where it goes, how it ships and how it is paid.

Input from outside is validated at the boundary (``commercekit.services.schemas``)
before it becomes these values; here they are plain, already-checked facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs
import moneyed

from commercekit.domain.errors import InvalidInput
from commercekit.domain.money import Money, from_minor_units, minor_units
from commercekit.domain.pricing import TaxAddress

__all__ = [
    "Address",
    "Checkout",
    "ShippingChoice",
    "ShippingMethod",
]


@attrs.frozen(kw_only=True)
class Address:
    """A postal address. Names are kept exactly as given, in any script."""

    name: str
    line1: str
    line2: str = ""
    city: str
    region: str = ""
    postal_code: str = ""
    country: str
    """ISO 3166-1 alpha-2, upper case."""
    phone: str = ""
    company: str = ""

    def for_tax(self) -> TaxAddress:
        """The part of the address that decides tax."""
        return TaxAddress(
            country=self.country,
            region=self.region or None,
            postal_code=self.postal_code or None,
        )


def _prices(value: moneyed.Money | Iterable[moneyed.Money]) -> Mapping[str, int]:
    items = [value] if isinstance(value, moneyed.Money) else list(value)
    prices: dict[str, int] = {}
    for money in items:
        if money.amount < 0:
            raise InvalidInput("a shipping price cannot be negative", field="prices")
        prices[str(money.currency.code)] = minor_units(money, field="prices")
    return prices


@attrs.frozen(kw_only=True)
class ShippingMethod:
    """A way to ship an order, at a flat price per currency.

    Carriers that quote per parcel and address plug in behind the ``Carrier`` port;
    a flat method is the simplest of them and needs none.
    """

    id: str
    name: str
    prices: Mapping[str, int] = attrs.field(converter=_prices)
    """Minor units per currency; give one ``Money`` per currency you sell in."""

    def price_in(self, currency: str) -> int | None:
        """The price in minor units, or ``None`` if not offered in this currency."""
        return self.prices.get(currency)


@attrs.frozen(kw_only=True)
class ShippingChoice:
    """The shipping method a customer chose, at the price it had then."""

    method_id: str
    name: str
    price_units: int
    currency: str
    expires_at: datetime | None = None
    """When a stored delivery method's quote runs out (``None``: a flat price of the
    configuration, which does not)."""

    def expired(self, now: datetime) -> bool:
        """Whether an order may no longer be placed on this quote."""
        return self.expires_at is not None and now >= self.expires_at

    @property
    def price(self) -> Money:
        """The price of shipping before any discount."""
        return from_minor_units(self.price_units, self.currency)


@attrs.define(kw_only=True, eq=False)
class Checkout:
    """The details an order needs beyond the cart. One per cart, sharing its id."""

    id: str
    email: str | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    """``None`` means the same as the shipping address."""
    shipping: ShippingChoice | None = None
    payment_gateway: str | None = None
    payment_token: str | None = None
    """The gateway's token for the customer's means of payment (never a card number)."""
    quoted_total_units: int | None = None
    """The grand total the customer was last shown; an order at another total is
    refused as a price change unless the caller accepts it."""
    with_tenders: bool = False
    """Whether gift cards or store credit are to pay part of it (which ones is kept
    beside it, as a :class:`~commercekit.domain.credit.CheckoutTenders`)."""
    version: int = 0

    @property
    def billing(self) -> Address | None:
        """Where to bill: the billing address, or else the shipping address."""
        return self.billing_address or self.shipping_address

    def missing(self, *, requires_shipping: bool, requires_payment: bool = True) -> list[str]:
        """The fields still needed before an order can be placed, in form order.

        :param requires_payment: whether the gateway is to be paid anything (gift
            cards and store credit may pay it all).
        """
        needed: list[str] = []
        if not self.email:
            needed.append("email")
        if requires_shipping and self.shipping_address is None:
            needed.append("shipping_address")
        if self.billing is None:
            needed.append("billing_address")
        if requires_shipping and self.shipping is None:
            needed.append("shipping_method")
        if requires_payment and (not self.payment_gateway or not self.payment_token):
            needed.append("payment_method")
        return needed
