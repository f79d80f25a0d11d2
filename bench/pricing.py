"""How long pricing a cart takes, beside a bare Decimal loop doing the same sums.

For carts of L lines and P live promotions (all but two of which target products
that are not in the cart), it prints the time to price the cart with
``PricingEngine.price`` and the time a plain loop of ``Decimal`` arithmetic needs for
the unit price x quantity, tax and rounding of the same lines.

Run: ``python bench/pricing.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from commercekit import (
    AmountOffOrder,
    Cart,
    Category,
    ItemFilter,
    MinimumSubtotal,
    Money,
    PercentOffLines,
    Product,
    Promotion,
    TaxRate,
    TaxZone,
    Variant,
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

NOW = datetime(2026, 11, 27, tzinfo=UTC)
LINES = (1, 10, 100, 1000)
PROMOTIONS = (0, 10, 100, 1000)
RATE = Decimal("0.19")
CENT = Decimal("0.01")


def unit_price(n: int) -> Decimal:
    return Decimal(100 + (n * 37) % 9900) / 100


def build(lines: int, promotions: int) -> tuple[Callable[[], object], Callable[[], object]]:
    catalog = Catalog([Category(id="all", name="All"), Category(id="other", name="Other")])
    prices = PriceList("main", "EUR")
    for n in range(lines):
        product = Product(
            id=f"p{n}",
            name=f"Product {n}",
            category_ids=["all"],
            variants=[Variant(sku=f"SKU-{n}")],
        )
        product.publish()
        catalog.add_product(product)
        prices.set_price(f"SKU-{n}", Money(unit_price(n), "EUR"))
    promos = []
    if promotions:
        promos.append(
            Promotion(
                id="cat",
                name="10% off",
                target=ItemFilter(category_ids="all"),
                benefit=PercentOffLines(10),
            )
        )
    if promotions > 1:
        promos.append(
            Promotion(
                id="order",
                name="5 off 50",
                conditions=[MinimumSubtotal(Money("50.00", "EUR"))],
                benefit=AmountOffOrder(Money("5.00", "EUR")),
            )
        )
    for n in range(promotions - len(promos)):
        promos.append(
            Promotion(
                id=f"other-{n}",
                name="Elsewhere",
                target=ItemFilter(skus=f"ELSEWHERE-{n}", category_ids=f"other-{n % 50}"),
                benefit=PercentOffLines(5),
            )
        )
    engine = PricingEngine(
        catalog=catalog,
        prices=PriceBook([prices]),
        taxes=TaxTable([TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate=RATE)])]),
        tax_settings=TaxSettings(),
        promotions=PromotionEngine(promos),
    )
    cart = Cart(id="bench", currency="EUR", token="x" * 43, max_quantity_per_line=999)
    for n in range(lines):
        cart.add(f"SKU-{n}", 1 + n % 5)
    context = PricingContext(now=NOW, address=TaxAddress(country="DE"))
    rows = [(unit_price(n), 1 + n % 5) for n in range(lines)]

    def priced() -> object:
        return engine.price(cart, context)

    def bare() -> object:
        total = Decimal(0)
        for price, quantity in rows:
            subtotal = price * quantity
            tax = (subtotal * RATE).quantize(CENT, ROUND_HALF_UP)
            total += subtotal + tax
        return total

    return priced, bare


def best_time(function: Callable[[], object], budget: float) -> float:
    """Seconds per call: the best of five runs, each long enough to be measured."""
    number, elapsed = 1, 0.0
    while elapsed < budget / 5:
        number *= 2
        elapsed = timeit.timeit(function, number=number)
    return min(timeit.repeat(function, number=number, repeat=5)) / number


def main(quick: bool = False) -> None:
    budget = 0.05 if quick else 0.5
    header = ("lines", "promos", "price() us", "bare us", "ratio", "us/line")
    print("{:>6} {:>7} {:>12} {:>10} {:>7} {:>9}".format(*header))
    for lines in LINES:
        for promotions in PROMOTIONS:
            priced, bare = build(lines, promotions)
            engine_time = best_time(priced, budget)
            bare_time = best_time(bare, budget)
            print(
                f"{lines:>6} {promotions:>7} {engine_time * 1e6:>12.1f} {bare_time * 1e6:>10.1f} "
                f"{engine_time / bare_time:>6.1f}x {engine_time / lines * 1e6:>9.2f}"
            )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
