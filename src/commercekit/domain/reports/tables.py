"""From aggregated rows to the tables a merchant reads: averages, rates and amounts,
worked out after the sums, from the sums alone.

Amounts are the summed minor units written in the currency's major unit, exactly.
The average order value is revenue over orders, rounded half-even to the minor unit
(through :func:`commercekit.domain.money.quantize`); rates are shares to four
places, half-even; nothing passes through a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

from commercekit.domain.marketing.behaviour import Funnel
from commercekit.domain.money import Rounding, currency_precision, quantize
from commercekit.domain.reports.period import Granularity, Period
from commercekit.domain.reports.rows import (
    CartRecoveries,
    CategorySales,
    ChannelSales,
    DiscountUse,
    LineFigures,
    OrderFigures,
    ProductSales,
    ReasonReturns,
    SalesBucket,
    SkuReturns,
    StockLevel,
)
from commercekit.domain.reports.table import Cell, Column, ColumnKind, ReportTable, Series

__all__ = [
    "abandoned_carts_table",
    "amount",
    "average",
    "discounts_table",
    "funnel_table",
    "rate",
    "returns_by_product_table",
    "returns_by_reason_table",
    "sales_by_category_table",
    "sales_by_channel_table",
    "sales_by_product_table",
    "sales_table",
    "stock_table",
]

_RATE: Final = Decimal("0.0001")
_PER_DAY: Final = Decimal("0.01")
_COVER: Final = Decimal("0.1")
_DAY_MICROSECONDS: Final = timedelta(days=1) // timedelta(microseconds=1)

_TEXT, _DATE, _COUNT = ColumnKind.TEXT, ColumnKind.DATE, ColumnKind.COUNT
_AMOUNT, _RATE_KIND, _DECIMAL = ColumnKind.AMOUNT, ColumnKind.RATE, ColumnKind.DECIMAL


def amount(units: int, currency: str) -> Decimal:
    """``units`` minor units of ``currency`` in its major unit, exactly."""
    return Decimal(units).scaleb(-currency_precision(currency))


def average(total_units: int, count: int, currency: str) -> Decimal | None:
    """``total_units / count`` in the currency's major unit, rounded half-even to the
    minor unit; ``None`` for a count of nothing."""
    if not count:
        return None
    return quantize(amount(total_units, currency) / count, currency, Rounding.HALF_EVEN)


def rate(part: int, whole: int) -> Decimal | None:
    """``part / whole`` to four places, half-even; ``None`` for a whole of nothing."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(_RATE, rounding=ROUND_HALF_EVEN)


_ORDER_COLUMNS: Final = (
    Column("orders", _COUNT),
    Column("units", _COUNT),
    Column("gross", _AMOUNT),
    Column("discount", _AMOUNT),
    Column("shipping", _AMOUNT),
    Column("tax", _AMOUNT),
    Column("revenue", _AMOUNT),
    Column("average_order_value", _AMOUNT),
)
_LINE_COLUMNS: Final = (
    Column("orders", _COUNT),
    Column("units", _COUNT),
    Column("gross", _AMOUNT),
    Column("discount", _AMOUNT),
    Column("tax", _AMOUNT),
    Column("revenue", _AMOUNT),
)


def _order_cells(row: OrderFigures, currency: str) -> tuple[Cell, ...]:
    return (
        row.orders,
        row.units,
        amount(row.gross_units, currency),
        amount(row.discount_units, currency),
        amount(row.shipping_units, currency),
        amount(row.tax_units, currency),
        amount(row.revenue_units, currency),
        average(row.revenue_units, row.orders, currency),
    )


def _line_cells(row: LineFigures, currency: str) -> tuple[Cell, ...]:
    return (
        row.orders,
        row.units,
        amount(row.gross_units, currency),
        amount(row.discount_units, currency),
        amount(row.tax_units, currency),
        amount(row.revenue_units, currency),
    )


def _empty_bucket(start: date, currency: str) -> SalesBucket:
    return SalesBucket(
        start=start,
        currency=currency,
        orders=0,
        units=0,
        gross_units=0,
        discount_units=0,
        shipping_units=0,
        tax_units=0,
        revenue_units=0,
    )


def sales_table(
    rows: Sequence[SalesBucket], period: Period, granularity: Granularity
) -> ReportTable:
    """Sales over time: a row per bucket of the period and currency sold in, a
    bucket without orders showing noughts, so that a chart has no gaps."""
    found = {(row.start, row.currency): row for row in rows}
    currencies = sorted({row.currency for row in rows})
    filled = [
        found.get((start, currency)) or _empty_bucket(start, currency)
        for start in granularity.buckets(period)
        for currency in currencies
    ]
    return ReportTable(
        name="sales",
        columns=(Column("period", _DATE), Column("currency"), *_ORDER_COLUMNS),
        rows=tuple((row.start, row.currency, *_order_cells(row, row.currency)) for row in filled),
        series=Series(x="period", y="revenue", group="currency"),
    )


def sales_by_channel_table(rows: Sequence[ChannelSales]) -> ReportTable:
    """Sales per channel (``""``: orders placed in none)."""
    return ReportTable(
        name="sales_by_channel",
        columns=(Column("channel"), Column("currency"), *_ORDER_COLUMNS),
        rows=tuple((r.channel, r.currency, *_order_cells(r, r.currency)) for r in rows),
    )


def sales_by_product_table(rows: Sequence[ProductSales], *, name: str) -> ReportTable:
    """Sales per product (``name``: ``sales_by_product``, or ``top_products`` for
    the top sellers)."""
    return ReportTable(
        name=name,
        columns=(Column("product_id"), Column("name"), Column("currency"), *_LINE_COLUMNS),
        rows=tuple((r.product_id, r.name, r.currency, *_line_cells(r, r.currency)) for r in rows),
    )


def sales_by_category_table(rows: Sequence[CategorySales]) -> ReportTable:
    """Sales per category."""
    return ReportTable(
        name="sales_by_category",
        columns=(Column("category_id"), Column("name"), Column("currency"), *_LINE_COLUMNS),
        rows=tuple((r.category_id, r.name, r.currency, *_line_cells(r, r.currency)) for r in rows),
    )


def discounts_table(rows: Sequence[DiscountUse]) -> ReportTable:
    """Discounts per promotion and coupon, with the revenue they came with."""
    return ReportTable(
        name="discounts",
        columns=(
            Column("promotion_id"),
            Column("name"),
            Column("coupon"),
            Column("currency"),
            Column("orders", _COUNT),
            Column("discount", _AMOUNT),
            Column("revenue", _AMOUNT),
        ),
        rows=tuple(
            (
                r.promotion_id,
                r.name,
                r.coupon,
                r.currency,
                r.orders,
                amount(r.discount_units, r.currency),
                amount(r.revenue_units, r.currency),
            )
            for r in rows
        ),
    )


def returns_by_product_table(rows: Sequence[SkuReturns]) -> ReportTable:
    """Return rate per SKU: units coming back over units sold."""
    return ReportTable(
        name="returns_by_product",
        columns=(
            Column("sku"),
            Column("sold", _COUNT),
            Column("returned", _COUNT),
            Column("returns", _COUNT),
            Column("return_rate", _RATE_KIND),
        ),
        rows=tuple((r.sku, r.sold, r.returned, r.returns, rate(r.returned, r.sold)) for r in rows),
    )


def returns_by_reason_table(rows: Sequence[ReasonReturns]) -> ReportTable:
    """Returns per reason, with each reason's share of the units coming back."""
    total = sum(r.units for r in rows)
    return ReportTable(
        name="returns_by_reason",
        columns=(
            Column("reason"),
            Column("returns", _COUNT),
            Column("units", _COUNT),
            Column("share", _RATE_KIND),
        ),
        rows=tuple((r.reason, r.returns, r.units, rate(r.units, total)) for r in rows),
    )


def stock_table(rows: Sequence[StockLevel], period: Period, overstock_days: int) -> ReportTable:
    """Stock value, days of cover and overstock per SKU.

    Units sold a day are the period's sales over its length in days; days of cover
    are on hand over that (``None`` with no sales); a SKU is overstocked when it has
    stock on hand that would last more than ``overstock_days`` at that pace (or that
    did not sell at all), decided on the exact figures, not the rounded ones.
    """
    days = period.days
    cells: list[tuple[Cell, ...]] = []
    for r in rows:
        price = r.unit_price_units if r.currency else None
        cover = None
        if r.sold:
            cover = (Decimal(r.on_hand) * days / r.sold).quantize(_COVER, ROUND_HALF_EVEN)
        cells.append(
            (
                r.sku,
                r.on_hand,
                r.reserved,
                r.on_hand - r.reserved,
                r.sold,
                (Decimal(r.sold) / days).quantize(_PER_DAY, ROUND_HALF_EVEN),
                cover,
                r.currency,
                None if price is None else amount(price, r.currency),
                None if price is None else amount(r.on_hand * price, r.currency),
                r.on_hand > 0
                and r.on_hand * period.microseconds > overstock_days * _DAY_MICROSECONDS * r.sold,
            )
        )
    return ReportTable(
        name="stock",
        columns=(
            Column("sku"),
            Column("on_hand", _COUNT),
            Column("reserved", _COUNT),
            Column("available", _COUNT),
            Column("sold", _COUNT),
            Column("sold_per_day", _DECIMAL),
            Column("days_of_cover", _DECIMAL),
            Column("currency"),
            Column("unit_price", _AMOUNT),
            Column("stock_value", _AMOUNT),
            Column("overstock", ColumnKind.FLAG),
        ),
        rows=tuple(cells),
    )


def funnel_table(funnel: Funnel) -> ReportTable:
    """The funnel: distinct visitors at each step, and the share that went on."""
    return ReportTable(
        name="funnel",
        columns=(
            Column("step"),
            Column("visitors", _COUNT),
            Column("of_previous", _RATE_KIND),
            Column("of_first", _RATE_KIND),
        ),
        rows=tuple(
            (step.kind.value, step.visitors, step.of_previous, step.of_first)
            for step in funnel.steps
        ),
    )


def abandoned_carts_table(rows: Sequence[CartRecoveries]) -> ReportTable:
    """Abandoned carts per currency of the recovering order, with two shares of the
    period's carts: ``reminded_share``, the row's carts reminded over every cart
    watched, and ``recovered_share``, the row's orders recovered over every cart
    reminded. Shares of the whole, not of the row, because a row is already split by
    the outcome (a recovered cart is in its order's currency, the others under
    ``""``): within a row the recovery rate would say nothing. Summed over the rows
    they give the period's rates (to the rounding)."""
    watched = sum(r.carts for r in rows)
    reminded = sum(r.carts_reminded for r in rows)
    return ReportTable(
        name="abandoned_carts",
        columns=(
            Column("currency"),
            Column("carts", _COUNT),
            Column("carts_reminded", _COUNT),
            Column("reminders", _COUNT),
            Column("carts_restored", _COUNT),
            Column("orders_recovered", _COUNT),
            Column("revenue", _AMOUNT),
            Column("reminded_share", _RATE_KIND),
            Column("recovered_share", _RATE_KIND),
        ),
        rows=tuple(
            (
                r.currency,
                r.carts,
                r.carts_reminded,
                r.reminders,
                r.carts_restored,
                r.orders_recovered,
                amount(r.revenue_units, r.currency) if r.currency else None,
                rate(r.carts_reminded, watched),
                rate(r.orders_recovered, reminded),
            )
            for r in rows
        ),
    )
