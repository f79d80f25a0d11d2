"""Stock in memory. Every change and every reservation transition is staged and
decided by the domain again at commit, against committed stock, under the storage
lock: the same decisions SQL storage's conditional updates state."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

import attrs

from commercekit.adapters.storage.memory.tables import DELETED, Committed, Repository, Tables
from commercekit.domain.catalog import require_new
from commercekit.domain.errors import (
    ConcurrencyConflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import (
    PurchaseOrder,
    Reservation,
    ReservationStatus,
    StockChange,
    StockItem,
    StockLocation,
    StockMovement,
    StockRule,
    check_closing,
    check_new,
)

__all__ = ["MemoryInventoryRepository", "apply_stock"]


@attrs.frozen
class _Close:
    """Close a reservation, if it still holds stock when the unit of work commits."""

    reservation_id: str
    status: ReservationStatus
    at: datetime


@attrs.frozen
class _Consume:
    """Consume part of a reservation, if it holds at commit what it held when read."""

    reservation_id: str
    held: int
    quantity: int
    at: datetime
    movement_id: str


@attrs.frozen
class _Transition:
    """Extend or allocate a reservation, if it is still active at commit."""

    reservation_id: str
    change: Callable[[Reservation], None]


def _reservation(tables: Tables | None, committed: Committed, key: str) -> Reservation | None:
    """The reservation as this unit of work would see it at commit."""
    staged = None if tables is None else tables.staged["reservations"].get(key)
    if staged is not None and staged is not DELETED:
        return staged  # type: ignore[no-any-return]
    found: Reservation | None = committed.tables["reservations"].get(key)
    return found


def _resolve(entries: Sequence[Any], reservation: Callable[[str], Reservation | None]) -> list[Any]:
    """The staged entries with each close turned into the stock change it gives back
    (closes of reservations that hold nothing any more drop out)."""
    resolved: list[Any] = []
    for entry in entries:
        if isinstance(entry, _Close):
            found = reservation(entry.reservation_id)
            if found is None or not found.holds:
                continue  # another writer closed it first: release once
            resolved.append(found.close(entry.status, at=entry.at))
        elif isinstance(entry, _Consume):
            found = reservation(entry.reservation_id)
            if found is None or not found.holds or found.quantity != entry.held:
                raise ConcurrencyConflict(
                    f"reservation {entry.reservation_id} changed since it was read"
                )
            resolved.append(
                found.consume(entry.quantity, at=entry.at, movement_id=entry.movement_id)
            )
        else:
            resolved.append(entry)
    return resolved


def apply_stock(committed: Committed, tables: Tables) -> list[DomainEvent]:
    """Decide and apply a unit of work's staged stock entries against committed stock,
    all or none: changes in (SKU, location) order as SQL storage takes them. Call
    under the storage lock.

    :returns: the ``StockLow`` events set off.
    :raises InsufficientStock: for a change that does not fit.
    """
    stored = committed.tables
    reservations: dict[str, Reservation] = {}

    def reservation(key: str) -> Reservation | None:
        if key not in reservations:
            found = _reservation(tables, committed, key)
            if found is None:
                return None
            reservations[key] = copy.deepcopy(found)
        return reservations[key]

    entries = _resolve(tables.stock, reservation)
    changes = sorted((e for e in entries if isinstance(e, StockChange)), key=lambda c: c.key)
    items: dict[tuple[str, str], StockItem | None] = {}
    events: list[DomainEvent] = []
    for change in changes:
        if change.key not in items:
            items[change.key] = stored["stock_items"].get(change.key)
        after, set_off = change.apply(items[change.key])
        items[change.key] = after
        events.extend(set_off)
    for entry in entries:
        if isinstance(entry, _Transition):
            found = reservation(entry.reservation_id)
            if found is not None:
                # No longer active: nothing to extend or allocate.
                with contextlib.suppress(InvalidTransition):
                    entry.change(found)
    for key, item in items.items():
        stored["stock_items"][key] = item
    for change in changes:
        if change.movement is not None:
            stored["stock_movements"][change.movement.id] = change.movement
    for reservation_id, held in reservations.items():
        if reservation_id in tables.staged["reservations"]:
            tables.staged["reservations"][reservation_id] = held
        else:
            stored["reservations"][reservation_id] = held
    return events


class MemoryInventoryRepository(Repository):
    def add_location(self, location: StockLocation) -> None:
        taken = self._t.get("stock_locations", location.id) is not None
        require_new("stock location", location.id, taken=taken)
        self._t.insert("stock_locations", location.id, location)

    def locations(self) -> list[StockLocation]:
        return sorted(self._t.rows("stock_locations"), key=lambda place: (place.priority, place.id))

    def set_rule(self, rule: StockRule) -> None:
        self._t.put("stock_rules", rule.sku, rule)

    def rules(self, skus: Collection[str]) -> dict[str, StockRule]:
        return {sku: rule for sku in skus if (rule := self._t.get("stock_rules", sku)) is not None}

    def items(self, skus: Collection[str]) -> list[StockItem]:
        wanted = set(skus)
        found: dict[tuple[str, str], StockItem | None] = {
            item.key: item for item in self._t.rows("stock_items") if item.sku in wanted
        }

        # Read your own writes: what is staged shows, decided as it would be now.
        def reservation(key: str) -> Reservation | None:
            return copy.deepcopy(_reservation(self._t, self._t.storage, key))

        with self._t.storage.lock:
            entries = _resolve(self._t.stock, reservation)
        for entry in entries:
            if isinstance(entry, StockChange) and entry.sku in wanted:
                found[entry.key] = entry.apply(found.get(entry.key))[0]
        return sorted((i for i in found.values() if i is not None), key=lambda item: item.key)

    def apply(self, changes: Sequence[StockChange]) -> None:
        for change in changes:
            if not isinstance(change, StockChange):
                raise InvalidInput("expected StockChange values", field="changes")
            self._t.stock.append(change)

    def movements(self, sku: str, location_id: str) -> list[StockMovement]:
        return [
            m
            for m in self._t.rows("stock_movements")
            if (m.sku, m.location_id) == (sku, location_id)
        ]

    def add_reservations(self, reservations: Sequence[Reservation]) -> None:
        check_new(reservations)
        for reservation in reservations:
            self._t.insert("reservations", reservation.id, copy.deepcopy(reservation))

    def _closing(self) -> set[str]:
        return {e.reservation_id for e in self._t.stock if isinstance(e, _Close)}

    def release(
        self, reservation_ids: Sequence[str], status: ReservationStatus, *, at: datetime
    ) -> int:
        check_closing(status)
        closing = self._closing()
        closed = 0
        for reservation_id in dict.fromkeys(reservation_ids):
            reservation = self._t.get("reservations", reservation_id)
            if reservation is None or not reservation.holds or reservation_id in closing:
                continue
            self._t.stock.append(_Close(reservation_id, status, at))
            closed += 1
        return closed

    def consume(
        self, reservation: Reservation, quantity: int, *, at: datetime, movement_id: str
    ) -> None:
        copy.deepcopy(reservation).consume(quantity, at=at, movement_id=movement_id)
        self._t.stock.append(
            _Consume(reservation.id, reservation.quantity, quantity, at, movement_id)
        )

    def extend(self, reservation_ids: Sequence[str], until: datetime) -> None:
        for reservation_id in reservation_ids:
            self._t.stock.append(_Transition(reservation_id, lambda r: r.extend(until)))

    def allocate(self, reservation_ids: Sequence[str]) -> None:
        for reservation_id in reservation_ids:
            self._t.stock.append(_Transition(reservation_id, Reservation.allocate))

    def allocate_order(self, order_id: str) -> None:
        self.allocate([r.id for r in self.reservations_for_order(order_id)])

    def extend_order(self, order_id: str, until: datetime) -> None:
        self.extend([r.id for r in self.reservations_for_order(order_id)], until)

    def reservations_for_order(self, order_id: str) -> list[Reservation]:
        found = sorted(
            (r for r in self._t.rows("reservations") if r.order_id == order_id),
            key=lambda r: r.id,
        )
        # Read your own writes: transitions staged in this unit of work show.
        by_id = {r.id: r for r in found}
        closing = self._closing()
        for entry in self._t.stock:
            reservation = by_id.get(getattr(entry, "reservation_id", ""))
            if reservation is None:
                continue
            if isinstance(entry, _Close) and reservation.holds:
                reservation.close(entry.status, at=entry.at)  # its stock change is staged
            elif isinstance(entry, _Consume) and reservation.holds:
                reservation.consume(entry.quantity, at=entry.at, movement_id=entry.movement_id)
            elif isinstance(entry, _Transition) and reservation.id not in closing:
                with contextlib.suppress(InvalidTransition):
                    entry.change(reservation)
        return found

    def expired_reservations(self, now: datetime, limit: int = 100) -> list[Reservation]:
        found = [r for r in self._t.rows("reservations") if r.expired(now)]
        return sorted(found, key=lambda r: (r.expires_at, r.id))[:limit]

    def held_by_ended_orders(self, limit: int = 100) -> list[str]:
        ended = {o.id for o in self._t.rows("orders") if o.status.ended}
        found = {
            r.order_id for r in self._t.rows("reservations") if r.holds and r.order_id in ended
        }
        return sorted(found)[:limit]

    def add_purchase_order(self, order: PurchaseOrder) -> None:
        self._t.put("purchase_orders", order.id, order)

    def purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        found: PurchaseOrder | None = self._t.get("purchase_orders", purchase_order_id)
        if found is None:
            raise NotFound("purchase order", purchase_order_id, field="purchase_order_id")
        return found

    def save_purchase_order(self, order: PurchaseOrder) -> None:
        self._t.put("purchase_orders", order.id, order)
