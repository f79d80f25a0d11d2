"""Every report over a year of orders, on SQLite and PostgreSQL: time and memory.

The data is written straight into the store's own schema with bulk inserts
(SQLAlchemy Core, 10,000 rows a statement; not timed, and not through the services,
which would take hours for this much): ``--orders`` orders (default 100,000) spread
over 2026, 1 to 5 lines each (3 on average), in two channels and two currencies, a
tenth cancelled; 500 products in 20 categories; a 10% promotion on a fifth of the
lines, half of them through one of 20 coupons; a return for one order in twenty;
a stock item per SKU at two locations and a sale in the stock ledger per line.

Then each report, through ``store.reports.run``, over the whole year and over one
month: the best of ``--rounds`` runs, the peak of Python's allocations during a run
(``tracemalloc``, a separate run), and at the end the peak resident size of the
process that ran them (the data is written by a process of its own).
Reports are one aggregate query each, so Python's peak stays small however many
orders there are. ``--explain`` prints each report's query plan (SQLite's ``EXPLAIN
QUERY PLAN``, PostgreSQL's ``EXPLAIN``) for the month.

PostgreSQL runs when ``COMMERCEKIT_TEST_POSTGRES_URL`` is set (in a schema of its
own, dropped afterwards).

Run: ``python bench/reports.py`` (``--orders N``, ``--rounds R``, ``--explain``).
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from commercekit.adapters.clock import FixedClock
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql.records import encode
from commercekit.domain.marketing.abandoned import CartRecovery, RecoveryNotice, RecoveryStatus
from commercekit.domain.returns import Return, ReturnLine, ReturnReason, ReturnStatus
from commercekit.store import Store
from databases import backends, database

YEAR = datetime(2026, 1, 1, tzinfo=UTC)
MONTH = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
PRODUCTS, CATEGORIES, COUPONS = 500, 20, 20
CHUNK = 10_000
REPORTS = (
    ("sales", {"by": "day"}),
    ("sales", {"by": "week"}),
    ("sales", {"by": "month"}),
    ("sales_by_product", {}),
    ("top_products", {"limit": 10}),
    ("sales_by_category", {}),
    ("sales_by_channel", {}),
    ("discounts", {}),
    ("returns_by_product", {}),
    ("returns_by_reason", {}),
    ("stock", {"price_list_id": "eu"}),
    ("abandoned_carts", {}),
)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _insert(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        connection.execute(table.insert(), chunk)


def _catalogue(connection: sa.Connection) -> list[tuple[str, str, int]]:
    """Categories, products (a variant each), a promotion and its coupons, a price
    list; returns ``(sku, product id, price in cents)`` per SKU."""
    _insert(
        connection,
        t.categories,
        [
            {
                "id": f"cat-{n}",
                "name": f"Category {n}",
                "slug": f"category-{n}",
                "parent_id": None,
                "seo_title": "",
                "seo_description": "",
                "canonical_url": "",
            }
            for n in range(CATEGORIES)
        ],
    )
    skus = [(f"SKU-{n:04d}", f"p{n}", 500 + 37 * n % 9000) for n in range(PRODUCTS)]
    _insert(
        connection,
        t.products,
        [
            {
                "id": product_id,
                "name": f"Thing {n}",
                "slug": f"thing-{n}",
                "description": "",
                "tax_category": "standard",
                "state": "published",
                "available_from": None,
                "available_until": None,
                "attributes": {},
                "type_id": None,
                "option_axes": [],
                "tags": [],
                "translations": {},
                "media": [],
                "seo_title": "",
                "seo_description": "",
                "canonical_url": "",
                "brand": "",
                "condition": "new",
                "created_at": YEAR,
            }
            for n, (_, product_id, _) in enumerate(skus)
        ],
    )
    _insert(
        connection,
        t.variants,
        [
            {
                "sku": sku,
                "product_id": product_id,
                "position": 0,
                "options": {},
                "weight_grams": None,
                "length_mm": None,
                "width_mm": None,
                "height_mm": None,
                "tax_category": None,
                "track_stock": True,
                "digital": False,
                "components": None,
                "attributes": {},
                "gtin": "",
                "mpn": "",
            }
            for sku, product_id, _ in skus
        ],
    )
    _insert(
        connection,
        t.product_categories,
        [
            {"product_id": product_id, "category_id": f"cat-{n % CATEGORIES}", "position": 0}
            for n, (_, product_id, _) in enumerate(skus)
        ],
    )
    definition = {"type": "percent_off_lines", "percent": "10"}
    connection.execute(
        t.promotions.insert(), [{"id": "ten", "name": "Ten percent", "definition": definition}]
    )
    _insert(
        connection,
        t.coupons,
        [
            {
                "code": f"CODE{n}",
                "promotion_id": "ten",
                "starts_at": None,
                "ends_at": None,
                "usage_limit": None,
                "usage_limit_per_customer": None,
            }
            for n in range(COUPONS)
        ],
    )
    connection.execute(
        t.price_lists.insert(),
        [{"id": "eu", "currency": "EUR", "channel": None, "customer_group": None}],
    )
    _insert(
        connection,
        t.prices,
        [
            {
                "price_list_id": "eu",
                "sku": sku,
                "unit_units": price,
                "tiers": [],
                "sale_units": None,
                "sale_starts_at": None,
                "sale_ends_at": None,
            }
            for sku, _, price in skus
        ],
    )
    return skus


def fill(url: str, orders: int) -> None:
    """Write the bench's data into the (migrated, empty) database at ``url``."""
    storage = SqlStorage.open(url)
    draw = random.Random(7)
    seconds = int(timedelta(days=365).total_seconds())
    try:
        with storage.engine.begin() as connection:
            skus = _catalogue(connection)
            order_rows: list[dict[str, Any]] = []
            line_rows: list[dict[str, Any]] = []
            uses: list[dict[str, Any]] = []
            moves: list[dict[str, Any]] = []
            records: list[dict[str, Any]] = []
            for n in range(orders):
                order_id = f"order-{n}"
                placed_at = YEAR + timedelta(seconds=draw.randrange(seconds))
                currency = "EUR" if n % 5 else "GBP"
                chosen = draw.sample(skus, draw.randint(1, 5))
                coupon = f"CODE{n % COUPONS}" if n % 10 == 0 else None
                subtotal = discount = tax = 0
                for position, (sku, product_id, price) in enumerate(chosen):
                    quantity = draw.randint(1, 3)
                    gross = price * quantity
                    off = gross // 10 if (coupon or position % 5 == 4) else 0
                    vat = (gross - off) * 19 // 100
                    subtotal, discount, tax = subtotal + gross, discount + off, tax + vat
                    line_rows.append(
                        {
                            "order_id": order_id,
                            "position": position,
                            "sku": sku,
                            "product_id": product_id,
                            "name": sku,
                            "quantity": quantity,
                            "unit_price_units": price,
                            "subtotal_units": gross,
                            "discount_units": off,
                            "tax_units": vat,
                            "total_units": gross - off + vat,
                            "requires_shipping": True,
                            "track_stock": True,
                            "adjustments": [["ten", off]] if off else [],
                            "taxes": [["VAT", "0.19", vat]],
                        }
                    )
                    moves.append(
                        {
                            "id": f"{order_id}:{position}",
                            "sku": sku,
                            "location_id": "berlin" if position % 2 else "hamburg",
                            "kind": "sale",
                            "quantity": -quantity,
                            "at": placed_at + timedelta(hours=20),
                            "reason": "",
                            "reference": order_id,
                        }
                    )
                status = "cancelled" if n % 10 == 3 else ("completed" if n % 3 else "open")
                order_rows.append(
                    {
                        "id": order_id,
                        "token": f"token-{n}",
                        "cart_id": f"cart-{n}",
                        "customer_id": None,
                        "channel": "web" if n % 4 else "pos",
                        "email": "ada@example.com",
                        "currency": currency,
                        "subtotal_units": subtotal,
                        "discount_units": discount,
                        "shipping_units": 490,
                        "shipping_discount_units": 0,
                        "shipping_tax_units": 0,
                        "tax_units": tax,
                        "grand_total_units": subtotal - discount + tax + 490,
                        "prices_include_tax": False,
                        "shipping_address": None,
                        "billing_address": None,
                        "shipping": None,
                        "coupon_codes": [coupon] if coupon else [],
                        "promotion_ids": ["ten"] if discount else [],
                        "tenders": [],
                        "payment_gateway": "test",
                        "idempotency_key": f"key-{n}",
                        "fingerprint": f"fp-{n}",
                        "placed_at": placed_at,
                        "status": status,
                        "payment_status": "captured",
                        "fulfilment_status": "delivered",
                        "fulfilled": {},
                        "shipped": True,
                        "payment_capturable_units": 0,
                        "payment_refundable_units": 0,
                        "tax_address": None,
                        "tax_provider": "",
                        "attention": "",
                        "email_key": "ada@example.com",
                        "number": f"N-{n}",
                        "version": 1,
                    }
                )
                if coupon:
                    uses.append({"order_id": order_id, "code": coupon, "customer": None})
                if n % 4 == 1:
                    # A cart watched for abandonment two hours before: one in four
                    # of them reminded and ordered (recovered), the rest reminded only.
                    watched = placed_at - timedelta(hours=2)
                    recovered = n % 16 == 1
                    recovery = CartRecovery(
                        id=CartRecovery.key(f"cart-{n}"),
                        cart_id=f"cart-{n}",
                        watched_at=watched,
                        seen_at=watched,
                        status=RecoveryStatus.RECOVERED if recovered else RecoveryStatus.NOTIFIED,
                        notices=(
                            RecoveryNotice(
                                number=1,
                                key=f"reminder-{n}",
                                email="ada@example.com",
                                at=watched + timedelta(hours=1),
                            ),
                        ),
                        restores=1 if recovered else 0,
                        order_id=order_id if recovered else "",
                        currency=currency if recovered else "",
                        revenue_units=order_rows[-1]["grand_total_units"] if recovered else 0,
                        version=1,
                    )
                    index = recovery.index()
                    records.append(
                        {
                            "id": recovery.id,
                            "kind": CartRecovery.KIND,
                            "ref": index.ref,
                            "owner": index.owner,
                            "state": index.state,
                            "due_at": index.due,
                            "at": index.at,
                            "data": encode(recovery),
                            "version": 1,
                        }
                    )
                if n % 20 == 7:
                    sku = chosen[0][0]
                    back = Return(
                        id=f"return-{n}",
                        order_id=order_id,
                        owner="",
                        currency=currency,
                        created_at=placed_at + timedelta(days=5),
                        lines=(
                            ReturnLine(sku=sku, quantity=1, reason=draw.choice(list(ReturnReason))),
                        ),
                        status=draw.choice(list(ReturnStatus)),
                    )
                    index = back.index()
                    records.append(
                        {
                            "id": back.id,
                            "kind": Return.KIND,
                            "ref": index.ref,
                            "owner": index.owner,
                            "state": index.state,
                            "due_at": None,
                            "at": index.at,
                            "data": encode(back),
                            "version": 1,
                        }
                    )
            _insert(connection, t.orders, order_rows)
            _insert(connection, t.order_lines, line_rows)
            _insert(connection, t.coupon_uses, uses)
            _insert(connection, t.records, records)
            _insert(connection, t.stock_movements, moves)
            _insert(
                connection,
                t.stock_items,
                [
                    {
                        "sku": sku,
                        "location_id": place,
                        "on_hand": draw.randint(0, 2000),
                        "reserved": draw.randint(0, 20),
                        "low_stock_threshold": None,
                        "reorder": None,
                        "version": 1,
                    }
                    for sku, _, _ in skus
                    for place in ("berlin", "hamburg")
                ],
            )
        if storage.engine.dialect.name == "postgresql":
            with storage.engine.begin() as connection:
                connection.execute(sa.text("ANALYZE"))
    finally:
        storage.close()


@contextmanager
def captured(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements run on ``engine`` meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)


def explain(engine: sa.Engine, statement: str, parameters: Any) -> list[str]:
    """The plan of a captured statement (none for a setting)."""
    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
        return []
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if not sqlite:
            connection.exec_driver_sql("SET jit = off")  # as the reports run
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    return [str(row[-1]) for row in rows]


def measure(
    store: Store, name: str, params: dict[str, Any], since: datetime, until: datetime, rounds: int
) -> tuple[float, float, int]:
    """Best time (ms) of ``rounds`` runs, Python's peak (MiB) in one more, and rows."""
    best = float("inf")
    rows = 0
    for _ in range(rounds):
        started = time.perf_counter()
        table = store.reports.run(name, since=since, until=until, **params)
        best = min(best, time.perf_counter() - started)
        rows = len(table.rows)
    tracemalloc.start()
    store.reports.run(name, since=since, until=until, **params)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best * 1000, peak, rows


def label(name: str, params: dict[str, Any]) -> str:
    return f"{name} by {params['by']}" if "by" in params else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--fill", metavar="URL", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.fill:
        fill(arguments.fill, arguments.orders)
        return
    results: dict[str, list[tuple[str, float, float, int, float, float, int]]] = {}
    counts: dict[str, tuple[int, int, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends():
            with database(backend, Path(folder)) as url:
                started = time.perf_counter()
                # In a process of its own, so that the peak size below is the reports'.
                command = [
                    sys.executable,
                    __file__,
                    "--fill",
                    url,
                    "--orders",
                    str(arguments.orders),
                ]
                subprocess.run(command, check=True)
                filled = time.perf_counter() - started
                config = {"entry_point_plugins": False, "track_behaviour": False}
                with Store.open(url, config=config, clock=FixedClock(YEAR)) as store:
                    engine = store.storage.engine  # type: ignore[attr-defined]
                    with engine.connect() as connection:
                        counts[backend] = (
                            connection.execute(
                                sa.select(sa.func.count()).select_from(t.orders)
                            ).scalar_one(),
                            connection.execute(
                                sa.select(sa.func.count()).select_from(t.order_lines)
                            ).scalar_one(),
                            filled,
                        )
                    rows = []
                    for name, params in REPORTS:
                        year = measure(
                            store, name, params, YEAR, YEAR.replace(year=2027), arguments.rounds
                        )
                        month = measure(store, name, params, *MONTH, arguments.rounds)
                        rows.append((label(name, params), *year, month[0], month[1], month[2]))
                        if arguments.explain:
                            with captured(engine) as seen:
                                store.reports.run(name, since=MONTH[0], until=MONTH[1], **params)
                            print(f"--- {backend}: {label(name, params)}")
                            for statement, parameters in seen:
                                for line in explain(engine, statement, parameters):
                                    print("   ", line)
                    results[backend] = rows
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for backend, rows in results.items():
        orders, lines, filled = counts[backend]
        print(
            f"\n{backend}: {orders:,} orders, {lines:,} lines (written in {filled:.0f} s); "
            f"best of {arguments.rounds}"
        )
        print(
            "| report | year ms | year peak MiB | rows | June ms | June peak MiB | rows |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        )
        for name, year_ms, year_peak, year_rows, month_ms, month_peak, month_rows in rows:
            print(
                f"| {name} | {year_ms:,.0f} | {year_peak:.2f} | {year_rows:,} "
                f"| {month_ms:,.0f} | {month_peak:.2f} | {month_rows:,} |"
            )
    print(f"\nprocess peak resident size: {peak_rss:,.0f} MiB")


if __name__ == "__main__":
    main()
