"""Small builders that keep the pricing tests readable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from commercekit import (
    Cart,
    Category,
    Money,
    Product,
    Promotion,
    TaxZone,
    Variant,
)
from commercekit.domain.catalog import (
    Catalog,
)
from commercekit.domain.pricing import (
    PriceBook,
    PriceList,
    PricingEngine,
    TaxSettings,
    TaxTable,
)
from commercekit.domain.promotions import (
    PromotionEngine,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def shop(
    prices: dict[str, str | int],
    currency: str = "EUR",
    *,
    categories: dict[str, Sequence[str]] | None = None,
    tax_categories: dict[str, str] | None = None,
    promotions: Iterable[Promotion] = (),
    coupons: Iterable[object] = (),
    zones: Iterable[TaxZone] = (),
    settings: TaxSettings | None = None,
) -> PricingEngine:
    """One product per SKU (product id = SKU in lower case), all published."""
    categories = categories or {}
    tax_categories = tax_categories or {}
    used = {c for cs in categories.values() for c in cs}
    catalog = Catalog([Category(id=c, name=c.title()) for c in sorted(used)])
    price_list = PriceList("main", currency)
    for sku, amount in prices.items():
        product = Product(
            id=sku.lower(),
            name=sku.title(),
            category_ids=categories.get(sku, ()),
            tax_category=tax_categories.get(sku, "standard"),
            variants=[Variant(sku=sku)],
        )
        product.publish()
        catalog.add_product(product)
        price_list.set_price(sku, Money(amount, currency))
    return PricingEngine(
        catalog=catalog,
        prices=PriceBook([price_list]),
        taxes=TaxTable(zones),
        tax_settings=settings or TaxSettings(),
        promotions=PromotionEngine(promotions, coupons),  # type: ignore[arg-type]
    )


def cart(currency: str = "EUR", *lines: tuple[str, int], coupons: Sequence[str] = ()) -> Cart:
    result = Cart(id="cart", currency=currency, token="t" * 43)
    for sku, quantity in lines:
        result.add(sku, quantity)
    for code in coupons:
        result.apply_coupon(code)
    return result


def eur(amount: str) -> Money:
    return Money(amount, "EUR")
