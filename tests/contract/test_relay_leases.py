"""The relay's side of the storage port, on every storage: memory, SQLite, PostgreSQL.

One relay at a time holds a stream's lease; it passes on when it runs out; a relay
that lost it marks nothing; and what is relayed is kept apart from what in-process
subscribers had.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from commercekit.domain.events import OrderPaid
from commercekit.ports.storage import Storage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
RACERS = 6
ROUNDS = 5


def write_events(storage: Storage, count: int) -> list[int]:
    """Commit ``count`` events; returns the ids of every unrelayed event, oldest first."""
    with storage.unit_of_work() as uow:
        uow.record_events([OrderPaid(order_id=f"RETRO-{n}", occurred_at=NOW) for n in range(count)])
        uow.commit()
    return [event_id for event_id, _ in storage.unrelayed_events(1000)]


def test_a_free_lease_goes_to_the_first_relay_and_no_other_while_it_lasts(
    storage: Storage,
) -> None:
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    later = NOW + LEASE - timedelta(microseconds=1)
    assert not storage.take_relay_lease("outbox", "bob", now=later, until=later + LEASE)
    # Another stream's lease is another lease.
    assert storage.take_relay_lease("refunds", "bob", now=later, until=later + LEASE)


def test_the_holder_renews_its_lease(storage: Storage) -> None:
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    renewed = NOW + timedelta(seconds=20)
    assert storage.take_relay_lease("outbox", "ada", now=renewed, until=renewed + LEASE)
    # Past the first expiry, the renewed lease still holds.
    past_first = NOW + LEASE + timedelta(seconds=1)
    assert not storage.take_relay_lease("outbox", "bob", now=past_first, until=past_first + LEASE)


def test_an_expired_lease_passes_to_another_relay(storage: Storage) -> None:
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    expiry = NOW + LEASE
    assert storage.take_relay_lease("outbox", "bob", now=expiry, until=expiry + LEASE)
    assert not storage.take_relay_lease("outbox", "ada", now=expiry, until=expiry + LEASE)


def race(storage: Storage, name: str, now: datetime) -> list[str]:
    """Let :data:`RACERS` relays ask for the lease ``name`` at the same moment; returns
    those that got it."""
    barrier = threading.Barrier(RACERS, timeout=30)
    won: list[str] = []

    def ask(holder: str) -> None:
        barrier.wait()
        if storage.take_relay_lease(name, holder, now=now, until=now + LEASE):
            won.append(holder)

    threads = [
        threading.Thread(target=ask, args=(f"relay-{n}",), daemon=True) for n in range(RACERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return won


def test_of_relays_racing_for_a_free_lease_exactly_one_wins(storage: Storage) -> None:
    for round_ in range(ROUNDS):
        won = race(storage, f"race-{round_}", NOW)
        assert len(won) == 1, won


def test_of_relays_racing_for_an_expired_lease_exactly_one_wins(storage: Storage) -> None:
    for round_ in range(ROUNDS):
        assert storage.take_relay_lease("outbox", "gone", now=NOW, until=NOW + LEASE)
        later = NOW + LEASE * (round_ + 1)
        won = race(storage, "outbox", later)
        assert len(won) == 1, won
        storage.release_relay_lease("outbox", won[0])


def test_unrelayed_events_come_oldest_first_up_to_the_limit(storage: Storage) -> None:
    ids = write_events(storage, 5)
    assert len(ids) == 5
    assert ids == sorted(ids)
    first = storage.unrelayed_events(3)
    assert [event_id for event_id, _ in first] == ids[:3]
    assert [event.order_id for _, event in first if isinstance(event, OrderPaid)] == [
        "RETRO-0",
        "RETRO-1",
        "RETRO-2",
    ]


def test_the_holder_marks_events_relayed(storage: Storage) -> None:
    ids = write_events(storage, 5)
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    assert storage.mark_relayed(ids[:2], name="outbox", holder="ada", at=NOW)
    assert [event_id for event_id, _ in storage.unrelayed_events(10)] == ids[2:]
    # Marking again, or marking nothing, changes nothing and is no failure.
    assert storage.mark_relayed(ids[:2], name="outbox", holder="ada", at=NOW)
    assert storage.mark_relayed([], name="outbox", holder="ada", at=NOW)
    assert [event_id for event_id, _ in storage.unrelayed_events(10)] == ids[2:]


def test_a_relay_that_lost_its_lease_marks_nothing(storage: Storage) -> None:
    ids = write_events(storage, 4)
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    expiry = NOW + LEASE
    assert storage.take_relay_lease("outbox", "bob", now=expiry, until=expiry + LEASE)
    assert not storage.mark_relayed(ids, name="outbox", holder="ada", at=expiry)
    assert [event_id for event_id, _ in storage.unrelayed_events(10)] == ids
    assert storage.mark_relayed(ids[:1], name="outbox", holder="bob", at=expiry)
    assert [event_id for event_id, _ in storage.unrelayed_events(10)] == ids[1:]


def test_a_lease_that_ran_out_marks_nothing_even_if_nobody_took_it(storage: Storage) -> None:
    ids = write_events(storage, 2)
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    assert not storage.mark_relayed(ids, name="outbox", holder="ada", at=NOW + LEASE)
    # Nor does a relay that never held it, or held another stream's.
    assert not storage.mark_relayed(ids, name="outbox", holder="bob", at=NOW)
    assert storage.take_relay_lease("refunds", "bob", now=NOW, until=NOW + LEASE)
    assert not storage.mark_relayed(ids, name="outbox", holder="bob", at=NOW)
    assert [event_id for event_id, _ in storage.unrelayed_events(10)] == ids


def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(
    storage: Storage,
) -> None:
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    storage.release_relay_lease("outbox", "bob")
    assert not storage.take_relay_lease("outbox", "bob", now=NOW, until=NOW + LEASE)
    storage.release_relay_lease("outbox", "ada")
    assert storage.take_relay_lease("outbox", "bob", now=NOW, until=NOW + LEASE)
    ids = write_events(storage, 1)
    assert not storage.mark_relayed(ids, name="outbox", holder="ada", at=NOW)


def test_relayed_and_delivered_are_kept_apart(storage: Storage) -> None:
    delivered = write_events(storage, 3)
    storage.mark_delivered(delivered, at=NOW)
    assert storage.undelivered_events(10) == []
    assert [event_id for event_id, _ in storage.unrelayed_events(10)] == delivered
    every = write_events(storage, 2)
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    assert storage.mark_relayed(every, name="outbox", holder="ada", at=NOW)
    assert storage.unrelayed_events(10) == []
    assert [event_id for event_id, _ in storage.undelivered_events(10)] == every[3:]


def test_an_empty_outbox_has_nothing_to_relay(storage: Storage) -> None:
    assert storage.unrelayed_events(10) == []
    assert storage.take_relay_lease("outbox", "ada", now=NOW, until=NOW + LEASE)
    assert storage.mark_relayed([], name="outbox", holder="ada", at=NOW)
