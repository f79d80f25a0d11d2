"""Tax providers: the store's own zones (``zones``, the default)."""

from commercekit.adapters.tax.zones import ZoneTaxes, register_tax_providers

__all__ = ["ZoneTaxes", "register_tax_providers"]
