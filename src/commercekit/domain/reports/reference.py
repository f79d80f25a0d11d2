"""What each report means, said once in plain Python over small facts.

A storage that keeps its data in a database computes a report with one aggregate
query; these functions are the definition that query must agree with, row for row
(a property test runs both on the same random data). The memory storage simply
calls them.

The rules every sales report shares:

- An order counts when it was placed in the period and is not cancelled (nor being
  cancelled): an order waiting for its payment counts, since a declined payment
  cancels it.
- Figures are the order's as they stand now (an edited order counts as edited).
- Amounts are summed per currency, never converted.

Returns count against the orders they come from: a return of an order placed in the
period counts, whenever it was asked for, unless it was rejected or cancelled. So a
return rate is the share of the units sold in the period that are coming back or
came back.

Abandoned carts count by when their recovery began: a cart watched in the period
counts with every reminder, restore and recovering order it has had since, so that
a period's carts are followed to what came of them, not mixed with older carts'
late reminders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final, TypeVar

import attrs

from commercekit.domain.marketing.abandoned import RecoveryStatus
from commercekit.domain.orders import OrderStatus
from commercekit.domain.reports.period import Granularity, Period
from commercekit.domain.reports.rows import (
    CartRecoveries,
    CategorySales,
    ChannelSales,
    DiscountUse,
    ProductSales,
    ReasonReturns,
    SalesBucket,
    SkuReturns,
    StockLevel,
)
from commercekit.domain.returns import ReturnStatus

__all__ = [
    "NOT_COUNTED",
    "RECOVERED",
    "RETURNS_NOT_COUNTED",
    "Catalogue",
    "LineFact",
    "RecoveryFact",
    "ReturnFact",
    "SaleFact",
    "SoldFact",
    "StockFact",
    "abandoned_carts",
    "discounts",
    "returns_by_product",
    "returns_by_reason",
    "sales_by_category",
    "sales_by_channel",
    "sales_by_product",
    "sales_over_time",
    "stock",
]

#: The order statuses a sales report leaves out.
NOT_COUNTED: Final = frozenset({OrderStatus.CANCELLED.value, OrderStatus.CANCELLING.value})
#: The return statuses a returns report leaves out: the store said no, or the
#: customer took it back.
RETURNS_NOT_COUNTED: Final = frozenset({ReturnStatus.REJECTED.value, ReturnStatus.CANCELLED.value})
#: The recovery status of a cart an order brought back (after a reminder).
RECOVERED: Final = RecoveryStatus.RECOVERED.value

K = TypeVar("K")


@attrs.frozen(kw_only=True)
class LineFact:
    """An order line as a report reads it."""

    sku: str
    product_id: str
    quantity: int
    subtotal_units: int
    discount_units: int
    tax_units: int
    total_units: int
    adjustments: tuple[tuple[str, int], ...] = ()
    """``(promotion id, minor units)`` per discount on the line."""


@attrs.frozen(kw_only=True)
class SaleFact:
    """An order as a report reads it."""

    order_id: str
    placed_at: datetime
    status: str
    channel: str
    """``""`` for an order placed in no channel."""
    currency: str
    subtotal_units: int
    discount_units: int
    shipping_units: int
    tax_units: int
    grand_total_units: int
    lines: tuple[LineFact, ...]
    coupons: tuple[tuple[str, str], ...] = ()
    """``(code, promotion id)`` of each coupon the order used."""


@attrs.frozen(kw_only=True)
class ReturnFact:
    """A return as a report reads it."""

    return_id: str
    order_id: str
    status: str
    lines: tuple[tuple[str, int, str], ...]
    """``(sku, quantity, reason)`` per line."""


@attrs.frozen(kw_only=True)
class StockFact:
    """A stock item as a report reads it."""

    sku: str
    location_id: str
    on_hand: int
    reserved: int


@attrs.frozen(kw_only=True)
class SoldFact:
    """A sale in the stock ledger: ``quantity`` units of ``sku`` left at ``at``."""

    sku: str
    quantity: int
    at: datetime


@attrs.frozen(kw_only=True)
class RecoveryFact:
    """A cart's recovery as a report reads it."""

    cart_id: str
    watched_at: datetime
    status: str
    notices: int
    """Reminders written for the cart."""
    restores: int
    """How often its restore link was used."""
    currency: str
    """The recovering order's currency (``""`` before one)."""
    revenue_units: int
    """The recovering order's grand total."""


@attrs.frozen(kw_only=True)
class Catalogue:
    """What a report names things by, from the catalogue as it is now."""

    product_names: Mapping[str, str] = attrs.field(factory=dict)
    product_categories: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    category_names: Mapping[str, str] = attrs.field(factory=dict)
    promotion_names: Mapping[str, str] = attrs.field(factory=dict)


def _counted(sales: Iterable[SaleFact], period: Period) -> list[SaleFact]:
    return [s for s in sales if period.contains(s.placed_at) and s.status not in NOT_COUNTED]


def _units(sale: SaleFact) -> int:
    return sum(line.quantity for line in sale.lines)


def _order_figures(sales: list[SaleFact]) -> dict[str, int]:
    return {
        "orders": len(sales),
        "units": sum(_units(s) for s in sales),
        "gross_units": sum(s.subtotal_units for s in sales),
        "discount_units": sum(s.discount_units for s in sales),
        "shipping_units": sum(s.shipping_units for s in sales),
        "tax_units": sum(s.tax_units for s in sales),
        "revenue_units": sum(s.grand_total_units for s in sales),
    }


def _grouped(items: Iterable[tuple[K, SaleFact]]) -> dict[K, list[SaleFact]]:
    groups: dict[K, list[SaleFact]] = {}
    for key, sale in items:
        groups.setdefault(key, []).append(sale)
    return groups


def sales_over_time(
    sales: Iterable[SaleFact], period: Period, granularity: Granularity
) -> list[SalesBucket]:
    """Counted orders per bucket and currency, by bucket then currency; a bucket
    without orders has no row."""
    groups = _grouped(
        ((granularity.bucket(s.placed_at), s.currency), s) for s in _counted(sales, period)
    )
    return [
        SalesBucket(start=start, currency=currency, **_order_figures(groups[(start, currency)]))
        for start, currency in sorted(groups)
    ]


def sales_by_channel(sales: Iterable[SaleFact], period: Period) -> list[ChannelSales]:
    """Counted orders per channel and currency, by currency, then revenue (highest
    first), then channel."""
    groups = _grouped(((s.channel, s.currency), s) for s in _counted(sales, period))
    rows = [
        ChannelSales(channel=channel, currency=currency, **_order_figures(found))
        for (channel, currency), found in groups.items()
    ]
    return sorted(rows, key=lambda r: (r.currency, -r.revenue_units, r.channel))


def _line_figures(lines: list[tuple[str, LineFact]]) -> dict[str, int]:
    return {
        "orders": len({order_id for order_id, _ in lines}),
        "units": sum(line.quantity for _, line in lines),
        "gross_units": sum(line.subtotal_units for _, line in lines),
        "discount_units": sum(line.discount_units for _, line in lines),
        "tax_units": sum(line.tax_units for _, line in lines),
        "revenue_units": sum(line.total_units for _, line in lines),
    }


def _top(rows: list[ProductSales], limit: int | None) -> list[ProductSales]:
    if limit is None:
        return rows
    kept: list[ProductSales] = []
    seen: dict[str, int] = {}
    for row in rows:
        seen[row.currency] = seen.get(row.currency, 0) + 1
        if seen[row.currency] <= limit:
            kept.append(row)
    return kept


def sales_by_product(
    sales: Iterable[SaleFact], period: Period, catalogue: Catalogue, limit: int | None = None
) -> list[ProductSales]:
    """The lines of counted orders per product and currency, by currency, then
    revenue, then units (highest first), then product id; the first ``limit`` of each
    currency when a limit is given (the top sellers)."""
    lines: dict[tuple[str, str], list[tuple[str, LineFact]]] = {}
    for sale in _counted(sales, period):
        for line in sale.lines:
            lines.setdefault((line.product_id, sale.currency), []).append((sale.order_id, line))
    rows = sorted(
        (
            ProductSales(
                product_id=product_id,
                name=catalogue.product_names.get(product_id, ""),
                currency=currency,
                **_line_figures(found),
            )
            for (product_id, currency), found in lines.items()
        ),
        key=lambda r: (r.currency, -r.revenue_units, -r.units, r.product_id),
    )
    return _top(rows, limit)


def sales_by_category(
    sales: Iterable[SaleFact], period: Period, catalogue: Catalogue
) -> list[CategorySales]:
    """The lines of counted orders per category of their product (a line counts in
    each of its product's categories; a product in none, or deleted, counts under
    ``""``) and currency, by currency, then revenue (highest first), then category."""
    lines: dict[tuple[str, str], list[tuple[str, LineFact]]] = {}
    for sale in _counted(sales, period):
        for line in sale.lines:
            for category_id in catalogue.product_categories.get(line.product_id) or ("",):
                key = (category_id, sale.currency)
                lines.setdefault(key, []).append((sale.order_id, line))
    rows = [
        CategorySales(
            category_id=category_id,
            name=catalogue.category_names.get(category_id, ""),
            currency=currency,
            **_line_figures(found),
        )
        for (category_id, currency), found in lines.items()
    ]
    return sorted(rows, key=lambda r: (r.currency, -r.revenue_units, r.category_id))


def discounts(sales: Iterable[SaleFact], period: Period, catalogue: Catalogue) -> list[DiscountUse]:
    """What each promotion took off the lines of counted orders, per coupon it came
    through (the smallest code of the order's coupons for that promotion; ``""`` for
    none) and currency, with those orders' revenue; by currency, then discount
    (highest first), then promotion and coupon. Shipping discounts are not kept per
    promotion in an order: they are in the sales reports' discount, not here."""
    uses: dict[tuple[str, str, str], list[int]] = {}
    for sale in _counted(sales, period):
        taken: dict[str, int] = {}
        for line in sale.lines:
            for promotion_id, units in line.adjustments:
                taken[promotion_id] = taken.get(promotion_id, 0) + units
        for promotion_id, units in taken.items():
            codes = [code for code, promotion in sale.coupons if promotion == promotion_id]
            key = (promotion_id, min(codes, default=""), sale.currency)
            found = uses.setdefault(key, [0, 0, 0])
            found[0] += 1
            found[1] += units
            found[2] += sale.grand_total_units
    rows = [
        DiscountUse(
            promotion_id=promotion_id,
            name=catalogue.promotion_names.get(promotion_id, ""),
            coupon=coupon,
            currency=currency,
            orders=orders,
            discount_units=units,
            revenue_units=revenue,
        )
        for (promotion_id, coupon, currency), (orders, units, revenue) in uses.items()
    ]
    return sorted(rows, key=lambda r: (r.currency, -r.discount_units, r.promotion_id, r.coupon))


def _counted_returns(sales: list[SaleFact], returns: Iterable[ReturnFact]) -> list[ReturnFact]:
    orders = {sale.order_id for sale in sales}
    return [r for r in returns if r.order_id in orders and r.status not in RETURNS_NOT_COUNTED]


def returns_by_product(
    sales: Iterable[SaleFact], returns: Iterable[ReturnFact], period: Period
) -> list[SkuReturns]:
    """Per SKU with a unit coming back from a counted order: units sold in counted
    orders, units coming back from them, and the returns asking; by units returned
    (most first), then SKU."""
    counted = _counted(sales, period)
    sold: dict[str, int] = {}
    for sale in counted:
        for line in sale.lines:
            sold[line.sku] = sold.get(line.sku, 0) + line.quantity
    returned: dict[str, int] = {}
    asking: dict[str, set[str]] = {}
    for found in _counted_returns(counted, returns):
        for sku, quantity, _ in found.lines:
            returned[sku] = returned.get(sku, 0) + quantity
            asking.setdefault(sku, set()).add(found.return_id)
    rows = [
        SkuReturns(sku=sku, sold=sold.get(sku, 0), returned=units, returns=len(asking[sku]))
        for sku, units in returned.items()
    ]
    return sorted(rows, key=lambda r: (-r.returned, r.sku))


def returns_by_reason(
    sales: Iterable[SaleFact], returns: Iterable[ReturnFact], period: Period
) -> list[ReasonReturns]:
    """Per reason given for a unit coming back from a counted order: the returns
    giving it and their units; by units (most first), then reason."""
    units: dict[str, int] = {}
    giving: dict[str, set[str]] = {}
    for found in _counted_returns(_counted(sales, period), returns):
        for _, quantity, reason in found.lines:
            units[reason] = units.get(reason, 0) + quantity
            giving.setdefault(reason, set()).add(found.return_id)
    rows = [
        ReasonReturns(reason=reason, returns=len(giving[reason]), units=count)
        for reason, count in units.items()
    ]
    return sorted(rows, key=lambda r: (-r.units, r.reason))


def stock(
    items: Iterable[StockFact],
    sold: Iterable[SoldFact],
    period: Period,
    *,
    currency: str = "",
    prices: Mapping[str, int] | None = None,
) -> list[StockLevel]:
    """Per SKU with a stock item: on hand and reserved at every location together,
    units the ledger records as sold in the period, and its list price in
    ``prices`` (minor units of ``currency``); by SKU."""
    levels: dict[str, list[int]] = {}
    for item in items:
        found = levels.setdefault(item.sku, [0, 0])
        found[0] += item.on_hand
        found[1] += item.reserved
    moved: dict[str, int] = {}
    for sale in sold:
        if period.contains(sale.at):
            moved[sale.sku] = moved.get(sale.sku, 0) + sale.quantity
    listed = prices or {}
    return [
        StockLevel(
            sku=sku,
            on_hand=on_hand,
            reserved=reserved,
            sold=moved.get(sku, 0),
            currency=currency,
            unit_price_units=listed.get(sku),
        )
        for sku, (on_hand, reserved) in sorted(levels.items())
    ]


def abandoned_carts(recoveries: Iterable[RecoveryFact], period: Period) -> list[CartRecoveries]:
    """Carts watched in the period, per currency of the order that recovered them
    (``""`` for a cart no order recovered): carts, those reminded (a reminder or
    more), reminders, those opened through their link (once or more), the orders
    recovered (a cart whose status is recovered: its order was paid after a
    reminder) and their revenue; by currency. A period in which no cart was watched
    has no row."""
    figures: dict[str, list[int]] = {}
    for fact in recoveries:
        if not period.contains(fact.watched_at):
            continue
        recovered = fact.status == RECOVERED
        found = figures.setdefault(fact.currency if recovered else "", [0, 0, 0, 0, 0, 0])
        found[0] += 1
        found[1] += int(fact.notices > 0)
        found[2] += fact.notices
        found[3] += int(fact.restores > 0)
        found[4] += int(recovered)
        found[5] += fact.revenue_units if recovered else 0
    return [
        CartRecoveries(
            currency=currency,
            carts=carts,
            carts_reminded=reminded,
            reminders=reminders,
            carts_restored=restored,
            orders_recovered=recovered,
            revenue_units=revenue,
        )
        for currency, (carts, reminded, reminders, restored, recovered, revenue) in sorted(
            figures.items()
        )
    ]
