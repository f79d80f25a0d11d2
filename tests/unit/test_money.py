from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit import (
    CommerceError,
    CurrencyMismatch,
    InvalidInput,
    Money,
    Rounding,
    UnknownCurrency,
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
    round_to_total,
    sum_money,
    zero,
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
    units=st.integers(min_value=-(10**12), max_value=10**12), currency=st.sampled_from(CURRENCIES)
)
def test_allocating_the_same_inputs_twice_gives_the_same_parts(units, currency):
    amount = from_minor_units(units, currency)
    assert allocate(amount, [3, 1, 2]) == allocate(amount, [3, 1, 2])


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
    ],
)
def test_divide_rounded_on_a_tie(rounding, results):
    assert [divide_rounded(5, 2, rounding), divide_rounded(-5, 2, rounding)] == results
