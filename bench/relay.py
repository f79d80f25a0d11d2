"""Outbox events relayed to RabbitMQ per second, beside a bare pika client.

commercekit: ``Relay.drain()`` on an outbox of committed events (written beforehand,
not timed): per batch, take the lease, read the oldest unrelayed events, publish them
through ``RabbitMqPublisher`` (persistent messages, publisher confirms: each publish
waits for the broker's confirmation) and mark them relayed in a transaction that
checks the lease.

Bare pika: the very same messages (bodies, ids, properties) published by a
``pika.BlockingConnection`` in confirm mode, one ``basic_publish`` after another, with
no database at all: the floor the relay stands on.

Both publish to a durable topic exchange with a durable queue bound to it (so every
message is routed and kept); the connection is opened before timing. Each figure is
the median of ``--runs`` runs of ``--events`` events. PostgreSQL runs when
``COMMERCEKIT_TEST_POSTGRES_URL`` is set (in a schema of its own, dropped
afterwards); the broker is ``COMMERCEKIT_TEST_BROKER_URL`` or the local one.

Run: ``python bench/relay.py`` (``--events N``, default 5000; ``--runs R``, default 5).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika

from checkout import database
from commercekit.adapters.clock import SystemClock
from commercekit.adapters.events.rabbitmq import RabbitMqPublisher
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.domain.events import PaymentCaptured
from commercekit.ports.events import OutboxMessage
from commercekit.services.relay import Relay, outbox_message

BROKER = os.environ.get("COMMERCEKIT_TEST_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672/"
BATCHES = (100, 1000)
WHEN = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@contextmanager
def exchange() -> Iterator[tuple[str, Any]]:
    """A fresh durable exchange with a durable queue bound to it; yields its name and
    a channel to purge the queue with. Both are deleted afterwards."""
    name = f"ck-bench-{secrets.token_hex(4)}"
    connection = pika.BlockingConnection(pika.URLParameters(BROKER))
    channel = connection.channel()
    channel.exchange_declare(exchange=name, exchange_type="topic", durable=True)
    channel.queue_declare(queue=name, durable=True)
    channel.queue_bind(queue=name, exchange=name, routing_key="#")
    try:
        yield name, channel
    finally:
        channel.queue_delete(queue=name)
        channel.exchange_delete(exchange=name)
        connection.close()


def write_events(storage: SqlStorage, count: int) -> None:
    """Commit ``count`` events, a hundred per unit of work."""
    for start in range(0, count, 100):
        with storage.unit_of_work() as uow:
            uow.record_events(
                [
                    PaymentCaptured(
                        payment_id=f"pay-{n}",
                        order_id=f"RETRO-{n}",
                        currency="EUR",
                        amount_units=3990,
                        occurred_at=WHEN,
                    )
                    for n in range(start, min(start + 100, count))
                ]
            )
            uow.commit()


def relay_rate(url: str, exchange_name: str, purge: Any, events: int, batch: int) -> float:
    with (
        SqlStorage.open(url) as storage,
        RabbitMqPublisher(BROKER, exchange=exchange_name) as publisher,
    ):
        write_events(storage, events)
        publisher.connect()
        relay = Relay(storage, publisher, SystemClock(), batch=batch)
        started = time.perf_counter()
        relayed = relay.drain()
        elapsed = time.perf_counter() - started
        relay.release()
    assert relayed == events, relayed
    purge.queue_purge(queue=exchange_name)
    return events / elapsed


def bare_rate(exchange_name: str, purge: Any, messages: Sequence[OutboxMessage]) -> float:
    connection = pika.BlockingConnection(pika.URLParameters(BROKER))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        started = time.perf_counter()
        for message in messages:
            channel.basic_publish(
                exchange=exchange_name,
                routing_key=message.name,
                body=message.body,
                properties=pika.BasicProperties(
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    message_id=message.id,
                    type=message.name,
                    timestamp=int(message.occurred_at.timestamp()),
                    app_id="commercekit",
                ),
            )
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
    purge.queue_purge(queue=exchange_name)
    return len(messages) / elapsed


def main(events: int, runs: int) -> None:
    backends = ["sqlite"] + (
        ["postgresql"] if os.environ.get("COMMERCEKIT_TEST_POSTGRES_URL") else []
    )
    messages = [
        outbox_message(
            "outbox",
            n + 1,
            PaymentCaptured(
                payment_id=f"pay-{n}",
                order_id=f"RETRO-{n}",
                currency="EUR",
                amount_units=3990,
                occurred_at=WHEN,
            ),
        )
        for n in range(events)
    ]
    configurations = [(backend, batch) for backend in backends for batch in BATCHES]
    rates: dict[tuple[str, int], list[float]] = {c: [] for c in [("bare", 0), *configurations]}
    with tempfile.TemporaryDirectory() as folder, exchange() as (name, channel):
        # Runs take turns, so that the broker's slower moments fall on every column alike.
        for _ in range(runs):
            rates["bare", 0].append(bare_rate(name, channel, messages))
            for backend, batch in configurations:
                with database(backend, Path(folder), "relay") as url:
                    rates[backend, batch].append(relay_rate(url, name, channel, events, batch))
    bare = statistics.median(rates["bare", 0])
    print(f"{events} events per run, median of {runs} runs, persistent messages, confirms")
    print("| publisher | backend | batch | events/s | vs bare pika |")
    print("| --- | --- | ---: | ---: | ---: |")
    print(f"| bare pika | (none) | - | {bare:.0f} | 1.00x |")
    for backend, batch in configurations:
        rate = statistics.median(rates[backend, batch])
        print(f"| Relay | {backend} | {batch} | {rate:.0f} | {rate / bare:.2f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    main(arguments.events, arguments.runs)
