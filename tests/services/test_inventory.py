from __future__ import annotations

import pytest

from commercekit.domain.errors import InvalidInput, InvalidQuantity, InvalidTransition, NotFound
from commercekit.domain.inventory import (
    MovementKind,
    PurchaseOrderStatus,
    ReorderPolicy,
    StockItem,
    StockLocation,
)
from commercekit.errors import (
    AccessDenied,
    InsufficientStock,
)
from commercekit.hookspecs import hookimpl
from commercekit.store import Store
from tests.services.conftest import ready_cart


@pytest.fixture
def stocked(store: Store) -> Store:
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin warehouse", priority=1))
    store.inventory.add_location(StockLocation(id="hamburg", name="Hamburg shop", priority=2))
    store.inventory.receive("RETRO-CLOCK", "berlin", 20)
    return store


def on_hand(store: Store, sku: str) -> dict[str, int]:
    return {item.location_id: item.on_hand for item in store.inventory.stock(sku)}


def test_staff_with_stock_list_the_locations_in_shipping_preference(stocked: Store) -> None:
    stocked.inventory.add_location(StockLocation(id="aachen", name="Aachen", priority=2))
    clerk = stocked.as_staff("sam", ["stock"])

    assert [each.id for each in clerk.inventory.locations()] == ["berlin", "aachen", "hamburg"]
    with pytest.raises(AccessDenied) as refused:
        stocked.as_staff("kim", ["orders"]).inventory.locations()
    assert refused.value.permissions == ("stock",)


def test_on_hand_is_always_the_sum_of_the_ledger(stocked: Store) -> None:
    stocked.inventory.adjust("RETRO-CLOCK", "berlin", -2, reason="dropped in the warehouse")
    stocked.inventory.transfer("RETRO-CLOCK", "berlin", "hamburg", 5)
    cart = ready_cart(stocked, lines={"RETRO-CLOCK": 1})
    order = stocked.checkout.place_order(cart.token, idempotency_key="ledger")
    stocked.fulfilment.ship(order.id)  # from Berlin, the first by priority
    stocked.inventory.record_return("RETRO-CLOCK", "hamburg", 1, order_id=order.id)
    assert on_hand(stocked, "RETRO-CLOCK") == {"berlin": 12, "hamburg": 6}
    for location in ("berlin", "hamburg"):
        ledger = stocked.inventory.movements("RETRO-CLOCK", location)
        assert sum(m.quantity for m in ledger) == on_hand(stocked, "RETRO-CLOCK")[location]
    kinds = [m.kind for m in stocked.inventory.movements("RETRO-CLOCK", "hamburg")]
    assert kinds == [MovementKind.TRANSFER, MovementKind.RETURN]


def test_a_transfer_the_source_cannot_spare_moves_nothing(stocked: Store) -> None:
    with pytest.raises(InsufficientStock):
        stocked.inventory.transfer("RETRO-CLOCK", "berlin", "hamburg", 21)
    assert on_hand(stocked, "RETRO-CLOCK") == {"berlin": 20}


def test_an_adjustment_needs_a_reason_and_cannot_go_below_zero(stocked: Store) -> None:
    with pytest.raises(InvalidInput) as caught:
        stocked.inventory.adjust("RETRO-CLOCK", "berlin", -1, reason="")
    assert caught.value.field == "reason"
    with pytest.raises(InsufficientStock):
        stocked.inventory.adjust("RETRO-CLOCK", "berlin", -21, reason="stolen")
    with pytest.raises(InvalidInput) as unknown:
        stocked.inventory.receive("RETRO-CLOCK", "paris", 1)
    assert unknown.value.field == "location_id"


def test_a_count_records_the_difference(stocked: Store) -> None:
    assert stocked.inventory.count("RETRO-CLOCK", "berlin", 17) == -3
    assert stocked.inventory.count("RETRO-CLOCK", "berlin", 17) == 0
    assert on_hand(stocked, "RETRO-CLOCK") == {"berlin": 17}
    last = stocked.inventory.movements("RETRO-CLOCK", "berlin")[-1]
    assert (last.kind, last.quantity) == (MovementKind.COUNT, -3)


def test_reorder_suggestions_become_a_purchase_order_that_receiving_stocks(stocked: Store) -> None:
    stocked.inventory.configure(
        StockItem(
            sku="RETRO-CLOCK",
            location_id="berlin",
            reorder=ReorderPolicy(
                reorder_point=5, maximum=30, supplier="Clockworks", lead_time_days=7
            ),
        )
    )
    assert stocked.inventory.reorder_suggestions(["RETRO-CLOCK"]) == []
    stocked.inventory.adjust("RETRO-CLOCK", "berlin", -16, reason="sold at a fair")
    [(item, quantity)] = stocked.inventory.reorder_suggestions(["RETRO-CLOCK"])
    assert (item.available, quantity) == (4, 26)
    order = stocked.inventory.create_purchase_order("berlin", ["RETRO-CLOCK"])
    assert (order.supplier, order.status) == ("Clockworks", PurchaseOrderStatus.DRAFT)
    with pytest.raises(InvalidTransition):
        stocked.inventory.receive_purchase_order(order.id, {"RETRO-CLOCK": 1})
    stocked.inventory.send_purchase_order(order.id)
    partly = stocked.inventory.receive_purchase_order(order.id, {"RETRO-CLOCK": 20})
    assert partly.status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    done = stocked.inventory.receive_purchase_order(order.id, {"RETRO-CLOCK": 6})
    assert done.status is PurchaseOrderStatus.RECEIVED
    assert on_hand(stocked, "RETRO-CLOCK") == {"berlin": 30}
    receipts = [
        m for m in stocked.inventory.movements("RETRO-CLOCK", "berlin") if m.reference == order.id
    ]
    assert [m.quantity for m in receipts] == [20, 6]


def test_low_stock_is_announced_once_when_the_threshold_is_crossed(store_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    from .conftest import CONFIG, seed

    seen: list[tuple[str, int]] = []

    class Watcher:
        @hookimpl
        def on_domain_event(self, event):  # type: ignore[no-untyped-def]
            if event.name == "StockLow":
                seen.append((event.sku, event.available))

    with Store.open(store_url, config=CONFIG, clock=clock, plugins=[Watcher()]) as shop:
        seed(shop)
        shop.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        shop.inventory.receive("RETRO-CLOCK", "berlin", 10)
        shop.inventory.configure(
            StockItem(sku="RETRO-CLOCK", location_id="berlin", low_stock_threshold=3)
        )
        shop.inventory.adjust("RETRO-CLOCK", "berlin", -6, reason="breakage")
        shop.inventory.adjust("RETRO-CLOCK", "berlin", -1, reason="breakage")
        shop.inventory.adjust("RETRO-CLOCK", "berlin", -1, reason="breakage")
        assert seen == [("RETRO-CLOCK", 3)]


def test_a_return_to_the_shelf_is_for_units_an_order_shipped(stocked: Store) -> None:
    with pytest.raises(NotFound):
        stocked.inventory.record_return("RETRO-CLOCK", "berlin", 1, order_id="order-7")
    cart = ready_cart(stocked, lines={"RETRO-CLOCK": 2})
    order = stocked.checkout.place_order(cart.token, idempotency_key="shipped")
    # Not shipped yet: nothing of it can come back.
    with pytest.raises(InvalidQuantity):
        stocked.inventory.record_return("RETRO-CLOCK", "berlin", 1, order_id=order.id)
    stocked.fulfilment.ship(order.id)
    stocked.inventory.record_return("RETRO-CLOCK", "berlin", 1, order_id=order.id)
    stocked.inventory.record_return("RETRO-CLOCK", "hamburg", 1, order_id=order.id)
    with pytest.raises(InvalidQuantity):
        stocked.inventory.record_return("RETRO-CLOCK", "berlin", 1, order_id=order.id)
    assert on_hand(stocked, "RETRO-CLOCK") == {"berlin": 19, "hamburg": 1}
