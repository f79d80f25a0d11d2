"""Relaying committed outbox events to a message broker: at least once, in the order
they were committed, by one relay at a time however many run.

Relays share a lease in storage, named for the stream they relay (``outbox``). A relay
takes or renews it before each batch, publishes the oldest unrelayed events, waits for
the broker to confirm them, and only then marks them relayed, in a transaction that
first checks it still holds the lease. So:

- an event is published until a relay has marked it: a relay that dies (or loses the
  broker) between publishing and marking leaves it to be published again, which is
  why consumers must deduplicate by the message id;
- events leave in outbox-id order, batch after batch. Two commits that change one
  aggregate cannot overlap (its version check makes the second wait for or lose to
  the first), so the later one's events have higher ids: the events of each aggregate
  reach the broker in the order they happened;
- while a relay holds the lease, no other publishes; when it dies its lease runs out
  after ``lease_seconds`` and another takes over from the first unmarked event.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from typing import Final, final

from commercekit.domain.errors import BrokerUnavailable, InvalidInput
from commercekit.domain.events import DomainEvent, event_to_dict
from commercekit.domain.identifiers import check_key
from commercekit.ports.clock import Clock
from commercekit.ports.events import BrokerPublisher, OutboxMessage
from commercekit.ports.storage import Storage

__all__ = ["DEFAULT_STREAM", "Relay", "outbox_message"]

log = logging.getLogger(__name__)

#: The name of the outbox stream, its lease and its message ids' prefix.
DEFAULT_STREAM: Final = "outbox"
_MOST_PER_BATCH: Final = 10_000


def outbox_message(stream: str, event_id: int, event: DomainEvent) -> OutboxMessage:
    """The message that carries outbox event ``event_id`` of ``stream``: the same
    id and body every time it is sent."""
    body = json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":"))
    return OutboxMessage(
        id=f"{stream}:{event_id}",
        name=event.name,
        body=body.encode("utf-8"),
        occurred_at=event.occurred_at,
    )


def _new_holder() -> str:
    """A name no other relay has: this machine and process, and a random part for
    relays that share a process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@final
class Relay:
    """Moves committed outbox events to a broker.

    :param storage: the store's storage; the relay reads and marks its outbox.
    :param publisher: the broker, which confirms what it holds.
    :param clock: the time leases and marks are reckoned in.
    :param name: the stream: relays with the same name share one lease, and its
        messages' ids start with it (give each store that publishes to one broker
        a name of its own).
    :param holder: who this relay is, in the lease; unique by default.
    :param lease_seconds: how long a lease lasts unless renewed; longer than a batch
        takes to publish, or the lease runs out under it and the batch is sent again.
    :param batch: how many events are published before they are marked.
    :raises InvalidInput: for a name, holder, lease or batch size that cannot be.
    """

    def __init__(
        self,
        storage: Storage,
        publisher: BrokerPublisher,
        clock: Clock,
        *,
        name: str = DEFAULT_STREAM,
        holder: str | None = None,
        lease_seconds: float = 30,
        batch: int = 100,
    ) -> None:
        holder = _new_holder() if holder is None else holder
        for field, text in (("name", name), ("holder", holder)):
            # A key storage can hold (no NUL, no lone surrogate), and not blank.
            if not check_key(text, field).strip() or len(text) > 200:
                raise InvalidInput("must be text of 1 to 200 characters", field=field)
        if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int | float):
            raise InvalidInput("must be a number of seconds", field="lease_seconds")
        if not 0 < lease_seconds <= 86_400:
            raise InvalidInput("must be more than 0 and at most a day", field="lease_seconds")
        if isinstance(batch, bool) or not isinstance(batch, int):
            raise InvalidInput("must be a whole number", field="batch")
        if not 1 <= batch <= _MOST_PER_BATCH:
            raise InvalidInput(f"must be from 1 to {_MOST_PER_BATCH}", field="batch")
        self._storage = storage
        self._publisher = publisher
        self._clock = clock
        self.name = name
        self.holder = holder
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch

    def run_once(self) -> int:
        """Take or renew the lease and relay one batch of the oldest unrelayed events.

        :returns: how many events this call published and marked relayed: none when
            another relay holds the lease, or this one lost it while publishing (then
            the batch goes out again, from whichever relay holds the lease next).
        :raises BrokerUnavailable: when the broker did not confirm the batch; nothing
            of it is marked, and it is sent again.
        """
        now = self._clock.now()
        if not self._storage.take_relay_lease(
            self.name, self.holder, now=now, until=now + self.lease
        ):
            return 0
        events = self._storage.unrelayed_events(self.batch)
        if not events:
            return 0
        self._publisher.publish(
            [outbox_message(self.name, event_id, event) for event_id, event in events]
        )
        ids = [event_id for event_id, _ in events]
        if not self._storage.mark_relayed(
            ids, name=self.name, holder=self.holder, at=self._clock.now()
        ):
            log.warning(
                "relay %s lost its lease on %r while publishing %d events; they will be "
                "sent again (is lease_seconds shorter than a batch takes?)",
                self.holder,
                self.name,
                len(ids),
            )
            return 0
        return len(ids)

    def drain(self) -> int:
        """Relay batches until no unrelayed event is left, or another relay holds the
        lease.

        :returns: how many events were relayed.
        :raises BrokerUnavailable: as :meth:`run_once`.
        """
        relayed = 0
        while True:
            count = self.run_once()
            relayed += count
            if count < self.batch:
                return relayed

    def run(self, stop: threading.Event, idle_seconds: float = 1.0) -> int:
        """Relay until ``stop`` is set: batch after batch while events wait, then every
        ``idle_seconds``. A broker that fails is tried again after ``idle_seconds``
        (the publisher reconnects); a relay that does not hold the lease waits as
        long and asks again, so it takes over when the holder stops or dies. On
        stopping it gives the lease up.

        :returns: how many events were relayed.
        """
        relayed = 0
        while not stop.is_set():
            try:
                count = self.run_once()
            except BrokerUnavailable as error:
                log.warning("relay %s: %s; trying again", self.holder, error)
                count = 0
            relayed += count
            if count < self.batch:
                stop.wait(idle_seconds)
        self.release()
        return relayed

    def release(self) -> None:
        """Give the lease up, if this relay holds it, so that another relay takes
        over at once rather than when it runs out."""
        self._storage.release_relay_lease(self.name, self.holder)
