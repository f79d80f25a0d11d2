"""Returns, refunds and invoice numbers per second, on SQLite and PostgreSQL.

For N delivered orders (set up first, not timed) of three lines each, with a 10%
promotion, German VAT and shipping:

- return: ``returns.request`` -> ``approve`` -> ``receive`` -> ``inspect`` (one unit
  restocked, one written off) -> ``refund`` (computed, through the test gateway),
  each step timed, one order after another;
- refunds racing: 4 threads refunding one unit each of the same orders' lines at
  once (every order's units refunded by whichever thread lands), with the refunds
  that lost a race and the ledger checked against the gateway;
- invoices: 4 threads issuing the orders' invoices at once from one number series,
  and a check that the numbers run 1..N without a gap.

PostgreSQL runs when ``COMMERCEKIT_TEST_POSTGRES_URL`` is set (in a schema of its
own, dropped afterwards).

Run: ``python bench/returns.py`` (``--orders N``, default 60).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from commercekit import (
    Money,
    PercentOffLines,
    Product,
    Promotion,
    StockLocation,
    TaxRate,
    TaxZone,
    Variant,
)
from commercekit.adapters.clock import FixedClock
from commercekit.domain.shipping import TrackingEvent, TrackingStatus
from commercekit.errors import CommerceError, RefundRefused
from commercekit.store import Store
from databases import backends, database

SKUS = ("MUG", "CLOCK", "TEA")
CONFIG: dict[str, Any] = {
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_bench"}}},
    "seller": {"name": "Bench GmbH", "automatic": False},
    "entry_point_plugins": False,
}
ADDRESS = {
    "name": "Ada",
    "line1": "Hauptstr. 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}
WORKERS = 4


def open_store(url: str) -> Store:
    store = Store.open(url, config=CONFIG, clock=FixedClock(datetime(2026, 12, 1, tzinfo=UTC)))
    store.catalog.add_price_list("eu", "EUR")
    store.catalog.add_tax_zone(
        TaxZone(id="de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
    )
    store.catalog.add_promotion(Promotion(id="ten", name="10%", benefit=PercentOffLines(10)))
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    for n, sku in enumerate(SKUS):
        store.catalog.add_product(Product(id=sku.lower(), name=sku, variants=[Variant(sku=sku)]))
        store.catalog.publish(sku.lower())
        store.catalog.set_price("eu", sku, Money(f"{7 + n}.99", "EUR"))
        store.inventory.receive(sku, "berlin", 1_000_000)
    return store


def delivered(store: Store, n: int) -> str:
    cart = store.carts.create("EUR")
    for sku in SKUS:
        store.carts.add(cart.token, sku, 3)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key=f"bench-{n}")
    store.payments.capture(order.id)
    (shipment,) = store.fulfilment.create_shipments(order.id)
    store.fulfilment.buy_label(shipment.id, carrier="manual", tracking_number=f"T{n}")
    store.fulfilment.dispatch(shipment.id)
    arrived = TrackingEvent(
        id=f"e{n}",
        tracking_number=f"T{n}",
        status=TrackingStatus.DELIVERED,
        at=store.runtime.clock.now(),
    )
    store.fulfilment.record_tracking(shipment.id, [arrived])
    return order.id


def timed(into: list[float], call: Callable[..., Any], *args: Any) -> Any:
    started = time.perf_counter()
    result = call(*args)
    into.append(time.perf_counter() - started)
    return result


def return_lifecycle(store: Store, orders: list[str]) -> dict[str, list[float]]:
    steps: dict[str, list[float]] = {
        name: [] for name in ("request", "approve", "receive", "inspect", "refund")
    }
    for order_id in orders:
        lines = [{"sku": "MUG", "quantity": 2, "reason": "does_not_fit"}]
        return_id = timed(steps["request"], store.returns.request, order_id, lines).id
        timed(steps["approve"], store.returns.approve, return_id)
        timed(steps["receive"], store.returns.receive, return_id)
        decisions = [
            {"sku": "MUG", "quantity": 1, "outcome": "restock"},
            {"sku": "MUG", "quantity": 1, "outcome": "write_off"},
        ]
        timed(steps["inspect"], store.returns.inspect, return_id, decisions)
        timed(steps["refund"], store.returns.refund, return_id)
    return steps


def racing_refunds(store: Store, orders: list[str]) -> tuple[float, int, int, int]:
    """Each worker refunds one unit of each line of every order: 3 units a line,
    4 workers, so a quarter of the attempts find nothing left."""
    refused = [0]
    lost = [0]
    kinds: dict[str, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(WORKERS)

    def worker() -> None:
        barrier.wait()
        for order_id in orders:
            for sku in ("CLOCK", "TEA"):
                try:
                    store.refunds.refund_units(order_id, {sku: 1}, reason="bench")
                except RefundRefused:
                    with lock:
                        refused[0] += 1
                except CommerceError as error:
                    with lock:
                        lost[0] += 1
                        kinds[type(error).__name__] = kinds.get(type(error).__name__, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    seconds = time.perf_counter() - started
    mismatches = sum(
        store.refunds.for_order(order_id).gateway_units
        != store.payments.for_order(order_id).refunded_units
        for order_id in orders
    )
    if kinds:
        print("gave up:", kinds)
    return seconds, refused[0], lost[0], mismatches


def racing_invoices(store: Store, orders: list[str]) -> tuple[float, bool]:
    chunks = [orders[n::WORKERS] for n in range(WORKERS)]
    barrier = threading.Barrier(WORKERS)

    def worker(mine: list[str]) -> None:
        barrier.wait()
        for order_id in mine:
            store.invoicing.issue_invoice(order_id)

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    seconds = time.perf_counter() - started
    numbers = []
    for order_id in orders:
        invoice = store.invoicing.invoice_for(order_id)
        if invoice is not None:
            numbers.append(invoice.sequence)
    return seconds, sorted(numbers) == list(range(1, len(orders) + 1))


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=60)
    count = parser.parse_args().orders
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends():
            with database(backend, Path(folder)) as url, open_store(url) as store:
                orders = [delivered(store, n) for n in range(count)]
                steps = return_lifecycle(store, orders)
                total = sum(sum(values) for values in steps.values())
                refund_seconds, refused, lost, mismatches = racing_refunds(store, orders)
                invoice_seconds, gapless = racing_invoices(store, orders)
                rows.append(
                    (
                        backend,
                        steps,
                        count / total,
                        refund_seconds,
                        refused,
                        lost,
                        mismatches,
                        count / invoice_seconds,
                        gapless,
                    )
                )
    print(f"{count} delivered orders of 3 lines x 3 units; {WORKERS} threads where racing\n")
    print("backend     request approve receive inspect  refund   returns/s   (median ms a step)")
    for backend, steps, rate, *_ in rows:
        cells = " ".join(ms(steps[name]) for name in steps)
        print(f"{backend:<10} {cells}   {rate:8.1f}")
    print()
    print(
        "backend     racing refunds: s   nothing left   gave up   ledger != gateway"
        "   invoices/s   gapless"
    )
    for backend, _, _, seconds, refused, lost, mismatches, per_second, gapless in rows:
        print(
            f"{backend:<10} {seconds:18.2f} {refused:14d} {lost:9d} {mismatches:19d} "
            f"{per_second:12.1f}   {gapless}"
        )


if __name__ == "__main__":
    main()
