"""Outbox messages to RabbitMQ, through pika (the ``rabbitmq`` extra).

Each message goes to a durable topic exchange with the event's name as its routing
key (a queue binds the names it wants, ``OrderPlaced``, or ``#`` for every event),
marked persistent, as ``application/json``, with the event's id as ``message_id``.
The channel is in publisher-confirm mode: :meth:`RabbitMqPublisher.publish` returns
only once the broker has confirmed every message, so a relay marks nothing the broker
does not hold. A message no queue is bound to is dropped by the broker, as any
unroutable message is: declare and bind queues before the events they want are
relayed.

Delivery is at least once. Consumers must deduplicate by ``message_id``
(:class:`~commercekit.adapters.events.Deduplicator`).
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Final, final

import pika
import pika.exceptions

from commercekit.domain.errors import BrokerUnavailable, InvalidInput, shown
from commercekit.ports.events import OutboxMessage

__all__ = ["DEFAULT_EXCHANGE", "RabbitMqPublisher", "shown_broker_url"]

#: The exchange events are published to unless another is named.
DEFAULT_EXCHANGE: Final = "commercekit"

# RabbitMQ's own rule for exchange names.
_EXCHANGE_NAME: Final = re.compile(r"[A-Za-z0-9_.:-]{1,255}")
_PERSISTENT: Final = 2
# Waits the URL does not set otherwise: connecting, and a broker that stops reading
# (out of memory or disk), are failures after these many seconds, not a hang.
_DEFAULTS: Final = {"socket_timeout": 10.0, "blocked_connection_timeout": 60.0}


def shown_broker_url(url: str) -> str:
    """``url`` as it may be shown: with its password masked."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _parameters(url: str) -> Any:
    """pika's connection parameters for ``url``, with :data:`_DEFAULTS` where the URL
    names no value of its own.

    :raises InvalidInput: naming ``broker``, for a URL that is not an AMQP URL.
    """
    if not isinstance(url, str) or not url.startswith(("amqp://", "amqps://")):
        raise InvalidInput(
            f"expected amqp://user:password@host:5672/vhost, got {shown(shown_broker_url(url))}"
            if isinstance(url, str)
            else "expected an amqp:// URL",
            field="broker",
        )
    try:
        parameters = pika.URLParameters(url)
    except (ValueError, TypeError) as error:
        raise InvalidInput(
            f"not a broker URL: {_without_password(str(error), url)}", field="broker"
        ) from None
    named = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    for option, value in _DEFAULTS.items():
        if option not in named:
            setattr(parameters, option, value)
    return parameters


def _without_password(text: str, url: str) -> str:
    password = urllib.parse.urlsplit(url).password
    line = " ".join(text.split())
    return line.replace(password, "***") if password else line


def _properties(message: OutboxMessage) -> Any:
    return pika.BasicProperties(
        content_type="application/json",
        content_encoding="utf-8",
        delivery_mode=_PERSISTENT,
        message_id=message.id,
        type=message.name,
        timestamp=int(message.occurred_at.timestamp()),
        app_id="commercekit",
    )


@final
class RabbitMqPublisher:
    """Publishes outbox messages to a RabbitMQ exchange, with publisher confirms.

    It connects on the first publish, and again on the next publish after the
    connection dropped, or was closed by the broker for missing its heartbeats while
    the relay had nothing to send. Calls are serialised: share one between threads if
    you must, but one per relay is the rule.

    :param url: ``amqp://user:password@host:5672/vhost``; pika's URL options
        (``?heartbeat=30``, ``?socket_timeout=5``...) apply.
    :param exchange: the durable topic exchange, declared on connecting.
    :raises InvalidInput: naming ``broker`` or ``exchange``.
    """

    def __init__(self, url: str, *, exchange: str = DEFAULT_EXCHANGE) -> None:
        self._parameters = _parameters(url)
        if not isinstance(exchange, str) or not _EXCHANGE_NAME.fullmatch(exchange):
            raise InvalidInput(
                "must be 1 to 255 letters, digits, '-', '_', '.' or ':'", field="exchange"
            )
        self._url = url
        self.url = shown_broker_url(url)
        """The broker's URL, password masked."""
        self.exchange = exchange
        self._connection: Any = None
        self._channel: Any = None
        self._lock = threading.Lock()

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        """Send ``messages`` in order; returns once the broker confirmed them all.

        :raises BrokerUnavailable: when the broker cannot be reached, refuses the
            exchange, drops the connection or does not confirm a message; the
            connection is dropped and made again on the next call.
        """
        if not messages:
            return
        with self._lock:
            channel = self._ready_channel()
            try:
                for message in messages:
                    channel.basic_publish(
                        exchange=self.exchange,
                        routing_key=message.name,
                        body=message.body,
                        properties=_properties(message),
                    )
            except pika.exceptions.NackError:
                self._drop()
                raise BrokerUnavailable(
                    self.url, "the broker refused to take a message (nack)"
                ) from None
            except (pika.exceptions.AMQPError, OSError) as error:
                self._drop()
                raise self._unavailable(error) from error

    def connect(self) -> None:
        """Connect now rather than on the first publish, to find out at once that the
        broker cannot be used.

        :raises BrokerUnavailable: as :meth:`publish`.
        """
        with self._lock:
            self._ready_channel()

    def close(self) -> None:
        """Close the connection (the next publish opens a new one)."""
        with self._lock:
            self._drop()

    def __enter__(self) -> RabbitMqPublisher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ready_channel(self) -> Any:
        """The open channel, after reading what the broker sent meanwhile (so that a
        connection the broker closed, or that dropped while idle, is found out now and
        made again rather than failing the publish)."""
        if self._connection is not None:
            try:
                self._connection.process_data_events(time_limit=0)
            except (pika.exceptions.AMQPError, OSError):
                self._drop()
        if (
            self._connection is None
            or not self._connection.is_open
            or self._channel is None
            or not self._channel.is_open
        ):
            self._drop()
            self._connect()
        return self._channel

    def _connect(self) -> None:
        try:
            self._connection = pika.BlockingConnection(self._parameters)
            self._channel = self._connection.channel()
            self._channel.exchange_declare(
                exchange=self.exchange, exchange_type="topic", durable=True
            )
            self._channel.confirm_delivery()
        except (pika.exceptions.AMQPError, OSError) as error:
            self._drop()
            raise self._unavailable(error) from error

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with suppress(pika.exceptions.AMQPError, OSError):
                connection.close()

    def _unavailable(self, error: BaseException) -> BrokerUnavailable:
        # pika's connection errors say nothing as text: what failed is in their args.
        text = str(error) or "; ".join(repr(arg) for arg in error.args)
        reason = type(error).__name__ + (f": {text}" if text else "")
        return BrokerUnavailable(self.url, _without_password(reason, self._url))


if TYPE_CHECKING:
    from commercekit.ports.events import BrokerPublisher

    def _is_a_publisher(publisher: RabbitMqPublisher) -> BrokerPublisher:
        # mypy proves here that the publisher keeps the port.
        return publisher
