"""Safe by default: errors that repeat a caller's value repeat only a bounded part of
it, identifiers are bounded before they reach storage, and a webhook header that is
not well formed is refused as a webhook, never as a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit import errors
from commercekit.domain.errors import SHOWN_CHARACTERS, shown

HUGE = "X" * 1_000_000


# --- bounded echo ------------------------------------------------------------------


def test_a_short_value_is_shown_as_its_repr() -> None:
    assert shown("RETRO-CLOCK") == "'RETRO-CLOCK'"
    assert shown("RETRO-CLOCK", quote=False) == "RETRO-CLOCK"
    assert shown(42) == "42"


def test_a_huge_value_is_cut_and_its_length_noted() -> None:
    text = shown("A" * 1_048_576)
    assert text.startswith("'AAAA")
    assert text.endswith("…' (1048576 characters)")
    assert len(text) < SHOWN_CHARACTERS + 30


def test_unprintable_text_is_shown_as_a_repr_even_unquoted() -> None:
    assert shown("a\nb", quote=False) == "'a\\nb'"


@given(st.one_of(st.text(), st.binary(), st.lists(st.integers())))
def test_no_value_is_shown_longer_than_the_bound(value: object) -> None:
    for text in (shown(value), shown(value, quote=False)):
        assert len(text) <= SHOWN_CHARACTERS + 30


@pytest.mark.parametrize(
    "error",
    [
        errors.NotFound("product", HUGE),
        errors.UnknownSku(HUGE),
        errors.AlreadyExists("product", HUGE),
        errors.DuplicateSku(HUGE),
        errors.MissingPrice(HUGE, "EUR"),
        errors.UnknownGateway(HUGE, ["test"]),
        errors.UnknownCurrency(HUGE),
        errors.InvalidTransition("order", HUGE, "ship"),
        errors.InsufficientStock(HUGE, 2, 1),
        errors.Unavailable(HUGE),
        errors.CouponRejected(HUGE, "unknown"),
        errors.IdempotencyConflict(HUGE),
        errors.PluginError(HUGE, "failed to load"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_repeat_a_huge_value_only_in_part(error: errors.CommerceError) -> None:
    assert len(str(error)) < 300
    assert len(repr(error)) < 300
    assert len(str(error.as_dict())) < 400


def test_the_attributes_keep_the_whole_value() -> None:
    assert errors.UnknownSku(HUGE).sku == HUGE
    assert errors.NotFound("product", HUGE).key == HUGE
    assert errors.UnknownGateway(HUGE, []).name == HUGE
