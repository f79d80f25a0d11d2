"""Inventory: stock across locations, kept as a ledger of movements.

On hand at a location is always the sum of its movements; reserved is what orders
hold; available is on hand less reserved. Available never goes below zero unless the
variant allows backorders (then never below minus the backorder limit): a backorder
is reserved beyond what is on hand, while on hand itself, the goods on the shelf,
never goes below zero. Every change of stock is decided by
:class:`~commercekit.domain.inventory.stock.StockChange`; storage applies it, and SQL
storage re-checks the same guards in the database as it writes.
"""

from __future__ import annotations

from commercekit.domain.events import StockLow
from commercekit.domain.inventory.allocation import (
    Allocation,
    AllocationStrategy,
    FewestLocations,
    PriorityOrder,
    allocate_stock,
)
from commercekit.domain.inventory.locations import (
    UNLIMITED,
    StockLocation,
    StockPolicy,
    StockRule,
    check_count,
)
from commercekit.domain.inventory.purchasing import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    reorder_suggestions,
)
from commercekit.domain.inventory.reservations import (
    HOLDING,
    HoldPlan,
    Reservation,
    ReservationStatus,
    StockLine,
    check_closing,
    check_new,
    plan_holds,
    stock_wanted,
    unservable,
)
from commercekit.domain.inventory.stock import (
    MovementKind,
    ReorderPolicy,
    StockChange,
    StockItem,
    StockMovement,
    StockSettings,
    low_stock_events,
)

__all__ = [
    "HOLDING",
    "UNLIMITED",
    "Allocation",
    "AllocationStrategy",
    "FewestLocations",
    "HoldPlan",
    "MovementKind",
    "PriorityOrder",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "ReorderPolicy",
    "Reservation",
    "ReservationStatus",
    "StockChange",
    "StockItem",
    "StockLine",
    "StockLocation",
    "StockLow",
    "StockMovement",
    "StockPolicy",
    "StockRule",
    "StockSettings",
    "allocate_stock",
    "check_closing",
    "check_count",
    "check_new",
    "low_stock_events",
    "plan_holds",
    "reorder_suggestions",
    "stock_wanted",
    "unservable",
]
