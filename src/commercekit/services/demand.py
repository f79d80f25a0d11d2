"""Reorder suggestions from demand: how fast each SKU sells at each location, read
from the sales in its ledger, with its lead time and a safety stock from how unsteadily
it sells (see :mod:`commercekit.domain.marketing.reorder`).

Beside :meth:`~commercekit.services.inventory.InventoryService.reorder_suggestions`,
which follows the fixed reorder point an item is configured with, this follows the
sales: the point rises as a SKU sells faster and falls as it slows.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.identifiers import check_key, check_keys, check_whole_number
from commercekit.domain.marketing.reorder import (
    DemandPolicy,
    ReorderSuggestion,
    daily_sales,
    on_order,
    sales_window,
    suggestions,
)
from commercekit.domain.money import to_decimal
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Service

__all__ = ["DemandService"]

#: The most SKUs one call weighs (each costs a read of its ledger per location).
MOST_SKUS = 500
#: The most purchase orders one call counts as owed.
MOST_PURCHASE_ORDERS = 100


class DemandService(Service):
    """What to reorder, by what sells."""

    def reorder_suggestions(
        self,
        skus: Sequence[str],
        *,
        location_id: str | None = None,
        purchase_order_ids: Sequence[str] = (),
        service_level: Decimal | str = "0.95",
        lead_time_days: int = 7,
    ) -> list[ReorderSuggestion]:
        """The stock items of ``skus`` (at ``location_id``, or everywhere) whose stock
        position is at or below their demand-based reorder point, with the units that
        bring it up to the order-up-to level, by SKU then location.

        :param purchase_order_ids: purchase orders whose units still due count as on
            their way (drafts too; cancelled and received ones owe nothing).
        :param service_level: the share of replenishment cycles meant to end without
            running out (a decimal from 0.5 to 0.9999).
        :param lead_time_days: for items whose reorder policy gives none.
        :raises InvalidInput: naming the argument (unknown location, too many SKUs,
            a service level out of range...).
        :raises NotFound: naming ``purchase_order_id``, for an unknown purchase order.
        """
        skus = check_keys(skus, "skus")
        if not 1 <= len(skus) <= MOST_SKUS:
            raise InvalidInput(f"name 1 to {MOST_SKUS} SKUs", field="skus")
        if location_id is not None:
            check_key(location_id, "location_id")
        orders = check_keys(purchase_order_ids, "purchase_order_ids")
        if len(orders) > MOST_PURCHASE_ORDERS:
            raise InvalidInput(
                f"at most {MOST_PURCHASE_ORDERS} purchase orders", field="purchase_order_ids"
            )
        level = to_decimal(service_level, field="service_level")
        lead_time_days = check_whole_number(lead_time_days, "lead_time_days")
        if not 0 <= lead_time_days <= 365:
            raise InvalidInput(
                "must be a whole number of days from 0 to 365", field="lead_time_days"
            )
        policy = DemandPolicy(service_level=level)
        first, last = sales_window(self.now, policy)

        def work(uow: UnitOfWork) -> list[ReorderSuggestion]:
            if location_id is not None and location_id not in {
                place.id for place in uow.inventory.locations()
            }:
                raise InvalidInput(f"no stock location {shown(location_id)}", field="location_id")
            items = [
                item
                for item in uow.inventory.items(skus)
                if location_id is None or item.location_id == location_id
            ]
            sales = {
                item.key: daily_sales(
                    uow.inventory.movements(item.sku, item.location_id), first=first, last=last
                )
                for item in items
            }
            owed = on_order(uow.inventory.purchase_order(order_id) for order_id in orders)
            return suggestions(items, sales, owed, policy=policy, lead_time_days=lead_time_days)

        return self._read(work)
