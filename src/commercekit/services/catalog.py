"""Managing the catalogue: categories, products, prices, tax zones, promotions, coupons."""

from __future__ import annotations

from collections.abc import Iterable

import moneyed

from commercekit.domain.catalog import Category, Product
from commercekit.domain.errors import NotFound
from commercekit.domain.pricing import PriceList, SalePrice, TaxZone, VolumeTier
from commercekit.domain.promotions import Coupon, Promotion
from commercekit.services.base import Service

__all__ = ["CatalogService"]


class CatalogService(Service):
    """What a merchant sets up before anyone can buy. Each call is one transaction."""

    def add_category(self, category: Category) -> None:
        """Add a category (its parent must exist)."""
        with self._work() as uow:
            uow.catalog.add_category(category)
            self._commit(uow)

    def add_product(self, product: Product) -> None:
        """Add a product with its variants.

        :raises DuplicateSku: for a SKU already taken; nothing is added then.
        """
        with self._work() as uow:
            known = {c.id for c in uow.catalog.categories()}
            for category_id in product.category_ids:
                if category_id not in known:
                    raise NotFound("category", category_id, field="category_ids")
            uow.catalog.add_product(product)
            self._commit(uow)

    def product(self, product_id: str) -> Product:
        """A product with its variants.

        :raises NotFound: for an unknown id.
        """
        with self._work() as uow:
            return uow.catalog.product(product_id)

    def publish(self, product_id: str) -> None:
        """Put a product on sale."""
        self._change_state(product_id, publish=True)

    def archive(self, product_id: str) -> None:
        """Take a product off sale (orders that hold it keep it)."""
        self._change_state(product_id, publish=False)

    def _change_state(self, product_id: str, *, publish: bool) -> None:
        with self._work() as uow:
            product = uow.catalog.product(product_id)
            if publish:
                product.publish()
            else:
                product.archive()
            uow.catalog.save_product(product)
            self._commit(uow)

    def add_price_list(
        self,
        price_list_id: str,
        currency: str,
        *,
        channel: str | None = None,
        customer_group: str | None = None,
    ) -> None:
        """Create an empty price list."""
        with self._work() as uow:
            uow.catalog.add_price_list(
                PriceList(price_list_id, currency, channel=channel, customer_group=customer_group)
            )
            self._commit(uow)

    def set_price(
        self,
        price_list_id: str,
        sku: str,
        unit_price: moneyed.Money,
        *,
        tiers: Iterable[VolumeTier] = (),
        sale: SalePrice | None = None,
    ) -> None:
        """Set a SKU's price in a list (see :meth:`PriceList.set_price`)."""
        with self._work() as uow:
            price_list = uow.catalog.price_list(price_list_id)
            price_list.set_price(sku, unit_price, tiers=tiers, sale=sale)
            uow.catalog.save_price_list(price_list)
            self._commit(uow)

    def add_tax_zone(self, zone: TaxZone) -> None:
        """Add a tax zone with its rates."""
        with self._work() as uow:
            uow.catalog.add_tax_zone(zone)
            self._commit(uow)

    def add_promotion(self, promotion: Promotion) -> None:
        """Add a promotion."""
        with self._work() as uow:
            uow.catalog.add_promotion(promotion)
            self._commit(uow)

    def add_coupon(self, coupon: Coupon) -> None:
        """Add a coupon code for a promotion (which must exist)."""
        with self._work() as uow:
            if coupon.promotion_id not in {p.id for p in uow.catalog.promotions()}:
                raise NotFound("promotion", coupon.promotion_id, field="promotion_id")
            uow.catalog.add_coupon(coupon)
            self._commit(uow)
