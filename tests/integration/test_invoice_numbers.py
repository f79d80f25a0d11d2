"""Invoice numbers under load, on a SQLite file and on PostgreSQL: orders captured at
once, and invoices issued at once from two stores on one database (two processes),
are numbered 1..N with no gap and none twice; a unit of work that fails after taking
a number leaves no gap. Every race is bounded in threads and in time."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from commercekit.adapters.clock import FixedClock
from commercekit.domain.invoicing import INVOICE_SERIES, Invoice
from commercekit.domain.sequences import NumberSequence
from commercekit.services import invoicing
from commercekit.store import Store
from tests.conftest import fresh_postgres_schema
from tests.services.conftest import CONFIG, START, ready_cart, seed

#: Orders per race: threads are bounded by it.
ORDERS: Final = 8
DEADLINE: Final = 60.0
SELLER: Final = {"name": "Retro GmbH", "address": ["Weinbergsweg 1", "10119 Berlin"]}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'invoices.db'}"
    else:
        with fresh_postgres_schema() as scoped:
            yield scoped


@contextlib.contextmanager
def stores(url: str, *, automatic: bool) -> Iterator[tuple[Store, Store]]:
    """Two stores on one database, as two processes would have; the first seeded."""
    config = {**CONFIG, "seller": {**SELLER, "automatic": automatic}}
    clock = FixedClock(START)
    with Store.open(url, config=config, clock=clock) as first:
        seed(first)
        with Store.open(url, config=config, clock=clock) as second:
            yield first, second


def authorized(store: Store, count: int) -> list[str]:
    """Ids of ``count`` new orders, authorized and not captured."""
    return [
        store.checkout.place_order(ready_cart(store).token, idempotency_key=f"key-{n}").id
        for n in range(count)
    ]


def at_once(jobs: list[Callable[[], object]]) -> list[object]:
    """Run each job in its own thread, released together; what each returned or raised."""
    barrier = threading.Barrier(len(jobs), timeout=DEADLINE)
    results: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            results[index] = job()
        except Exception as error:  # kept for the assertion that names it
            results[index] = error

    threads = [
        threading.Thread(target=run, args=(n, job), daemon=True) for n, job in enumerate(jobs)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, DEADLINE - (time.monotonic() - started)))
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish in time"
    return results


def numbers(store: Store, order_ids: list[str]) -> list[int]:
    """The sequential numbers of the orders' invoices, each order having one."""
    found = [store.invoicing.invoice_for(order_id) for order_id in order_ids]
    assert all(invoice is not None for invoice in found), found
    return sorted(invoice.sequence for invoice in found if invoice is not None)


def next_number(store: Store) -> int:
    with store.storage.unit_of_work() as uow:
        return uow.records(NumberSequence).get(NumberSequence.key(INVOICE_SERIES, "")).next_number


def test_orders_captured_at_once_are_invoiced_one_to_n(url: str) -> None:
    with stores(url, automatic=True) as (first, second):
        order_ids = authorized(first, ORDERS)
        done = threading.Event()

        def deliver() -> int:
            # The other process delivers the same outbox meanwhile, and issues too.
            delivered = 0
            while not done.is_set():
                delivered += second.deliver_events()
            return delivered

        captures: list[Callable[[], object]] = [
            lambda order_id=order_id: first.payments.capture(order_id) for order_id in order_ids
        ]
        helper = threading.Thread(target=deliver, daemon=True)
        helper.start()
        try:
            results = at_once(captures)
        finally:
            done.set()
            helper.join(timeout=DEADLINE)
        assert not helper.is_alive()
        assert not [r for r in results if isinstance(r, Exception)], results
        first.deliver_events()

        assert numbers(first, order_ids) == list(range(1, ORDERS + 1))
        assert next_number(first) == ORDERS + 1
        issued = [first.invoicing.invoice_for(order_id) for order_id in order_ids]
        assert sorted(i.number for i in issued if i) == [
            f"INV-{n:06d}" for n in range(1, ORDERS + 1)
        ]


def test_invoices_issued_at_once_from_two_stores_are_numbered_once_each(url: str) -> None:
    with stores(url, automatic=False) as (first, second):
        order_ids = authorized(first, ORDERS)
        for order_id in order_ids:
            first.payments.capture(order_id)

        def issue(store: Store, *wanted: str) -> list[Invoice]:
            return [store.invoicing.issue_invoice(order_id) for order_id in wanted]

        # Each order is asked for by two threads, one through each store.
        jobs: list[Callable[[], object]] = [
            lambda n=n: issue(first if n % 2 else second, order_ids[n], order_ids[(n + 1) % ORDERS])
            for n in range(ORDERS)
        ]
        results = at_once(jobs)

        assert not [r for r in results if isinstance(r, Exception)], results
        assert numbers(first, order_ids) == list(range(1, ORDERS + 1))
        answered: dict[str, set[str]] = {}
        for invoices in results:
            assert isinstance(invoices, list)
            for invoice in invoices:
                answered.setdefault(invoice.order_id, set()).add(invoice.number)
        # Both callers of an order were answered with its one invoice.
        assert all(len(found) == 1 for found in answered.values()), answered
        assert next_number(second) == ORDERS + 1


def test_a_unit_of_work_that_fails_after_taking_a_number_leaves_no_gap(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with stores(url, automatic=False) as (first, _):
        order_ids = authorized(first, 3)
        for order_id in order_ids:
            first.payments.capture(order_id)
        build = invoicing.build_invoice

        def failing(*args: Any, **kwargs: Any) -> Invoice:
            raise RuntimeError("the disk filled up")

        monkeypatch.setattr(invoicing, "build_invoice", failing)
        with pytest.raises(RuntimeError):
            first.invoicing.issue_invoice(order_ids[0])
        monkeypatch.setattr(invoicing, "build_invoice", build)

        issued = [first.invoicing.issue_invoice(order_id) for order_id in order_ids[1:]]
        issued.append(first.invoicing.issue_invoice(order_ids[0]))

        assert [invoice.sequence for invoice in issued] == [1, 2, 3]
        assert numbers(first, order_ids) == [1, 2, 3]
