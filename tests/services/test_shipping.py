"""Shipping zones and delivery methods added to a store, checked against what the
store has."""

from __future__ import annotations

import pytest

from commercekit import StockLocation
from commercekit.domain.errors import AlreadyExists, NotFound
from commercekit.domain.shipping import DeliveryMethod, Flat, ShippingZone
from commercekit.store import Store


def test_a_method_names_only_zones_and_locations_the_store_has(store: Store) -> None:
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    store.catalog.add_shipping_zone(ShippingZone(id="de", countries=["DE"]))
    with pytest.raises(NotFound) as raised:
        store.catalog.add_delivery_method(
            DeliveryMethod(id="dhl", name="DHL", zone_ids=["de", "at"], rules={"EUR": Flat(490)})
        )
    assert raised.value.field == "zone_ids"
    with pytest.raises(NotFound) as raised:
        store.catalog.add_delivery_method(
            DeliveryMethod(
                id="dhl",
                name="DHL",
                zone_ids=["de"],
                rules={"EUR": Flat(490)},
                location_ids=["hamburg"],
            )
        )
    assert raised.value.field == "location_ids"
    dhl = DeliveryMethod(
        id="dhl", name="DHL", zone_ids=["de"], rules={"EUR": Flat(490)}, location_ids=["berlin"]
    )
    store.catalog.add_delivery_method(dhl)
    with pytest.raises(AlreadyExists):
        store.catalog.add_delivery_method(dhl)
    with store.storage.unit_of_work() as uow:
        snapshot = store.runtime.catalog.get(uow)
    assert snapshot.delivery_methods == (dhl,)
    assert [zone.id for zone in snapshot.shipping_zones] == ["de"]
