"""The catalogue in memory: categories, products, prices, tax zones, promotions,
coupons and their uses. What may be added is the domain's decision
(:func:`~commercekit.domain.catalog.require_new`,
:func:`~commercekit.domain.catalog.check_product_refs`); this only looks up."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from commercekit.adapters.storage.memory.tables import Committed, Repository
from commercekit.domain.catalog import Category, Product, check_product_refs, require_new
from commercekit.domain.errors import NotFound
from commercekit.domain.pricing import PriceList, TaxZone
from commercekit.domain.promotions import Coupon, CouponUsage, Promotion
from commercekit.domain.shipping import DeliveryMethod, ShippingZone

__all__ = ["MemoryCatalogRepository", "check_coupon_uses"]


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

    def add_price_list(self, price_list: PriceList) -> None:
        self._add("price_lists", "price list", price_list.id, copy.deepcopy(price_list))

    def save_price_list(self, price_list: PriceList) -> None:
        self.price_list(price_list.id)
        self._t.put("price_lists", price_list.id, copy.deepcopy(price_list))

    def price_list(self, price_list_id: str) -> PriceList:
        found: PriceList | None = self._t.get("price_lists", price_list_id)
        if found is None:
            raise NotFound("price list", price_list_id, field="price_list_id")
        return found

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
