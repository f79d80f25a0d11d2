"""The RabbitMQ broker the relay tests publish to, and a queue to read it back from.

The broker is ``COMMERCEKIT_TEST_BROKER_URL`` (by default the local one,
``amqp://guest:guest@127.0.0.1:5672/``). Tests that need it are skipped when it
cannot be reached, except in CI (``CI=true``), where that fails the run. Each test
publishes to an exchange of its own, with a queue of its own bound to every routing
key, and deletes both at the end: runs never see each other's messages, and the
broker is never restarted or reconfigured.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pika
import pika.exceptions
import pytest

from commercekit.adapters.events import Deduplicator

BROKER_URL_VARIABLE = "COMMERCEKIT_TEST_BROKER_URL"
DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"


def broker_url() -> str:
    """The broker to test against; skipped when it cannot be reached, but a failure
    in CI."""
    url = os.environ.get(BROKER_URL_VARIABLE) or DEFAULT_BROKER_URL
    try:
        pika.BlockingConnection(_parameters(url)).close()
    except (pika.exceptions.AMQPError, OSError) as error:
        where = "the default" if url == DEFAULT_BROKER_URL else BROKER_URL_VARIABLE
        reason = f"cannot reach RabbitMQ at {where} ({url.rpartition('@')[2]}): {error!r}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run against a broker")
        pytest.skip(reason)
    return url


def _parameters(url: str) -> Any:
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.socket_timeout = 5
    return parameters


@attrs.frozen
class Received:
    """One message as the queue handed it over."""

    message_id: str
    routing_key: str
    properties: Any
    body: bytes

    @property
    def outbox_id(self) -> int:
        return int(self.message_id.rpartition(":")[2])

    @property
    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@attrs.define
class BoundQueue:
    """A fresh exchange, and a queue bound to all its routing keys."""

    url: str
    exchange: str
    queue: str
    _channel: Any
    received: list[Received] = attrs.field(factory=list)

    def read(self, count: int, *, timeout: float = 30) -> list[Received]:
        """Every message received so far, after waiting (at most ``timeout`` seconds)
        for at least ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            method, properties, body = self._channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                time.sleep(0.02)
                continue
            self.received.append(
                Received(properties.message_id, method.routing_key, properties, body)
            )
        return list(self.received)

    def read_quietly(self, *, quiet: float = 0.5, timeout: float = 30) -> list[Received]:
        """Every message, reading until none arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() - last < quiet and time.monotonic() < deadline:
            before = len(self.received)
            self.read(before + 1, timeout=0.05)
            if len(self.received) > before:
                last = time.monotonic()
        return list(self.received)

    def waiting(self) -> int:
        """How many messages the queue holds, not yet read."""
        declared = self._channel.queue_declare(self.queue, passive=True)
        return int(declared.method.message_count)


@contextmanager
def bound_queue(url: str) -> Iterator[BoundQueue]:
    """A fresh exchange with a queue bound to ``#``, both deleted afterwards."""
    name = f"ck-test-{secrets.token_hex(6)}"
    connection = pika.BlockingConnection(_parameters(url))
    try:
        channel = connection.channel()
        channel.exchange_declare(exchange=name, exchange_type="topic", durable=True)
        channel.queue_declare(queue=name, durable=True)
        channel.queue_bind(queue=name, exchange=name, routing_key="#")
        try:
            yield BoundQueue(url, name, name, channel)
        finally:
            channel.queue_delete(queue=name)
            channel.exchange_delete(exchange=name)
    finally:
        connection.close()


def first_deliveries(received: list[Received]) -> list[Received]:
    """What a consumer acts on when it deduplicates by message id: each message's
    first delivery, in the order they came."""
    seen = Deduplicator()
    return [message for message in received if seen.first_time(message.message_id)]


def duplicates(received: list[Received]) -> Counter[str]:
    """How many times each message id came more than once."""
    return Counter({k: n - 1 for k, n in Counter(m.message_id for m in received).items() if n > 1})
