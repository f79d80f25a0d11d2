"""Demand-based reordering: velocity and spread from the sales ledger, the reorder
point and order-up-to level, and the simulation in which it runs out of stock on
fewer days than a fixed reorder point holding as much stock."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from commercekit.domain.errors import InvalidInput
from commercekit.domain.inventory import (
    MovementKind,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReorderPolicy,
    StockItem,
    StockMovement,
)
from commercekit.domain.marketing.reorder import (
    DemandPolicy,
    DemandStats,
    daily_sales,
    demand_stats,
    on_order,
    sales_window,
    suggest,
    suggestions,
    z_for,
)
from commercekit.domain.marketing.simulation import compare, demand_stream, fixed, simulate

MUG = "RETRO-MUG"
DAY = datetime(2026, 11, 2, 12, tzinfo=UTC)


def test_velocity_weighs_recent_days_more() -> None:
    steady = demand_stats([10] * 28, 7.0)
    assert (steady.velocity, steady.sigma, steady.days) == pytest.approx((10.0, 0.0, 28))
    # Half-life of a day: yesterday weighs 1/2, today 1; (0 x 1/2 + 10 x 1) / 1.5.
    stats = demand_stats([0, 10], 1.0, 1.0)
    assert stats.velocity == pytest.approx(20 / 3)
    # Around that mean: (1/2 x (20/3)^2 + 1 x (10/3)^2) / 1.5 = 200/9.
    assert stats.sigma == pytest.approx(math.sqrt(200 / 9))
    assert demand_stats([0] * 7 + [10] * 7, 7.0).velocity > 5


def test_a_day_the_shelf_ran_empty_is_left_out() -> None:
    gap = demand_stats([10, None, 10], 7.0)
    assert (gap.velocity, gap.sigma, gap.days) == pytest.approx((10.0, 0.0, 2))
    assert demand_stats([None, None], 7.0) == DemandStats(velocity=0.0, sigma=0.0, days=0)


def test_safety_stock_reorder_point_and_order_up_to() -> None:
    stats = DemandStats(velocity=10.0, sigma=4.0, days=28)
    z = z_for(Decimal("0.95"))
    assert z == pytest.approx(1.6449, abs=1e-4)
    # z x sigma x sqrt(9 days).
    assert stats.safety_stock(z, 9) == pytest.approx(z * 4 * 3)
    assert stats.reorder_point(z, 9) == pytest.approx(90 + z * 12)
    assert stats.order_up_to(z, 9, 7) == pytest.approx(160 + z * 12)


def test_a_suggestion_tops_the_position_up_to_the_level() -> None:
    item = StockItem(sku=MUG, location_id="berlin", on_hand=60, reserved=10)
    stats = DemandStats(velocity=10.0, sigma=4.0, days=28)
    made = suggest(item, stats, policy=DemandPolicy(), lead_time_days=9, owed=30)
    assert made.position == 80
    assert made.quantity == math.ceil(160 + made.safety_stock - 80)
    above = suggest(item, stats, policy=DemandPolicy(), lead_time_days=9, owed=60)
    assert above.quantity == 0
    assert (
        suggest(
            item,
            DemandStats(velocity=0.0, sigma=0.0, days=0),
            policy=DemandPolicy(),
            lead_time_days=9,
        ).quantity
        == 0
    )


def test_an_items_own_lead_time_comes_first() -> None:
    slow = StockItem(
        sku=MUG,
        location_id="berlin",
        on_hand=100,
        reorder=ReorderPolicy(reorder_point=5, quantity=10, lead_time_days=20),
    )
    fast = StockItem(sku="RETRO-CLOCK", location_id="berlin", on_hand=100)
    sales = {slow.key: [10] * 28, fast.key: [10] * 28}
    found = suggestions([slow, fast], sales, {}, policy=DemandPolicy(), lead_time_days=7)
    # 10 a day over 20 days is 200 > 100 on hand; over 7 days, 70 < 100.
    assert [(s.sku, s.lead_time_days, s.quantity) for s in found] == [(MUG, 20, 170)]


def test_purchase_orders_still_owe_what_has_not_arrived() -> None:
    def order(status: PurchaseOrderStatus, quantity: int, received: int) -> PurchaseOrder:
        return PurchaseOrder(
            id=f"po-{status.value}",
            supplier="acme",
            location_id="berlin",
            lines=[PurchaseOrderLine(sku=MUG, quantity=quantity, received=received)],
            status=status,
        )

    owed = on_order(
        [
            order(PurchaseOrderStatus.DRAFT, 5, 0),
            order(PurchaseOrderStatus.PARTIALLY_RECEIVED, 10, 4),
            order(PurchaseOrderStatus.CANCELLED, 50, 0),
            order(PurchaseOrderStatus.RECEIVED, 8, 8),
        ]
    )
    assert owed == {(MUG, "berlin"): 11}


def test_daily_sales_come_from_the_ledger_and_an_empty_shelf_is_unknown() -> None:
    def moved(days: int, kind: MovementKind, quantity: int) -> StockMovement:
        return StockMovement(
            id=f"m-{days}-{kind.value}",
            sku=MUG,
            location_id="berlin",
            kind=kind,
            quantity=quantity,
            at=DAY + timedelta(days=days),
        )

    ledger = [
        moved(-1, MovementKind.RECEIPT, 5),
        moved(0, MovementKind.SALE, -3),
        moved(1, MovementKind.SALE, -2),
        moved(2, MovementKind.RECEIPT, 10),
    ]
    first = DAY.date()
    assert daily_sales(ledger, first=first, last=first + timedelta(days=3)) == [3, None, 0, 0]


def test_the_window_ends_yesterday() -> None:
    assert sales_window(DAY, DemandPolicy(window_days=7)) == (date(2026, 10, 26), date(2026, 11, 1))


@pytest.mark.parametrize("level", ["0.4", "1", "0.99999"])
def test_a_service_level_out_of_range_is_refused(level: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        DemandPolicy(service_level=Decimal(level))
    assert caught.value.field == "service_level"


# --- the simulation ----------------------------------------------------------------------


def test_a_fixed_policy_orders_its_quantity_at_its_point() -> None:
    outcome = simulate([5] * 10, fixed(10, 20), lead_time_days=1, on_hand=20)
    # On hand 15 after day 0 and 10 after day 1: ordered then, on the shelf for day 3.
    assert outcome.orders >= 1
    assert outcome.stockout_days == 0
    short = simulate([5] * 10, fixed(0, 5), lead_time_days=3, on_hand=5)
    assert short.stockout_days > 0
    assert short.lost_units == 5 * short.stockout_days


def test_the_demand_stream_is_the_same_for_the_same_seed() -> None:
    import random

    assert demand_stream(random.Random(3), 100) == demand_stream(random.Random(3), 100)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_demand_based_runs_out_on_fewer_days_holding_no_more_stock(seed: int) -> None:
    compared = compare(seed)
    adaptive, calibrated = compared.demand_based, compared.fixed
    assert adaptive.average_on_hand <= calibrated.average_on_hand
    assert adaptive.stockout_days < calibrated.stockout_days, compared
