"""Reports: a store's figures for a period, as tables to print, write or draw.

Every report but the funnel is summed by the storage (one aggregate query each on
SQL storage; see :mod:`commercekit.ports.reports`), then finished by the domain
(:mod:`commercekit.domain.reports.tables`): amounts, averages and rates are worked
out the same way on every storage. The funnel is the behaviour log's own count
(:meth:`~commercekit.services.behaviour.BehaviourService.funnel`), shown as a table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from commercekit.domain.errors import ConfigurationError, InvalidInput
from commercekit.domain.identifiers import check_key, check_whole_number
from commercekit.domain.reports import REPORTS, Granularity, Period, ReportTable
from commercekit.domain.reports import tables as finish
from commercekit.ports.reports import ReportSource
from commercekit.services.base import Runtime, Service
from commercekit.services.behaviour import BehaviourService

__all__ = ["MAX_LIMIT", "MAX_OVERSTOCK_DAYS", "ReportService"]

#: The most products a top-products report lists per currency.
MAX_LIMIT: Final = 1000
#: The longest stock cover a stock report accepts as the overstock line.
MAX_OVERSTOCK_DAYS: Final = 3660


def _granularity(value: object) -> Granularity:
    if isinstance(value, Granularity):
        return value
    if isinstance(value, str):
        for granularity in Granularity:
            if granularity.value == value:
                return granularity
    raise InvalidInput("must be day, week or month", field="by")


def _bounded(value: object, field: str, most: int) -> int:
    number = check_whole_number(value, field)
    if not 1 <= number <= most:
        raise InvalidInput(f"must be from 1 to {most:,}", field=field)
    return number


class ReportService(Service):
    """Runs the store's reports (see :data:`~commercekit.domain.reports.REPORTS`)."""

    def __init__(self, runtime: Runtime, behaviour: BehaviourService) -> None:
        super().__init__(runtime)
        self._behaviour = behaviour

    def _source(self) -> ReportSource:
        storage = self._rt.storage
        reports = getattr(storage, "reports", None)
        if not callable(reports):
            raise ConfigurationError(
                f"{type(storage).__name__} sums no reports (it has no reports() method)",
                field="storage",
            )
        source: ReportSource = reports()
        return source

    def run(
        self,
        name: str,
        *,
        since: datetime,
        until: datetime,
        by: Granularity | str = Granularity.DAY,
        limit: int = 10,
        price_list_id: str | None = None,
        overstock_days: int = 90,
    ) -> ReportTable:
        """The report ``name`` for the period from ``since`` (included) to ``until``
        (excluded).

        :param by: ``day``, ``week`` or ``month`` (UTC; weeks from Monday): the
            buckets of the ``sales`` report.
        :param limit: how many products ``top_products`` lists per currency.
        :param price_list_id: the price list ``stock`` values stock at (no values
            without one).
        :param overstock_days: the days of cover past which ``stock`` calls a SKU
            overstocked.
        :raises InvalidInput: naming the argument that is wrong (``name`` for a
            report the store does not have), or ``behaviour`` for the funnel of a
            store that keeps no behaviour log.
        :raises NotFound: naming ``price_list_id``, for a list the store does not have.
        :raises ConfigurationError: naming ``storage``, for a storage that sums no
            reports.
        """
        report = check_key(name, "name")
        if report not in REPORTS:
            raise InvalidInput(f"no such report; one of {', '.join(REPORTS)}", field="name")
        period = Period(since=since, until=until)
        granularity = _granularity(by)
        top = _bounded(limit, "limit", MAX_LIMIT)
        price_list = None if price_list_id is None else check_key(price_list_id, "price_list_id")
        overstock = _bounded(overstock_days, "overstock_days", MAX_OVERSTOCK_DAYS)
        if report == "funnel":
            return finish.funnel_table(self._behaviour.funnel(since=since, until=until))
        source = self._source()
        runs: dict[str, Callable[[], ReportTable]] = {
            "sales": lambda: finish.sales_table(
                source.sales_over_time(period, granularity), period, granularity
            ),
            "sales_by_product": lambda: finish.sales_by_product_table(
                source.sales_by_product(period), name="sales_by_product"
            ),
            "top_products": lambda: finish.sales_by_product_table(
                source.sales_by_product(period, top), name="top_products"
            ),
            "sales_by_category": lambda: finish.sales_by_category_table(
                source.sales_by_category(period)
            ),
            "sales_by_channel": lambda: finish.sales_by_channel_table(
                source.sales_by_channel(period)
            ),
            "discounts": lambda: finish.discounts_table(source.discounts(period)),
            "returns_by_product": lambda: finish.returns_by_product_table(
                source.returns_by_product(period)
            ),
            "returns_by_reason": lambda: finish.returns_by_reason_table(
                source.returns_by_reason(period)
            ),
            "stock": lambda: finish.stock_table(
                source.stock(period, price_list), period, overstock
            ),
            "abandoned_carts": lambda: finish.abandoned_carts_table(source.abandoned_carts(period)),
        }
        return runs[report]()
