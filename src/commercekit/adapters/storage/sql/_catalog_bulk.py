"""The catalogue at import scale: products listed by a filter a page at a time, loaded
many at once and written many at once, and prices set or taken out by the thousand.

Writes go in chunks of :data:`WRITE_CHUNK` rows, each an executemany (a statement per
chunk and table, never one per product), so that importing 100,000 products costs a
few hundred statements. What may be written is decided before anything is staged,
by the domain (:func:`~commercekit.domain.catalog.check_product_refs`), so that a
refused import stages nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._catalog_rows import (
    BY_IDS,
    load_products,
    price_row,
    product_rows,
    with_parts,
)
from commercekit.adapters.storage.sql._driver import Prepared
from commercekit.adapters.storage.sql._rows import chunks, insert
from commercekit.adapters.storage.sql._stamp import bump
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.catalog import Product, ProductFilter, check_product_refs
from commercekit.domain.pricing import PriceEntry

__all__ = [
    "WRITE_CHUNK",
    "list_products",
    "load_many",
    "put_prices",
    "put_products",
    "remove_prices",
]

#: Rows per executemany: large enough that statements are few, small enough that one
#: chunk's parameters stay far below what a driver buffers comfortably.
WRITE_CHUNK: Final = 1000


# --- reads -----------------------------------------------------------------------------


def load_many(session: Session, product_ids: Collection[str]) -> list[Product]:
    """The stored products among ``product_ids``, by id: three statements a chunk."""
    found: list[Product] = []
    with session.reading() as connection:
        for chunk in chunks(product_ids):
            found.extend(load_products(connection, BY_IDS, {"ids": chunk}))
    return sorted(found, key=lambda product: product.id)


def list_products(
    session: Session, where: ProductFilter, *, after: str | None, limit: int
) -> list[Product]:
    """A page of the products meeting ``where``, by id after ``after``: the filter
    and the page are one statement, their links and variants two more."""
    if limit < 1:
        return []
    with session.reading() as connection:
        query = _listing(where, after, limit, connection.dialect.name)
        rows = connection.execute(query).mappings().all()
        return with_parts(connection, rows)


def _listing(where: ProductFilter, after: str | None, limit: int, dialect: str) -> sa.Select[Any]:
    # Each condition as ProductFilter.matches has it, so every storage lists alike.
    products = t.products
    query = sa.select(products).order_by(products.c.id).limit(limit)
    if after is not None:
        query = query.where(products.c.id > after)
    if where.category_id is not None:
        links = t.product_categories
        query = query.where(
            sa.exists().where(
                links.c.product_id == products.c.id, links.c.category_id == where.category_id
            )
        )
    if where.state is not None:
        query = query.where(products.c.state == where.state.value)
    if where.type_id is not None:
        query = query.where(products.c.type_id == where.type_id)
    if where.tag is not None:
        query = query.where(_tagged(where.tag.casefold(), dialect))
    return query


def _tagged(tag: str, dialect: str) -> sa.ColumnElement[bool]:
    """Whether a product's tags (a JSON array of strings) hold ``tag`` exactly: each
    database's own JSON containment, never a match on the JSON's text."""
    tags = t.products.c.tags
    if dialect == "postgresql":
        return sa.cast(tags, postgresql.JSONB).contains([tag])
    each = sa.func.json_each(tags).table_valued("value")
    return sa.exists().select_from(each).where(each.c.value == tag)


# --- products --------------------------------------------------------------------------


@attrs.define
class _Chunk:
    """One chunk of an import's rows, split by whether the product is stored."""

    added: list[dict[str, Any]]
    replaced: list[dict[str, Any]]
    links: list[dict[str, Any]]
    variants: list[dict[str, Any]]


def put_products(session: Session, products: Sequence[Product]) -> None:
    """Check and stage many products, each added or replaced whole (a product given
    twice: the last one given), with one change of the stamp.

    :raises DuplicateSku: for a SKU another product has, stored or given earlier.
    :raises NotFound: for a category that does not exist.
    """
    batch = list({product.id: product for product in products}.values())
    if not batch:
        return
    pieces = [batch[start : start + WRITE_CHUNK] for start in range(0, len(batch), WRITE_CHUNK)]
    stored: set[str] = set()
    owners: dict[str, str] = {}
    with session.reading() as connection:
        for piece in pieces:
            stored.update(_stored(connection, [product.id for product in piece]))
            owners.update(_owners(connection, [v.sku for p in piece for v in p.variants]))
            known = _categories(connection, {c for p in piece for c in p.category_ids})
            for product in piece:
                check_product_refs(product, sku_owners=owners, categories=known)
                owners.update((variant.sku, product.id) for variant in product.variants)
    staged = [_rows_of(piece, stored) for piece in pieces]

    def write(connection: Connection) -> None:
        for chunk in staged:
            _write(connection, chunk)
        bump(connection)

    session.queue(write)


def _stored(connection: Connection, product_ids: Sequence[str]) -> set[str]:
    column = t.products.c.id
    return set(connection.execute(sa.select(column).where(column.in_(product_ids))).scalars())


def _owners(connection: Connection, skus: Iterable[str]) -> dict[str, str]:
    v = t.variants.c
    owners: dict[str, str] = {}
    for chunk in chunks(skus):
        query = sa.select(v.sku, v.product_id).where(v.sku.in_(chunk))
        owners.update((sku, owner) for sku, owner in connection.execute(query))
    return owners


def _categories(connection: Connection, category_ids: Collection[str]) -> set[str]:
    if not category_ids:
        return set()
    column = t.categories.c.id
    query = sa.select(column).where(column.in_(sorted(category_ids)))
    return set(connection.execute(query).scalars())


def _rows_of(piece: Sequence[Product], stored: Collection[str]) -> _Chunk:
    chunk = _Chunk(added=[], replaced=[], links=[], variants=[])
    for product in piece:
        row, links, variants = product_rows(product)
        (chunk.replaced if product.id in stored else chunk.added).append(row)
        chunk.links.extend(links)
        chunk.variants.extend(variants)
    return chunk


def _write(connection: Connection, chunk: _Chunk) -> None:
    insert(connection, t.products, chunk.added)
    if chunk.replaced:
        _replacing(tuple(chunk.replaced[0])).run_many(
            connection, [{**row, "old_id": row["id"]} for row in chunk.replaced]
        )
        # A replaced product's links and variants are written afresh, as given.
        ids = [row["id"] for row in chunk.replaced]
        for table in (t.product_categories, t.variants):
            connection.execute(table.delete().where(table.c.product_id.in_(ids)))
    insert(connection, t.product_categories, chunk.links)
    insert(connection, t.variants, chunk.variants)


@functools.lru_cache(maxsize=4)
def _replacing(columns: tuple[str, ...]) -> Prepared:
    """An UPDATE of a stored product's row, for an executemany."""
    products = t.products
    statement = products.update().where(products.c.id == sa.bindparam("old_id"))
    return Prepared(statement, [name for name in columns if name != "id"])


# --- prices ----------------------------------------------------------------------------


def put_prices(session: Session, price_list_id: str, entries: Mapping[str, PriceEntry]) -> None:
    """Stage these prices of a stored list, each SKU's replaced, without reading or
    rewriting the rest of the list."""
    rows = [price_row(price_list_id, sku, entry) for sku, entry in entries.items()]
    if not rows:
        return
    prices = t.prices

    def write(connection: Connection) -> None:
        for start in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[start : start + WRITE_CHUNK]
            skus = [row["sku"] for row in chunk]
            connection.execute(
                prices.delete().where(
                    prices.c.price_list_id == price_list_id, prices.c.sku.in_(skus)
                )
            )
            insert(connection, prices, chunk)
        bump(connection)

    session.queue(write)


def remove_prices(session: Session, price_list_id: str, skus: Collection[str]) -> None:
    """Stage taking these SKUs' prices out of a list; the stamp changes only if one
    was there."""
    wanted = chunks(skus)
    if not wanted:
        return
    prices = t.prices

    def write(connection: Connection) -> None:
        removed = 0
        for chunk in wanted:
            removed += connection.execute(
                prices.delete().where(
                    prices.c.price_list_id == price_list_id, prices.c.sku.in_(chunk)
                )
            ).rowcount
        if removed:
            bump(connection)

    session.queue(write)
