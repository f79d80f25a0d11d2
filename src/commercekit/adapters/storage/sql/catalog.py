"""The catalogue in SQL: categories, products and their types, collections, slugs,
the change record, prices, tax zones, shipping, promotions, coupons, and the coupon
uses every checkout shares.

Checks that can fail (a taken id or SKU, a missing parent) are decided by the domain
(:func:`~commercekit.domain.catalog.require_new`,
:func:`~commercekit.domain.catalog.check_product_refs`) from what is looked up here,
when called, so that the error comes from the call that caused it; the writes are
staged like any other and land on commit. Listing, loading and writing products or
prices by the thousand is :mod:`._catalog_bulk`'s; slugs and the change record are
:mod:`._catalog_records`'.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final, final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import _catalog_bulk as bulk
from commercekit.adapters.storage.sql import _catalog_records as records
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._catalog_rows import (
    BY_IDS,
    BY_SKUS,
    load_products,
    price_entry,
    price_row,
    product_rows,
)
from commercekit.adapters.storage.sql._rows import chunks, group, insert
from commercekit.adapters.storage.sql._stamp import READ_STAMP, bump_stamp
from commercekit.adapters.storage.sql.mapping import Row
from commercekit.adapters.storage.sql.session import Claim, Session
from commercekit.domain.catalog import (
    CatalogChange,
    Category,
    Product,
    ProductFilter,
    ProductType,
    SlugRecord,
    check_product_refs,
    require_new,
)
from commercekit.domain.catalog import Collection as ProductCollection
from commercekit.domain.errors import NotFound
from commercekit.domain.events import DomainEvent
from commercekit.domain.pricing import PriceEntry, PriceList, TaxZone
from commercekit.domain.promotions import Coupon, CouponUsage, Promotion
from commercekit.domain.shipping import DeliveryMethod, ShippingZone

__all__ = ["COUPON_CLAIMS", "SqlCatalogRepository", "bump_stamp"]

#: Coupon claims are applied first of all claims, by code.
COUPON_CLAIMS: Final = 0


# --- rows ------------------------------------------------------------------------------


def _price_list(row: Row) -> PriceList:
    return PriceList(
        row["id"], row["currency"], channel=row["channel"], customer_group=row["customer_group"]
    )


def _coupon(row: Row) -> Coupon:
    return Coupon(
        code=row["code"],
        promotion_id=row["promotion_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        usage_limit=row["usage_limit"],
        usage_limit_per_customer=row["usage_limit_per_customer"],
    )


# --- reads built once, executed with their values bound -------------------------------

_LISTS_IN: Final = (
    sa.select(t.price_lists)
    .where(t.price_lists.c.currency == sa.bindparam("currency"))
    .order_by(t.price_lists.c.id)
)
_PRICES_IN: Final = (
    sa.select(t.prices)
    .join(t.price_lists)
    .where(
        t.price_lists.c.currency == sa.bindparam("currency"),
        t.prices.c.sku.in_(sa.bindparam("skus", expanding=True)),
    )
    .order_by(t.prices.c.price_list_id, t.prices.c.sku)
)

# --- coupon uses -----------------------------------------------------------------------


def _use_coupon(
    connection: Connection, code: str, customer: str | None, order_id: str
) -> list[DomainEvent]:
    """Write one use of a coupon if its limits still allow it.

    The coupon's row is locked first (``FOR UPDATE`` on PostgreSQL; on SQLite the
    write transaction began IMMEDIATE and holds the database), and the uses are
    counted by fresh statements after that: a writer that held the lock before has
    committed its use by the time the lock is granted, so its use is counted. Whether
    one more use is allowed is the coupon's own decision (:meth:`Coupon.limit_refusal`).

    :raises CouponRejected: ``limit_reached``.
    """
    coupons, uses = t.coupons, t.coupon_uses
    row = (
        connection.execute(sa.select(coupons).where(coupons.c.code == code).with_for_update())
        .mappings()
        .first()
    )
    # Recording an order's use again replaces it, so it is never counted twice.
    connection.execute(uses.delete().where(uses.c.order_id == order_id, uses.c.code == code))
    if row is not None:
        mine = sa.case((uses.c.customer == customer, 1), else_=0)
        total, by_customer = connection.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(mine), 0)).where(
                uses.c.code == code
            )
        ).one()
        usage = CouponUsage(
            total=int(total), by_customer=0 if customer is None else int(by_customer)
        )
        refused = _coupon(row).limit_refusal(usage)
        if refused is not None:
            raise refused
    connection.execute(uses.insert().values(order_id=order_id, code=code, customer=customer))
    return []


# --- the repository --------------------------------------------------------------------


@final
class SqlCatalogRepository:
    """The catalogue, prices, tax zones, shipping, promotions and coupons."""

    def __init__(self, session: Session, promotions: codec.Codec) -> None:
        self._session = session
        self._codec = promotions

    def _taken(self, column: sa.Column[str], key: str) -> bool:
        with self._session.reading() as connection:
            return connection.execute(sa.select(column).where(column == key)).first() is not None

    def _add_row(self, table: sa.Table, row: dict[str, Any], *, stamped: bool = True) -> None:
        self._session.queue(lambda connection: insert(connection, table, [row]))
        if stamped:
            bump_stamp(self._session)

    def stamp(self) -> int:
        """The catalogue's version stamp (see the port): one primary-key read."""
        with self._session.reading() as connection:
            return int(READ_STAMP.rows(connection, {})[0]["value"])

    # --- categories ------------------------------------------------------------

    def add_category(self, category: Category) -> None:
        """:raises AlreadyExists: for a taken id. :raises NotFound: for a missing parent."""
        c = t.categories.c
        wanted = [category.id] if category.parent_id is None else [category.id, category.parent_id]
        with self._session.reading() as connection:
            found = set(connection.execute(sa.select(c.id).where(c.id.in_(wanted))).scalars())
        require_new("category", category.id, taken=category.id in found)
        if category.parent_id is not None and category.parent_id not in found:
            raise NotFound("category", category.parent_id, field="parent_id")
        row = {
            "id": category.id,
            "name": category.name,
            "slug": category.slug,
            "parent_id": category.parent_id,
            "seo_title": category.seo_title,
            "seo_description": category.seo_description,
            "canonical_url": category.canonical_url,
        }
        self._add_row(t.categories, row)

    def categories(self) -> list[Category]:
        """Every category, each after its parent (so a ``CategoryTree`` takes them in
        this order)."""
        with self._session.reading() as connection:
            rows = connection.execute(sa.select(t.categories).order_by(t.categories.c.id))
            children = group(rows.mappings(), "parent_id")
        ordered: list[Category] = []
        level = children.get(None, [])
        while level:
            ordered.extend(
                Category(
                    id=r["id"],
                    name=r["name"],
                    slug=r["slug"],
                    parent_id=r["parent_id"],
                    seo_title=r["seo_title"],
                    seo_description=r["seo_description"],
                    canonical_url=r["canonical_url"],
                )
                for r in level
            )
            level = [child for row in level for child in children.get(row["id"], [])]
        return ordered

    # --- products --------------------------------------------------------------

    def add_product(self, product: Product) -> None:
        """Stage a product with its variants.

        :raises AlreadyExists: for a taken product id.
        :raises DuplicateSku: for a SKU another variant already has.
        :raises NotFound: for a category that does not exist.
        """
        require_new("product", product.id, taken=self._taken(t.products.c.id, product.id))
        self._check(product)
        self._queue_product(product, replace=False)

    def save_product(self, product: Product) -> None:
        """Stage a product's new state: its fields, categories and variants as given.

        :raises NotFound: for an unknown product or category.
        :raises DuplicateSku: for a SKU another product's variant has.
        """
        if not self._taken(t.products.c.id, product.id):
            raise NotFound("product", product.id, field="product_id")
        self._check(product)
        self._queue_product(product, replace=True)

    def _check(self, product: Product) -> None:
        v, c = t.variants.c, t.categories.c
        owners: dict[str, str] = {}
        with self._session.reading() as connection:
            for chunk in chunks(variant.sku for variant in product.variants):
                query = sa.select(v.sku, v.product_id).where(v.sku.in_(chunk))
                owners.update((sku, owner) for sku, owner in connection.execute(query))
            known = set(
                connection.execute(sa.select(c.id).where(c.id.in_(product.category_ids))).scalars()
                if product.category_ids
                else ()
            )
        check_product_refs(product, sku_owners=owners, categories=known)

    def _queue_product(self, product: Product, *, replace: bool) -> None:
        product_id = product.id
        row, links, variants = product_rows(product)

        def write(connection: Connection) -> None:
            if replace:
                connection.execute(
                    t.products.update().where(t.products.c.id == product_id).values(row)
                )
                for table in (t.product_categories, t.variants):
                    connection.execute(table.delete().where(table.c.product_id == product_id))
            else:
                connection.execute(t.products.insert().values(row))
            insert(connection, t.product_categories, links)
            insert(connection, t.variants, variants)

        self._session.queue(write)
        bump_stamp(self._session)

    def product(self, product_id: str) -> Product:
        """:raises NotFound: for an unknown id."""
        with self._session.reading() as connection:
            found = load_products(connection, BY_IDS, {"ids": [product_id]})
        if not found:
            raise NotFound("product", product_id, field="product_id")
        return found[0]

    def products_for_skus(self, skus: Collection[str]) -> list[Product]:
        """The products (with all their variants) that own these SKUs: three
        statements, however many SKUs."""
        found: dict[str, Product] = {}
        with self._session.reading() as connection:
            for chunk in chunks(skus):
                for product in load_products(connection, BY_SKUS, {"skus": chunk}):
                    found.setdefault(product.id, product)
        return list(found.values())

    def products(self, product_ids: Collection[str]) -> list[Product]:
        """The stored products among these ids, by id: three statements for each
        5,000 ids."""
        return bulk.load_many(self._session, product_ids)

    def list_products(
        self, where: ProductFilter, *, after: str | None = None, limit: int = 50
    ) -> list[Product]:
        """Products meeting ``where``, by id, the first ``limit`` after ``after``
        (keyset pagination, filtered in the database): three statements."""
        return bulk.list_products(self._session, where, after=after, limit=limit)

    def put_products(self, products: Sequence[Product]) -> None:
        """Stage many products, each added or replaced whole, written in chunks of
        executemany statements, with one change of the stamp.

        :raises DuplicateSku: for a SKU another product has (nothing is staged).
        :raises NotFound: for a category that does not exist.
        """
        bulk.put_products(self._session, products)

    # --- product types and collections -----------------------------------------

    def add_product_type(self, product_type: ProductType) -> None:
        """Stage a product type. :raises AlreadyExists: for a taken id."""
        taken = self._taken(t.product_types.c.id, product_type.id)
        require_new("product type", product_type.id, taken=taken)
        definition = codec.encode_product_type(product_type)
        self._add_row(t.product_types, {"id": product_type.id, "definition": definition})

    def save_product_type(self, product_type: ProductType) -> None:
        """Stage a product type's new definition. :raises NotFound: for an unknown id."""
        if not self._taken(t.product_types.c.id, product_type.id):
            raise NotFound("product type", product_type.id, field="type_id")
        self._replace(t.product_types, product_type.id, codec.encode_product_type(product_type))

    def product_type(self, type_id: str) -> ProductType:
        """:raises NotFound: naming ``type_id``, for an unknown id."""
        definition = self._definition(t.product_types, type_id)
        if definition is None:
            raise NotFound("product type", type_id, field="type_id")
        return codec.decode_product_type(definition)

    def product_types(self) -> list[ProductType]:
        """Every product type, by id."""
        return [codec.decode_product_type(d) for d in self._definitions(t.product_types)]

    def add_collection(self, collection: ProductCollection) -> None:
        """Stage a collection. :raises AlreadyExists: for a taken id."""
        taken = self._taken(t.collections.c.id, collection.id)
        require_new("collection", collection.id, taken=taken)
        definition = codec.encode_collection(collection)
        self._add_row(t.collections, {"id": collection.id, "definition": definition})

    def save_collection(self, collection: ProductCollection) -> None:
        """Stage a collection's new definition. :raises NotFound: for an unknown id."""
        if not self._taken(t.collections.c.id, collection.id):
            raise NotFound("collection", collection.id, field="collection_id")
        self._replace(t.collections, collection.id, codec.encode_collection(collection))

    def collection(self, collection_id: str) -> ProductCollection:
        """:raises NotFound: naming ``collection_id``, for an unknown id."""
        definition = self._definition(t.collections, collection_id)
        if definition is None:
            raise NotFound("collection", collection_id, field="collection_id")
        return codec.decode_collection(definition)

    def collections(self) -> list[ProductCollection]:
        """Every collection, by id."""
        return [codec.decode_collection(d) for d in self._definitions(t.collections)]

    def _replace(self, table: sa.Table, key: str, definition: codec.Json) -> None:
        statement = table.update().where(table.c.id == key).values(definition=definition)

        def write(connection: Connection) -> None:
            connection.execute(statement)

        self._session.queue(write)
        bump_stamp(self._session)

    def _definition(self, table: sa.Table, key: str) -> Any:
        with self._session.reading() as connection:
            query = sa.select(table.c.definition).where(table.c.id == key)
            return connection.execute(query).scalar()

    def _definitions(self, table: sa.Table) -> list[Any]:
        with self._session.reading() as connection:
            query = sa.select(table.c.definition).order_by(table.c.id)
            return list(connection.execute(query).scalars())

    # --- slugs and the change record -------------------------------------------

    def slug_owner(self, locale: str, slug: str, *, channel: str = "") -> SlugRecord | None:
        """Who ``slug`` leads to in ``locale`` and ``channel``: one primary-key read."""
        return records.slug_owner(self._session, locale, slug, channel)

    def set_slugs(self, product_id: str, slugs: Mapping[str, str], *, channel: str = "") -> None:
        """Stage ``slugs`` (per locale) as the product's current ones: its earlier
        current slugs in those locales become redirects, and each new slug's row is
        written afresh, whoever's redirect it was.

        :raises NotFound: for an unknown product.
        :raises AlreadyExists: naming ``slug``, for one that is another product's
            current slug (:func:`~commercekit.domain.catalog.claim_slug` decides);
            another writer taking it first is a ``ConcurrencyConflict`` on commit.
        """
        records.put_slugs(self._session, {product_id: slugs}, channel)

    def slug_owners(
        self, locale: str, slugs: Collection[str], *, channel: str = ""
    ) -> dict[str, SlugRecord]:
        """Who each of ``slugs`` leads to: one read per thousand slugs."""
        return records.slug_owners(self._session, locale, slugs, channel)

    def put_slugs(self, slugs: Mapping[str, Mapping[str, str]], *, channel: str = "") -> None:
        """:meth:`set_slugs` of many products at once, a few statements per thousand
        slugs."""
        records.put_slugs(self._session, slugs, channel)

    def record_changes(self, changes: Sequence[CatalogChange]) -> None:
        """Stage changes for the record, in one executemany (not stamped)."""
        records.record_changes(self._session, changes)

    def changes(self, kind: str, key: str, *, limit: int = 100) -> list[CatalogChange]:
        """The recorded changes of one thing, oldest first: one statement."""
        return records.changes(self._session, kind, key, limit)

    # --- prices ----------------------------------------------------------------

    def add_price_list(self, price_list: PriceList) -> None:
        """Stage a price list with its prices. :raises AlreadyExists: for a taken id."""
        taken = self._taken(t.price_lists.c.id, price_list.id)
        require_new("price list", price_list.id, taken=taken)
        self._queue_price_list(price_list, replace=False)

    def save_price_list(self, price_list: PriceList) -> None:
        """Stage a price list's prices, replacing the stored ones.

        :raises NotFound: for an unknown price list.
        """
        if not self._taken(t.price_lists.c.id, price_list.id):
            raise NotFound("price list", price_list.id, field="price_list_id")
        self._queue_price_list(price_list, replace=True)

    def _queue_price_list(self, price_list: PriceList, *, replace: bool) -> None:
        list_id = price_list.id
        row = {
            "id": price_list.id,
            "currency": price_list.currency,
            "channel": price_list.channel,
            "customer_group": price_list.customer_group,
        }
        price_rows = [price_row(list_id, sku, entry) for sku, entry in price_list.entries().items()]

        def write(connection: Connection) -> None:
            if replace:
                connection.execute(
                    t.price_lists.update().where(t.price_lists.c.id == list_id).values(row)
                )
                connection.execute(t.prices.delete().where(t.prices.c.price_list_id == list_id))
            else:
                connection.execute(t.price_lists.insert().values(row))
            insert(connection, t.prices, price_rows)

        self._session.queue(write)
        bump_stamp(self._session)

    def put_prices(self, price_list_id: str, entries: Mapping[str, PriceEntry]) -> None:
        """Stage many prices of a list (each SKU's replaced), in chunks, without
        reading or rewriting the rest of it.

        :raises NotFound: for an unknown price list.
        """
        if not self._taken(t.price_lists.c.id, price_list_id):
            raise NotFound("price list", price_list_id, field="price_list_id")
        bulk.put_prices(self._session, price_list_id, entries)

    def remove_prices(self, price_list_id: str, skus: Collection[str]) -> None:
        """Stage taking these SKUs' prices out of a list (those it has)."""
        bulk.remove_prices(self._session, price_list_id, skus)

    def price_list(self, price_list_id: str) -> PriceList:
        """A whole price list. :raises NotFound: for an unknown id."""
        lists, prices = t.price_lists, t.prices
        with self._session.reading() as connection:
            row = (
                connection.execute(sa.select(lists).where(lists.c.id == price_list_id))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound("price list", price_list_id, field="price_list_id")
            found = _price_list(row)
            for price in connection.execute(
                sa.select(prices)
                .where(prices.c.price_list_id == price_list_id)
                .order_by(prices.c.sku)
            ).mappings():
                found.load(price["sku"], price_entry(price))
            return found

    def price_list_currencies(self) -> list[tuple[str, str]]:
        """Every price list's id and currency, by id (without its prices)."""
        lists = t.price_lists.c
        with self._session.reading() as connection:
            rows = connection.execute(sa.select(lists.id, lists.currency).order_by(lists.id))
            return [(found_id, currency) for found_id, currency in rows]

    def price_lists(self, currency: str, skus: Collection[str]) -> list[PriceList]:
        """The lists in ``currency``, each holding only the prices of ``skus``: two
        statements, however many SKUs."""
        with self._session.reading() as connection:
            rows = connection.execute(_LISTS_IN, {"currency": currency}).mappings()
            by_id = {row["id"]: _price_list(row) for row in rows}
            if not by_id:
                return []
            for chunk in chunks(skus):
                found = connection.execute(
                    _PRICES_IN, {"currency": currency, "skus": chunk}
                ).mappings()
                for price in found:
                    by_id[price["price_list_id"]].load(price["sku"], price_entry(price))
            return list(by_id.values())

    # --- tax zones, promotions, coupons ----------------------------------------

    def add_tax_zone(self, zone: TaxZone) -> None:
        """Stage a tax zone. :raises AlreadyExists: for a taken id."""
        require_new("tax zone", zone.id, taken=self._taken(t.tax_zones.c.id, zone.id))
        row = {
            "id": zone.id,
            "country": zone.country,
            "region": zone.region,
            "postal_prefix": zone.postal_prefix,
            "rates": [codec.encode_tax_rate(rate) for rate in zone.rates],
        }
        self._add_row(t.tax_zones, row)

    def tax_zones(self) -> list[TaxZone]:
        """Every tax zone, by id."""
        with self._session.reading() as connection:
            rows = connection.execute(sa.select(t.tax_zones).order_by(t.tax_zones.c.id))
            return [
                TaxZone(
                    id=row["id"],
                    country=row["country"],
                    region=row["region"],
                    postal_prefix=row["postal_prefix"],
                    rates=tuple(codec.decode_tax_rate(rate) for rate in row["rates"]),
                )
                for row in rows.mappings()
            ]

    def add_shipping_zone(self, zone: ShippingZone) -> None:
        """Stage a shipping zone. :raises AlreadyExists: for a taken id."""
        taken = self._taken(t.shipping_zones.c.id, zone.id)
        require_new("shipping zone", zone.id, taken=taken)
        self._add_row(
            t.shipping_zones, {"id": zone.id, "definition": codec.encode_shipping_zone(zone)}
        )

    def shipping_zones(self) -> list[ShippingZone]:
        """Every shipping zone, by id."""
        with self._session.reading() as connection:
            rows = connection.execute(sa.select(t.shipping_zones).order_by(t.shipping_zones.c.id))
            return [codec.decode_shipping_zone(row["definition"]) for row in rows.mappings()]

    def add_delivery_method(self, method: DeliveryMethod) -> None:
        """Stage a delivery method. :raises AlreadyExists: for a taken id."""
        taken = self._taken(t.delivery_methods.c.id, method.id)
        require_new("delivery method", method.id, taken=taken)
        definition = codec.encode_delivery_method(method)
        self._add_row(t.delivery_methods, {"id": method.id, "definition": definition})

    def delivery_methods(self) -> list[DeliveryMethod]:
        """Every delivery method, by id."""
        methods = t.delivery_methods
        with self._session.reading() as connection:
            rows = connection.execute(sa.select(methods).order_by(methods.c.id))
            return [codec.decode_delivery_method(row["definition"]) for row in rows.mappings()]

    def add_promotion(self, promotion: Promotion) -> None:
        """Stage a promotion. :raises AlreadyExists: for a taken id.
        :raises InvalidInput: for a benefit or condition no plugin offers."""
        definition = self._codec.encode(promotion)
        require_new("promotion", promotion.id, taken=self._taken(t.promotions.c.id, promotion.id))
        self._add_row(
            t.promotions, {"id": promotion.id, "name": promotion.name, "definition": definition}
        )

    def promotions(self) -> list[Promotion]:
        """Every promotion, by id."""
        with self._session.reading() as connection:
            rows = connection.execute(sa.select(t.promotions).order_by(t.promotions.c.id))
            return [self._codec.decode(row["definition"]) for row in rows.mappings()]

    def add_coupon(self, coupon: Coupon) -> None:
        """Stage a coupon. :raises AlreadyExists: for a taken code."""
        taken = self._taken(t.coupons.c.code, coupon.code)
        require_new("coupon", coupon.code, taken=taken, field="code")
        row = {
            "code": coupon.code,
            "promotion_id": coupon.promotion_id,
            "starts_at": coupon.starts_at,
            "ends_at": coupon.ends_at,
            "usage_limit": coupon.usage_limit,
            "usage_limit_per_customer": coupon.usage_limit_per_customer,
        }
        self._add_row(t.coupons, row, stamped=False)

    def coupons(self, codes: Collection[str]) -> list[Coupon]:
        """The coupons with these (normalised) codes, in the order asked."""
        found: dict[str, Coupon] = {}
        with self._session.reading() as connection:
            for chunk in chunks(codes):
                rows = connection.execute(sa.select(t.coupons).where(t.coupons.c.code.in_(chunk)))
                found.update((row["code"], _coupon(row)) for row in rows.mappings())
        return [found[code] for code in codes if code in found]

    def coupon_usage(
        self, codes: Collection[str], customer: str | None
    ) -> Mapping[str, CouponUsage]:
        """How often each code was used, in all and by ``customer``: one statement."""
        uses = t.coupon_uses
        counts: dict[str, tuple[int, int]] = {}
        with self._session.reading() as connection:
            for chunk in chunks(codes):
                mine = sa.case((uses.c.customer == customer, 1), else_=0)
                rows = connection.execute(
                    sa.select(uses.c.code, sa.func.count(), sa.func.sum(mine))
                    .where(uses.c.code.in_(chunk))
                    .group_by(uses.c.code)
                )
                counts.update((code, (int(total), int(by))) for code, total, by in rows)
        return {
            code: CouponUsage(
                total=counts.get(code, (0, 0))[0],
                by_customer=0 if customer is None else counts.get(code, (0, 0))[1],
            )
            for code in codes
        }

    def record_coupon_use(self, code: str, customer: str | None, order_id: str) -> None:
        """Stage one use of ``code`` by an order (recording it twice counts once),
        checked against the coupon's limits as it is written, under a lock on the
        coupon's row (a code with no coupon stored has no limits to check).

        :raises CouponRejected: ``limit_reached``, on commit (or on a read that
            writes what is staged first).
        """
        self._session.claim(
            Claim(
                order=(COUPON_CLAIMS, (code,)),
                apply=lambda connection: _use_coupon(connection, code, customer, order_id),
                owner=order_id,
            )
        )

    def release_coupon_uses(self, order_id: str) -> None:
        """Stage forgetting the uses an order made (a use staged earlier in this unit
        of work is forgotten too)."""
        self._session.withdraw(order_id)
        uses = t.coupon_uses

        def write(connection: Connection) -> None:
            connection.execute(uses.delete().where(uses.c.order_id == order_id))

        self._session.queue(write)
