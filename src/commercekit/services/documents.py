"""What a warehouse prints, as template data: the pick list of a location and the
packing slip of a shipment. The templates (``pick_list``, ``packing_slip``) make
text and HTML of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from commercekit.domain.catalog import Catalog
from commercekit.domain.checkout import Address
from commercekit.domain.fulfilment import Shipment
from commercekit.domain.inventory import StockLocation
from commercekit.domain.orders import Order

__all__ = ["packing_slip_data", "pick_list_data"]


def _name(catalog: Catalog, sku: str) -> str:
    """What a SKU is called: its product's name (the SKU, for one since removed)."""
    variant = catalog.find_variant(sku)
    if variant is None or variant.product_id is None:
        return sku
    return catalog.product(variant.product_id).name


def _address_lines(address: Address) -> list[str]:
    place = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = [address.name, address.company, address.line1, address.line2, place]
    lines += [address.region, address.country]
    return [line for line in lines if line]


def pick_list_data(
    place: StockLocation, waiting: Sequence[Shipment], catalog: Catalog, *, now: datetime
) -> dict[str, Any]:
    """What to take from ``place``'s shelves for the shipments ``waiting`` there:
    per SKU, then per shipment."""
    skus = sorted({sku for shipment in waiting for sku in shipment.items})
    names = {sku: _name(catalog, sku) for sku in skus}
    totals: dict[str, int] = {}
    for shipment in waiting:
        for sku, units in shipment.items.items():
            totals[sku] = totals.get(sku, 0) + units
    return {
        "location_id": place.id,
        "location_name": place.name,
        "generated_at": now,
        "totals": [{"sku": sku, "name": names[sku], "quantity": totals[sku]} for sku in skus],
        "shipments": [
            {
                "shipment_id": shipment.id,
                "order_id": shipment.order_id,
                "units": [
                    {"sku": sku, "name": names[sku], "quantity": n}
                    for sku, n in sorted(shipment.items.items())
                ],
            }
            for shipment in waiting
        ],
    }


def packing_slip_data(order: Order, shipment: Shipment) -> dict[str, Any]:
    """Where ``shipment`` goes and what it holds (the order's lines), its parcels
    and its tracking number."""
    names = {line.sku: line.name for line in order.lines}
    address = order.shipping_address
    return {
        "order_id": order.id,
        "shipment_id": shipment.id,
        "placed_at": order.placed_at,
        "ship_to": [] if address is None else _address_lines(address),
        "lines": [
            {"sku": sku, "name": names.get(sku, sku), "quantity": n}
            for sku, n in shipment.lines.items()
        ],
        "parcels": [
            {"weight_grams": parcel.weight_grams, "units": len(parcel.units)}
            for parcel in shipment.parcels
        ],
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
    }
