"""Where an order's stock ships from: allocation strategies and the plan they make."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from commercekit.domain.errors import InsufficientStock
from commercekit.domain.inventory.locations import StockLocation
from commercekit.domain.inventory.stock import StockItem

__all__ = [
    "Allocation",
    "AllocationStrategy",
    "FewestLocations",
    "PriorityOrder",
    "allocate_stock",
]


@attrs.frozen
class Allocation:
    """Take ``quantity`` of ``sku`` from ``location_id``."""

    sku: str
    location_id: str
    quantity: int


AllocationStrategy = Callable[
    [Mapping[str, int], Sequence[StockLocation], Mapping[tuple[str, str], int], Mapping[str, int]],
    list[Allocation],
]
"""``(wanted per SKU, locations in preference order, available per (SKU, location),
floor per SKU) -> allocations``. A strategy may leave a SKU short; the caller then
refuses the sale."""


def PriorityOrder(
    wanted: Mapping[str, int],
    locations: Sequence[StockLocation],
    available: Mapping[tuple[str, str], int],
    floors: Mapping[str, int],
) -> list[Allocation]:
    """Fill each SKU from the locations in priority order, splitting where needed;
    what is owed on backorder lands on the first location."""
    plan: list[Allocation] = []
    for sku, quantity in wanted.items():
        left = quantity
        for location in locations:
            take = min(left, max(available.get((sku, location.id), 0), 0))
            if take > 0:
                plan.append(Allocation(sku, location.id, take))
                left -= take
        if left > 0 and locations and floors.get(sku, 0) < 0:
            first = locations[0].id
            merged = [a for a in plan if (a.sku, a.location_id) == (sku, first)]
            plan = [a for a in plan if (a.sku, a.location_id) != (sku, first)]
            plan.append(Allocation(sku, first, left + sum(a.quantity for a in merged)))
    return plan


def FewestLocations(
    wanted: Mapping[str, int],
    locations: Sequence[StockLocation],
    available: Mapping[tuple[str, str], int],
    floors: Mapping[str, int],
) -> list[Allocation]:
    """Prefer one location that can ship the whole order; else priority order."""
    for location in locations:
        if all(available.get((sku, location.id), 0) >= q for sku, q in wanted.items()):
            return [Allocation(sku, location.id, q) for sku, q in wanted.items()]
    return PriorityOrder(wanted, locations, available, floors)


def allocate_stock(
    wanted: Mapping[str, int],
    locations: Sequence[StockLocation],
    items: Iterable[StockItem],
    floors: Mapping[str, int],
    *,
    country: str | None = None,
    strategy: AllocationStrategy = PriorityOrder,
) -> list[Allocation]:
    """Decide where each SKU ships from.

    Two cart lines that draw on the same SKU are checked together: ``wanted`` is
    per SKU.

    :raises InsufficientStock: for a SKU the locations serving ``country`` cannot
        cover (within its backorder floor).
    """
    serving = sorted(
        (place for place in locations if place.serves(country)),
        key=lambda place: (place.priority, place.id),
    )
    open_ids = {place.id for place in serving}
    available = {(i.sku, i.location_id): i.available for i in items if i.location_id in open_ids}
    plan = strategy(wanted, serving, available, floors)
    for sku, quantity in wanted.items():
        planned = sum(a.quantity for a in plan if a.sku == sku)
        total = sum(v for (s, _), v in available.items() if s == sku)
        if planned != quantity or total - quantity < floors.get(sku, 0):
            raise InsufficientStock(sku, quantity, total - floors.get(sku, 0))
    return sorted(plan, key=lambda a: (a.sku, a.location_id))
