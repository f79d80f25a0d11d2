"""What the tests of abandoned carts, campaigns and back-in-stock alerts share: a
store on memory, a SQLite file and (when there is one) PostgreSQL, with a notifier
that keeps every message handed to it and can be told to fail."""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import NotificationFailed
from commercekit.hookspecs import hookimpl
from commercekit.ports.notifications import Message
from commercekit.store import Store
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_postgres_schema
from tests.services.conftest import CONFIG

LINK_SECRET: Final = "bringing-them-back-test-secret-0123456789"
TOKEN: Final = re.compile(r"token=([A-Za-z0-9_.-]+)")


class Outbox:
    """A notifier: every message handed over is kept, in order; told to, it fails."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.failures = 0
        """How many of the next messages fail."""
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        with self._lock:
            if self.failures:
                self.failures -= 1
                raise NotificationFailed("the mail server is away")
            self.sent.append(message)

    def to(self, address: str) -> list[Message]:
        """The messages handed over for ``address``."""
        with self._lock:
            return [message for message in self.sent if message.to == address]

    def keys(self) -> list[str]:
        with self._lock:
            return [message.key for message in self.sent]


class OutboxPlugin:
    """Offers the notifier ``outbox``, which is ``outbox``."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    @hookimpl
    def register_notifiers(self, register: Callable[..., None]) -> None:
        register("outbox", lambda options: self.outbox)


def backends(*, memory: bool = True) -> list[str]:
    """Memory (unless left out) and SQLite; PostgreSQL when there is one."""
    found = ["memory", "sqlite"] if memory else ["sqlite"]
    if os.environ.get(POSTGRES_URL_VARIABLE) or os.environ.get("CI") == "true":
        found.append("postgresql")
    return found


def configured(**extra: Any) -> dict[str, Any]:
    """The services tests' store, with the recording notifier and a link secret."""
    return {
        **CONFIG,
        "notifier": {"plugin": "outbox", "options": {}},
        "link_signing_secret": LINK_SECRET,
        **extra,
    }


@contextlib.contextmanager
def opened(
    backend: str,
    directory: Path,
    outbox: Outbox,
    *,
    clock: FixedClock | None = None,
    config: Mapping[str, Any] | None = None,
) -> Iterator[Store]:
    """A store on ``backend`` handing its messages to ``outbox``."""
    with contextlib.ExitStack() as stack:
        if backend == "memory":
            url = "memory://"
        elif backend == "sqlite":
            url = f"sqlite:///{directory / 'shop.db'}"
        else:
            url = stack.enter_context(fresh_postgres_schema())
        yield stack.enter_context(
            Store.open(
                url,
                config=dict(config or configured()),
                clock=clock,
                plugins=[OutboxPlugin(outbox)],
            )
        )


def token_in(message: Message) -> str:
    """The token of the link in a message."""
    found = TOKEN.search(message.text)
    assert found is not None, message.text
    return found.group(1)
