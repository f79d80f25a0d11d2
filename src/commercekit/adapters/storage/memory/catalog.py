"""The catalogue in memory: categories, products and their types, collections,
slugs, the change record, prices, tax zones, shipping, promotions, coupons and their
uses. What may be added is the domain's decision
(:func:`~commercekit.domain.catalog.require_new`,
:func:`~commercekit.domain.catalog.check_product_refs`); this only looks up."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Final

from commercekit.adapters.storage.memory.tables import Committed, Repository
from commercekit.domain.catalog import (
    CatalogChange,
    Category,
    Product,
    ProductFilter,
    ProductType,
    SlugRecord,
    check_product_refs,
    claim_slug,
    require_new,
)
from commercekit.domain.catalog import Collection as ProductCollection
from commercekit.domain.errors import NotFound
from commercekit.domain.pricing import PriceEntry, PriceList, TaxZone
from commercekit.domain.promotions import Coupon, CouponUsage, Promotion
from commercekit.domain.shipping import DeliveryMethod, ShippingZone

__all__ = ["MemoryCatalogRepository", "check_coupon_uses"]

#: Keys of the change record, in the order changes were recorded (in every storage of
#: the process, as a database sequence numbers rows across connections).
_RECORDED: Final = itertools.count(1)


class MemoryCatalogRepository(Repository):
    def stamp(self) -> int:
        with self._t.storage.lock:
            return self._t.storage.stamp

    def _add(self, table: str, kind: str, key: str, value: Any, *, field: str = "id") -> None:
        require_new(kind, key, taken=self._t.get(table, key) is not None, field=field)
        self._t.insert(table, key, value)

    def add_category(self, category: Category) -> None:
        taken = self._t.get("categories", category.id) is not None
        require_new("category", category.id, taken=taken)
        if category.parent_id is not None and self._t.get("categories", category.parent_id) is None:
            raise NotFound("category", category.parent_id, field="parent_id")
        self._t.insert("categories", category.id, copy.deepcopy(category))

    def categories(self) -> list[Category]:
        return list(self._t.rows("categories"))

    def _check(self, product: Product) -> None:
        wanted = {variant.sku for variant in product.variants}
        owners = {
            v.sku: p.id for p in self._t.rows("products") for v in p.variants if v.sku in wanted
        }
        known = {c for c in product.category_ids if self._t.get("categories", c) is not None}
        check_product_refs(product, sku_owners=owners, categories=known)

    def _stored(self, product: Product) -> Product:
        stored = copy.deepcopy(product)
        for variant in stored.variants:
            variant.product_id = stored.id
        return stored

    def add_product(self, product: Product) -> None:
        require_new("product", product.id, taken=self._t.get("products", product.id) is not None)
        self._check(product)
        self._t.insert("products", product.id, self._stored(product))

    def save_product(self, product: Product) -> None:
        self.product(product.id)
        self._check(product)
        self._t.put("products", product.id, self._stored(product))

    def product(self, product_id: str) -> Product:
        product: Product | None = self._t.get("products", product_id)
        if product is None:
            raise NotFound("product", product_id, field="product_id")
        return product

    def products_for_skus(self, skus: Collection[str]) -> list[Product]:
        wanted = set(skus)
        found = [p for p in self._t.rows("products") if any(v.sku in wanted for v in p.variants)]
        return sorted(found, key=lambda p: p.id)

    def products(self, product_ids: Collection[str]) -> list[Product]:
        found = (self._t.get("products", key) for key in dict.fromkeys(product_ids))
        return sorted((p for p in found if p is not None), key=lambda p: p.id)

    def list_products(
        self, where: ProductFilter, *, after: str | None = None, limit: int = 50
    ) -> list[Product]:
        if limit < 1:
            return []
        found = sorted(
            (
                p
                for p in self._t.rows("products")
                if (after is None or p.id > after) and where.matches(p)
            ),
            key=lambda p: p.id,
        )
        return found[:limit]

    def put_products(self, products: Sequence[Product]) -> None:
        batch = list({product.id: product for product in products}.values())
        stored = {p.id: p for p in self._t.rows("products")}
        owners = {v.sku: p.id for p in stored.values() for v in p.variants}
        known = {category.id for category in self._t.rows("categories")}
        # Every product is decided on before any is staged: a refusal stages nothing.
        for product in batch:
            check_product_refs(product, sku_owners=owners, categories=known)
            owners.update((variant.sku, product.id) for variant in product.variants)
        for product in batch:
            if product.id in stored:
                self._t.put("products", product.id, self._stored(product))
            else:
                self._t.insert("products", product.id, self._stored(product))

    # --- product types, collections, slugs and the change record ---------------

    def add_product_type(self, product_type: ProductType) -> None:
        self._add("product_types", "product type", product_type.id, product_type)

    def save_product_type(self, product_type: ProductType) -> None:
        self.product_type(product_type.id)
        self._t.put("product_types", product_type.id, product_type)

    def product_type(self, type_id: str) -> ProductType:
        found: ProductType | None = self._t.get("product_types", type_id)
        if found is None:
            raise NotFound("product type", type_id, field="type_id")
        return found

    def product_types(self) -> list[ProductType]:
        return sorted(self._t.rows("product_types"), key=lambda kind: kind.id)

    def add_collection(self, collection: ProductCollection) -> None:
        self._add("collections", "collection", collection.id, copy.deepcopy(collection))

    def save_collection(self, collection: ProductCollection) -> None:
        self.collection(collection.id)
        self._t.put("collections", collection.id, copy.deepcopy(collection))

    def collection(self, collection_id: str) -> ProductCollection:
        found: ProductCollection | None = self._t.get("collections", collection_id)
        if found is None:
            raise NotFound("collection", collection_id, field="collection_id")
        return found

    def collections(self) -> list[ProductCollection]:
        return sorted(self._t.rows("collections"), key=lambda collection: collection.id)

    def slug_owner(self, locale: str, slug: str, *, channel: str = "") -> SlugRecord | None:
        found: SlugRecord | None = self._t.get("product_slugs", (channel, locale, slug))
        return found

    def _owner_in(self, locale: str, channel: str) -> Callable[[str], SlugRecord | None]:
        return lambda slug: self.slug_owner(locale, slug, channel=channel)

    def slug_owners(
        self, locale: str, slugs: Collection[str], *, channel: str = ""
    ) -> dict[str, SlugRecord]:
        return {
            slug: found
            for slug in set(slugs)
            if (found := self.slug_owner(locale, slug, channel=channel)) is not None
        }

    def put_slugs(self, slugs: Mapping[str, Mapping[str, str]], *, channel: str = "") -> None:
        for product_id in slugs:
            self.product(product_id)
        for product_id, by_locale in slugs.items():
            for locale, slug in by_locale.items():
                claim_slug(product_id, slug, owner=self._owner_in(locale, channel), numbered=False)
        wanted = {product_id for product_id, by_locale in slugs.items() if by_locale}
        if not wanted:
            return
        for (where, locale, slug), record in list(self._t.items("product_slugs")):
            if (
                where == channel
                and record.product_id in wanted
                and locale in slugs[record.product_id]
                and record.current
            ):
                key = (where, locale, slug)
                self._t.put("product_slugs", key, SlugRecord(record.product_id, False))
        for product_id, by_locale in slugs.items():
            self._set_current(product_id, by_locale, channel)

    def set_slugs(self, product_id: str, slugs: Mapping[str, str], *, channel: str = "") -> None:
        self.put_slugs({product_id: slugs}, channel=channel)

    def _set_current(self, product_id: str, slugs: Mapping[str, str], channel: str) -> None:
        for locale, slug in slugs.items():
            key, record = (channel, locale, slug), SlugRecord(product_id, True)
            # A slug no product had: another writer taking it meanwhile is a conflict,
            # as the database's primary key makes it.
            if self._t.get("product_slugs", key) is None:
                self._t.insert("product_slugs", key, record)
            else:
                self._t.put("product_slugs", key, record)

    def record_changes(self, changes: Sequence[CatalogChange]) -> None:
        for change in changes:
            self._t.insert("catalog_changes", next(_RECORDED), change)

    def changes(self, kind: str, key: str, *, limit: int = 100) -> list[CatalogChange]:
        found = sorted(
            (number, change)
            for number, change in self._t.items("catalog_changes")
            if change.kind == kind and change.key == key
        )
        return [change for _, change in found[: max(limit, 0)]]

    def add_price_list(self, price_list: PriceList) -> None:
        self._add("price_lists", "price list", price_list.id, copy.deepcopy(price_list))

    def save_price_list(self, price_list: PriceList) -> None:
        self.price_list(price_list.id)
        self._t.put("price_lists", price_list.id, copy.deepcopy(price_list))

    def put_prices(self, price_list_id: str, entries: Mapping[str, PriceEntry]) -> None:
        price_list = self.price_list(price_list_id)
        if not entries:
            return
        for sku, entry in entries.items():
            price_list.load(sku, entry)
        self._t.put("price_lists", price_list_id, price_list)

    def remove_prices(self, price_list_id: str, skus: Collection[str]) -> None:
        price_list: PriceList | None = self._t.get("price_lists", price_list_id)
        present = [] if price_list is None else [sku for sku in set(skus) if sku in price_list]
        if price_list is None or not present:
            return
        for sku in present:
            price_list.remove_price(sku)
        self._t.put("price_lists", price_list_id, price_list)

    def price_list(self, price_list_id: str) -> PriceList:
        found: PriceList | None = self._t.get("price_lists", price_list_id)
        if found is None:
            raise NotFound("price list", price_list_id, field="price_list_id")
        return found

    def price_list_currencies(self) -> list[tuple[str, str]]:
        return sorted((found.id, found.currency) for found in self._t.rows("price_lists"))

    def price_lists(self, currency: str, skus: Collection[str]) -> list[PriceList]:
        wanted = set(skus)
        found: list[PriceList] = []
        for stored in sorted(self._t.rows("price_lists"), key=lambda pl: pl.id):
            if stored.currency != currency:
                continue
            narrowed = PriceList(
                stored.id,
                stored.currency,
                channel=stored.channel,
                customer_group=stored.customer_group,
            )
            for sku, entry in stored.entries().items():
                if sku in wanted:
                    narrowed.load(sku, entry)
            found.append(narrowed)
        return found

    def add_shipping_zone(self, zone: ShippingZone) -> None:
        self._add("shipping_zones", "shipping zone", zone.id, zone)

    def shipping_zones(self) -> list[ShippingZone]:
        return sorted(self._t.rows("shipping_zones"), key=lambda zone: zone.id)

    def add_delivery_method(self, method: DeliveryMethod) -> None:
        self._add("delivery_methods", "delivery method", method.id, method)

    def delivery_methods(self) -> list[DeliveryMethod]:
        return sorted(self._t.rows("delivery_methods"), key=lambda method: method.id)

    def add_tax_zone(self, zone: TaxZone) -> None:
        self._add("tax_zones", "tax zone", zone.id, zone)

    def tax_zones(self) -> list[TaxZone]:
        return sorted(self._t.rows("tax_zones"), key=lambda zone: zone.id)

    def add_promotion(self, promotion: Promotion) -> None:
        self._add("promotions", "promotion", promotion.id, promotion)

    def promotions(self) -> list[Promotion]:
        return sorted(self._t.rows("promotions"), key=lambda promotion: promotion.id)

    def add_coupon(self, coupon: Coupon) -> None:
        self._add("coupons", "coupon", coupon.code, coupon, field="code")

    def coupons(self, codes: Collection[str]) -> list[Coupon]:
        return [c for c in (self._t.get("coupons", code) for code in codes) if c is not None]

    def coupon_usage(
        self, codes: Collection[str], customer: str | None
    ) -> Mapping[str, CouponUsage]:
        uses = list(self._t.rows("coupon_uses"))
        return {
            code: CouponUsage(
                total=sum(1 for c, _ in uses if c == code),
                by_customer=0
                if customer is None
                else sum(1 for c, who in uses if c == code and who == customer),
            )
            for code in codes
        }

    def record_coupon_use(self, code: str, customer: str | None, order_id: str) -> None:
        self._t.put("coupon_uses", (order_id, code), (code, customer))

    def release_coupon_uses(self, order_id: str) -> None:
        for key in list(self._t.staged["coupon_uses"]):
            if key[0] == order_id:
                self._t.delete("coupon_uses", key)
        with self._t.storage.lock:
            keys = [k for k in self._t.storage.tables["coupon_uses"] if k[0] == order_id]
        for key in keys:
            self._t.delete("coupon_uses", key)


def check_coupon_uses(committed: Committed, staged: Mapping[Any, Any], deleted: object) -> None:
    """Each new use of a coupon, checked against its limits as committed now (the
    coupon's own decision, :meth:`Coupon.limit_refusal`), in code order as SQL
    storage takes them. Call under the storage lock.

    :raises CouponRejected: ``limit_reached``.
    """
    tables = committed.tables
    uses = [value for key, value in tables["coupon_uses"].items() if key not in staged]
    new = sorted(
        ((key, value) for key, value in staged.items() if value is not deleted),
        key=lambda item: item[1][0],
    )
    for _, (code, customer) in new:
        coupon: Coupon | None = tables["coupons"].get(code)
        if coupon is not None:
            usage = CouponUsage(
                total=sum(1 for c, _ in uses if c == code),
                by_customer=0
                if customer is None
                else sum(1 for c, who in uses if c == code and who == customer),
            )
            refused = coupon.limit_refusal(usage)
            if refused is not None:
                raise refused
        uses.append((code, customer))
