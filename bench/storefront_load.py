"""The example storefront under load: Locust's shoppers against uvicorn, on SQLite and
PostgreSQL.

For each backend and each number of users, a fresh database gets the demo tea shop
(``demo.seed``, then far more stock than any run can sell, so that no shopper is
refused for want of it), and the storefront is served by uvicorn with one worker on a
free port of 127.0.0.1, in a thread of this process. Locust then runs headless in a
process of its own for a fixed time with the shoppers of
``bench/storefront_locustfile.py``: mostly product pages and searches, some adds to
the cart, a few whole checkouts paid with ``tok_success``. Its CSV statistics give the
table: requests a second, median and 95th percentile in milliseconds, and failures,
for the product page, search, add to cart and the payment POST that places the
order, and for all requests together.

Any failed request or broken task stops the bench with what went wrong (exit 1):
with the stock raised and a session per shopper, the shop has nothing to refuse.

PostgreSQL runs when ``COMMERCEKIT_TEST_POSTGRES_URL`` is set or ``--postgres`` names a
server, each run in a schema of its own, dropped afterwards.

Run: ``python bench/storefront_load.py`` (about three minutes with both backends);
``--seconds 3 --users 1 --backends sqlite`` for a smoke run.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Final

import uvicorn

from commercekit import Store
from commercekit.examples.storefront import create_app
from commercekit.examples.storefront.demo import CATEGORIES, PRODUCTS, config, seed
from databases import database

LOCUSTFILE: Final = Path(__file__).resolve().parent / "storefront_locustfile.py"
POSTGRES_VARIABLE: Final = "COMMERCEKIT_TEST_POSTGRES_URL"
#: Units received of every SKU after the demo's seed: more than any run sells.
STOCK: Final = 1_000_000
#: Where the demo keeps its stock.
LOCATION: Final = "berlin"
#: The rows of the table: a label, and the request's method and name in Locust's stats.
MEASURED: Final = (
    ("product page", "GET", "/products/[slug]"),
    ("search", "GET", "/search?q=[words]"),
    ("add to cart", "POST", "/cart/add"),
    ("checkout (payment POST)", "POST", "/checkout/payment"),
    ("all requests", "", "Aggregated"),
)
NOT_SENT: Final = {
    "Request Count": "0",
    "Requests/s": "0",
    "Median Response Time": "-",
    "95%": "-",
    "Failure Count": "0",
}
#: Locust's exit code when some request failed, apart from its own crashes.
FAILED_REQUESTS: Final = 3


class LoadFailed(Exception):
    """A run had failed requests or broken tasks, or Locust itself did not run."""


@dataclass(frozen=True)
class Row:
    backend: str
    users: int
    request: str
    requests: int
    per_second: float
    median_ms: str
    p95_ms: str
    failures: int


@contextlib.contextmanager
def storefront(backend: str, folder: Path) -> Iterator[str]:
    """The demo shop on a fresh database of ``backend``, served until the block ends;
    yields its base URL."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        with (
            database(backend, folder, "storefront") as url,
            Store.open(url, config=config(base_url)) as store,
        ):
            seed(store)
            for product, _price, _stock in PRODUCTS:
                for variant in product.variants:
                    store.inventory.receive(variant.sku, LOCATION, STOCK)
            app = create_app(store, secret_key=secrets.token_urlsafe(32), navigation=CATEGORIES)
            server = uvicorn.Server(
                uvicorn.Config(app, workers=1, log_level="warning", access_log=False)
            )
            thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]})
            thread.start()
            try:
                wait_until_started(server, thread)
                warm_up(base_url)
                yield base_url
            finally:
                server.should_exit = True
                thread.join()


def wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise LoadFailed("uvicorn did not start")
        time.sleep(0.05)


def warm_up(base_url: str) -> None:
    """One visit to the pages a shop that has been up a while has already served,
    so that no run's figures include compiling a template or filling a cache."""
    paths = ["/", "/search?q=tea", "/cart"]
    paths += [f"/products/{product.slug}" for product, _price, _stock in PRODUCTS]
    for path in paths:
        with urllib.request.urlopen(base_url + path, timeout=30) as response:
            response.read()


def run_locust(
    host: str, users: int, seconds: int, think_ms: str, prefix: Path
) -> dict[tuple[str, str], dict[str, str]]:
    """Locust's shoppers against ``host``; its statistics by (method, name).

    :raises LoadFailed: when a request failed, a task broke, or Locust did not run.
    """
    command = [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--host",
        host,
        "--users",
        str(users),
        # Everyone is up within two seconds, so the ramp is a small part of a run.
        "--spawn-rate",
        str(max(1, users // 2)),
        "--run-time",
        f"{seconds}s",
        "--csv",
        str(prefix),
        "--exit-code-on-error",
        str(FAILED_REQUESTS),
        "--loglevel",
        "WARNING",
        "--think-ms",
        think_ms,
    ]
    # Run in the output folder, so that no locust.conf or pyproject.toml around the
    # caller changes the options.
    done = subprocess.run(
        command, cwd=prefix.parent, capture_output=True, text=True, timeout=seconds + 120
    )
    stats_file = prefix.with_name(prefix.name + "_stats.csv")
    if done.returncode not in (0, FAILED_REQUESTS) or not stats_file.exists():
        raise LoadFailed(f"locust exited with {done.returncode}:\n{done.stderr[-4000:]}")
    problems = [
        f"{row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error']}"
        for row in read_csv(prefix, "failures")
    ] + [f"{row['Count']} x task error: {row['Message']}" for row in read_csv(prefix, "exceptions")]
    if problems or done.returncode == FAILED_REQUESTS:
        raise LoadFailed("\n".join(problems) or done.stderr[-4000:])
    return {(row["Type"], row["Name"]): row for row in read_csv(prefix, "stats")}


def read_csv(prefix: Path, kind: str) -> list[dict[str, str]]:
    with prefix.with_name(f"{prefix.name}_{kind}.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def rows_of(backend: str, users: int, stats: dict[tuple[str, str], dict[str, str]]) -> list[Row]:
    rows = []
    for label, method, name in MEASURED:
        # A short run may happen to send no checkout at all.
        entry = stats.get((method, name), NOT_SENT)
        rows.append(
            Row(
                backend=backend,
                users=users,
                request=label,
                requests=int(entry["Request Count"]),
                per_second=float(entry["Requests/s"]),
                median_ms=milliseconds(entry["Median Response Time"]),
                p95_ms=milliseconds(entry["95%"]),
                failures=int(entry["Failure Count"]),
            )
        )
    return rows


def milliseconds(figure: str) -> str:
    """Locust's figure as whole milliseconds (it writes an exact median when a request
    was sent only a few times)."""
    try:
        return f"{float(figure):.0f}"
    except ValueError:
        return figure


def table(rows: Sequence[Row]) -> str:
    names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
    lines = [
        "| backend | users | request | requests | requests/s | median ms | p95 ms | failures |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {names[row.backend]} | {row.users} | {row.request} | {row.requests:,} "
        f"| {row.per_second:.1f} | {row.median_ms} | {row.p95_ms} | {row.failures} |"
        for row in rows
    ]
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()},"
        f" Locust {version('locust')}, uvicorn {version('uvicorn')} (1 worker)"
    )


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load-test the example storefront with Locust on SQLite and PostgreSQL."
    )
    parser.add_argument("--seconds", type=int, default=30, help="length of each run (30)")
    parser.add_argument(
        "--users", default="1,10,50", help="comma-separated numbers of users, a run each (1,10,50)"
    )
    parser.add_argument(
        "--backends",
        default=None,
        help="comma-separated, of sqlite and postgresql (sqlite, and postgresql when a"
        f" server is named by --postgres or {POSTGRES_VARIABLE})",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(POSTGRES_VARIABLE),
        help=f"PostgreSQL server to test on (default: ${POSTGRES_VARIABLE})",
    )
    parser.add_argument(
        "--think-ms",
        default="100-500",
        help="each shopper's pause between two tasks, LOW-HIGH milliseconds (100-500)",
    )
    args = parser.parse_args(argv)
    if args.backends is None:
        args.backends = "sqlite,postgresql" if args.postgres else "sqlite"
    args.backends = [each.strip() for each in args.backends.split(",") if each.strip()]
    unknown = set(args.backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend: {', '.join(sorted(unknown))}")
    if "postgresql" in args.backends and not args.postgres:
        parser.error(f"postgresql needs --postgres URL or {POSTGRES_VARIABLE}")
    try:
        args.users = [int(each) for each in args.users.split(",")]
    except ValueError:
        parser.error("--users takes whole numbers, such as 1,10,50")
    if args.seconds < 1 or min(args.users) < 1:
        parser.error("--seconds and --users must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    if args.postgres:
        # bench/databases.py makes the fresh schema on the server this names.
        os.environ[POSTGRES_VARIABLE] = args.postgres
    rows: list[Row] = []
    loads: list[str] = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        try:
            for backend in args.backends:
                for users in args.users:
                    print(f"{backend}, {users} users, {args.seconds} s ...", file=sys.stderr)
                    with storefront(backend, folder) as host:
                        prefix = folder / f"{backend}-{users}"
                        stats = run_locust(host, users, args.seconds, args.think_ms, prefix)
                    rows += rows_of(backend, users, stats)
                    # The machine is shared: how busy it was belongs with the figures.
                    loads.append(f"{backend} {users}: {os.getloadavg()[0]:.1f}")
        except LoadFailed as failed:
            if rows:
                print(table(rows))
            print(f"\nthe load test failed:\n{failed}", file=sys.stderr)
            return 1
    print(f"{machine()}; {args.seconds} s a run, {args.think_ms} ms between tasks\n")
    print(table(rows))
    print(f"\nload average (1 minute) at the end of each run: {', '.join(loads)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
