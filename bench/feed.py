"""The shopping feed and the sitemaps of a large catalogue: time and peak memory.

A SQLite store (PostgreSQL too when ``COMMERCEKIT_TEST_POSTGRES_URL`` is set, in a
schema of its own) is filled through storage's bulk writes, a batch of 500 products
per unit of work, as an import writes them: N products of one variant each, with a
description, an image, a category of twenty, a brand on most, a GTIN on half, a
price in EUR (a sale on every tenth), stock kept for half of them (those with none
on hand go in as out of stock) and a delivery method to two countries for the
shipping elements. Every 50th product is a draft, and every 100th has no image:
both are left out, and the report says so.

Then, each in a process of its own so that its peak is its own:

- ``store.feeds.write_shopping_feed`` to a file that counts the bytes and keeps
  nothing, timed;
- the same again under ``tracemalloc``, for the peak of Python's allocations while
  the feed was written (the process's peak resident size is printed too, which
  includes the interpreter and the store);
- ``store.seo.write_sitemaps`` to such files, timed, with its peaks the same way.

Run: ``python bench/feed.py`` (``--products N``, default 100000; ``--also M`` runs a
smaller catalogue first to show that memory does not grow with N, default 10000;
``--also 0`` skips it).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import multiprocessing
import os
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from commercekit import Category, Product, Variant
from commercekit.domain.catalog import Media, PublicationState
from commercekit.domain.pricing import PriceEntry
from commercekit.domain.shipping import DeliveryMethod, Flat, ShippingZone
from commercekit.store import Store
from databases import database

BATCH = 500
CONFIG: dict[str, Any] = {
    "entry_point_plugins": False,
    "store_name": "Bench lamps",
    "storefront": {"base_url": "https://shop.example", "feed": {"brand": "Lumen"}},
}


def gtin(n: int) -> str:
    """A valid GTIN-13 for each product: twelve digits and their check digit."""
    body = f"400{n:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def product(n: int) -> Product:
    colour = ("green", "blue", "red", "amber", "white")[n % 5]
    return Product(
        id=f"p{n:07d}",
        name=f"{colour.title()} lamp {n}",
        description=f"A {colour} desk lamp, model {n}, with a linen shade.",
        category_ids=(f"c{n % 20}",),
        brand="" if n % 7 == 0 else "Lumen",
        media=() if n % 100 == 37 else (Media(url=f"/img/{n}.jpg"),),
        state=PublicationState.DRAFT if n % 50 == 49 else PublicationState.ACTIVE,
        variants=[
            Variant(
                sku=f"L{n:07d}",
                gtin=gtin(n) if n % 2 == 0 else "",
                mpn=f"LM-{n}" if n % 3 == 0 else "",
                weight_grams=300 + n % 500,
                track_stock=n % 2 == 1,
            )
        ],
    )


def prices(start: int, stop: int) -> dict[str, PriceEntry]:
    return {
        f"L{n:07d}": PriceEntry(1_090 + n % 9_000, (), (990, None, None) if n % 10 == 0 else None)
        for n in range(start, stop)
    }


def build(url: str, products: int) -> float:
    """Fill the store; the seconds it took."""
    started = time.perf_counter()
    with Store.open(url, config=CONFIG) as store:
        store.catalog.add_category(Category(id="home", name="Home"))
        for n in range(20):
            store.catalog.add_category(Category(id=f"c{n}", name=f"Lamps {n}", parent_id="home"))
        store.catalog.add_price_list("eu", "EUR")
        store.catalog.add_shipping_zone(ShippingZone(id="dach", countries=["DE", "AT"]))
        store.catalog.add_delivery_method(
            DeliveryMethod(id="parcel", name="Parcel", rules={"EUR": Flat(490)}, zone_ids={"dach"})
        )
        for start in range(0, products, BATCH):
            stop = min(start + BATCH, products)
            with store.storage.unit_of_work() as uow:
                batch = [product(n) for n in range(start, stop)]
                uow.catalog.put_products(batch)
                uow.catalog.put_slugs({p.id: {"": p.slug} for p in batch})
                uow.catalog.put_prices("eu", prices(start, stop))
                uow.commit()
    return time.perf_counter() - started


class Discard:
    """A binary file that counts what is written and keeps nothing."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def feed(url: str, traced: bool) -> dict[str, Any]:
    """Write the feed once; its seconds, size, report and peaks."""
    with Store.open(url, config=CONFIG) as store:
        sink = Discard()
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        report = store.feeds.write_shopping_feed(sink, "EUR")  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        traced_mb = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
        tracemalloc.stop()
    return {
        "seconds": seconds,
        "bytes": sink.size,
        "products": report.products,
        "items": report.items,
        "left_out": dict(sorted(report.counts.items())),
        "traced_mb": traced_mb,
        "rss_mb": peak_rss_mb(),
    }


def sitemaps(url: str, traced: bool) -> dict[str, Any]:
    """Write the sitemaps once; their seconds, files, URLs and peaks."""
    sizes: list[int] = []

    @contextlib.contextmanager
    def open_file(name: str) -> Iterator[Discard]:
        sink = Discard()
        yield sink
        sizes.append(sink.size)

    with Store.open(url, config=CONFIG) as store:
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        written = store.seo.write_sitemaps(open_file)
        seconds = time.perf_counter() - started
        traced_mb = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
        tracemalloc.stop()
    return {
        "seconds": seconds,
        "bytes": sum(sizes),
        "files": len(written.files),
        "urls": written.urls,
        "traced_mb": traced_mb,
        "rss_mb": peak_rss_mb(),
    }


def alone(function: Any, *arguments: Any) -> Any:
    """``function(*arguments)`` in a process of its own."""
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        return pool.submit(function, *arguments).result()


def main(sizes: list[int]) -> None:
    backends = ["sqlite"]
    if os.environ.get("COMMERCEKIT_TEST_POSTGRES_URL"):
        backends.append("postgresql")
    line = "{:<11} {:>8} {:<9} {:>8} {:>9} {:>8} {:>7} {:>10} {:>8}"
    print(
        line.format(
            "backend",
            "products",
            "output",
            "items",
            "seconds",
            "items/s",
            "MB out",
            "traced MB",
            "RSS MB",
        )
    )
    notes = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            for products in sizes:
                with database(backend, Path(folder)) as url:
                    built = alone(build, url, products)
                    timed = alone(feed, url, False)
                    traced = alone(feed, url, True)
                    print(
                        line.format(
                            backend,
                            f"{products:,}",
                            "feed",
                            f"{timed['items']:,}",
                            f"{timed['seconds']:.1f}",
                            f"{timed['items'] / timed['seconds']:,.0f}",
                            f"{timed['bytes'] / 1e6:.0f}",
                            f"{traced['traced_mb']:.1f}",
                            f"{timed['rss_mb']:.0f}",
                        )
                    )
                    mapped = alone(sitemaps, url, False)
                    mapped_traced = alone(sitemaps, url, True)
                    print(
                        line.format(
                            "",
                            "",
                            f"sitemaps/{mapped['files']}",
                            f"{mapped['urls']:,}",
                            f"{mapped['seconds']:.1f}",
                            f"{mapped['urls'] / mapped['seconds']:,.0f}",
                            f"{mapped['bytes'] / 1e6:.0f}",
                            f"{mapped_traced['traced_mb']:.1f}",
                            f"{mapped['rss_mb']:.0f}",
                        )
                    )
                    notes.append(
                        f"{backend} {products:,}: built in {built:.0f} s; left out"
                        f" {timed['left_out']} of {timed['products']:,} products"
                    )
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--also", type=int, default=10_000)
    arguments = parser.parse_args()
    main([n for n in (arguments.also, arguments.products) if n])
