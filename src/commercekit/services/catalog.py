"""Managing the catalogue: categories, products, prices, tax zones, promotions, coupons."""

from __future__ import annotations

from collections.abc import Iterable

import moneyed

from commercekit.domain._validators import instances, require_instance
from commercekit.domain.catalog import Category, Product
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.identifiers import check_key
from commercekit.domain.pricing import PriceList, SalePrice, TaxZone, VolumeTier
from commercekit.domain.promotions import Coupon, Promotion
from commercekit.domain.shipping import DeliveryMethod, ShippingZone
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Service

__all__ = ["CatalogService"]


class CatalogService(Service):
    """What a merchant sets up before anyone can buy. Each call is one transaction."""

    def add_category(self, category: Category) -> None:
        """Add a category (its parent must exist)."""
        require_instance(category, Category, "a Category", field="category")
        self._run(lambda uow: uow.catalog.add_category(category))

    def add_product(self, product: Product) -> None:
        """Add a product with its variants.

        :raises DuplicateSku: for a SKU already taken; nothing is added then.
        """
        require_instance(product, Product, "a Product", field="product")
        self._run(lambda uow: uow.catalog.add_product(product))

    def product(self, product_id: str) -> Product:
        """A product with its variants.

        :raises NotFound: for an unknown id.
        """
        check_key(product_id, "product_id")
        return self._read(lambda uow: uow.catalog.product(product_id))

    def publish(self, product_id: str) -> None:
        """Put a product on sale."""
        self._change_state(product_id, publish=True)

    def archive(self, product_id: str) -> None:
        """Take a product off sale (orders that hold it keep it)."""
        self._change_state(product_id, publish=False)

    def _change_state(self, product_id: str, *, publish: bool) -> None:
        check_key(product_id, "product_id")

        def work(uow: UnitOfWork) -> None:
            product = uow.catalog.product(product_id)
            if publish:
                product.publish()
            else:
                product.archive()
            uow.catalog.save_product(product)

        self._run(work)

    def add_price_list(
        self,
        price_list_id: str,
        currency: str,
        *,
        channel: str | None = None,
        customer_group: str | None = None,
    ) -> None:
        """Create an empty price list."""
        price_list = PriceList(
            price_list_id, currency, channel=channel, customer_group=customer_group
        )
        self._run(lambda uow: uow.catalog.add_price_list(price_list))

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
        check_key(price_list_id, "price_list_id")
        check_key(sku, "sku")
        require_instance(unit_price, moneyed.Money, "Money", field="unit_price")
        tiers = instances(tiers, VolumeTier, field="tiers")
        if sale is not None:
            require_instance(sale, SalePrice, "a SalePrice", field="sale")

        def work(uow: UnitOfWork) -> None:
            price_list = uow.catalog.price_list(price_list_id)
            price_list.set_price(sku, unit_price, tiers=tiers, sale=sale)
            uow.catalog.save_price_list(price_list)

        self._run(work)

    def add_tax_zone(self, zone: TaxZone) -> None:
        """Add a tax zone with its rates."""
        require_instance(zone, TaxZone, "a TaxZone", field="zone")
        self._run(lambda uow: uow.catalog.add_tax_zone(zone))

    def add_shipping_zone(self, zone: ShippingZone) -> None:
        """Add a shipping zone (countries, regions, postal-code patterns).

        :raises AlreadyExists: for a taken id.
        """
        require_instance(zone, ShippingZone, "a ShippingZone", field="zone")
        self._run(lambda uow: uow.catalog.add_shipping_zone(zone))

    def add_delivery_method(self, method: DeliveryMethod) -> None:
        """Add a delivery method: the zones it serves (or a pickup location), the stock
        locations it ships from, a rate rule per currency and a delivery estimate.

        :raises AlreadyExists: for a taken id.
        :raises NotFound: naming ``zone_ids`` or ``location_ids``, for a zone or stock
            location the store does not have.
        :raises UnknownCarrier: naming ``carrier``, for a carrier the store has not.
        """
        require_instance(method, DeliveryMethod, "a DeliveryMethod", field="method")

        def work(uow: UnitOfWork) -> None:
            zones = {zone.id for zone in uow.catalog.shipping_zones()}
            for zone_id in sorted(method.zone_ids - zones):
                raise NotFound("shipping zone", zone_id, field="zone_ids")
            locations = {location.id for location in uow.inventory.locations()}
            for location_id in sorted(method.location_ids - locations):
                raise NotFound("stock location", location_id, field="location_ids")
            if method.carrier is not None:
                self._rt.carrier(method.carrier)
            uow.catalog.add_delivery_method(method)

        self._run(work)

    def add_promotion(self, promotion: Promotion) -> None:
        """Add a promotion."""
        require_instance(promotion, Promotion, "a Promotion", field="promotion")
        known = self._rt.promotion_types
        if known is not None:
            parts: list[tuple[str, object]] = [("benefit", promotion.benefit)]
            parts += [("conditions", condition) for condition in promotion.conditions]
            for field, part in parts:
                if type(part) not in known:
                    raise InvalidInput(
                        f"no plugin offers {type(part).__qualname__} as a promotion type",
                        field=field,
                    )
        self._run(lambda uow: uow.catalog.add_promotion(promotion))

    def add_coupon(self, coupon: Coupon) -> None:
        """Add a coupon code for a promotion (which must exist)."""
        require_instance(coupon, Coupon, "a Coupon", field="coupon")

        def work(uow: UnitOfWork) -> None:
            if coupon.promotion_id not in {p.id for p in uow.catalog.promotions()}:
                raise NotFound("promotion", coupon.promotion_id, field="promotion_id")
            uow.catalog.add_coupon(coupon)

        self._run(work)
