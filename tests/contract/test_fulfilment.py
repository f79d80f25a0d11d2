"""Fulfilment through the storage port, alike on every backend: holds consumed part
by part as shipments leave, shipments and notices stored and found again.

Consuming part of a hold is decided by the domain (:meth:`Reservation.consume`) and
stated by SQL storage as a conditional update on what the hold was when read; the
property below runs the same random consumes on the backend under test and on a
fresh memory storage, and demands the same outcomes, the same stock and the same
ledger, with the ledger's promises kept after every commit.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.domain.errors import CommerceError, ConcurrencyConflict, NotFound
from commercekit.domain.events import event_to_dict
from commercekit.domain.fulfilment import Shipment, ShipmentStatus
from commercekit.domain.inventory import (
    MovementKind,
    Reservation,
    ReservationStatus,
    StockChange,
    StockLocation,
    StockMovement,
)
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.shipping import Label, PackedUnit, Parcel, TrackingEvent, TrackingStatus
from commercekit.ports.storage import Storage, UnitOfWork

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PLACES = ("london", "berlin")
GOODS = ("CLOCK", "LAMP")
DAY = timedelta(days=1)


def _with_locations(storage: Storage) -> Storage:
    with storage.unit_of_work() as uow:
        if not uow.inventory.locations():
            for place in PLACES:
                uow.inventory.add_location(StockLocation(id=place, name=place.title()))
        uow.commit()
    return storage


# --- consuming holds part by part ----------------------------------------------------

Hold = tuple[int, int, int, bool]
"""``(SKU, location, quantity, allocated)``, the first two as indexes."""
Step = tuple[str, int, int, int]
"""``(action, target hold, quantity, second quantity or what happens meanwhile)``."""
Outcome = tuple[Any, ...]

#: What another writer commits between a race's read of a hold and its consume.
MEANWHILE = ("nothing", "consume", "allocate", "release")

_HOLDS = st.lists(
    st.tuples(
        st.integers(0, len(GOODS) - 1),
        st.integers(0, len(PLACES) - 1),
        st.integers(1, 6),
        st.booleans(),
    ),
    min_size=1,
    max_size=4,
)
_STEPS = st.tuples(
    st.sampled_from(
        ["consume", "consume", "consume_twice", "race", "race", "race", "allocate", "release"]
    ),
    st.integers(0, 7),
    st.integers(1, 5),
    st.integers(1, len(MEANWHILE)),
)
_EXAMPLES = itertools.count()


class Consumer:
    """Runs one example's holds and steps on one storage."""

    def __init__(self, storage: Storage, prefix: str) -> None:
        self.storage = storage
        self.prefix = prefix
        self.order_id = f"{prefix}-order"
        self.original: dict[str, int] = {}
        """Each hold's quantity when it was taken."""
        self.sold = 0
        """Units the committed consumes took."""

    def sku(self, index: int) -> str:
        return f"{self.prefix}-{GOODS[index]}"

    def hold(self, holds: Sequence[Hold], spare: int) -> None:
        """Receive what the holds need (and ``spare`` more), take them, allocate some."""
        wanted: dict[tuple[str, str], int] = {}
        reservations = []
        for n, (good, place, quantity, _) in enumerate(holds):
            key = (self.sku(good), PLACES[place])
            wanted[key] = wanted.get(key, 0) + quantity
            reservations.append(
                Reservation(
                    id=f"{self.prefix}-h{n}",
                    order_id=self.order_id,
                    sku=key[0],
                    location_id=key[1],
                    quantity=quantity,
                    expires_at=START + timedelta(minutes=15),
                )
            )
            self.original[reservations[-1].id] = quantity
        with self.storage.unit_of_work() as uow:
            for (sku, place), units in sorted(wanted.items()):
                receipt = StockMovement(
                    id=f"{self.prefix}-in-{sku}-{place}",
                    sku=sku,
                    location_id=place,
                    kind=MovementKind.RECEIPT,
                    quantity=units + spare,
                    at=START,
                )
                uow.inventory.apply([StockChange.move(receipt)])
            uow.inventory.add_reservations(reservations)
            uow.inventory.apply([r.take(floor=0, at=START) for r in reservations])
            uow.commit()
        with self.storage.unit_of_work() as uow:
            uow.inventory.allocate([r.id for r, h in zip(reservations, holds, strict=True) if h[3]])
            uow.commit()

    def holds(self) -> list[Reservation]:
        with self.storage.unit_of_work() as uow:
            return uow.inventory.reservations_for_order(self.order_id)

    def _chosen(self, uow: UnitOfWork, target: int) -> Reservation:
        fresh = uow.inventory.reservations_for_order(self.order_id)
        return fresh[target % len(fresh)]

    def run(self, number: int, step: Step) -> Outcome:
        action, target, quantity, extra = step
        at = START + timedelta(minutes=number + 1)
        sale = f"{self.prefix}-{number}"
        if action != "race":
            return self._commit(
                lambda uow: self._do(uow, action, target, quantity, extra, at, sale)
            )
        # A hold read, another writer committing, then the hold consumed as it was read.
        meanwhile: Outcome = ()
        try:
            with self.storage.unit_of_work() as uow:
                chosen = self._chosen(uow, target)
                other = MEANWHILE[extra - 1]
                meanwhile = self._commit(
                    lambda theirs: self._do(theirs, other, target, 1, 0, at, f"{sale}-theirs")
                )
                uow.inventory.consume(chosen, quantity, at=at, movement_id=f"{sale}-mine")
                events = uow.commit()
        except CommerceError as error:
            return ("race", meanwhile, _refused(error))
        self.sold += quantity
        return ("race", meanwhile, ("done", quantity, [event_to_dict(e) for e in events]))

    def _commit(self, work: Callable[[UnitOfWork], int]) -> Outcome:
        try:
            with self.storage.unit_of_work() as uow:
                taken = work(uow)
                events = uow.commit()
        except CommerceError as error:
            return _refused(error)
        self.sold += taken
        return ("done", taken, [event_to_dict(event) for event in events])

    def _do(
        self,
        uow: UnitOfWork,
        action: str,
        target: int,
        quantity: int,
        again: int,
        at: datetime,
        sale: str,
    ) -> int:
        """Stage one step on the order's holds as read now; the units it consumes."""
        inventory = uow.inventory
        if action == "nothing":
            return 0
        chosen = self._chosen(uow, target)
        if action == "consume":
            inventory.consume(chosen, quantity, at=at, movement_id=f"{sale}-a")
            return quantity
        if action == "consume_twice":
            # The second consume reads the hold again in the same unit of work.
            inventory.consume(chosen, quantity, at=at, movement_id=f"{sale}-a")
            inventory.consume(self._chosen(uow, target), again, at=at, movement_id=f"{sale}-b")
            return quantity + again
        if action == "allocate":
            inventory.allocate([chosen.id])
        elif action == "release":
            inventory.release([chosen.id], ReservationStatus.RELEASED, at=at)
        return 0

    def state(self) -> dict[str, Any]:
        skus = [self.sku(n) for n in range(len(GOODS))]
        with self.storage.unit_of_work() as uow:
            items = uow.inventory.items(skus)
            ledger = {
                (sku, place): [
                    (m.id, m.kind.value, m.quantity, m.at, m.reference)
                    for m in uow.inventory.movements(sku, place)
                ]
                for sku in skus
                for place in PLACES
            }
            holds = uow.inventory.reservations_for_order(self.order_id)
        return {
            "items": [(i.sku, i.location_id, i.on_hand, i.reserved) for i in items],
            "ledger": ledger,
            "holds": [(r.id, r.status.value, r.quantity, r.sku, r.location_id) for r in holds],
        }

    def check_ledger(self) -> None:
        """What every backend must keep true after each commit."""
        state = self.state()
        live = {s.value for s in (ReservationStatus.ACTIVE, ReservationStatus.ALLOCATED)}
        for sku, place, on_hand, reserved in state["items"]:
            assert on_hand == sum(entry[2] for entry in state["ledger"][(sku, place)])
            assert on_hand >= 0
            assert reserved == sum(
                quantity
                for _, status, quantity, held_sku, held_at in state["holds"]
                if status in live and (held_sku, held_at) == (sku, place)
            )
        consumed = 0
        for hold_id, status, quantity, _, _ in state["holds"]:
            assert 0 < quantity <= self.original[hold_id]
            if status == ReservationStatus.CONSUMED.value:
                consumed += self.original[hold_id]
            else:
                consumed += self.original[hold_id] - quantity
        sales = -sum(
            entry[2]
            for entries in state["ledger"].values()
            for entry in entries
            if entry[1] == MovementKind.SALE.value and entry[4] == self.order_id
        )
        assert consumed == sales == self.sold


def _refused(error: CommerceError) -> Outcome:
    return ("refused", error.code, error.field, str(error))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(holds=_HOLDS, spare=st.integers(0, 3), steps=st.lists(_STEPS, min_size=1, max_size=10))
def test_partial_consumes_keep_the_ledger_and_agree_with_memory(
    storage: Storage, holds: list[Hold], spare: int, steps: list[Step]
) -> None:
    prefix = f"FUL-{next(_EXAMPLES)}"
    tested = Consumer(_with_locations(storage), prefix)
    reference = Consumer(_with_locations(MemoryStorage()), prefix)
    for consumer in (tested, reference):
        consumer.hold(holds, spare)
    tested.check_ledger()

    for number, step in enumerate(steps):
        outcome = tested.run(number, step)
        assert outcome == reference.run(number, step), (number, step)
        tested.check_ledger()
        assert tested.state() == reference.state(), (number, step)


def test_consuming_a_hold_read_before_it_was_allocated_keeps_it_allocated(
    storage: Storage,
) -> None:
    consumer = Consumer(_with_locations(storage), "STALE")
    consumer.hold([(0, 0, 3, False)], spare=0)
    (read_before,) = consumer.holds()
    with storage.unit_of_work() as uow:
        uow.inventory.allocate([read_before.id])
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.inventory.consume(read_before, 1, at=START, movement_id="STALE-sale")
        uow.commit()

    (hold,) = consumer.holds()
    # Allocated holds never expire: a consume must not turn one back into an active
    # one (memory keeps it allocated; so must every backend).
    assert (hold.status, hold.quantity) == (ReservationStatus.ALLOCATED, 2)
    with storage.unit_of_work() as uow:
        assert hold.id not in {r.id for r in uow.inventory.expired_reservations(START + DAY)}


def consume_and_commit(
    uow: UnitOfWork, reservation: Reservation, quantity: int, *, movement_id: str
) -> None:
    uow.inventory.consume(reservation, quantity, at=START, movement_id=movement_id)
    uow.commit()


def test_a_hold_consumed_meanwhile_is_a_conflict_and_writes_nothing(storage: Storage) -> None:
    consumer = Consumer(_with_locations(storage), "RACE")
    consumer.hold([(0, 1, 3, True)], spare=1)
    before = consumer.state()
    first, second = storage.unit_of_work(), storage.unit_of_work()
    with first:
        (mine,) = first.inventory.reservations_for_order(consumer.order_id)
        with second:
            (theirs,) = second.inventory.reservations_for_order(consumer.order_id)
            second.inventory.consume(theirs, 2, at=START, movement_id="RACE-theirs")
            second.commit()
        with pytest.raises(ConcurrencyConflict):
            # Memory finds out on commit, SQL as it updates the hold.
            consume_and_commit(first, mine, 2, movement_id="RACE-mine")

    after = consumer.state()
    assert after["holds"] == [("RACE-h0", "allocated", 1, "RACE-CLOCK", "berlin")]
    assert [m[0] for m in after["ledger"][("RACE-CLOCK", "berlin")]] == [
        *(m[0] for m in before["ledger"][("RACE-CLOCK", "berlin")]),
        "RACE-theirs",
    ]
    assert after["items"] == [("RACE-CLOCK", "berlin", 2, 1)]


# --- shipments ----------------------------------------------------------------------------


def a_label(number: str, *, minutes: int = 0) -> Label:
    return Label(
        tracking_number=number,
        tracking_url=f"https://track.example/{number}",
        document=b"%PDF-1.7 \x00\xff label",
        media_type="application/pdf",
        created_at=START + timedelta(minutes=minutes),
        price_units=590,
    )


def a_shipment(
    shipment_id: str,
    *,
    order_id: str = "order-retro",
    status: ShipmentStatus = ShipmentStatus.PENDING,
    number: str = "",
) -> Shipment:
    return Shipment(
        id=shipment_id,
        order_id=order_id,
        location_id="berlin",
        lines={"RETRO-MUG": 2},
        items={"RETRO-MUG": 2},
        created_at=START,
        status=status,
        label=a_label(number) if number else None,
        carrier="sandbox" if number else "",
    )


def fields(shipment: Shipment) -> dict[str, Any]:
    return attrs.asdict(shipment, recurse=False, filter=lambda a, _: a.name != "events")


def add(storage: Storage, *shipments: Shipment) -> None:
    with storage.unit_of_work() as uow:
        for shipment in shipments:
            uow.shipments.add(shipment)
        uow.commit()


def test_a_shipment_round_trips_whole(storage: Storage) -> None:
    number = "SBXN000123"
    travelled = Shipment(
        id="shp_0a",
        order_id="order-retro",
        location_id="berlin",
        lines={"RETRO-MUG": 2, "RETRO-CLOCK-SET": 1},
        items={"RETRO-MUG": 2, "CLOCK-FACE": 1, "CLOCK-HANDS": 2},
        created_at=START,
        status=ShipmentStatus.IN_TRANSIT,
        parcels=(
            Parcel(
                (
                    PackedUnit(sku="RETRO-MUG", weight_grams=350, sides_mm=(120, 90, 90)),
                    PackedUnit(sku="RETRO-MUG", weight_grams=350, sides_mm=(120, 90, 90)),
                )
            ),
            Parcel((PackedUnit(sku="CLOCK-FACE", weight_grams=0),)),
        ),
        carrier="sandbox",
        service="express",
        label=a_label(number, minutes=5),
        voided_labels=(a_label("SBXN000001"),),
        timeline=(
            TrackingEvent(
                id="ev-1",
                tracking_number=number,
                status=TrackingStatus.PICKED_UP,
                at=START + timedelta(hours=1),
                place="Berlin",
            ),
            TrackingEvent(
                id="ev-2",
                tracking_number=number,
                status=TrackingStatus.IN_TRANSIT,
                at=START + timedelta(hours=3),
                detail="Zoë's parcel, sorted in Leipzig",
            ),
        ),
        dispatched_at=START + timedelta(minutes=30),
        version=4,
    )
    digital = Shipment(
        id="shp_0b",
        order_id="order-retro",
        location_id=None,
        lines={"CLOCK-PDF": 1},
        created_at=START,
    )
    add(storage, travelled, digital)

    with storage.unit_of_work() as uow:
        assert fields(uow.shipments.get("shp_0a")) == fields(travelled)
        assert fields(uow.shipments.get("shp_0b")) == fields(digital)
        with pytest.raises(NotFound) as missing:
            uow.shipments.get("shp_unknown")
    assert missing.value.field == "shipment_id"


def test_a_shipment_added_twice_is_a_conflict(storage: Storage) -> None:
    add(storage, a_shipment("shp_1"))
    with storage.unit_of_work() as uow:
        uow.shipments.add(a_shipment("shp_1", order_id="order-other"))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()
    with storage.unit_of_work() as uow:
        assert uow.shipments.get("shp_1").order_id == "order-retro"


def test_saving_a_shipment_changed_meanwhile_is_a_conflict(storage: Storage) -> None:
    add(storage, a_shipment("shp_1"))

    with storage.unit_of_work() as labeller:
        stale = labeller.shipments.get("shp_1")
        with storage.unit_of_work() as canceller:
            shipment = canceller.shipments.get("shp_1")
            shipment.cancel()
            canceller.shipments.save(shipment)
            canceller.commit()
        stale.begin_label("sandbox", "standard", [])
        labeller.shipments.save(stale)
        with pytest.raises(ConcurrencyConflict):
            labeller.commit()

    with storage.unit_of_work() as uow:
        stored = uow.shipments.get("shp_1")
        assert (stored.status, stored.version, stored.label) == (
            ShipmentStatus.CANCELLED,
            1,
            None,
        )
        assert uow.shipments.by_tracking_number("SBXN9") == []


def test_a_shipment_saved_from_a_fresh_read_is_stored(storage: Storage) -> None:
    add(storage, a_shipment("shp_1"))
    for step in range(2):
        with storage.unit_of_work() as uow:
            shipment = uow.shipments.get("shp_1")
            if step == 0:
                shipment.begin_label("sandbox", "standard", [])
                shipment.label_bought(a_label("SBXN7"))
            else:
                shipment.dispatch(at=START + timedelta(hours=1))
            uow.shipments.save(shipment)
            uow.commit()

    with storage.unit_of_work() as uow:
        stored = uow.shipments.get("shp_1")
    assert (stored.status, stored.version, stored.tracking_number) == (
        ShipmentStatus.SHIPPED,
        3,  # a label asked for, the label, the dispatch
        "SBXN7",
    )
    assert stored.dispatched_at == START + timedelta(hours=1)


def test_an_orders_shipments_are_found_oldest_first_by_id(storage: Storage) -> None:
    add(
        storage,
        a_shipment("shp_c"),
        a_shipment("shp_a"),
        a_shipment("shp_x", order_id="order-other"),
        a_shipment("shp_b", status=ShipmentStatus.CANCELLED),
    )
    with storage.unit_of_work() as uow:
        assert [s.id for s in uow.shipments.for_order("order-retro")] == [
            "shp_a",
            "shp_b",
            "shp_c",
        ]
        assert [s.id for s in uow.shipments.for_order("order-other")] == ["shp_x"]
        assert uow.shipments.for_order("order-none") == []


def test_shipments_are_found_by_their_labels_tracking_number(storage: Storage) -> None:
    add(
        storage,
        a_shipment("shp_2", status=ShipmentStatus.SHIPPED, number="SBXN1"),
        a_shipment("shp_1", status=ShipmentStatus.DELIVERED, number="SBXN1"),
        a_shipment("shp_3", status=ShipmentStatus.LABEL_BOUGHT, number="SBXN2"),
        a_shipment("shp_4"),
    )
    with storage.unit_of_work() as uow:
        assert [s.id for s in uow.shipments.by_tracking_number("SBXN1")] == ["shp_1", "shp_2"]
        assert [s.id for s in uow.shipments.by_tracking_number("SBXN2")] == ["shp_3"]
        assert uow.shipments.by_tracking_number("SBXN3") == []
        assert uow.shipments.by_tracking_number("") == []


def test_tracked_shipments_are_paged_by_id_after_the_last_seen(storage: Storage) -> None:
    tracked = {
        "shp_01": ShipmentStatus.SHIPPED,
        "shp_03": ShipmentStatus.IN_TRANSIT,
        "shp_05": ShipmentStatus.EXCEPTION,
        "shp_07": ShipmentStatus.SHIPPED,
        "shp_08": ShipmentStatus.IN_TRANSIT,
    }
    done_with = {
        "shp_00": ShipmentStatus.DELIVERED,
        "shp_02": ShipmentStatus.RETURNED_TO_SENDER,
        "shp_04": ShipmentStatus.LABEL_BOUGHT,
        "shp_06": ShipmentStatus.CANCELLED,
    }
    add(
        storage,
        *(
            a_shipment(sid, status=status, number=f"SBXN{sid[-2:]}")
            for sid, status in {**tracked, **done_with}.items()
        ),
        # Dispatched without a label: no carrier to ask.
        a_shipment("shp_09", status=ShipmentStatus.SHIPPED),
    )

    pages: list[list[str]] = []
    after = ""
    with storage.unit_of_work() as uow:
        while len(pages) < 10:
            page = [s.id for s in uow.shipments.tracked(after=after, limit=2)]
            pages.append(page)
            if len(page) < 2:
                break
            after = page[-1]
        assert [s.id for s in uow.shipments.tracked()] == sorted(tracked)
        assert [s.id for s in uow.shipments.tracked(after="shp_07")] == ["shp_08"]
        assert uow.shipments.tracked(after="shp_08") == []
    assert pages == [["shp_01", "shp_03"], ["shp_05", "shp_07"], ["shp_08"]]


# --- notices --------------------------------------------------------------------------------


def a_notice(
    key: str,
    *,
    minutes: int = 0,
    status: NoticeStatus = NoticeStatus.PENDING,
    subject: str = "Your order is on its way",
) -> Notice:
    return Notice(
        id=key,
        recipient="zoe@example.com",
        template="shipment_dispatched",
        subject=subject,
        text="Hallo Zoë, 2 x RETRO-MUG are on their way.",
        html="<p>Hallo Zoë, 2 &times; RETRO-MUG are on their way.</p>",
        created_at=START + timedelta(minutes=minutes),
        status=status,
    )


def notice_fields(notice: Notice | None) -> dict[str, Any] | None:
    return None if notice is None else attrs.asdict(notice, recurse=False)


def test_a_notice_round_trips_and_its_key_is_claimed_once(storage: Storage) -> None:
    key = "shipment_dispatched:shp_1:zoe@example.com"
    notice = a_notice(key)
    with storage.unit_of_work() as uow:
        assert uow.notices.find(key) is None
        uow.notices.add(notice)
        uow.commit()

    with storage.unit_of_work() as uow:
        assert notice_fields(uow.notices.find(key)) == notice_fields(notice)
        uow.notices.add(a_notice(key, subject="Sent twice?"))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()

    with storage.unit_of_work() as uow:
        assert notice_fields(uow.notices.find(key)) == notice_fields(notice)


def test_of_two_claims_of_one_notice_the_second_conflicts(storage: Storage) -> None:
    key = "order_placed:order-retro:zoe@example.com"
    first, second = storage.unit_of_work(), storage.unit_of_work()
    with first, second:
        assert first.notices.find(key) is None
        assert second.notices.find(key) is None
        first.notices.add(a_notice(key, subject="first"))
        second.notices.add(a_notice(key, subject="second"))
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()

    with storage.unit_of_work() as uow:
        found = uow.notices.find(key)
    assert found is not None
    assert found.subject == "first"


def test_saving_a_notice_changed_meanwhile_is_a_conflict(storage: Storage) -> None:
    key = "shipment_delivered:shp_1:zoe@example.com"
    with storage.unit_of_work() as uow:
        uow.notices.add(a_notice(key))
        uow.commit()

    with storage.unit_of_work() as late:
        stale = late.notices.find(key)
        assert stale is not None
        with storage.unit_of_work() as sender:
            notice = sender.notices.find(key)
            assert notice is not None
            notice.start()
            notice.sent(at=START + timedelta(minutes=1))
            sender.notices.save(notice)
            sender.commit()
        stale.start()
        late.notices.save(stale)
        with pytest.raises(ConcurrencyConflict):
            late.commit()

    with storage.unit_of_work() as uow:
        stored = uow.notices.find(key)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.version) == (NoticeStatus.SENT, 1, 2)
    assert stored.sent_at == START + timedelta(minutes=1)


def test_due_notices_come_oldest_first(storage: Storage) -> None:
    notices = [
        a_notice("n-late", minutes=30),
        a_notice("n-b", minutes=10),
        a_notice("n-a", minutes=10, status=NoticeStatus.FAILED),
        a_notice("n-early", minutes=0, status=NoticeStatus.FAILED),
        a_notice("n-sending", minutes=1, status=NoticeStatus.SENDING),
        a_notice("n-sent", minutes=2, status=NoticeStatus.SENT),
        a_notice("n-abandoned", minutes=3, status=NoticeStatus.ABANDONED),
    ]
    with storage.unit_of_work() as uow:
        for notice in notices:
            uow.notices.add(notice)
        uow.commit()

    with storage.unit_of_work() as uow:
        assert [n.id for n in uow.notices.due()] == ["n-early", "n-a", "n-b", "n-late"]
        assert [n.id for n in uow.notices.due(limit=2)] == ["n-early", "n-a"]
        sending = uow.notices.find("n-b")
        assert sending is not None
        sending.start()
        uow.notices.save(sending)
        uow.commit()

    with storage.unit_of_work() as uow:
        assert [n.id for n in uow.notices.due()] == ["n-early", "n-a", "n-late"]
