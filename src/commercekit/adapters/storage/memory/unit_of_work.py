"""The memory storage and its unit of work.

It keeps the promises the SQL storage keeps (atomic commit, optimistic versions,
unique tokens and keys, read-your-writes inside a unit of work, stock and coupon
limits decided again at commit) so that the same conformance suite passes on both.
Aggregates are copied in and out, so no caller can change stored state without
committing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar, final

from commercekit.adapters.storage._context import RollsBackOnExit
from commercekit.adapters.storage.memory.catalog import MemoryCatalogRepository, check_coupon_uses
from commercekit.adapters.storage.memory.inventory import MemoryInventoryRepository, apply_stock
from commercekit.adapters.storage.memory.reports import MemoryReports
from commercekit.adapters.storage.memory.repositories import (
    MemoryCartRepository,
    MemoryCheckoutRepository,
    MemoryCustomerRepository,
    MemoryNoticeRepository,
    MemoryOrderRepository,
    MemoryPaymentRepository,
    MemoryRecordRepository,
    MemoryShipmentRepository,
)
from commercekit.adapters.storage.memory.tables import (
    DELETED,
    STAMPED,
    Committed,
    Repository,
    Tables,
)
from commercekit.domain.errors import (
    ConcurrencyConflict,
)
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Indexed
from commercekit.domain.orders import OrderStatus

__all__ = ["MemoryStorage", "MemoryUnitOfWork"]

R = TypeVar("R", bound=Indexed)

#: The keys each table holds unique besides its own key, as SQL storage's unique
#: constraints do.
_UNIQUE: Final[dict[str, Callable[[Any], list[tuple[str, Any]]]]] = {
    "carts": lambda c: [("token", c.token)],
    "orders": lambda o: [
        ("token", o.token),
        ("idempotency_key", o.idempotency_key),
        ("number", o.number),
        # One cart makes one order: only a cancelled one frees it.
        *([] if o.status is OrderStatus.CANCELLED else [("live_cart", o.cart_id)]),
    ],
    "payments": lambda p: [("reference", (p.gateway, p.reference))] if p.reference else [],
    "products": lambda p: [("sku", v.sku) for v in p.variants],
}
_AGGREGATES: Final = frozenset(
    {
        "carts",
        "checkouts",
        "customers",
        "orders",
        "payments",
        "purchase_orders",
        "shipments",
        "notices",
        "records",
    }
)


class MemoryStorage(Committed):
    """Storage in this process's memory, for tests and quick scripts."""

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A new unit of work."""
        return MemoryUnitOfWork(self)

    def reports(self) -> MemoryReports:
        """The sums behind the store's reports, over what is committed."""
        return MemoryReports(self)


@final
class MemoryUnitOfWork(RollsBackOnExit):
    """Stages changes; :meth:`commit` checks versions, unique keys, coupon limits
    and stock, then applies them all under the storage lock, or none."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._tables = Tables(storage)
        self.carts = MemoryCartRepository(self._tables)
        self.checkouts = MemoryCheckoutRepository(self._tables)
        self.customers = MemoryCustomerRepository(self._tables)
        self.orders = MemoryOrderRepository(self._tables)
        self.payments = MemoryPaymentRepository(self._tables)
        self.catalog = MemoryCatalogRepository(self._tables)
        self.inventory = MemoryInventoryRepository(self._tables)
        self.shipments = MemoryShipmentRepository(self._tables)
        self.notices = MemoryNoticeRepository(self._tables)
        self._records: dict[type[Any], MemoryRecordRepository[Any]] = {}

    def _check(self) -> None:
        committed = self._storage.tables
        tables = self._tables
        for table, key in tables.inserted:
            if key in committed[table]:
                raise ConcurrencyConflict(f"{table} {key!r} was added meanwhile")
        for table, rows in tables.staged.items():
            for key in rows:
                loaded = tables.expected.get((table, key))
                current = committed[table].get(key)
                if table in _AGGREGATES:
                    # A checkout saved without being read replaces the stored one.
                    if loaded is None and current is not None and table != "checkouts":
                        raise ConcurrencyConflict(f"{table[:-1]} {key!r} already exists")
                    if loaded is not None and (current is None or current.version != loaded):
                        raise ConcurrencyConflict(f"{table[:-1]} {key!r} was changed meanwhile")
            self._check_unique(table, rows)

    def _check_unique(self, table: str, rows: dict[Any, Any]) -> None:
        """No two rows of what the table will hold once this commits (committed rows
        under the staged ones) share a unique key, as a database's index sees it."""
        unique = _UNIQUE.get(table)
        if unique is None or not rows:
            return
        owners: dict[Any, set[Any]] = {}
        for key, value in {**self._storage.tables[table], **rows}.items():
            if value is not DELETED:
                for each in unique(value):
                    owners.setdefault(each, set()).add(key)
        for key, value in rows.items():
            if value is DELETED:
                continue
            if any(owners[each] - {key} for each in unique(value)):
                raise ConcurrencyConflict(f"a {table[:-1]} key is already taken")

    def commit(self) -> Sequence[DomainEvent]:
        """Apply every staged change at once, or raise and apply none."""
        tables = self._tables
        with self._storage.lock:
            self._check()
            check_coupon_uses(self._storage, tables.staged["coupon_uses"], DELETED)
            # Decided in full before anything is written: a refusal writes nothing.
            stock_events = apply_stock(self._storage, tables)
            events = [event for aggregate in tables.written for event in aggregate.events]
            events.extend(stock_events)
            events.extend(tables.loose_events)
            for table, rows in tables.staged.items():
                target = self._storage.tables[table]
                for key, value in rows.items():
                    if value is DELETED:
                        target.pop(key, None)
                    else:
                        stored = copy.deepcopy(value)
                        if hasattr(stored, "events"):
                            stored.events = []
                        target[key] = stored
            if any(tables.staged[table] for table in STAMPED):
                self._storage.stamp += 1
            start = len(self._storage.outbox)
            self._storage.outbox.extend(
                (start + n + 1, event, False) for n, event in enumerate(events)
            )
        for aggregate in tables.written:
            aggregate.events.clear()
        self._start_afresh()
        return events

    def records(self, kind: type[R]) -> MemoryRecordRepository[R]:
        """The records of an ``Indexed`` class."""
        repository = self._records.get(kind)
        if repository is None:
            repository = self._records[kind] = MemoryRecordRepository(self._tables, kind)
        return repository

    def record_events(self, events: Sequence[DomainEvent]) -> None:
        """Events to commit with this unit of work, after every other."""
        self._tables.loose_events.extend(events)

    def rollback(self) -> None:
        """Forget every staged change."""
        self._start_afresh()

    def _start_afresh(self) -> None:
        self._tables = Tables(self._storage)
        repositories: tuple[Repository, ...] = (
            self.carts,
            self.checkouts,
            self.customers,
            self.orders,
            self.payments,
            self.catalog,
            self.inventory,
            self.shipments,
            self.notices,
            *self._records.values(),
        )
        for repository in repositories:
            repository.rebind(self._tables)
