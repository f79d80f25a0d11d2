"""Money: currencies, rounding to the minor unit, exact allocation and formatting.

Every rounding in commercekit goes through this package. Currency precision comes
from Babel's CLDR data (JPY 0, EUR 2, KWD 3), not from py-moneyed's own sub-unit
table, which disagrees with CLDR for dozens of currencies.
"""

from __future__ import annotations

from commercekit.domain.money.amounts import (
    DEFAULT_ROUNDING,
    MAX_AMOUNT,
    MAX_DIGITS,
    MIN_EXPONENT,
    Money,
    Rounding,
    currency_precision,
    format_measure,
    format_money,
    from_minor_units,
    is_rounded,
    minor_units,
    normalize_currency,
    quantize,
    round_money,
    sum_money,
    to_decimal,
    zero,
)
from commercekit.domain.money.splitting import (
    allocate,
    allocate_units,
    divide_rounded,
    round_table,
    round_to_total,
    split,
)

__all__ = [
    "DEFAULT_ROUNDING",
    "MAX_AMOUNT",
    "MAX_DIGITS",
    "MIN_EXPONENT",
    "Money",
    "Rounding",
    "allocate",
    "allocate_units",
    "currency_precision",
    "divide_rounded",
    "format_measure",
    "format_money",
    "from_minor_units",
    "is_rounded",
    "minor_units",
    "normalize_currency",
    "quantize",
    "round_money",
    "round_table",
    "round_to_total",
    "split",
    "sum_money",
    "to_decimal",
    "zero",
]
