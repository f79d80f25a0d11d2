"""Stock in SQL: the inventory repository, purchase orders, and stock changes applied
as conditional updates that state the domain's guards.

A :class:`~commercekit.domain.inventory.StockChange` is applied in the write
transaction as one statement, whose ``WHERE`` is :meth:`StockChange.refusal` read
against the row as the database holds it at that moment::

    UPDATE stock_items SET on_hand = on_hand + :dh, reserved = reserved + :dr, ...
    WHERE sku = :sku AND location_id = :location
      AND (on_hand + :dh) - (reserved + :dr) >= :floor   -- available stays above the floor
      AND on_hand + :dh >= 0                             -- when goods leave the shelf
      AND reserved + :dr >= 0                            -- when a hold is given back
    RETURNING ...

The row it returns, less the change, is the item as it was: the domain applies the
change to that (:meth:`StockChange.apply`) to say which ``StockLow`` it set off. When
no row is updated, the row is read under a lock and the domain decides: it refuses
(the same error as on every other storage), or the item did not exist yet and is
created as the domain says. Two checkouts racing for the last unit cannot both have
it: on PostgreSQL the second update waits for the first writer's row lock and then
re-evaluates its condition against the committed row; on SQLite writers take turns
(``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Final, final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._driver import Prepared, keys, spread
from commercekit.adapters.storage.sql._rows import chunks, insert
from commercekit.adapters.storage.sql.catalog import bump_stamp
from commercekit.adapters.storage.sql.mapping import AggregateMapping, Part, Row
from commercekit.adapters.storage.sql.session import Claim, Session
from commercekit.domain.catalog import require_new
from commercekit.domain.errors import ConcurrencyConflict, InvalidInput, NotFound
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import (
    HOLDING,
    MovementKind,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Reservation,
    ReservationStatus,
    StockChange,
    StockItem,
    StockLocation,
    StockMovement,
    StockPolicy,
    StockRule,
    check_closing,
    check_new,
)
from commercekit.domain.orders import OrderStatus

__all__ = ["PURCHASE_ORDERS", "STOCK_CLAIMS", "SqlInventoryRepository", "apply_stock_change"]

#: Stock claims come after coupon claims, in (SKU, location) order.
STOCK_CLAIMS: Final = 1
_HOLDING: Final = sorted(status.value for status in HOLDING)
_ACTIVE: Final = ReservationStatus.ACTIVE.value
#: Active holds as the partial index on expiry names them: written into the statement,
#: not bound, so that the planner knows the index applies.
_IS_ACTIVE: Final = t.reservations.c.status == sa.literal_column(f"'{_ACTIVE}'")
#: Statuses are always written into statements on holds, never bound: a bound value
#: where a partial index names one makes SQLite plan the statement again at every run.
_IS_HOLDING: Final = t.reservations.c.status.in_(
    [sa.literal_column(f"'{status}'") for status in _HOLDING]
)
_ENDED: Final = sorted(status.value for status in OrderStatus if status.ended)


# --- rows ------------------------------------------------------------------------------


def _item(row: Row) -> StockItem:
    reorder = row["reorder"]
    return StockItem(
        sku=row["sku"],
        location_id=row["location_id"],
        on_hand=row["on_hand"],
        reserved=row["reserved"],
        low_stock_threshold=row["low_stock_threshold"],
        reorder=None if reorder is None else codec.decode_reorder_policy(reorder),
        version=row["version"],
    )


def _item_row(item: StockItem) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "location_id": item.location_id,
        "on_hand": item.on_hand,
        "reserved": item.reserved,
        "low_stock_threshold": item.low_stock_threshold,
        "reorder": None if item.reorder is None else codec.encode_reorder_policy(item.reorder),
        "version": item.version,
    }


def _movement_row(movement: StockMovement) -> dict[str, Any]:
    return {
        "id": movement.id,
        "sku": movement.sku,
        "location_id": movement.location_id,
        "kind": movement.kind.value,
        "quantity": movement.quantity,
        "at": movement.at,
        "reason": movement.reason,
        "reference": movement.reference,
    }


def _movement(row: Row) -> StockMovement:
    return StockMovement(
        id=row["id"],
        sku=row["sku"],
        location_id=row["location_id"],
        kind=MovementKind(row["kind"]),
        quantity=row["quantity"],
        at=row["at"],
        reason=row["reason"],
        reference=row["reference"],
    )


def _reservation_row(reservation: Reservation) -> dict[str, Any]:
    return {
        "id": reservation.id,
        "order_id": reservation.order_id,
        "sku": reservation.sku,
        "location_id": reservation.location_id,
        "quantity": reservation.quantity,
        "expires_at": reservation.expires_at,
        "status": reservation.status.value,
    }


def _reservation(row: Row, status: ReservationStatus | None = None) -> Reservation:
    return Reservation(
        id=row["id"],
        order_id=row["order_id"],
        sku=row["sku"],
        location_id=row["location_id"],
        quantity=row["quantity"],
        expires_at=row["expires_at"],
        status=status or ReservationStatus(row["status"]),
    )


# --- stock changes ---------------------------------------------------------------------


def _where(sku: str, location_id: str) -> sa.ColumnElement[bool]:
    c = t.stock_items.c
    return sa.and_(c.sku == sku, c.location_id == location_id)


def apply_stock_change(connection: Connection, change: StockChange) -> list[DomainEvent]:
    """Apply one decided change in the write transaction, with its ledger entry.

    :returns: the ``StockLow`` events it set off.
    :raises InsufficientStock: (or what else the domain refuses it with) if it no
        longer fits the stock as the database holds it now.
    """
    c = t.stock_items.c
    on_hand = c.on_hand + change.on_hand if change.on_hand else c.on_hand
    reserved = c.reserved + change.reserved if change.reserved else c.reserved
    guards = [_where(change.sku, change.location_id)]
    # StockChange.refusal's three guards, as the database checks them.
    if change.floor is not None:
        guards.append(on_hand - reserved >= change.floor)
    if change.on_hand < 0:
        guards.append(on_hand >= 0)
    if change.reserved < 0:
        guards.append(reserved >= 0)
    values: dict[str, Any] = {"version": c.version + 1}
    if change.on_hand:
        values["on_hand"] = on_hand
    if change.reserved:
        values["reserved"] = reserved
    if change.settings is not None:
        reorder = change.settings.reorder
        values["low_stock_threshold"] = change.settings.low_stock_threshold
        values["reorder"] = None if reorder is None else codec.encode_reorder_policy(reorder)
    updated = (
        connection.execute(
            t.stock_items.update().where(*guards).values(values).returning(t.stock_items)
        )
        .mappings()
        .first()
    )
    if updated is not None:
        events = _events_of(change, updated)
    else:
        events = _decide_locked(connection, change)
    if change.movement is not None:
        connection.execute(t.stock_movements.insert().values(_movement_row(change.movement)))
    return events


def _events_of(change: StockChange, updated: Row) -> list[DomainEvent]:
    """What the domain says ``change`` set off, given the row it wrote."""
    written = _item(updated)
    before = StockItem(
        sku=written.sku,
        location_id=written.location_id,
        on_hand=written.on_hand - change.on_hand,
        reserved=written.reserved - change.reserved,
        low_stock_threshold=written.low_stock_threshold,
        reorder=written.reorder,
        version=written.version - 1,
    )
    return change.apply(before)[1]


def _is_plain_hold(change: StockChange) -> bool:
    return (
        change.on_hand == 0
        and change.reserved > 0
        and change.floor is not None
        and change.movement is None
        and change.settings is None
    )


# Reads built once per number of SKUs (an order's few), executed on the driver.
_ON_THE_DRIVER: Final = 100
"""Up to this many SKUs; more are read with one expanding IN list."""


def _for_skus(table: sa.Table, count: int) -> sa.Select[Any]:
    skus = sa.bindparam("skus", expanding=True) if count > _ON_THE_DRIVER else keys(count)
    query = sa.select(table).where(table.c.sku.in_(skus))
    if table is t.stock_items:
        query = query.order_by(table.c.sku, table.c.location_id)
    return query


@functools.lru_cache(maxsize=2 * _ON_THE_DRIVER)
def _prepared_for_skus(table: sa.Table, count: int) -> Prepared:
    return Prepared(_for_skus(table, count))


def _rows_for_skus(connection: Connection, table: sa.Table, skus: Sequence[str]) -> list[Row]:
    """The rows of ``table`` for these SKUs."""
    if len(skus) > _ON_THE_DRIVER:
        return list(connection.execute(_for_skus(table, len(skus)), {"skus": skus}).mappings())
    return list(_prepared_for_skus(table, len(skus)).rows(connection, spread(skus)))


@functools.lru_cache(maxsize=8)
def _active_of_order(keys: tuple[str, ...]) -> Prepared:
    """Sets these columns on an order's active holds."""
    holds = t.reservations
    where = holds.update().where(holds.c.order_id == sa.bindparam("_order_id"), _IS_ACTIVE)
    return Prepared(where, keys)


@functools.lru_cache(maxsize=64)
def _holds_statement(count: int) -> Prepared:
    """The UPDATE of :func:`apply_holds` for ``count`` items, built once: item ``n``
    is bound as ``s<n>``, ``l<n>`` (its key), ``q<n>`` (the quantity) and ``f<n>``
    (its floor)."""
    c = t.stock_items.c

    def per_item(name: str) -> sa.Case[Any]:
        return sa.case(
            *[
                (
                    sa.and_(c.sku == sa.bindparam(f"s{n}"), c.location_id == sa.bindparam(f"l{n}")),
                    sa.bindparam(f"{name}{n}", type_=sa.BigInteger()),
                )
                for n in range(count)
            ]
        )

    added = per_item("q")
    return Prepared(
        t.stock_items.update()
        .where(
            # Two IN lists rather than one of pairs, which SQLite cannot search by: a
            # pair not asked for matches no CASE branch, so its guard is NULL and it
            # is left alone.
            c.sku.in_([sa.bindparam(f"s{n}") for n in range(count)]),
            c.location_id.in_([sa.bindparam(f"l{n}") for n in range(count)]),
            c.on_hand - (c.reserved + added) >= per_item("f"),
        )
        .values(reserved=c.reserved + added, version=c.version + 1)
        .returning(t.stock_items)
    )


def apply_holds(connection: Connection, changes: Sequence[StockChange]) -> list[DomainEvent]:
    """Apply plain holds on distinct items (see :meth:`StockChange.hold`) in one
    conditional UPDATE, each row guarded by its own floor as
    :func:`apply_stock_change` guards one; those it refuses (or whose item does
    not exist) are decided one by one under a lock, as there.

    :raises InsufficientStock: as :func:`apply_stock_change`.
    """
    keys = [change.key for change in changes]
    if len(set(keys)) < len(keys):
        return [event for change in changes for event in apply_stock_change(connection, change)]
    params: dict[str, Any] = {}
    for n, change in enumerate(changes):
        params.update({f"s{n}": change.sku, f"l{n}": change.location_id, f"q{n}": change.reserved})
        params[f"f{n}"] = change.floor
    rows = _holds_statement(len(changes)).rows(connection, params)
    written = {(row["sku"], row["location_id"]): row for row in rows}
    events: list[DomainEvent] = []
    for change in changes:
        row = written.get(change.key)
        events.extend(
            _decide_locked(connection, change) if row is None else _events_of(change, row)
        )
    return events


def _decide_locked(connection: Connection, change: StockChange) -> list[DomainEvent]:
    """The guards refused, or there is no item: read it under a lock and let the
    domain decide."""
    row = (
        connection.execute(
            sa.select(t.stock_items).where(_where(change.sku, change.location_id)).with_for_update()
        )
        .mappings()
        .first()
    )
    current = None if row is None else _item(row)
    after, events = change.apply(current)  # raises the domain's refusal
    if current is None:
        # One created meanwhile by another writer is a unique violation, which the
        # session turns into a conflict to retry.
        connection.execute(t.stock_items.insert().values(_item_row(after)))
    else:
        # The row moved between the update and the lock (another writer committed):
        # it fits now, and the lock keeps it so until this transaction ends.
        row_values = _item_row(after)
        connection.execute(
            t.stock_items.update().where(_where(change.sku, change.location_id)).values(row_values)
        )
    return events


def _consumed(after: Reservation) -> dict[str, Any]:
    """What consuming part of a hold writes: what it holds after, and its status only
    when that is nothing (closed as consumed)."""
    if after.status is ReservationStatus.CONSUMED:
        return {"quantity": after.quantity, "status": after.status.value}
    return {"quantity": after.quantity}


def _claim(change: StockChange) -> Claim:
    return Claim(
        order=(STOCK_CLAIMS, change.key),
        apply=lambda connection: apply_stock_change(connection, change),
        payload=change,
        apply_many=apply_holds if _is_plain_hold(change) else None,
    )


# --- purchase orders -------------------------------------------------------------------


def _purchase_order_row(order: PurchaseOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "supplier": order.supplier,
        "location_id": order.location_id,
        "status": order.status.value,
        "expected_at": order.expected_at,
        "version": order.version,
    }


def _purchase_order_lines(order: PurchaseOrder, start: int) -> list[dict[str, Any]]:
    return [
        {
            "purchase_order_id": order.id,
            "position": position,
            "sku": line.sku,
            "quantity": line.quantity,
            "received": line.received,
        }
        for position, line in enumerate(order.lines)
    ]


def _purchase_order(row: Row, parts: Sequence[Sequence[Row]]) -> PurchaseOrder:
    (lines,) = parts
    return PurchaseOrder(
        id=row["id"],
        supplier=row["supplier"],
        location_id=row["location_id"],
        lines=[
            PurchaseOrderLine(sku=line["sku"], quantity=line["quantity"], received=line["received"])
            for line in lines
        ],
        status=PurchaseOrderStatus(row["status"]),
        expected_at=row["expected_at"],
        version=row["version"],
    )


PURCHASE_ORDERS: Final = AggregateMapping(
    kind="purchase_order",
    cls=PurchaseOrder,
    root=t.purchase_orders,
    row=_purchase_order_row,
    parts=(
        Part(table=t.purchase_order_lines, parent="purchase_order_id", rows=_purchase_order_lines),
    ),
    build=_purchase_order,
)


# --- the repository --------------------------------------------------------------------


@final
class SqlInventoryRepository:
    """Stock locations and rules, stock items, the movement ledger, reservations and
    purchase orders.

    Quantities change only through staged stock changes, applied in SKU and location
    order when the unit of work writes; a read in the same unit of work writes them
    first, so it sees them (and may be the call that raises the refusal).
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    # --- locations and rules -------------------------------------------------------

    def add_location(self, location: StockLocation) -> None:
        """Stage a new stock location. :raises AlreadyExists: for a taken id."""
        places = t.stock_locations
        with self._session.reading() as connection:
            found = connection.execute(sa.select(places.c.id).where(places.c.id == location.id))
            taken = found.first() is not None
        require_new("stock location", location.id, taken=taken)
        row = {
            "id": location.id,
            "name": location.name,
            "kind": location.kind,
            "priority": location.priority,
            "ships_to": sorted(location.ships_to),
        }
        self._session.queue(lambda connection: insert(connection, places, [row]))
        bump_stamp(self._session)

    def locations(self) -> list[StockLocation]:
        """Every location, in shipping preference (priority, then id)."""
        places = t.stock_locations
        with self._session.reading() as connection:
            rows = connection.execute(
                sa.select(places).order_by(places.c.priority, places.c.id)
            ).mappings()
            return [
                StockLocation(
                    id=row["id"],
                    name=row["name"],
                    kind=row["kind"],
                    priority=row["priority"],
                    ships_to=frozenset(str(country) for country in row["ships_to"]),
                )
                for row in rows
            ]

    def set_rule(self, rule: StockRule) -> None:
        """Stage a variant's stock policy, replacing the one it had."""
        rules = t.stock_rules
        row = {
            "sku": rule.sku,
            "policy": rule.policy.value,
            "backorder_limit": rule.backorder_limit,
            "preorder_until": rule.preorder_until,
        }

        def write(connection: Connection) -> None:
            connection.execute(rules.delete().where(rules.c.sku == rule.sku))
            connection.execute(rules.insert().values(row))

        self._session.queue(write)

    def rules(self, skus: Collection[str]) -> dict[str, StockRule]:
        """The stock policies of these SKUs that have one: one statement."""
        found: dict[str, StockRule] = {}
        with self._session.reading() as connection:
            for chunk in chunks(skus):
                for row in _rows_for_skus(connection, t.stock_rules, chunk):
                    found[row["sku"]] = StockRule(
                        sku=row["sku"],
                        policy=StockPolicy(row["policy"]),
                        backorder_limit=row["backorder_limit"],
                        preorder_until=row["preorder_until"],
                    )
        return found

    # --- stock items and the ledger ------------------------------------------------

    def items(self, skus: Collection[str]) -> list[StockItem]:
        """The stock items of these SKUs at every location, by SKU then location: one
        statement, however many SKUs."""
        found: list[StockItem] = []
        with self._session.reading() as connection:
            for chunk in chunks(skus):
                found.extend(_item(row) for row in _rows_for_skus(connection, t.stock_items, chunk))
        return sorted(found, key=lambda item: item.key)

    def apply(self, changes: Sequence[StockChange]) -> None:
        """Stage decided stock changes, each applied as a conditional update when the
        unit of work writes.

        :raises InsufficientStock: on commit, for a change that does not fit.
        """
        for change in changes:
            if not isinstance(change, StockChange):
                raise InvalidInput("expected StockChange values", field="changes")
            self._session.claim(_claim(change))

    def movements(self, sku: str, location_id: str) -> list[StockMovement]:
        """The ledger of one stock item, in the order it was written."""
        ledger = t.stock_movements
        with self._session.reading() as connection:
            rows = connection.execute(
                sa.select(ledger)
                .where(ledger.c.sku == sku, ledger.c.location_id == location_id)
                .order_by(ledger.c.seq)
            ).mappings()
            return [_movement(row) for row in rows]

    # --- reservations --------------------------------------------------------------

    def add_reservations(self, reservations: Sequence[Reservation]) -> None:
        """Stage new reservations.

        :raises InvalidInput: for one that is not active.
        """
        check_new(reservations)
        rows = [_reservation_row(reservation) for reservation in reservations]
        if rows:
            self._session.queue(lambda connection: insert(connection, t.reservations, rows))

    def release(
        self, reservation_ids: Sequence[str], status: ReservationStatus, *, at: datetime
    ) -> int:
        """Close reservations that still hold stock, at once: each by a conditional
        update (``... WHERE id = :id AND status IN ('active', 'allocated')``, the guard
        of :meth:`Reservation.close`), so of two processes closing one reservation
        only one closes it; the other waits for it and then finds it closed. Giving
        back their stock is staged.

        :returns: how many reservations this call closed.
        :raises InvalidInput: for a status that does not close a reservation.
        """
        check_closing(status)
        if not reservation_ids:
            return 0
        holds = t.reservations
        closed: list[Row] = []
        with self._session.writing_now() as connection:
            # Sorted, so that two processes closing the same holds lock them in turn.
            for chunk in chunks(sorted(reservation_ids)):
                closed.extend(
                    connection.execute(
                        holds.update()
                        .where(holds.c.id.in_(chunk), _IS_HOLDING)
                        .values(status=status.value)
                        .returning(holds)
                    )
                    .mappings()
                    .all()
                )
        for row in closed:
            # It held stock until this update: the domain says what closing it gives back.
            reservation = _reservation(row, ReservationStatus.ACTIVE)
            self._session.claim(_claim(reservation.close(status, at=at)))
        return len(closed)

    def consume(
        self, reservation: Reservation, quantity: int, *, at: datetime, movement_id: str
    ) -> None:
        """Consume part or all of a hold by a conditional update on what it held when
        read (``... WHERE id = :id AND quantity = :held AND status IN (...)``), so that
        two shipments cannot take the same units; giving them back as a sale is
        staged, as the domain decides it."""
        after = copy.deepcopy(reservation)
        change = after.consume(quantity, at=at, movement_id=movement_id)
        holds = t.reservations
        with self._session.writing_now() as connection:
            updated = connection.execute(
                holds.update()
                .where(
                    holds.c.id == reservation.id,
                    holds.c.quantity == reservation.quantity,
                    _IS_HOLDING,
                )
                # Its status as stored (active or allocated meanwhile), unless this
                # takes its last unit: the domain's consume on the current hold.
                .values(**_consumed(after))
            ).rowcount
        if updated != 1:
            raise ConcurrencyConflict(f"reservation {reservation.id} changed since it was read")
        self._session.claim(_claim(change))

    def extend(self, reservation_ids: Sequence[str], until: datetime) -> None:
        """Stage a new expiry for those of these reservations still active
        (:meth:`Reservation.extend`'s guard) when the unit of work writes."""
        self._update_active(reservation_ids, {"expires_at": until})

    def allocate(self, reservation_ids: Sequence[str]) -> None:
        """Stage holding those of these reservations still active until they ship
        (:meth:`Reservation.allocate`'s guard)."""
        self._update_active(reservation_ids, {"status": ReservationStatus.ALLOCATED.value})

    def allocate_order(self, order_id: str) -> None:
        """:meth:`allocate` an order's reservations: one statement on the order's
        index, no read."""
        self._update_order(order_id, {"status": ReservationStatus.ALLOCATED.value})

    def extend_order(self, order_id: str, until: datetime) -> None:
        """:meth:`extend` an order's reservations: one statement, no read."""
        self._update_order(order_id, {"expires_at": until})

    def _update_order(self, order_id: str, values: dict[str, Any]) -> None:
        params = {**values, "_order_id": order_id}
        prepared = _active_of_order(tuple(values))

        def write(connection: Connection) -> None:
            prepared.run(connection, params)

        self._session.queue(write)

    def _update_active(self, reservation_ids: Sequence[str], values: dict[str, Any]) -> None:
        holds = t.reservations
        ids = sorted(set(reservation_ids))

        def write(connection: Connection) -> None:
            for chunk in chunks(ids):
                connection.execute(
                    holds.update().where(holds.c.id.in_(chunk), _IS_ACTIVE).values(values)
                )

        if ids:
            self._session.queue(write)

    def reservations_for_order(self, order_id: str) -> list[Reservation]:
        """Every reservation of an order, whatever its status, by id."""
        holds = t.reservations
        with self._session.reading() as connection:
            rows = connection.execute(
                sa.select(holds).where(holds.c.order_id == order_id).order_by(holds.c.id)
            ).mappings()
            return [_reservation(row) for row in rows]

    def expired_reservations(self, now: datetime, limit: int = 100) -> list[Reservation]:
        """Active reservations whose time ran out (at or before ``now``), the
        earliest expiry first."""
        holds = t.reservations
        with self._session.reading() as connection:
            rows = connection.execute(
                sa.select(holds)
                .where(_IS_ACTIVE, holds.c.expires_at <= now)
                .order_by(holds.c.expires_at, holds.c.id)
                .limit(limit)
            ).mappings()
            return [_reservation(row) for row in rows]

    def held_by_ended_orders(self, limit: int = 100) -> list[str]:
        """Ids of cancelled or completed orders that still hold stock."""
        holds, orders = t.reservations, t.orders
        query = (
            sa.select(holds.c.order_id)
            .join(orders, orders.c.id == holds.c.order_id)
            .where(_IS_HOLDING, orders.c.status.in_(_ENDED))
            .distinct()
            .order_by(holds.c.order_id)
            .limit(limit)
        )
        with self._session.reading() as connection:
            return [str(order_id) for order_id in connection.execute(query).scalars()]

    # --- purchase orders -----------------------------------------------------------

    def add_purchase_order(self, order: PurchaseOrder) -> None:
        """Stage a new purchase order; a taken id is a conflict on commit."""
        self._session.stage(PURCHASE_ORDERS, order)

    def purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        """A purchase order with its lines. :raises NotFound: for an unknown id."""
        found = self._session.get(PURCHASE_ORDERS, purchase_order_id)
        if found is None:
            raise NotFound("purchase order", purchase_order_id, field="purchase_order_id")
        return found

    def save_purchase_order(self, order: PurchaseOrder) -> None:
        """Stage a changed purchase order, written only if the stored one still has
        the version this unit of work read."""
        self._session.stage(PURCHASE_ORDERS, order)
