"""Catalogue import speed beside the bare driver, and search latency.

Import: ``store.transfer.import_file`` of a CSV of N products with 3 variants each
(name, description, category, tags, size option, weight, one price), timed whole:
reading and checking every row, claiming slugs, writing products, variants, prices,
slugs and the change record in batches. Bare driver: the very statements the import
ran that wrote rows (every INSERT and UPDATE, with its parameters as the driver got
them, captured during the import) replayed through ``sqlite3`` or ``psycopg`` on a
fresh database with the same schema. Peak memory (the process's maximum resident
size) is printed after importing and after exporting: it stays flat as N grows.

Each phase runs in a process of its own, so that its peak is its own.

Search: the catalogue indexed by the ``sql`` search backend (SQLite FTS5, PostgreSQL
full text), then median and 99th percentile latency of one-word, two-word,
as-you-type (prefix) and faceted queries (a word, a category filter, category, price
and stock facets).

Run: ``python bench/catalog.py`` (``--products N``, default 100000; ``--queries Q``
per kind, default 200). PostgreSQL runs when ``COMMERCEKIT_TEST_POSTGRES_URL`` is
set, in a schema of its own dropped afterwards.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import io
import multiprocessing
import os
import pickle
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from commercekit import Category
from commercekit.ports.search import FacetRequest, PriceBuckets, SearchQuery
from commercekit.store import Store
from databases import database

COLOURS = ("green", "blue", "red", "amber", "white")


def write_csv(path: Path, products: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "product_id",
                "name",
                "description",
                "category_ids",
                "tags",
                "option_axes",
                "sku",
                "option:size",
                "weight_grams",
                "price:eu",
            ]
        )
        for n in range(products):
            colour = COLOURS[n % len(COLOURS)]
            for size, grams in (("S", 300), ("M", 400), ("L", 500)):
                writer.writerow(
                    [
                        f"p{n:07d}",
                        f"{colour.title()} lamp {n}",
                        f"A {colour} desk lamp, model {n}, with a linen shade",
                        f"c{n % 20}",
                        "summer" if n % 2 else "",
                        "size",
                        f"L{n:07d}-{size}",
                        size,
                        grams,
                        f"{10 + n % 90}.90",
                    ]
                )


def prepared(url: str, *, search: bool = False) -> Store:
    config: dict[str, Any] = {"entry_point_plugins": False}
    if search:
        config["search"] = {"plugin": "sql"}
    return Store.open(url, config=config)


def seed(store: Store) -> None:
    for n in range(20):
        store.catalog.add_category(Category(id=f"c{n}", name=f"Category {n}"))
    store.catalog.add_price_list("eu", "EUR")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def import_timed(url: str, path: Path, writes_to: Path) -> tuple[float, int, float]:
    """Import the file, writing down every write it ran (to replay them bare);
    returns the seconds, the rows and the process's peak MB."""
    store = prepared(url)
    seed(store)
    engine = store.storage.engine  # type: ignore[attr-defined]
    log = writes_to.open("wb")

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            pickle.dump((statement, parameters, executemany), log)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            started = time.perf_counter()
            report = store.transfer.import_file(handle, "csv")
            seconds = time.perf_counter() - started
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        store.close()
        log.close()
    assert report.ok, report.errors[:3]
    return seconds, report.rows, peak_mb()


def _writes(path: Path) -> Iterator[tuple[str, Any, bool]]:
    with path.open("rb") as log:
        while True:
            try:
                yield pickle.load(log)
            except EOFError:
                return


def replay(url: str, writes_from: Path) -> float:
    """The same writes through the bare driver, on a fresh database; seconds."""
    store = prepared(url)
    seed(store)
    engine = store.storage.engine  # type: ignore[attr-defined]
    store.close()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        if engine.dialect.name == "sqlite":
            cursor.execute("BEGIN")  # the pool's connection leaves transactions to us
        for statement, parameters, many in _writes(writes_from):
            if many:
                cursor.executemany(statement, parameters)
            else:
                cursor.execute(statement, parameters)
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()
        engine.dispose()


def export_peak(url: str) -> tuple[float, int, float]:
    """Export the catalogue (to nowhere); the seconds, the rows, the peak MB."""
    store = prepared(url)
    started = time.perf_counter()
    rows = store.transfer.export_file(_Discard(), "csv")
    seconds = time.perf_counter() - started
    store.close()
    return seconds, rows, peak_mb()


def alone(function: Any, *arguments: Any) -> Any:
    """``function(*arguments)`` in a process of its own."""
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        return pool.submit(function, *arguments).result()


class _Discard(io.StringIO):
    """Counts what is written, keeps nothing (the export's memory is the store's)."""

    def write(self, text: str) -> int:
        return len(text)


def latencies(store: Store, queries: list[SearchQuery]) -> tuple[float, float]:
    times = []
    for query in queries:
        started = time.perf_counter()
        store.search.search(query)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def search_table(url: str, products: int, count: int) -> list[tuple[str, float, float]]:
    store = prepared(url, search=True)
    started = time.perf_counter()
    indexed = store.search.reindex()
    seconds = time.perf_counter() - started
    pick = random.Random(7)
    numbers = [str(pick.randrange(products)) for _ in range(count)]
    kinds = {
        "one word": [SearchQuery(text=pick.choice(COLOURS)) for _ in range(count)],
        "two words": [SearchQuery(text=f"lamp {n}") for n in numbers],
        "as you type": [
            SearchQuery(text=f"{pick.choice(COLOURS)} la", prefix=True) for _ in range(count)
        ],
        "faceted": [
            SearchQuery(
                text=pick.choice(COLOURS),
                category_id=f"c{pick.randrange(20)}",
                facets=FacetRequest(
                    categories=True,
                    in_stock=True,
                    prices=PriceBuckets(currency="EUR", bounds=(2_000, 5_000, 8_000)),
                ),
            )
            for _ in range(count)
        ],
    }
    rows = [("index (docs/s)", indexed / seconds, 0.0)]
    for name, queries in kinds.items():
        median, p99 = latencies(store, queries)
        rows.append((name, median, p99))
    store.close()
    return rows


def main(products: int, queries: int) -> None:
    backends = ["sqlite"]
    if os.environ.get("COMMERCEKIT_TEST_POSTGRES_URL"):
        backends.append("postgresql")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.csv"
        write_csv(path, products)
        print(f"{products:,} products x 3 variants ({path.stat().st_size / 1e6:.0f} MB of CSV)")
        print()
        header = ("backend", "rows", "import s", "rows/s", "bare rows/s", "share", "peak MB")
        print("{:<11} {:>9} {:>9} {:>9} {:>12} {:>6} {:>8}".format(*header))
        for backend in backends:
            with database(backend, Path(folder)) as url, database(backend, Path(folder)) as bare:
                writes = Path(folder) / "writes.pickle"
                seconds, rows, peak = alone(import_timed, url, path, writes)
                bare_seconds = alone(replay, bare, writes)
                print(
                    f"{backend:<11} {rows:>9,} {seconds:>9.1f} {rows / seconds:>9,.0f}"
                    f" {rows / bare_seconds:>12,.0f} {bare_seconds / seconds:>6.0%} {peak:>8.0f}"
                )
                out_seconds, out_rows, out_peak = alone(export_peak, url)
                line = f"export: {out_rows:,} rows in {out_seconds:.1f} s, peak {out_peak:.0f} MB"
                print(f"{'':<11} {line}")
                for name, median, p99 in alone(search_table, url, products, queries):
                    if name.startswith("index"):
                        print(f"{'':<11} search {name}: {median:,.0f}")
                    else:
                        line = f"search {name:<12} median {median:6.1f} ms   p99 {p99:6.1f} ms"
                        print(f"{'':<11} {line}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    arguments = parser.parse_args()
    main(arguments.products, arguments.queries)
