"""Deduplicating relayed messages on the consumer's side.

A relay publishes every outbox event at least once: one it published and could not
mark (it died, or lost the broker or its lease) goes out again, with the same message
id. A consumer therefore acts on a message id once. Where its work writes to a
database, it records the ids it handled there, under a unique key, in the transaction
of the work itself; otherwise :class:`Deduplicator` remembers the latest ids in
memory.
"""

from __future__ import annotations

import threading
from typing import Final, final

from commercekit.domain.errors import InvalidInput

__all__ = ["DEFAULT_CAPACITY", "Deduplicator"]

#: How many message ids a :class:`Deduplicator` remembers by default: many more than
#: a relay sends between publishing a batch and sending it again after a failure.
DEFAULT_CAPACITY: Final = 100_000


@final
class Deduplicator:
    """Tells the first delivery of a message id from a repeat, remembering the latest
    ``capacity`` ids (the oldest is forgotten first). Safe to share between threads.

    :raises InvalidInput: naming ``capacity``, for one below 1.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InvalidInput("must be a whole number of 1 or more", field="capacity")
        self.capacity = capacity
        # A dict keeps insertion order: its first key is the oldest id.
        self._seen: dict[str, None] = {}
        self._lock = threading.Lock()

    def first_time(self, message_id: str) -> bool:
        """Whether ``message_id`` is new: ``True`` once, then ``False`` while it is
        remembered. Act on the message only when it is new."""
        with self._lock:
            if message_id in self._seen:
                return False
            self._seen[message_id] = None
            if len(self._seen) > self.capacity:
                del self._seen[next(iter(self._seen))]
            return True

    def __contains__(self, message_id: object) -> bool:
        with self._lock:
            return message_id in self._seen

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)
