"""The tax provider suite: what every :class:`~commercekit.ports.tax.TaxProvider`
promises the core.

Turn it on for a provider with a subclass pytest collects::

    class TestMyTaxes(TaxProviderConformance):
        def make_provider(self) -> TaxProvider:
            return MyTaxService(api_key=..., sandbox=True)

        def failing_provider(self) -> TaxProvider:
            return MyTaxService(api_key="revoked")

Addresses and categories to ask about are :attr:`addresses` and :attr:`categories`.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import ClassVar

import pytest

from commercekit.domain.errors import TaxUnavailable
from commercekit.domain.pricing import TaxAddress, TaxRate, TaxTable, TaxZone
from commercekit.domain.pricing import TaxRate as _Rate
from commercekit.ports.tax import TaxProvider
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed

__all__ = ["RULES", "TaxProviderConformance"]

NAMED = "it has a name to record on the orders it taxes"
RATES = "it answers each category with a tuple of TaxRates, each from 0 to 1"
NOWHERE = "an order with no address to tax at pays no tax"
SAME = "the same address and category get the same rates"
FAILURE = "a provider that cannot answer raises TaxUnavailable"

#: Every rule the suite checks, as its failures name them.
RULES = (NAMED, RATES, NOWHERE, SAME, FAILURE, TYPED_ERRORS)

#: The store's own zones, handed to the provider as a store hands them.
ZONES = TaxTable([TaxZone(id="de", country="DE", rates=[_Rate(name="VAT 19%", rate="0.19")])])


def _ask(provider: TaxProvider, address: TaxAddress | None, category: str) -> object:
    """The provider's rates for one category at one address, as pricing asks."""
    return provider.rates(ZONES).rates_by_category(address)(category)


class TaxProviderConformance:
    """Subclass it and override :meth:`make_provider` (and :meth:`failing_provider`)."""

    addresses: ClassVar[tuple[TaxAddress, ...]] = (
        TaxAddress(country="DE"),
        TaxAddress(country="US", region="CA", postal_code="94110"),
    )
    categories: ClassVar[tuple[str, ...]] = ("standard", "food")

    def make_provider(self) -> TaxProvider:
        """The provider under test."""
        raise NotImplementedError("override make_provider() to return the provider")

    def failing_provider(self) -> TaxProvider:
        """A provider that cannot answer (its service down); skipped unless given."""
        pytest.skip("failing_provider() is not given: the failure rule is not checked")

    def test_it_has_a_name(self) -> None:
        name = self.make_provider().name
        rule(NAMED, isinstance(name, str) and bool(name.strip()), repr(name))

    def test_each_category_gets_rates_from_0_to_1(self) -> None:
        provider = self.make_provider()
        for address in self.addresses:
            for category in self.categories:
                found = typed(partial(_ask, provider, address, category))
                rule(RATES, isinstance(found, tuple), f"{category}: {found!r}")
                assert isinstance(found, tuple)
                for rate in found:
                    rule(
                        RATES,
                        isinstance(rate, TaxRate) and Decimal(0) <= rate.rate <= Decimal(1),
                        f"{category} at {address}: {rate!r}",
                    )

    def test_no_address_pays_no_tax(self) -> None:
        provider = self.make_provider()
        for category in self.categories:
            found = typed(partial(_ask, provider, None, category))
            rule(NOWHERE, found == (), f"{category}: {found!r}")

    def test_the_same_question_gets_the_same_answer(self) -> None:
        provider = self.make_provider()
        for address in self.addresses:
            for category in self.categories:
                first = typed(partial(_ask, provider, address, category))
                again = typed(partial(_ask, provider, address, category))
                rule(SAME, first == again, f"{category} at {address}: {first!r} then {again!r}")

    def test_a_provider_that_cannot_answer_raises_tax_unavailable(self) -> None:
        provider = self.failing_provider()
        try:
            for address in self.addresses:
                lookup = provider.rates(ZONES).rates_by_category(address)
                for category in self.categories:
                    lookup(category)
        except TaxUnavailable:
            return
        except Exception as error:
            rule(FAILURE, False, f"raised {type(error).__name__}: {error}")
        rule(FAILURE, False, "it answered")
