"""Gift cards sold, on a SQLite file and on PostgreSQL: the same ``OrderPaid`` delivered
twice at once, by two stores on one database (two processes), issues exactly one card
per unit and one notice naming them. Every race runs several times, on a bounded
number of threads, each joined within a deadline."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Final

import pytest

from commercekit import Money, Product, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.credit import GiftCard
from commercekit.domain.events import DomainEvent, OrderPaid
from commercekit.domain.gift_card_sales import GiftCardPurchase
from commercekit.domain.orders import Order
from commercekit.store import Store
from tests.conftest import fresh_postgres_schema
from tests.services.conftest import ADDRESS, CONFIG, START, seed

GIFT: Final = "GIFT-25"
GIFTS: Final = 3
ROUNDS: Final = 3
DEADLINE: Final = 60.0


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gift-cards.db'}"
    else:
        with fresh_postgres_schema() as scoped:
            yield scoped


@contextlib.contextmanager
def shops(url: str, outbox: Path) -> Iterator[tuple[Store, Store, Store]]:
    """A store that takes orders and delivers no event (it sells no gift cards and
    has no notifier: its events wait in the outbox), and two that sell gift cards, as
    two processes on the same database would."""
    clock = FixedClock(START)
    selling = {
        **CONFIG,
        "capture": "immediate",
        "gift_card_skus": [GIFT],
        "notifier": {"options": {"directory": str(outbox)}},
    }
    with Store.open(url, config={**CONFIG, "capture": "immediate"}, clock=clock) as till:
        seed(till)
        till.catalog.add_product(
            Product(id="gift", name="Gift card", variants=[Variant(sku=GIFT, digital=True)])
        )
        till.catalog.publish("gift")
        till.catalog.set_price("eu", GIFT, Money("25.00", "EUR"))
        with (
            Store.open(url, config=selling, clock=clock) as first,
            Store.open(url, config=selling, clock=clock) as second,
        ):
            yield till, first, second


def bought(till: Store, key: str) -> Order:
    cart = till.carts.create("EUR")
    till.carts.add(cart.token, GIFT, GIFTS)
    till.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    till.checkout.set_billing_address(cart.token, ADDRESS)
    till.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    till.checkout.summary(cart.token)
    return till.checkout.place_order(cart.token, idempotency_key=key)


def paid_event(till: Store, order: Order) -> DomainEvent:
    """The order's ``OrderPaid``, waiting in the outbox."""
    (event,) = [
        event
        for _, event in till.storage.undelivered_events(500)
        if isinstance(event, OrderPaid) and event.order_id == order.id
    ]
    return event


def at_once(*jobs: Callable[[], object]) -> list[object]:
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


def assert_one_card_per_unit(store: Store, order: Order) -> None:
    (line,) = order.lines
    with store.storage.unit_of_work() as uow:
        cards = uow.records(GiftCard)
        per_unit = [
            cards.where(ref=f"{order.id}:{GIFT}:{number}", limit=10)
            for number in range(1, GIFTS + 1)
        ]
        (purchase,) = uow.records(GiftCardPurchase).where(ref=order.id, limit=10)
    assert [len(found) for found in per_unit] == [1] * GIFTS
    issued = [found[0] for found in per_unit]
    assert [sold.gift_card_id for sold in purchase.cards] == [card.id for card in issued]
    assert sum(card.initial_units for card in issued) == line.total_units
    notice = store.notifications.find(f"gift_card_purchased:{order.id}:zoe@example.com")
    assert notice is not None
    codes = [row.split(":")[0][2:] for row in notice.text.splitlines() if row.startswith("- ")]
    assert [GiftCard.key_for(code) for code in codes] == [card.id for card in issued]


def test_the_same_payment_delivered_twice_at_once_issues_one_card_per_unit(
    url: str, tmp_path: Path
) -> None:
    with shops(url, tmp_path / "outbox") as (till, first, second):
        for n in range(ROUNDS):
            order = bought(till, f"twice-{n}")
            event = paid_event(till, order)

            results = at_once(
                partial(first.gift_card_sales.on_events, [event]),
                partial(second.gift_card_sales.on_events, [event]),
            )

            # One delivery issued the cards, the other found them issued.
            assert sorted(results) == [0, GIFTS], results  # type: ignore[type-var]
            assert_one_card_per_unit(first, order)


def test_two_processes_delivering_one_outbox_at_once_issue_one_card_per_unit(
    url: str, tmp_path: Path
) -> None:
    with shops(url, tmp_path / "outbox") as (till, first, second):
        orders = [bought(till, f"outbox-{n}") for n in range(ROUNDS)]

        results = at_once(first.deliver_events, second.deliver_events)

        assert not [r for r in results if isinstance(r, Exception)], results
        for order in orders:
            assert_one_card_per_unit(first, order)
        with first.storage.unit_of_work() as uow:
            assert len(uow.records(GiftCard).where(limit=500)) == GIFTS * ROUNDS
