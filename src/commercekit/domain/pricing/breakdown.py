"""The price breakdown of a cart: every figure, per line and for the cart.

Figures are kept as whole minor units (``*_units``) and handed out as ``Money`` on
access: the units are the exact truth, and a breakdown of a thousand lines is built
without building thousands of ``Money`` objects nobody may read.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import NamedTuple

import attrs

from commercekit.domain.money import Money, currency_precision
from commercekit.domain.pricing.tax import TaxRate
from commercekit.domain.promotions import PromotionRef

__all__ = [
    "Adjustment",
    "LineBreakdown",
    "PriceBreakdown",
    "TaxLine",
]


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


_Applied = tuple[tuple[PromotionRef, int, str], ...]
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
