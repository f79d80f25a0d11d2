"""What an order and a cart's price cost as the catalogue and the cart grow.

1. Catalogue size: ``place_order`` (3 lines) and ``carts.price`` (a stored 3-line
   cart) in a store with no promotions and no categories, beside the same in a store
   with 1,000 live promotions that cannot apply and 100 categories.
2. Cart size: ``carts.price`` of a stored 100-line cart (loading it and all it needs,
   then pricing) beside pricing the same cart already loaded (the engine alone).
3. Order size: ``place_order`` for orders of 1 and of 51 lines; the difference over
   50 is the cost of one more line.

Each figure is the median of several rounds (the two stores of 1. taking turns), on
a SQLite file and, when ``COMMERCEKIT_TEST_POSTGRES_URL`` is set, on PostgreSQL (in
a schema of its own).

Run: ``python bench/scale.py`` (``--rounds N``, default 5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from checkout import ADDRESS, CONFIG, database
from commercekit import (
    ItemFilter,
    Money,
    PercentOffLines,
    Product,
    Promotion,
    StockLocation,
    TaxRate,
    TaxZone,
    Variant,
)
from commercekit.domain.catalog import Category
from commercekit.services.base import find_cart, load_pricing
from commercekit.store import Store

SKUS = 120
ORDERS = 40
LARGE = "1000 promotions, 100 categories"


def stock_store(url: str, *, promotions: int, categories: int) -> Store:
    store = Store.open(url, config=CONFIG)
    store.catalog.add_price_list("eu", "EUR")
    store.catalog.add_tax_zone(
        TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
    )
    store.inventory.add_location(StockLocation(id="main", name="Main warehouse"))
    for n in range(categories):
        parent = None if n < 10 else f"cat-{n % 10}"
        store.catalog.add_category(Category(id=f"cat-{n}", name=f"Category {n}", parent_id=parent))
    for n in range(SKUS):
        in_category = [f"cat-{n % categories}"] if categories else []
        store.catalog.add_product(
            Product(
                id=f"p{n}",
                name=f"Thing {n}",
                category_ids=in_category,
                variants=[Variant(sku=f"SKU-{n}")],
            )
        )
        store.catalog.publish(f"p{n}")
        store.catalog.set_price("eu", f"SKU-{n}", Money("3.50", "EUR"))
        store.inventory.receive(f"SKU-{n}", "main", 1_000_000)
    for n in range(promotions):
        store.catalog.add_promotion(
            Promotion(
                id=f"promo-{n}",
                name=f"Not for these {n}",
                target=ItemFilter(skus=f"NOT-SOLD-{n}"),
                benefit=PercentOffLines(10),
            )
        )
    return store


def cart(store: Store, lines: int, *, ready: bool) -> str:
    token = store.carts.create("EUR").token
    for n in range(lines):
        store.carts.add(token, f"SKU-{n}", 1)
    if ready:
        store.checkout.set_contact(token, {"email": "ada@example.com"})
        store.checkout.set_shipping_address(token, ADDRESS)
        store.checkout.choose_shipping(token, {"method_id": "post"})
        store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
        store.checkout.summary(token)
    return token


def per_call(work: Callable[[], object], calls: int) -> float:
    """Microseconds per call of ``work``, after one call to warm it."""
    work()
    started = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - started) / calls * 1e6


def price_us(store: Store, lines: int, calls: int) -> float:
    """Microseconds per ``carts.price`` of a stored cart of ``lines`` lines."""
    token = cart(store, lines, ready=False)
    return per_call(partial(store.carts.price, token), calls)


def engine_us(store: Store, lines: int, calls: int) -> float:
    """Microseconds per pricing of the same cart already loaded, by the engine alone."""
    token = cart(store, lines, ready=False)
    with store.storage.unit_of_work() as uow:
        loaded = find_cart(uow, token)
        engine, context = load_pricing(uow, loaded, store.runtime, now=store.runtime.clock.now())
    return per_call(partial(engine.price, loaded, context), calls)


def order_us(store: Store, lines: int) -> float:
    """Microseconds per ``place_order`` of ``lines`` lines."""
    tokens = [cart(store, lines, ready=True) for _ in range(ORDERS)]
    started = time.perf_counter()
    for token in tokens:
        store.checkout.place_order(token, idempotency_key=token)
    return (time.perf_counter() - started) / len(tokens) * 1e6


def median(rounds: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(rounds))


def main(rounds: int) -> None:
    backends = ["sqlite"] + (
        ["postgresql"] if os.environ.get("COMMERCEKIT_TEST_POSTGRES_URL") else []
    )
    with tempfile.TemporaryDirectory() as folder:
        print("1. Catalogue size (3-line cart)")
        line = "{:<11} {:<28} {:>14} {:>16}"
        print(line.format("backend", "catalogue", "place_order us", "carts.price us"))
        for backend in backends:
            with (
                database(backend, Path(folder), "empty") as empty_url,
                database(backend, Path(folder), "large") as large_url,
                stock_store(empty_url, promotions=0, categories=0) as empty,
                stock_store(large_url, promotions=1_000, categories=100) as large,
            ):
                # The two stores take turns, round after round, so that the disk's
                # slow moments fall on both alike.
                samples: dict[str, list[tuple[float, float]]] = {"empty": [], "large": []}
                for _ in range(rounds):
                    for name, store in (("empty", empty), ("large", large)):
                        sample = (order_us(store, 3), price_us(store, 3, 200))
                        samples[name].append(sample)
            figures = []
            for name, label in (("empty", "0 promotions, 0 categories"), ("large", LARGE)):
                order = statistics.median(order for order, _ in samples[name])
                price = statistics.median(price for _, price in samples[name])
                figures.append((order, price))
                print(line.format(backend, label, f"{order:.0f}", f"{price:.0f}"))
            (order_0, price_0), (order_1, price_1) = figures
            ratios = f"{order_1 / order_0:.2f}x", f"{price_1 / price_0:.2f}x"
            print(line.format(backend, "ratio, large to empty", *ratios))

        print()
        print("2. Cart size (100 lines)")
        line = "{:<11} {:>16} {:>16} {:>6}"
        print(line.format("backend", "carts.price us", "engine.price us", "ratio"))
        for backend in backends:
            with (
                database(backend, Path(folder), "lines") as url,
                stock_store(url, promotions=0, categories=0) as store,
            ):
                stored = median(rounds, partial(price_us, store, 100, 50))
                alone = median(rounds, partial(engine_us, store, 100, 200))
            print(line.format(backend, f"{stored:.0f}", f"{alone:.0f}", f"{stored / alone:.2f}"))

        print()
        print("3. Order size")
        line = "{:<11} {:>14} {:>15} {:>17}"
        print(line.format("backend", "1 line us", "51 lines us", "per extra line us"))
        for backend in backends:
            with (
                database(backend, Path(folder), "orders") as url,
                stock_store(url, promotions=0, categories=0) as store,
            ):
                one = median(rounds, lambda: order_us(store, 1))
                many = median(rounds, lambda: order_us(store, 51))
            extra = (many - one) / 50
            print(line.format(backend, f"{one:.0f}", f"{many:.0f}", f"{extra:.0f}"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    main(parser.parse_args().rounds)
