"""Bulk import and export of the catalogue: products, variants, prices and stock, as
CSV or JSON Lines, one row per variant.

A row names its product (``product_id``, ``name``, ...) and one of its variants
(``sku``, ``options``, ...), the variant's prices per price list and its stock on hand
per location. In CSV, lists are ``;``-separated and the maps are columns of their own:
``attr:<name>`` (product attributes), ``option:<axis>``, ``vattr:<name>`` (variant
attributes), ``price:<price list>`` (an amount in the list's currency) and
``stock:<location>`` (units on hand). JSON Lines carries the same as lists and
objects (``attributes``, ``options``, ``variant_attributes``, ``prices``, ``stock``).

Importing is an upsert by product id and SKU: a product's rows replace it whole
(its fields and variants); prices are set; stock on hand is counted to the number
given (a count movement in the ledger). Running the same file twice gives the same
catalogue. Rows are read and written in batches, never the whole file at once, and
a product's rows are expected together (as export writes them). A bad row is
reported with its line and field, and its product left as it was; every other
product goes in.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, Any, Final, Literal

from commercekit.domain.catalog import (
    CatalogChange,
    Product,
    ProductFilter,
    ProductType,
    PublicationState,
    SlugRecord,
    Variant,
    claim_slug,
    slugify,
)
from commercekit.domain.errors import CommerceError, InvalidInput, NotFound
from commercekit.domain.events import CatalogUpdated, StockChanged
from commercekit.domain.identifiers import check_key
from commercekit.domain.inventory import MovementKind, StockChange, StockMovement
from commercekit.domain.money import Money, from_minor_units, minor_units
from commercekit.domain.pricing import PriceEntry
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service
from commercekit.services.catalog_rows import (
    PRODUCT_COLUMNS,
    ROW_LISTS,
    ROW_MAPS,
    VARIANT_COLUMNS,
    BadRow,
    ImportReport,
    ParsedRow,
    RowError,
    csv_rows,
    grouped,
    jsonl_rows,
)

__all__ = ["BATCH", "CatalogTransfer", "Format", "ImportReport", "RowError"]

Format = Literal["csv", "jsonl"]
#: How many products go into storage at once.
BATCH: Final = 500

# --- the service ----------------------------------------------------------------------


class CatalogTransfer(Service):
    """Moves a catalogue in and out of files."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)

    def import_file(
        self,
        handle: IO[str],
        format: Format = "csv",
        *,
        actor: str = "import",
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import products, variants, prices and stock from an open text file.

        :param progress: told the number of rows read so far, after each batch.
        :raises InvalidInput: naming ``format``, for one that is neither ``csv`` nor
            ``jsonl``.
        """
        check_key(actor, "actor")
        if not callable(getattr(handle, "readline", None)):
            raise InvalidInput("expected a file open for reading text", field="handle")
        if progress is not None and not callable(progress):
            raise InvalidInput("expected a function of the rows read", field="progress")
        if format == "csv":
            rows: Iterable[tuple[int, Mapping[str, Any]]] = csv_rows(handle)
        elif format == "jsonl":
            rows = jsonl_rows(handle)
        else:
            raise InvalidInput("expected csv or jsonl", field="format")
        report = ImportReport()
        batch: list[tuple[str, list[ParsedRow]]] = []
        try:
            for product_id, good, bad in grouped(rows, report):
                if bad:
                    report.errors.extend(bad)
                    report.errors.extend(
                        RowError(
                            row.line, "product_id", f"{product_id}: another of its rows is bad"
                        )
                        for row in good
                    )
                    continue
                batch.append((product_id, good))
                if len(batch) >= BATCH:
                    self._write(batch, report, actor)
                    batch = []
                    if progress is not None:
                        progress(report.rows)
        except (csv.Error, BadRow) as error:
            report.errors.append(RowError(report.rows + 1, "row", str(error)))
        if batch:
            self._write(batch, report, actor)
        if progress is not None:
            progress(report.rows)
        return report

    def import_text(
        self, text: str, format: Format = "csv", *, actor: str = "import"
    ) -> ImportReport:
        """:meth:`import_file` of a string."""
        if not isinstance(text, str):
            raise InvalidInput("expected the file's text", field="text")
        return self.import_file(io.StringIO(text), format, actor=actor)

    # --- writing a batch ----------------------------------------------------------

    def _write(
        self, batch: list[tuple[str, list[ParsedRow]]], report: ImportReport, actor: str
    ) -> None:
        """Write a batch in one unit of work; when storage refuses it (a SKU another
        product has), write its products one by one to find and report the one."""
        try:
            self._run(functools.partial(self._put, batch=batch, report=report, actor=actor))
        except CommerceError:
            if len(batch) == 1:
                raise
            for one in batch:
                try:
                    self._run(functools.partial(self._put, batch=[one], report=report, actor=actor))
                except CommerceError as error:
                    report.errors.append(
                        RowError(one[1][0].line, error.field or "row", error.message)
                    )

    def _put(
        self,
        uow: UnitOfWork,
        *,
        batch: Sequence[tuple[str, list[ParsedRow]]],
        report: ImportReport,
        actor: str,
    ) -> None:
        now = self.now
        stored = {p.id: p for p in uow.catalog.products([pid for pid, _ in batch])}
        types: dict[str, ProductType] = {}
        products: list[Product] = []
        for product_id, rows in batch:
            fields = dict(rows[0].product)
            state = fields.pop("state")
            before = stored.get(product_id)
            fields["variants"] = [row.variant for row in rows]
            fields["created_at"] = before.created_at if before is not None else now
            fields["state"] = (
                PublicationState(state)
                if state
                else (before.state if before is not None else PublicationState.DRAFT)
            )
            if before is not None:
                fields["translations"] = before.translations
                fields["media"] = before.media
            product = Product(**fields)
            type_id = product.type_id
            if type_id is not None:
                kind = types.get(type_id) or uow.catalog.product_type(type_id)
                types[type_id] = kind
                kind.apply_to(product)
            products.append(product)
        self._claim_slugs(uow, products)
        uow.catalog.put_products(products)
        uow.catalog.put_slugs({product.id: {"": product.slug} for product in products})
        self._put_prices(uow, batch, report)
        self._count_stock(uow, batch, report, now)
        uow.catalog.record_changes(
            [
                CatalogChange(at=now, actor=actor, kind="product", key=p.id, action="imported")
                for p in products
            ]
        )
        ids = tuple(p.id for p in products)
        uow.record_events([CatalogUpdated(occurred_at=now, product_ids=ids)])
        report.products += len(products)

    @staticmethod
    def _claim_slugs(uow: UnitOfWork, products: Sequence[Product]) -> None:
        """Each product's slug made unique (see :func:`claim_slug`), among those
        stored and those of the batch before it: the owners of the slugs wanted read
        at once, a numbered one looked up as it is tried."""
        asked = {product.slug for product in products}
        owners = uow.catalog.slug_owners("", asked)
        for product in products:

            def owner(slug: str) -> SlugRecord | None:
                if slug not in asked:
                    asked.add(slug)
                    found = uow.catalog.slug_owner("", slug)
                    if found is not None:
                        owners[slug] = found
                return owners.get(slug)

            wanted = product.slug
            product.slug = claim_slug(
                product.id, wanted, owner=owner, numbered=wanted == slugify(product.name)
            )
            owners[product.slug] = SlugRecord(product.id, True)

    def _put_prices(
        self, uow: UnitOfWork, batch: Sequence[tuple[str, list[ParsedRow]]], report: ImportReport
    ) -> None:
        wanted: dict[str, dict[str, Decimal]] = {}
        for _, rows in batch:
            for row in rows:
                for list_id, amount in row.prices.items():
                    wanted.setdefault(list_id, {})[row.variant.sku] = amount
        for list_id, amounts in wanted.items():
            currency = self._currency(uow, list_id)
            held = {
                sku: entry
                for price_list in uow.catalog.price_lists(currency, list(amounts))
                if price_list.id == list_id
                for sku, entry in price_list.entries().items()
            }
            entries = {}
            for sku, amount in amounts.items():
                units = minor_units(Money(amount, currency), field=f"prices.{list_id}")
                if units < 0:
                    raise InvalidInput("a price cannot be negative", field=f"prices.{list_id}")
                # The unit price is set; volume tiers and a sale set elsewhere stay.
                before = held.get(sku)
                entries[sku] = (
                    PriceEntry(units, (), None)
                    if before is None
                    else PriceEntry(units, before.tiers, before.sale)
                )
            uow.catalog.put_prices(list_id, entries)
            report.prices += len(entries)

    def _currency(self, uow: UnitOfWork, list_id: str) -> str:
        for found_id, currency in uow.catalog.price_list_currencies():
            if found_id == list_id:
                return currency
        raise NotFound("price list", list_id, field=f"prices.{list_id}")

    def _count_stock(
        self,
        uow: UnitOfWork,
        batch: Sequence[tuple[str, list[ParsedRow]]],
        report: ImportReport,
        now: Any,
    ) -> None:
        wanted = {
            (row.variant.sku, location): units
            for _, rows in batch
            for row in rows
            for location, units in row.stock.items()
        }
        if not wanted:
            return
        known = {place.id for place in uow.inventory.locations()}
        for _, location in wanted:
            if location not in known:
                raise NotFound("stock location", location, field=f"stock.{location}")
        items = {item.key: item for item in uow.inventory.items({sku for sku, _ in wanted})}
        changes = []
        for (sku, location), units in sorted(wanted.items()):
            item = items.get((sku, location))
            difference = units - (item.on_hand if item is not None else 0)
            if difference:
                movement = StockMovement(
                    id=self._rt.ids.new_id("mv"),
                    sku=sku,
                    location_id=location,
                    kind=MovementKind.COUNT,
                    quantity=difference,
                    at=now,
                    reference="import",
                )
                changes.append(StockChange.move(movement, floor=movement.floor))
        if changes:
            uow.inventory.apply(changes)
            uow.record_events([StockChanged(occurred_at=now, skus=tuple(c.sku for c in changes))])
        report.stock_counts += len(changes)

    # --- export -------------------------------------------------------------------

    def export_file(self, handle: IO[str], format: Format = "csv") -> int:
        """Write every product, variant, price and stock level to an open text file,
        a page of products at a time.

        :returns: how many rows were written.
        """
        if format not in ("csv", "jsonl"):
            raise InvalidInput("expected csv or jsonl", field="format")
        if not callable(getattr(handle, "write", None)):
            raise InvalidInput("expected a file open for writing text", field="handle")
        lists = self._read(lambda uow: uow.catalog.price_list_currencies())
        locations = self._read(lambda uow: [p.id for p in uow.inventory.locations()])
        names = self._names() if format == "csv" else []
        written = 0
        writer: csv.DictWriter[str] | None = None
        after: str | None = None
        while True:
            page, rows = self._read(functools.partial(self._page, after=after, lists=lists))
            for row in rows:
                if format == "jsonl":
                    handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                else:
                    if writer is None:
                        writer = csv.DictWriter(handle, _csv_columns(lists, locations, names))
                        writer.writeheader()
                    writer.writerow(_flat(row))
                written += 1
            if len(page) < BATCH:
                return written
            after = page[-1].id

    def _names(self) -> list[str]:
        """Every attribute, option and variant attribute name in the catalogue, as
        CSV columns (a first pass, a page at a time)."""
        found: set[str] = set()
        after: str | None = None
        while True:
            page = self._read(functools.partial(_all_products, after=after))
            for product in page:
                found.update(f"attr:{name}" for name in product.attributes)
                for variant in product.variants:
                    found.update(f"option:{name}" for name in variant.options)
                    found.update(f"vattr:{name}" for name in variant.attributes)
            if len(page) < BATCH:
                return sorted(found)
            after = page[-1].id

    def _page(
        self, uow: UnitOfWork, *, after: str | None, lists: Sequence[tuple[str, str]]
    ) -> tuple[list[Product], list[dict[str, Any]]]:
        page = uow.catalog.list_products(ProductFilter(), after=after, limit=BATCH)
        skus = [v.sku for p in page for v in p.variants]
        prices: dict[str, dict[str, str]] = {}
        wanted = dict(lists)
        for currency in sorted(set(wanted.values())):
            for price_list in uow.catalog.price_lists(currency, skus):
                if price_list.id not in wanted:
                    continue
                for sku, entry in price_list.entries().items():
                    amount = from_minor_units(entry.unit, currency).amount
                    prices.setdefault(sku, {})[price_list.id] = str(amount)
        stock: dict[str, dict[str, int]] = {}
        for item in uow.inventory.items(skus):
            stock.setdefault(item.sku, {})[item.location_id] = item.on_hand
        rows = [
            _row(product, variant, prices.get(variant.sku, {}), stock.get(variant.sku, {}))
            for product in page
            for variant in product.variants
        ]
        return page, rows


def _all_products(uow: UnitOfWork, *, after: str | None) -> list[Product]:
    return uow.catalog.list_products(ProductFilter(), after=after, limit=BATCH)


def _row(
    product: Product, variant: Variant, prices: Mapping[str, str], stock: Mapping[str, int]
) -> dict[str, Any]:
    size = variant.dimensions
    return {
        "product_id": product.id,
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "type_id": product.type_id,
        "state": product.state.value,
        "category_ids": list(product.category_ids),
        "tags": list(product.tags),
        "option_axes": list(product.option_axes),
        "tax_category": product.tax_category,
        "seo_title": product.seo_title,
        "seo_description": product.seo_description,
        "canonical_url": product.canonical_url,
        "brand": product.brand,
        "condition": product.condition.value,
        "attributes": dict(product.attributes),
        "sku": variant.sku,
        "options": dict(variant.options),
        "variant_attributes": dict(variant.attributes),
        "weight_grams": variant.weight_grams,
        "length_mm": None if size is None else size.length_mm,
        "width_mm": None if size is None else size.width_mm,
        "height_mm": None if size is None else size.height_mm,
        "variant_tax_category": variant.tax_category,
        "track_stock": variant.track_stock,
        "digital": variant.digital,
        "gtin": variant.gtin,
        "mpn": variant.mpn,
        "prices": dict(prices),
        "stock": dict(stock),
    }


_PREFIXES: Final = {name: prefix for prefix, name in ROW_MAPS.items()}


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if key in _PREFIXES:
            for name, item in value.items():
                flat[f"{_PREFIXES[key]}:{name}"] = item
        elif key in ROW_LISTS:
            flat[key] = ";".join(value)
        elif isinstance(value, bool):
            flat[key] = "true" if value else "false"
        else:
            flat[key] = "" if value is None else value
    return flat


def _csv_columns(
    lists: Sequence[tuple[str, str]], locations: Sequence[str], names: Sequence[str]
) -> list[str]:
    """The columns of an export: every product and variant field, and a column per
    attribute, option, price list and location."""
    return [
        *PRODUCT_COLUMNS,
        *sorted(n for n in names if n.startswith("attr:")),
        *VARIANT_COLUMNS,
        *sorted(n for n in names if not n.startswith("attr:")),
        *(f"price:{list_id}" for list_id, _ in lists),
        *(f"stock:{location}" for location in locations),
    ]
