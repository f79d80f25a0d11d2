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

One concern a module: :mod:`.price_lists`, :mod:`.tax`, :mod:`.breakdown` and
:mod:`.engine`; every name is importable from here.
"""

from __future__ import annotations

from commercekit.domain.pricing.breakdown import Adjustment, LineBreakdown, PriceBreakdown, TaxLine
from commercekit.domain.pricing.engine import CartLike, PricingContext, PricingEngine
from commercekit.domain.pricing.price_lists import (
    PriceBook,
    PriceEntry,
    PriceList,
    SalePrice,
    VolumeTier,
)
from commercekit.domain.pricing.tax import (
    TaxAddress,
    TaxRate,
    TaxRates,
    TaxRounding,
    TaxSettings,
    TaxTable,
    TaxZone,
)

__all__ = [
    "Adjustment",
    "CartLike",
    "LineBreakdown",
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
    "TaxRates",
    "TaxRounding",
    "TaxSettings",
    "TaxTable",
    "TaxZone",
    "VolumeTier",
]
