"""Money: currencies, rounding to the minor unit, exact allocation and formatting.

Every rounding in commercekit goes through this module. Currency precision comes
from Babel's CLDR data (JPY 0, EUR 2, KWD 3), not from py-moneyed's own sub-unit
table, which disagrees with CLDR for dozens of currencies.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from fractions import Fraction
from functools import cache
from typing import Final

import moneyed
from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision, list_currencies

from commercekit.domain.errors import CurrencyMismatch, InvalidInput, UnknownCurrency

__all__ = [
    "MAX_AMOUNT",
    "Money",
    "Rounding",
    "allocate",
    "allocate_units",
    "currency_precision",
    "divide_rounded",
    "format_money",
    "from_minor_units",
    "minor_units",
    "normalize_currency",
    "quantize",
    "round_money",
    "round_to_total",
    "split",
    "to_decimal",
    "zero",
]

#: No price, total or discount in any currency is larger than this; anything beyond
#: it is a bug or an attack, and is refused before it reaches arithmetic.
MAX_AMOUNT: Final = Decimal("1e15")

_ZERO: Final = Decimal(0)
_KNOWN_CURRENCIES: Final = frozenset(list_currencies())


class Rounding(enum.Enum):
    """How an amount is brought to the currency's minor unit.

    ``HALF_UP`` (ties away from zero) is the commercial rounding most tax authorities
    expect and the default; ``HALF_EVEN`` (banker's rounding) is there for those that
    ask for it.
    """

    HALF_UP = ROUND_HALF_UP
    HALF_EVEN = ROUND_HALF_EVEN
    HALF_DOWN = ROUND_HALF_DOWN
    UP = ROUND_UP
    DOWN = ROUND_DOWN
    CEILING = ROUND_CEILING
    FLOOR = ROUND_FLOOR


DEFAULT_ROUNDING: Final = Rounding.HALF_UP


def normalize_currency(code: object, *, field: str = "currency") -> str:
    """Return ``code`` as an upper-case ISO 4217 code, or raise.

    :raises UnknownCurrency: not a string, or not a currency CLDR knows.
    """
    if isinstance(code, moneyed.Currency):
        code = code.code
    if not isinstance(code, str):
        raise UnknownCurrency(code, field=field)
    normal = code.strip().upper()
    if normal not in _KNOWN_CURRENCIES:
        raise UnknownCurrency(code, field=field)
    return normal


@cache
def currency_precision(code: str) -> int:
    """The number of decimal places of the currency's minor unit, from CLDR.

    :raises UnknownCurrency: for a code CLDR does not know.
    """
    return int(get_currency_precision(normalize_currency(code)))


@cache
def _exponent(code: str) -> Decimal:
    return Decimal(1).scaleb(-currency_precision(code))


@cache
def _moneyed_currency(code: str) -> moneyed.Currency:
    try:
        return moneyed.get_currency(code)
    except moneyed.CurrencyDoesNotExist:
        # CLDR knows a few currencies py-moneyed's table does not (yet).
        return moneyed.add_currency(code, numeric="", name=code, countries=[])


def to_decimal(value: object, *, field: str = "amount", limit: Decimal = MAX_AMOUNT) -> Decimal:
    """Turn ``value`` into a finite ``Decimal`` no larger than ``limit`` in magnitude.

    Accepts ``Decimal``, ``int`` and decimal strings. Floats are refused: they cannot
    hold most decimal amounts exactly, so accepting them would hide a rounding bug.

    :raises InvalidInput: naming ``field``.
    """
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (bool, float)):
        raise InvalidInput(
            f"expected a Decimal, int or decimal string, got {type(value).__name__}",
            field=field,
        )
    elif isinstance(value, int | str):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except (InvalidOperation, ValueError):
            raise InvalidInput(f"{value!r} is not a decimal number", field=field) from None
    else:
        raise InvalidInput(
            f"expected a Decimal, int or decimal string, got {type(value).__name__}",
            field=field,
        )
    if not number.is_finite():
        raise InvalidInput(f"{value!r} is not a finite number", field=field)
    if abs(number) > limit:
        raise InvalidInput(f"{value!r} is larger than the allowed {limit}", field=field)
    return number


class Money(moneyed.Money):
    """py-moneyed's ``Money``, strict about what it accepts and what it mixes.

    - the amount must be a ``Decimal``, ``int`` or decimal string (never a float),
      finite and at most :data:`MAX_AMOUNT`;
    - the currency must be one CLDR knows;
    - adding, subtracting, comparing or dividing amounts in two currencies raises
      :class:`CurrencyMismatch` (a ``TypeError``) rather than a bare ``TypeError``.

    Arithmetic does not round: call :func:`round_money` where a figure is final.
    """

    def __init__(self, amount: object = _ZERO, currency: object = None) -> None:
        if currency is None:
            raise UnknownCurrency(None)
        code = normalize_currency(currency)
        super().__init__(to_decimal(amount), _moneyed_currency(code))

    @classmethod
    def _exact(cls, amount: Decimal, code: str) -> Money:
        # Internal fast path for amounts this module has already validated.
        instance = cls.__new__(cls)
        instance.__dict__["amount"] = amount
        instance.__dict__["currency"] = _moneyed_currency(code)
        return instance

    @property
    def code(self) -> str:
        """The ISO 4217 code of the currency, such as ``"EUR"``."""
        return str(self.currency.code)

    def _same_currency(self, other: moneyed.Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency.code, other.currency.code)

    def __add__(self, other: object) -> Money:
        if isinstance(other, moneyed.Money):
            self._same_currency(other)
        return super().__add__(other)

    __radd__ = __add__

    def __mul__(self, other: object) -> Money:
        if isinstance(other, float):
            raise InvalidInput("cannot multiply money by a float", field="multiplier")
        return super().__mul__(other)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Money | Decimal:
        if isinstance(other, float):
            raise InvalidInput("cannot divide money by a float", field="divisor")
        if isinstance(other, moneyed.Money):
            self._same_currency(other)
        return super().__truediv__(other)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, moneyed.Money):
            self._same_currency(other)
        return super().__lt__(other)

    def __gt__(self, other: object) -> bool:
        if isinstance(other, moneyed.Money):
            self._same_currency(other)
        return super().__gt__(other)

    def __le__(self, other: object) -> bool:
        return not self.__gt__(other)

    def __ge__(self, other: object) -> bool:
        return not self.__lt__(other)


def zero(currency: str) -> Money:
    """Zero in ``currency``."""
    return Money._exact(_ZERO, normalize_currency(currency))


def _code(value: moneyed.Money) -> str:
    return str(value.currency.code)


def quantize(amount: Decimal, currency: str, rounding: Rounding = DEFAULT_ROUNDING) -> Decimal:
    """Round a bare ``Decimal`` to the minor unit of ``currency``."""
    return amount.quantize(_exponent(currency), rounding.value)


def round_money(amount: moneyed.Money, rounding: Rounding = DEFAULT_ROUNDING) -> Money:
    """Round ``amount`` to its currency's minor unit (CLDR precision)."""
    code = _code(amount)
    return Money._exact(quantize(amount.amount, code, rounding), code)


def is_rounded(amount: moneyed.Money) -> bool:
    """Whether ``amount`` is a whole number of minor units."""
    value: Decimal = amount.amount
    return value == quantize(value, _code(amount), Rounding.DOWN)


def minor_units(amount: moneyed.Money, *, field: str = "amount") -> int:
    """The amount as a whole number of minor units (cents, fils, yen).

    :raises InvalidInput: if the amount is not rounded to the minor unit; this never
        truncates silently.
    """
    code = _code(amount)
    scaled = amount.amount.scaleb(currency_precision(code))
    if scaled != scaled.to_integral_value():
        raise InvalidInput(
            f"{amount.amount} is not a whole number of {code} minor units", field=field
        )
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Money:
    """Build ``Money`` from a whole number of minor units."""
    code = normalize_currency(currency)
    return Money._exact(Decimal(units).scaleb(-currency_precision(code)), code)


def _ratio(value: object, index: int) -> Decimal:
    if isinstance(value, moneyed.Money):
        value = value.amount
    number = to_decimal(value, field=f"ratios[{index}]", limit=Decimal("1e30"))
    if number < 0:
        raise InvalidInput("a ratio cannot be negative", field=f"ratios[{index}]")
    return number


def allocate_units(units: int, ratios: Sequence[object]) -> list[int]:
    """Split a whole number of minor units by ``ratios``, exactly.

    Largest remainder: every part first gets the floor of its exact share, then the
    units left over go one by one to the parts with the largest remainders (earlier
    parts first on a tie). The parts always sum to ``units`` and each is within one
    unit of its exact share. A part whose ratio is zero gets zero. A negative amount
    is split as its magnitude and negated, so the same guarantees hold.

    The arithmetic is on integers (ratios are scaled to whole numbers first), so no
    share is ever misjudged by a division that rounds.

    :raises InvalidInput: for no ratios, a negative ratio, or ratios summing to zero.
    """
    if not ratios:
        raise InvalidInput("at least one ratio is needed", field="ratios")
    if all(type(value) is int and value >= 0 for value in ratios):
        weights: list[int] = list(ratios)  # type: ignore[arg-type]
    else:
        decimals = [_ratio(value, index) for index, value in enumerate(ratios)]
        places = max(0, *(-int(d.as_tuple().exponent) for d in decimals))
        weights = [int(d.scaleb(places)) for d in decimals]
    total_weight = sum(weights)
    if total_weight == 0:
        raise InvalidInput("ratios must not all be zero", field="ratios")
    magnitude = abs(units)
    parts: list[int] = []
    remainders: list[int] = []
    for weight in weights:
        share, remainder = divmod(magnitude * weight, total_weight)
        parts.append(share)
        remainders.append(remainder)
    leftover = magnitude - sum(parts)
    if leftover:
        order = sorted(range(len(parts)), key=lambda i: -remainders[i])
        for i in order[:leftover]:
            parts[i] += 1
    return [-part for part in parts] if units < 0 else parts


def divide_rounded(numerator: int, denominator: int, rounding: Rounding = DEFAULT_ROUNDING) -> int:
    """``numerator / denominator`` rounded to a whole number, exactly, in integers.

    Pricing computes discounts and taxes as exact fractions of minor units and rounds
    them here once: no ``Decimal`` context, so no precision to run out of.

    :param denominator: positive.
    """
    if rounding is Rounding.HALF_UP and numerator >= 0:  # the common case, in one step
        return (2 * numerator + denominator) // (2 * denominator)
    quotient, remainder = divmod(numerator, denominator)  # quotient is the floor
    if not remainder:
        return quotient
    if rounding is Rounding.FLOOR:
        return quotient
    if rounding is Rounding.CEILING:
        return quotient + 1
    if rounding is Rounding.DOWN:
        return quotient + 1 if numerator < 0 else quotient
    if rounding is Rounding.UP:
        return quotient if numerator < 0 else quotient + 1
    twice = 2 * remainder
    if twice != denominator:
        return quotient + 1 if twice > denominator else quotient
    # An exact tie between quotient and quotient + 1.
    if rounding is Rounding.HALF_UP:
        return quotient if numerator < 0 else quotient + 1
    if rounding is Rounding.HALF_DOWN:
        return quotient + 1 if numerator < 0 else quotient
    return quotient if quotient % 2 == 0 else quotient + 1


def round_to_total(exact: Sequence[Fraction], total: int) -> list[int]:
    """Round exact amounts (in minor units) to whole units that sum to ``total``.

    Each amount becomes its floor or its ceiling: the floors first, then one more unit
    to each of the amounts with the largest fractions (earlier first on a tie) until
    the total is reached. So every part stays within one unit of its own exact amount,
    which scaling ``total`` by the amounts (as :func:`allocate_units` does) cannot
    promise when ``total`` was itself rounded up or down.

    :param total: between the sum of the floors and the sum of the ceilings, as the
        rounded sum of ``exact`` always is.
    :raises InvalidInput: for a ``total`` outside that range.
    """
    floors = [math.floor(value) for value in exact]
    fractions = [value - floor for value, floor in zip(exact, floors, strict=True)]
    leftover = total - sum(floors)
    if not 0 <= leftover <= sum(1 for f in fractions if f):
        raise InvalidInput(
            f"{total} cannot be reached by rounding each of the amounts", field="total"
        )
    if leftover:
        order = sorted(range(len(floors)), key=lambda i: -fractions[i])
        for i in order[:leftover]:
            floors[i] += 1
    return floors


def allocate(amount: moneyed.Money, ratios: Sequence[object]) -> list[Money]:
    """Split ``amount`` by ``ratios`` so that the parts sum exactly to ``amount``.

    ``allocate(Money("10.00", "EUR"), [1, 1, 1])`` gives 3.34, 3.33 and 3.33. Ratios may
    be numbers or ``Money`` (to split in proportion to other amounts).

    :param amount: already rounded to its currency's minor unit.
    :raises InvalidInput: if ``amount`` is not rounded, or the ratios are unusable.
    """
    code = _code(amount)
    return [from_minor_units(part, code) for part in allocate_units(minor_units(amount), ratios)]


def split(amount: moneyed.Money, parts: int) -> list[Money]:
    """Split ``amount`` into ``parts`` near-equal parts that sum exactly to it.

    :raises InvalidInput: if ``parts`` is not a positive whole number.
    """
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise InvalidInput("must be a whole number of at least 1", field="parts")
    return allocate(amount, [1] * parts)


def sum_money(amounts: Iterable[moneyed.Money], currency: str) -> Money:
    """Add up ``amounts``, all in ``currency`` (an empty sum is zero)."""
    code = normalize_currency(currency)
    total = _ZERO
    for amount in amounts:
        if _code(amount) != code:
            raise CurrencyMismatch(code, _code(amount))
        total += amount.amount
    return Money._exact(total, code)


def format_money(amount: moneyed.Money, locale: str = "en_US") -> str:
    """Format ``amount`` for a locale, such as ``"1.234,50\xa0€"`` for ``de_DE``.

    Babel rounds while formatting, with its own mode; so that formatting never hides a
    rounding, only amounts already rounded to the minor unit are accepted.

    :raises InvalidInput: for an unrounded amount or an unknown locale.
    """
    if not is_rounded(amount):
        raise InvalidInput(
            f"{amount.amount} {_code(amount)} is not rounded to the minor unit; "
            "round it with round_money() first",
            field="amount",
        )
    try:
        parsed = Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidInput(f"unknown locale {locale!r}", field="locale") from None
    return str(format_currency(amount.amount, _code(amount), locale=parsed, currency_digits=True))
