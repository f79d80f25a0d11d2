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
    "round_table",
    "round_to_total",
    "split",
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
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    if not any(digits):
        # A zero is harmless whatever its exponent; keep its places unless absurd.
        return number if MIN_EXPONENT <= exponent <= MAX_DIGITS else Decimal(0)
    # Trailing zeros say nothing about the value ("1.000" is 1), so they do not count.
    zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
    if len(digits) - zeros > MAX_DIGITS or exponent + zeros < MIN_EXPONENT:
        raise InvalidInput(
            f"{value!r} has more precision than any amount needs (at most {MAX_DIGITS} "
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
        raise InvalidInput(f"{value!r} is not a finite decimal amount", field=field)
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
    if rounding is Rounding.ZERO_FIVE_UP:
        towards_zero = quotient + 1 if numerator < 0 else quotient
        if towards_zero % 5:
            return towards_zero
        return towards_zero - 1 if numerator < 0 else towards_zero + 1
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


def round_table(
    exact: Sequence[Sequence[Fraction]],
    columns: Sequence[Sequence[int]],
    totals: Sequence[int],
    limits: Sequence[int | None],
) -> list[list[int]]:
    """Round a sparse table of exact amounts to whole units, each to its floor or its
    ceiling, so that every column sums to its rounded total and no row sums to more
    than its limit.

    Pricing needs this for tax rounded per total on tax-inclusive prices: each rate
    (a column) is rounded once over the cart, yet a line (a row) must never carry more
    tax than its gross price, which rounding each rate's share up can otherwise do.
    Where a row's limit leaves no room for a column's preferred total, that column
    gets one unit less: the floor of its exact sum, never less, so every column stays
    within one unit of exact.

    Cells go up largest fraction first (earlier rows first on a tie), as
    :func:`round_to_total` does; where limits bind, units are moved between cells
    (along augmenting paths, as in a maximum flow), which always finds room when
    there is any.

    :param exact: per row, its cells' exact amounts (non-negative).
    :param columns: per row, the column of each of its cells.
    :param totals: per column, the preferred total: a rounding of its exact sum.
    :param limits: per row, the most it may sum to (``None``: no limit); at least the
        row's exact sum.
    :raises InvalidInput: for a total outside its column's reach, or limits that
        leave a column below the floor of its exact sum.
    """
    floors = [[math.floor(value) for value in row] for row in exact]
    sums = [Fraction(0)] * len(totals)
    base = [0] * len(totals)
    candidates: list[list[tuple[Fraction, int, int]]] = [[] for _ in totals]
    for i, (row, row_floors, row_columns) in enumerate(zip(exact, floors, columns, strict=True)):
        for j, (value, floor, column) in enumerate(zip(row, row_floors, row_columns, strict=True)):
            sums[column] += value
            base[column] += floor
            if value != floor:
                candidates[column].append((floor - value, i, j))
    for found in candidates:
        found.sort()
    slack = [
        None if limit is None else limit - sum(row_floors)
        for limit, row_floors in zip(limits, floors, strict=True)
    ]
    bumped = [[False] * len(row) for row in exact]
    given = [0] * len(totals)
    wanted = [total - floor for total, floor in zip(totals, base, strict=True)]
    for column, want in enumerate(wanted):
        if not 0 <= want <= len(candidates[column]):
            raise InvalidInput(
                f"{totals[column]} cannot be reached by rounding each of the amounts",
                field="total",
            )

    def room(i: int) -> bool:
        left = slack[i]
        return left is None or left > 0

    def bump(i: int, j: int) -> None:
        bumped[i][j] = True
        left = slack[i]
        if left is not None:
            slack[i] = left - 1

    def augment(start: int) -> bool:
        # Breadth first from the column short of a unit: a free cell in a row with
        # room ends the path; in a full row, one of its raised cells may drop back
        # if that cell's column can raise another cell instead.
        came_from: dict[int, tuple[int, int, int, int] | None] = {start: None}
        queue = [start]
        for column in queue:
            for _, i, j in candidates[column]:
                if bumped[i][j]:
                    continue
                if room(i):
                    bump(i, j)
                    step = came_from[column]
                    while step is not None:
                        previous, row, cell, dropped = step
                        bumped[row][cell] = True
                        bumped[row][dropped] = False
                        step = came_from[previous]
                    return True
                for other, is_bumped in enumerate(bumped[i]):
                    next_column = columns[i][other]
                    if is_bumped and next_column not in came_from:
                        # Walking back: this path raises (i, j) for ``column`` and
                        # drops (i, other), which ``next_column`` must make up.
                        came_from[next_column] = (column, i, j, other)
                        queue.append(next_column)
        return False

    # First every column up to the floor of its exact sum (always possible while
    # each row's limit covers its exact sum), then up to its preferred total.
    for phase in (0, 1):
        caps = [
            min(want, math.floor(sums[c]) - base[c]) if phase == 0 else want
            for c, want in enumerate(wanted)
        ]
        for column, cap in enumerate(caps):
            for _, i, j in candidates[column]:
                if given[column] >= cap:
                    break
                if not bumped[i][j] and room(i):
                    bump(i, j)
                    given[column] += 1
        progress = True
        while progress:
            progress = False
            for column, cap in enumerate(caps):
                while given[column] < cap and augment(column):
                    given[column] += 1
                    progress = True
        if phase == 0 and given != caps:
            raise InvalidInput("the row limits leave a column short", field="limits")
    return [
        [floor + flag for floor, flag in zip(row_floors, row_bumps, strict=True)]
        for row_floors, row_bumps in zip(floors, bumped, strict=True)
    ]


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
