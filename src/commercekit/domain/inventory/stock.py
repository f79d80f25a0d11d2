"""Stock items, the movement ledger, and the one place where stock is decided.

On hand at a location is always the sum of its movements; nothing else writes it.
Reserved is what orders hold; available is on hand less reserved. Every change of an
item is a :class:`StockChange`: this module decides whether it may happen
(:meth:`StockChange.refusal`) and what the item looks like afterwards, with the
low-stock events it sets off (:meth:`StockChange.apply`). Storage adapters apply
changes through these functions, or, where the database must decide atomically, with
a conditional update that states the same three guards (see
:meth:`StockChange.refusal`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from commercekit.domain._validators import text
from commercekit.domain.errors import CommerceError, InsufficientStock, InvalidInput
from commercekit.domain.events import DomainEvent, StockLow
from commercekit.domain.identifiers import MAX_KEY_LENGTH
from commercekit.domain.inventory.locations import UNLIMITED, check_count

__all__ = [
    "MovementKind",
    "ReorderPolicy",
    "StockChange",
    "StockItem",
    "StockMovement",
    "StockSettings",
    "low_stock_events",
]


class MovementKind(enum.Enum):
    """Why stock moved."""

    RECEIPT = "receipt"
    SALE = "sale"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    TRANSFER = "transfer"
    COUNT = "count"


#: What is physically gone (a count, shrinkage) is recorded even when it was promised
#: to orders: the shelf must match the ledger, and available goes below zero to show
#: the shortfall. A transfer, a sale outside an order and anything else may only take
#: what is free.
_TAKES_PROMISED: Final = frozenset({MovementKind.ADJUSTMENT, MovementKind.COUNT})


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
    reason: str = attrs.field(default="", validator=text(1000, blank=True))
    reference: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    """The order, purchase order, transfer or count it belongs to."""

    def __attrs_post_init__(self) -> None:
        quantity = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not quantity:
            raise InvalidInput("a movement moves a non-zero whole number", field="quantity")
        if abs(quantity) > UNLIMITED:
            raise InvalidInput(f"a movement moves at most {UNLIMITED} units", field="quantity")
        if self.kind is MovementKind.ADJUSTMENT and not self.reason:
            raise InvalidInput("an adjustment needs a reason", field="reason")

    @property
    def floor(self) -> int:
        """The lowest available stock this movement may leave behind."""
        return -UNLIMITED if self.kind in _TAKES_PROMISED else 0


def _reorder_point(value: object) -> int:
    return check_count(value, "reorder_point")


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
            check_count(self.quantity, "quantity", minimum=1)
        check_count(self.lead_time_days, "lead_time_days")
        if self.maximum is not None and check_count(self.maximum, "maximum") <= self.reorder_point:
            raise InvalidInput("must be above the reorder point", field="maximum")


def _threshold(value: object) -> int | None:
    return None if value is None else check_count(value, "low_stock_threshold")


@attrs.frozen(kw_only=True)
class StockSettings:
    """An item's settings, which no movement changes."""

    low_stock_threshold: int | None = attrs.field(default=None, converter=_threshold)
    reorder: ReorderPolicy | None = None


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

    @property
    def key(self) -> tuple[str, str]:
        """``(sku, location id)``: one item per SKU and location."""
        return (self.sku, self.location_id)

    @property
    def settings(self) -> StockSettings:
        """The item's low-stock threshold and reorder policy."""
        return StockSettings(low_stock_threshold=self.low_stock_threshold, reorder=self.reorder)

    def record(self, movement: StockMovement, *, floor: int = 0) -> list[DomainEvent]:
        """Apply a ledger movement in place.

        :param floor: the lowest ``available`` may reach (negative with backorders).
        :raises InvalidInput: for a movement of another SKU or location.
        :raises InsufficientStock: if on hand would go below what the policy allows.
        """
        return self._take(StockChange.move(movement, floor=floor))

    def reserve(self, quantity: int, *, floor: int, at: datetime) -> list[DomainEvent]:
        """Hold ``quantity`` in place, for a checkout.

        :raises InsufficientStock: if available would fall below ``floor``.
        """
        check_count(quantity, "quantity", minimum=1)
        return self._take(
            StockChange.hold(self.sku, self.location_id, quantity, floor=floor, at=at)
        )

    def release(self, quantity: int, *, at: datetime) -> list[DomainEvent]:
        """Give back a hold in place (payment failed, order cancelled, hold expired).

        :raises InvalidInput: for more than is reserved.
        """
        check_count(quantity, "quantity", minimum=1)
        return self._take(StockChange.unhold(self.sku, self.location_id, quantity, at=at))

    def _take(self, change: StockChange) -> list[DomainEvent]:
        after, events = change.apply(self)
        self.on_hand, self.reserved, self.version = after.on_hand, after.reserved, after.version
        self.low_stock_threshold, self.reorder = after.low_stock_threshold, after.reorder
        return events


def low_stock_events(before: int, after: StockItem, at: datetime) -> list[DomainEvent]:
    """``StockLow`` when available stock falls from above ``after``'s threshold to
    at or below it: once per crossing, not again while it stays low."""
    threshold = after.low_stock_threshold
    if threshold is None or not before > threshold >= after.available:
        return []
    return [
        StockLow(
            occurred_at=at,
            sku=after.sku,
            location_id=after.location_id,
            available=after.available,
            threshold=threshold,
        )
    ]


@attrs.frozen(kw_only=True)
class StockChange:
    """One change of one stock item, as the domain decided it: what on hand and
    reserved move by, how low available may end, the ledger entry that goes with it,
    and the time it happens (the store clock's).

    Build one with :meth:`move`, :meth:`hold`, :meth:`unhold` or :meth:`configure`.
    """

    sku: str
    location_id: str
    at: datetime
    on_hand: int = 0
    """Signed change of the goods on the shelf."""
    reserved: int = 0
    """Signed change of what orders hold."""
    floor: int | None = None
    """The lowest available may end at; ``None`` when available cannot fall."""
    movement: StockMovement | None = None
    """The ledger entry written with the change (every change of on hand has one)."""
    settings: StockSettings | None = None
    """New settings for the item, if the change sets them."""

    @classmethod
    def move(cls, movement: StockMovement, *, floor: int = 0) -> StockChange:
        """Record a ledger movement; a removal only while available stays at or above
        ``floor``."""
        if isinstance(floor, bool) or not isinstance(floor, int):
            raise InvalidInput("must be a whole number", field="floor")
        return cls(
            sku=movement.sku,
            location_id=movement.location_id,
            at=movement.at,
            on_hand=movement.quantity,
            floor=floor if movement.quantity < 0 else None,
            movement=movement,
        )

    @classmethod
    def hold(
        cls, sku: str, location_id: str, quantity: int, *, floor: int, at: datetime
    ) -> StockChange:
        """Hold ``quantity`` for an order while available stays at or above ``floor``
        (below zero only for a backorder)."""
        if isinstance(floor, bool) or not isinstance(floor, int):
            raise InvalidInput("must be a whole number", field="floor")
        return cls(
            sku=sku,
            location_id=location_id,
            at=at,
            reserved=check_count(quantity, "quantity", minimum=1),
            floor=floor,
        )

    @classmethod
    def unhold(
        cls,
        sku: str,
        location_id: str,
        quantity: int,
        *,
        at: datetime,
        sale: StockMovement | None = None,
    ) -> StockChange:
        """Give back a hold; with ``sale``, the held goods left the shelf as that sale."""
        check_count(quantity, "quantity", minimum=1)
        return cls(
            sku=sku,
            location_id=location_id,
            at=at,
            on_hand=0 if sale is None else sale.quantity,
            reserved=-quantity,
            movement=sale,
        )

    @classmethod
    def configure(
        cls, sku: str, location_id: str, settings: StockSettings, *, at: datetime
    ) -> StockChange:
        """Set an item's low-stock threshold and reorder policy, never its quantities."""
        return cls(sku=sku, location_id=location_id, at=at, settings=settings)

    @property
    def key(self) -> tuple[str, str]:
        """``(sku, location id)``: storage takes items in this order, so that two
        writers never wait for each other crosswise."""
        return (self.sku, self.location_id)

    def refusal(self, on_hand: int, reserved: int) -> CommerceError | None:
        """Why this change may not be applied to an item holding ``on_hand`` and
        ``reserved`` (``None``: it may). Three guards, which SQL storage states as
        the ``WHERE`` of its conditional update:

        - available after the change stays at or above :attr:`floor`;
        - goods on the shelf never go below zero (backorders are holds beyond the
          shelf, never a negative shelf);
        - no more is given back than is held.
        """
        after_on_hand = on_hand + self.on_hand
        after_reserved = reserved + self.reserved
        if self.reserved < 0 and after_reserved < 0:
            return InvalidInput("cannot release more than is reserved", field="quantity")
        allowed: list[int] = []
        short = False
        if self.floor is not None:
            allowed.append(on_hand - reserved - self.floor)
            short = after_on_hand - after_reserved < self.floor
        if self.on_hand < 0:
            allowed.append(on_hand)
            short = short or after_on_hand < 0
        if short:
            requested = max(abs(self.on_hand), abs(self.reserved))
            return InsufficientStock(self.sku, requested, min(allowed))
        return None

    def apply(self, item: StockItem | None) -> tuple[StockItem, list[DomainEvent]]:
        """The item after this change (a new object; ``item`` is left as it was), and
        the ``StockLow`` it sets off. ``None`` is an item never stocked.

        :raises InsufficientStock: or :class:`InvalidInput`, as :meth:`refusal` says.
        :raises InvalidInput: for an item of another SKU or location.
        """
        current = StockItem(sku=self.sku, location_id=self.location_id) if item is None else item
        if current.key != self.key:
            raise InvalidInput("the change is for another stock item", field="sku")
        refused = self.refusal(current.on_hand, current.reserved)
        if refused is not None:
            raise refused
        settings = self.settings or current.settings
        after = StockItem(
            sku=self.sku,
            location_id=self.location_id,
            on_hand=current.on_hand + self.on_hand,
            reserved=current.reserved + self.reserved,
            low_stock_threshold=settings.low_stock_threshold,
            reorder=settings.reorder,
            version=current.version + 1,
        )
        return after, low_stock_events(current.available, after, self.at)
