"""Memory, SQLite and PostgreSQL decide stock alike: the same random operations give
the same stock, the same ledger, the same reservations and the same events on each.

The memory storage applies the domain's decisions directly; SQL storage states them
as conditional updates in the database. This property is what proves the two agree.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.domain.errors import CommerceError
from commercekit.domain.events import event_to_dict
from commercekit.domain.inventory import (
    HOLDING,
    UNLIMITED,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockChange,
    StockItem,
    StockLocation,
    StockMovement,
    StockSettings,
)
from commercekit.ports.storage import Storage, UnitOfWork

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PLACES = ("london", "berlin")
FLOORS = (0, 0, -3, -UNLIMITED)


@pytest.fixture
def storages(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Storage]]:
    """One storage of each kind, each with the two locations."""
    sqlite = SqlStorage.open(f"sqlite:///{tmp_path / 'agree.db'}")
    postgres: SqlStorage = request.getfixturevalue("storage_postgresql")
    found: dict[str, Storage] = {
        "memory": MemoryStorage(),
        "sqlite": sqlite,
        "postgresql": postgres,
    }
    for storage in found.values():
        with storage.unit_of_work() as uow:
            if not uow.inventory.locations():
                for place in PLACES:
                    uow.inventory.add_location(StockLocation(id=place, name=place.title()))
            uow.commit()
    yield found
    sqlite.close()


Step = tuple[str, int, int, int, int]
"""``(action, item, quantity, floor or threshold, target)``."""

_STEPS = st.tuples(
    st.sampled_from(
        [
            "receive",
            "remove",
            "count",
            "hold",
            "release",
            "consume",
            "allocate",
            "extend",
            "configure",
            "transfer",
        ]
    ),
    st.integers(0, 3),
    st.integers(1, 9),
    st.integers(0, len(FLOORS) - 1),
    st.integers(0, 7),
)
_EXAMPLES = itertools.count()


class Runner:
    """Turns one step into the same unit of work on any storage."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.holds: list[str] = []

    def item(self, index: int) -> tuple[str, str]:
        return (f"{self.prefix}-{'CLOCK' if index < 2 else 'LAMP'}", PLACES[index % 2])

    def run(self, storage: Storage, number: int, step: Step) -> tuple[str, Any]:
        action, index, quantity, choice, target = step
        at = START + timedelta(minutes=number)
        sku, place = self.item(index)
        move_id = f"{self.prefix}-m{number}"
        try:
            with storage.unit_of_work() as uow:
                self._do(uow, action, sku, place, quantity, choice, target, at, number, move_id)
                events = uow.commit()
        except CommerceError as error:
            return ("refused", (error.code, error.field, str(error)))
        return ("done", [event_to_dict(event) for event in events])

    def _do(
        self,
        uow: UnitOfWork,
        action: str,
        sku: str,
        place: str,
        quantity: int,
        choice: int,
        target: int,
        at: datetime,
        number: int,
        move_id: str,
    ) -> None:
        inventory = uow.inventory
        floor = FLOORS[choice]
        held = self.holds[target % len(self.holds)] if self.holds else None

        def movement(
            kind: MovementKind, change: int, where: str = place, suffix: str = ""
        ) -> StockMovement:
            return StockMovement(
                id=move_id + suffix,
                sku=sku,
                location_id=where,
                kind=kind,
                quantity=change,
                at=at,
                reason="shrinkage" if kind is MovementKind.ADJUSTMENT else "",
            )

        if action == "receive":
            inventory.apply([StockChange.move(movement(MovementKind.RECEIPT, quantity))])
        elif action == "remove":
            gone = movement(MovementKind.ADJUSTMENT, -quantity)
            inventory.apply([StockChange.move(gone, floor=floor)])
        elif action == "count":
            current = next((i for i in inventory.items([sku]) if i.location_id == place), None)
            difference = quantity - (current.on_hand if current else 0)
            if difference:
                counted = movement(MovementKind.COUNT, difference)
                inventory.apply([StockChange.move(counted, floor=counted.floor)])
        elif action == "transfer":
            other = PLACES[1] if place == PLACES[0] else PLACES[0]
            inventory.apply(
                [
                    StockChange.move(movement(MovementKind.TRANSFER, -quantity), floor=0),
                    StockChange.move(movement(MovementKind.TRANSFER, quantity, other, "-in")),
                ]
            )
        elif action == "hold":
            reservation = Reservation(
                id=f"{self.prefix}-h{number}",
                order_id=f"{self.prefix}-order",
                sku=sku,
                location_id=place,
                quantity=quantity,
                expires_at=at + timedelta(minutes=15),
            )
            inventory.add_reservations([reservation])
            inventory.apply([reservation.take(floor=floor, at=at)])
        elif action in ("release", "consume") and held is not None:
            status = (
                ReservationStatus.CONSUMED if action == "consume" else ReservationStatus.RELEASED
            )
            inventory.release([held], status, at=at)
        elif action == "allocate" and held is not None:
            inventory.allocate([held])
        elif action == "extend" and held is not None:
            inventory.extend([held], at + timedelta(hours=1))
        elif action == "configure":
            settings = StockSettings(low_stock_threshold=quantity if choice else None)
            inventory.apply([StockChange.configure(sku, place, settings, at=at)])

    def state(self, storage: Storage) -> dict[str, Any]:
        skus = sorted({self.item(index)[0] for index in range(4)})
        with storage.unit_of_work() as uow:
            items = uow.inventory.items(skus)
            ledger = {
                (sku, place): [
                    (m.id, m.kind.value, m.quantity, m.at, m.reason, m.reference)
                    for m in uow.inventory.movements(sku, place)
                ]
                for sku in skus
                for place in PLACES
            }
            holds = uow.inventory.reservations_for_order(f"{self.prefix}-order")
        return {
            "items": [_item_state(item) for item in items],
            "ledger": ledger,
            "holds": [
                (r.id, r.status.value, r.quantity, r.expires_at, r.sku, r.location_id)
                for r in holds
            ],
        }


def _item_state(item: StockItem) -> tuple[object, ...]:
    return (item.sku, item.location_id, item.on_hand, item.reserved, item.low_stock_threshold)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(_STEPS, min_size=1, max_size=14))
def test_the_same_stock_operations_end_alike_on_every_storage(
    storages: dict[str, Storage], steps: list[Step]
) -> None:
    runner = Runner(f"AGREE-{next(_EXAMPLES)}")
    outcomes: dict[str, list[tuple[str, Any]]] = {name: [] for name in storages}
    for number, step in enumerate(steps):
        for name, storage in storages.items():
            outcomes[name].append(runner.run(storage, number, step))
        if step[0] == "hold" and outcomes["memory"][-1][0] == "done":
            runner.holds.append(f"{runner.prefix}-h{number}")
    states = {name: runner.state(storage) for name, storage in storages.items()}

    assert outcomes["sqlite"] == outcomes["memory"]
    assert outcomes["postgresql"] == outcomes["memory"]
    assert states["sqlite"] == states["memory"]
    assert states["postgresql"] == states["memory"]
    # And what they agree on keeps the ledger's promises.
    state = states["memory"]
    holding = {s.value for s in HOLDING}
    for sku, place, on_hand, reserved, _ in state["items"]:
        assert on_hand == sum(entry[2] for entry in state["ledger"][(sku, place)])
        assert on_hand >= 0
        assert reserved == sum(
            quantity
            for _, status, quantity, _, held_sku, held_at in state["holds"]
            if status in holding and (held_sku, held_at) == (sku, place)
        )
