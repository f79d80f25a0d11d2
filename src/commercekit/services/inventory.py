"""Stock: locations, receipts, adjustments, transfers, counts, reservations, expiry,
and purchase orders. Every change goes through the movement ledger."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import (
    UNLIMITED,
    AllocationStrategy,
    MovementKind,
    PriorityOrder,
    PurchaseOrder,
    Reservation,
    ReservationStatus,
    StockItem,
    StockLocation,
    StockLow,
    StockMovement,
    StockRule,
    allocate_stock,
    reorder_suggestions,
)
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.payments import PaymentStatus
from commercekit.ports.payments import GatewayError
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service

if TYPE_CHECKING:
    from commercekit.services.payments import PaymentService

__all__ = ["HELD_UNTIL_SHIPPED", "InventoryService", "reserve_for_order", "stock_low_events"]

#: How long a paid order's stock stays reserved: until it ships or is cancelled.
HELD_UNTIL_SHIPPED: Final = datetime(9999, 1, 1, tzinfo=UTC)


def stock_low_events(
    before: Sequence[StockItem], after: Mapping[tuple[str, str], int], at: datetime
) -> list[DomainEvent]:
    """``StockLow`` for each item whose available stock crosses its threshold."""
    events: list[DomainEvent] = []
    for item in before:
        threshold = item.low_stock_threshold
        now_available = after.get((item.sku, item.location_id), item.available)
        if threshold is not None and item.available > threshold >= now_available:
            events.append(
                StockLow(
                    occurred_at=at,
                    sku=item.sku,
                    location_id=item.location_id,
                    available=now_available,
                    threshold=threshold,
                )
            )
    return events


def reserve_for_order(
    uow: UnitOfWork,
    order: Order,
    *,
    now: datetime,
    hold: timedelta,
    new_id: Callable[[], str],
    country: str | None,
    strategy: AllocationStrategy = PriorityOrder,
    components: Mapping[str, Mapping[str, int]] | None = None,
) -> list[Reservation]:
    """Reserve the stock an order needs, in the order's own transaction.

    Inventory is in use once a stock location exists; variants that do not track
    stock (and digital goods) need none. The plan comes from a snapshot, and the
    storage re-checks each reservation in the database at commit.

    :raises InsufficientStock: naming the SKU that cannot be covered.
    """
    # Lines drawing on the same stock are counted together: the same SKU twice, or a
    # bundle and the components it is made of.
    wanted: dict[str, int] = {}
    for line in order.lines:
        parts = (components or {}).get(line.sku)
        if parts:
            for sku, per_bundle in parts.items():
                wanted[sku] = wanted.get(sku, 0) + line.quantity * per_bundle
        elif line.track_stock:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    if not wanted:
        return []
    locations = uow.inventory.locations()
    if not locations:
        return []
    rules = uow.inventory.rules(wanted)
    floors = {sku: rules[sku].floor(now) if sku in rules else 0 for sku in wanted}
    items = uow.inventory.items(wanted)
    plan = allocate_stock(wanted, locations, items, floors, country=country, strategy=strategy)
    reservations = [
        Reservation(
            id=new_id(),
            order_id=order.id,
            sku=allocation.sku,
            location_id=allocation.location_id,
            quantity=allocation.quantity,
            expires_at=now + hold,
        )
        for allocation in plan
    ]
    # Only what a location cannot cover from its shelf is owed, and it is checked
    # against the SKU's backorder floor; everything else must be there (floor 0), so
    # that racing orders cannot spread more debt over several locations than the
    # limit allows.
    available = {(i.sku, i.location_id): i.available for i in items}
    owing = [r for r in reservations if r.quantity > available.get((r.sku, r.location_id), 0)]
    covered = [r for r in reservations if r not in owing]
    if covered:
        uow.inventory.reserve(covered, dict.fromkeys(wanted, 0))
    if owing:
        uow.inventory.reserve(owing, floors)
    after = {(i.sku, i.location_id): i.available for i in items}
    for allocation in plan:
        key = (allocation.sku, allocation.location_id)
        after[key] = after.get(key, 0) - allocation.quantity
    uow.record_events(stock_low_events(items, after, now))
    return reservations


class InventoryService(Service):
    """Stock operations. Each call is one transaction."""

    def __init__(self, runtime: Runtime, payments: PaymentService | None = None) -> None:
        super().__init__(runtime)
        self._payments = payments

    def add_location(self, location: StockLocation) -> None:
        """Add a stock location."""
        with self._work() as uow:
            uow.inventory.add_location(location)
            self._commit(uow)

    def set_rule(self, rule: StockRule) -> None:
        """Set a variant's stock policy (deny, backorder, preorder)."""
        with self._work() as uow:
            uow.inventory.set_rule(rule)
            self._commit(uow)

    @staticmethod
    def _known_location(uow: UnitOfWork, location_id: str) -> None:
        if location_id not in {location.id for location in uow.inventory.locations()}:
            raise InvalidInput(f"no stock location {location_id!r}", field="location_id")

    def configure(self, item: StockItem) -> None:
        """Set an item's low-stock threshold and reorder policy."""
        with self._work() as uow:
            self._known_location(uow, item.location_id)
            uow.inventory.configure_item(item)
            self._commit(uow)

    def stock(self, sku: str) -> list[StockItem]:
        """The SKU's stock at every location."""
        with self._work() as uow:
            return uow.inventory.items([sku])

    def available(self, sku: str) -> int:
        """What can be sold of the SKU, all locations together."""
        return sum(item.available for item in self.stock(sku))

    def movements(self, sku: str, location_id: str) -> list[StockMovement]:
        """The ledger of one stock item."""
        with self._work() as uow:
            return uow.inventory.movements(sku, location_id)

    def _move(
        self,
        sku: str,
        location_id: str,
        quantity: int,
        kind: MovementKind,
        *,
        reason: str = "",
        reference: str = "",
        uow: UnitOfWork,
    ) -> None:
        # What is physically gone (a count, shrinkage) is recorded even when it was
        # promised to orders: the shelf must match the ledger, and available goes
        # below zero to show the shortfall. A transfer may only move what is free.
        floor = 0 if kind is MovementKind.TRANSFER else -UNLIMITED
        movement = StockMovement(
            id=self._rt.ids.new_id("movement"),
            sku=sku,
            location_id=location_id,
            kind=kind,
            quantity=quantity,
            at=self.now,
            reason=reason,
            reference=reference,
        )
        before = uow.inventory.items([sku])
        uow.inventory.record(movement, floor=floor)
        after = {(i.sku, i.location_id): i.available for i in uow.inventory.items([sku])}
        uow.record_events(stock_low_events(before, after, self.now))

    def _one(self, action: str, *moves: tuple[str, str, int, MovementKind, str, str]) -> None:
        def work() -> None:
            with self._work() as uow:
                for sku, location_id, quantity, kind, reason, reference in moves:
                    self._known_location(uow, location_id)
                    self._move(
                        sku,
                        location_id,
                        quantity,
                        kind,
                        reason=reason,
                        reference=reference,
                        uow=uow,
                    )
                self._commit(uow)

        self._retrying(work)

    def receive(self, sku: str, location_id: str, quantity: int, *, reference: str = "") -> None:
        """Goods arrived: add them through the ledger."""
        self._one(
            "receive", (sku, location_id, _positive(quantity), MovementKind.RECEIPT, "", reference)
        )

    def adjust(self, sku: str, location_id: str, change: int, *, reason: str) -> None:
        """Correct stock up or down, with a reason (damage, loss, found).

        :raises InsufficientStock: if stock would go below zero.
        """
        self._one("adjust", (sku, location_id, change, MovementKind.ADJUSTMENT, reason, ""))

    def record_return(self, sku: str, location_id: str, quantity: int, *, order_id: str) -> None:
        """A customer's return put back on the shelf."""
        self._one(
            "return", (sku, location_id, _positive(quantity), MovementKind.RETURN, "", order_id)
        )

    def transfer(self, sku: str, from_location: str, to_location: str, quantity: int) -> None:
        """Move stock between locations, as one transaction (out and in together).

        :raises InsufficientStock: if the source cannot spare it.
        """
        if from_location == to_location:
            raise InvalidInput("a transfer goes to another location", field="to_location")
        reference = self._rt.ids.new_id("transfer")
        quantity = _positive(quantity)
        self._one(
            "transfer",
            (sku, from_location, -quantity, MovementKind.TRANSFER, f"to {to_location}", reference),
            (sku, to_location, quantity, MovementKind.TRANSFER, f"from {from_location}", reference),
        )

    def count(self, sku: str, location_id: str, counted: int) -> int:
        """Record a stock count; the difference becomes a count movement.

        :returns: the difference applied (0 when the count matched).
        """
        if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
            raise InvalidInput("a count is a whole number of at least 0", field="counted")

        def work() -> int:
            with self._work() as uow:
                self._known_location(uow, location_id)
                current = next(
                    (i for i in uow.inventory.items([sku]) if i.location_id == location_id), None
                )
                difference = counted - (current.on_hand if current else 0)
                if difference:
                    self._move(
                        sku,
                        location_id,
                        difference,
                        MovementKind.COUNT,
                        reason="stock count",
                        uow=uow,
                    )
                    self._commit(uow)
                return difference

        return self._retrying(work)

    # --- reservations --------------------------------------------------------------------

    def release_expired_reservations(self) -> int:
        """Let go of holds whose time ran out while their order awaited payment; the
        order is cancelled and its stock is available again.

        :returns: how many reservations were released.
        """
        from commercekit.services.payments import release_order_holds

        released = 0
        with self._work() as uow:
            expired = uow.inventory.expired_reservations(self.now, limit=1000)
        for order_id in dict.fromkeys(r.order_id for r in expired):
            if self._outcome_known(order_id):
                continue

            def work(order_id: str = order_id) -> int:
                with self._work() as uow:
                    order = uow.orders.get(order_id)
                    if order.status is not OrderStatus.PENDING_PAYMENT:
                        return 0
                    order.cancel("the stock reservation expired", at=self.now, actor="system:stock")
                    count = release_order_holds(uow, order)
                    uow.orders.save(order)
                    self._commit(uow)
                    return count

            released += self._retrying(work)
        return released

    def _outcome_known(self, order_id: str) -> bool:
        """Before giving up on an order whose payment outcome was never recorded, ask
        the gateway: an authorization it made must be settled (or voided), never left
        open behind a cancelled order. ``True`` when there is nothing to cancel now."""
        if self._payments is None:
            return False
        payment = self._payments.for_order(order_id)
        if payment.status is not PaymentStatus.PENDING:
            return False
        with self._work() as uow:
            order = uow.orders.get(order_id)
        try:
            return self._payments.settle_from_gateway(order)
        except GatewayError:
            return True  # unknown for now: ask again on the next run

    def consume(self, order_id: str) -> int:
        """The order's goods left: its reservations become sales in the ledger.

        :raises InvalidTransition: unless the order is open (paid, not cancelled).
        """

        def work() -> int:
            with self._work() as uow:
                order = uow.orders.get(order_id)
                if order.status is not OrderStatus.OPEN:
                    raise InvalidTransition("order", order.status.value, "ship the stock of")
                held = uow.inventory.reservations_for_order(order_id)
                closed = uow.inventory.release([r.id for r in held], ReservationStatus.CONSUMED)
                self._commit(uow)
                return closed

        return self._retrying(work)

    # --- reordering ------------------------------------------------------------------

    def reorder_suggestions(self, skus: Sequence[str]) -> list[tuple[StockItem, int]]:
        """Items of these SKUs at or below their reorder point, with what to order."""
        with self._work() as uow:
            return reorder_suggestions(uow.inventory.items(skus))

    def create_purchase_order(self, location_id: str, skus: Sequence[str]) -> PurchaseOrder:
        """A draft purchase order from the reorder suggestions at a location."""
        with self._work() as uow:
            order = PurchaseOrder.from_suggestions(
                self._rt.ids.new_id("po"),
                location_id,
                reorder_suggestions(uow.inventory.items(skus)),
                now=self.now,
            )
            uow.inventory.add_purchase_order(order)
            self._commit(uow)
            return order

    def send_purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        """Mark a draft as sent to the supplier."""
        return self._change_purchase_order(purchase_order_id, PurchaseOrder.send)

    def cancel_purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        """Cancel a purchase order nothing of which has arrived."""
        return self._change_purchase_order(purchase_order_id, PurchaseOrder.cancel)

    def _change_purchase_order(
        self, purchase_order_id: str, change: Callable[[PurchaseOrder], None]
    ) -> PurchaseOrder:
        with self._work() as uow:
            order = uow.inventory.purchase_order(purchase_order_id)
            change(order)
            uow.inventory.save_purchase_order(order)
            self._commit(uow)
            return order

    def receive_purchase_order(
        self, purchase_order_id: str, quantities: Mapping[str, int]
    ) -> PurchaseOrder:
        """Goods of a purchase order arrived: the order and the ledger change together."""

        def work() -> PurchaseOrder:
            with self._work() as uow:
                order = uow.inventory.purchase_order(purchase_order_id)
                for movement in order.receive(
                    quantities, movement_id=lambda: self._rt.ids.new_id("movement"), at=self.now
                ):
                    uow.inventory.record(movement)
                uow.inventory.save_purchase_order(order)
                self._commit(uow)
                return order

        return self._retrying(work)


def _positive(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput("must be a whole number of at least 1", field="quantity")
    return quantity
