"""Stock-out days of the demand-based reorder point beside a fixed one holding no less
stock, in a simulated year.

For each seed, a year of daily demand (20 a day growing by half over the year, a
weekly rhythm, a yearly season swinging 35% either way, noise wider than a
Poisson's) is met from a shelf restocked by a supplier with a lead time of 7 days.
The demand-based policy (velocity with a 7-day half-life, sigma with 28 days, 95%
service level, 7 review days) reads only the sales, as a ledger has them. The fixed
policy orders the demand-based one's average order at a fixed point: the textbook
point for the quarter before the year, moved to the lowest that holds no less stock
on average. A second block runs flat demand (no trend, no season), where a point set
on the quarter before is right all year and the demand-based one only adds the noise
of its estimates.

Run: ``python bench/reorder.py`` (``--quick`` for three seeds).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from commercekit.domain.marketing.simulation import Comparison, compare

SEEDS = tuple(range(1, 11))


def table(seeds: tuple[int, ...], run: Callable[[int], Comparison]) -> None:
    header = (
        "seed",
        "stock-out days d/f",
        "lost units d/f",
        "avg stock d/f",
        "orders d/f",
        "fixed point",
    )
    print("{:>4} {:>18} {:>15} {:>15} {:>11} {:>12}".format(*header))
    totals = [0, 0]
    for seed in seeds:
        found = run(seed)
        d, f = found.demand_based, found.fixed
        totals[0] += d.stockout_days
        totals[1] += f.stockout_days
        days = f"{d.stockout_days:>9}/{f.stockout_days:<8}"
        lost = f"{d.lost_units:>7}/{f.lost_units:<7}"
        stock = f"{d.average_on_hand:>7.1f}/{f.average_on_hand:<7.1f}"
        orders = f"{d.orders:>5}/{f.orders:<5}"
        point = f"{found.fixed_reorder_point:>5} ({found.textbook_reorder_point})"
        print(f"{seed:>4} {days} {lost} {stock} {orders} {point}")
    print(f"total stock-out days: demand-based {totals[0]}, fixed {totals[1]}")


def flat(seed: int) -> Comparison:
    return compare(seed, trend=0.0, season=0.0)


def main(quick: bool = False) -> None:
    seeds = SEEDS[:3] if quick else SEEDS
    print("A year with trend and season (d: demand-based, f: fixed):")
    table(seeds, compare)
    print()
    print("A flat year:")
    table(seeds, flat)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
