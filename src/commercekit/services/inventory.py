"""Stock: locations, receipts, adjustments, transfers, counts, expiry of holds, and
purchase orders. Every change goes through the movement ledger, decided by the
domain (:class:`~commercekit.domain.inventory.StockChange`) at the store clock's
time."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from commercekit.domain._validators import require_instance
from commercekit.domain.errors import (
    GatewayError,
    InvalidInput,
    InvalidQuantity,
    RequestInProgress,
    shown,
)
from commercekit.domain.events import StockChanged
from commercekit.domain.identifiers import (
    check_key,
    check_keys,
    check_quantities,
    check_whole_number,
)
from commercekit.domain.inventory import (
    UNLIMITED,
    MovementKind,
    PurchaseOrder,
    StockChange,
    StockItem,
    StockLocation,
    StockMovement,
    StockRule,
    check_count,
    reorder_suggestions,
)
from commercekit.domain.payments import PaymentStatus
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service
from commercekit.services.fulfilment import FulfilmentService
from commercekit.services.holds import cancel_unpaid
from commercekit.services.payments import PaymentService
from commercekit.services.shipped import units_back

__all__ = ["InventoryService"]


def _known_location(uow: UnitOfWork, location_id: str) -> None:
    if location_id not in {location.id for location in uow.inventory.locations()}:
        raise InvalidInput(f"no stock location {shown(location_id)}", field="location_id")


def _units(value: object, field: str, *, minimum: int = 1) -> int:
    """A number of units handed in: a whole number (or its digits, as a form sends
    them) from ``minimum`` to :data:`UNLIMITED`.

    :raises InvalidInput: naming ``field``.
    """
    return check_count(check_whole_number(value, field), field, minimum=minimum)


class InventoryService(Service):
    """Stock operations. Each call is one transaction."""

    def __init__(
        self, runtime: Runtime, payments: PaymentService, fulfilment: FulfilmentService
    ) -> None:
        super().__init__(runtime)
        self._payments = payments
        self._fulfilment = fulfilment

    def add_location(self, location: StockLocation) -> None:
        """Add a stock location."""
        require_instance(location, StockLocation, "a StockLocation", field="location")
        self._run(lambda uow: uow.inventory.add_location(location))

    def locations(self) -> list[StockLocation]:
        """Every stock location, in shipping preference (priority, then id)."""
        return self._read(lambda uow: uow.inventory.locations())

    def set_rule(self, rule: StockRule) -> None:
        """Set a variant's stock policy (deny, backorder, preorder)."""
        require_instance(rule, StockRule, "a StockRule", field="rule")
        self._run(lambda uow: uow.inventory.set_rule(rule))

    def configure(self, item: StockItem) -> None:
        """Set an item's low-stock threshold and reorder policy (never its stock)."""
        require_instance(item, StockItem, "a StockItem", field="item")

        def work(uow: UnitOfWork) -> None:
            _known_location(uow, item.location_id)
            change = StockChange.configure(item.sku, item.location_id, item.settings, at=self.now)
            uow.inventory.apply([change])

        self._run(work)

    def stock(self, sku: str) -> list[StockItem]:
        """The SKU's stock at every location."""
        check_key(sku, "sku")
        return self._read(lambda uow: uow.inventory.items([sku]))

    def available(self, sku: str) -> int:
        """What can be sold of the SKU, all locations together."""
        return sum(item.available for item in self.stock(sku))

    def movements(self, sku: str, location_id: str) -> list[StockMovement]:
        """The ledger of one stock item."""
        check_key(sku, "sku")
        check_key(location_id, "location_id")
        return self._read(lambda uow: uow.inventory.movements(sku, location_id))

    def _movement(
        self,
        sku: str,
        location_id: str,
        quantity: int,
        kind: MovementKind,
        *,
        reason: str = "",
        reference: str = "",
    ) -> StockChange:
        check_key(sku, "sku")
        check_key(location_id, "location_id")
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
        return StockChange.move(movement, floor=movement.floor)

    def _record(self, *changes: StockChange) -> None:
        def work(uow: UnitOfWork) -> None:
            for location_id in dict.fromkeys(change.location_id for change in changes):
                _known_location(uow, location_id)
            uow.inventory.apply(changes)
            skus = tuple(dict.fromkeys(change.sku for change in changes))
            uow.record_events([StockChanged(occurred_at=self.now, skus=skus)])

        self._run(work)

    def receive(self, sku: str, location_id: str, quantity: int, *, reference: str = "") -> None:
        """Goods arrived: add them through the ledger.

        :param quantity: a whole number, or its digits as a form sends them (``"2"``).
        """
        quantity = _units(quantity, "quantity")
        self._record(
            self._movement(sku, location_id, quantity, MovementKind.RECEIPT, reference=reference)
        )

    def adjust(self, sku: str, location_id: str, change: int, *, reason: str) -> None:
        """Correct stock up or down, with a reason (damage, loss, found).

        :param change: a whole number other than zero, or its digits as a form sends
            them (``"-2"``).
        :raises InsufficientStock: if the shelf would go below zero.
        """
        change = check_whole_number(change, "change")
        if not 0 < abs(change) <= UNLIMITED:
            raise InvalidQuantity(
                f"must be a non-zero whole number from -{UNLIMITED:,} to {UNLIMITED:,}",
                field="change",
            )
        self._record(
            self._movement(sku, location_id, change, MovementKind.ADJUSTMENT, reason=reason)
        )

    def record_return(self, sku: str, location_id: str, quantity: int, *, order_id: str) -> None:
        """Units of an order put back on the shelf without a return record (see
        :class:`~commercekit.services.returns.ReturnService` for returns with their
        inspection): never more than the order shipped of the SKU, less what was
        put back for it before (by either way).

        :param quantity: a whole number, or its digits as a form sends them (``"2"``).
        :raises NotFound: for an unknown order.
        :raises InvalidQuantity: beyond what the order shipped and has not had back.
        """
        quantity = _units(quantity, "quantity")
        check_key(order_id, "order_id")
        change = self._movement(sku, location_id, quantity, MovementKind.RETURN, reference=order_id)

        def work(uow: UnitOfWork) -> None:
            order = uow.orders.get(order_id)
            _known_location(uow, location_id)
            back = units_back(uow, order, sku)
            shipped = order.fulfilled.get(sku, 0)
            if back + quantity > shipped:
                raise InvalidQuantity(
                    f"the order shipped {shipped} of {sku} and had {back} back", field="quantity"
                )
            uow.inventory.apply([change])
            uow.record_events([StockChanged(occurred_at=self.now, skus=(sku,))])
            # The order is written too, so that two returns of its units at once are
            # decided one after the other.
            order.touch()
            uow.orders.save(order)

        self._run(work)

    def transfer(self, sku: str, from_location: str, to_location: str, quantity: int) -> None:
        """Move stock between locations, as one transaction (out and in together).

        :param quantity: a whole number, or its digits as a form sends them (``"2"``).
        :raises InsufficientStock: if the source cannot spare it.
        """
        check_key(from_location, "from_location")
        check_key(to_location, "to_location")
        if from_location == to_location:
            raise InvalidInput("a transfer goes to another location", field="to_location")
        quantity = _units(quantity, "quantity")
        reference = self._rt.ids.new_id("transfer")
        self._record(
            self._movement(
                sku,
                from_location,
                -quantity,
                MovementKind.TRANSFER,
                reason=f"to {to_location}",
                reference=reference,
            ),
            self._movement(
                sku,
                to_location,
                quantity,
                MovementKind.TRANSFER,
                reason=f"from {from_location}",
                reference=reference,
            ),
        )

    def count(self, sku: str, location_id: str, counted: int) -> int:
        """Record a stock count; the difference becomes a count movement.

        :param counted: a whole number, or its digits as a form sends them (``"12"``).
        :returns: the difference applied (0 when the count matched).
        """
        check_key(sku, "sku")
        check_key(location_id, "location_id")
        counted = _units(counted, "counted", minimum=0)

        def work(uow: UnitOfWork) -> int:
            _known_location(uow, location_id)
            current = next(
                (i for i in uow.inventory.items([sku]) if i.location_id == location_id), None
            )
            difference = counted - (current.on_hand if current else 0)
            if difference:
                uow.inventory.apply(
                    [
                        self._movement(
                            sku, location_id, difference, MovementKind.COUNT, reason="stock count"
                        )
                    ]
                )
            return difference

        return self._run(work)

    # --- holds -----------------------------------------------------------------------

    def release_expired_reservations(self) -> int:
        """Let go of holds whose time ran out while their order awaited payment; the
        order is cancelled and its stock is available again.

        :returns: how many reservations were released.
        """
        expired = self._read(lambda uow: uow.inventory.expired_reservations(self.now, 1000))
        released = 0
        for order_id in dict.fromkeys(r.order_id for r in expired):
            if self._outcome_known(order_id):
                continue

            def work(uow: UnitOfWork, order_id: str = order_id) -> int:
                order = uow.orders.get(order_id)
                reason = "the stock reservation expired"
                return cancel_unpaid(uow, order, reason, actor="system:stock", at=self.now)

            released += self._run(work)
        return released

    def _outcome_known(self, order_id: str) -> bool:
        """Before giving up on an order whose payment outcome was never recorded, ask
        the gateway: an authorization it made must be settled (or voided), never left
        open behind a cancelled order. ``True`` when there is nothing to cancel now."""
        payment = self._payments.for_order(order_id)
        if payment.status is not PaymentStatus.PENDING:
            return False
        order = self._read(lambda uow: uow.orders.get(order_id))
        try:
            return self._payments.settle_from_gateway(order)
        except (GatewayError, RequestInProgress):
            return True  # unknown for now: ask again on the next run

    def consume(self, order_id: str, *, actor: str = "staff") -> int:
        """Everything of the order not yet shipped leaves now: one shipment per
        location (see :meth:`FulfilmentService.ship`), each consuming exactly the units
        it carries as sales in the ledger; the order can no longer be cancelled. A
        cancellation racing it either comes first (and nothing ships) or finds it
        shipped.

        :returns: how many shipments left.
        :raises InvalidTransition: unless the order is open (paid, not being
            cancelled), or when nothing of it is left to ship.
        """
        check_key(order_id, "order_id")
        check_key(actor, "actor")
        return len(self._fulfilment.ship(order_id, actor=actor))

    # --- reordering ------------------------------------------------------------------

    def reorder_suggestions(self, skus: Sequence[str]) -> list[tuple[StockItem, int]]:
        """Items of these SKUs at or below their reorder point, with what to order."""
        skus = check_keys(skus, "skus")
        return self._read(lambda uow: reorder_suggestions(uow.inventory.items(skus)))

    def create_purchase_order(self, location_id: str, skus: Sequence[str]) -> PurchaseOrder:
        """A draft purchase order from the reorder suggestions at a location."""
        check_key(location_id, "location_id")
        skus = check_keys(skus, "skus")

        def work(uow: UnitOfWork) -> PurchaseOrder:
            order = PurchaseOrder.from_suggestions(
                self._rt.ids.new_id("po"),
                location_id,
                reorder_suggestions(uow.inventory.items(skus)),
                now=self.now,
            )
            uow.inventory.add_purchase_order(order)
            return order

        return self._run(work)

    def send_purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        """Mark a draft as sent to the supplier."""
        return self._change_purchase_order(purchase_order_id, PurchaseOrder.send)

    def cancel_purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        """Cancel a purchase order nothing of which has arrived."""
        return self._change_purchase_order(purchase_order_id, PurchaseOrder.cancel)

    def _change_purchase_order(
        self, purchase_order_id: str, change: Callable[[PurchaseOrder], None]
    ) -> PurchaseOrder:
        check_key(purchase_order_id, "purchase_order_id")

        def work(uow: UnitOfWork) -> PurchaseOrder:
            order = uow.inventory.purchase_order(purchase_order_id)
            change(order)
            uow.inventory.save_purchase_order(order)
            return order

        return self._run(work)

    def receive_purchase_order(
        self, purchase_order_id: str, quantities: Mapping[str, int]
    ) -> PurchaseOrder:
        """Goods of a purchase order arrived: the order and the ledger change together.

        :param quantities: SKU to units, each a whole number or its digits as a form
            sends them (``"2"``).
        """
        check_key(purchase_order_id, "purchase_order_id")
        quantities = check_quantities(quantities, "quantities")

        def work(uow: UnitOfWork) -> PurchaseOrder:
            order = uow.inventory.purchase_order(purchase_order_id)
            movements = order.receive(
                quantities, movement_id=lambda: self._rt.ids.new_id("movement"), at=self.now
            )
            uow.inventory.apply([StockChange.move(movement) for movement in movements])
            uow.inventory.save_purchase_order(order)
            return order

        return self._run(work)
