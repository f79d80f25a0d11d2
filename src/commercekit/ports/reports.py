"""The report source port: what a storage sums for the reports.

Each method is one aggregate over the storage's data, and returns the rows
:mod:`commercekit.domain.reports.reference` defines, in its order, exactly: a
database answers with one query per report and never hands the store its orders one
by one. A storage offers a source through a ``reports()`` method; one that has none
(a plugin storage that does not sum) still runs a store, only not its reports.
"""

from __future__ import annotations

from typing import Protocol

from commercekit.domain.reports import (
    CartRecoveries,
    CategorySales,
    ChannelSales,
    DiscountUse,
    Granularity,
    Period,
    ProductSales,
    ReasonReturns,
    SalesBucket,
    SkuReturns,
    StockLevel,
)

__all__ = ["ReportSource", "ReportingStorage"]


class ReportSource(Protocol):
    """The sums behind every report but the funnel (the behaviour log counts that)."""

    def sales_over_time(self, period: Period, granularity: Granularity) -> list[SalesBucket]:
        """Counted orders per bucket and currency (see
        :func:`~commercekit.domain.reports.reference.sales_over_time`)."""
        ...

    def sales_by_product(self, period: Period, limit: int | None = None) -> list[ProductSales]:
        """Order lines per product and currency, the first ``limit`` of each currency
        when given (see :func:`~commercekit.domain.reports.reference.sales_by_product`)."""
        ...

    def sales_by_category(self, period: Period) -> list[CategorySales]:
        """Order lines per category and currency."""
        ...

    def sales_by_channel(self, period: Period) -> list[ChannelSales]:
        """Counted orders per channel and currency."""
        ...

    def discounts(self, period: Period) -> list[DiscountUse]:
        """Line discounts per promotion, coupon and currency."""
        ...

    def returns_by_product(self, period: Period) -> list[SkuReturns]:
        """Units sold and coming back per SKU."""
        ...

    def returns_by_reason(self, period: Period) -> list[ReasonReturns]:
        """Returns and units per reason."""
        ...

    def stock(self, period: Period, price_list_id: str | None = None) -> list[StockLevel]:
        """Stock per SKU with its sales in the period, priced from the price list
        ``price_list_id`` when one is named.

        :raises NotFound: naming ``price_list_id``, for a list the store does not have.
        """
        ...

    def abandoned_carts(self, period: Period) -> list[CartRecoveries]:
        """Carts watched in the period per currency of the order that recovered them
        (see :func:`~commercekit.domain.reports.reference.abandoned_carts`)."""
        ...


class ReportingStorage(Protocol):
    """A storage that can sum reports (the built-in ones can)."""

    def reports(self) -> ReportSource:
        """Its report source."""
        ...
