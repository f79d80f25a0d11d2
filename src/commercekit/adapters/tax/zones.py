"""The built-in tax provider: the rates of the store's own tax zones."""

from __future__ import annotations

from typing import Any, final

from pydantic import BaseModel, ConfigDict

from commercekit.domain.pricing import TaxRates, TaxTable
from commercekit.hookspecs import Register, TaxProviderFactory, hookimpl

__all__ = ["ZoneTaxes", "register_tax_providers"]


@final
class ZoneTaxes:
    """Answers from the tax zones the store keeps (``catalog.add_tax_zone``)."""

    name = "zones"

    def rates(self, zones: TaxTable) -> TaxRates:
        return zones


def _zones(options: Any) -> ZoneTaxes:
    return ZoneTaxes()


class _NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@hookimpl
def register_tax_providers(register: Register[TaxProviderFactory]) -> None:
    """Offer ``zones``: the store's own tax zones."""
    register("zones", _zones, options=_NoOptions)
