"""Shipments of one order raced against each other and against its cancellation, on
a SQLite file and on PostgreSQL: every unit leaves the shelf once and only once, a
cancelled order ships nothing, a shipped one is not cancelled, and the ledger always
adds up to what is on the shelf.

Each race is an order of three mugs held in two places (one in Berlin, two in
Hamburg), so that it ships as two shipments; two threads are released together by a
barrier, every race is run a few times, and each is bounded in time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from commercekit import Money, Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.events import ShipmentDispatched
from commercekit.domain.fulfilment import Shipment, ShipmentStatus
from commercekit.domain.inventory import MovementKind, ReservationStatus
from commercekit.domain.orders import FulfilmentStatus, OrderStatus
from commercekit.errors import CommerceError, InvalidInput, InvalidTransition
from commercekit.store import Store
from tests.conftest import race_database

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ROUNDS = 5
DEADLINE = 30.0
MUG = "RETRO-MUG"
BERLIN, HAMBURG = "berlin", "hamburg"
ADDRESS = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}
CONFIG = {
    "entry_point_plugins": False,
    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_races"}}},
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with (
        race_database(request.param, str(tmp_path / "shipments.db")) as url,
        Store.open(url, config=CONFIG, clock=FixedClock(START)) as opened,
    ):
        opened.catalog.add_product(Product(id="mug", name="Retro mug", variants=[Variant(sku=MUG)]))
        opened.catalog.publish("mug")
        opened.catalog.add_price_list("eu", "EUR")
        opened.catalog.set_price("eu", MUG, Money("12.00", "EUR"))
        opened.inventory.add_location(StockLocation(id=BERLIN, name="Berlin", priority=0))
        opened.inventory.add_location(StockLocation(id=HAMBURG, name="Hamburg", priority=1))
        opened.inventory.receive(MUG, HAMBURG, 1000)
        yield opened


def race(*jobs: Callable[[], object]) -> list[object]:
    """Run each job in its own thread, released together; each result is what it
    returned or the commercekit error it raised. Anything else fails the test."""
    barrier = threading.Barrier(len(jobs), timeout=DEADLINE)
    results: list[object] = [None] * len(jobs)
    crashed: list[BaseException] = []

    def run(n: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[n] = job()
        except CommerceError as error:
            results[n] = error
        except BaseException as error:  # surfaced in the test's own thread
            crashed.append(error)

    threads = [
        threading.Thread(target=run, args=(n, job), daemon=True) for n, job in enumerate(jobs)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, DEADLINE - (time.monotonic() - started)))
    assert not any(thread.is_alive() for thread in threads), "a racer is still running"
    assert not crashed, crashed
    return results


def split_order(store: Store, key: str) -> str:
    """A paid order of three mugs: one held in Berlin, two in Hamburg."""
    spare = sum(i.available for i in store.inventory.stock(MUG) if i.location_id == BERLIN)
    assert spare in (0, 1)
    if not spare:
        store.inventory.receive(MUG, BERLIN, 1)
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, MUG, 3)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key=key)
    assert order.status is OrderStatus.OPEN
    assert held(store, order.id) == {BERLIN: 1, HAMBURG: 2}
    return order.id


def planned(store: Store, order_id: str) -> dict[str, Shipment]:
    """The order's shipments, one per location, by location."""
    shipments = {s.location_id: s for s in store.fulfilment.create_shipments(order_id)}
    assert {place: dict(s.items) for place, s in shipments.items()} == {
        BERLIN: {MUG: 1},
        HAMBURG: {MUG: 2},
    }
    return {str(place): shipment for place, shipment in shipments.items()}


def held(store: Store, order_id: str) -> dict[str, int]:
    """Units the order still holds, per location."""
    with store.storage.unit_of_work() as uow:
        holds = uow.inventory.reservations_for_order(order_id)
    units: dict[str, int] = {}
    for reservation in holds:
        if reservation.holds:
            units[reservation.location_id] = units.get(reservation.location_id, 0) + (
                reservation.quantity
            )
    return units


def sold(store: Store, order_id: str) -> dict[str, list[int]]:
    """The order's sales in the ledger, per location (each movement's quantity)."""
    return {
        place: sorted(
            m.quantity
            for m in store.inventory.movements(MUG, place)
            if m.kind is MovementKind.SALE and m.reference == order_id
        )
        for place in (BERLIN, HAMBURG)
    }


def dispatched_events(store: Store, shipment_id: str) -> int:
    events = [event for _, event in store.storage.undelivered_events(100_000)]
    return sum(
        1 for e in events if isinstance(e, ShipmentDispatched) and e.shipment_id == shipment_id
    )


def assert_ledger_adds_up(store: Store, order_ids: list[str]) -> None:
    """On hand is the sum of the ledger, and reserved the sum of live holds, at each
    location; nothing is negative."""
    holds: dict[str, int] = {}
    with store.storage.unit_of_work() as uow:
        for order_id in order_ids:
            for reservation in uow.inventory.reservations_for_order(order_id):
                assert reservation.quantity > 0
                if reservation.holds:
                    place = reservation.location_id
                    holds[place] = holds.get(place, 0) + reservation.quantity
    for item in store.inventory.stock(MUG):
        ledger = store.inventory.movements(MUG, item.location_id)
        assert item.on_hand == sum(m.quantity for m in ledger), item
        assert item.reserved == holds.get(item.location_id, 0), item
        assert item.available >= 0, item


# --- two shipments of one order ------------------------------------------------------


def test_two_shipments_dispatched_at_once_both_leave_and_each_unit_is_sold_once(
    store: Store,
) -> None:
    orders = []
    for n in range(ROUNDS):
        order_id = split_order(store, f"both-{n}")
        orders.append(order_id)
        shipments = planned(store, order_id)

        results = race(
            partial(store.fulfilment.dispatch, shipments[BERLIN].id),
            partial(store.fulfilment.dispatch, shipments[HAMBURG].id),
        )

        assert not [r for r in results if isinstance(r, CommerceError)], results
        assert sold(store, order_id) == {BERLIN: [-1], HAMBURG: [-2]}
        assert held(store, order_id) == {}
        for shipment in shipments.values():
            assert store.fulfilment.get(shipment.id).status is ShipmentStatus.SHIPPED
            assert dispatched_events(store, shipment.id) == 1
        order = store.orders.get(order_id)
        assert order.fulfilment_status is FulfilmentStatus.SHIPPED
        assert order.fulfilled == {MUG: 3}
        assert order.shipped
    assert_ledger_adds_up(store, orders)


def test_one_shipment_dispatched_twice_at_once_leaves_once(store: Store) -> None:
    orders = []
    for n in range(ROUNDS):
        order_id = split_order(store, f"twice-{n}")
        orders.append(order_id)
        hamburg = planned(store, order_id)[HAMBURG]

        results = race(
            partial(store.fulfilment.dispatch, hamburg.id),
            partial(store.fulfilment.dispatch, hamburg.id),
        )

        refused = [r for r in results if isinstance(r, CommerceError)]
        assert len(refused) == 1, results
        assert isinstance(refused[0], InvalidTransition)
        assert sold(store, order_id) == {BERLIN: [], HAMBURG: [-2]}
        assert held(store, order_id) == {BERLIN: 1}
        assert store.fulfilment.get(hamburg.id).status is ShipmentStatus.SHIPPED
        assert dispatched_events(store, hamburg.id) == 1
        order = store.orders.get(order_id)
        assert order.fulfilment_status is FulfilmentStatus.PARTIALLY_SHIPPED
        assert order.fulfilled == {MUG: 2}
    assert_ledger_adds_up(store, orders)


# --- dispatch against cancellation -----------------------------------------------------


def test_dispatch_and_cancel_at_once_exactly_one_wins(store: Store) -> None:
    orders = []
    outcomes = set()
    for n in range(ROUNDS):
        order_id = split_order(store, f"cancel-{n}")
        orders.append(order_id)
        shipments = planned(store, order_id)

        dispatched, cancelled = race(
            partial(store.fulfilment.dispatch, shipments[HAMBURG].id),
            partial(store.orders.cancel, order_id, "changed their mind"),
        )

        wins = [not isinstance(r, CommerceError) for r in (dispatched, cancelled)]
        assert wins.count(True) == 1, (dispatched, cancelled)
        order = store.orders.get(order_id)
        statuses = {p: store.fulfilment.get(s.id).status for p, s in shipments.items()}
        if wins[1]:
            assert isinstance(dispatched, InvalidTransition)
            assert order.status is OrderStatus.CANCELLED
            assert not order.shipped
            assert order.fulfilled == {}
            assert sold(store, order_id) == {BERLIN: [], HAMBURG: []}
            assert held(store, order_id) == {}
            with store.storage.unit_of_work() as uow:
                holds = uow.inventory.reservations_for_order(order_id)
            assert {r.status for r in holds} == {ReservationStatus.RELEASED}
            assert set(statuses.values()) == {ShipmentStatus.CANCELLED}
            assert dispatched_events(store, shipments[HAMBURG].id) == 0
            outcomes.add("cancelled")
        else:
            assert isinstance(cancelled, InvalidTransition)
            assert order.status is OrderStatus.OPEN
            assert order.shipped
            assert order.fulfilled == {MUG: 2}
            assert sold(store, order_id) == {BERLIN: [], HAMBURG: [-2]}
            assert held(store, order_id) == {BERLIN: 1}
            assert statuses == {BERLIN: ShipmentStatus.PENDING, HAMBURG: ShipmentStatus.SHIPPED}
            assert dispatched_events(store, shipments[HAMBURG].id) == 1
            outcomes.add("shipped")
        assert_ledger_adds_up(store, orders)
    assert outcomes


# --- a partial fulfilment against shipping the rest -------------------------------------


def test_fulfilling_one_unit_while_the_rest_is_consumed_never_takes_more_than_ordered(
    store: Store,
) -> None:
    orders = []
    for n in range(ROUNDS):
        order_id = split_order(store, f"partial-{n}")
        orders.append(order_id)

        fulfilled, consumed = race(
            partial(store.orders.record_fulfilment, order_id, {MUG: 1}),
            partial(store.inventory.consume, order_id),
        )

        for result in (fulfilled, consumed):
            if isinstance(result, CommerceError):
                assert isinstance(result, InvalidInput | InvalidTransition), result
        # Whichever came first, the other ships what is left: three units, no more.
        sales = sold(store, order_id)
        told = [r if isinstance(r, CommerceError) else "done" for r in (fulfilled, consumed)]
        assert sum(sales[BERLIN]) + sum(sales[HAMBURG]) == -3, (n, told, sales)
        assert sales[BERLIN] == [-1]
        assert held(store, order_id) == {}
        order = store.orders.get(order_id)
        assert order.fulfilled == {MUG: 3}
        assert order.fulfilment_status is FulfilmentStatus.SHIPPED
        shipments = store.fulfilment.for_order(order_id)
        assert sum(s.items.get(MUG, 0) for s in shipments) == 3
        assert all(s.status is ShipmentStatus.SHIPPED for s in shipments)
    assert_ledger_adds_up(store, orders)
