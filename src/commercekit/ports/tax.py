"""The tax port: where a store learns what tax an address pays.

The built-in provider answers from the store's own tax zones
(:class:`~commercekit.domain.pricing.TaxTable`); an outside tax service plugs in as a
provider of its own. Pricing asks a provider once per cart for the rates of the
address it is taxed at (see :class:`~commercekit.domain.pricing.TaxRates`), and the
order records which provider answered (``Order.tax_provider``) beside the rates
each line was taxed at.

A provider that cannot answer raises
:class:`~commercekit.domain.errors.TaxUnavailable`; the store turns any other
failure of a provider into one, so a checkout refuses a cart it cannot tax with a
typed error and writes nothing.
"""

from __future__ import annotations

from typing import Protocol

from commercekit.domain.pricing import TaxRates, TaxTable

__all__ = ["TaxProvider"]


class TaxProvider(Protocol):
    """Gives pricing the rates to charge."""

    @property
    def name(self) -> str:
        """Recorded on each order it taxed."""
        ...

    def rates(self, zones: TaxTable) -> TaxRates:
        """The rates to price with, given the store's own tax zones (which a provider
        of its own may ignore). Called once per pricing.

        :raises TaxUnavailable: when it cannot answer.
        """
        ...
