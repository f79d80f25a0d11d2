"""The outbox relay against a real RabbitMQ and real databases (a SQLite file, and
PostgreSQL when ``COMMERCEKIT_TEST_POSTGRES_URL`` names one).

Every test publishes to an exchange of its own, read back through a queue bound to
all of it. What a consumer must see, whatever happens to the relays: every event, and,
once it drops the message ids it saw before, each exactly once and those of each
aggregate in the order they were committed. What the relay promises beyond that: an
event is published again only when a relay died, lost its broker or its lease before
marking it.
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pika
import pytest
import sqlalchemy as sa

from commercekit.adapters.clock import FixedClock, SystemClock
from commercekit.adapters.events.rabbitmq import RabbitMqPublisher
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.adapters.storage.sql import schema as t
from commercekit.domain.errors import BrokerUnavailable, InvalidInput
from commercekit.domain.events import NeedsAttention
from commercekit.services.relay import Relay
from commercekit.store import Store
from tests.broker import BoundQueue, Received, bound_queue, broker_url, duplicates, first_deliveries
from tests.conftest import fresh_postgres_schema
from tests.services.conftest import CONFIG, ready_cart, seed

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
#: The longest any test waits for the relays to catch up.
PATIENCE = 60.0


@pytest.fixture(scope="module")
def broker() -> str:
    return broker_url()


@pytest.fixture
def queue(broker: str) -> Iterator[BoundQueue]:
    with bound_queue(broker) as bound:
        yield bound


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, migrated database's URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shop.db'}"
        SqlStorage.open(url).close()
        yield url
        return
    with fresh_postgres_schema() as url:
        SqlStorage.open(url).close()
        yield url


@pytest.fixture
def storage(database: str) -> Iterator[SqlStorage]:
    with SqlStorage.open(database, migrate=False) as opened:
        yield opened


def shop(url: str, orders: int) -> None:
    """Orders placed, some captured, some of those refunded and some others
    cancelled, through the store's services; nobody subscribes in-process, so their
    events wait in the outbox."""
    with Store.open(url, config=CONFIG, clock=FixedClock(START)) as store:
        seed(store)
        for n in range(orders):
            order = store.checkout.place_order(ready_cart(store).token, idempotency_key=f"k-{n}")
            if n % 3 == 0:
                store.payments.capture(order.id)
                if n % 2 == 0:
                    store.payments.refund(order.id)
            elif n % 3 == 1:
                store.orders.cancel(order.id, "changed my mind")


def record(storage: SqlStorage, aggregate: str, sequence: int) -> None:
    """Commit one event of ``aggregate``, the ``sequence``-th of it."""
    with storage.unit_of_work() as uow:
        uow.record_events(
            [NeedsAttention(order_id=aggregate, detail=str(sequence), occurred_at=START)]
        )
        uow.commit()


def outbox(storage: SqlStorage) -> dict[int, dict[str, object]]:
    """Every event in the outbox, relayed or not, by id."""
    with storage.engine.connect() as connection:
        rows = connection.execute(sa.select(t.outbox.c.id, t.outbox.c.payload)).all()
    return {int(event_id): payload for event_id, payload in rows}


def wait_for(condition: Callable[[], bool], *, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {timeout} seconds")
        time.sleep(0.02)


def assert_each_once_in_order(received: list[Received], ids: set[int]) -> None:
    """A consumer that drops repeated message ids sees every event of ``ids`` once,
    those of each aggregate (an order) in the order they were committed."""
    first = first_deliveries(received)
    assert sorted(m.outbox_id for m in first) == sorted(ids)
    by_aggregate: dict[str, list[int]] = defaultdict(list)
    for message in first:
        by_aggregate[str(message.event.get("order_id") or message.event.get("sku"))].append(
            message.outbox_id
        )
    for aggregate, order in by_aggregate.items():
        assert order == sorted(order), f"{aggregate}: {order}"


@contextlib.contextmanager
def running(relay: Relay, *, idle_seconds: float = 0.05) -> Iterator[None]:
    """``relay`` relaying in a thread meanwhile; stopped (and joined) afterwards."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            relay.run(stop, idle_seconds=idle_seconds)
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=PATIENCE)
    assert not thread.is_alive(), "the relay did not stop"
    assert failures == []


# --- every event, in order -------------------------------------------------------------


def test_every_event_of_real_orders_reaches_the_exchange_once_and_in_order(
    database: str, storage: SqlStorage, queue: BoundQueue, broker: str
) -> None:
    shop(database, orders=12)
    events = outbox(storage)
    assert len(events) >= 12 * 3
    with RabbitMqPublisher(broker, exchange=queue.exchange) as publisher:
        relay = Relay(storage, publisher, SystemClock(), batch=10)
        assert relay.drain() == len(events)
        assert relay.drain() == 0
    received = queue.read(len(events))
    assert len(received) == len(events)
    assert duplicates(received) == {}
    assert [m.outbox_id for m in received] == sorted(events)
    assert_each_once_in_order(received, set(events))
    for message in received:
        payload = events[message.outbox_id]
        assert message.event == payload
        assert message.routing_key == payload["name"]
        assert message.message_id == f"outbox:{message.outbox_id}"
        assert message.properties.content_type == "application/json"
        assert message.properties.delivery_mode == 2
        assert message.properties.type == payload["name"]
    assert storage.unrelayed_events() == []


def test_events_committed_while_relays_run_arrive_in_order_per_aggregate(
    database: str, storage: SqlStorage, queue: BoundQueue, broker: str
) -> None:
    writers, each = 4, 40

    def write(aggregate: str) -> None:
        with SqlStorage.open(database, migrate=False) as own:
            for sequence in range(each):
                record(own, aggregate, sequence)

    with RabbitMqPublisher(broker, exchange=queue.exchange) as publisher:
        relay = Relay(storage, publisher, SystemClock(), batch=7)
        with running(relay):
            threads = [
                threading.Thread(target=write, args=(f"order-{w}",), daemon=True)
                for w in range(writers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=PATIENCE)
            assert not any(thread.is_alive() for thread in threads)
            wait_for(lambda: not storage.unrelayed_events())
    received = queue.read(writers * each)
    assert duplicates(received) == {}
    assert_each_once_in_order(received, set(outbox(storage)))
    by_aggregate: dict[str, list[int]] = defaultdict(list)
    for message in first_deliveries(received):
        by_aggregate[message.event["order_id"]].append(int(message.event["detail"]))
    assert by_aggregate == {f"order-{w}": list(range(each)) for w in range(writers)}


# --- a relay that dies ---------------------------------------------------------------


def lease_expiry(storage: SqlStorage) -> datetime:
    with storage.engine.connect() as connection:
        expires_at: datetime = connection.execute(
            sa.select(t.relay_leases.c.expires_at).where(t.relay_leases.c.name == "outbox")
        ).scalar_one()
    return expires_at


def test_a_relay_process_killed_mid_batch_is_taken_over_when_its_lease_runs_out(
    database: str, storage: SqlStorage, queue: BoundQueue, broker: str
) -> None:
    shop(database, orders=15)
    events = outbox(storage)
    batch, dies_after, lease_seconds = 20, 7, 3
    assert len(events) > batch
    doomed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.relay_worker",
            database,
            broker,
            queue.exchange,
            f"--die-after={dies_after}",
            f"--batch={batch}",
            f"--lease-seconds={lease_seconds}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        check=False,
    )
    assert doomed.returncode == -signal.SIGKILL, doomed.stderr
    published = queue.read(dies_after)
    assert [m.outbox_id for m in published] == sorted(events)[:dies_after]
    assert len(storage.unrelayed_events(1000)) == len(events)

    clock = SystemClock()
    expiry = lease_expiry(storage)
    with RabbitMqPublisher(broker, exchange=queue.exchange) as publisher:
        successor = Relay(
            storage, publisher, clock, holder="successor", batch=batch, lease_seconds=30
        )
        if clock.now() < expiry:
            # The dead relay's lease still stands: nobody publishes in its place.
            assert successor.run_once() == 0
        wait_for(lambda: successor.run_once() > 0)
        assert clock.now() >= expiry
        successor.drain()
    assert storage.unrelayed_events(1000) == []
    received = queue.read(len(events) + dies_after)
    assert len(received) == len(events) + dies_after
    # What the dead relay published went out again, and nothing else did.
    assert duplicates(received) == {f"outbox:{i}": 1 for i in sorted(events)[:dies_after]}
    assert_each_once_in_order(received, set(events))


# --- a broker connection that drops ----------------------------------------------------


class Proxy:
    """A TCP proxy to the broker whose connections the test can cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self.accepted = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._budget: int | None = None
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            for end in (client, upstream):
                end.settimeout(None)
                # As the client and the broker do: small frames go out at once.
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self.accepted += 1
                self._open += [client, upstream]
            for source, sink, outbound in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, sink, outbound), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                if outbound and self._spend(len(data)):
                    self.cut()
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def _spend(self, sent: int) -> bool:
        with self._lock:
            if self._budget is None:
                return False
            self._budget -= sent
            if self._budget > 0:
                return False
            self._budget = None
            return True

    def cut_after(self, sent: int) -> None:
        """Cut every connection once clients have sent ``sent`` more bytes."""
        with self._lock:
            self._budget = sent

    def cut(self) -> int:
        """Drop every connection open now, both ways; returns how many there were."""
        with self._lock:
            cut, self._open = self._open, []
        for end in cut:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
        return len(cut) // 2

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=10)
        self._listener.close()
        self.cut()


@pytest.fixture
def proxy(broker: str) -> Iterator[Proxy]:
    parts = urllib.parse.urlsplit(broker)
    opened = Proxy((parts.hostname or "127.0.0.1", parts.port or 5672))
    yield opened
    opened.close()


def through(broker: str, proxy: Proxy) -> str:
    parts = urllib.parse.urlsplit(broker)
    credentials = parts.netloc.rpartition("@")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}"))


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_running_relay_reconnects_when_its_broker_connection_drops(
    storage: SqlStorage, queue: BoundQueue, broker: str, proxy: Proxy
) -> None:
    aggregates, batch = 5, 50
    written = 0

    def write(count: int) -> list[int]:
        """Commit ``count`` more events in one unit of work; returns their ids."""
        nonlocal written
        with storage.unit_of_work() as uow:
            uow.record_events(
                [
                    NeedsAttention(
                        order_id=f"order-{n % aggregates}",
                        detail=str(n // aggregates),
                        occurred_at=START,
                    )
                    for n in range(written, written + count)
                ]
            )
            uow.commit()
        written += count
        return sorted(outbox(storage))[-count:]

    def arrived(count: int) -> Callable[[], bool]:
        return lambda: len(first_deliveries(queue.read(count, timeout=0.1))) >= count

    with RabbitMqPublisher(through(broker, proxy), exchange=queue.exchange) as publisher:
        relay = Relay(storage, publisher, SystemClock(), batch=batch)
        with running(relay):
            write(20)
            wait_for(arrived(20))
            # Cut while the relay waits for more: its next publish connects again.
            assert proxy.cut() == 1
            write(20)
            wait_for(arrived(40))
            assert proxy.accepted == 2
            assert duplicates(queue.read(40)) == {}
            # Cut half-way through publishing a batch (a message is a few hundred
            # bytes on the wire, so some 20 into the first): it goes out again whole.
            proxy.cut_after(20 * 300)
            third = write(1000)
            wait_for(lambda: not storage.unrelayed_events())
    assert proxy.accepted >= 3
    received = queue.read_quietly()
    repeated = duplicates(received)
    assert repeated, "the cut came between batches"
    assert {int(i.rpartition(":")[2]) for i in repeated} <= set(third[:batch])
    assert_each_once_in_order(received, set(outbox(storage)))
    by_aggregate: dict[str, list[int]] = defaultdict(list)
    for message in first_deliveries(received):
        by_aggregate[message.event["order_id"]].append(int(message.event["detail"]))
    assert by_aggregate == {
        f"order-{a}": list(range(written // aggregates)) for a in range(aggregates)
    }


# --- several relays at once --------------------------------------------------------------


def first_line(process: subprocess.Popen[str]) -> str:
    """The first line ``process`` prints (waiting at most :data:`PATIENCE`)."""
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.append(process.stdout.readline() if process.stdout else ""),
        daemon=True,
    )
    reader.start()
    reader.join(timeout=PATIENCE)
    assert lines, "the process printed nothing"
    return lines[0]


def test_three_relay_processes_on_postgresql_publish_each_event_once(
    queue: BoundQueue, broker: str
) -> None:
    writers, each = 4, 60
    with fresh_postgres_schema() as url, SqlStorage.open(url) as storage:
        relays = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "commercekit.cli",
                    "relay",
                    url,
                    "--broker",
                    broker,
                    "--exchange",
                    queue.exchange,
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        try:
            for relay in relays:
                assert first_line(relay).startswith("relaying ")

            def write(aggregate: str) -> None:
                with SqlStorage.open(url, migrate=False) as own:
                    for sequence in range(each):
                        record(own, aggregate, sequence)

            threads = [
                threading.Thread(target=write, args=(f"order-{w}",), daemon=True)
                for w in range(writers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=PATIENCE)
            assert not any(thread.is_alive() for thread in threads)
            wait_for(lambda: not storage.unrelayed_events())
        finally:
            for relay in relays:
                relay.send_signal(signal.SIGTERM)
            outputs = [relay.communicate(timeout=PATIENCE) for relay in relays]
        ids = set(outbox(storage))
    assert [relay.returncode for relay in relays] == [0, 0, 0], outputs
    received = queue.read_quietly()
    assert len(received) == writers * each
    assert duplicates(received) == {}
    assert_each_once_in_order(received, ids)
    relayed = [int(out.rsplit("relayed ", 1)[1].split()[0]) for out, _ in outputs]
    assert sum(relayed) == writers * each


# --- the publisher's failures ----------------------------------------------------------


def test_a_broker_that_cannot_be_reached_is_broker_unavailable_without_the_password() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    password = secrets.token_hex(8)
    publisher = RabbitMqPublisher(f"amqp://shop:{password}@127.0.0.1:{port}/")
    with pytest.raises(BrokerUnavailable) as refused:
        publisher.connect()
    assert refused.value.code == "broker_unavailable"
    assert refused.value.retryable
    assert password not in str(refused.value)
    assert "shop:***@127.0.0.1" in str(refused.value)


def test_wrong_credentials_are_broker_unavailable(broker: str) -> None:
    parts = urllib.parse.urlsplit(broker)
    host = parts.netloc.rpartition("@")[2]
    wrong = urllib.parse.urlunsplit(parts._replace(netloc=f"nobody:not-the-password@{host}"))
    with pytest.raises(BrokerUnavailable) as refused:
        RabbitMqPublisher(wrong).connect()
    assert "not-the-password" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "exchange", "field"),
    [
        ("http://127.0.0.1/", "commercekit", "broker"),
        ("amqp://127.0.0.1/?heartbeat=often", "commercekit", "broker"),
        ("amqp://127.0.0.1/", "two words", "exchange"),
        ("amqp://127.0.0.1/", "", "exchange"),
    ],
)
def test_a_publisher_that_cannot_be_is_refused_naming_the_field(
    url: str, exchange: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        RabbitMqPublisher(url, exchange=exchange)
    assert refused.value.field == field


def test_an_exchange_of_another_type_is_broker_unavailable(broker: str) -> None:
    name = f"ck-test-{secrets.token_hex(6)}"
    connection = pika.BlockingConnection(pika.URLParameters(broker))
    try:
        connection.channel().exchange_declare(exchange=name, exchange_type="direct")
        with RabbitMqPublisher(broker, exchange=name) as publisher:
            with pytest.raises(BrokerUnavailable) as refused:
                publisher.connect()
            assert "PRECONDITION_FAILED" in str(refused.value)
    finally:
        connection.channel().exchange_delete(exchange=name)
        connection.close()
