"""The aggregated rows a report source returns: whole numbers and text only.

Every figure here is a count or a sum of minor units, exact, in one currency per
row; nothing is divided yet. Averages, rates and amounts in the currency's major
unit are worked out afterwards, from these rows alone (see
:mod:`commercekit.domain.reports.tables`), so that a database and the reference
agree to the last digit, whatever their floating point or decimal arithmetic does.

The order of the rows is part of each report's definition (said on each source
method), and text sorts by code point, as Python sorts it.
"""

from __future__ import annotations

from datetime import date

import attrs

__all__ = [
    "CartRecoveries",
    "CategorySales",
    "ChannelSales",
    "DiscountUse",
    "OrderFigures",
    "ProductSales",
    "ReasonReturns",
    "SalesBucket",
    "SkuReturns",
    "StockLevel",
]


@attrs.frozen(kw_only=True)
class OrderFigures:
    """Sums over whole orders: how many, their units, and their totals as placed."""

    orders: int
    units: int
    """Units on their lines, all SKUs together."""
    gross_units: int
    """Their subtotals: list price times quantity, before any discount."""
    discount_units: int
    """Every discount, on lines and on shipping."""
    shipping_units: int
    """Shipping charged, before its discount."""
    tax_units: int
    revenue_units: int
    """What the customers were charged: the orders' grand totals."""


@attrs.frozen(kw_only=True)
class SalesBucket(OrderFigures):
    """Orders placed in one bucket of time (a day, a week, a month), in one currency."""

    start: date
    """The bucket's first day (UTC)."""
    currency: str


@attrs.frozen(kw_only=True)
class ChannelSales(OrderFigures):
    """Orders placed in one sales channel (``""``: none), in one currency."""

    channel: str
    currency: str


@attrs.frozen(kw_only=True)
class LineFigures:
    """Sums over order lines: the orders they are on, units, and what they came to."""

    orders: int
    """Distinct orders with at least one such line."""
    units: int
    gross_units: int
    """List price times quantity, before discounts."""
    discount_units: int
    tax_units: int
    revenue_units: int
    """What was charged for the lines (their totals, tax included, no shipping)."""


@attrs.frozen(kw_only=True)
class ProductSales(LineFigures):
    """The lines of one product, in one currency."""

    product_id: str
    name: str
    """The product's name in the catalogue now (``""`` for a product since deleted)."""
    currency: str


@attrs.frozen(kw_only=True)
class CategorySales(LineFigures):
    """The lines of the products in one category (``""``: products in none)."""

    category_id: str
    name: str
    currency: str


@attrs.frozen(kw_only=True)
class DiscountUse:
    """What one promotion took off lines, through one coupon (``""``: without one)."""

    promotion_id: str
    name: str
    """The promotion's name (``""`` for one since deleted)."""
    coupon: str
    currency: str
    orders: int
    discount_units: int
    revenue_units: int
    """The grand totals of those orders: the sales the discount came with."""


@attrs.frozen(kw_only=True)
class SkuReturns:
    """One SKU: units sold, and how many of them are coming or came back."""

    sku: str
    sold: int
    returned: int
    returns: int
    """How many returns ask for it."""


@attrs.frozen(kw_only=True)
class ReasonReturns:
    """One reason for a return: how many returns give it, for how many units."""

    reason: str
    returns: int
    units: int


@attrs.frozen(kw_only=True)
class StockLevel:
    """One SKU's stock, all locations together, and its sales in the period."""

    sku: str
    on_hand: int
    reserved: int
    sold: int
    """Units that left the shelf as sales in the period (the stock ledger's)."""
    currency: str
    """The price list's currency (``""`` when no price list was named)."""
    unit_price_units: int | None
    """The SKU's list price in the price list, if it has one."""


@attrs.frozen(kw_only=True)
class CartRecoveries:
    """The carts watched for abandonment whose recovery ended in one currency: the
    currency of the order that recovered them (``""`` for the carts none did)."""

    currency: str
    carts: int
    """Carts watched (from when the store could write to their shopper)."""
    carts_reminded: int
    """Those sent at least one reminder."""
    reminders: int
    """Reminders written, all those carts together."""
    carts_restored: int
    """Those opened through a reminder's link at least once."""
    orders_recovered: int
    """Orders paid from one of those carts after a reminder (one per cart at most)."""
    revenue_units: int
    """What those orders came to: their grand totals."""
