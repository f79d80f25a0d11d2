from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import moneyed
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit import (
    Money,
    Rounding,
    allocate,
    currency_precision,
    format_money,
    round_money,
    split,
)
from commercekit.domain.money import (
    allocate_units,
    divide_rounded,
    from_minor_units,
    minor_units,
    quantize,
    round_table,
    round_to_total,
    sum_money,
    to_decimal,
    zero,
)
from commercekit.errors import (
    CommerceError,
    CurrencyMismatch,
    InvalidInput,
    UnknownCurrency,
)

CURRENCIES = ["JPY", "EUR", "KWD"]  # 0, 2 and 3 decimals


def test_precision_comes_from_cldr():
    assert [currency_precision(code) for code in CURRENCIES] == [0, 2, 3]
    assert currency_precision("eur") == 2


@pytest.mark.parametrize("code", ["ZZZ", "", "EURO", None, 978])
def test_unknown_currency_is_a_typed_error_naming_the_field(code):
    with pytest.raises(UnknownCurrency) as caught:
        Money("1", code)
    assert caught.value.code == "unknown_currency"
    assert caught.value.field == "currency"


@pytest.mark.parametrize(
    "amount",
    [0.1, float("nan"), Decimal("NaN"), Decimal("Infinity"), "-inf", "abc", True, [], "1e16"],
)
def test_amounts_that_are_not_exact_finite_decimals_are_refused(amount):
    with pytest.raises(InvalidInput) as caught:
        Money(amount, "EUR")
    assert caught.value.field == "amount"
    assert isinstance(caught.value, CommerceError)


def test_mixing_currencies_raises_currency_mismatch_for_every_operation():
    eur, usd = Money("1.00", "EUR"), Money("1.00", "USD")
    for operation in (
        lambda: eur + usd,
        lambda: eur - usd,
        lambda: eur < usd,
        lambda: eur >= usd,
        lambda: eur / usd,
        lambda: sum_money([eur, usd], "EUR"),
    ):
        with pytest.raises(CurrencyMismatch) as caught:
            operation()
        assert caught.value.code == "currency_mismatch"
        assert isinstance(caught.value, TypeError)


def test_multiplying_by_a_float_is_refused():
    with pytest.raises(InvalidInput):
        Money("1.00", "EUR") * 1.1
    assert Money("1.10", "EUR") * 3 == Money("3.30", "EUR")


def test_sum_of_money_stays_money_of_the_same_currency():
    total = sum([Money("0.10", "EUR")] * 3, zero("EUR"))
    assert total == Money("0.30", "EUR")
    assert isinstance(total, Money)


@pytest.mark.parametrize(
    ("rounding", "expected"),
    [
        (Rounding.HALF_UP, "0.13"),
        (Rounding.HALF_EVEN, "0.12"),
        (Rounding.DOWN, "0.12"),
        (Rounding.UP, "0.13"),
        (Rounding.ZERO_FIVE_UP, "0.12"),
    ],
)
def test_rounding_mode_is_explicit(rounding, expected):
    assert round_money(Money("0.125", "EUR"), rounding) == Money(expected, "EUR")


def test_rounding_follows_the_currency_minor_unit():
    assert round_money(Money("100.5", "JPY")).amount == Decimal("101")
    assert round_money(Money("1.2345", "KWD")).amount == Decimal("1.235")
    assert quantize(Decimal("-0.005"), "EUR") == Decimal("-0.01")  # ties away from zero


def test_minor_units_never_truncate():
    assert minor_units(Money("12.34", "EUR")) == 1234
    assert minor_units(Money("7", "JPY")) == 7
    with pytest.raises(InvalidInput):
        minor_units(Money("12.345", "EUR"))
    assert from_minor_units(-1234, "KWD") == Money("-1.234", "KWD")


@pytest.mark.parametrize(
    "amount",
    [
        "1.000000000000000000000000000000000001",  # 37 digits: decimal keeps 28
        "1E-1000000000",  # scaleb underflows to zero
        "-0.0000000000000000000000000000000000001",
    ],
)
def test_minor_units_are_exact_beyond_decimal_precision(amount):
    # py-moneyed's own Money skips our checks; minor_units must still never round.
    with pytest.raises(InvalidInput) as caught:
        minor_units(moneyed.Money(Decimal(amount), "EUR"), field="price")
    assert caught.value.field == "price"


def test_minor_units_of_long_but_whole_amounts():
    assert minor_units(moneyed.Money(Decimal("1." + "0" * 40), "EUR")) == 100
    assert minor_units(moneyed.Money(Decimal("0E-1000000000"), "EUR")) == 0
    assert minor_units(moneyed.Money(Decimal("-12345678901234.56"), "EUR")) == -1234567890123456


@given(
    coefficient=st.integers(-(10**40), 10**40),
    exponent=st.integers(-45, 5),
    currency=st.sampled_from(CURRENCIES),
)
def test_minor_units_is_the_exact_value_or_refuses(coefficient, exponent, currency):
    value = Decimal(
        (0 if coefficient >= 0 else 1, tuple(map(int, str(abs(coefficient)))), exponent)
    )
    exact = Fraction(value) * 10 ** currency_precision(currency)
    money = moneyed.Money(value, currency)
    if exact.denominator == 1 and (not coefficient or value.adjusted() < 30):
        assert minor_units(money) == exact
    else:  # not whole, or far beyond any amount
        with pytest.raises(InvalidInput):
            minor_units(money)


@pytest.mark.parametrize(
    "amount",
    [
        "1.000000000000000000000000000000000001",
        "1E-1000000000",
        Decimal("1E-31"),
        "123456789012345.1234567890123456",  # 31 significant digits
    ],
)
def test_amounts_of_absurd_precision_are_refused(amount):
    with pytest.raises(InvalidInput) as caught:
        Money(amount, "EUR")
    assert caught.value.field == "amount"
    with pytest.raises(InvalidInput) as caught:
        to_decimal(amount, field="rate")
    assert caught.value.field == "rate"


def test_trailing_zeros_and_zeros_are_not_absurd_precision():
    assert Money("1." + "0" * 40, "EUR") == Money("1", "EUR")
    assert Money("0E-1000000000", "EUR").amount == 0
    assert to_decimal("0.000000000000000000000000000001") == Decimal("1E-30")


@pytest.mark.parametrize("divisor", [0, Decimal("0"), "0", Money("0.00", "EUR")])
def test_dividing_by_zero_is_refused_naming_the_divisor(divisor):
    with pytest.raises(InvalidInput) as caught:
        Money("1.00", "EUR") / divisor
    assert caught.value.field == "divisor"


def test_dividing_keeps_the_quotient_as_decimal_gives_it():
    assert Money("1.00", "EUR") / 4 == Money("0.25", "EUR")
    assert Money("3.00", "EUR") / Money("1.50", "EUR") == Decimal(2)
    assert round_money(Money("0.001", "KWD") / 7) == Money("0.000", "KWD")


@pytest.mark.parametrize("code", [["EUR"], None, 978, {"EUR": 1}])
def test_currency_precision_of_anything_but_a_code_is_unknown_currency(code):
    with pytest.raises(UnknownCurrency) as caught:
        currency_precision(code)
    assert caught.value.field == "currency"


def test_ten_euros_in_three_parts_hands_the_extra_cent_to_the_first():
    assert allocate(Money("10.00", "EUR"), [1, 1, 1]) == [
        Money("3.34", "EUR"),
        Money("3.33", "EUR"),
        Money("3.33", "EUR"),
    ]


def test_split_in_yen_and_dinar():
    assert split(Money(100, "JPY"), 3) == [Money(34, "JPY"), Money(33, "JPY"), Money(33, "JPY")]
    assert split(Money("1.000", "KWD"), 3) == [
        Money("0.334", "KWD"),
        Money("0.333", "KWD"),
        Money("0.333", "KWD"),
    ]


def test_allocate_gives_the_leftover_to_the_largest_remainder():
    # Exact shares 0.7, 2.1, 7.2 cents: floors 0, 2, 7 leave 1 cent, which goes to the
    # share with the largest remainder (0.7), not to the first or the largest share.
    assert allocate_units(10, [7, 21, 72]) == [1, 2, 7]


def test_allocate_handles_negative_amounts_and_zero_ratios():
    assert allocate(Money("-0.05", "EUR"), [1, 0, 1]) == [
        Money("-0.03", "EUR"),
        Money("0.00", "EUR"),
        Money("-0.02", "EUR"),
    ]


@pytest.mark.parametrize(
    ("ratios", "field"),
    [([], "ratios"), ([0, 0], "ratios"), ([1, -1], "ratios[1]"), ([0.5], "ratios[0]")],
)
def test_unusable_ratios_are_refused_clearly(ratios, field):
    with pytest.raises(InvalidInput) as caught:
        allocate(Money("1.00", "EUR"), ratios)
    assert caught.value.field == field


def test_allocate_refuses_an_amount_finer_than_the_minor_unit():
    with pytest.raises(InvalidInput) as caught:
        allocate(Money("1.005", "EUR"), [1, 1])
    assert caught.value.field == "amount"


@pytest.mark.parametrize("parts", [0, -1, 1.5, True])
def test_split_needs_a_positive_whole_number_of_parts(parts):
    with pytest.raises(InvalidInput):
        split(Money("1.00", "EUR"), parts)


ratios = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**9),
        st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=40,
).filter(lambda values: sum(values) > 0)


@given(
    units=st.integers(min_value=-(10**15), max_value=10**15),
    ratios=ratios,
    currency=st.sampled_from(CURRENCIES),
)
def test_allocate_sums_exactly_and_stays_within_one_minor_unit(units, ratios, currency):
    amount = from_minor_units(units, currency)
    parts = allocate(amount, ratios)
    assert len(parts) == len(ratios)
    assert sum_money(parts, currency) == amount
    total_ratio = sum(Fraction(r) for r in ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        exact = Fraction(units) * Fraction(ratio) / total_ratio
        assert abs(Fraction(minor_units(part)) - exact) < 1
        if ratio == 0:
            assert minor_units(part) == 0
        # parts never change sign
        assert minor_units(part) * units >= 0


@given(units=st.integers(min_value=-(10**12), max_value=10**12), parts=st.integers(1, 50))
def test_split_parts_differ_by_at_most_one_unit(units, parts):
    pieces = allocate_units(units, [1] * parts)
    assert sum(pieces) == units
    assert max(pieces) - min(pieces) <= 1


@given(
    units=st.integers(min_value=-(10**12), max_value=10**12),
    ratios=st.lists(st.integers(0, 10**6), min_size=1, max_size=20).filter(any),
    factor=st.integers(2, 10**6),
    currency=st.sampled_from(CURRENCIES),
)
def test_allocation_depends_only_on_the_proportions_of_the_ratios(units, ratios, factor, currency):
    # Scaling every ratio, or giving them as decimals of the same proportions, must
    # not move a single minor unit: only the proportions say who gets what.
    amount = from_minor_units(units, currency)
    parts = allocate(amount, ratios)
    assert allocate(amount, [ratio * factor for ratio in ratios]) == parts
    assert allocate(amount, [Decimal(ratio) / 1000 for ratio in ratios]) == parts


def test_format_money_for_a_locale():
    assert format_money(Money("1234.50", "EUR"), "de_DE") == "1.234,50\xa0€"
    assert format_money(Money("1234.50", "EUR"), "en_US") == "€1,234.50"
    assert format_money(Money(1480, "JPY"), "ja_JP") == "￥1,480"
    assert format_money(Money("2.125", "KWD"), "en_US").endswith("2.125")


def test_format_money_refuses_to_hide_a_rounding():
    with pytest.raises(InvalidInput) as caught:
        format_money(Money("0.125", "EUR"))
    assert caught.value.field == "amount"


def test_format_money_refuses_an_unknown_locale():
    with pytest.raises(InvalidInput) as caught:
        format_money(Money("1.00", "EUR"), "xx_YY")
    assert caught.value.field == "locale"


@given(
    exact=st.lists(st.decimals(min_value=0, max_value=10**9, places=6), min_size=1, max_size=30),
    rounding=st.sampled_from(Rounding),
)
def test_round_to_total_keeps_every_part_within_a_unit_and_hits_the_total(exact, rounding):
    total = int(sum(exact, Decimal(0)).to_integral_value(rounding.value))
    parts = round_to_total([Fraction(value) for value in exact], total)
    assert sum(parts) == total
    assert all(abs(part - value) < 1 for part, value in zip(parts, exact, strict=True))


def test_round_to_total_refuses_an_unreachable_total():
    with pytest.raises(InvalidInput):
        round_to_total([Fraction(1, 2), Fraction(1, 2)], 3)


@given(
    numerator=st.integers(min_value=-(10**20), max_value=10**20),
    denominator=st.integers(min_value=1, max_value=10**9),
    rounding=st.sampled_from(Rounding),
)
def test_divide_rounded_agrees_with_decimal_quantize(numerator, denominator, rounding):
    with localcontext() as context:
        context.prec = 80  # enough digits that Decimal division is exact here
        expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding.value)
    assert divide_rounded(numerator, denominator, rounding) == int(expected)


@pytest.mark.parametrize(
    ("rounding", "results"),
    [
        (Rounding.HALF_UP, [3, -3]),
        (Rounding.HALF_DOWN, [2, -2]),
        (Rounding.HALF_EVEN, [2, -2]),
        (Rounding.UP, [3, -3]),
        (Rounding.DOWN, [2, -2]),
        (Rounding.CEILING, [3, -2]),
        (Rounding.FLOOR, [2, -3]),
        (Rounding.ZERO_FIVE_UP, [2, -2]),
    ],
)
def test_divide_rounded_on_a_tie(rounding, results):
    assert [divide_rounded(5, 2, rounding), divide_rounded(-5, 2, rounding)] == results


def test_zero_five_up_rounds_away_only_from_a_last_digit_of_zero_or_five():
    assert [divide_rounded(n, 10, Rounding.ZERO_FIVE_UP) for n in (1, 11, 51, 59, 60)] == [
        1,
        1,
        6,
        6,
        6,
    ]
    assert [divide_rounded(n, 10, Rounding.ZERO_FIVE_UP) for n in (-1, -11, -51)] == [-1, -1, -6]


def test_every_rounding_mode_of_decimal_is_a_rounding():
    import decimal

    modes = {getattr(decimal, name) for name in dir(decimal) if name.startswith("ROUND_")}
    assert {rounding.value for rounding in Rounding} == modes


# --- rounding a table to column totals under row limits ----------------------------


def test_round_table_keeps_a_row_within_its_limit():
    # One row, two columns of exact 19/124 and 5/124: both columns would round UP to
    # 1, giving the row 2 against its limit of 1; one column must drop to its floor.
    exact = [[Fraction(19, 124), Fraction(5, 124)]]
    assert round_table(exact, [[0, 1]], [1, 1], [1]) == [[1, 0]]
    assert round_table(exact, [[0, 1]], [1, 1], [None]) == [[1, 1]]


def test_round_table_moves_units_to_rows_with_room():
    # Column 0 wants two units; row 0 is full after column 1's unit, so column 0 must
    # take its units from rows 1 and 2 even though row 0 has the larger fraction.
    exact = [
        [Fraction(9, 10), Fraction(1, 2)],
        [Fraction(1, 2)],
        [Fraction(1, 2)],
    ]
    columns = [[0, 1], [0], [0]]
    result = round_table(exact, columns, [2, 1], [1, None, None])
    assert sum(result[0]) <= 1
    column_0 = result[0][0] + result[1][0] + result[2][0]
    assert column_0 == 2
    assert result[0][1] == 1


@st.composite
def tables(draw):
    width = draw(st.integers(1, 4))
    rows = draw(st.integers(1, 8))
    exact, columns, limits = [], [], []
    for _ in range(rows):
        cells = draw(st.lists(st.integers(0, width - 1), min_size=1, max_size=width, unique=True))
        values = [Fraction(draw(st.integers(0, 400)), draw(st.integers(1, 40))) for _ in cells]
        exact.append(values)
        columns.append(cells)
        limit = sum(values, Fraction(0))
        limits.append(draw(st.sampled_from([None, math.ceil(limit), math.ceil(limit) + 1])))
        if limit.denominator == 1 and draw(st.booleans()):
            limits[-1] = int(limit)
    rounding = draw(st.sampled_from(Rounding))
    sums = [Fraction(0)] * width
    for values, cells in zip(exact, columns, strict=True):
        for value, column in zip(values, cells, strict=True):
            sums[column] += value
    totals = [divide_rounded(x.numerator, x.denominator, rounding) for x in sums]
    return exact, columns, totals, limits, sums


@given(tables())
def test_round_table_rounds_each_cell_once_and_keeps_every_limit(table):
    exact, columns, totals, limits, sums = table
    result = round_table(exact, columns, totals, limits)
    got = [0] * len(totals)
    for values, cells, parts, limit in zip(exact, columns, result, limits, strict=True):
        for value, column, part in zip(values, cells, parts, strict=True):
            assert math.floor(value) <= part <= math.ceil(value)
            got[column] += part
        assert limit is None or sum(parts) <= limit
    for column, total in enumerate(totals):
        # Within a unit of exact, and the preferred total unless a limit stood in the way.
        assert math.floor(sums[column]) <= got[column] <= max(total, math.floor(sums[column]))
        if all(limit is None for limit in limits):
            assert got[column] == total
