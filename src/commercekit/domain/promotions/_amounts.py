"""Amounts a promotion gives or asks for: one per currency, in minor units."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

import moneyed

from commercekit.domain.errors import InvalidInput
from commercekit.domain.money import minor_units

__all__ = [
    "amounts_by_currency",
    "units_in",
]


def amounts_by_currency(
    value: moneyed.Money | Iterable[moneyed.Money],
) -> Mapping[str, moneyed.Money]:
    """One amount per currency, from a ``Money`` or several in different currencies."""
    items = [value] if isinstance(value, moneyed.Money) else list(value)
    found: dict[str, moneyed.Money] = {}
    for money in items:
        if not isinstance(money, moneyed.Money):
            raise InvalidInput("expected Money", field="amount")
        if money.amount <= 0:
            raise InvalidInput("must be more than zero", field="amount")
        minor_units(money)  # refuses amounts finer than the minor unit
        code = str(money.currency.code)
        if code in found:
            # One would silently win over the other; say which is meant instead.
            raise InvalidInput(f"two amounts in {code}; give one per currency", field="amount")
        found[code] = money
    if not found:
        raise InvalidInput("at least one amount is needed", field="amount")
    return found


def units_in(amounts: Mapping[str, moneyed.Money], currency: str) -> int | None:
    """The amount for ``currency`` in minor units, or ``None`` if there is none."""
    money = amounts.get(currency)
    return None if money is None else _units(money)


@cache
def _units(money: moneyed.Money) -> int:
    # Promotion amounts are few and fixed; their minor units are worked out once.
    return minor_units(money)
