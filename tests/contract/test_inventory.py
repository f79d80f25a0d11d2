"""The inventory port's promises, checked on every storage: memory, SQLite, PostgreSQL.

Stock moves only through the ledger and through reservations; a change that the
stock cannot cover is refused and the whole unit of work with it; a reservation is
closed once however often it is closed; a coupon's last use goes to one order.
(Real races between threads are in ``tests/integration/test_sql_inventory.py``.)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercekit.domain.errors import CouponRejected, NotFound
from commercekit.domain.inventory import (
    MovementKind,
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
)
from commercekit.domain.promotions import Coupon, CouponUsage
from commercekit.errors import (
    ConcurrencyConflict,
    InsufficientStock,
)
from commercekit.ports.storage import (
    Storage,
    UnitOfWork,
)
from tests.contract.stock import configured, record
from tests.contract.stock import reserve as hold_stock
from tests.contract.test_storage import a_payment, an_order

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOLD = timedelta(minutes=15)

LONDON = StockLocation(
    id="london", name="London warehouse", priority=0, ships_to=frozenset({"GB", "IE"})
)
BERLIN = StockLocation(id="berlin", name="Berlin shop", kind="shop", priority=1)
DROPSHIP = StockLocation(id="dropship", name="Lamps direct", kind="dropshipper", priority=5)

_numbers = itertools.count(1)


def movement(
    quantity: int,
    *,
    sku: str = "RETRO-CLOCK",
    location_id: str = "london",
    kind: MovementKind | None = None,
    minutes: int = 0,
    reason: str = "",
    reference: str = "",
) -> StockMovement:
    if kind is None:
        kind = MovementKind.RECEIPT if quantity > 0 else MovementKind.ADJUSTMENT
    if kind is MovementKind.ADJUSTMENT and not reason:
        reason = "found damaged"
    return StockMovement(
        id=f"movement-{next(_numbers)}",
        sku=sku,
        location_id=location_id,
        kind=kind,
        quantity=quantity,
        at=NOW + timedelta(minutes=minutes),
        reason=reason,
        reference=reference,
    )


def hold(
    reservation_id: str,
    quantity: int,
    *,
    order_id: str = "order-1001",
    sku: str = "RETRO-CLOCK",
    location_id: str = "london",
    expires_at: datetime = NOW + HOLD,
) -> Reservation:
    return Reservation(
        id=reservation_id,
        order_id=order_id,
        sku=sku,
        location_id=location_id,
        quantity=quantity,
        expires_at=expires_at,
    )


def in_london(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.inventory.add_location(LONDON)
        uow.inventory.add_location(BERLIN)
        uow.commit()


def receive(
    storage: Storage, quantity: int, *, sku: str = "RETRO-CLOCK", location_id: str = "london"
) -> None:
    with storage.unit_of_work() as uow:
        record(uow, movement(quantity, sku=sku, location_id=location_id))
        uow.commit()


def reserve(storage: Storage, *reservations: Reservation, floor: int = 0) -> None:
    with storage.unit_of_work() as uow:
        hold_stock(uow, reservations, {r.sku: floor for r in reservations})
        uow.commit()


def stock_of(
    storage: Storage, sku: str = "RETRO-CLOCK", location_id: str = "london"
) -> StockItem | None:
    with storage.unit_of_work() as uow:
        found = [i for i in uow.inventory.items([sku]) if i.location_id == location_id]
    return found[0] if found else None


def quantities(storage: Storage, sku: str = "RETRO-CLOCK") -> tuple[int, int]:
    """On hand and reserved at London."""
    item = stock_of(storage, sku)
    assert item is not None
    return item.on_hand, item.reserved


def ledger(storage: Storage, sku: str = "RETRO-CLOCK") -> list[StockMovement]:
    with storage.unit_of_work() as uow:
        return uow.inventory.movements(sku, "london")


def settings_of(item: StockItem) -> tuple[object, ...]:
    return (item.sku, item.location_id, item.low_stock_threshold, item.reorder)


def in_one_unit(storage: Storage, work: Callable[[UnitOfWork], object]) -> None:
    """Do ``work`` and commit: a refusal may come from the call or from the commit."""
    with storage.unit_of_work() as uow:
        work(uow)
        uow.commit()


def refused_whole(storage: Storage, work: Callable[[UnitOfWork], object]) -> InsufficientStock:
    with pytest.raises(InsufficientStock) as refused:
        in_one_unit(storage, work)
    return refused.value


# --- locations, rules, settings ----------------------------------------------------


def test_locations_come_back_with_the_countries_they_serve(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        for location in (DROPSHIP, BERLIN, LONDON):
            uow.inventory.add_location(location)
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.inventory.locations()

    assert sorted(found, key=lambda place: place.id) == [BERLIN, DROPSHIP, LONDON]
    assert next(place for place in found if place.id == "london").ships_to == {"GB", "IE"}


def test_stock_rules_come_back_for_the_skus_that_have_one_and_setting_again_replaces(
    storage: Storage,
) -> None:
    rules = [
        StockRule(sku="RETRO-CLOCK"),
        StockRule(sku="LAVA-LAMP", policy=StockPolicy.BACKORDER, backorder_limit=25),
        StockRule(sku="BEAN-BAG", policy=StockPolicy.BACKORDER),
        StockRule(
            sku="DISCO-BALL", policy=StockPolicy.PREORDER, preorder_until=NOW + timedelta(days=9)
        ),
    ]
    with storage.unit_of_work() as uow:
        for rule in rules:
            uow.inventory.set_rule(rule)
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.inventory.rules(["RETRO-CLOCK", "LAVA-LAMP", "BEAN-BAG", "DISCO-BALL", "NOPE"])
        uow.inventory.set_rule(StockRule(sku="LAVA-LAMP"))
        uow.commit()
    with storage.unit_of_work() as uow:
        replaced = uow.inventory.rules(["LAVA-LAMP"])

    assert found == {rule.sku: rule for rule in rules}
    assert found["DISCO-BALL"].floor(NOW) < 0
    assert replaced == {"LAVA-LAMP": StockRule(sku="LAVA-LAMP", policy=StockPolicy.DENY)}


def test_configuring_an_item_creates_it_with_its_settings_and_no_stock(storage: Storage) -> None:
    in_london(storage)
    clock = StockItem(
        sku="RETRO-CLOCK",
        location_id="london",
        on_hand=99,  # never written: quantities move through the ledger only
        reserved=7,
        low_stock_threshold=5,
        reorder=ReorderPolicy(reorder_point=5, quantity=40, supplier="Acme", lead_time_days=3),
    )
    lamp = StockItem(
        sku="LAVA-LAMP",
        location_id="berlin",
        reorder=ReorderPolicy(reorder_point=2, maximum=12),
    )
    with storage.unit_of_work() as uow:
        uow.inventory.apply([configured(clock), configured(lamp)])
        uow.commit()

    stored_clock = stock_of(storage)
    stored_lamp = stock_of(storage, "LAVA-LAMP", "berlin")
    assert stored_clock is not None
    assert stored_lamp is not None
    assert settings_of(stored_clock) == settings_of(clock)
    assert settings_of(stored_lamp) == settings_of(lamp)
    assert (stored_clock.on_hand, stored_clock.reserved, stored_clock.available) == (0, 0, 0)


def test_configuring_an_item_again_changes_its_settings_and_never_its_stock(
    storage: Storage,
) -> None:
    in_london(storage)
    receive(storage, 12)
    reserve(storage, hold("hold-1", 2))
    with storage.unit_of_work() as uow:
        uow.inventory.apply(
            [configured(StockItem(sku="RETRO-CLOCK", location_id="london", low_stock_threshold=3))]
        )
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.inventory.apply(
            [
                configured(
                    StockItem(
                        sku="RETRO-CLOCK", location_id="london", on_hand=0, low_stock_threshold=None
                    )
                )
            ]
        )
        uow.commit()

    item = stock_of(storage)
    assert item is not None
    assert (item.on_hand, item.reserved, item.low_stock_threshold) == (12, 2, None)


def test_items_of_many_skus_come_back_at_every_location(storage: Storage) -> None:
    in_london(storage)
    skus = [f"POSTER-{n}" for n in range(30)]
    with storage.unit_of_work() as uow:
        for n, sku in enumerate(skus):
            record(uow, movement(n + 1, sku=sku))
            if n % 3 == 0:
                record(uow, movement(2 * n + 1, sku=sku, location_id="berlin"))
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.inventory.items([*skus[:20], "NOPE"])
        none = uow.inventory.items([])

    got = sorted((i.sku, i.location_id, i.on_hand) for i in found)
    want = sorted(
        [(sku, "london", n + 1) for n, sku in enumerate(skus[:20])]
        + [(sku, "berlin", 2 * n + 1) for n, sku in enumerate(skus[:20]) if n % 3 == 0]
    )
    assert got == want
    assert none == []


# --- the ledger --------------------------------------------------------------------


def test_every_kind_of_movement_comes_back_in_the_ledger_and_on_hand_is_their_sum(
    storage: Storage,
) -> None:
    in_london(storage)
    moves = [
        movement(40, kind=MovementKind.RECEIPT, reference="po-17"),
        movement(-3, kind=MovementKind.SALE, minutes=1, reference="order-1001"),
        movement(1, kind=MovementKind.RETURN, minutes=2, reference="order-1001"),
        movement(-2, kind=MovementKind.ADJUSTMENT, minutes=3, reason="water damage"),
        movement(-5, kind=MovementKind.TRANSFER, minutes=4, reason="to berlin", reference="tr-1"),
        movement(4, kind=MovementKind.COUNT, minutes=5, reason="stock count"),
    ]
    with storage.unit_of_work() as uow:
        record(uow, moves[0])  # creates the item
        uow.commit()
    for move in moves[1:]:
        with storage.unit_of_work() as uow:
            record(uow, move)
            uow.commit()

    assert ledger(storage) == moves
    assert quantities(storage) == (sum(m.quantity for m in moves), 0)
    with storage.unit_of_work() as uow:
        assert uow.inventory.movements("RETRO-CLOCK", "berlin") == []
        assert uow.inventory.movements("NOPE", "london") == []


def test_a_removal_beyond_available_is_refused_and_writes_nothing(storage: Storage) -> None:
    in_london(storage)
    receive(storage, 5)

    def remove_six(uow: UnitOfWork) -> None:
        record(uow, movement(-3, sku="RETRO-CLOCK"))
        record(uow, movement(-3, sku="RETRO-CLOCK"))

    refused = refused_whole(storage, remove_six)

    assert refused.sku == "RETRO-CLOCK"
    assert quantities(storage) == (5, 0)
    assert [m.quantity for m in ledger(storage)] == [5]


def test_a_removal_counts_what_is_reserved(storage: Storage) -> None:
    in_london(storage)
    receive(storage, 5)
    reserve(storage, hold("hold-1", 3))

    refused_whole(storage, lambda uow: record(uow, movement(-3)))
    with storage.unit_of_work() as uow:
        record(uow, movement(-2))
        uow.commit()

    assert quantities(storage) == (3, 3)


def test_a_removal_never_takes_goods_on_the_shelf_below_zero(storage: Storage) -> None:
    in_london(storage)
    receive(storage, 2)

    # Backorders show as reservations beyond on hand, never as negative shelves.
    refused_whole(storage, lambda uow: record(uow, movement(-6), floor=-4))
    with storage.unit_of_work() as uow:
        record(uow, movement(-2), floor=-4)
        uow.commit()

    assert quantities(storage) == (0, 0)


def test_removing_from_an_item_never_stocked_is_refused(storage: Storage) -> None:
    in_london(storage)

    refused_whole(storage, lambda uow: record(uow, movement(-1, sku="LAVA-LAMP")))
    refused_whole(storage, lambda uow: record(uow, movement(-2, sku="LAVA-LAMP"), floor=-10))
    assert stock_of(storage, "LAVA-LAMP") is None


def test_a_backorder_reserves_beyond_the_shelf_and_cannot_ship_before_the_goods_arrive(
    storage: Storage,
) -> None:
    in_london(storage)
    receive(storage, 2)
    with storage.unit_of_work() as uow:
        hold_stock(uow, [hold("hold-1", 5)], {"RETRO-CLOCK": -4})
        uow.commit()
    assert quantities(storage) == (2, 5)

    refused_whole(
        storage, lambda uow: uow.inventory.release(["hold-1"], ReservationStatus.CONSUMED, at=NOW)
    )
    receive(storage, 3)
    with storage.unit_of_work() as uow:
        assert uow.inventory.release(["hold-1"], ReservationStatus.CONSUMED, at=NOW) == 1
        uow.commit()
    assert quantities(storage) == (0, 0)


_STEP = st.one_of(
    st.tuples(st.just("receive"), st.integers(1, 8), st.just(0)),
    st.tuples(st.just("remove"), st.integers(1, 8), st.sampled_from([0, 0, -3])),
    st.tuples(st.just("reserve"), st.integers(1, 6), st.sampled_from([0, 0, -5])),
    st.tuples(st.just("release"), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("consume"), st.integers(0, 5), st.just(0)),
)
_EXAMPLES = itertools.count()


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEP, max_size=12))
def test_on_hand_is_the_sum_of_the_ledger_and_reserved_the_sum_of_active_holds(
    storage: Storage, steps: list[tuple[str, int, int]]
) -> None:
    """Random receipts, removals, holds, releases and sales; each example works on a
    SKU of its own, so examples never see each other's stock."""
    sku = f"RETRO-CLOCK-{next(_EXAMPLES)}"
    on_hand = reserved = 0
    active: dict[str, int] = {}
    closed: list[str] = []
    for number, (action, quantity, floor) in enumerate(steps):
        with storage.unit_of_work() as uow:
            inventory = uow.inventory
            if action in ("release", "consume"):
                ids = [*active, *closed]
                if not ids:
                    continue
                target = ids[quantity % len(ids)]
                status = (
                    ReservationStatus.CONSUMED
                    if action == "consume"
                    else ReservationStatus.RELEASED
                )
                assert inventory.release([target], status, at=NOW) == (1 if target in active else 0)
                shippable = target not in active or action != "consume"
                shippable = shippable or on_hand >= active[target]
                try:
                    uow.commit()
                except InsufficientStock:
                    # A backordered hold cannot ship before its goods arrive.
                    assert not shippable
                    continue
                assert shippable
                if target in active:
                    held = active.pop(target)
                    closed.append(target)
                    reserved -= held
                    on_hand -= held if action == "consume" else 0
                continue
            fits = on_hand - reserved - quantity >= floor
            if action == "remove":
                fits = fits and on_hand - quantity >= 0  # shelves never go below zero
            try:
                if action == "receive":
                    record(uow, movement(quantity, sku=sku))
                elif action == "remove":
                    record(uow, movement(-quantity, sku=sku), floor=floor)
                else:
                    hold_stock(uow, [hold(f"{sku}-hold-{number}", quantity, sku=sku)], {sku: floor})
                uow.commit()
            except InsufficientStock:
                assert action != "receive"
                assert not fits
                continue
            assert action == "receive" or fits
            if action == "receive":
                on_hand += quantity
            elif action == "remove":
                on_hand -= quantity
            else:
                reserved += quantity
                active[f"{sku}-hold-{number}"] = quantity

    item = stock_of(storage, sku)
    if item is None:
        assert on_hand == reserved == 0
        return
    with storage.unit_of_work() as uow:
        moves = uow.inventory.movements(sku, "london")
        holds = uow.inventory.reservations_for_order("order-1001")
    assert (item.on_hand, item.reserved) == (on_hand, reserved)
    assert item.on_hand == sum(m.quantity for m in moves)
    mine = [r for r in holds if r.sku == sku and r.status is ReservationStatus.ACTIVE]
    assert item.reserved == sum(r.quantity for r in mine)
    assert sorted(r.id for r in mine) == sorted(active)


# --- reservations ------------------------------------------------------------------


def test_a_reservation_holds_stock_and_comes_back_with_its_order(storage: Storage) -> None:
    in_london(storage)
    receive(storage, 10)
    receive(storage, 4, location_id="berlin")
    holds = [
        hold("hold-1", 3),
        hold("hold-2", 4, location_id="berlin", expires_at=NOW + timedelta(hours=2)),
        hold("hold-3", 1, order_id="order-2002"),
    ]

    reserve(storage, *holds)

    with storage.unit_of_work() as uow:
        mine = uow.inventory.reservations_for_order("order-1001")
        theirs = uow.inventory.reservations_for_order("order-2002")
        none = uow.inventory.reservations_for_order("order-9999")
    assert sorted(map(attrs.asdict, mine), key=lambda r: r["id"]) == [
        attrs.asdict(holds[0]),
        attrs.asdict(holds[1]),
    ]
    assert [attrs.asdict(r) for r in theirs] == [attrs.asdict(holds[2])]
    assert none == []
    assert quantities(storage) == (10, 4)
    berlin = stock_of(storage, location_id="berlin")
    assert berlin is not None
    assert (berlin.on_hand, berlin.reserved, berlin.available) == (4, 4, 0)


def test_a_reservation_beyond_available_is_refused_and_nothing_of_the_unit_of_work_is_written(
    storage: Storage,
) -> None:
    in_london(storage)
    receive(storage, 2)
    receive(storage, 5, sku="LAVA-LAMP")

    def place_order(uow: UnitOfWork) -> None:
        uow.orders.add(an_order())
        uow.payments.add(a_payment())
        uow.catalog.record_coupon_use("WELCOME10", "ada", "order-1001")
        hold_stock(
            uow,
            [hold("hold-lamp", 2, sku="LAVA-LAMP"), hold("hold-clock", 3)],
            {"RETRO-CLOCK": 0, "LAVA-LAMP": 0},
        )

    refused = refused_whole(storage, place_order)

    assert (refused.sku, refused.requested, refused.available) == ("RETRO-CLOCK", 3, 2)
    assert quantities(storage) == (2, 0)
    assert quantities(storage, "LAVA-LAMP") == (5, 0)
    with storage.unit_of_work() as uow:
        assert uow.orders.find_by_idempotency_key("idem-1001") is None
        assert uow.payments.for_order("order-1001") is None
        assert uow.inventory.reservations_for_order("order-1001") == []
        assert uow.catalog.coupon_usage(["WELCOME10"], "ada")["WELCOME10"] == CouponUsage()
    assert storage.undelivered_events() == []


def test_a_backorder_floor_lets_a_reservation_take_available_below_zero(
    storage: Storage,
) -> None:
    in_london(storage)
    receive(storage, 2)

    reserve(storage, hold("hold-1", 5), floor=-3)
    with pytest.raises(InsufficientStock):
        reserve(storage, hold("hold-2", 1), floor=-3)

    assert quantities(storage) == (2, 5)


def test_a_reservation_of_an_item_never_stocked_needs_a_backorder_floor(
    storage: Storage,
) -> None:
    in_london(storage)

    with pytest.raises(InsufficientStock):
        reserve(storage, hold("hold-1", 1, sku="DISCO-BALL"))
    assert stock_of(storage, "DISCO-BALL") is None

    reserve(storage, hold("hold-2", 2, sku="DISCO-BALL"), floor=-10)
    item = stock_of(storage, "DISCO-BALL")
    assert item is not None
    assert (item.on_hand, item.reserved, item.available) == (0, 2, -2)


def test_releasing_gives_the_stock_back_and_releasing_again_changes_nothing(
    storage: Storage,
) -> None:
    in_london(storage)
    receive(storage, 10)
    reserve(storage, hold("hold-1", 3), hold("hold-2", 2))

    with storage.unit_of_work() as uow:
        first = uow.inventory.release(["hold-1"], ReservationStatus.RELEASED, at=NOW)
        uow.commit()
    with storage.unit_of_work() as uow:
        again = uow.inventory.release(["hold-1", "hold-404"], ReservationStatus.RELEASED, at=NOW)
        none = uow.inventory.release([], ReservationStatus.RELEASED, at=NOW)
        uow.commit()

    assert (first, again, none) == (1, 0, 0)
    assert quantities(storage) == (10, 2)
    with storage.unit_of_work() as uow:
        statuses = {r.id: r.status for r in uow.inventory.reservations_for_order("order-1001")}
    assert statuses == {"hold-1": ReservationStatus.RELEASED, "hold-2": ReservationStatus.ACTIVE}


def test_releasing_twice_in_one_unit_of_work_releases_once(storage: Storage) -> None:
    in_london(storage)
    receive(storage, 10)
    reserve(storage, hold("hold-1", 3))

    with storage.unit_of_work() as uow:
        counts = [
            uow.inventory.release(["hold-1", "hold-1"], ReservationStatus.RELEASED, at=NOW),
            uow.inventory.release(["hold-1"], ReservationStatus.CONSUMED, at=NOW),
        ]
        uow.commit()

    assert counts == [1, 0]
    assert quantities(storage) == (10, 0)
    assert [m.quantity for m in ledger(storage)] == [10]


def test_a_reservation_released_by_another_unit_of_work_meanwhile_is_released_once(
    storage: Storage,
) -> None:
    in_london(storage)
    receive(storage, 10)
    reserve(storage, hold("hold-1", 3))

    with storage.unit_of_work() as late:
        seen = late.inventory.reservations_for_order("order-1001")
        assert [r.status for r in seen] == [ReservationStatus.ACTIVE]
        with storage.unit_of_work() as first:
            assert first.inventory.release(["hold-1"], ReservationStatus.RELEASED, at=NOW) == 1
            first.commit()
        closed = late.inventory.release([r.id for r in seen], ReservationStatus.CONSUMED, at=NOW)
        late.commit()

    assert closed == 0
    assert quantities(storage) == (10, 0)
    assert [m.kind for m in ledger(storage)] == [MovementKind.RECEIPT]


def test_consuming_takes_the_goods_off_the_shelf_as_a_sale_in_the_ledger(
    storage: Storage,
) -> None:
    in_london(storage)
    receive(storage, 10)
    reserve(storage, hold("hold-1", 3), hold("hold-2", 2))

    with storage.unit_of_work() as uow:
        closed = uow.inventory.release(["hold-1", "hold-2"], ReservationStatus.CONSUMED, at=NOW)
        uow.commit()

    assert closed == 2
    assert quantities(storage) == (5, 0)
    moves = ledger(storage)
    assert [m.kind for m in moves] == [MovementKind.RECEIPT, MovementKind.SALE, MovementKind.SALE]
    assert sorted(m.quantity for m in moves[1:]) == [-3, -2]
    assert {m.reference for m in moves[1:]} == {"order-1001"}
    assert sum(m.quantity for m in moves) == 5


def test_a_reservation_made_and_consumed_in_one_unit_of_work(storage: Storage) -> None:
    in_london(storage)
    receive(storage, 4)

    with storage.unit_of_work() as uow:
        hold_stock(uow, [hold("hold-1", 4)], {})
        assert uow.inventory.release(["hold-1"], ReservationStatus.CONSUMED, at=NOW) == 1
        uow.commit()

    assert quantities(storage) == (0, 0)
    with storage.unit_of_work() as uow:
        held = uow.inventory.reservations_for_order("order-1001")
    assert [(r.id, r.status) for r in held] == [("hold-1", ReservationStatus.CONSUMED)]


def test_extending_moves_the_expiry_of_active_reservations_only(storage: Storage) -> None:
    in_london(storage)
    receive(storage, 10)
    reserve(storage, hold("hold-1", 1), hold("hold-2", 1))
    with storage.unit_of_work() as uow:
        uow.inventory.release(["hold-2"], ReservationStatus.RELEASED, at=NOW)
        uow.commit()

    until = datetime(9999, 1, 1, tzinfo=UTC)
    with storage.unit_of_work() as uow:
        uow.inventory.extend(["hold-1", "hold-2", "hold-404"], until)
        uow.commit()

    with storage.unit_of_work() as uow:
        expiries = {r.id: r.expires_at for r in uow.inventory.reservations_for_order("order-1001")}
        expired = uow.inventory.expired_reservations(NOW + timedelta(days=365))
    assert expiries == {"hold-1": until, "hold-2": NOW + HOLD}
    assert expired == []


def test_expired_reservations_come_earliest_first_up_to_the_limit(storage: Storage) -> None:
    in_london(storage)
    receive(storage, 20)
    reserve(
        storage,
        hold("hold-late", 1, expires_at=NOW + timedelta(minutes=1)),
        hold("hold-now", 1, order_id="order-2", expires_at=NOW),
        hold("hold-early", 1, order_id="order-3", expires_at=NOW - timedelta(hours=2)),
        hold("hold-mid", 1, order_id="order-4", expires_at=NOW - timedelta(minutes=5)),
        hold("hold-gone", 1, order_id="order-5", expires_at=NOW - timedelta(hours=3)),
    )
    with storage.unit_of_work() as uow:
        uow.inventory.release(["hold-gone"], ReservationStatus.RELEASED, at=NOW)
        uow.commit()

    with storage.unit_of_work() as uow:
        expired = uow.inventory.expired_reservations(NOW)
        first_two = uow.inventory.expired_reservations(NOW, limit=2)
        earlier = uow.inventory.expired_reservations(NOW - timedelta(days=1))

    assert [r.id for r in expired] == ["hold-early", "hold-mid", "hold-now"]
    assert [r.id for r in first_two] == ["hold-early", "hold-mid"]
    assert earlier == []
    assert all(r.status is ReservationStatus.ACTIVE for r in expired)


# --- purchase orders ---------------------------------------------------------------


def a_purchase_order(purchase_order_id: str = "po-17") -> PurchaseOrder:
    return PurchaseOrder(
        id=purchase_order_id,
        supplier="Acme Clocks",
        location_id="london",
        lines=[
            PurchaseOrderLine(sku="RETRO-CLOCK", quantity=40),
            PurchaseOrderLine(sku="LAVA-LAMP", quantity=12),
        ],
        expected_at=NOW + timedelta(days=3),
    )


def po_state(order: PurchaseOrder) -> dict[str, object]:
    return attrs.asdict(order)


def test_a_purchase_order_comes_back_with_its_lines(storage: Storage) -> None:
    order = a_purchase_order()
    undated = attrs.evolve(a_purchase_order("po-18"), expected_at=None, lines=[])
    with storage.unit_of_work() as uow:
        uow.inventory.add_purchase_order(order)
        uow.inventory.add_purchase_order(undated)
        assert po_state(uow.inventory.purchase_order("po-17")) == po_state(order)
        uow.commit()

    with storage.unit_of_work() as uow:
        assert po_state(uow.inventory.purchase_order("po-17")) == po_state(order)
        assert po_state(uow.inventory.purchase_order("po-18")) == po_state(undated)


def test_a_received_purchase_order_keeps_what_arrived(storage: Storage) -> None:
    in_london(storage)
    with storage.unit_of_work() as uow:
        uow.inventory.add_purchase_order(a_purchase_order())
        uow.commit()
    with storage.unit_of_work() as uow:
        order = uow.inventory.purchase_order("po-17")
        order.send()
        uow.inventory.save_purchase_order(order)
        uow.commit()

    ids = (f"receipt-{n}" for n in itertools.count())
    with storage.unit_of_work() as uow:
        order = uow.inventory.purchase_order("po-17")
        for move in order.receive({"RETRO-CLOCK": 15}, movement_id=lambda: next(ids), at=NOW):
            record(uow, move)
        uow.inventory.save_purchase_order(order)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.inventory.purchase_order("po-17")
    assert po_state(loaded) == po_state(order)
    assert loaded.status is PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert [(line.sku, line.received) for line in loaded.lines] == [
        ("RETRO-CLOCK", 15),
        ("LAVA-LAMP", 0),
    ]
    assert quantities(storage) == (15, 0)
    assert [m.reference for m in ledger(storage)] == ["po-17"]


def test_two_writers_of_one_purchase_order_the_second_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.inventory.add_purchase_order(a_purchase_order())
        uow.commit()

    with storage.unit_of_work() as first, storage.unit_of_work() as second:
        mine = first.inventory.purchase_order("po-17")
        theirs = second.inventory.purchase_order("po-17")
        mine.send()
        first.inventory.save_purchase_order(mine)
        first.commit()
        theirs.cancel()
        second.inventory.save_purchase_order(theirs)
        with pytest.raises(ConcurrencyConflict):
            second.commit()

    with storage.unit_of_work() as uow:
        assert uow.inventory.purchase_order("po-17").status is PurchaseOrderStatus.SENT


def test_a_purchase_order_with_a_taken_id_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.inventory.add_purchase_order(a_purchase_order())
        uow.commit()

    other = attrs.evolve(a_purchase_order(), supplier="Other")
    with pytest.raises(ConcurrencyConflict):
        in_one_unit(storage, lambda uow: uow.inventory.add_purchase_order(other))

    with storage.unit_of_work() as uow:
        assert uow.inventory.purchase_order("po-17").supplier == "Acme Clocks"


def test_an_unknown_purchase_order_is_not_found(storage: Storage) -> None:
    with storage.unit_of_work() as uow, pytest.raises(NotFound):
        uow.inventory.purchase_order("po-404")


# --- coupon limits -----------------------------------------------------------------


def a_limited_coupon(
    storage: Storage, usage_limit: int, usage_limit_per_customer: int | None = None
) -> None:
    coupon = Coupon(
        code="LASTONE",
        promotion_id="promo-last",
        usage_limit=usage_limit,
        usage_limit_per_customer=usage_limit_per_customer,
    )
    with storage.unit_of_work() as uow:
        uow.catalog.add_coupon(coupon)
        uow.commit()


def test_a_coupon_with_one_use_left_goes_to_the_first_commit(storage: Storage) -> None:
    a_limited_coupon(storage, usage_limit=1)

    with storage.unit_of_work() as first, storage.unit_of_work() as second:
        for uow, order_id in ((first, "order-1"), (second, "order-2")):
            assert uow.catalog.coupon_usage(["LASTONE"], "ada")["LASTONE"].total == 0
            uow.catalog.record_coupon_use("LASTONE", "ada", order_id)
        second.orders.add(an_order("order-2", key="idem-2"))
        first.commit()
        with pytest.raises(CouponRejected) as rejected:
            second.commit()

    assert rejected.value.reason == "limit_reached"
    with storage.unit_of_work() as uow:
        assert uow.catalog.coupon_usage(["LASTONE"], "ada")["LASTONE"] == CouponUsage(
            total=1, by_customer=1
        )
        assert uow.orders.find_by_idempotency_key("idem-2") is None


def test_releasing_an_orders_coupon_use_frees_it_for_another_order(storage: Storage) -> None:
    a_limited_coupon(storage, usage_limit=1)
    with storage.unit_of_work() as uow:
        uow.catalog.record_coupon_use("LASTONE", "ada", "order-1")
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.catalog.release_coupon_uses("order-1")
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.catalog.record_coupon_use("LASTONE", "grace", "order-2")
        uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.catalog.coupon_usage(["LASTONE"], "grace")["LASTONE"] == CouponUsage(
            total=1, by_customer=1
        )


def test_a_coupons_limit_per_customer_is_checked_on_commit(storage: Storage) -> None:
    a_limited_coupon(storage, usage_limit=10, usage_limit_per_customer=1)

    with storage.unit_of_work() as first, storage.unit_of_work() as second:
        first.catalog.record_coupon_use("LASTONE", "ada", "order-1")
        second.catalog.record_coupon_use("LASTONE", "ada", "order-2")
        first.commit()
        with pytest.raises(CouponRejected) as rejected:
            second.commit()
    with storage.unit_of_work() as uow:
        uow.catalog.record_coupon_use("LASTONE", "grace", "order-3")
        uow.catalog.record_coupon_use("LASTONE", None, "order-4")
        uow.commit()

    assert rejected.value.reason == "limit_reached"
    with storage.unit_of_work() as uow:
        assert uow.catalog.coupon_usage(["LASTONE"], "ada")["LASTONE"] == CouponUsage(
            total=3, by_customer=1
        )


def test_recording_an_orders_use_again_does_not_count_against_the_limit(
    storage: Storage,
) -> None:
    a_limited_coupon(storage, usage_limit=1)
    for _ in range(2):
        with storage.unit_of_work() as uow:
            uow.catalog.record_coupon_use("LASTONE", "ada", "order-1")
            uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.catalog.coupon_usage(["LASTONE"], "ada")["LASTONE"].total == 1


def test_a_use_recorded_then_released_in_one_unit_of_work_is_not_kept(storage: Storage) -> None:
    a_limited_coupon(storage, usage_limit=1)

    with storage.unit_of_work() as uow:
        uow.catalog.record_coupon_use("LASTONE", "ada", "order-1")
        uow.catalog.release_coupon_uses("order-1")
        uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.catalog.coupon_usage(["LASTONE"], "ada")["LASTONE"] == CouponUsage()


# --- events no aggregate carries ---------------------------------------------------


def test_recorded_events_are_committed_after_the_aggregates_and_kept_in_the_outbox(
    storage: Storage,
) -> None:
    low = StockLow(
        occurred_at=NOW, sku="RETRO-CLOCK", location_id="london", available=2, threshold=3
    )
    with storage.unit_of_work() as uow:
        uow.orders.add(an_order())
        uow.record_events([low])
        committed = uow.commit()

    assert [type(event) for event in committed][-1] is StockLow
    assert committed[-1] == low
    assert [event for _, event in storage.undelivered_events()] == list(committed)

    with storage.unit_of_work() as uow:
        uow.record_events([low])
        uow.rollback()
        assert uow.commit() == []
