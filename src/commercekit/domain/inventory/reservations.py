"""Reservations: stock an order holds from checkout until it ships, is cancelled, or
(while it awaits payment) runs out of time; and the plan of what an order holds."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

import attrs

from commercekit.domain.errors import InsufficientStock, InvalidInput, InvalidTransition
from commercekit.domain.inventory.allocation import (
    AllocationStrategy,
    PriorityOrder,
    allocate_stock,
)
from commercekit.domain.inventory.locations import StockLocation, StockRule
from commercekit.domain.inventory.stock import MovementKind, StockChange, StockItem, StockMovement

__all__ = [
    "HOLDING",
    "HoldPlan",
    "Reservation",
    "ReservationStatus",
    "StockLine",
    "check_closing",
    "check_new",
    "plan_holds",
    "stock_wanted",
    "unservable",
]


class ReservationStatus(enum.Enum):
    """Where a hold stands."""

    ACTIVE = "active"
    """Held for an order awaiting payment, until it expires."""
    ALLOCATED = "allocated"
    """The order is paid: held until it ships or is cancelled, never expiring."""
    RELEASED = "released"
    CONSUMED = "consumed"


#: The statuses in which a reservation holds stock.
HOLDING: Final = frozenset({ReservationStatus.ACTIVE, ReservationStatus.ALLOCATED})


@attrs.define(kw_only=True, eq=False)
class Reservation:
    """Stock held for an order at one location."""

    id: str
    order_id: str
    sku: str
    location_id: str
    quantity: int
    expires_at: datetime
    """When an active hold runs out; an allocated one keeps it only as a record."""
    status: ReservationStatus = ReservationStatus.ACTIVE

    @property
    def holds(self) -> bool:
        """Whether it still holds stock (active or allocated)."""
        return self.status in HOLDING

    def expired(self, now: datetime) -> bool:
        """Whether an active hold has run out of time."""
        return self.status is ReservationStatus.ACTIVE and now >= self.expires_at

    def take(self, *, floor: int, at: datetime) -> StockChange:
        """The stock change that takes this hold from its item."""
        if self.status is not ReservationStatus.ACTIVE:
            raise InvalidInput("only an active reservation holds stock", field="status")
        return StockChange.hold(self.sku, self.location_id, self.quantity, floor=floor, at=at)

    def close(self, status: ReservationStatus, *, at: datetime) -> StockChange:
        """Release the hold (stock returns to available) or consume it (the goods left
        the shelf, as a sale in the ledger at ``at``).

        :returns: the stock change that gives the hold back.
        :raises InvalidTransition: if it holds nothing any more, or ``status`` is not
            released or consumed.
        """
        if not self.holds or status in HOLDING:
            raise InvalidTransition("reservation", self.status.value, status.value)
        self.status = status
        sale = None
        if status is ReservationStatus.CONSUMED:
            sale = StockMovement(
                id=f"{self.id}:sale",
                sku=self.sku,
                location_id=self.location_id,
                kind=MovementKind.SALE,
                quantity=-self.quantity,
                at=at,
                reference=self.order_id,
            )
        return StockChange.unhold(self.sku, self.location_id, self.quantity, at=at, sale=sale)

    def consume(self, quantity: int, *, at: datetime, movement_id: str) -> StockChange:
        """Part or all of the hold left the shelf (one shipment's units): a sale of
        ``quantity`` in the ledger as ``movement_id``; what is left stays held, and a
        hold consumed to its last unit is closed as consumed.

        :returns: the stock change that gives those units back as a sale.
        :raises InvalidTransition: if it holds nothing any more.
        :raises InvalidInput: naming ``quantity``, for less than 1 or more than it holds.
        """
        if not self.holds:
            raise InvalidTransition("reservation", self.status.value, "consume")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise InvalidInput("must be a whole number", field="quantity")
        if not 1 <= quantity <= self.quantity:
            raise InvalidInput(f"must be from 1 to {self.quantity}", field="quantity")
        if quantity == self.quantity:
            self.status = ReservationStatus.CONSUMED
        else:
            self.quantity -= quantity
        sale = StockMovement(
            id=movement_id,
            sku=self.sku,
            location_id=self.location_id,
            kind=MovementKind.SALE,
            quantity=-quantity,
            at=at,
            reference=self.order_id,
        )
        return StockChange.unhold(self.sku, self.location_id, quantity, at=at, sale=sale)

    def extend(self, until: datetime) -> None:
        """Give an active hold until ``until`` (the customer must confirm a payment).

        :raises InvalidTransition: unless it is active.
        """
        if self.status is not ReservationStatus.ACTIVE:
            raise InvalidTransition("reservation", self.status.value, "extend")
        self.expires_at = until

    def allocate(self) -> None:
        """The order was paid: hold until it ships or is cancelled, never expiring.

        :raises InvalidTransition: unless it is active.
        """
        if self.status is not ReservationStatus.ACTIVE:
            raise InvalidTransition("reservation", self.status.value, "allocate")
        self.status = ReservationStatus.ALLOCATED


def check_new(reservations: Sequence[Reservation]) -> None:
    """A reservation is stored new only while it holds stock and waits for payment.

    :raises InvalidInput: naming ``status``.
    """
    for reservation in reservations:
        if reservation.status is not ReservationStatus.ACTIVE:
            raise InvalidInput("a new reservation is active", field="status")


def check_closing(status: ReservationStatus) -> None:
    """Closing a reservation releases it or consumes it, and nothing else.

    :raises InvalidInput: naming ``status``.
    """
    if status in HOLDING:
        raise InvalidInput("a reservation is closed as released or consumed", field="status")


@attrs.frozen
class StockLine:
    """What an order line asks of stock."""

    sku: str
    quantity: int
    track_stock: bool = True


def stock_wanted(
    lines: Iterable[StockLine], components: Mapping[str, Mapping[str, int]]
) -> dict[str, int]:
    """Units wanted per stocked SKU. Lines drawing on the same stock are counted
    together: the same SKU twice, or a bundle and the components it is made of (a
    bundle draws on its components' stock, never its own)."""
    wanted: dict[str, int] = {}
    for line in lines:
        parts = components.get(line.sku)
        if parts:
            for sku, per_bundle in parts.items():
                wanted[sku] = wanted.get(sku, 0) + line.quantity * per_bundle
        elif line.track_stock:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    return wanted


@attrs.frozen
class HoldPlan:
    """The reservations an order takes, and the stock changes that take them."""

    reservations: tuple[Reservation, ...] = ()
    changes: tuple[StockChange, ...] = ()


def plan_holds(
    order_id: str,
    wanted: Mapping[str, int],
    *,
    locations: Sequence[StockLocation],
    rules: Mapping[str, StockRule],
    items: Sequence[StockItem],
    now: datetime,
    expires_at: datetime,
    new_id: Callable[[], str],
    country: str | None = None,
    strategy: AllocationStrategy = PriorityOrder,
) -> HoldPlan:
    """What an order must hold, and where from.

    Stock is in use once a location exists; with none, nothing is held. Only what a
    location cannot cover from its shelf is owed, checked against the SKU's backorder
    floor; everything else must be there (floor 0), so that racing orders cannot
    spread more debt over several locations than the limit allows.

    :raises InsufficientStock: naming the SKU that cannot be covered.
    """
    if not wanted or not locations:
        return HoldPlan()
    floors = {sku: rules[sku].floor(now) if sku in rules else 0 for sku in wanted}
    plan = allocate_stock(wanted, locations, items, floors, country=country, strategy=strategy)
    available = {item.key: item.available for item in items}
    reservations: list[Reservation] = []
    changes: list[StockChange] = []
    for allocation in plan:
        reservation = Reservation(
            id=new_id(),
            order_id=order_id,
            sku=allocation.sku,
            location_id=allocation.location_id,
            quantity=allocation.quantity,
            expires_at=expires_at,
        )
        owing = allocation.quantity > available.get((allocation.sku, allocation.location_id), 0)
        reservations.append(reservation)
        changes.append(reservation.take(floor=floors[allocation.sku] if owing else 0, at=now))
    return HoldPlan(tuple(reservations), tuple(changes))


def unservable(
    wanted: Mapping[str, int],
    *,
    locations: Sequence[StockLocation],
    rules: Mapping[str, StockRule],
    items: Sequence[StockItem],
    now: datetime,
    country: str | None,
    strategy: AllocationStrategy = PriorityOrder,
) -> tuple[str, ...]:
    """The SKUs of ``wanted`` that the locations shipping to ``country`` cannot cover
    although the locations together could: stock that is there, in the wrong place.
    (A SKU that no location could cover is a stock problem, not a shipping one, and
    is not named.)"""
    if country is None or not locations:
        return ()
    found: list[str] = []
    for sku, quantity in sorted(wanted.items()):
        floors = {sku: rules[sku].floor(now) if sku in rules else 0}
        try:
            allocate_stock(
                {sku: quantity}, locations, items, floors, country=country, strategy=strategy
            )
        except InsufficientStock:
            try:
                allocate_stock({sku: quantity}, locations, items, floors, strategy=strategy)
            except InsufficientStock:
                continue
            found.append(sku)
    return tuple(found)
