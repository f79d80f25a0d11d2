"""Tax providers: the store's own zones by default, an outside one through a plugin,
recorded on each order, and a provider that cannot answer refusing the checkout with
a typed error and nothing written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from commercekit import StockLocation
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import InvalidInput, InvalidPluginOptions, TaxUnavailable
from commercekit.domain.pricing import TaxAddress, TaxRate, TaxRates, TaxTable
from commercekit.hookspecs import Register, TaxProviderFactory, hookimpl
from commercekit.store import Store
from tests.services.conftest import CONFIG, ready_cart, seed


class FlatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: Decimal
    fail: bool = False


class Flat:
    """One rate on everything, everywhere: an outside service's answer, stood in for."""

    name = "flat"

    def __init__(self, options: FlatOptions) -> None:
        self._rate = TaxRate(name=f"Flat {options.rate * 100:.0f}%", rate=options.rate)
        self._fail = options.fail

    def rates(self, zones: TaxTable) -> TaxRates:
        return self

    def rates_by_category(self, address: TaxAddress | None) -> Callable[[str], tuple[TaxRate, ...]]:
        if self._fail:
            raise ConnectionError("the tax service is down")
        return lambda category: (self._rate,)


class FlatPlugin:
    @hookimpl
    def register_tax_providers(self, register: Register[TaxProviderFactory]) -> None:
        register("flat", Flat, options=FlatOptions)


def opened(url: str, clock: FixedClock, **provider: Any) -> Store:
    config = {**CONFIG, **({"tax_provider": provider} if provider else {})}
    store = Store.open(url, config=config, clock=clock, plugins=[FlatPlugin()])
    seed(store)
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    store.inventory.receive("RETRO-MUG", "berlin", 10)
    return store


@pytest.fixture
def flat(store_url: str, clock: FixedClock) -> Iterator[Store]:
    with opened(store_url, clock, plugin="flat", options={"rate": "0.10"}) as store:
        yield store


def test_the_stores_own_zones_tax_by_default_and_the_order_says_so(
    store_url: str, clock: FixedClock
) -> None:
    with opened(store_url, clock) as store:
        cart = ready_cart(store, lines={"RETRO-MUG": 1})
        order = store.checkout.place_order(cart.token, idempotency_key="zones")
        assert order.tax_provider == "zones"
        assert store.orders.get(order.id).tax_provider == "zones"
        (line,) = order.lines
        assert [name for name, _, _ in line.taxes] == ["VAT"]


def test_a_provider_of_its_own_taxes_the_order_and_is_recorded(flat: Store) -> None:
    cart = ready_cart(flat, lines={"RETRO-MUG": 1})
    order = flat.checkout.place_order(cart.token, idempotency_key="flat")
    (line,) = order.lines
    # 12.00 at a flat 10% added on top: 1.20.
    assert line.tax_units == 120
    assert line.taxes == (("Flat 10%", "0.10", 120),)
    assert flat.orders.get(order.id).tax_provider == "flat"


def test_a_provider_that_cannot_answer_refuses_the_checkout_and_writes_nothing(
    store_url: str, clock: FixedClock
) -> None:
    with opened(store_url, clock, plugin="flat", options={"rate": "0.10", "fail": True}) as store:
        with pytest.raises(TaxUnavailable) as refused:
            ready_cart(store, lines={"RETRO-MUG": 1})
        assert (refused.value.code, refused.value.field) == ("tax_unavailable", "tax")
        assert "flat" in str(refused.value)
        assert refused.value.retryable
        # Nothing was held for an order that was never placed.
        assert store.inventory.available("RETRO-MUG") == 10


def test_a_wrong_provider_or_option_is_named_when_the_store_opens(
    store_url: str, clock: FixedClock
) -> None:
    with pytest.raises(InvalidPluginOptions) as wrong:
        opened(store_url, clock, plugin="flat", options={"rate": "a lot"})
    assert wrong.value.field == "tax_provider.options.rate"
    with pytest.raises(InvalidInput) as unknown:
        opened(store_url, clock, plugin="avalara-lookalike")
    assert unknown.value.field == "tax_provider"
