"""A relay process that dies half-way through a batch, for the relay tests.

``python -m tests.integration.relay_worker URL BROKER EXCHANGE --die-after N``
relays with a publisher that, once the broker has confirmed ``N`` messages, kills its
own process with SIGKILL: no ``finally``, no lease given up, no batch marked, as when
a machine loses power.
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Sequence

from commercekit.adapters.clock import SystemClock
from commercekit.adapters.events.rabbitmq import RabbitMqPublisher
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.ports.events import OutboxMessage
from commercekit.services.relay import Relay


class DiesAfter:
    """Publishes one message at a time, and dies once ``limit`` were confirmed."""

    def __init__(self, inner: RabbitMqPublisher, limit: int) -> None:
        self._inner = inner
        self._left = limit

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            self._inner.publish([message])
            self._left -= 1
            if self._left == 0:
                os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        self._inner.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("broker")
    parser.add_argument("exchange")
    parser.add_argument("--die-after", type=int, required=True)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--lease-seconds", type=float, default=30)
    arguments = parser.parse_args()
    publisher = DiesAfter(
        RabbitMqPublisher(arguments.broker, exchange=arguments.exchange), arguments.die_after
    )
    with SqlStorage.open(arguments.url, migrate=False) as storage:
        relay = Relay(
            storage,
            publisher,
            SystemClock(),
            holder="doomed",
            lease_seconds=arguments.lease_seconds,
            batch=arguments.batch,
        )
        relay.drain()
    raise SystemExit("the outbox ran dry before the relay was to die")


if __name__ == "__main__":
    main()
