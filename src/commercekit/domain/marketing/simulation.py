"""A stock simulator: a seeded stream of daily demand, a supplier with a lead time,
and a reorder policy deciding each evening what to order.

It is how the demand-based reorder point (:mod:`commercekit.domain.marketing.reorder`)
is measured against a fixed one. The stream has what real sales have: a level that
drifts (a trend), a weekly rhythm (weekends sell more), a slower season, and noise
wider than a Poisson's (each day's rate is itself drawn). Demand a day's stock cannot
meet is lost, and that day is a stock-out day; what a policy learns from is the sales
(as a ledger records them), never the demand it missed.

The fixed policy is calibrated fairly: its reorder point is the textbook one for the
demand of the quarter before the simulation starts, then moved (both levels by the
same units) to the lowest that holds *no less* stock on average than the demand-based
policy does. The comparison is stock-out
days at no more stock held. Pure: randomness comes from a seeded
:class:`random.Random`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from commercekit.domain.errors import InvalidInput
from commercekit.domain.marketing.reorder import DemandPolicy, DemandStats, demand_stats

__all__ = [
    "Comparison",
    "Outcome",
    "compare",
    "demand_stream",
    "simulate",
]

#: A weekly rhythm: Monday first, weekends busier.
WEEK: Final = (0.9, 0.85, 0.9, 0.95, 1.05, 1.2, 1.15)
#: The rate of a day is drawn from a gamma of this shape around its mean: the smaller,
#: the wider the noise (a Poisson alone is too steady for real sales).
_SHAPE: Final = 8.0


def _poisson(rng: random.Random, rate: float) -> int:
    """A Poisson draw: counting exponential gaps within ``rate`` (fine for the tens of
    units a day simulated here)."""
    count, elapsed = 0, rng.expovariate(1.0)
    while elapsed < rate:
        count += 1
        elapsed += rng.expovariate(1.0)
    return count


def demand_stream(
    rng: random.Random,
    days: int,
    *,
    level: float = 20.0,
    trend: float = 0.5,
    season: float = 0.35,
    season_days: int = 365,
) -> list[int]:
    """Daily demand for ``days`` days: ``level`` units a day growing by ``trend``
    (0.5: half as much again by the end), times the weekly rhythm, times a season of
    ``season_days`` (a year) swinging ``season`` either way from a random point of
    it, with gamma-Poisson noise."""
    if days < 1 or level <= 0:
        raise InvalidInput("needs days and a positive level", field="days")
    phase = rng.uniform(0, 2 * math.pi)
    stream = []
    for day in range(days):
        mean = level * (1 + trend * day / days) * WEEK[day % 7]
        mean *= 1 + season * math.sin(phase + 2 * math.pi * day / season_days)
        rate = rng.gammavariate(_SHAPE, max(mean, 0.0) / _SHAPE) if mean > 0 else 0.0
        stream.append(_poisson(rng, rate))
    return stream


Policy = Callable[[Sequence[int | None], int], int]
"""What to order this evening, from the sales so far (oldest first; ``None`` for a
day the shelf ran empty) and the stock position (on hand plus what is owed)."""


def demand_based(policy: DemandPolicy, lead_time_days: int) -> Policy:
    """The demand-based policy: from the last ``window_days`` of sales, order up to
    the order-up-to level when the position is at or below the reorder point."""
    z = policy.z

    def decide(sales: Sequence[int | None], position: int) -> int:
        stats = demand_stats(
            sales[-policy.window_days :], policy.half_life_days, policy.sigma_half_life_days
        )
        if position > stats.reorder_point(z, lead_time_days):
            return 0
        return max(
            math.ceil(stats.order_up_to(z, lead_time_days, policy.review_days) - position), 0
        )

    return decide


def fixed(reorder_point: int, quantity: int) -> Policy:
    """A fixed policy, as a :class:`~commercekit.domain.inventory.ReorderPolicy` with a
    fixed quantity has it: at or below ``reorder_point``, order ``quantity`` (as many
    times over as it takes to get above the point again)."""
    if quantity < 1:
        raise InvalidInput("must be at least 1", field="quantity")

    def decide(sales: Sequence[int | None], position: int) -> int:
        if position > reorder_point:
            return 0
        return quantity * ((reorder_point - position) // quantity + 1)

    return decide


@attrs.frozen(kw_only=True)
class Outcome:
    """How a policy did over the simulated days."""

    stockout_days: int
    """Days on which some demand found no stock."""
    lost_units: int
    average_on_hand: float
    """Units on the shelf at the end of a day, on average."""
    orders: int
    """Purchase orders placed."""
    ordered_units: int


def simulate(
    demand: Sequence[int],
    decide: Policy,
    *,
    lead_time_days: int,
    on_hand: int,
    history: Sequence[int] = (),
) -> Outcome:
    """Run ``decide`` over ``demand``: each day the deliveries due arrive, the day's
    demand is met from the shelf as far as it goes, and in the evening the policy may
    order, delivered ``lead_time_days`` full days later (ordered on day 0 with a lead
    time of 7, it is on the shelf for day 8).

    :param history: sales before the first day, as the policy's ledger starts.
    """
    sales: list[int | None] = list(history)
    arriving = [0] * (len(demand) + lead_time_days + 2)
    owed = stockouts = lost = orders = ordered = 0
    held = 0
    for day, wanted in enumerate(demand):
        on_hand += arriving[day]
        owed -= arriving[day]
        sold = min(wanted, on_hand)
        on_hand -= sold
        if sold < wanted:
            stockouts += 1
            lost += wanted - sold
        # The ledger shows the shelf ran empty: the day's sales are not its demand.
        sales.append(sold if on_hand else None)
        held += on_hand
        quantity = decide(sales, on_hand + owed)
        if quantity > 0:
            arriving[day + lead_time_days + 1] += quantity
            owed += quantity
            orders += 1
            ordered += quantity
    return Outcome(
        stockout_days=stockouts,
        lost_units=lost,
        average_on_hand=held / len(demand) if demand else 0.0,
        orders=orders,
        ordered_units=ordered,
    )


@attrs.frozen(kw_only=True)
class Comparison:
    """The two policies on the same demand."""

    days: int
    lead_time_days: int
    demand_based: Outcome
    fixed: Outcome
    fixed_reorder_point: int
    fixed_quantity: int
    textbook_reorder_point: int
    """The fixed point before it was moved to hold as much stock."""


def compare(
    seed: int,
    *,
    days: int = 365,
    lead_time_days: int = 7,
    policy: DemandPolicy | None = None,
    trend: float = 0.5,
    season: float = 0.35,
) -> Comparison:
    """Simulate both policies on the stream of ``seed`` with ``trend`` and ``season``
    (see :func:`demand_stream`; its first ``window_days`` are the history both start
    from, the rest is simulated).

    The fixed policy orders the demand-based policy's average order, so that both
    carry the same cycle stock and place about as many orders; its reorder point is
    the textbook one for the history, moved to the lowest that holds no less stock
    on average than the demand-based policy.
    """
    policy = policy or DemandPolicy()
    rng = random.Random(seed)
    stream = demand_stream(rng, policy.window_days + days, trend=trend, season=season)
    history, demand = stream[: policy.window_days], stream[policy.window_days :]
    z = policy.z
    # The textbook fixed point: the history's plain mean and deviation, set once.
    mean = sum(history) / len(history)
    deviation = math.sqrt(sum((units - mean) ** 2 for units in history) / len(history))
    flat = DemandStats(velocity=mean, sigma=deviation, days=len(history))
    point = math.ceil(flat.reorder_point(z, lead_time_days))
    start = math.ceil(flat.order_up_to(z, lead_time_days, policy.review_days))

    adaptive = simulate(
        demand,
        demand_based(policy, lead_time_days),
        lead_time_days=lead_time_days,
        on_hand=start,
        history=history,
    )
    quantity = max(round(adaptive.ordered_units / max(adaptive.orders, 1)), 1)

    def moved(by: int) -> Outcome:
        return simulate(
            demand,
            fixed(point + by, quantity),
            lead_time_days=lead_time_days,
            on_hand=start,
            history=history,
        )

    # The lowest point that holds at least as much stock: more stock on the shelf for
    # a higher point, so a bisection finds it.
    low, high = -point, max(start, 1)
    while moved(high).average_on_hand < adaptive.average_on_hand:
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        if moved(middle).average_on_hand < adaptive.average_on_hand:
            low = middle + 1
        else:
            high = middle
    calibrated = moved(low)
    if calibrated.average_on_hand < adaptive.average_on_hand:
        raise AssertionError("the calibrated fixed policy holds less stock")
    return Comparison(
        days=days,
        lead_time_days=lead_time_days,
        demand_based=adaptive,
        fixed=calibrated,
        fixed_reorder_point=point + low,
        fixed_quantity=quantity,
        textbook_reorder_point=point,
    )
