"""A tour of commercekit's pricing core.

Builds a small catalogue (variants priced in EUR, a JPY price list), a German tax
zone with prices that include VAT, three promotions and a coupon, then prints the
price breakdown of a cart, formatted for a locale.

Run it with ``python examples/pricing_tour.py [locale]`` (default ``de_DE``).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from commercekit import (
    Adjustment,
    BuyXGetY,
    Cart,
    Category,
    Coupon,
    FreeShipping,
    ItemFilter,
    MinimumSubtotal,
    Money,
    PercentOffLines,
    PriceBreakdown,
    Product,
    Promotion,
    TaxRate,
    TaxZone,
    Variant,
    format_money,
)
from commercekit.domain.catalog import (
    Catalog,
)
from commercekit.domain.pricing import (
    PriceBook,
    PriceList,
    PricingContext,
    PricingEngine,
    TaxAddress,
    TaxSettings,
    TaxTable,
)
from commercekit.domain.promotions import (
    PromotionEngine,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def build_catalog() -> Catalog:
    catalog = Catalog(
        [Category(id="tea", name="Tea"), Category(id="green", name="Green tea", parent_id="tea")]
    )
    catalog.add_product(
        Product(
            id="sencha",
            name="Sencha Kyoto",
            category_ids=["green"],
            tax_category="food",
            variants=[
                Variant(sku="SENCHA-100G", weight_grams=100),
                Variant(sku="SENCHA-250G", weight_grams=250),
            ],
        )
    )
    catalog.add_product(
        Product(
            id="kettle",
            name="Cast-iron kettle",
            variants=[Variant(sku="KETTLE-BLACK", options={"colour": "black"}, weight_grams=1400)],
        )
    )
    catalog.add_product(
        Product(
            # Vouchers are taxed when redeemed, not when sold: no zone charges "exempt".
            id="gift-card",
            name="Gift card",
            tax_category="exempt",
            variants=[Variant(sku="GIFT-25", digital=True)],
        )
    )
    for product in catalog.products():
        product.publish()
    return catalog


def build_prices() -> PriceBook:
    eur = PriceList("eu", "EUR")
    eur.set_price("SENCHA-100G", Money("8.90", "EUR"))
    eur.set_price("SENCHA-250G", Money("19.90", "EUR"))
    eur.set_price("KETTLE-BLACK", Money("64.00", "EUR"))
    eur.set_price("GIFT-25", Money("25.00", "EUR"))
    jpy = PriceList("jp", "JPY")
    jpy.set_price("SENCHA-100G", Money(1480, "JPY"))
    jpy.set_price("SENCHA-250G", Money(3300, "JPY"))
    jpy.set_price("KETTLE-BLACK", Money(9800, "JPY"))
    return PriceBook([eur, jpy])


def build_promotions() -> PromotionEngine:
    return PromotionEngine(
        [
            Promotion(
                id="tea-3-for-2",
                name="Three teas for the price of two",
                target=ItemFilter(category_ids={"tea"}),
                benefit=BuyXGetY(buy=2, get=1),
                priority=20,
            ),
            Promotion(
                id="winter-10",
                name="Winter coupon: 10% off kettles",
                target=ItemFilter(product_ids={"kettle"}),
                benefit=PercentOffLines(10),
                requires_coupon=True,
                # A promotion behind a coupon applies alone unless it says it combines.
                stacking="combinable",
                priority=10,
            ),
            Promotion(
                id="free-shipping-50",
                name="Free shipping from 50 EUR",
                conditions=[MinimumSubtotal(Money("50.00", "EUR"))],
                benefit=FreeShipping(),
            ),
        ],
        coupons=[Coupon(code="WINTER", promotion_id="winter-10", usage_limit=500)],
    )


def build_engine() -> PricingEngine:
    germany = TaxZone(
        id="de",
        country="DE",
        rates=[
            TaxRate(name="MwSt 19%", rate="0.19", category="standard"),
            TaxRate(name="MwSt 7%", rate="0.07", category="food"),
        ],
    )
    return PricingEngine(
        catalog=build_catalog(),
        prices=build_prices(),
        taxes=TaxTable([germany]),
        tax_settings=TaxSettings(prices_include_tax=True, shipping_tax_category="standard"),
        promotions=build_promotions(),
    )


def render(breakdown: PriceBreakdown, locale: str) -> str:
    """The breakdown as a receipt: label on the left, amount on the right."""
    rows: list[str] = []

    def row(label: str, amount: Money) -> None:
        rows.append(f"{label:<52}{format_money(amount, locale):>12}")

    def discounts(adjustments: tuple[Adjustment, ...]) -> None:
        for adjustment in adjustments:
            row(f"    {adjustment.promotion_name} ({adjustment.reason})", -adjustment.amount)

    for line in breakdown.lines:
        unit = format_money(line.unit_price, locale)
        row(f"{line.quantity} x {line.sku} at {unit}", line.subtotal)
        discounts(line.adjustments)
    row("Shipping", breakdown.shipping)
    discounts(breakdown.shipping_adjustments)
    rows.append("-" * 64)
    row("Subtotal", breakdown.subtotal)
    row("Discounts", -breakdown.discount_total)
    row("Shipping", breakdown.shipping_total)
    row("Total", breakdown.grand_total)
    word = "incl." if breakdown.prices_include_tax else "plus"
    for tax in breakdown.taxes:
        row(f"    {word} {tax.name}", tax.amount)
    for code, reason in breakdown.rejected_coupons:
        rows.append(f"Coupon {code} not applied: {reason.replace('_', ' ')}")
    return "\n".join(rows)


def main(locale: str = "de_DE") -> str:
    engine = build_engine()
    cart = Cart.open(id="cart-1", currency="EUR")
    cart.add("SENCHA-100G", 2)
    cart.add("SENCHA-250G", 1)
    cart.add("KETTLE-BLACK")
    cart.add("GIFT-25")
    cart.apply_coupon(" winter ")
    context = PricingContext(
        now=NOW, address=TaxAddress(country="DE"), shipping=Money("4.90", "EUR")
    )
    output = [
        "A cart in EUR, prices include German VAT:",
        render(engine.price(cart, context), locale),
    ]

    yen = Cart.open(id="cart-2", currency="JPY")
    yen.add("SENCHA-250G", 3)
    yen.add("KETTLE-BLACK")
    output += ["", "The same shop in JPY (no Japanese tax zone set up):"]
    output.append(
        render(engine.price(yen, PricingContext(now=NOW, address=TaxAddress(country="JP"))), locale)
    )
    return "\n".join(output)


if __name__ == "__main__":
    print(main(*sys.argv[1:2]))
