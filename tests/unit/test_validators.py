"""The shared validators refuse what they should, naming the field, and keep the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit import (
    TaxRate,
    TaxZone,
)
from commercekit.domain._validators import (
    aware,
    aware_or_none,
    flag,
    instance_of,
    instances,
    ordered_strings,
    strings,
    text,
    whole_number,
)
from commercekit.errors import InvalidInput

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@attrs.define
class Form:
    """One field per validator, so each is seen through attrs as the domain uses it."""

    count: int = attrs.field(default=0, validator=whole_number(0))
    units: int = attrs.field(default=1, validator=whole_number(1, 1000))
    priority: int = attrs.field(default=0, validator=whole_number())
    limit: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(whole_number(0))
    )
    name: str = attrs.field(default="Mug", validator=text())
    short: str = attrs.field(default="mug", validator=text(5))
    enabled: bool = attrs.field(default=False, validator=flag)
    at: datetime = attrs.field(default=NOW, validator=aware)
    until: datetime | None = attrs.field(default=None, validator=aware_or_none)
    rate: TaxRate | None = attrs.field(
        default=None, validator=attrs.validators.optional(instance_of(TaxRate, "a TaxRate"))
    )


def test_good_values_pass() -> None:
    form = Form(
        count=0,
        units=1000,
        priority=-5,
        limit=3,
        name=" Mug ",
        short="abcde",
        enabled=True,
        at=NOW,
        until=NOW,
        rate=TaxRate(name="VAT", rate="0.19"),
    )
    assert (form.units, form.limit, form.short) == (1000, 3, "abcde")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("count", -1, "must be a whole number of at least 0"),
        ("count", True, "must be a whole number of at least 0"),
        ("count", 1.0, "must be a whole number of at least 0"),
        ("units", 0, "must be a whole number from 1 to 1,000"),
        ("units", 1001, "must be a whole number from 1 to 1,000"),
        ("priority", "high", "must be a whole number"),
        ("limit", -1, "must be a whole number of at least 0"),
        ("name", "   ", "must be a non-empty string"),
        ("name", None, "must be a non-empty string"),
        ("short", "abcdef", "must be at most 5 characters"),
        ("enabled", 1, "must be True or False"),
        ("at", datetime(2026, 11, 27), "must be a timezone-aware datetime"),
        ("at", None, "must be a timezone-aware datetime"),
        ("until", "2026-11-27", "must be a timezone-aware datetime"),
        ("rate", "0.19", "expected a TaxRate, got str"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(field: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Form(**{field: value})
    assert caught.value.field == field
    assert message in str(caught.value)


def test_instances_keeps_a_collection_of_the_class_and_refuses_the_rest() -> None:
    vat = TaxRate(name="VAT", rate="0.19")
    assert instances([vat], TaxRate, field="rates") == (vat,)
    assert instances(iter([vat, vat]), TaxRate, field="rates") == (vat, vat)
    for bad in ("VAT", [vat, "VAT"], 5, None):
        with pytest.raises(InvalidInput) as caught:
            instances(bad, TaxRate, field="rates")
        assert caught.value.field == "rates"


def test_a_zone_refuses_rates_that_are_not_even_a_collection() -> None:
    with pytest.raises(InvalidInput) as caught:
        TaxZone(id="de", country="DE", rates=5)  # type: ignore[arg-type]
    assert caught.value.field == "rates"


def test_strings_read_one_string_as_one_item() -> None:
    assert strings("MUG", field="skus") == frozenset({"MUG"})
    assert strings(None, field="skus") == frozenset()
    assert strings(["MUG", "MUG", "CUP"], field="skus") == frozenset({"MUG", "CUP"})
    for bad in (5, [1], ["MUG", None]):
        with pytest.raises(InvalidInput) as caught:
            strings(bad, field="skus")  # type: ignore[arg-type]
        assert caught.value.field == "skus"


def test_ordered_strings_keep_their_order_and_refuse_a_set() -> None:
    assert ordered_strings("trade", field="groups") == ("trade",)
    assert ordered_strings(None, field="groups") == ()
    assert ordered_strings(["b", "a", "b"], field="groups") == ("b", "a")
    # A set has no order, and the order is the point.
    for bad in ({"a", "b"}, frozenset({"a"}), 5, ["a", 1], [["a"]]):
        with pytest.raises(InvalidInput) as caught:
            ordered_strings(bad, field="groups")  # type: ignore[arg-type]
        assert caught.value.field == "groups"


@given(st.lists(st.sampled_from("abcdef"), max_size=10))
def test_ordered_strings_keep_the_first_of_each_in_order(values: list[str]) -> None:
    result = ordered_strings(values, field="groups")
    assert set(result) == set(values)
    assert len(result) == len(set(result))
    assert list(result) == sorted(set(values), key=values.index)


@pytest.mark.parametrize("key", ["\ud800", "\udfff x"])
def test_a_mapping_whose_key_is_not_even_text_is_refused_naming_the_argument(key: str) -> None:
    # Found by the doors property: a lone surrogate as a key fails pydantic's string
    # check with no location, and the refusal must still name the argument.
    from commercekit.services.schemas import AddressIn, parse

    with pytest.raises(InvalidInput) as raised:
        parse(AddressIn, {key: None}, field="address")
    assert raised.value.field == "address"
