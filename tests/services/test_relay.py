"""The relay as a use case, on memory storage with a publisher that keeps what it is
handed: it publishes only while it holds the lease, marks only what the broker
confirmed, sends a failed batch again, and names every message the same way each
time. (Against RabbitMQ and real databases: ``tests/integration/test_relay.py``.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from commercekit.adapters.clock import FixedClock
from commercekit.adapters.events import Deduplicator
from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.domain.errors import BrokerUnavailable, InvalidInput
from commercekit.domain.events import OrderPaid, PaymentRefunded, event_to_dict
from commercekit.ports.events import OutboxMessage
from commercekit.services.relay import Relay, outbox_message

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class KeptPublisher:
    """Confirms everything, and keeps it; fails the next ``failures`` publishes."""

    def __init__(self) -> None:
        self.sent: list[OutboxMessage] = []
        self.failures = 0
        self.during: list[Callable[[], None]] = []

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        for action in self.during:
            action()
        if self.failures:
            self.failures -= 1
            self.sent.extend(messages[:1])
            raise BrokerUnavailable("amqp://broker/", "connection reset")
        self.sent.extend(messages)

    def close(self) -> None:
        pass


def write(storage: MemoryStorage, count: int, *, first: int = 0) -> None:
    with storage.unit_of_work() as uow:
        uow.record_events(
            [
                OrderPaid(order_id=f"RETRO-{n}", occurred_at=START)
                for n in range(first, first + count)
            ]
        )
        uow.commit()


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def test_a_message_carries_the_event_as_the_codec_writes_it() -> None:
    event = PaymentRefunded(
        payment_id="pay-1", order_id="RETRO-1", currency="EUR", amount_units=1250, occurred_at=START
    )
    message = outbox_message("outbox", 42, event)
    assert message.id == "outbox:42"
    assert message.name == "PaymentRefunded"
    assert message.occurred_at == START
    assert json.loads(message.body) == event_to_dict(event)
    assert outbox_message("outbox", 42, event) == message


def test_the_relay_publishes_the_oldest_events_in_batches_and_marks_them(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    write(storage, 7)
    publisher = KeptPublisher()
    relay = Relay(storage, publisher, clock, holder="ada", batch=3)
    assert relay.run_once() == 3
    assert [m.id for m in publisher.sent] == ["outbox:1", "outbox:2", "outbox:3"]
    assert relay.drain() == 4
    assert [m.id for m in publisher.sent] == [f"outbox:{n}" for n in range(1, 8)]
    assert storage.unrelayed_events() == []
    assert relay.run_once() == 0


def test_a_relay_without_the_lease_publishes_nothing(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    write(storage, 2)
    first, second = KeptPublisher(), KeptPublisher()
    ada = Relay(storage, first, clock, holder="ada", lease_seconds=30)
    bob = Relay(storage, second, clock, holder="bob", lease_seconds=30)
    assert ada.run_once() == 2
    write(storage, 2, first=2)
    assert bob.run_once() == 0
    assert second.sent == []
    clock.advance(timedelta(seconds=30))
    # Ada did not renew in time: Bob takes over from the first unmarked event.
    assert bob.run_once() == 2
    assert [m.id for m in second.sent] == ["outbox:3", "outbox:4"]
    assert ada.run_once() == 0


def test_a_batch_the_broker_did_not_confirm_is_not_marked_and_goes_again(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    write(storage, 3)
    publisher = KeptPublisher()
    publisher.failures = 1
    relay = Relay(storage, publisher, clock, holder="ada")
    with pytest.raises(BrokerUnavailable):
        relay.run_once()
    assert len(storage.unrelayed_events()) == 3
    assert relay.run_once() == 3
    ids = [m.id for m in publisher.sent]
    assert ids == ["outbox:1", "outbox:1", "outbox:2", "outbox:3"]
    seen = Deduplicator()
    assert [i for i in ids if seen.first_time(i)] == ["outbox:1", "outbox:2", "outbox:3"]


def test_a_relay_that_loses_its_lease_while_publishing_marks_nothing(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    write(storage, 2)
    publisher = KeptPublisher()
    relay = Relay(storage, publisher, clock, holder="ada", lease_seconds=10)

    def slow_broker_and_a_rival() -> None:
        clock.advance(timedelta(seconds=11))
        now = clock.now()
        assert storage.take_relay_lease("outbox", "bob", now=now, until=now + timedelta(seconds=30))

    publisher.during.append(slow_broker_and_a_rival)
    assert relay.run_once() == 0
    assert len(publisher.sent) == 2
    assert len(storage.unrelayed_events()) == 2


def test_run_relays_until_stopped_rides_out_a_failing_broker_and_gives_the_lease_up(
    storage: MemoryStorage, clock: FixedClock
) -> None:
    write(storage, 5)
    publisher = KeptPublisher()
    publisher.failures = 2
    relay = Relay(storage, publisher, clock, holder="ada", batch=2)
    stop = threading.Event()
    done: list[int] = []
    runner = threading.Thread(target=lambda: done.append(relay.run(stop, idle_seconds=0.01)))
    runner.start()
    try:
        for _ in range(500):
            if not storage.unrelayed_events():
                break
            stop.wait(0.01)
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()
    assert done == [5]
    assert storage.unrelayed_events() == []
    # The lease was given up: another relay may take it at once.
    assert storage.take_relay_lease("outbox", "bob", now=clock.now(), until=clock.now())


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"name": ""}, "name"),
        ({"holder": " "}, "holder"),
        ({"lease_seconds": 0}, "lease_seconds"),
        ({"lease_seconds": True}, "lease_seconds"),
        ({"batch": 0}, "batch"),
        ({"batch": 10_001}, "batch"),
        ({"batch": 2.5}, "batch"),
    ],
)
def test_a_relay_that_cannot_be_is_refused_naming_the_field(
    storage: MemoryStorage, clock: FixedClock, options: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        Relay(storage, KeptPublisher(), clock, **options)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_relays_get_holders_of_their_own() -> None:
    storage, clock = MemoryStorage(), FixedClock(START)
    holders = {Relay(storage, KeptPublisher(), clock).holder for _ in range(20)}
    assert len(holders) == 20


def test_the_deduplicator_remembers_the_latest_ids_it_was_given() -> None:
    seen = Deduplicator(capacity=3)
    assert [seen.first_time(i) for i in ["a", "b", "a", "c", "d"]] == [
        True,
        True,
        False,
        True,
        True,
    ]
    assert len(seen) == 3
    assert "a" not in seen  # the oldest was forgotten to stay within capacity
    assert seen.first_time("a")
    with pytest.raises(InvalidInput):
        Deduplicator(capacity=0)


@pytest.mark.parametrize("name", ["out\x00box", "out\ud800box", " ", "x" * 201])
def test_a_relay_name_storage_cannot_hold_is_refused(name: str) -> None:
    from commercekit.adapters.clock import SystemClock
    from commercekit.adapters.storage.memory import MemoryStorage
    from commercekit.domain.errors import InvalidInput
    from commercekit.services.relay import Relay

    class Nowhere:
        def publish(self, messages: object) -> None:
            raise AssertionError("nothing is published")

        def close(self) -> None:
            return None

    with pytest.raises(InvalidInput) as raised:
        Relay(MemoryStorage(), Nowhere(), SystemClock(), name=name)  # type: ignore[arg-type]
    assert raised.value.field == "name"
