"""The catalogue's rows: a product with its category links and variants, a price, and
the reads that load products back whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._rows import group
from commercekit.adapters.storage.sql.mapping import Row
from commercekit.domain.catalog import Condition, Dimensions, Product, PublicationState, Variant
from commercekit.domain.pricing import PriceEntry

__all__ = [
    "BY_IDS",
    "BY_SKUS",
    "ProductReads",
    "load_products",
    "price_entry",
    "price_row",
    "product_rows",
    "with_parts",
]


def product_rows(product: Product) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """A product's row, its category links and its variants' rows."""
    row = {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "tax_category": product.tax_category,
        "state": product.state.value,
        "available_from": product.available_from,
        "available_until": product.available_until,
        "attributes": dict(product.attributes),
        "type_id": product.type_id,
        "option_axes": list(product.option_axes),
        "tags": list(product.tags),
        "translations": {
            locale: codec.encode_product_text(words)
            for locale, words in product.translations.items()
        },
        "media": [codec.encode_media(item) for item in product.media],
        "seo_title": product.seo_title,
        "seo_description": product.seo_description,
        "canonical_url": product.canonical_url,
        "brand": product.brand,
        "condition": product.condition.value,
        "created_at": product.created_at,
    }
    links = [
        {"product_id": product.id, "category_id": category_id, "position": position}
        for position, category_id in enumerate(product.category_ids)
    ]
    variants = [
        {
            "sku": v.sku,
            # The catalogue owns this link: a variant belongs to the product it is saved with.
            "product_id": product.id,
            "position": position,
            "options": dict(v.options),
            "weight_grams": v.weight_grams,
            "length_mm": None if v.dimensions is None else v.dimensions.length_mm,
            "width_mm": None if v.dimensions is None else v.dimensions.width_mm,
            "height_mm": None if v.dimensions is None else v.dimensions.height_mm,
            "tax_category": v.tax_category,
            "track_stock": v.track_stock,
            "digital": v.digital,
            "components": dict(v.components) or None,
            "attributes": dict(v.attributes),
            "gtin": v.gtin,
            "mpn": v.mpn,
        }
        for position, v in enumerate(product.variants)
    ]
    return row, links, variants


def _variant(row: Row) -> Variant:
    dimensions = (
        None
        if row["length_mm"] is None
        else Dimensions(
            length_mm=row["length_mm"], width_mm=row["width_mm"], height_mm=row["height_mm"]
        )
    )
    return Variant(
        sku=row["sku"],
        product_id=row["product_id"],
        options=row["options"],
        weight_grams=row["weight_grams"],
        dimensions=dimensions,
        tax_category=row["tax_category"],
        track_stock=row["track_stock"],
        digital=row["digital"],
        components=row["components"] or {},
        attributes=row["attributes"],
        gtin=row["gtin"],
        mpn=row["mpn"],
    )


def _product(row: Row, category_ids: Sequence[str], variants: Sequence[Row]) -> Product:
    return Product(
        id=row["id"],
        name=row["name"],
        slug=row["slug"],
        description=row["description"],
        category_ids=tuple(category_ids),
        attributes=row["attributes"],
        type_id=row["type_id"],
        option_axes=tuple(row["option_axes"]),
        tags=tuple(row["tags"]),
        translations={
            locale: codec.decode_product_text(words)
            for locale, words in row["translations"].items()
        },
        media=tuple(codec.decode_media(item) for item in row["media"]),
        seo_title=row["seo_title"],
        seo_description=row["seo_description"],
        canonical_url=row["canonical_url"],
        brand=row["brand"],
        condition=Condition(row["condition"]),
        created_at=row["created_at"],
        tax_category=row["tax_category"],
        state=PublicationState(row["state"]),
        available_from=row["available_from"],
        available_until=row["available_until"],
        variants=[_variant(v) for v in variants],
    )


def price_row(price_list_id: str, sku: str, entry: PriceEntry) -> dict[str, Any]:
    """One price of a list."""
    sale_units, starts_at, ends_at = entry.sale or (None, None, None)
    return {
        "price_list_id": price_list_id,
        "sku": sku,
        "unit_units": entry.unit,
        "tiers": [list(tier) for tier in entry.tiers],
        "sale_units": sale_units,
        "sale_starts_at": starts_at,
        "sale_ends_at": ends_at,
    }


def price_entry(row: Row) -> PriceEntry:
    """What :func:`price_row` wrote."""
    sale: tuple[int, datetime | None, datetime | None] | None = None
    if row["sale_units"] is not None:
        sale = (row["sale_units"], row["sale_starts_at"], row["sale_ends_at"])
    tiers = tuple((int(quantity), int(units)) for quantity, units in row["tiers"])
    return PriceEntry(row["unit_units"], tiers, sale)


# --- reads built once, executed with their values bound -------------------------------

ProductReads = tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]]


def _product_reads(ids: sa.ColumnElement[Any] | sa.BindParameter[Any]) -> ProductReads:
    """The products whose ids are in ``ids``, their category links and variants."""
    links, variants = t.product_categories, t.variants
    return (
        sa.select(t.products).where(t.products.c.id.in_(ids)).order_by(t.products.c.id),
        sa.select(links.c.product_id, links.c.category_id)
        .where(links.c.product_id.in_(ids))
        .order_by(links.c.product_id, links.c.position),
        sa.select(variants)
        .where(variants.c.product_id.in_(ids))
        .order_by(variants.c.product_id, variants.c.position),
    )


BY_IDS: Final = _product_reads(sa.bindparam("ids", expanding=True))
BY_SKUS: Final = _product_reads(
    sa.select(t.variants.c.product_id)
    .where(t.variants.c.sku.in_(sa.bindparam("skus", expanding=True)))
    .scalar_subquery()
)


def load_products(
    connection: Connection, statements: ProductReads, params: Mapping[str, Any]
) -> list[Product]:
    """The products ``statements`` read with ``params``, whole: three statements."""
    products, _, _ = statements
    rows = connection.execute(products, params).mappings().all()
    return _assemble(connection, rows, statements, params)


def with_parts(connection: Connection, rows: Sequence[Row]) -> list[Product]:
    """Products from their rows as read (in that order), with their category links and
    variants: two statements."""
    if not rows:
        return []
    return _assemble(connection, rows, BY_IDS, {"ids": [row["id"] for row in rows]})


def _assemble(
    connection: Connection,
    rows: Sequence[Row],
    statements: ProductReads,
    params: Mapping[str, Any],
) -> list[Product]:
    if not rows:
        return []
    _, links, variants = statements
    categories = group(connection.execute(links, params).mappings(), "product_id")
    parts = group(connection.execute(variants, params).mappings(), "product_id")
    return [
        _product(
            row,
            [link["category_id"] for link in categories.get(row["id"], [])],
            parts.get(row["id"], []),
        )
        for row in rows
    ]
