"""Reordering: what to order from whom, and purchase orders that bring stock in."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from commercekit.domain.errors import InvalidInput, InvalidTransition, shown
from commercekit.domain.inventory.locations import check_count
from commercekit.domain.inventory.stock import MovementKind, StockItem, StockMovement

__all__ = [
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "reorder_suggestions",
]


def reorder_suggestions(items: Iterable[StockItem]) -> list[tuple[StockItem, int]]:
    """Items at or below their reorder point, with the quantity to order."""
    found: list[tuple[StockItem, int]] = []
    for item in items:
        policy = item.reorder
        if policy is None or item.available > policy.reorder_point:
            continue
        if policy.quantity is not None:
            quantity = policy.quantity
        else:
            assert policy.maximum is not None  # a policy has a quantity or a maximum
            quantity = policy.maximum - item.available
        if quantity > 0:
            found.append((item, quantity))
    return found


class PurchaseOrderStatus(enum.Enum):
    """A purchase order's life."""

    DRAFT = "draft"
    SENT = "sent"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


@attrs.define(kw_only=True)
class PurchaseOrderLine:
    """What was ordered from the supplier, and what has arrived."""

    sku: str
    quantity: int
    received: int = 0


@attrs.define(kw_only=True, eq=False)
class PurchaseOrder:
    """Stock ordered from a supplier for one location."""

    id: str
    supplier: str
    location_id: str
    lines: list[PurchaseOrderLine]
    status: PurchaseOrderStatus = PurchaseOrderStatus.DRAFT
    expected_at: datetime | None = None
    version: int = 0

    @classmethod
    def from_suggestions(
        cls,
        id: str,
        location_id: str,
        suggestions: Sequence[tuple[StockItem, int]],
        *,
        now: datetime,
    ) -> PurchaseOrder:
        """A draft from reorder suggestions for one location (one supplier)."""
        here = [(i, q) for i, q in suggestions if i.location_id == location_id and i.reorder]
        if not here:
            raise InvalidInput("nothing to reorder at this location", field="location_id")
        first = here[0][0].reorder
        assert first is not None
        # One purchase order goes to one supplier: the first suggestion's.
        mine = [(i, q) for i, q in here if i.reorder and i.reorder.supplier == first.supplier]
        return cls(
            id=id,
            supplier=first.supplier,
            location_id=location_id,
            lines=[PurchaseOrderLine(sku=i.sku, quantity=q) for i, q in mine],
            expected_at=now + timedelta(days=first.lead_time_days),
        )

    def send(self) -> None:
        """Send the order to the supplier."""
        if self.status is not PurchaseOrderStatus.DRAFT:
            raise InvalidTransition("purchase order", self.status.value, "send")
        self.status = PurchaseOrderStatus.SENT
        self.version += 1

    def cancel(self) -> None:
        """Cancel an order nothing of which has arrived."""
        if self.status not in (PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT):
            raise InvalidTransition("purchase order", self.status.value, "cancel")
        self.status = PurchaseOrderStatus.CANCELLED
        self.version += 1

    def receive(
        self, quantities: Mapping[str, int], *, movement_id: Callable[[], str], at: datetime
    ) -> list[StockMovement]:
        """Record goods arriving; returns the receipt movements for the ledger.

        :raises InvalidTransition: unless sent or partially received.
        :raises InvalidInput: for an unknown SKU or more than was ordered.
        """
        if self.status not in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED):
            raise InvalidTransition("purchase order", self.status.value, "receive")
        if not quantities:
            raise InvalidInput("name at least one SKU received", field="quantities")
        lines = {line.sku: line for line in self.lines}
        for sku, quantity in quantities.items():
            line = lines.get(sku)
            if line is None:
                raise InvalidInput(f"the purchase order has no SKU {shown(sku)}", field="sku")
            check_count(quantity, "quantity", minimum=1)
            if line.received + quantity > line.quantity:
                raise InvalidInput(
                    f"only {line.quantity - line.received} of {sku} are due", field="quantity"
                )
        movements = []
        for sku, quantity in quantities.items():
            lines[sku].received += quantity
            movements.append(
                StockMovement(
                    id=movement_id(),
                    sku=sku,
                    location_id=self.location_id,
                    kind=MovementKind.RECEIPT,
                    quantity=quantity,
                    at=at,
                    reference=self.id,
                )
            )
        done = all(line.received == line.quantity for line in self.lines)
        self.status = (
            PurchaseOrderStatus.RECEIVED if done else PurchaseOrderStatus.PARTIALLY_RECEIVED
        )
        self.version += 1
        return movements
