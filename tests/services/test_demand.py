"""Reorder suggestions from the sales ledger of a real store."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from commercekit import StockLocation
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.inventory import (
    MovementKind,
    ReorderPolicy,
    StockChange,
    StockItem,
    StockMovement,
)
from commercekit.store import Store

MUG = "RETRO-MUG"


def record(store: Store, kind: MovementKind, quantity: int, reference: str = "") -> None:
    movement = StockMovement(
        id=store.runtime.ids.new_id("movement"),
        sku=MUG,
        location_id="main",
        kind=kind,
        quantity=quantity,
        at=store.runtime.clock.now(),
        reference=reference,
    )
    with store.storage.unit_of_work() as uow:
        uow.inventory.apply([StockChange.move(movement)])
        uow.commit()


@pytest.fixture
def selling(store: Store, clock: FixedClock) -> Store:
    """100 mugs in on the first of 28 days, 3 sold on each of them."""
    store.inventory.add_location(StockLocation(id="main", name="Main"))
    store.inventory.add_location(StockLocation(id="spare", name="Spare"))
    store.inventory.receive(MUG, "spare", 5)
    record(store, MovementKind.RECEIPT, 100)
    for day in range(28):
        record(store, MovementKind.SALE, -3, reference=f"order-{day}")
        clock.advance(timedelta(days=1))
    return store


def test_a_steady_seller_is_topped_up_to_its_level(selling: Store) -> None:
    (found,) = selling.demand.reorder_suggestions([MUG], lead_time_days=7)
    # 3 a day, every day alike: no spread, so no safety stock; 16 left of 100.
    assert (found.location_id, found.position) == ("main", 16)
    assert (found.velocity, found.sigma) == pytest.approx((3.0, 0.0))
    assert found.reorder_point == pytest.approx(21.0)
    assert found.order_up_to == pytest.approx(42.0)
    assert found.quantity == 26


def test_what_suppliers_still_owe_counts(selling: Store) -> None:
    selling.inventory.configure(
        StockItem(
            sku=MUG,
            location_id="main",
            reorder=ReorderPolicy(reorder_point=20, quantity=10, lead_time_days=7),
        )
    )
    # The fixed policy orders 10: with them on their way the position is 26, above 21.
    draft = selling.inventory.create_purchase_order("main", [MUG])
    assert selling.demand.reorder_suggestions([MUG], purchase_order_ids=[draft.id]) == []
    assert len(selling.demand.reorder_suggestions([MUG])) == 1


def test_an_items_lead_time_and_the_service_level_are_used(selling: Store) -> None:
    selling.inventory.configure(
        StockItem(
            sku=MUG,
            location_id="main",
            reorder=ReorderPolicy(reorder_point=1, quantity=10, lead_time_days=3),
        )
    )
    # 3 a day for 3 days is 9 < 16: nothing to order yet.
    assert selling.demand.reorder_suggestions([MUG], service_level="0.99") == []


def test_a_location_with_no_sales_suggests_nothing(selling: Store) -> None:
    assert selling.demand.reorder_suggestions([MUG], location_id="spare") == []


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({"skus": []}, InvalidInput, "skus"),
        ({"location_id": "nowhere"}, InvalidInput, "location_id"),
        ({"service_level": "0.3"}, InvalidInput, "service_level"),
        ({"service_level": 0.95}, InvalidInput, "service_level"),
        ({"service_level": Decimal("NaN")}, InvalidInput, "service_level"),
        ({"lead_time_days": -1}, InvalidInput, "lead_time_days"),
        ({"purchase_order_ids": ["po-none"]}, NotFound, "purchase_order_id"),
    ],
)
def test_bad_arguments_are_refused_naming_them(
    selling: Store, arguments: dict[str, object], error: type[Exception], field: str
) -> None:
    call = {"skus": [MUG], **arguments}
    with pytest.raises(error) as caught:
        selling.demand.reorder_suggestions(**call)  # type: ignore[arg-type]
    assert caught.value.field == field  # type: ignore[attr-defined]
