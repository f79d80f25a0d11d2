"""Amounts of money: the strict ``Money``, currency codes and their precision,
rounding to the minor unit, and formatting for a locale. The one module of the
domain that reads Babel's CLDR data."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from decimal import (
    ROUND_05UP,
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
from functools import cache
from typing import Final

import moneyed
from babel import Locale, UnknownLocaleError
from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_precision,
    list_currencies,
)

from commercekit.domain.errors import CurrencyMismatch, InvalidInput, UnknownCurrency, shown

__all__ = [
    "DEFAULT_ROUNDING",
    "MAX_AMOUNT",
    "Money",
    "Rounding",
    "currency_precision",
    "format_measure",
    "format_money",
    "from_minor_units",
    "is_rounded",
    "minor_units",
    "normalize_currency",
    "quantize",
    "round_money",
    "sum_money",
    "to_decimal",
    "zero",
]

#: No price, total or discount in any currency is larger than this; anything beyond
#: it is a bug or an attack, and is refused before it reaches arithmetic.
MAX_AMOUNT: Final = Decimal("1e15")
#: No amount, rate or ratio needs more significant digits than this, nor digits
#: further right of the point than :data:`MIN_EXPONENT`. ``Decimal`` arithmetic
#: rounds silently to its context precision (28 digits), so finer input would be
#: changed, not used; and an exponent such as ``1E-1000000000`` makes exact integer
#: work impossibly large.
MAX_DIGITS: Final = 30
MIN_EXPONENT: Final = -30

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
    ZERO_FIVE_UP = ROUND_05UP
    """Towards zero, unless that leaves a last digit of 0 or 5 (``decimal.ROUND_05UP``)."""


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


def currency_precision(code: str) -> int:
    """The number of decimal places of the currency's minor unit, from CLDR.

    :raises UnknownCurrency: for anything but a code CLDR knows.
    """
    if not isinstance(code, str):
        # Checked before the cache, which would fail on an unhashable value.
        code = normalize_currency(code)
    return _precision(code)


@cache
def _precision(code: str) -> int:
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
            raise InvalidInput(f"{shown(value)} is not a decimal number", field=field) from None
    else:
        raise InvalidInput(
            f"expected a Decimal, int or decimal string, got {type(value).__name__}",
            field=field,
        )
    if not number.is_finite():
        raise InvalidInput(f"{shown(value)} is not a finite number", field=field)
    if abs(number) > limit:
        raise InvalidInput(f"{shown(value)} is larger than the allowed {limit}", field=field)
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    if not any(digits):
        # A zero is harmless whatever its exponent; keep its places unless absurd.
        return number if MIN_EXPONENT <= exponent <= MAX_DIGITS else Decimal(0)
    # Trailing zeros say nothing about the value ("1.000" is 1), so they do not count.
    zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    if len(digits) - zeros > MAX_DIGITS or exponent + zeros < MIN_EXPONENT:
        raise InvalidInput(
            f"{shown(value)} has more precision than any amount needs (at most {MAX_DIGITS} "
            f"significant digits, none beyond 1E{MIN_EXPONENT})",
            field=field,
        )
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
        """Divide by a number (giving ``Money``) or by ``Money`` in the same currency
        (giving a ``Decimal`` ratio).

        The quotient is rounded to ``decimal``'s context precision, as any ``Decimal``
        division is: round it with :func:`round_money` before using it as a price.

        :raises InvalidInput: naming ``divisor``, for a float or a zero divisor.
        """
        if isinstance(other, moneyed.Money):
            self._same_currency(other)
            if not other.amount:
                raise InvalidInput("cannot divide by zero", field="divisor")
            return super().__truediv__(other)
        divisor = to_decimal(other, field="divisor", limit=Decimal("1e30"))
        if not divisor:
            raise InvalidInput("cannot divide by zero", field="divisor")
        # Built directly: a quotient such as 0.001 / 7 carries more places than
        # ``to_decimal`` accepts from a caller, and refusing it here would surprise.
        return Money._exact(self.amount / divisor, self.code)

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
    """The amount as a whole number of minor units (cents, fils, yen), exactly.

    Worked out from the amount's digits, never through a ``Decimal`` context, whose
    precision (28 digits) would round ``1.000000000000000000000000000000000001``
    to ``1.00`` without a word.

    :raises InvalidInput: naming ``field``, if the amount is not a whole number of
        minor units (this never truncates silently) or not a sane finite number.
    """
    code = _code(amount)
    value = amount.amount
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidInput(f"{shown(value)} is not a finite decimal amount", field=field)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    coefficient = int("".join(map(str, digits)))
    if coefficient == 0:
        return 0
    if value.adjusted() >= MAX_DIGITS:
        # Far beyond any amount; refused before ``10 ** shift`` grows without bound.
        raise InvalidInput(f"{value} is larger than any amount", field=field)
    shift = exponent + currency_precision(code)
    units: int
    if shift >= 0:
        units = coefficient * 10**shift
    else:
        # With every digit right of the minor unit, a nonzero coefficient cannot be
        # whole (and ``10 ** -shift`` may be far too large to build).
        whole = -shift <= len(digits)
        if whole:
            units, remainder = divmod(coefficient, 10**-shift)
            whole = not remainder
        if not whole:
            raise InvalidInput(f"{value} is not a whole number of {code} minor units", field=field)
    return -units if sign else units


def from_minor_units(units: int, currency: str) -> Money:
    """Build ``Money`` from a whole number of minor units."""
    code = normalize_currency(currency)
    return Money._exact(Decimal(units).scaleb(-currency_precision(code)), code)


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
        raise InvalidInput(f"unknown locale {shown(locale)}", field="locale") from None
    return str(format_currency(amount.amount, _code(amount), locale=parsed, currency_digits=True))


def format_measure(value: object, unit: str, locale: str = "en_US") -> str:
    """A number with its unit for a locale: ``"12.5 cm"`` in ``en_US``, ``"12,5 cm"``
    in ``de_DE``; a number attribute's value (:class:`AttributeSpec` keeps it as
    text) is accepted as it is kept.

    :raises InvalidInput: for something that is not a number, or an unknown locale.
    """
    number = to_decimal(value, field="value")
    try:
        parsed = Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidInput(f"unknown locale {shown(locale)}", field="locale") from None
    shown_number = format_decimal(number, locale=parsed, decimal_quantization=False)
    return f"{shown_number}\u00a0{unit}" if unit else str(shown_number)
