"""The allocation and tax provider suites: the built-in strategies and the zones
provider keep every rule; broken ones fail naming the rule they break."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from commercekit.adapters.tax import ZoneTaxes
from commercekit.domain.errors import TaxUnavailable
from commercekit.domain.inventory import (
    Allocation,
    AllocationStrategy,
    FewestLocations,
    PriorityOrder,
    StockLocation,
)
from commercekit.domain.pricing import TaxAddress, TaxRate, TaxRates, TaxTable
from commercekit.ports.tax import TaxProvider
from commercekit.testing.conformance import allocation, tax
from commercekit.testing.conformance.allocation import AllocationConformance
from commercekit.testing.conformance.tax import TaxProviderConformance


class TestPriorityOrder(AllocationConformance):
    def make_strategy(self) -> AllocationStrategy:
        return PriorityOrder


class TestFewestLocations(AllocationConformance):
    def make_strategy(self) -> AllocationStrategy:
        return FewestLocations


class _Down:
    name = "down"

    def rates(self, zones: TaxTable) -> TaxRates:
        raise TaxUnavailable("down", "the service is down")


class TestTheStoresZones(TaxProviderConformance):
    def make_provider(self) -> TaxProvider:
        return ZoneTaxes()

    def failing_provider(self) -> TaxProvider:
        return _Down()


# --- broken ones -------------------------------------------------------------------------


def _greedy(
    wanted: Mapping[str, int],
    locations: Sequence[StockLocation],
    available: Mapping[tuple[str, str], int],
    floors: Mapping[str, int],
) -> list[Allocation]:
    """Takes everything from the first location, stock or not."""
    return [
        Allocation(sku=sku, location_id=locations[0].id, quantity=n) for sku, n in wanted.items()
    ]


def _shy(
    wanted: Mapping[str, int],
    locations: Sequence[StockLocation],
    available: Mapping[tuple[str, str], int],
    floors: Mapping[str, int],
) -> list[Allocation]:
    """Takes one unit less than asked, wherever it is."""
    return [
        Allocation(sku=sku, location_id=locations[0].id, quantity=n - 1)
        for sku, n in wanted.items()
        if n > 1 and available.get((sku, locations[0].id), 0) >= n
    ]


@pytest.mark.parametrize(
    ("strategy", "broken"), [(_greedy, allocation.STOCK), (_shy, allocation.WHOLE)]
)
def test_a_broken_strategy_fails_the_rule_it_breaks(
    strategy: AllocationStrategy, broken: str
) -> None:
    class Broken(AllocationConformance):
        def make_strategy(self) -> AllocationStrategy:
            return strategy

    with pytest.raises(AssertionError, match=re.escape(f"rule broken: {broken}")):
        Broken().test_the_allocations_keep_every_rule()


class _Everywhere:
    """Charges VAT wherever, even with no address, and answers in a list."""

    name = "everywhere"

    def rates(self, zones: TaxTable) -> TaxRates:
        return self

    def rates_by_category(self, address: TaxAddress | None) -> Callable[[str], Any]:
        return lambda category: [TaxRate(name="VAT", rate="0.19")]


class _Raw:
    """Lets its service's own error through."""

    name = "raw"

    def rates(self, zones: TaxTable) -> TaxRates:
        raise ConnectionError("refused")


@pytest.mark.parametrize(
    ("provider", "test", "broken"),
    [
        (_Everywhere(), "test_each_category_gets_rates_from_0_to_1", tax.RATES),
        (_Everywhere(), "test_no_address_pays_no_tax", tax.NOWHERE),
        (_Raw(), "test_each_category_gets_rates_from_0_to_1", tax.TYPED_ERRORS),
    ],
)
def test_a_broken_tax_provider_fails_the_rule_it_breaks(
    provider: TaxProvider, test: str, broken: str
) -> None:
    class Broken(TaxProviderConformance):
        def make_provider(self) -> TaxProvider:
            return provider

    with pytest.raises(AssertionError, match=re.escape(f"rule broken: {broken}")):
        getattr(Broken(), test)()


def test_a_provider_that_fails_quietly_breaks_the_failure_rule() -> None:
    class Quiet(TaxProviderConformance):
        def make_provider(self) -> TaxProvider:
            return ZoneTaxes()

        def failing_provider(self) -> TaxProvider:
            return ZoneTaxes()  # answers even when it should not

    with pytest.raises(AssertionError, match=re.escape(f"rule broken: {tax.FAILURE}")):
        Quiet().test_a_provider_that_cannot_answer_raises_tax_unavailable()
