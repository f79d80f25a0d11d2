"""Money operations per second after checkout: capture, refund, void and cancel.

Each operation records its intent in a transaction of its own, calls the gateway
(the test gateway, which answers at once), then settles; a cancellation also marks
the order cancelling first and cancelled last. The table shows what that costs per
call, on a SQLite file and (when ``COMMERCEKIT_TEST_POSTGRES_URL`` is set) on
PostgreSQL, one worker, orders placed beforehand and not timed.

Run: ``python bench/operations.py`` (``--orders N`` per operation, default 100).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from checkout import database, open_store, ready_cart
from commercekit.store import Store

OPERATIONS: dict[str, Callable[[Store, str], object]] = {
    "capture": lambda store, order_id: store.payments.capture(order_id),
    "void": lambda store, order_id: store.payments.void(order_id),
    "cancel (authorized)": lambda store, order_id: store.orders.cancel(order_id, "bench"),
    "refund (captured)": lambda store, order_id: store.payments.refund(order_id),
    "cancel (captured)": lambda store, order_id: store.orders.cancel(order_id, "bench"),
}
#: The operations that need the order captured first (untimed).
CAPTURED_FIRST = {"refund (captured)", "cancel (captured)"}


def measure(backend: str, folder: Path, orders: int) -> dict[str, float]:
    rates: dict[str, float] = {}
    with database(backend, folder, "operations") as url, open_store(url) as store:
        for name, operation in OPERATIONS.items():
            placed = [
                store.checkout.place_order(
                    ready_cart(store, 0), idempotency_key=f"bench-{name}-{n}"
                ).id
                for n in range(orders)
            ]
            if name in CAPTURED_FIRST:
                for order_id in placed:
                    store.payments.capture(order_id)
            started = time.perf_counter()
            for order_id in placed:
                operation(store, order_id)
            rates[name] = orders / (time.perf_counter() - started)
    return rates


def main(orders: int) -> None:
    backends = ["sqlite"] + (
        ["postgresql"] if os.environ.get("COMMERCEKIT_TEST_POSTGRES_URL") else []
    )
    print(f"{orders} orders per operation, one worker, test gateway")
    print("{:<11} {:<22} {:>8}".format("backend", "operation", "calls/s"))
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            for name, rate in measure(backend, Path(folder), orders).items():
                print(f"{backend:<11} {name:<22} {rate:>8.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100)
    main(parser.parse_args().orders)
