"""Product types: the attributes a kind of product has, each with a type its values
are checked against (text, a number with its unit, yes or no, one of a list, a date).

Values are kept as text in one spelling per type (``"12.5"``, ``"true"``,
``"2026-12-01"``), so that they compare, facet and filter alike in every store.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Final

import attrs

from commercekit.domain._validators import text
from commercekit.domain.catalog.products import Product
from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.identifiers import check_text

__all__ = ["AttributeKind", "AttributeSpec", "ProductType"]

_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_MOST_CHOICES: Final = 500
_TEXT_LENGTH: Final = 1000
_MOST_DIGITS: Final = 40
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})


class AttributeKind(enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    DATE = "date"


def _name(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidInput(
            f"an attribute name is a lower-case letter, then letters, digits or '_'; "
            f"got {shown(value)}",
            field=attribute.name,
        )


def _choices(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    choices = tuple(value)
    if len(choices) > _MOST_CHOICES or len(set(choices)) != len(choices):
        raise InvalidInput(f"at most {_MOST_CHOICES} choices, each once", field="choices")
    for choice in choices:
        check_text(choice, "choices", max_length=200)
    return choices


@attrs.frozen(kw_only=True)
class AttributeSpec:
    """One attribute of a product type: its name, its type, and for a number its
    unit, for a choice the values allowed."""

    name: str = attrs.field(validator=_name)
    kind: AttributeKind = attrs.field(converter=AttributeKind)
    unit: str = attrs.field(default="", validator=text(32, blank=True))
    """For a number: ``cm``, ``g``, ``W``..."""
    choices: tuple[str, ...] = attrs.field(default=(), converter=_choices)
    required: bool = False

    def __attrs_post_init__(self) -> None:
        if (self.kind is AttributeKind.CHOICE) != bool(self.choices):
            raise InvalidInput("a choice names its values, and only a choice", field="choices")
        if self.unit and self.kind is not AttributeKind.NUMBER:
            raise InvalidInput("only a number has a unit", field="unit")

    def canonical(self, value: object, *, field: str) -> str:
        """``value`` in this attribute's one spelling.

        :raises InvalidInput: naming ``field``, for a value not of its type.
        """
        kind = self.kind
        if kind is AttributeKind.BOOLEAN:
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return "true" if value.strip().lower() in _TRUE else "false"
            raise InvalidInput(f"must be yes or no, got {shown(value)}", field=field)
        if kind is AttributeKind.NUMBER:
            return _number(value, field)
        if kind is AttributeKind.DATE:
            return _date(value, field)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"must be text, got {shown(value)}", field=field)
        value = check_text(value.strip(), field, max_length=_TEXT_LENGTH)
        if kind is AttributeKind.CHOICE and value not in self.choices:
            listed = ", ".join(self.choices[:10])
            raise InvalidInput(f"{shown(value)} is not one of {listed}", field=field)
        return value


def _number(value: object, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise InvalidInput(f"must be a number, got {shown(value)}", field=field)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidInput(f"must be a number, got {shown(value)}", field=field) from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
        raise InvalidInput("must be a finite number below 10^15", field=field)
    if len(number.as_tuple().digits) > _MOST_DIGITS:
        raise InvalidInput(f"must have at most {_MOST_DIGITS} digits", field=field)
    # ``1E+1`` is ten and ``1E-7`` a tenth of a millionth: spelt with digits, never
    # with an exponent, without trailing zeros, and never rounded.
    spelt = format(number, "f")
    if "." in spelt:
        spelt = spelt.rstrip("0").rstrip(".")
    return "0" if spelt in ("-0", "") else spelt


def _date(value: object, field: str) -> str:
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise InvalidInput(f"must be a date (YYYY-MM-DD), got {shown(value)}", field=field)


def _specs(value: Iterable[AttributeSpec]) -> tuple[AttributeSpec, ...]:
    specs = tuple(value)
    for spec in specs:
        if not isinstance(spec, AttributeSpec):
            raise InvalidInput("expected AttributeSpec values", field="attributes")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise InvalidInput("each attribute once", field="attributes")
    return specs


@attrs.frozen(kw_only=True)
class ProductType:
    """A kind of product: the attributes its products have, and those its variants
    have (``variant_attributes``)."""

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(200))
    attributes: tuple[AttributeSpec, ...] = attrs.field(default=(), converter=_specs)
    variant_attributes: tuple[AttributeSpec, ...] = attrs.field(default=(), converter=_specs)

    def check_attributes(
        self, values: Mapping[str, object], *, variant: bool = False, field: str = "attributes"
    ) -> dict[str, str]:
        """``values`` (a product's, or a variant's) in their one spelling each.

        :raises InvalidInput: naming ``attributes.<name>``, for an attribute this type
            has not, a value not of its type, or a required one missing.
        """
        specs = {
            spec.name: spec for spec in (self.variant_attributes if variant else self.attributes)
        }
        checked: dict[str, str] = {}
        for name, value in values.items():
            spec = specs.get(name) if isinstance(name, str) else None
            if spec is None:
                raise InvalidInput(
                    f"{shown(name)} is no attribute of product type {shown(self.id)}",
                    field=f"{field}.{name}" if isinstance(name, str) else field,
                )
            checked[name] = spec.canonical(value, field=f"{field}.{name}")
        for spec in specs.values():
            if spec.required and spec.name not in checked:
                raise InvalidInput("is required", field=f"{field}.{spec.name}")
        return checked

    def apply_to(self, product: Product) -> None:
        """Check a product of this type and its variants, keeping their values in
        their one spelling each.

        :raises InvalidInput: naming ``attributes.<name>`` or
            ``variants.<n>.attributes.<name>``.
        """
        product.attributes = self.check_attributes(product.attributes)
        for n, variant in enumerate(product.variants):
            variant.attributes = self.check_attributes(
                variant.attributes, variant=True, field=f"variants.{n}.attributes"
            )
