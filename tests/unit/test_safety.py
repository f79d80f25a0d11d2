"""Safe by default: errors that repeat a caller's value repeat only a bounded part of
it, identifiers are bounded before they reach storage, and a webhook header that is
not well formed is refused as a webhook, never as a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit import errors
from commercekit.domain.errors import SHOWN_CHARACTERS, shown
from commercekit.domain.identifiers import MAX_KEY_LENGTH, check_key

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


# --- bounded keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["RETRO-CLOCK", "", "Zoë's mug", "x" * MAX_KEY_LENGTH, "🕰️"],
    ids=["sku", "empty", "unicode", "longest", "emoji"],
)
def test_a_key_within_bounds_is_returned_as_it_is(value: str) -> None:
    assert check_key(value, "sku") is value


@pytest.mark.parametrize(
    "value",
    [HUGE, "x" * (MAX_KEY_LENGTH + 1), "RETRO\x00CLOCK", "RETRO\ud800CLOCK", None, 42, b"RETRO"],
    ids=["huge", "one-too-long", "nul", "lone-surrogate", "none", "int", "bytes"],
)
def test_a_key_out_of_bounds_is_invalid_input_naming_the_field(value: object) -> None:
    with pytest.raises(errors.InvalidInput) as caught:
        check_key(value, "sku")
    assert caught.value.field == "sku"
    assert len(str(caught.value)) < 100


# Any character, lone surrogates and NUL among them (text() leaves surrogates out).
_ANY_CHARACTER = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just("\x00"))


@given(st.text(alphabet=_ANY_CHARACTER, max_size=300))
def test_a_key_is_refused_exactly_when_a_database_could_not_take_it(value: str) -> None:
    storable = len(value) <= MAX_KEY_LENGTH and "\x00" not in value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        storable = False
    if storable:
        assert check_key(value, "token") == value
    else:
        with pytest.raises(errors.InvalidInput):
            check_key(value, "token")
