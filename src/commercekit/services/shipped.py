"""What an order's shipments carried, as returns and claims read it: the units
delivered and when, the shipment a SKU left in, the units back on a shelf, and the
parcels for the way back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from commercekit.domain.fulfilment import Shipment, ShipmentStatus
from commercekit.domain.inventory import MovementKind
from commercekit.domain.orders import Order
from commercekit.domain.shipping import Parcel
from commercekit.ports.storage import UnitOfWork

__all__ = ["delivered_units", "return_parcels", "shipped_from", "units_back"]


def return_parcels(shipments: Sequence[Shipment], units: Mapping[str, int]) -> list[Parcel]:
    """The units coming back, packed as they left."""
    left = dict(units)
    parcels: list[Parcel] = []
    for shipment in shipments:
        if not shipment.status.dispatched:
            continue
        for parcel in shipment.parcels:
            taken = []
            for unit in parcel.units:
                if left.get(unit.sku, 0) > 0:
                    left[unit.sku] -= 1
                    taken.append(unit)
            if taken:
                parcels.append(Parcel(tuple(taken)))
    return parcels


def delivered_units(shipments: Sequence[Shipment]) -> tuple[dict[str, int], dict[str, datetime]]:
    """Units delivered per SKU, and when each SKU's last delivery arrived."""
    units: dict[str, int] = {}
    when: dict[str, datetime] = {}
    for shipment in shipments:
        if shipment.status is not ShipmentStatus.DELIVERED:
            continue
        arrived = shipment.delivered_at or shipment.dispatched_at or shipment.created_at
        for sku, count in shipment.lines.items():
            units[sku] = units.get(sku, 0) + count
            when[sku] = max(when.get(sku, arrived), arrived)
    return units, when


def units_back(uow: UnitOfWork, order: Order, sku: str) -> int:
    """Units of ``sku`` put back on a shelf for ``order`` so far: the RETURN movements
    naming the order or one of its shipments, at every location."""
    references = {order.id, *(s.id for s in uow.shipments.for_order(order.id))}
    return sum(
        movement.quantity
        for location in uow.inventory.locations()
        for movement in uow.inventory.movements(sku, location.id)
        if movement.kind is MovementKind.RETURN and movement.reference in references
    )


def shipped_from(shipments: Sequence[Shipment], sku: str) -> Shipment | None:
    """The (latest) dispatched shipment that carried ``sku``."""
    found = [s for s in shipments if s.status.dispatched and s.lines.get(sku)]
    return max(found, key=lambda s: (s.dispatched_at or s.created_at, s.id)) if found else None
