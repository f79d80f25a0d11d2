"""The catalogue-wide data a store caches is never served stale: every write of it
bumps the catalogue's stamp in its own transaction, and a second store (another
process, in production) on the same database uses the change in its next call.

Run on a SQLite file and on PostgreSQL; the stamp itself is also checked on the
memory backend, which must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from commercekit import (
    ItemFilter,
    Money,
    PercentOffLines,
    Product,
    Promotion,
    StockLocation,
    TaxRate,
    TaxZone,
    Variant,
)
from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.domain.catalog import Category
from commercekit.domain.errors import Unavailable
from commercekit.domain.pricing import PriceList
from commercekit.domain.promotions import Coupon
from commercekit.domain.shipping import DeliveryMethod, Flat, ShippingZone
from commercekit.ports.storage import Storage
from commercekit.services import snapshot
from commercekit.store import Store
from tests.shop import CONFIG, ready_checkout, sql_url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with sql_url(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def stores(url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database, as two processes of one shop would be."""
    with Store.open(url, config=CONFIG) as one, Store.open(url, config=CONFIG) as other:
        one.catalog.add_category(Category(id="kitchen", name="Kitchen"))
        one.catalog.add_price_list("eu", "EUR")
        one.catalog.add_tax_zone(
            TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
        )
        one.inventory.add_location(StockLocation(id="main", name="Main"))
        one.catalog.add_product(
            Product(id="mug", name="Mug", category_ids=["kitchen"], variants=[Variant(sku="MUG")])
        )
        one.catalog.publish("mug")
        one.catalog.set_price("eu", "MUG", Money("10.00", "EUR"))
        one.inventory.receive("MUG", "main", 100)
        yield one, other


def order_total(store: Store) -> int:
    """The grand total, in cents, of a one-mug order placed in ``store``."""
    token = ready_checkout(store, {"MUG": 1})
    order = store.checkout.place_order(token, idempotency_key=token)
    return order.totals.grand_total_units


def test_a_change_in_one_store_is_used_by_the_next_order_in_the_other(
    stores: tuple[Store, Store],
) -> None:
    one, other = stores
    # 10.00 + 19% VAT + 4.90 shipping; both stores have the catalogue cached now.
    assert order_total(one) == order_total(other) == 16_80

    other.catalog.set_price("eu", "MUG", Money("20.00", "EUR"))
    assert order_total(one) == 28_70

    other.catalog.add_promotion(
        Promotion(
            id="kitchen-50",
            name="Half off the kitchen",
            target=ItemFilter(category_ids="kitchen"),
            benefit=PercentOffLines(50),
        )
    )
    assert order_total(one) == 16_80

    # A product archived in the other store can no longer be sold in this one.
    cart = one.carts.create("EUR")
    one.carts.add(cart.token, "MUG", 1)
    other.catalog.archive("mug")
    with pytest.raises(Unavailable):
        one.carts.price(cart.token)

    other.catalog.add_tax_zone(
        TaxZone(id="de-berlin", country="DE", rates=[TaxRate(name="VAT", rate="0.07")])
    )
    with one.storage.unit_of_work() as uow:
        zones = one.runtime.catalog.get(uow).tax_zones
    assert {zone.id for zone in zones} == {"de", "de-berlin"}


def test_the_cache_reads_the_catalogue_once_per_stamp(stores: tuple[Store, Store]) -> None:
    one, other = stores
    with one.storage.unit_of_work() as uow:
        first = one.runtime.catalog.get(uow)
    with one.storage.unit_of_work() as uow:
        assert one.runtime.catalog.get(uow) is first
    other.inventory.add_location(StockLocation(id="east", name="East"))
    with one.storage.unit_of_work() as uow:
        fresh = one.runtime.catalog.get(uow)
    assert fresh.stamp > first.stamp
    assert [location.id for location in fresh.locations] == ["east", "main"]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    with sql_url(request.param, tmp_path) as found, SqlStorage.open(found) as sql:
        yield sql


def _stamp(storage: Storage) -> int:
    with storage.unit_of_work() as uow:
        return uow.catalog.stamp()


def test_every_catalogue_write_bumps_the_stamp_and_nothing_else_does(
    storage: Storage,
) -> None:
    writes_that_bump = [
        lambda uow: uow.catalog.add_category(Category(id="c", name="C")),
        lambda uow: uow.catalog.add_price_list(PriceList("eu", "EUR")),
        lambda uow: uow.catalog.save_price_list(PriceList("eu", "EUR")),
        lambda uow: uow.catalog.add_tax_zone(TaxZone(id="de", country="DE")),
        lambda uow: uow.catalog.add_promotion(
            Promotion(id="p", name="P", benefit=PercentOffLines(5))
        ),
        lambda uow: uow.inventory.add_location(StockLocation(id="main", name="Main")),
        lambda uow: uow.catalog.add_product(Product(id="mug", name="Mug")),
        lambda uow: uow.catalog.add_shipping_zone(ShippingZone(id="de", countries=["DE"])),
        lambda uow: uow.catalog.add_delivery_method(
            DeliveryMethod(id="dhl", name="DHL", zone_ids=["de"], rules={"EUR": Flat(490)})
        ),
        lambda uow: uow.catalog.save_product(Product(id="mug", name="Big mug")),
    ]
    writes_that_do_not = [
        lambda uow: uow.catalog.add_coupon(Coupon(code="SAVE", promotion_id="p")),
    ]
    for write in writes_that_bump:
        before = _stamp(storage)
        with storage.unit_of_work() as uow:
            write(uow)
            uow.commit()
        assert _stamp(storage) > before
    for write in writes_that_do_not:
        before = _stamp(storage)
        with storage.unit_of_work() as uow:
            write(uow)
            uow.commit()
        assert _stamp(storage) == before
    # A write rolled back leaves the stamp as it was.
    before = _stamp(storage)
    with storage.unit_of_work() as uow:
        uow.catalog.add_category(Category(id="d", name="D"))
    assert _stamp(storage) == before


def test_past_the_skus_a_snapshot_keeps_carts_are_priced_alike(
    stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _ = stores
    for n in range(4):
        sku = f"CUP-{n}"
        one.catalog.add_product(
            Product(id=f"cup-{n}", name=f"Cup {n}", variants=[Variant(sku=sku)])
        )
        one.catalog.publish(f"cup-{n}")
        one.catalog.set_price("eu", sku, Money(f"{n + 1}.00", "EUR"))
    cart = one.carts.create("EUR")
    for n in range(4):
        one.carts.add(cart.token, f"CUP-{n}", 1)
    kept = one.carts.price(cart.token).subtotal
    monkeypatch.setattr(snapshot, "MOST_SKUS_KEPT", 2)
    one.catalog.add_tax_zone(TaxZone(id="fr", country="FR"))  # a fresh snapshot
    small = one.carts.create("EUR")
    one.carts.add(small.token, "CUP-0", 1)
    one.carts.add(small.token, "CUP-1", 1)
    assert one.carts.price(small.token).subtotal == Money("3.00", "EUR")
    # The snapshot is full: the other two SKUs are read for each call alone.
    assert one.carts.price(cart.token).subtotal == kept == Money("10.00", "EUR")
    assert one.carts.price(cart.token).subtotal == kept
