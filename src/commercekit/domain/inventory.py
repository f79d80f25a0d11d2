"""Inventory: stock across locations, kept as a ledger of movements.

On hand at a location is always the sum of its movements; nothing else writes it.
Reserved is what checkouts hold while customers pay; available is on hand less
reserved. Available never goes below zero unless the variant allows backorders
(then never below minus the backorder limit): a backorder is reserved beyond what
is on hand, while on hand itself, the goods on the shelf, never goes below zero.
Race safety is storage's work: it applies a reservation with a conditional update
that re-checks availability in the database.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar, Final

import attrs

from commercekit.domain.errors import CommerceError, InvalidInput, InvalidTransition
from commercekit.domain.events import DomainEvent, StockLow

__all__ = [
    "Allocation",
    "AllocationStrategy",
    "FewestLocations",
    "InsufficientStock",
    "MovementKind",
    "PriorityOrder",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "PurchaseOrderStatus",
    "ReorderPolicy",
    "Reservation",
    "ReservationStatus",
    "StockItem",
    "StockLocation",
    "StockLow",
    "StockMovement",
    "StockPolicy",
    "StockRule",
    "allocate_stock",
    "reorder_suggestions",
]

UNLIMITED: Final = 10**9


class InsufficientStock(CommerceError):
    """Not enough stock to sell this quantity (all locations together)."""

    code: ClassVar[str] = "insufficient_stock"

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(
            f"only {max(available, 0)} of {sku} can be sold, {requested} requested",
            field="quantity",
        )
        self.sku = sku
        self.requested = requested
        self.available = available


def _count(value: object, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= UNLIMITED:
        raise InvalidInput(f"must be a whole number from {minimum} to {UNLIMITED}", field=field)
    return value


def _identifier(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise InvalidInput(
            "must be a non-empty string of at most 64 characters", field=attribute.name
        )


def _priority(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 1_000_000:
        raise InvalidInput("must be a whole number from -1,000,000 to 1,000,000", field="priority")
    return value


def _threshold(value: object) -> int | None:
    return None if value is None else _count(value, "low_stock_threshold")


def _countries(value: Iterable[str] | None) -> frozenset[str]:
    if isinstance(value, str):
        value = (value,)
    return frozenset(code.strip().upper() for code in value or ())


@attrs.frozen(kw_only=True)
class StockLocation:
    """A place stock is kept and shipped from."""

    id: str = attrs.field(validator=_identifier)
    name: str = attrs.field(validator=_identifier)
    kind: str = "warehouse"
    """``warehouse``, ``shop`` or ``dropshipper``: informative."""
    priority: int = attrs.field(default=0, converter=_priority)
    """Lower ships first."""
    ships_to: frozenset[str] = attrs.field(factory=frozenset, converter=_countries)
    """ISO country codes served; empty serves everywhere."""

    def serves(self, country: str | None) -> bool:
        """Whether this location ships to ``country`` (any, when unknown)."""
        return not self.ships_to or country is None or country.upper() in self.ships_to


class StockPolicy(enum.Enum):
    """What happens when a variant runs out."""

    DENY = "deny"
    BACKORDER = "backorder"
    PREORDER = "preorder"


@attrs.frozen(kw_only=True)
class StockRule:
    """A variant's stock policy. Variants without a rule deny when out."""

    sku: str
    policy: StockPolicy = attrs.field(default=StockPolicy.DENY, converter=StockPolicy)
    backorder_limit: int | None = attrs.field(default=None)
    """How far below zero available may go; ``None`` is without limit."""

    @backorder_limit.validator
    def _limit(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None:
            _count(value, "backorder_limit")

    preorder_until: datetime | None = None
    """Pre-orders are taken until then; after it, the variant denies when out."""

    def floor(self, now: datetime) -> int:
        """The lowest available stock may go to (0, or minus what may be owed)."""
        if self.policy is StockPolicy.BACKORDER:
            return -(UNLIMITED if self.backorder_limit is None else self.backorder_limit)
        if self.policy is StockPolicy.PREORDER and (
            self.preorder_until is None or now < self.preorder_until
        ):
            return -UNLIMITED
        return 0


def _reorder_point(value: object) -> int:
    return _count(value, "reorder_point")


@attrs.frozen(kw_only=True)
class ReorderPolicy:
    """When and how much to reorder: a reorder point with a fixed quantity, or a
    min/max level to fill up to."""

    reorder_point: int = attrs.field(converter=_reorder_point)
    quantity: int | None = None
    """Fixed quantity to order; ``None`` fills up to ``maximum``."""
    maximum: int | None = None
    supplier: str = ""
    lead_time_days: int = 0

    def __attrs_post_init__(self) -> None:
        if (self.quantity is None) == (self.maximum is None):
            raise InvalidInput("give either a reorder quantity or a maximum", field="quantity")
        if self.quantity is not None:
            _count(self.quantity, "quantity", minimum=1)
        _count(self.lead_time_days, "lead_time_days")
        if self.maximum is not None and _count(self.maximum, "maximum") <= self.reorder_point:
            raise InvalidInput("must be above the reorder point", field="maximum")


class MovementKind(enum.Enum):
    """Why stock moved."""

    RECEIPT = "receipt"
    SALE = "sale"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    TRANSFER = "transfer"
    COUNT = "count"


@attrs.frozen(kw_only=True)
class StockMovement:
    """One entry of the append-only stock ledger: a signed change of on-hand stock."""

    id: str
    sku: str
    location_id: str
    kind: MovementKind
    quantity: int
    """Positive adds stock, negative removes it."""
    at: datetime
    reason: str = ""
    reference: str = ""
    """The order, purchase order, transfer or count it belongs to."""

    def __attrs_post_init__(self) -> None:
        quantity = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not quantity:
            raise InvalidInput("a movement moves a non-zero whole number", field="quantity")
        if abs(quantity) > UNLIMITED:
            raise InvalidInput(f"a movement moves at most {UNLIMITED} units", field="quantity")
        if self.kind is MovementKind.ADJUSTMENT and not self.reason:
            raise InvalidInput("an adjustment needs a reason", field="reason")


@attrs.define(kw_only=True, eq=False)
class StockItem:
    """A SKU at a location."""

    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0
    low_stock_threshold: int | None = attrs.field(default=None, converter=_threshold)
    reorder: ReorderPolicy | None = None
    version: int = 0

    @property
    def available(self) -> int:
        """What can still be sold from here."""
        return self.on_hand - self.reserved

    def record(self, movement: StockMovement, *, floor: int = 0) -> list[DomainEvent]:
        """Apply a ledger movement.

        :param floor: the lowest ``available`` may reach (negative with backorders).
        :raises InvalidInput: for a movement of another SKU or location.
        :raises InsufficientStock: if on hand would go below what the policy allows.
        """
        if (movement.sku, movement.location_id) != (self.sku, self.location_id):
            raise InvalidInput("the movement is for another stock item", field="sku")
        if movement.quantity < 0 and (
            self.available + movement.quantity < floor or self.on_hand + movement.quantity < 0
        ):
            # Backorders let available go below zero; goods on the shelf never do.
            allowed = min(self.available - floor, self.on_hand)
            raise InsufficientStock(self.sku, -movement.quantity, allowed)
        before = self.available
        self.on_hand += movement.quantity
        self.version += 1
        return self._low(before, movement.at)

    def _low(self, before: int, at: datetime) -> list[DomainEvent]:
        threshold = self.low_stock_threshold
        if threshold is not None and before > threshold >= self.available:
            return [
                StockLow(
                    occurred_at=at,
                    sku=self.sku,
                    location_id=self.location_id,
                    available=self.available,
                    threshold=threshold,
                )
            ]
        return []

    def reserve(self, quantity: int, *, floor: int, at: datetime) -> list[DomainEvent]:
        """Hold ``quantity`` for a checkout.

        :raises InsufficientStock: if available would fall below ``floor``.
        """
        _count(quantity, "quantity", minimum=1)
        if self.available - quantity < floor:
            raise InsufficientStock(self.sku, quantity, self.available - floor)
        before = self.available
        self.reserved += quantity
        self.version += 1
        return self._low(before, at)

    def release(self, quantity: int) -> None:
        """Give back a hold (payment failed, order cancelled, hold expired)."""
        _count(quantity, "quantity", minimum=1)
        if quantity > self.reserved:
            raise InvalidInput("cannot release more than is reserved", field="quantity")
        self.reserved -= quantity
        self.version += 1


class ReservationStatus(enum.Enum):
    """Where a hold stands."""

    ACTIVE = "active"
    RELEASED = "released"
    CONSUMED = "consumed"


@attrs.define(kw_only=True, eq=False)
class Reservation:
    """Stock held for an order at one location until it ships, expires or is let go."""

    id: str
    order_id: str
    sku: str
    location_id: str
    quantity: int
    expires_at: datetime
    status: ReservationStatus = ReservationStatus.ACTIVE

    def expired(self, now: datetime) -> bool:
        """Whether an active hold has run out of time."""
        return self.status is ReservationStatus.ACTIVE and now >= self.expires_at

    def close(self, status: ReservationStatus) -> None:
        """Release or consume an active hold.

        :raises InvalidTransition: if it is not active any more.
        """
        if self.status is not ReservationStatus.ACTIVE or status is ReservationStatus.ACTIVE:
            raise InvalidTransition("reservation", self.status.value, status.value)
        self.status = status


@attrs.frozen
class Allocation:
    """Take ``quantity`` of ``sku`` from ``location_id``."""

    sku: str
    location_id: str
    quantity: int


AllocationStrategy = Callable[
    [Mapping[str, int], Sequence[StockLocation], Mapping[tuple[str, str], int], Mapping[str, int]],
    list[Allocation],
]
"""``(wanted per SKU, locations in preference order, available per (SKU, location),
floor per SKU) -> allocations``. A strategy may leave a SKU short; the caller then
refuses the sale."""


def PriorityOrder(
    wanted: Mapping[str, int],
    locations: Sequence[StockLocation],
    available: Mapping[tuple[str, str], int],
    floors: Mapping[str, int],
) -> list[Allocation]:
    """Fill each SKU from the locations in priority order, splitting where needed;
    what is owed on backorder lands on the first location."""
    plan: list[Allocation] = []
    for sku, quantity in wanted.items():
        left = quantity
        for location in locations:
            take = min(left, max(available.get((sku, location.id), 0), 0))
            if take > 0:
                plan.append(Allocation(sku, location.id, take))
                left -= take
        if left > 0 and locations and floors.get(sku, 0) < 0:
            first = locations[0].id
            merged = [a for a in plan if (a.sku, a.location_id) == (sku, first)]
            plan = [a for a in plan if (a.sku, a.location_id) != (sku, first)]
            plan.append(Allocation(sku, first, left + sum(a.quantity for a in merged)))
    return plan


def FewestLocations(
    wanted: Mapping[str, int],
    locations: Sequence[StockLocation],
    available: Mapping[tuple[str, str], int],
    floors: Mapping[str, int],
) -> list[Allocation]:
    """Prefer one location that can ship the whole order; else priority order."""
    for location in locations:
        if all(available.get((sku, location.id), 0) >= q for sku, q in wanted.items()):
            return [Allocation(sku, location.id, q) for sku, q in wanted.items()]
    return PriorityOrder(wanted, locations, available, floors)


def allocate_stock(
    wanted: Mapping[str, int],
    locations: Sequence[StockLocation],
    items: Iterable[StockItem],
    floors: Mapping[str, int],
    *,
    country: str | None = None,
    strategy: AllocationStrategy = PriorityOrder,
) -> list[Allocation]:
    """Decide where each SKU ships from.

    Two cart lines that draw on the same SKU are checked together: ``wanted`` is
    per SKU.

    :raises InsufficientStock: for a SKU the locations serving ``country`` cannot
        cover (within its backorder floor).
    """
    serving = sorted(
        (place for place in locations if place.serves(country)),
        key=lambda place: (place.priority, place.id),
    )
    open_ids = {place.id for place in serving}
    available = {(i.sku, i.location_id): i.available for i in items if i.location_id in open_ids}
    plan = strategy(wanted, serving, available, floors)
    for sku, quantity in wanted.items():
        planned = sum(a.quantity for a in plan if a.sku == sku)
        total = sum(v for (s, _), v in available.items() if s == sku)
        if planned != quantity or total - quantity < floors.get(sku, 0):
            raise InsufficientStock(sku, quantity, total - floors.get(sku, 0))
    return sorted(plan, key=lambda a: (a.sku, a.location_id))


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
                raise InvalidInput(f"the purchase order has no SKU {sku!r}", field="sku")
            _count(quantity, "quantity", minimum=1)
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
