"""How well lift-based recommendations find what else is in an order, beside the best
sellers and raw co-occurrence counts, on a seeded synthetic order stream.

For each seed it generates a shop (300 products in 12 categories, a Zipf-like
popularity, every product paired with a complement bought with it 40% of the time,
and shoppers picking up a popular product or two, half the time from the same
category), learns from the oldest 80% of 6,000 orders and asks of each newer order of
two products or more: shown one of its products, does a list of k hold another? It
prints that hit rate for each recommender and how many different products each
showed across all its lists. A second block does the same on a stream without the
category affinity, where the category best sellers lift falls back on are worth
less.

Then it times the store's side on a SQLite file: a rebuild learning from the sales
ledger of 300 products (the first 2,000 orders of seed 1, written as sales), and
the reads a storefront makes per product page and per cart.

Run: ``python bench/recommendations.py`` (``--quick`` for one seed).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from commercekit import Category, Money, Product, StockLocation, Variant
from commercekit.domain.inventory import MovementKind, StockChange, StockMovement
from commercekit.domain.marketing.evaluation import SyntheticShop, evaluate, synthetic_orders
from commercekit.store import Store

SEEDS = (1, 2, 3, 4, 5)
KS = (1, 5, 10)


def table(seeds: tuple[int, ...], *, category_affinity: float) -> None:
    header = ("seed", "k", "asked", "popularity", "co-count", "lift", "lift-pop", "distinct p/c/l")
    print("{:>4} {:>3} {:>6} {:>11} {:>9} {:>6} {:>9} {:>15}".format(*header))
    for seed in seeds:
        shop = synthetic_orders(random.Random(seed), category_affinity=category_affinity)
        for row in evaluate(shop, ks=KS, seed=seed):
            distinct = f"{row.popularity.distinct}/{row.co_count.distinct}/{row.lift.distinct}"
            print(
                f"{seed:>4} {row.k:>3} {row.lift.asked:>6} {row.popularity.rate:>11.3f} "
                f"{row.co_count.rate:>9.3f} {row.lift.rate:>6.3f} "
                f"{row.lift.rate - row.popularity.rate:>+9.3f} {distinct:>15}"
            )


def stored(shop: SyntheticShop, orders: int, folder: Path) -> Store:
    """A SQLite store holding the shop's products and the first ``orders`` orders as
    sales in the ledger."""
    store = Store.open(f"sqlite:///{folder / 'learn.db'}", config={"entry_point_plugins": False})
    store.inventory.add_location(StockLocation(id="main", name="Main"))
    products = [
        Product(id=p, name=p, category_ids=list(c), variants=[Variant(sku=p.upper())])
        for p, c in shop.categories.items()
    ]
    store.catalog.add_price_list("eu", "EUR")
    for category in sorted({c for cs in shop.categories.values() for c in cs}):
        store.catalog.add_category(Category(id=category, name=category))
    for product in products:
        store.catalog.add_product(product)
        store.catalog.publish(product.id)
        store.catalog.set_price("eu", product.variants[0].sku, Money("5.00", "EUR"))
        store.inventory.receive(product.variants[0].sku, "main", 1_000_000)
    with store.storage.unit_of_work() as uow:
        changes = [
            StockChange.move(
                StockMovement(
                    id=f"sale-{n}-{product}",
                    sku=product.upper(),
                    location_id="main",
                    kind=MovementKind.SALE,
                    quantity=-1,
                    at=store.runtime.clock.now(),
                    reference=f"order-{n}",
                )
            )
            for n, basket in enumerate(shop.orders[:orders])
            for product in sorted(basket)
        ]
        uow.inventory.apply(changes)
        uow.commit()
    return store


def timings(orders: int) -> None:
    shop = synthetic_orders(random.Random(1))
    with tempfile.TemporaryDirectory() as folder:
        store = stored(shop, orders, Path(folder))
        started = time.perf_counter()
        head = store.recommendations.rebuild()
        rebuild = time.perf_counter() - started
        product_ids = sorted(shop.categories)[:200]
        pages = []
        for product_id in product_ids:
            started = time.perf_counter()
            store.recommendations.for_product(product_id, 4)
            pages.append(time.perf_counter() - started)
        cart = store.carts.create("EUR")
        for product_id in product_ids[:3]:
            store.carts.add(cart.token, product_id.upper(), 1)
        carts = []
        for _ in range(50):
            started = time.perf_counter()
            store.recommendations.for_cart(cart.token, 4)
            carts.append(time.perf_counter() - started)
        store.close()
    print(
        f"SQLite: rebuild from {head.baskets} orders of {len(shop.categories)} products "
        f"{rebuild:.2f} s; for_product median {statistics.median(pages) * 1000:.2f} ms; "
        f"for_cart (3 lines) median {statistics.median(carts) * 1000:.2f} ms"
    )


def main(quick: bool = False) -> None:
    seeds = SEEDS[:1] if quick else SEEDS
    started = time.perf_counter()
    print("Hit rate at k on the newest 20% of orders (category affinity 0.5):")
    table(seeds, category_affinity=0.5)
    print()
    print("The same without category affinity:")
    table(seeds, category_affinity=0.0)
    print(f"\n{time.perf_counter() - started:.1f} s")
    print()
    timings(500 if quick else 2000)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
