"""Inventory: a ledger of stock movements per location, holds for checkouts, where an
order ships from, and what to reorder from whom."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from commercekit.domain.errors import CommerceError, InvalidInput, InvalidTransition
from commercekit.domain.events import event_from_dict, event_to_dict
from commercekit.domain.inventory import (
    UNLIMITED,
    Allocation,
    AllocationStrategy,
    FewestLocations,
    MovementKind,
    PriorityOrder,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReorderPolicy,
    Reservation,
    ReservationStatus,
    StockItem,
    StockLocation,
    StockLow,
    StockMovement,
    StockPolicy,
    StockRule,
    allocate_stock,
    reorder_suggestions,
)
from commercekit.errors import (
    InsufficientStock,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CLOCK = "RETRO-CLOCK"
LAMP = "LAVA-LAMP"
BERLIN = "berlin-warehouse"
HAMBURG = "hamburg-shop"
VIENNA = "vienna-dropshipper"

BERLIN_WAREHOUSE = StockLocation(
    id=BERLIN, name="Berlin warehouse", priority=0, ships_to=("DE", "AT", "PL")
)
HAMBURG_SHOP = StockLocation(
    id=HAMBURG, name="Hamburg shop", kind="shop", priority=1, ships_to=("DE",)
)
VIENNA_DROPSHIPPER = StockLocation(
    id=VIENNA, name="Vienna dropshipper", kind="dropshipper", priority=2, ships_to=("at",)
)
EVERYWHERE = [BERLIN_WAREHOUSE, HAMBURG_SHOP, VIENNA_DROPSHIPPER]

_movement_ids = count(1)


def move(
    kind: MovementKind,
    quantity: int,
    *,
    sku: str = CLOCK,
    location: str = BERLIN,
    reason: str = "",
    reference: str = "",
    at: datetime = NOW,
) -> StockMovement:
    return StockMovement(
        id=f"move-{next(_movement_ids)}",
        sku=sku,
        location_id=location,
        kind=kind,
        quantity=quantity,
        at=at,
        reason=reason,
        reference=reference,
    )


def clocks(on_hand: int = 0, *, reserved: int = 0, **kwargs: object) -> StockItem:
    """RETRO-CLOCKs at the Berlin warehouse."""
    return StockItem(sku=CLOCK, location_id=BERLIN, on_hand=on_hand, reserved=reserved, **kwargs)  # type: ignore[arg-type]


def snapshot(item: StockItem) -> tuple[int, int, int]:
    return item.on_hand, item.reserved, item.version


# --- the ledger: receipts, sales, returns, adjustments, counts -----------------------


def test_a_receipt_adds_to_on_hand_and_available() -> None:
    item = clocks()

    item.record(move(MovementKind.RECEIPT, 12, reference="po-1001"))

    assert item.on_hand == 12
    assert item.available == 12


def test_a_sale_takes_stock_off_the_shelf() -> None:
    item = clocks(12)

    item.record(move(MovementKind.SALE, -5, reference="order-42"))

    assert item.on_hand == 7


def test_a_return_puts_stock_back_on_the_shelf() -> None:
    item = clocks(7)

    item.record(move(MovementKind.RETURN, 1, reference="rma-7"))

    assert item.on_hand == 8


@pytest.mark.parametrize(("quantity", "expected"), [(-2, 8), (3, 13)])
def test_an_adjustment_with_a_reason_may_add_or_remove_stock(quantity: int, expected: int) -> None:
    item = clocks(10)

    item.record(move(MovementKind.ADJUSTMENT, quantity, reason="dropped a box"))

    assert item.on_hand == expected


def test_a_count_brings_on_hand_to_the_counted_quantity() -> None:
    item = clocks(10)
    counted = 7

    item.record(move(MovementKind.COUNT, counted - item.on_hand, reference="count-2026-11"))

    assert item.on_hand == counted


def test_every_recorded_movement_moves_the_version_on() -> None:
    item = clocks()

    item.record(move(MovementKind.RECEIPT, 3))
    item.record(move(MovementKind.SALE, -1))

    assert item.version == 2


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (MovementKind.SALE, ""),
        (MovementKind.ADJUSTMENT, "water damage"),
        (MovementKind.TRANSFER, ""),
        (MovementKind.COUNT, ""),
    ],
)
def test_a_removal_below_zero_is_refused_and_changes_nothing(
    kind: MovementKind, reason: str
) -> None:
    item = clocks(3)
    before = snapshot(item)

    with pytest.raises(InsufficientStock) as caught:
        item.record(move(kind, -4, reason=reason))

    assert snapshot(item) == before
    error = caught.value
    assert isinstance(error, CommerceError)
    assert error.code == "insufficient_stock"
    assert error.field == "quantity"
    assert (error.sku, error.requested, error.available) == (CLOCK, 4, 3)
    assert error.as_dict()["code"] == "insufficient_stock"


def test_the_last_unit_on_the_shelf_can_be_sold() -> None:
    item = clocks(3)

    item.record(move(MovementKind.SALE, -3))

    assert item.on_hand == 0


def test_a_backorder_floor_lets_holds_exceed_the_shelf_but_never_empties_it_below_zero() -> None:
    item = clocks(3)

    item.reserve(8, floor=-5, at=NOW)
    assert (item.on_hand, item.available) == (3, -5)
    with pytest.raises(InsufficientStock):
        item.reserve(1, floor=-5, at=NOW)
    with pytest.raises(InsufficientStock) as caught:
        clocks(3).record(move(MovementKind.SALE, -4), floor=-5)
    assert caught.value.available == 3  # only what is on the shelf can leave it


def test_a_removal_may_not_take_stock_a_hold_keeps() -> None:
    item = clocks(3)
    item.reserve(3, floor=0, at=NOW)

    with pytest.raises(InsufficientStock):
        item.record(move(MovementKind.ADJUSTMENT, -1, reason="lost"))
    # Shipping the held units ends the hold and records the sale together.
    item.release(3, at=NOW)
    item.record(move(MovementKind.SALE, -3, reference="order-42"))

    assert (item.on_hand, item.reserved, item.available) == (0, 0, 0)


def test_a_refused_hold_reports_what_the_backorder_floor_still_allows() -> None:
    item = clocks(3)

    with pytest.raises(InsufficientStock) as caught:
        item.reserve(10, floor=-5, at=NOW)

    assert caught.value.available == 8


@pytest.mark.parametrize(
    "entry",
    [
        move(MovementKind.RECEIPT, 1, sku=LAMP),
        move(MovementKind.RECEIPT, 1, location=HAMBURG),
    ],
    ids=["another SKU", "another location"],
)
def test_a_movement_for_another_stock_item_is_refused(entry: StockMovement) -> None:
    item = clocks(5)
    before = snapshot(item)

    with pytest.raises(InvalidInput) as caught:
        item.record(entry)

    assert caught.value.field == "sku"
    assert snapshot(item) == before


# --- movements -------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, True, 1.5, "3"])
def test_a_movement_of_no_whole_quantity_is_refused(quantity: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        move(MovementKind.RECEIPT, quantity)  # type: ignore[arg-type]

    assert caught.value.field == "quantity"


def test_an_adjustment_without_a_reason_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        move(MovementKind.ADJUSTMENT, -1)

    assert caught.value.field == "reason"


# --- holds: reserve and release ----------------------------------------------------------


def test_reserving_moves_stock_from_available_to_reserved() -> None:
    item = clocks(10)

    item.reserve(4, floor=0, at=NOW)

    assert (item.on_hand, item.reserved, item.available) == (10, 4, 6)
    assert item.version == 1


def test_releasing_gives_a_hold_back_to_available() -> None:
    item = clocks(10, reserved=4)

    item.release(3, at=NOW)

    assert (item.on_hand, item.reserved, item.available) == (10, 1, 9)


def test_the_last_available_unit_can_be_reserved() -> None:
    item = clocks(10, reserved=4)

    item.reserve(6, floor=0, at=NOW)

    assert item.available == 0


def test_reserving_more_than_is_available_is_refused_and_changes_nothing() -> None:
    item = clocks(10, reserved=4)
    before = snapshot(item)

    with pytest.raises(InsufficientStock) as caught:
        item.reserve(7, floor=0, at=NOW)

    assert snapshot(item) == before
    assert (caught.value.code, caught.value.field) == ("insufficient_stock", "quantity")
    assert (caught.value.sku, caught.value.requested, caught.value.available) == (CLOCK, 7, 6)


def test_a_backorder_floor_lets_holds_take_available_below_zero() -> None:
    item = clocks(2)

    item.reserve(5, floor=-3, at=NOW)

    assert (item.reserved, item.available) == (5, -3)


def test_reserving_past_the_backorder_limit_is_refused() -> None:
    item = clocks(2, reserved=4)
    before = snapshot(item)

    with pytest.raises(InsufficientStock) as caught:
        item.reserve(2, floor=-3, at=NOW)

    assert caught.value.available == 1
    assert snapshot(item) == before
    assert item.available >= -3


def test_releasing_more_than_is_reserved_is_refused() -> None:
    item = clocks(10, reserved=2)
    before = snapshot(item)

    with pytest.raises(InvalidInput) as caught:
        item.release(3, at=NOW)

    assert caught.value.field == "quantity"
    assert snapshot(item) == before


HOLD_ACTIONS: dict[str, Callable[[StockItem, int], object]] = {
    "reserve": lambda item, quantity: item.reserve(quantity, floor=0, at=NOW),
    "release": lambda item, quantity: item.release(quantity, at=NOW),
}


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
@pytest.mark.parametrize("action", sorted(HOLD_ACTIONS))
def test_holds_are_for_a_positive_whole_quantity(action: str, quantity: object) -> None:
    item = clocks(10, reserved=5)
    before = snapshot(item)

    with pytest.raises(InvalidInput):
        HOLD_ACTIONS[action](item, quantity)  # type: ignore[arg-type]

    assert snapshot(item) == before


# --- low stock -------------------------------------------------------------------------


def test_stock_low_is_emitted_when_available_falls_to_the_threshold() -> None:
    item = clocks(10, low_stock_threshold=5)
    sold_at = NOW + timedelta(hours=1)

    events = item.record(move(MovementKind.SALE, -5, at=sold_at))

    assert events == [
        StockLow(occurred_at=sold_at, sku=CLOCK, location_id=BERLIN, available=5, threshold=5)
    ]


def test_stock_low_is_not_emitted_while_available_stays_above_the_threshold() -> None:
    item = clocks(10, low_stock_threshold=5)

    assert item.record(move(MovementKind.SALE, -4)) == []


def test_stock_low_is_not_repeated_while_available_stays_below_the_threshold() -> None:
    item = clocks(10, low_stock_threshold=5)
    item.record(move(MovementKind.SALE, -7))

    assert item.record(move(MovementKind.SALE, -1)) == []
    assert item.reserve(1, floor=0, at=NOW) == []
    assert item.record(move(MovementKind.RETURN, 1)) == []


def test_stock_low_is_emitted_again_after_a_restock_above_the_threshold() -> None:
    item = clocks(10, low_stock_threshold=5)
    item.record(move(MovementKind.SALE, -7))
    item.record(move(MovementKind.RECEIPT, 20))

    events = item.record(move(MovementKind.SALE, -20))

    assert [(e.available, e.threshold) for e in events] == [(3, 5)]  # type: ignore[attr-defined]


def test_a_hold_can_set_off_stock_low() -> None:
    item = clocks(10, low_stock_threshold=2)

    events = item.reserve(9, floor=0, at=NOW)

    assert [e.name for e in events] == ["StockLow"]
    assert events[0].available == 1  # type: ignore[attr-defined]


def test_an_item_without_a_threshold_never_reports_low_stock() -> None:
    item = clocks(10)

    assert item.record(move(MovementKind.SALE, -10)) == []


def test_stock_low_survives_the_trip_through_the_outbox() -> None:
    event = StockLow(occurred_at=NOW, sku=CLOCK, location_id=BERLIN, available=2, threshold=3)

    assert event_from_dict(event_to_dict(event)) == event


# --- the ledger as a state machine --------------------------------------------------------

LEDGER_LOCATIONS = (BERLIN, HAMBURG)
REASONS = ("damaged in transit", "found behind a shelf", "shop display")


class StockLedgerMachine(RuleBasedStateMachine):
    """RETRO-CLOCKs at two locations moved by random ledger entries, with floor 0."""

    def __init__(self) -> None:
        super().__init__()
        self.items = {place: StockItem(sku=CLOCK, location_id=place) for place in LEDGER_LOCATIONS}
        self.ledger: dict[str, list[StockMovement]] = {place: [] for place in LEDGER_LOCATIONS}
        self.references = count(1)

    def _record(self, place: str, kind: MovementKind, quantity: int, **kwargs: str) -> bool:
        item = self.items[place]
        entry = move(kind, quantity, location=place, **kwargs)  # type: ignore[arg-type]
        if item.on_hand + quantity < 0:
            before = snapshot(item)
            with pytest.raises(InsufficientStock):
                item.record(entry)
            assert snapshot(item) == before
            return False
        item.record(entry)
        self.ledger[place].append(entry)
        return True

    @rule(place=st.sampled_from(LEDGER_LOCATIONS), quantity=st.integers(1, 40))
    def receive(self, place: str, quantity: int) -> None:
        self._record(place, MovementKind.RECEIPT, quantity)

    @rule(place=st.sampled_from(LEDGER_LOCATIONS), quantity=st.integers(1, 40))
    def sell(self, place: str, quantity: int) -> None:
        self._record(place, MovementKind.SALE, -quantity)

    @rule(place=st.sampled_from(LEDGER_LOCATIONS), quantity=st.integers(1, 5))
    def take_back(self, place: str, quantity: int) -> None:
        self._record(place, MovementKind.RETURN, quantity)

    @rule(
        place=st.sampled_from(LEDGER_LOCATIONS),
        quantity=st.integers(-20, 20).filter(bool),
        reason=st.sampled_from(REASONS),
    )
    def adjust(self, place: str, quantity: int, reason: str) -> None:
        self._record(place, MovementKind.ADJUSTMENT, quantity, reason=reason)

    @rule(route=st.permutations(LEDGER_LOCATIONS), quantity=st.integers(1, 40))
    def transfer(self, route: list[str], quantity: int) -> None:
        source, target = route
        reference = f"transfer-{next(self.references)}"
        if self._record(source, MovementKind.TRANSFER, -quantity, reference=reference):
            assert self._record(target, MovementKind.TRANSFER, quantity, reference=reference)

    @rule(place=st.sampled_from(LEDGER_LOCATIONS), counted=st.integers(0, 60))
    def count(self, place: str, counted: int) -> None:
        change = counted - self.items[place].on_hand
        if change:
            reference = f"count-{next(self.references)}"
            assert self._record(place, MovementKind.COUNT, change, reference=reference)
        assert self.items[place].on_hand == counted

    @invariant()
    def on_hand_is_the_sum_of_its_movements(self) -> None:
        for place, item in self.items.items():
            assert item.on_hand == sum(m.quantity for m in self.ledger[place])
            assert item.version == len(self.ledger[place])

    @invariant()
    def nothing_goes_below_zero(self) -> None:
        for item in self.items.values():
            assert item.on_hand >= 0
            assert item.available >= 0

    @invariant()
    def transfers_conserve_the_total(self) -> None:
        entries = [m for place in LEDGER_LOCATIONS for m in self.ledger[place]]
        from_outside = sum(m.quantity for m in entries if m.kind is not MovementKind.TRANSFER)
        assert sum(item.on_hand for item in self.items.values()) == from_outside
        transfers = Counter[str]()
        for m in entries:
            if m.kind is MovementKind.TRANSFER:
                transfers[m.reference] += m.quantity
        assert all(total == 0 for total in transfers.values())


StockLedgerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
TestStockLedger = StockLedgerMachine.TestCase


class StockHoldMachine(RuleBasedStateMachine):
    """Checkouts holding and letting go of RETRO-CLOCKs, checked against a model of the
    active holds."""

    def __init__(self) -> None:
        super().__init__()
        self.item = clocks()
        self.floor = 0
        self.holds: dict[str, int] = {}
        self.hold_ids = count(1)

    @initialize(on_hand=st.integers(0, 30), floor=st.sampled_from([0, -5]))
    def stock(self, on_hand: int, floor: int) -> None:
        self.item = clocks(on_hand)
        self.floor = floor

    @rule(quantity=st.integers(1, 15))
    def reserve(self, quantity: int) -> None:
        if self.item.available - quantity >= self.floor:
            self.item.reserve(quantity, floor=self.floor, at=NOW)
            self.holds[f"hold-{next(self.hold_ids)}"] = quantity
        else:
            before = snapshot(self.item)
            with pytest.raises(InsufficientStock):
                self.item.reserve(quantity, floor=self.floor, at=NOW)
            assert snapshot(self.item) == before

    @precondition(lambda self: bool(self.holds))
    @rule(data=st.data())
    def release_a_hold(self, data: st.DataObject) -> None:
        hold = data.draw(st.sampled_from(sorted(self.holds)))
        self.item.release(self.holds.pop(hold), at=NOW)

    @precondition(lambda self: any(q > 1 for q in self.holds.values()))
    @rule(data=st.data())
    def release_part_of_a_hold(self, data: st.DataObject) -> None:
        hold = data.draw(st.sampled_from(sorted(h for h, q in self.holds.items() if q > 1)))
        part = data.draw(st.integers(1, self.holds[hold] - 1))
        self.item.release(part, at=NOW)
        self.holds[hold] -= part

    @rule(extra=st.integers(1, 5))
    def release_more_than_is_held(self, extra: int) -> None:
        before = snapshot(self.item)
        with pytest.raises(InvalidInput):
            self.item.release(self.item.reserved + extra, at=NOW)
        assert snapshot(self.item) == before

    @rule(quantity=st.integers(1, 10))
    def receive(self, quantity: int) -> None:
        self.item.record(move(MovementKind.RECEIPT, quantity), floor=self.floor)

    @invariant()
    def reserved_stays_within_what_may_be_held(self) -> None:
        assert 0 <= self.item.reserved <= self.item.on_hand - self.floor
        assert self.item.available >= self.floor

    @invariant()
    def reserved_is_the_sum_of_the_active_holds(self) -> None:
        assert self.item.reserved == sum(self.holds.values())


StockHoldMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
TestStockHolds = StockHoldMachine.TestCase


# --- stock rules -------------------------------------------------------------------------

PREORDERS_CLOSE = NOW + timedelta(days=30)


@pytest.mark.parametrize(
    ("rule", "now", "floor"),
    [
        (StockRule(sku=CLOCK), NOW, 0),
        (StockRule(sku=CLOCK, policy=StockPolicy.DENY), NOW, 0),
        (StockRule(sku=CLOCK, policy="backorder", backorder_limit=20), NOW, -20),
        (StockRule(sku=CLOCK, policy=StockPolicy.BACKORDER), NOW, -UNLIMITED),
        (StockRule(sku=CLOCK, policy=StockPolicy.PREORDER), NOW, -UNLIMITED),
        (
            StockRule(sku=CLOCK, policy=StockPolicy.PREORDER, preorder_until=PREORDERS_CLOSE),
            PREORDERS_CLOSE - timedelta(seconds=1),
            -UNLIMITED,
        ),
        (
            StockRule(sku=CLOCK, policy=StockPolicy.PREORDER, preorder_until=PREORDERS_CLOSE),
            PREORDERS_CLOSE,
            0,
        ),
        (
            StockRule(sku=CLOCK, policy=StockPolicy.PREORDER, preorder_until=PREORDERS_CLOSE),
            PREORDERS_CLOSE + timedelta(days=1),
            0,
        ),
    ],
    ids=[
        "no policy denies",
        "deny",
        "backorder up to a limit",
        "backorder without limit",
        "preorder without a date",
        "preorder before it closes",
        "preorder when it closes",
        "preorder after it closes",
    ],
)
def test_the_floor_follows_the_stock_policy(rule: StockRule, now: datetime, floor: int) -> None:
    assert rule.floor(now) == floor


def test_an_unknown_stock_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="sometimes"):
        StockRule(sku=CLOCK, policy="sometimes")


# --- allocation: where an order ships from -----------------------------------------------


def shelves(stock: dict[tuple[str, str], int]) -> list[StockItem]:
    return [StockItem(sku=sku, location_id=place, on_hand=n) for (sku, place), n in stock.items()]


def test_priority_order_ships_from_the_highest_priority_location() -> None:
    items = shelves({(CLOCK, BERLIN): 5, (CLOCK, HAMBURG): 5})

    plan = allocate_stock({CLOCK: 3}, EVERYWHERE, items, {})

    assert plan == [Allocation(CLOCK, BERLIN, 3)]


def test_priority_comes_from_the_locations_not_from_the_order_they_are_listed_in() -> None:
    items = shelves({(CLOCK, BERLIN): 5, (CLOCK, HAMBURG): 5})

    plan = allocate_stock({CLOCK: 3}, list(reversed(EVERYWHERE)), items, {})

    assert plan == [Allocation(CLOCK, BERLIN, 3)]


def test_priority_order_splits_an_order_across_locations_when_one_is_short() -> None:
    items = shelves({(CLOCK, BERLIN): 2, (CLOCK, HAMBURG): 5})

    plan = allocate_stock({CLOCK: 4}, EVERYWHERE, items, {})

    assert plan == [Allocation(CLOCK, BERLIN, 2), Allocation(CLOCK, HAMBURG, 2)]


def test_reserved_stock_is_not_allocated_again() -> None:
    items = [
        StockItem(sku=CLOCK, location_id=BERLIN, on_hand=5, reserved=4),
        StockItem(sku=CLOCK, location_id=HAMBURG, on_hand=5),
    ]

    plan = allocate_stock({CLOCK: 3}, EVERYWHERE, items, {})

    assert plan == [Allocation(CLOCK, BERLIN, 1), Allocation(CLOCK, HAMBURG, 2)]


def test_fewest_locations_prefers_one_location_that_can_ship_the_whole_order() -> None:
    items = shelves(
        {(CLOCK, BERLIN): 5, (LAMP, BERLIN): 0, (CLOCK, HAMBURG): 2, (LAMP, HAMBURG): 1}
    )

    plan = allocate_stock({CLOCK: 2, LAMP: 1}, EVERYWHERE, items, {}, strategy=FewestLocations)

    assert plan == [Allocation(LAMP, HAMBURG, 1), Allocation(CLOCK, HAMBURG, 2)]


def test_priority_order_splits_the_same_order_that_fewest_locations_ships_whole() -> None:
    items = shelves(
        {(CLOCK, BERLIN): 5, (LAMP, BERLIN): 0, (CLOCK, HAMBURG): 2, (LAMP, HAMBURG): 1}
    )

    plan = allocate_stock({CLOCK: 2, LAMP: 1}, EVERYWHERE, items, {}, strategy=PriorityOrder)

    assert plan == [Allocation(LAMP, HAMBURG, 1), Allocation(CLOCK, BERLIN, 2)]


def test_fewest_locations_falls_back_to_priority_order_when_no_location_has_everything() -> None:
    items = shelves({(CLOCK, BERLIN): 3, (LAMP, HAMBURG): 1})

    plan = allocate_stock({CLOCK: 2, LAMP: 1}, EVERYWHERE, items, {}, strategy=FewestLocations)

    assert plan == [Allocation(LAMP, HAMBURG, 1), Allocation(CLOCK, BERLIN, 2)]


def test_locations_that_do_not_ship_to_the_country_are_skipped() -> None:
    items = shelves({(CLOCK, BERLIN): 1, (CLOCK, HAMBURG): 5, (CLOCK, VIENNA): 5})

    plan = allocate_stock({CLOCK: 3}, EVERYWHERE, items, {}, country="at")

    assert plan == [Allocation(CLOCK, BERLIN, 1), Allocation(CLOCK, VIENNA, 2)]


def test_stock_at_locations_that_do_not_serve_the_country_does_not_count() -> None:
    items = shelves({(CLOCK, BERLIN): 1, (CLOCK, HAMBURG): 5})

    with pytest.raises(InsufficientStock) as caught:
        allocate_stock({CLOCK: 3}, EVERYWHERE, items, {}, country="PL")

    assert caught.value.available == 1


def test_every_location_serves_an_unknown_country() -> None:
    items = shelves({(CLOCK, VIENNA): 5})

    assert allocate_stock({CLOCK: 3}, EVERYWHERE, items, {}) == [Allocation(CLOCK, VIENNA, 3)]


def test_a_location_without_a_country_list_ships_everywhere() -> None:
    lisbon = StockLocation(id="lisbon-warehouse", name="Lisbon warehouse", priority=5)
    items = shelves({(CLOCK, "lisbon-warehouse"): 5})

    plan = allocate_stock({CLOCK: 3}, [*EVERYWHERE, lisbon], items, {}, country="FR")

    assert plan == [Allocation(CLOCK, "lisbon-warehouse", 3)]


def test_two_cart_lines_of_the_same_sku_are_checked_together() -> None:
    lines = [(CLOCK, 2), (CLOCK, 2)]  # one of them gift-wrapped
    items = shelves({(CLOCK, BERLIN): 3})
    for line in lines:
        assert allocate_stock(dict([line]), EVERYWHERE, items, {})
    wanted = Counter[str]()
    for sku, quantity in lines:
        wanted[sku] += quantity

    with pytest.raises(InsufficientStock) as caught:
        allocate_stock(wanted, EVERYWHERE, items, {})

    assert (caught.value.sku, caught.value.requested, caught.value.available) == (CLOCK, 4, 3)


@pytest.mark.parametrize("strategy", [PriorityOrder, FewestLocations])
def test_a_shortfall_across_all_locations_raises_insufficient_stock(
    strategy: AllocationStrategy,
) -> None:
    items = shelves({(CLOCK, BERLIN): 2, (CLOCK, HAMBURG): 2, (LAMP, BERLIN): 9})

    with pytest.raises(InsufficientStock) as caught:
        allocate_stock({LAMP: 1, CLOCK: 5}, EVERYWHERE, items, {}, strategy=strategy)

    error = caught.value
    assert (error.code, error.field) == ("insufficient_stock", "quantity")
    assert (error.sku, error.requested, error.available) == (CLOCK, 5, 4)


def test_a_sku_with_no_stock_anywhere_is_refused() -> None:
    with pytest.raises(InsufficientStock) as caught:
        allocate_stock({CLOCK: 1}, EVERYWHERE, [], {})

    assert caught.value.available == 0


def test_a_backorder_floor_lets_the_plan_owe_stock_from_the_first_location() -> None:
    items = shelves({(CLOCK, BERLIN): 2, (CLOCK, HAMBURG): 3})

    plan = allocate_stock({CLOCK: 8}, EVERYWHERE, items, {CLOCK: -10})

    assert plan == [Allocation(CLOCK, BERLIN, 5), Allocation(CLOCK, HAMBURG, 3)]


def test_a_backorder_lands_on_the_first_location_even_with_nothing_there() -> None:
    items = shelves({(CLOCK, HAMBURG): 1})

    plan = allocate_stock({CLOCK: 4}, EVERYWHERE, items, {CLOCK: -10}, country="DE")

    assert plan == [Allocation(CLOCK, BERLIN, 3), Allocation(CLOCK, HAMBURG, 1)]


def test_a_backorder_beyond_its_limit_is_refused() -> None:
    items = shelves({(CLOCK, BERLIN): 2})

    with pytest.raises(InsufficientStock) as caught:
        allocate_stock({CLOCK: 6}, EVERYWHERE, items, {CLOCK: -3})

    assert caught.value.available == 5


def test_nothing_can_be_backordered_where_no_location_serves_the_country() -> None:
    with pytest.raises(InsufficientStock):
        allocate_stock({CLOCK: 1}, EVERYWHERE, [], {CLOCK: -10}, country="FR")


@pytest.mark.parametrize("strategy", [PriorityOrder, FewestLocations])
def test_the_plan_is_sorted_by_sku_then_location_so_locks_are_taken_in_one_order(
    strategy: AllocationStrategy,
) -> None:
    items = shelves(
        {(CLOCK, HAMBURG): 1, (CLOCK, BERLIN): 1, (LAMP, HAMBURG): 1, (LAMP, BERLIN): 1}
    )

    plan = allocate_stock({CLOCK: 2, LAMP: 2}, EVERYWHERE, items, {}, strategy=strategy)

    assert [(a.sku, a.location_id) for a in plan] == [
        (LAMP, BERLIN),
        (LAMP, HAMBURG),
        (CLOCK, BERLIN),
        (CLOCK, HAMBURG),
    ]


LONDON_SHOP = StockLocation(id="london-shop", name="London shop", kind="shop", priority=1)
LOCATION_POOL = [*EVERYWHERE, LONDON_SHOP]
SKUS = (CLOCK, LAMP, "TEAK-RADIO")


AllocationCase = tuple[
    dict[str, int],
    list[StockLocation],
    list[StockItem],
    dict[str, int],
    str | None,
    AllocationStrategy,
]


@st.composite
def allocation_cases(draw: st.DrawFn) -> AllocationCase:
    locations = draw(st.lists(st.sampled_from(LOCATION_POOL), unique_by=lambda p: p.id))
    items = []
    for place in locations:
        for sku in SKUS:
            if draw(st.booleans()):
                on_hand = draw(st.integers(0, 12))
                reserved = draw(st.integers(0, on_hand))
                items.append(
                    StockItem(sku=sku, location_id=place.id, on_hand=on_hand, reserved=reserved)
                )
    wanted = draw(st.dictionaries(st.sampled_from(SKUS), st.integers(1, 25), min_size=1))
    floors = draw(st.dictionaries(st.sampled_from(SKUS), st.sampled_from([0, -4, -UNLIMITED])))
    country = draw(st.sampled_from([None, "DE", "AT", "PL", "FR"]))
    strategies: list[AllocationStrategy] = [PriorityOrder, FewestLocations]
    strategy = draw(st.sampled_from(strategies))
    return wanted, locations, items, floors, country, strategy


@given(allocation_cases())
def test_a_plan_covers_exactly_what_was_wanted_within_what_is_available(
    case: AllocationCase,
) -> None:
    wanted, locations, items, floors, country, strategy = case
    serving = {place.id for place in locations if place.serves(country)}
    available = {(i.sku, i.location_id): i.available for i in items if i.location_id in serving}
    short = {
        sku
        for sku, quantity in wanted.items()
        if not serving
        or sum(n for (s, _), n in available.items() if s == sku) - quantity < floors.get(sku, 0)
    }

    def allocate() -> list[Allocation]:
        return allocate_stock(wanted, locations, items, floors, country=country, strategy=strategy)

    if short:
        with pytest.raises(InsufficientStock) as caught:
            allocate()
        assert caught.value.sku in short
        assert caught.value.requested == wanted[caught.value.sku]
        return

    plan = allocate()

    for sku, quantity in wanted.items():
        assert sum(a.quantity for a in plan if a.sku == sku) == quantity
    for a in plan:
        assert a.quantity > 0
        assert a.location_id in serving
        if floors.get(a.sku, 0) >= 0:
            assert a.quantity <= available.get((a.sku, a.location_id), 0)
    keys = [(a.sku, a.location_id) for a in plan]
    assert keys == sorted(set(keys))


# --- reordering ----------------------------------------------------------------------------


def fixed(reorder_point: int = 5, quantity: int = 20, **kwargs: object) -> ReorderPolicy:
    return ReorderPolicy(reorder_point=reorder_point, quantity=quantity, **kwargs)  # type: ignore[arg-type]


def test_an_item_at_its_reorder_point_is_suggested_with_the_fixed_quantity() -> None:
    item = clocks(5, reorder=fixed(reorder_point=5, quantity=20))

    assert reorder_suggestions([item]) == [(item, 20)]


def test_min_max_fills_up_to_the_maximum_from_what_is_available() -> None:
    policy = ReorderPolicy(reorder_point=5, maximum=30)
    item = clocks(6, reserved=2, reorder=policy)

    assert reorder_suggestions([item]) == [(item, 26)]


def test_items_above_their_reorder_point_or_without_a_policy_are_not_suggested() -> None:
    plenty = clocks(6, reorder=fixed(reorder_point=5))
    no_policy = StockItem(sku=LAMP, location_id=BERLIN, on_hand=0)
    running_low = StockItem(sku="TEAK-RADIO", location_id=BERLIN, on_hand=1, reorder=fixed())

    assert reorder_suggestions([plenty, no_policy, running_low]) == [(running_low, 20)]


def test_held_stock_counts_against_the_reorder_point() -> None:
    item = clocks(9, reserved=4, reorder=fixed(reorder_point=5, quantity=12))

    assert reorder_suggestions([item]) == [(item, 12)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"reorder_point": 5}, "quantity"),
        ({"reorder_point": 5, "quantity": 10, "maximum": 30}, "quantity"),
        ({"reorder_point": 5, "maximum": 5}, "maximum"),
        ({"reorder_point": 5, "maximum": 4}, "maximum"),
        ({"reorder_point": 5, "quantity": 0}, "quantity"),
        ({"reorder_point": -1, "quantity": 10}, "reorder_point"),
        ({"reorder_point": 5, "maximum": -1}, "maximum"),
    ],
    ids=[
        "neither quantity nor maximum",
        "both quantity and maximum",
        "maximum at the point",
        "maximum below the point",
        "zero quantity",
        "negative point",
        "negative maximum",
    ],
)
def test_a_reorder_policy_that_cannot_say_how_much_to_order_is_refused(
    kwargs: dict[str, int], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        ReorderPolicy(**kwargs)  # type: ignore[arg-type]

    assert caught.value.field == field


# --- purchase orders -------------------------------------------------------------------------

SUPPLIER = "zeitwerk-gmbh"


def receipt_ids() -> Callable[[], str]:
    ids = count(1)
    return lambda: f"receipt-{next(ids)}"


def sent_order() -> PurchaseOrder:
    order = PurchaseOrder(
        id="po-1001",
        supplier=SUPPLIER,
        location_id=BERLIN,
        lines=[PurchaseOrderLine(sku=CLOCK, quantity=20), PurchaseOrderLine(sku=LAMP, quantity=6)],
    )
    order.send()
    return order


def po_snapshot(order: PurchaseOrder) -> tuple[object, ...]:
    return order.status, [(x.sku, x.quantity, x.received) for x in order.lines], order.version


def test_a_purchase_order_drafted_from_suggestions_names_the_supplier_and_arrival() -> None:
    policy = fixed(supplier=SUPPLIER, lead_time_days=14)
    low_clocks = clocks(2, reorder=policy)
    low_lamps = StockItem(sku=LAMP, location_id=BERLIN, on_hand=0, reorder=policy)
    hamburg_clocks = StockItem(sku=CLOCK, location_id=HAMBURG, on_hand=0, reorder=policy)
    suggestions = reorder_suggestions([low_clocks, low_lamps, hamburg_clocks])

    order = PurchaseOrder.from_suggestions("po-1001", BERLIN, suggestions, now=NOW)

    assert order.status is PurchaseOrderStatus.DRAFT
    assert (order.supplier, order.location_id) == (SUPPLIER, BERLIN)
    assert order.expected_at == NOW + timedelta(days=14)
    assert [(x.sku, x.quantity, x.received) for x in order.lines] == [
        (CLOCK, 20, 0),
        (LAMP, 20, 0),
    ]


def test_a_purchase_order_with_nothing_to_reorder_at_the_location_is_refused() -> None:
    suggestions = reorder_suggestions(
        [StockItem(sku=CLOCK, location_id=HAMBURG, on_hand=0, reorder=fixed())]
    )

    with pytest.raises(InvalidInput) as caught:
        PurchaseOrder.from_suggestions("po-1001", BERLIN, suggestions, now=NOW)

    assert caught.value.field == "location_id"


def test_a_purchase_order_never_orders_a_sku_from_another_items_supplier() -> None:
    clocks_from_zeitwerk = clocks(0, reorder=fixed(supplier=SUPPLIER, lead_time_days=14))
    lamps_from_lumen = StockItem(
        sku=LAMP,
        location_id=BERLIN,
        on_hand=0,
        reorder=fixed(supplier="lumen-lighting", lead_time_days=60),
    )
    supplier_of = {CLOCK: SUPPLIER, LAMP: "lumen-lighting"}
    suggestions = reorder_suggestions([clocks_from_zeitwerk, lamps_from_lumen])

    try:
        order = PurchaseOrder.from_suggestions("po-1001", BERLIN, suggestions, now=NOW)
    except InvalidInput:
        return  # refusing a mix of suppliers is fine too

    assert all(supplier_of[x.sku] == order.supplier for x in order.lines)


def test_sending_a_draft_marks_it_sent() -> None:
    order = PurchaseOrder(id="po-1001", supplier=SUPPLIER, location_id=BERLIN, lines=[])

    order.send()

    assert order.status is PurchaseOrderStatus.SENT
    assert order.version == 1


def test_an_order_is_sent_only_once() -> None:
    order = sent_order()

    with pytest.raises(InvalidTransition) as caught:
        order.send()

    assert (caught.value.state, caught.value.action) == ("sent", "send")


def test_receiving_part_then_the_rest_completes_the_order() -> None:
    order = sent_order()
    next_id = receipt_ids()

    first = order.receive({CLOCK: 12}, movement_id=next_id, at=NOW)

    assert (order.status, [(x.sku, x.received) for x in order.lines]) == (
        PurchaseOrderStatus.PARTIALLY_RECEIVED,
        [(CLOCK, 12), (LAMP, 0)],
    )
    assert first == [
        StockMovement(
            id="receipt-1",
            sku=CLOCK,
            location_id=BERLIN,
            kind=MovementKind.RECEIPT,
            quantity=12,
            at=NOW,
            reference="po-1001",
        )
    ]

    later = NOW + timedelta(days=3)
    rest = order.receive({CLOCK: 8, LAMP: 6}, movement_id=next_id, at=later)

    assert (order.status, [(x.sku, x.received) for x in order.lines]) == (
        PurchaseOrderStatus.RECEIVED,
        [(CLOCK, 20), (LAMP, 6)],
    )
    assert [(m.id, m.sku, m.quantity, m.kind, m.reference, m.at) for m in rest] == [
        ("receipt-2", CLOCK, 8, MovementKind.RECEIPT, "po-1001", later),
        ("receipt-3", LAMP, 6, MovementKind.RECEIPT, "po-1001", later),
    ]


def test_received_goods_land_on_the_shelf_through_the_ledger() -> None:
    order = sent_order()
    item = clocks(2)

    for entry in order.receive({CLOCK: 12}, movement_id=receipt_ids(), at=NOW):
        item.record(entry)

    assert item.on_hand == 14


@pytest.mark.parametrize(
    "quantities",
    [
        {CLOCK: 21},
        {LAMP: 6, CLOCK: 21},
        {CLOCK: 5, "TEAK-RADIO": 1},
        {CLOCK: 0},
        {CLOCK: 5, LAMP: -1},
    ],
    ids=["more than due", "more than due after a good line", "unknown SKU", "zero", "negative"],
)
def test_a_receipt_that_does_not_match_the_order_is_refused_and_changes_nothing(
    quantities: dict[str, int],
) -> None:
    order = sent_order()
    before = po_snapshot(order)

    with pytest.raises(InvalidInput):
        order.receive(quantities, movement_id=receipt_ids(), at=NOW)

    assert po_snapshot(order) == before


def test_receiving_more_than_is_still_due_after_a_partial_receipt_is_refused() -> None:
    order = sent_order()
    order.receive({CLOCK: 15}, movement_id=receipt_ids(), at=NOW)
    before = po_snapshot(order)

    with pytest.raises(InvalidInput) as caught:
        order.receive({CLOCK: 6}, movement_id=receipt_ids(), at=NOW)

    assert caught.value.field == "quantity"
    assert "only 5" in str(caught.value)
    assert po_snapshot(order) == before


def test_an_empty_receipt_changes_nothing() -> None:
    order = sent_order()

    with contextlib.suppress(InvalidInput):
        order.receive({}, movement_id=receipt_ids(), at=NOW)

    assert order.status is PurchaseOrderStatus.SENT


def test_a_draft_cannot_be_received_before_it_is_sent() -> None:
    order = PurchaseOrder(
        id="po-1001",
        supplier=SUPPLIER,
        location_id=BERLIN,
        lines=[PurchaseOrderLine(sku=CLOCK, quantity=20)],
    )
    before = po_snapshot(order)

    with pytest.raises(InvalidTransition) as caught:
        order.receive({CLOCK: 1}, movement_id=receipt_ids(), at=NOW)

    assert (caught.value.state, caught.value.action) == ("draft", "receive")
    assert po_snapshot(order) == before


def test_a_received_or_cancelled_order_takes_no_more_goods() -> None:
    received = sent_order()
    received.receive({CLOCK: 20, LAMP: 6}, movement_id=receipt_ids(), at=NOW)
    cancelled = sent_order()
    cancelled.cancel()

    for order in (received, cancelled):
        with pytest.raises(InvalidTransition):
            order.receive({CLOCK: 1}, movement_id=receipt_ids(), at=NOW)


def draft() -> PurchaseOrder:
    return PurchaseOrder(
        id="po-1001",
        supplier=SUPPLIER,
        location_id=BERLIN,
        lines=[PurchaseOrderLine(sku=CLOCK, quantity=20)],
    )


def partially_received() -> PurchaseOrder:
    order = sent_order()
    order.receive({CLOCK: 1}, movement_id=receipt_ids(), at=NOW)
    return order


def fully_received() -> PurchaseOrder:
    order = sent_order()
    order.receive({CLOCK: 20, LAMP: 6}, movement_id=receipt_ids(), at=NOW)
    return order


def cancelled() -> PurchaseOrder:
    order = sent_order()
    order.cancel()
    return order


@pytest.mark.parametrize("make", [draft, sent_order])
def test_an_order_nothing_of_which_has_arrived_can_be_cancelled(
    make: Callable[[], PurchaseOrder],
) -> None:
    order = make()
    version = order.version

    order.cancel()

    assert order.status is PurchaseOrderStatus.CANCELLED
    assert order.version == version + 1


@pytest.mark.parametrize("make", [partially_received, fully_received, cancelled])
def test_an_order_that_has_goods_in_or_is_cancelled_cannot_be_cancelled(
    make: Callable[[], PurchaseOrder],
) -> None:
    order = make()
    before = po_snapshot(order)

    with pytest.raises(InvalidTransition) as caught:
        order.cancel()

    assert caught.value.action == "cancel"
    assert po_snapshot(order) == before


# --- reservations ---------------------------------------------------------------------------


def hold(status: ReservationStatus = ReservationStatus.ACTIVE) -> Reservation:
    return Reservation(
        id="hold-1",
        order_id="order-42",
        sku=CLOCK,
        location_id=BERLIN,
        quantity=2,
        expires_at=NOW,
        status=status,
    )


@pytest.mark.parametrize(
    ("now", "expired"),
    [(NOW - timedelta(seconds=1), False), (NOW, True), (NOW + timedelta(hours=1), True)],
    ids=["before", "at", "after"],
)
def test_an_active_hold_expires_at_its_expiry_time(now: datetime, expired: bool) -> None:
    assert hold().expired(now) is expired


@pytest.mark.parametrize(
    "status",
    [ReservationStatus.RELEASED, ReservationStatus.CONSUMED, ReservationStatus.ALLOCATED],
)
def test_a_closed_or_allocated_hold_never_expires(status: ReservationStatus) -> None:
    assert not hold(status).expired(NOW + timedelta(days=1))


@pytest.mark.parametrize("holding", [ReservationStatus.ACTIVE, ReservationStatus.ALLOCATED])
def test_releasing_a_hold_gives_its_units_back_to_available(holding: ReservationStatus) -> None:
    reservation = hold(holding)
    item = clocks(5, reserved=2)

    change = reservation.close(ReservationStatus.RELEASED, at=NOW)
    after, events = change.apply(item)

    assert reservation.status is ReservationStatus.RELEASED
    assert (after.on_hand, after.reserved, after.available) == (5, 0, 5)
    assert change.movement is None
    assert events == []


def test_consuming_a_hold_takes_the_goods_off_the_shelf_as_a_sale_at_the_given_time() -> None:
    reservation = hold(ReservationStatus.ALLOCATED)
    shipped_at = NOW + timedelta(days=2)

    change = reservation.close(ReservationStatus.CONSUMED, at=shipped_at)
    after, _ = change.apply(clocks(5, reserved=2))

    assert reservation.status is ReservationStatus.CONSUMED
    assert (after.on_hand, after.reserved) == (3, 0)
    sale = change.movement
    assert sale is not None
    assert (sale.kind, sale.quantity, sale.at, sale.reference) == (
        MovementKind.SALE,
        -2,
        shipped_at,
        "order-42",
    )


def test_a_backordered_hold_cannot_ship_before_its_goods_arrive() -> None:
    change = hold().close(ReservationStatus.CONSUMED, at=NOW)

    with pytest.raises(InsufficientStock) as caught:
        change.apply(clocks(1, reserved=2))

    assert (caught.value.requested, caught.value.available) == (2, 1)


def test_a_hold_is_closed_only_once() -> None:
    reservation = hold()
    reservation.close(ReservationStatus.CONSUMED, at=NOW)

    with pytest.raises(InvalidTransition) as caught:
        reservation.close(ReservationStatus.RELEASED, at=NOW)

    assert (caught.value.state, caught.value.action) == ("consumed", "released")
    assert reservation.status is ReservationStatus.CONSUMED


def test_a_hold_is_not_closed_into_another_holding_state() -> None:
    with pytest.raises(InvalidTransition):
        hold().close(ReservationStatus.ALLOCATED, at=NOW)


def test_a_paid_orders_hold_is_allocated_once_and_then_cannot_be_extended() -> None:
    reservation = hold()
    reservation.extend(NOW + timedelta(hours=1))
    reservation.allocate()

    assert reservation.status is ReservationStatus.ALLOCATED
    assert reservation.holds
    with pytest.raises(InvalidTransition):
        reservation.allocate()
    with pytest.raises(InvalidTransition):
        reservation.extend(NOW + timedelta(days=1))
    assert reservation.expires_at == NOW + timedelta(hours=1)
