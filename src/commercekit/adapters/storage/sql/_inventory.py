"""The SQL inventory repository, and the stock changes its unit of work applies.

A change of stock is staged as a :class:`StockChange` and applied in the unit of
work's write transaction as one conditional update, which re-checks availability in
the database at that moment::

    UPDATE stock_items SET reserved = reserved + :q, version = version + 1
    WHERE sku = :sku AND location_id = :location AND on_hand - reserved - :q >= :floor

No row updated means the stock is not there (any more): :class:`InsufficientStock`,
and the unit of work writes nothing. The checks read no snapshot taken earlier, so
two checkouts racing for the last unit cannot both have it: on PostgreSQL the second
update waits for the first writer's row lock and then re-evaluates its condition
against the committed row; on SQLite writers take turns (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, final

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage.sql import _mapping as m
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._rows import chunks, insert
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.inventory import (
    InsufficientStock,
    MovementKind,
    PurchaseOrder,
    Reservation,
    ReservationStatus,
    StockItem,
    StockLocation,
    StockMovement,
    StockRule,
)

if TYPE_CHECKING:
    from commercekit.adapters.storage.sql._unit_of_work import SqlUnitOfWork

__all__ = [
    "Configure",
    "Hold",
    "Move",
    "SqlInventoryRepository",
    "StockChange",
    "Unhold",
]

_ACTIVE: Final = ReservationStatus.ACTIVE.value


def _where(sku: str, location_id: str) -> sa.ColumnElement[bool]:
    c = t.stock_items.c
    return sa.and_(c.sku == sku, c.location_id == location_id)


def _available(connection: Connection, sku: str, location_id: str) -> int | None:
    """Available stock of an item as the write transaction sees it (``None``: no item)."""
    c = t.stock_items.c
    found = connection.execute(
        sa.select(c.on_hand - c.reserved).where(_where(sku, location_id))
    ).scalar_one_or_none()
    return None if found is None else int(found)


def _create(connection: Connection, sku: str, location_id: str, **values: Any) -> None:
    """Insert a stock item that did not exist; one created meanwhile by another
    writer is a unique violation, which the unit of work turns into a conflict."""
    row = {
        "sku": sku,
        "location_id": location_id,
        "on_hand": 0,
        "reserved": 0,
        "low_stock_threshold": None,
        "reorder": None,
        "version": 1,
    }
    row.update(values)
    connection.execute(t.stock_items.insert().values(row))


@attrs.frozen
class StockChange:
    """One staged change of one stock item."""

    sku: str
    location_id: str

    @property
    def key(self) -> tuple[str, str]:
        """The order rows are locked in: by SKU, then location."""
        return (self.sku, self.location_id)

    def apply(self, connection: Connection) -> None:
        """Apply the change in the write transaction.

        :raises InsufficientStock: if the stock is not there any more.
        """
        raise NotImplementedError


@final
@attrs.frozen
class Hold(StockChange):
    """Reserve ``quantity`` if available stock stays at or above ``floor``."""

    quantity: int
    floor: int

    def apply(self, connection: Connection) -> None:
        c = t.stock_items.c
        held = connection.execute(
            t.stock_items.update()
            .where(
                _where(self.sku, self.location_id),
                c.on_hand - c.reserved - self.quantity >= self.floor,
            )
            .values(reserved=c.reserved + self.quantity, version=c.version + 1)
        ).rowcount
        if held:
            return
        available = _available(connection, self.sku, self.location_id)
        if available is None and -self.quantity >= self.floor:
            # A backorder of a SKU never stocked here: the item starts owing.
            _create(connection, self.sku, self.location_id, reserved=self.quantity)
            return
        raise InsufficientStock(self.sku, self.quantity, (available or 0) - self.floor)


@final
@attrs.frozen
class Move(StockChange):
    """Append a movement to the ledger and apply it to on-hand stock; a removal only
    if available stock stays at or above ``floor``."""

    movement: StockMovement
    floor: int

    def apply(self, connection: Connection) -> None:
        c = t.stock_items.c
        quantity = self.movement.quantity
        condition = _where(self.sku, self.location_id)
        if quantity < 0:
            condition = sa.and_(
                condition,
                c.on_hand - c.reserved + quantity >= self.floor,
                c.on_hand + quantity >= 0,
            )
        moved = connection.execute(
            t.stock_items.update()
            .where(condition)
            .values(on_hand=c.on_hand + quantity, version=c.version + 1)
        ).rowcount
        if not moved:
            available = _available(connection, self.sku, self.location_id)
            if available is not None or quantity < 0:
                # A removal from an item never stocked has nothing to take.
                raise InsufficientStock(self.sku, -quantity, max(available or 0, 0))
            _create(connection, self.sku, self.location_id, on_hand=quantity)
        connection.execute(t.stock_movements.insert().values(m.movement_row(self.movement)))


@final
@attrs.frozen
class Unhold(StockChange):
    """Give back a closed reservation's hold; a consumed one also leaves the shelf,
    as a sale in the ledger."""

    quantity: int
    sale: StockMovement | None
    """The sale movement, for a consumed reservation."""

    def apply(self, connection: Connection) -> None:
        c = t.stock_items.c
        values: dict[str, Any] = {
            "reserved": c.reserved - self.quantity,
            "version": c.version + 1,
        }
        if self.sale is not None:
            values["on_hand"] = c.on_hand - self.quantity
        condition = _where(self.sku, self.location_id)
        if self.sale is not None:
            # Goods held on backorder cannot leave before they arrive.
            condition = sa.and_(condition, c.on_hand >= self.quantity)
        # Otherwise available stock does not fall, so there is nothing to re-check;
        # the CHECK on reserved refuses a hold given back twice.
        updated = connection.execute(t.stock_items.update().where(condition).values(values))
        if not updated.rowcount:
            available = _available(connection, self.sku, self.location_id) or 0
            raise InsufficientStock(self.sku, self.quantity, available)
        if self.sale is not None:
            connection.execute(t.stock_movements.insert().values(m.movement_row(self.sale)))


@final
@attrs.frozen
class Configure(StockChange):
    """Set an item's low-stock threshold and reorder policy, creating it if needed."""

    settings: Mapping[str, Any]

    def apply(self, connection: Connection) -> None:
        c = t.stock_items.c
        updated = connection.execute(
            t.stock_items.update()
            .where(_where(self.sku, self.location_id))
            .values({**self.settings, "version": c.version + 1})
        ).rowcount
        if not updated:
            _create(connection, self.sku, self.location_id, **self.settings)


def _whole(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("must be a whole number", field=field)
    return value


@final
class SqlInventoryRepository:
    """Stock locations and rules, stock items, the movement ledger, reservations and
    purchase orders.

    Quantities change only through staged :class:`StockChange` s, applied in SKU and
    location order when the unit of work writes; a read in the same unit of work
    writes them first, so it sees them (and may be the call that raises
    :class:`InsufficientStock`).
    """

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    # --- locations and rules -------------------------------------------------------

    def add_location(self, location: StockLocation) -> None:
        """Stage a new stock location. :raises InvalidInput: for a taken id."""
        places = t.stock_locations
        with self._uow._reading() as connection:
            taken = connection.execute(sa.select(places.c.id).where(places.c.id == location.id))
            if taken.first() is not None:
                raise InvalidInput(f"location {location.id!r} already exists", field="id")
        row = m.location_row(location)
        self._uow._queue(lambda c: insert(c, places, [row]))

    def locations(self) -> list[StockLocation]:
        """Every location, in shipping preference (priority, then id)."""
        places = t.stock_locations
        with self._uow._reading() as connection:
            rows = connection.execute(
                sa.select(places).order_by(places.c.priority, places.c.id)
            ).mappings()
            return [m.location_from_row(row) for row in rows]

    def set_rule(self, rule: StockRule) -> None:
        """Stage a variant's stock policy, replacing the one it had."""
        rules = t.stock_rules
        row = m.rule_row(rule)

        def write(connection: Connection) -> None:
            connection.execute(rules.delete().where(rules.c.sku == rule.sku))
            connection.execute(rules.insert().values(row))

        self._uow._queue(write)

    def rules(self, skus: Collection[str]) -> dict[str, StockRule]:
        """The stock policies of these SKUs that have one: one statement."""
        rules = t.stock_rules
        found: dict[str, StockRule] = {}
        with self._uow._reading() as connection:
            for chunk in chunks(skus):
                rows = connection.execute(sa.select(rules).where(rules.c.sku.in_(chunk)))
                found.update((row["sku"], m.rule_from_row(row)) for row in rows.mappings())
        return found

    # --- stock items and the ledger ------------------------------------------------

    def items(self, skus: Collection[str]) -> list[StockItem]:
        """The stock items of these SKUs at every location, by SKU then location: one
        statement, however many SKUs."""
        c = t.stock_items.c
        found: list[StockItem] = []
        with self._uow._reading() as connection:
            for chunk in chunks(skus):
                rows = connection.execute(
                    sa.select(t.stock_items).where(c.sku.in_(chunk)).order_by(c.sku, c.location_id)
                ).mappings()
                found.extend(m.item_from_row(row) for row in rows)
        return sorted(found, key=lambda item: (item.sku, item.location_id))

    def configure_item(self, item: StockItem) -> None:
        """Stage an item's low-stock threshold and reorder policy (never its
        quantities), creating the item with no stock if it does not exist."""
        settings = m.item_settings(item)
        self._uow._change_stock(Configure(item.sku, item.location_id, settings))

    def record(self, movement: StockMovement, *, floor: int = 0) -> None:
        """Stage a movement: appended to the ledger and applied to on-hand stock
        together, a removal only if available stock stays at or above ``floor``.

        :raises InsufficientStock: on commit, if the removal does not fit.
        """
        floor = _whole(floor, "floor")
        self._uow._change_stock(Move(movement.sku, movement.location_id, movement, floor))

    def movements(self, sku: str, location_id: str) -> list[StockMovement]:
        """The ledger of one stock item, in the order it was written."""
        ledger = t.stock_movements
        with self._uow._reading() as connection:
            rows = connection.execute(
                sa.select(ledger)
                .where(ledger.c.sku == sku, ledger.c.location_id == location_id)
                .order_by(ledger.c.seq)
            ).mappings()
            return [m.movement_from_row(row) for row in rows]

    # --- reservations --------------------------------------------------------------

    def reserve(self, reservations: Sequence[Reservation], floors: Mapping[str, int]) -> None:
        """Stage holds for an order: each reservation is stored and its item's
        reserved quantity raised, if available stock stays at or above the SKU's
        floor (0 for a SKU not in ``floors``).

        :raises InvalidInput: for a reservation that is not active or holds no stock.
        :raises InsufficientStock: on commit, for an item that cannot cover its hold.
        """
        holds: list[Hold] = []
        for reservation in reservations:
            if reservation.status is not ReservationStatus.ACTIVE:
                raise InvalidInput("only an active reservation holds stock", field="status")
            if _whole(reservation.quantity, "quantity") < 1:
                raise InvalidInput("a reservation holds at least one unit", field="quantity")
            floor = _whole(floors.get(reservation.sku, 0), "floors")
            holds.append(
                Hold(reservation.sku, reservation.location_id, reservation.quantity, floor)
            )
        if not holds:
            return
        rows = [m.reservation_row(reservation) for reservation in reservations]
        self._uow._queue(lambda c: insert(c, t.reservations, rows))
        for hold in holds:
            self._uow._change_stock(hold)

    def release(self, reservation_ids: Sequence[str], status: ReservationStatus) -> int:
        """Close active reservations as released or consumed, at once: each is closed
        by a conditional update (``... WHERE id = :id AND status = 'active'``), so of
        two processes closing one reservation only one closes it; the other waits
        for it and then finds it closed. Giving back their stock is staged.

        :returns: how many reservations this call closed.
        :raises InvalidInput: for ``ACTIVE`` as the new status.
        """
        if status is ReservationStatus.ACTIVE:
            raise InvalidInput("a reservation is closed as released or consumed", field="status")
        if not reservation_ids:
            return 0
        holds = t.reservations
        closed: list[sa.RowMapping] = []
        with self._uow._writing_now() as connection:
            # Sorted, so that two processes closing the same holds lock them in turn.
            for chunk in chunks(sorted(reservation_ids)):
                closed.extend(
                    connection.execute(
                        holds.update()
                        .where(holds.c.id.in_(chunk), holds.c.status == _ACTIVE)
                        .values(status=status.value)
                        .returning(
                            holds.c.id,
                            holds.c.order_id,
                            holds.c.sku,
                            holds.c.location_id,
                            holds.c.quantity,
                        )
                    )
                    .mappings()
                    .all()
                )
        consumed = status is ReservationStatus.CONSUMED
        # The port gives no time for the sale: it is the time the goods were let go.
        now = datetime.now(UTC)
        for row in closed:
            sku, location_id, quantity = row["sku"], row["location_id"], row["quantity"]
            sale = (
                StockMovement(
                    id=f"{row['id']}:sale",
                    sku=sku,
                    location_id=location_id,
                    kind=MovementKind.SALE,
                    quantity=-quantity,
                    at=now,
                    reference=row["order_id"],
                )
                if consumed
                else None
            )
            self._uow._change_stock(Unhold(sku, location_id, quantity, sale))
        return len(closed)

    def extend(self, reservation_ids: Sequence[str], until: datetime) -> None:
        """Stage a new expiry for those of these reservations still active when the
        unit of work writes."""
        holds = t.reservations
        ids = sorted(set(reservation_ids))

        def write(connection: Connection) -> None:
            for chunk in chunks(ids):
                connection.execute(
                    holds.update()
                    .where(holds.c.id.in_(chunk), holds.c.status == _ACTIVE)
                    .values(expires_at=until)
                )

        if ids:
            self._uow._queue(write)

    def reservations_for_order(self, order_id: str) -> list[Reservation]:
        """Every reservation of an order, whatever its status, by id."""
        holds = t.reservations
        with self._uow._reading() as connection:
            rows = connection.execute(
                sa.select(holds).where(holds.c.order_id == order_id).order_by(holds.c.id)
            ).mappings()
            return [m.reservation_from_row(row) for row in rows]

    def expired_reservations(self, now: datetime, limit: int = 100) -> list[Reservation]:
        """Active reservations whose time ran out (at or before ``now``), the
        earliest expiry first."""
        holds = t.reservations
        with self._uow._reading() as connection:
            rows = connection.execute(
                sa.select(holds)
                .where(holds.c.status == _ACTIVE, holds.c.expires_at <= now)
                .order_by(holds.c.expires_at, holds.c.id)
                .limit(limit)
            ).mappings()
            return [m.reservation_from_row(row) for row in rows]

    # --- purchase orders -----------------------------------------------------------

    def add_purchase_order(self, order: PurchaseOrder) -> None:
        """Stage a new purchase order; a taken id is a conflict on commit."""
        self._uow._stage("purchase_order", order)

    def purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        """A purchase order with its lines. :raises NotFound: for an unknown id."""
        orders, lines = t.purchase_orders, t.purchase_order_lines
        with self._uow._reading() as connection:
            staged = self._uow._staged_one("purchase_order", purchase_order_id, PurchaseOrder)
            if staged is not None:
                return staged
            row = (
                connection.execute(sa.select(orders).where(orders.c.id == purchase_order_id))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound("purchase order", purchase_order_id, field="purchase_order_id")
            found = connection.execute(
                sa.select(lines)
                .where(lines.c.purchase_order_id == purchase_order_id)
                .order_by(lines.c.position)
            ).mappings()
            return self._uow._known("purchase_order", m.purchase_order_from_rows(row, found))

    def save_purchase_order(self, order: PurchaseOrder) -> None:
        """Stage a changed purchase order, written only if the stored one still has
        the version this unit of work read."""
        self._uow._stage("purchase_order", order)
