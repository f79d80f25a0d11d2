"""The catalogue in SQL: categories, products, prices, tax zones, promotions, coupons,
and the coupon uses every checkout shares.

Checks that can fail (a taken id or SKU, a missing parent) are decided by the domain
(:func:`~commercekit.domain.catalog.require_new`,
:func:`~commercekit.domain.catalog.check_product_refs`) from what is looked up here,
when called, so that the error comes from the call that caused it; the writes are
staged like any other and land on commit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._driver import Prepared
from commercekit.adapters.storage.sql._rows import chunks, group, insert
from commercekit.adapters.storage.sql.mapping import Row
from commercekit.adapters.storage.sql.session import Claim, Session
from commercekit.domain.catalog import (
    Category,
    Dimensions,
    Product,
    PublicationState,
    Variant,
    check_product_refs,
    require_new,
)
from commercekit.domain.errors import NotFound
from commercekit.domain.events import DomainEvent
from commercekit.domain.pricing import PriceEntry, PriceList, TaxZone
from commercekit.domain.promotions import Coupon, CouponUsage, Promotion
from commercekit.domain.shipping import DeliveryMethod, ShippingZone

__all__ = ["COUPON_CLAIMS", "SqlCatalogRepository", "bump_stamp"]

#: Coupon claims are applied first of all claims, by code.
COUPON_CLAIMS: Final = 0


# --- rows ------------------------------------------------------------------------------


def _product_rows(product: Product) -> tuple[dict[str, Any], list[Any], list[Any]]:
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
    )


def _product(row: Row, category_ids: Sequence[str], variants: Sequence[Row]) -> Product:
    return Product(
        id=row["id"],
        name=row["name"],
        slug=row["slug"],
        description=row["description"],
        category_ids=tuple(category_ids),
        attributes=row["attributes"],
        tax_category=row["tax_category"],
        state=PublicationState(row["state"]),
        available_from=row["available_from"],
        available_until=row["available_until"],
        variants=[_variant(v) for v in variants],
    )


def _price_rows(price_list: PriceList) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for sku, entry in price_list.entries().items():
        sale_units, starts_at, ends_at = entry.sale or (None, None, None)
        rows.append(
            {
                "price_list_id": price_list.id,
                "sku": sku,
                "unit_units": entry.unit,
                "tiers": [list(tier) for tier in entry.tiers],
                "sale_units": sale_units,
                "sale_starts_at": starts_at,
                "sale_ends_at": ends_at,
            }
        )
    return rows


def _price_entry(row: Row) -> PriceEntry:
    sale: tuple[int, datetime | None, datetime | None] | None = None
    if row["sale_units"] is not None:
        sale = (row["sale_units"], row["sale_starts_at"], row["sale_ends_at"])
    tiers = tuple((int(quantity), int(units)) for quantity, units in row["tiers"])
    return PriceEntry(row["unit_units"], tiers, sale)


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

_ProductReads = tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]]


def _product_reads(ids: sa.ColumnElement[Any] | sa.BindParameter[Any]) -> _ProductReads:
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


_BY_IDS: Final = _product_reads(sa.bindparam("ids", expanding=True))
_BY_SKUS: Final = _product_reads(
    sa.select(t.variants.c.product_id)
    .where(t.variants.c.sku.in_(sa.bindparam("skus", expanding=True)))
    .scalar_subquery()
)
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


# --- the stamp -------------------------------------------------------------------------

_STAMP: Final = "catalog"
_READ_STAMP: Final = Prepared(sa.select(t.stamps.c.value).where(t.stamps.c.name == _STAMP))
_BUMP_STAMP: Final = (
    t.stamps.update().where(t.stamps.c.name == _STAMP).values(value=t.stamps.c.value + 1)
)


def bump_stamp(session: Session) -> None:
    """Stage a change of the catalogue's stamp, written with the catalogue-wide write
    staged beside it."""
    session.queue(lambda connection: _bump(connection))


def _bump(connection: Connection) -> None:
    connection.execute(_BUMP_STAMP)


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
    """The catalogue, prices, tax zones, promotions and coupons."""

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
            return int(_READ_STAMP.rows(connection, {})[0]["value"])

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
                Category(id=r["id"], name=r["name"], slug=r["slug"], parent_id=r["parent_id"])
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
        row, links, variants = _product_rows(product)

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
            found = self._products(connection, _BY_IDS, {"ids": [product_id]})
        if not found:
            raise NotFound("product", product_id, field="product_id")
        return found[0]

    def products_for_skus(self, skus: Collection[str]) -> list[Product]:
        """The products (with all their variants) that own these SKUs: three
        statements, however many SKUs."""
        found: dict[str, Product] = {}
        with self._session.reading() as connection:
            for chunk in chunks(skus):
                for product in self._products(connection, _BY_SKUS, {"skus": chunk}):
                    found.setdefault(product.id, product)
        return list(found.values())

    @staticmethod
    def _products(
        connection: Connection, statements: _ProductReads, params: Mapping[str, Any]
    ) -> list[Product]:
        products, links, variants = statements
        rows = connection.execute(products, params).mappings().all()
        if not rows:
            return []
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
        price_rows = _price_rows(price_list)

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
                found.load(price["sku"], _price_entry(price))
            return found

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
                    by_id[price["price_list_id"]].load(price["sku"], _price_entry(price))
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
