"""Splitting amounts exactly: allocation by largest remainder and rounding of exact
fractions so that rounded parts add up to a rounded whole. Work is done on whole
minor units and integers, so no ``Decimal`` context can round anything away."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import moneyed

from commercekit.domain.errors import InvalidInput
from commercekit.domain.money.amounts import (
    DEFAULT_ROUNDING,
    Money,
    Rounding,
    _code,
    from_minor_units,
    minor_units,
    to_decimal,
)

__all__ = [
    "allocate",
    "allocate_units",
    "divide_rounded",
    "round_table",
    "round_to_total",
    "split",
]


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
