"""Rows of a catalogue file, read and checked: CSV or JSON Lines, one row per
variant, grouped by product (see :mod:`commercekit.services.catalog_io`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import IO, Any, Final

import attrs

from commercekit.domain.catalog import Condition, Dimensions, PublicationState, Variant
from commercekit.domain.errors import CommerceError
from commercekit.domain.identifiers import check_key
from commercekit.domain.money import to_decimal

__all__ = [
    "PRODUCT_COLUMNS",
    "ROW_LISTS",
    "ROW_MAPS",
    "VARIANT_COLUMNS",
    "BadRow",
    "ImportReport",
    "ParsedRow",
    "RowError",
    "csv_rows",
    "grouped",
    "jsonl_rows",
]

#: The longest line a file may have: a row of a few hundred columns fits.
MOST_LINE: Final = 1_000_000
ROW_LISTS: Final = ("category_ids", "tags", "option_axes")
ROW_MAPS: Final = {
    "attr": "attributes",
    "option": "options",
    "vattr": "variant_attributes",
    "price": "prices",
    "stock": "stock",
}
PRODUCT_COLUMNS: Final = (
    "product_id",
    "name",
    "slug",
    "description",
    "type_id",
    "state",
    "category_ids",
    "tags",
    "option_axes",
    "tax_category",
    "seo_title",
    "seo_description",
    "canonical_url",
    "brand",
    "condition",
)
VARIANT_COLUMNS: Final = (
    "sku",
    "weight_grams",
    "length_mm",
    "width_mm",
    "height_mm",
    "variant_tax_category",
    "track_stock",
    "digital",
    "gtin",
    "mpn",
)


@attrs.frozen
class RowError:
    """A row that did not go in: its line in the file, the field, and why."""

    line: int
    field: str
    message: str


@attrs.define
class ImportReport:
    """What an import did."""

    rows: int = 0
    products: int = 0
    """Products written (added or replaced)."""
    prices: int = 0
    stock_counts: int = 0
    """Stock levels that changed."""
    errors: list[RowError] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@attrs.frozen
class ParsedRow:
    line: int
    product: dict[str, Any]
    variant: Variant
    prices: dict[str, Decimal]
    stock: dict[str, int]


class BadRow(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- reading rows ---------------------------------------------------------------------


def csv_rows(handle: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(handle, strict=True)
    for record in reader:
        row: dict[str, Any] = {}
        for key, value in record.items():
            if key is None:
                raise BadRow("row", "more values than columns")
            if value is None or value == "":
                continue
            prefix, _, name = key.partition(":")
            if name and prefix in ROW_MAPS:
                row.setdefault(ROW_MAPS[prefix], {})[name] = value
            elif key in ROW_LISTS:
                row[key] = [part.strip() for part in value.split(";") if part.strip()]
            else:
                row[key] = value
        yield reader.line_num, row


def jsonl_rows(handle: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(handle, 1):
        if not text.strip():
            continue
        if len(text) > MOST_LINE:
            yield number, {"__error__": "the line is too long"}
            continue
        try:
            row = json.loads(text, parse_float=Decimal)
        except ValueError:
            yield number, {"__error__": "not JSON"}
            continue
        yield number, row if isinstance(row, dict) else {"__error__": "not a JSON object"}


def _text(row: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = row.get(name)
    if value is None:
        if required:
            raise BadRow(name, "is required")
        return ""
    if not isinstance(value, str):
        raise BadRow(name, f"expected text, got {type(value).__name__}")
    return value


def _whole(row: Mapping[str, Any], name: str) -> int | None:
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise BadRow(name, "expected a whole number")
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise BadRow(name, "expected a whole number") from None
    if not number.is_finite() or number != number.to_integral() or abs(number) > 10**12:
        raise BadRow(name, "expected a whole number")
    return int(number)


def _flag(row: Mapping[str, Any], name: str, default: bool) -> bool:
    value = row.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise BadRow(name, "expected true or false")


def _map(row: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = row.get(name) or {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise BadRow(name, "expected names to values")
    return dict(value)


def _strings(row: Mapping[str, Any], name: str) -> list[str]:
    value = row.get(name) or []
    if isinstance(value, str):
        value = [part.strip() for part in value.split(";") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(each, str) for each in value):
        raise BadRow(name, "expected a list of text")
    return value


def _parse(line: int, row: Mapping[str, Any], product: dict[str, Any] | None) -> ParsedRow:
    """One row as a product's fields (read from the product's first row: ``product``
    is what that row gave, for the others), a variant, its prices and its stock.

    :raises BadRow: naming the field.
    """
    if "__error__" in row:
        raise BadRow("row", str(row["__error__"]))
    try:
        fields = _product_fields(row) if product is None else product
        variant = _variant(row)
        prices = {
            name: to_decimal(value, field=f"prices.{name}")
            for name, value in _map(row, "prices").items()
        }
        stock: dict[str, int] = {}
        for location, value in _map(row, "stock").items():
            units = _whole({"units": value}, "units")
            if units is None or units < 0:
                raise BadRow(f"stock.{location}", "expected units on hand, 0 or more")
            stock[location] = units
    except CommerceError as error:
        raise BadRow(error.field or "row", error.message) from None
    return ParsedRow(line, fields, variant, prices, stock)


def _product_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The product's fields of a row.

    :raises BadRow: naming the field.
    """
    product_id = check_key(_text(row, "product_id", required=True), "product_id")
    state = _text(row, "state") or None
    if state is not None and state not in {s.value for s in PublicationState}:
        raise BadRow("state", "expected draft, active or archived")
    condition = _text(row, "condition") or "new"
    if condition not in {c.value for c in Condition}:
        raise BadRow("condition", "expected new, refurbished or used")
    fields: dict[str, Any] = {
        "id": product_id,
        "name": _text(row, "name", required=True),
        "slug": _text(row, "slug"),
        "description": _text(row, "description"),
        "type_id": _text(row, "type_id") or None,
        "state": state,
        "category_ids": tuple(_strings(row, "category_ids")),
        "tags": tuple(_strings(row, "tags")),
        "option_axes": tuple(_strings(row, "option_axes")),
        "tax_category": _text(row, "tax_category") or "standard",
        "seo_title": _text(row, "seo_title"),
        "seo_description": _text(row, "seo_description"),
        "canonical_url": _text(row, "canonical_url"),
        "brand": _text(row, "brand"),
        "condition": condition,
        "attributes": _map(row, "attributes"),
    }
    return fields


def _variant(row: Mapping[str, Any]) -> Variant:
    """The variant of a row.

    :raises BadRow: naming the field.
    """
    sides = [_whole(row, name) for name in ("length_mm", "width_mm", "height_mm")]
    dimensions = None
    if any(side is not None for side in sides):
        if any(side is None for side in sides):
            raise BadRow("length_mm", "give all three dimensions, or none")
        length, width, height = (int(side or 0) for side in sides)
        dimensions = Dimensions(length_mm=length, width_mm=width, height_mm=height)
    return Variant(
        sku=_text(row, "sku", required=True),
        options={k: str(v) for k, v in _map(row, "options").items()},
        attributes=_map(row, "variant_attributes"),
        weight_grams=_whole(row, "weight_grams"),
        dimensions=dimensions,
        tax_category=_text(row, "variant_tax_category") or None,
        track_stock=_flag(row, "track_stock", True),
        digital=_flag(row, "digital", False),
        gtin=_text(row, "gtin"),
        mpn=_text(row, "mpn"),
    )


def grouped(
    rows: Iterable[tuple[int, Mapping[str, Any]]], report: ImportReport
) -> Iterator[tuple[str, list[ParsedRow], list[RowError]]]:
    """Consecutive rows of one product, parsed, with the errors of its bad rows."""
    current: str | None = None
    good: list[ParsedRow] = []
    bad: list[RowError] = []
    for line, row in rows:
        report.rows += 1
        product_id = row.get("product_id") if isinstance(row, Mapping) else None
        key = product_id if isinstance(product_id, str) else f"\0line {line}"
        if key != current and current is not None:
            yield current, good, bad
            good, bad = [], []
        current = key
        try:
            good.append(_parse(line, row, good[0].product if good else None))
        except BadRow as error:
            bad.append(RowError(line, error.field, error.message))
    if current is not None:
        yield current, good, bad
