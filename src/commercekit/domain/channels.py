"""Sales channels: a web shop, a wholesale portal, a country site. Each sells in its
own currencies and locale, prices from the price lists tagged with it (before the
general ones), and may charge tax its own way."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from commercekit.domain._validators import text
from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.money import normalize_currency
from commercekit.domain.pricing import TaxSettings

__all__ = ["Channel"]


def _currencies(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    found = tuple(dict.fromkeys(normalize_currency(code) for code in value))
    if not found:
        raise InvalidInput("a channel sells in at least one currency", field="currencies")
    return found


@attrs.frozen(kw_only=True)
class Channel:
    """Where a store sells, and on what terms."""

    id: str = attrs.field(validator=text(64))
    name: str = ""
    currencies: tuple[str, ...] = attrs.field(converter=_currencies)
    """The currencies carts may be opened in; the first is the default."""
    locale: str = "en"
    """How money and names are shown to its shoppers (a CLDR locale, ``de_DE``)."""
    tax: TaxSettings | None = None
    """How it charges tax; ``None`` charges as the store does."""

    @property
    def default_currency(self) -> str:
        """The currency a cart opens in when none is asked for."""
        return self.currencies[0]

    def currency_for(self, currency: str | None) -> str:
        """The currency a cart in this channel opens in.

        :raises InvalidInput: naming ``currency``, for one the channel does not sell in.
        """
        if currency is None:
            return self.default_currency
        code = normalize_currency(currency)
        if code not in self.currencies:
            sold = ", ".join(self.currencies)
            raise InvalidInput(
                f"channel {shown(self.id)} sells in {sold}, not {code}", field="currency"
            )
        return code
