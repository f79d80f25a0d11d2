"""Checkouts racing for the last of one balance, on a SQLite file and on PostgreSQL:
exactly one order is placed, the balance ends at zero and never below, and the
orders that lost leave nothing written. Every race runs several times, on a bounded
number of threads, each joined within a deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from commercekit import Money, Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.credit import CreditReason
from commercekit.domain.money import from_minor_units
from commercekit.domain.orders import Order, OrderStatus
from commercekit.errors import CommerceError, InsufficientBalance, InvalidTransition
from commercekit.store import Store
from tests.conftest import race_database

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ROUNDS = 3
RACERS = 4
DEADLINE = 30.0
CUSTOMER = "customer-racer"
ADDRESS = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with race_database(request.param, str(tmp_path / "credit-races.db")) as url:
        config = {
            "entry_point_plugins": False,
            "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_race"}}},
            "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
        }
        with Store.open(url, config=config, clock=FixedClock(START)) as opened:
            opened.catalog.add_product(
                Product(id="clock", name="Retro clock", variants=[Variant(sku="CLOCK")])
            )
            opened.catalog.publish("clock")
            opened.catalog.add_price_list("eu", "EUR")
            opened.catalog.set_price("eu", "CLOCK", Money("30.00", "EUR"))
            opened.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
            opened.inventory.receive("CLOCK", "berlin", 1000)
            yield opened


def cart(store: Store, *, customer_id: str | None = None) -> str:
    """A cart for one clock, everything set but a means of payment: only its tenders
    can pay for it."""
    made = store.carts.create("EUR", customer_id=customer_id)
    store.carts.add(made.token, "CLOCK", 1)
    store.checkout.set_contact(made.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(made.token, ADDRESS)
    store.checkout.choose_shipping(made.token, {"method_id": "post"})
    return made.token


def total(store: Store) -> int:
    """What one cart of :func:`cart` costs, in minor units."""
    return store.checkout.summary(cart(store)).breakdown.grand_total_units


def race(*work: Callable[[], object]) -> list[object]:
    """Run each callable in its own thread, released together; each result is what it
    returned or the error it raised."""
    barrier = threading.Barrier(len(work), timeout=DEADLINE)

    def run(job: Callable[[], object]) -> object:
        barrier.wait()
        try:
            return job()
        except CommerceError as error:
            return error

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        results = [f.result(timeout=DEADLINE) for f in [pool.submit(run, job) for job in work]]
    assert time.monotonic() - started < DEADLINE
    return results


def place(store: Store, token: str, key: str) -> Order:
    store.checkout.summary(token)
    return store.checkout.place_order(token, idempotency_key=key)


def one_won(results: list[object]) -> Order:
    """The one order placed; every other racer was refused for the balance."""
    orders = [result for result in results if isinstance(result, Order)]
    assert len(orders) == 1, results
    for result in results:
        if not isinstance(result, Order):
            assert isinstance(result, InsufficientBalance), result
    (order,) = orders
    assert order.status is OrderStatus.OPEN
    return order


def test_checkouts_racing_for_the_last_of_a_gift_card_place_one_order(store: Store) -> None:
    price = total(store)
    for n in range(ROUNDS):
        card, code = store.credit.issue_gift_card(from_minor_units(price, "EUR"))
        tokens = [cart(store) for _ in range(RACERS)]
        for token in tokens:
            store.checkout.apply_gift_card(token, code)
        results = race(*(partial(place, store, t, f"card-{n}-{i}") for i, t in enumerate(tokens)))

        order = one_won(results)
        kept = store.credit.gift_card(card.id)
        assert kept.balance_units == 0
        assert sum(entry.units for entry in kept.entries) == 0
        spent = [entry for entry in kept.entries if entry.reason is CreditReason.SPENT]
        assert [(entry.units, entry.reference) for entry in spent] == [(-price, order.id)]
    # Of every round's racers one order holds a clock; the losers wrote nothing.
    stock = store.inventory.stock("CLOCK")[0]
    assert stock.reserved == ROUNDS


def test_checkouts_racing_for_the_last_store_credit_place_one_order(store: Store) -> None:
    price = total(store)
    for n in range(ROUNDS):
        store.credit.issue_store_credit(CUSTOMER, from_minor_units(price, "EUR"))
        tokens = [cart(store, customer_id=CUSTOMER) for _ in range(RACERS)]
        for token in tokens:
            store.checkout.use_store_credit(token)
        results = race(*(partial(place, store, t, f"credit-{n}-{i}") for i, t in enumerate(tokens)))

        order = one_won(results)
        account = store.credit.store_credit(CUSTOMER, "EUR")
        assert account.balance_units == 0
        assert sum(entry.units for entry in account.entries) == 0
        assert account.entries[-1].reference == order.id
    placed = store.orders.for_customer(CUSTOMER, limit=50)
    assert len(placed) == ROUNDS
    assert store.inventory.stock("CLOCK")[0].reserved == ROUNDS


def test_two_cancellations_at_once_give_the_card_back_once(store: Store) -> None:
    price = total(store)
    for n in range(ROUNDS):
        card, code = store.credit.issue_gift_card(from_minor_units(price, "EUR"))
        token = cart(store)
        store.checkout.apply_gift_card(token, code)
        order = place(store, token, f"cancel-{n}")
        results = race(
            partial(store.orders.cancel, order.id, "changed their mind"),
            partial(store.orders.cancel, order.id, "changed their mind"),
        )
        refused = [r for r in results if isinstance(r, CommerceError)]
        assert all(isinstance(r, InvalidTransition) for r in refused), results
        assert len(refused) <= 1
        kept = store.credit.gift_card(card.id)
        assert kept.balance_units == price
        assert sum(entry.reason is CreditReason.RESTORED for entry in kept.entries) == 1
        assert store.orders.get(order.id).status is OrderStatus.CANCELLED


def test_the_same_request_twice_at_once_spends_the_card_once(store: Store) -> None:
    price = total(store)
    for n in range(ROUNDS):
        card, code = store.credit.issue_gift_card(from_minor_units(price, "EUR"))
        token = cart(store)
        store.checkout.apply_gift_card(token, code)
        store.checkout.summary(token)
        key = f"same-{n}"
        results = race(
            partial(store.checkout.place_order, token, idempotency_key=key),
            partial(store.checkout.place_order, token, idempotency_key=key),
        )
        assert all(isinstance(result, Order) for result in results), results
        first, second = (result for result in results if isinstance(result, Order))
        assert first.id == second.id
        kept = store.credit.gift_card(card.id)
        assert kept.balance_units == 0
        assert sum(entry.reason is CreditReason.SPENT for entry in kept.entries) == 1
