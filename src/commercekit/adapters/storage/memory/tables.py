"""Committed state in memory, and the staged rows of one unit of work on top of it."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from commercekit.domain.errors import NotFound
from commercekit.domain.events import DomainEvent

__all__ = ["DELETED", "STAMPED", "TABLES", "Committed", "Repository", "Tables"]

TABLES: Final = (
    "carts",
    "checkouts",
    "orders",
    "payments",
    "customers",
    "categories",
    "products",
    "product_types",
    "collections",
    "product_slugs",
    "catalog_changes",
    "price_lists",
    "tax_zones",
    "shipping_zones",
    "delivery_methods",
    "promotions",
    "coupons",
    "coupon_uses",
    "stock_locations",
    "stock_rules",
    "stock_items",
    "stock_movements",
    "reservations",
    "purchase_orders",
    "shipments",
    "notices",
    "records",
)
DELETED: Final = object()
#: The catalogue-wide tables: a commit that writes one of them changes the stamp (not
#: the change record: nothing a cache holds changes with it).
STAMPED: Final = (
    "categories",
    "products",
    "product_types",
    "collections",
    "product_slugs",
    "price_lists",
    "tax_zones",
    "shipping_zones",
    "delivery_methods",
    "promotions",
    "stock_locations",
)


class Committed:
    """Committed state and the outbox, guarded by a lock; units of work stage
    changes on top."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}
        self.outbox: list[tuple[int, DomainEvent, bool]] = []
        self.relayed: set[int] = set()
        """The ids of the outbox events a relay marked relayed."""
        self.leases: dict[str, tuple[str, datetime]] = {}
        """The relay leases: holder and expiry, by name."""
        self.stamp = 1
        """The catalogue's version stamp (see ``CatalogRepository.stamp``)."""

    def undelivered_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        """Outbox events not yet marked delivered, oldest first."""
        with self.lock:
            return [(i, e) for i, e, done in self.outbox if not done][:limit]

    def mark_delivered(self, event_ids: Sequence[int], *, at: datetime) -> None:
        """Mark outbox events as delivered."""
        wanted = set(event_ids)
        with self.lock:
            self.outbox = [(i, e, done or i in wanted) for i, e, done in self.outbox]

    def take_relay_lease(self, name: str, holder: str, *, now: datetime, until: datetime) -> bool:
        """Take or renew the lease ``name``, if it is free, ran out or is ``holder``'s."""
        with self.lock:
            current = self.leases.get(name)
            if current is not None and current[0] != holder and current[1] > now:
                return False
            self.leases[name] = (holder, until)
            return True

    def unrelayed_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        """Outbox events not yet marked relayed, oldest first."""
        with self.lock:
            return [(i, e) for i, e, _ in self.outbox if i not in self.relayed][:limit]

    def mark_relayed(
        self, event_ids: Sequence[int], *, name: str, holder: str, at: datetime
    ) -> bool:
        """Mark outbox events relayed, if ``holder`` still holds the lease ``name``."""
        with self.lock:
            current = self.leases.get(name)
            if current is None or current[0] != holder or current[1] <= at:
                return False
            self.relayed.update(event_ids)
            return True

    def release_relay_lease(self, name: str, holder: str) -> None:
        """Give up the lease ``name``, if ``holder`` holds it."""
        with self.lock:
            current = self.leases.get(name)
            if current is not None and current[0] == holder:
                del self.leases[name]

    def close(self) -> None:
        """Nothing to release."""


class Tables:
    """Committed rows overlaid with the staged ones of one unit of work."""

    def __init__(self, storage: Committed) -> None:
        self.storage = storage
        self.staged: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}
        self.loaded: dict[int, tuple[Any, int]] = {}
        """The version each loaded copy had, by the copy's identity (holding the copy,
        so that its id is not reused): a stale copy saved after a fresh reload must
        still be caught."""
        self.expected: dict[tuple[str, Any], int | None] = {}
        """For each staged row, the stored version its write expects."""
        self.adopted: dict[tuple[str, Any], Any] = {}
        """Copies an earlier unit of work committed, taken as read (see ``adopt``)."""
        self.inserted: set[tuple[str, Any]] = set()
        """Rows written as new: one stored meanwhile under the key is a conflict."""
        self.stock: list[Any] = []
        """Stock changes and reservation transitions, in the order staged, decided
        again against committed stock at commit."""
        self.loose_events: list[DomainEvent] = []
        self.written: list[Any] = []
        """Aggregates in the order they were added or saved: their events are
        committed in that order, so causes come before effects."""

    def get(self, table: str, key: Any) -> Any:
        staged = self.staged[table]
        if key in staged:
            value = staged[key]
            return None if value is DELETED else value
        adopted = self.adopted.get((table, key))
        if adopted is not None:
            return adopted
        with self.storage.lock:
            value = copy.deepcopy(self.storage.tables[table].get(key))
        if value is not None and hasattr(value, "version"):
            self.loaded[id(value)] = (value, value.version)
        return value

    def committed(self, table: str, key: Any) -> Any:
        """The committed row, uncopied: only under the storage lock, at commit."""
        return self.storage.tables[table].get(key)

    def rows(self, table: str) -> Iterator[Any]:
        for _, value in self.items(table):
            yield value

    def items(self, table: str) -> Iterator[tuple[Any, Any]]:
        """Each row with its key: committed ones first, then those only staged."""
        with self.storage.lock:
            keys = list(self.storage.tables[table])
        known = set(keys)
        for key in [*keys, *(k for k in self.staged[table] if k not in known)]:
            value = self.get(table, key)
            if value is not None:
                yield key, value

    def _expect(self, table: str, key: Any, value: Any) -> None:
        loaded = self.loaded.get(id(value))
        self.expected[(table, key)] = None if loaded is None else loaded[1]

    def adopt(self, table: str, key: Any, value: Any) -> None:
        """Take ``value`` as read at its version."""
        self.adopted[(table, key)] = value
        self.loaded[id(value)] = (value, value.version)

    def put(self, table: str, key: Any, value: Any) -> None:
        self._expect(table, key, value)
        self.staged[table][key] = value
        if hasattr(value, "events") and not any(value is seen for seen in self.written):
            self.written.append(value)

    def insert(self, table: str, key: Any, value: Any) -> None:
        """Stage a row that must not exist when the unit of work commits."""
        self.inserted.add((table, key))
        self.staged[table][key] = value

    def delete(self, table: str, key: Any, value: Any = None) -> None:
        self._expect(table, key, value)
        self.staged[table][key] = DELETED


class Repository:
    """Base of the memory repositories: one table, read through the staged rows."""

    table: str

    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def rebind(self, tables: Tables) -> None:
        """Stage into ``tables`` from now on (a unit of work starting afresh)."""
        self._t = tables

    def _get(self, key: str, kind: str) -> Any:
        value = self._t.get(self.table, key)
        if value is None:
            raise NotFound(kind, key, field=f"{kind}_id")
        return value

    def _find(self, predicate: Callable[[Any], bool]) -> Any:
        return next((row for row in self._t.rows(self.table) if predicate(row)), None)
