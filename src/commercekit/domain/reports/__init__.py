"""Reports: sales over time and by product, category and channel; discounts;
returns; stock; the funnel; abandoned carts.

A report is defined here twice over, and the two halves are kept apart on purpose:

- :mod:`~commercekit.domain.reports.reference` says which orders, returns and stock
  count and what each figure sums, as plain Python over small facts. A storage
  computes the same sums with one aggregate query per report, and a property test
  holds it to these functions; the memory storage calls them.
- :mod:`~commercekit.domain.reports.tables` turns the sums
  (:mod:`~commercekit.domain.reports.rows`, whole numbers only) into the
  :class:`ReportTable` a merchant reads: amounts, averages and rates, worked out
  once, after aggregation, the same way whichever storage summed.
"""

from __future__ import annotations

from typing import Final

from commercekit.domain.reports.period import MAX_PERIOD_DAYS, Granularity, Period
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
    "MAX_PERIOD_DAYS",
    "REPORTS",
    "TIME_SERIES",
    "CartRecoveries",
    "CategorySales",
    "Cell",
    "ChannelSales",
    "Column",
    "ColumnKind",
    "DiscountUse",
    "Granularity",
    "LineFigures",
    "OrderFigures",
    "Period",
    "ProductSales",
    "ReasonReturns",
    "ReportTable",
    "SalesBucket",
    "Series",
    "SkuReturns",
    "StockLevel",
]

#: Every report a store runs, by name, with what it shows.
REPORTS: Final = {
    "sales": "orders, units, revenue and average order value per day, week or month",
    "sales_by_product": "sales per product",
    "top_products": "the best-selling products (by revenue) of each currency",
    "sales_by_category": "sales per category of the products sold",
    "sales_by_channel": "sales per sales channel",
    "funnel": "visitors who viewed a product, added to a cart, checked out, ordered",
    "discounts": "discount given per promotion and coupon, with its revenue",
    "returns_by_product": "units sold and returned per SKU, and the return rate",
    "returns_by_reason": "returns and units per reason given",
    "stock": "stock on hand, its value, days of cover and overstock per SKU",
    "abandoned_carts": "carts watched, reminded, opened from their link and recovered, "
    "with the revenue, per currency of the recovering order",
}
#: The reports that are time series (a chart draws them).
TIME_SERIES: Final = frozenset({"sales"})
