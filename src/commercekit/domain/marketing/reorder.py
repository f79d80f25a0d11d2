"""Reordering from demand: how fast a SKU sells, how unsteadily, and so when to order
and how much.

A fixed reorder point is right for one level of demand and wrong for every other:
too low when sales pick up (stock runs out before the supplier delivers), too high
when they slow (stock sits on the shelf). Here the point follows the sales ledger:

- *velocity*: units a day, an exponentially weighted mean of the daily sales, each
  day weighing half as much as the day ``half_life_days`` later, so that last week
  counts more than last quarter;
- *sigma*: the standard deviation of daily sales, weighted the same way over a
  longer half-life (four weeks by default);
- *safety stock* = z x sigma x sqrt(lead time), z from the service level (1.645 for
  95%: the share of replenishment cycles meant to end without running out);
- *reorder point* = velocity x lead time + safety stock: what selling at the current
  pace takes until an order placed today arrives, and a cushion for its swings;
- *order up to* = velocity x (lead time + review days) + safety stock: an order tops
  the stock position (on hand, less what orders hold, plus what suppliers still owe)
  up to this.

A day that ended with an empty shelf is left out of both (see :func:`demand_stats`).
Demand figures are floats (rates, not money); what is ordered is whole units.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from statistics import NormalDist
from typing import Final

import attrs

from commercekit.domain.errors import InvalidInput
from commercekit.domain.inventory import (
    MovementKind,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockItem,
    StockMovement,
)

__all__ = [
    "DemandPolicy",
    "DemandStats",
    "ReorderSuggestion",
    "daily_sales",
    "demand_stats",
    "lead_time_of",
    "on_order",
    "sales_window",
    "suggest",
    "suggestions",
    "z_for",
]

#: Service levels a policy may aim at: below a half the cushion would be negative.
_LEVELS: Final = (Decimal("0.5"), Decimal("0.9999"))


def z_for(service_level: Decimal) -> float:
    """The standard normal quantile of ``service_level`` (1.645 for 0.95).

    :raises InvalidInput: naming ``service_level``, outside 0.5 to 0.9999.
    """
    if not isinstance(service_level, Decimal) or not _LEVELS[0] <= service_level <= _LEVELS[1]:
        raise InvalidInput(
            f"must be a decimal from {_LEVELS[0]} to {_LEVELS[1]}", field="service_level"
        )
    return NormalDist().inv_cdf(float(service_level))


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidInput("must be a number above 0", field=attribute.name)


def _days(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
        raise InvalidInput("must be a whole number of days from 0 to 3650", field=attribute.name)


@attrs.frozen(kw_only=True)
class DemandPolicy:
    """How demand is read from the sales and turned into a reorder point."""

    service_level: Decimal = attrs.field(default=Decimal("0.95"))
    """The share of replenishment cycles meant to end without running out."""
    half_life_days: float = attrs.field(default=7.0, validator=_positive)
    """For velocity, a day's sales weigh half as much as those this many days later."""
    sigma_half_life_days: float = attrs.field(default=28.0, validator=_positive)
    """The same for sigma."""
    window_days: int = attrs.field(default=91, validator=_days)
    """How many days of sales are read (the older ones weigh little anyway)."""
    review_days: int = attrs.field(default=7, validator=_days)
    """How often stock is looked at: an order covers the lead time and this."""

    @property
    def z(self) -> float:
        """The safety factor for :attr:`service_level`."""
        return z_for(self.service_level)

    def __attrs_post_init__(self) -> None:
        _ = self.z  # refuses a service level out of range
        if self.window_days < 1:
            raise InvalidInput("must be at least 1 day", field="window_days")


@attrs.frozen(kw_only=True)
class DemandStats:
    """What the sales say of one SKU at one location."""

    velocity: float
    """Units a day, recent days weighing more."""
    sigma: float
    """Standard deviation of daily units."""
    days: int
    """Days of sales read."""

    def safety_stock(self, z: float, lead_time_days: int) -> float:
        """z x sigma x sqrt(lead time)."""
        return z * self.sigma * math.sqrt(lead_time_days)

    def reorder_point(self, z: float, lead_time_days: int) -> float:
        """velocity x lead time + safety stock."""
        return self.velocity * lead_time_days + self.safety_stock(z, lead_time_days)

    def order_up_to(self, z: float, lead_time_days: int, review_days: int) -> float:
        """velocity x (lead time + review days) + safety stock."""
        covered = lead_time_days + review_days
        return self.velocity * covered + self.safety_stock(z, lead_time_days)


def _weighted(daily: Sequence[int | None], half_life_days: float) -> list[tuple[float, int]]:
    """``(weight, units)`` of each known day, the newest weighing 1."""
    decay = 0.5 ** (1 / half_life_days)
    newest = len(daily) - 1
    return [(decay ** (newest - n), units) for n, units in enumerate(daily) if units is not None]


def _mean(weighted: Sequence[tuple[float, int]]) -> tuple[float, float]:
    total = sum(weight for weight, _ in weighted)
    return sum(weight * units for weight, units in weighted) / total, total


def demand_stats(
    daily: Sequence[int | None], half_life_days: float, sigma_half_life_days: float | None = None
) -> DemandStats:
    """Velocity and sigma of ``daily`` sales, oldest day first.

    Velocity is an exponentially weighted mean: the newest day weighs 1 and a day
    ``half_life_days`` older 1/2. Sigma is the standard deviation weighted alike
    with ``sigma_half_life_days`` (four times as long by default): how unsteady a
    SKU sells changes more slowly than how much it sells, and a spread read from two
    weeks is mostly noise.

    A day given as ``None`` is left out (it still ages the days before it): a day the
    shelf ran empty tells how much stock there was, not how much was wanted, and
    read as a slow day it would lower the reorder point just when it is too low.
    No days: no demand.
    """
    recent = _weighted(daily, half_life_days)
    if not recent:
        return DemandStats(velocity=0.0, sigma=0.0, days=0)
    velocity, _ = _mean(recent)
    longer = _weighted(daily, sigma_half_life_days or 4 * half_life_days)
    centre, total = _mean(longer)
    variance = sum(weight * (units - centre) ** 2 for weight, units in longer) / total
    return DemandStats(velocity=velocity, sigma=math.sqrt(variance), days=len(recent))


def daily_sales(movements: Iterable[StockMovement], *, first: date, last: date) -> list[int | None]:
    """Units sold each day (UTC) from ``first`` to ``last``, both included, from one
    stock item's whole ledger: a day without sales sold none, and a day that ended
    with nothing on the shelf is ``None`` (its sales were what there was, not what
    was wanted; see :func:`demand_stats`)."""
    if last < first:
        return []
    days = (last - first).days + 1
    sold = [0] * days
    moved = [0] * days
    on_hand = 0
    for movement in movements:
        offset = (movement.at.astimezone(UTC).date() - first).days
        if offset < 0:
            on_hand += movement.quantity
        elif offset < days:
            moved[offset] += movement.quantity
            if movement.kind is MovementKind.SALE:
                sold[offset] -= movement.quantity
    found: list[int | None] = []
    for units, change in zip(sold, moved, strict=True):
        on_hand += change
        found.append(units if on_hand > 0 else None)
    return found


_OWED: Final = frozenset(
    {PurchaseOrderStatus.DRAFT, PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED}
)


def on_order(purchase_orders: Iterable[PurchaseOrder]) -> dict[tuple[str, str], int]:
    """Units still owed per ``(sku, location)`` by these purchase orders: drafts too
    (one made from a suggestion should not be suggested again), not what arrived,
    nothing of a cancelled or received one."""
    owed: dict[tuple[str, str], int] = {}
    for order in purchase_orders:
        if order.status not in _OWED:
            continue
        for line in order.lines:
            left = line.quantity - line.received
            if left > 0:
                key = (line.sku, order.location_id)
                owed[key] = owed.get(key, 0) + left
    return owed


@attrs.frozen(kw_only=True)
class ReorderSuggestion:
    """What to order of one SKU for one location, and the figures behind it."""

    sku: str
    location_id: str
    quantity: int
    """Units to order now (0: the position is above the reorder point)."""
    position: int
    """On hand, less what orders hold, plus what suppliers owe."""
    velocity: float
    sigma: float
    lead_time_days: int
    safety_stock: float
    reorder_point: float
    order_up_to: float


def suggest(
    item: StockItem,
    stats: DemandStats,
    *,
    policy: DemandPolicy,
    lead_time_days: int,
    owed: int = 0,
) -> ReorderSuggestion:
    """What to order for ``item``: when its position (available plus ``owed``) is at
    or below the reorder point, enough to reach the order-up-to level, in whole
    units (rounded up: a part of a unit short is a unit short)."""
    z = policy.z
    position = item.available + owed
    point = stats.reorder_point(z, lead_time_days)
    level = stats.order_up_to(z, lead_time_days, policy.review_days)
    quantity = 0
    if stats.velocity > 0 and position <= point:
        quantity = max(math.ceil(level - position), 0)
    return ReorderSuggestion(
        sku=item.sku,
        location_id=item.location_id,
        quantity=quantity,
        position=position,
        velocity=stats.velocity,
        sigma=stats.sigma,
        lead_time_days=lead_time_days,
        safety_stock=stats.safety_stock(z, lead_time_days),
        reorder_point=point,
        order_up_to=level,
    )


def sales_window(now: datetime, policy: DemandPolicy) -> tuple[date, date]:
    """The days (UTC) a suggestion made at ``now`` reads: the ``window_days`` full
    days before today (today is not over, so its sales would read as a slump)."""
    last = now.astimezone(UTC).date() - timedelta(days=1)
    return last - timedelta(days=policy.window_days - 1), last


def lead_time_of(item: StockItem, default: int) -> int:
    """The item's supplier lead time (its reorder policy's), else ``default``."""
    return item.reorder.lead_time_days if item.reorder is not None else default


def suggestions(
    items: Iterable[StockItem],
    sales: Mapping[tuple[str, str], Sequence[int | None]],
    owed: Mapping[tuple[str, str], int],
    *,
    policy: DemandPolicy,
    lead_time_days: int,
) -> list[ReorderSuggestion]:
    """:func:`suggest` for each item, from its daily sales and what is owed to it,
    keeping those with something to order, by SKU then location."""
    found = []
    for item in items:
        stats = demand_stats(
            sales.get(item.key, ()), policy.half_life_days, policy.sigma_half_life_days
        )
        made = suggest(
            item,
            stats,
            policy=policy,
            lead_time_days=lead_time_of(item, lead_time_days),
            owed=owed.get(item.key, 0),
        )
        if made.quantity:
            found.append(made)
    return sorted(found, key=lambda s: (s.sku, s.location_id))
