"""The allocation suite: what every allocation strategy promises the core, checked
over stocks drawn from a seeded generator (the same every run).

Turn it on for a strategy with a subclass pytest collects::

    class TestNearestFirst(AllocationConformance):
        def make_strategy(self) -> AllocationStrategy:
            return nearest_first
"""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping, Sequence

from commercekit.domain.inventory import Allocation, AllocationStrategy, StockLocation
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed

__all__ = ["RULES", "AllocationConformance"]

KNOWN = "it allocates only SKUs asked for, from locations offered, in positive units"
WITHIN = "it never allocates more of a SKU than was asked for"
STOCK = "it takes more than the locations have only of a SKU that may be owed (floor below 0)"
WHOLE = "when the locations hold enough of a SKU, every unit asked for is allocated"
SAME = "the same stock gives the same allocations"
UNTOUCHED = "it changes none of what it is handed"

#: Every rule the suite checks, as its failures name them.
RULES = (KNOWN, WITHIN, STOCK, WHOLE, SAME, UNTOUCHED, TYPED_ERRORS)

_SKUS = ("A", "B", "C")
_PLACES = ("north", "south", "east")
_Case = tuple[dict[str, int], list[StockLocation], dict[tuple[str, str], int], dict[str, int]]


def _cases(seed: int, count: int) -> list[_Case]:
    """``count`` stocks drawn from a seeded generator: the same cases every run."""
    draw = random.Random(seed)
    cases: list[_Case] = []
    for _ in range(count):
        places = draw.sample(_PLACES, draw.randint(1, len(_PLACES)))
        locations = [
            StockLocation(id=place, name=place.title(), priority=n)
            for n, place in enumerate(places)
        ]
        skus = draw.sample(_SKUS, draw.randint(1, len(_SKUS)))
        wanted = {sku: draw.randint(1, 50) for sku in skus}
        available = {(sku, place): draw.randint(-5, 60) for sku in skus for place in places}
        floors = {sku: draw.choice((0, 0, -10)) for sku in skus}
        cases.append((wanted, locations, available, floors))
    return cases


class AllocationConformance:
    """Subclass it and override :meth:`make_strategy`."""

    def make_strategy(self) -> AllocationStrategy:
        """The strategy under test."""
        raise NotImplementedError("override make_strategy() to return the strategy")

    def _run(self, case: _Case) -> list[Allocation]:
        wanted, locations, available, floors = case
        strategy = self.make_strategy()
        return list(typed(lambda: strategy(wanted, locations, available, floors)))

    seed: int = 20261202
    """Which stocks are drawn; change it to draw others."""
    cases: int = 300

    def test_the_allocations_keep_every_rule(self) -> None:
        """Every rule above, on :attr:`cases` stocks drawn from :attr:`seed`."""
        for case in _cases(self.seed, self.cases):
            self._check(case)

    def _check(self, case: _Case) -> None:
        wanted, locations, available, floors = case
        before = copy.deepcopy(case)
        plan = self._run(case)
        rule(UNTOUCHED, case == before, "the strategy changed its arguments")
        places = {location.id for location in locations}
        for allocation in plan:
            rule(
                KNOWN,
                allocation.sku in wanted
                and allocation.location_id in places
                and allocation.quantity > 0,
                repr(allocation),
            )
        for sku, asked in wanted.items():
            taken = _by_place(plan, sku)
            rule(WITHIN, sum(taken.values()) <= asked, f"{sku}: {taken} for {asked}")
            owed = sum(
                max(0, units - max(0, available.get((sku, place), 0)))
                for place, units in taken.items()
            )
            # How much may be owed is storage's to decide, holding against the floor.
            rule(STOCK, not owed or floors.get(sku, 0) < 0, f"{sku}: owes {owed}, floor 0")
            held = sum(max(0, available.get((sku, place), 0)) for place in places)
            if held >= asked:
                rule(WHOLE, sum(taken.values()) == asked, f"{sku}: {taken} of {asked}")
        rule(SAME, _counted(plan) == _counted(self._run(case)), "a second run differed")


def _by_place(plan: Sequence[Allocation], sku: str) -> dict[str, int]:
    taken: dict[str, int] = {}
    for allocation in plan:
        if allocation.sku == sku:
            taken[allocation.location_id] = (
                taken.get(allocation.location_id, 0) + allocation.quantity
            )
    return taken


def _counted(plan: Sequence[Allocation]) -> Mapping[tuple[str, str], int]:
    counted: dict[tuple[str, str], int] = {}
    for allocation in plan:
        key = (allocation.sku, allocation.location_id)
        counted[key] = counted.get(key, 0) + allocation.quantity
    return counted
