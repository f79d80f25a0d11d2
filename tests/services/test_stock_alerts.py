"""Back-in-stock alerts on a real store (memory, a SQLite file, and PostgreSQL when
there is one): shoppers subscribe to a sold-out variant and are told when stock is
received, first come first served, as many as there are units (or all, when the
store says so); a unit kept for a shopper who does not buy goes to the next in line;
an address typed in shows nobody the alert waiting for it; many subscribing to one
SKU at once all land, and sweeps at once tell no more than there are units."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from commercekit import Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.access import Permission
from commercekit.domain.errors import AccessDenied, InStock, InvalidInput, NotFound, UnknownSku
from commercekit.domain.marketing.stock_alerts import (
    SETTLE,
    AlertQueue,
    AlertStatus,
    StockAlert,
)
from commercekit.services.stock_alerts import StockAlertService
from commercekit.store import Store
from tests.services.bringing_back import Outbox, backends, configured, opened
from tests.services.conftest import ADDRESS, START, seed

CLOCK = "RETRO-CLOCK"
ZOE, ADA, BO = "zoe@example.com", "ada@example.com", "bo@example.com"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


def shop_with(shop: Store) -> Store:
    seed(shop)
    shop.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    shop.inventory.receive("RETRO-MUG", "berlin", 10)
    shop.customers.register("ada", {"email": ADA, "name": "Ada"})
    return shop


@pytest.fixture(params=backends())
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, outbox: Outbox
) -> Iterator[Store]:
    with opened(request.param, tmp_path, outbox, clock=clock) as shop:
        yield shop_with(shop)


def told(outbox: Outbox) -> list[str]:
    """Who was told a SKU is back, in order."""
    return [m.to for m in outbox.sent if m.template == "back_in_stock"]


def buy(shop: Store, email: str, sku: str = CLOCK, *, customer_id: str | None = None) -> None:
    cart = shop.carts.create("EUR", customer_id=customer_id)
    shop.carts.add(cart.token, sku, 1)
    shop.checkout.set_contact(cart.token, {"email": email})
    shop.checkout.set_shipping_address(cart.token, ADDRESS)
    shop.checkout.choose_shipping(cart.token, {"method_id": "post"})
    shop.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    shop.checkout.summary(cart.token)
    shop.checkout.place_order(cart.token, idempotency_key=f"buy-{cart.id}")


# --- told when stock comes ------------------------------------------------------------------


def test_a_back_in_stock_alert_goes_out_after_receiving_first_come_first_served(
    store: Store, outbox: Outbox
) -> None:
    zoe = store.stock_alerts.subscribe(CLOCK, email=ZOE)
    ada = store.stock_alerts.subscribe(CLOCK, customer_id="ada")
    bo = store.stock_alerts.subscribe(CLOCK, email=BO)
    assert [a.id for a in store.stock_alerts.waiting(CLOCK)] == [zoe.id, ada.id, bo.id]

    store.inventory.receive(CLOCK, "berlin", 2)

    assert told(outbox) == [ZOE, ADA]
    message = outbox.to(ZOE)[-1]
    assert message.subject == "Retro clock is back in stock"
    assert [a.email for a in store.stock_alerts.waiting(CLOCK)] == [BO]

    store.inventory.receive(CLOCK, "berlin", 1)

    assert told(outbox) == [ZOE, ADA, BO]
    assert store.stock_alerts.waiting(CLOCK) == []


def test_a_unit_kept_for_a_shopper_who_does_not_buy_goes_to_the_next_in_line(
    store: Store, outbox: Outbox, clock: FixedClock
) -> None:
    for email in (ZOE, BO):
        store.stock_alerts.subscribe(CLOCK, email=email)
    store.inventory.receive(CLOCK, "berlin", 1)
    assert told(outbox) == [ZOE]

    clock.advance(timedelta(hours=23))
    assert store.stock_alerts.sweep() == 0
    clock.advance(timedelta(hours=1))
    assert store.stock_alerts.sweep() == 1

    assert told(outbox) == [ZOE, BO]


def test_a_shopper_who_buys_what_they_were_told_of_frees_no_unit_twice(
    store: Store, outbox: Outbox
) -> None:
    zoe = store.stock_alerts.subscribe(CLOCK, email=ZOE)
    for email in (ADA, BO):
        store.stock_alerts.subscribe(CLOCK, email=email)
    store.inventory.receive(CLOCK, "berlin", 1)
    buy(store, ZOE)  # the unit kept for Zoë is hers

    store.inventory.receive(CLOCK, "berlin", 1)

    assert told(outbox) == [ZOE, ADA]
    with store.storage.unit_of_work() as uow:
        assert uow.records(StockAlert).get(zoe.id).status is AlertStatus.BOUGHT


def test_a_store_may_tell_everyone_at_once(tmp_path: Path, outbox: Outbox) -> None:
    config = configured(stock_alerts={"notify": "all"})
    with opened("memory", tmp_path, outbox, config=config) as shop:
        shop_with(shop)
        for email in (ZOE, ADA, BO):
            shop.stock_alerts.subscribe(CLOCK, email=email)

        shop.inventory.receive(CLOCK, "berlin", 1)

        assert told(outbox) == [ZOE, ADA, BO]


def test_stock_an_order_gave_back_tells_the_next_in_line(store: Store, outbox: Outbox) -> None:
    store.inventory.receive(CLOCK, "berlin", 1)
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, CLOCK, 1)
    store.checkout.set_contact(cart.token, {"email": ADA})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="last-clock")
    store.stock_alerts.subscribe(CLOCK, email=ZOE)

    store.orders.cancel(order.id, "changed mind")

    assert told(outbox) == [ZOE]


# --- subscribing ---------------------------------------------------------------------------


def test_a_customer_asking_again_is_given_the_alert_they_have(store: Store) -> None:
    first = store.as_shopper("ada").stock_alerts.subscribe(CLOCK, customer_id="ada")
    again = store.as_shopper("ada").stock_alerts.subscribe(CLOCK, customer_id="ada")

    assert again.id == first.id
    assert [a.id for a in store.stock_alerts.for_customer("ada")] == [first.id]


def test_a_guest_asking_again_has_a_request_of_their_own_and_is_told_once(
    store: Store, outbox: Outbox
) -> None:
    first = store.stock_alerts.subscribe(CLOCK, email=ZOE)
    again = store.stock_alerts.subscribe(CLOCK, email="Zoe+shop@example.com")
    bo = store.stock_alerts.subscribe(CLOCK, email=BO)
    assert again.id != first.id

    store.inventory.receive(CLOCK, "berlin", 1)

    assert told(outbox) == [ZOE]
    assert [a.id for a in store.stock_alerts.waiting(CLOCK)] == [bo.id]
    with store.storage.unit_of_work() as uow:
        notified = [uow.records(StockAlert).get(a.id) for a in (first, again)]
    assert {a.status for a in notified} == {AlertStatus.NOTIFIED}
    assert notified[0].notice_key == notified[1].notice_key


def test_a_cancelled_alert_is_not_told(store: Store, outbox: Outbox) -> None:
    first = store.stock_alerts.subscribe(CLOCK, email=ZOE)
    bo = store.stock_alerts.subscribe(CLOCK, email=BO)

    cancelled = store.as_shopper().stock_alerts.unsubscribe(first.id)
    store.inventory.receive(CLOCK, "berlin", 5)

    assert cancelled.status is AlertStatus.CANCELLED
    assert told(outbox) == [BO]
    assert store.stock_alerts.unsubscribe(bo.id).status is AlertStatus.NOTIFIED


# --- an address typed in shows nothing -----------------------------------------------------

#: What of an answer may differ between two new requests: who asked, and the secret.
PERSONAL = ("id", "email", "email_key", "events")


def shape(alert: StockAlert) -> dict[str, Any]:
    """What an answer shows besides who asked and its secret."""
    shown = attrs.asdict(alert, recurse=False)
    return {name: value for name, value in shown.items() if name not in PERSONAL}


@pytest.mark.parametrize("victim", ["customer", "guest"])
def test_an_address_typed_in_shows_nobody_the_alert_waiting_for_it(
    store: Store, outbox: Outbox, victim: str
) -> None:
    if victim == "customer":
        mine = store.as_shopper("ada").stock_alerts.subscribe(CLOCK, customer_id="ada")
    else:
        mine = store.as_shopper().stock_alerts.subscribe(CLOCK, email=ADA)
    stranger = store.as_shopper()

    got = stranger.stock_alerts.subscribe(CLOCK, email="Ada@Example.com")
    fresh = stranger.stock_alerts.subscribe(CLOCK, email=BO)
    stranger.stock_alerts.unsubscribe(got.id)

    assert got.id != mine.id
    assert got.customer_id is None
    assert shape(got) == shape(fresh)
    assert got.id.startswith("stock_alert_")
    assert len(got.id) == len(fresh.id)
    store.inventory.receive(CLOCK, "berlin", 1)
    assert told(outbox) == [ADA]
    with store.storage.unit_of_work() as uow:
        assert uow.records(StockAlert).get(mine.id).status is AlertStatus.NOTIFIED


def test_a_customer_sees_their_own_alerts_not_a_guests_made_with_their_address(
    store: Store,
) -> None:
    store.stock_alerts.subscribe(CLOCK, email=ADA)
    mine = store.as_shopper("ada").stock_alerts.subscribe(CLOCK, customer_id="ada")

    assert [a.id for a in store.as_shopper("ada").stock_alerts.for_customer("ada")] == [mine.id]


def test_a_customers_order_ends_the_promise_of_their_alert(store: Store, outbox: Outbox) -> None:
    mine = store.as_shopper("ada").stock_alerts.subscribe(CLOCK, customer_id="ada")
    store.stock_alerts.subscribe(CLOCK, email=BO)
    store.inventory.receive(CLOCK, "berlin", 1)
    assert told(outbox) == [ADA]

    buy(store, ADA, customer_id="ada")
    store.inventory.receive(CLOCK, "berlin", 1)

    assert told(outbox) == [ADA, BO]
    with store.storage.unit_of_work() as uow:
        assert uow.records(StockAlert).get(mine.id).status is AlertStatus.BOUGHT


def test_what_cannot_be_waited_for_is_refused(store: Store) -> None:
    store.catalog.add_product(
        Product(
            id="service", name="Engraving", variants=[Variant(sku="ENGRAVE", track_stock=False)]
        )
    )

    with pytest.raises(InStock) as in_stock:
        store.stock_alerts.subscribe("RETRO-MUG", email=ZOE)
    with pytest.raises(UnknownSku):
        store.stock_alerts.subscribe("NO-SUCH-SKU", email=ZOE)
    with pytest.raises(InvalidInput) as never_out:
        store.stock_alerts.subscribe("ENGRAVE", email=ZOE)
    with pytest.raises(NotFound) as nobody:
        store.stock_alerts.subscribe(CLOCK, customer_id="nobody")
    assert (in_stock.value.field, never_out.value.field, nobody.value.field) == (
        "sku",
        "sku",
        "customer_id",
    )


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({}, "customer_id"),
        ({"email": ZOE, "customer_id": "ada"}, "email"),
        ({"email": "not an address"}, "email"),
        ({"customer_id": "\x00"}, "customer_id"),
    ],
)
def test_a_subscription_names_one_shopper(
    store: Store, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        store.stock_alerts.subscribe(CLOCK, **arguments)
    assert caught.value.field == field


def test_a_shopper_subscribes_as_themselves_and_sees_their_own_alerts(store: Store) -> None:
    mine = store.as_shopper("ada").stock_alerts.subscribe(CLOCK, customer_id="ada")

    with pytest.raises(AccessDenied):
        store.as_shopper("bo").stock_alerts.subscribe(CLOCK, customer_id="ada")
    with pytest.raises(AccessDenied):
        store.as_shopper("bo").stock_alerts.for_customer("ada")
    with pytest.raises(AccessDenied):
        store.as_shopper("ada").stock_alerts.waiting(CLOCK)
    assert [a.id for a in store.as_shopper("ada").stock_alerts.for_customer("ada")] == [mine.id]
    staff = store.as_staff("sam", [Permission.STOCK])
    assert [a.id for a in staff.stock_alerts.waiting(CLOCK)] == [mine.id]


# --- a SKU nobody waits for -----------------------------------------------------------------


def queue_of(shop: Store, sku: str = CLOCK) -> AlertQueue:
    with shop.storage.unit_of_work() as uow:
        return uow.records(AlertQueue).get(AlertQueue.key(sku))


def test_a_sku_nobody_waits_for_sleeps_and_one_who_subscribes_wakes_it(
    store: Store, outbox: Outbox, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.stock_alerts.subscribe(CLOCK, email=ZOE)
    store.inventory.receive(CLOCK, "berlin", 1)
    buy(store, ZOE)

    assert store.stock_alerts.sweep() == 0
    assert not queue_of(store).asleep
    clock.advance(SETTLE)
    assert store.stock_alerts.sweep() == 0
    assert queue_of(store).asleep

    bo = store.stock_alerts.subscribe(CLOCK, email=BO)
    assert queue_of(store).awake
    # The stock arrives unseen: only the sweep tells.
    monkeypatch.setattr(StockAlertService, "on_events", lambda self, events: 0)
    store.inventory.receive(CLOCK, "berlin", 1)
    monkeypatch.undo()
    assert store.stock_alerts.sweep() == 1
    assert told(outbox) == [ZOE, BO]
    assert store.stock_alerts.unsubscribe(bo.id).status is AlertStatus.NOTIFIED


# --- two sweeps at once ----------------------------------------------------------------------


@pytest.fixture(params=backends(memory=False))
def crowded(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Store, Outbox]]:
    outbox = Outbox()
    with opened(request.param, tmp_path, outbox, clock=FixedClock(START)) as shop:
        shop_with(shop)
        for n in range(10):
            shop.stock_alerts.subscribe(CLOCK, email=f"shopper{n}@example.com")
        # The stock arrives unseen: only the sweeps tell.
        monkeypatch.setattr(StockAlertService, "on_events", lambda self, events: 0)
        shop.inventory.receive(CLOCK, "berlin", 4)
        monkeypatch.undo()
        yield shop, outbox


def test_two_sweeps_at_once_tell_no_more_than_there_are_units(
    crowded: tuple[Store, Outbox],
) -> None:
    shop, outbox = crowded
    start = threading.Barrier(2, timeout=10)
    counts: list[int] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait()
            counts.append(shop.stock_alerts.sweep())
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    counts.append(shop.stock_alerts.sweep())

    assert sum(counts) == 4
    assert told(outbox) == [f"shopper{n}@example.com" for n in range(4)]


# --- many subscribing at once -------------------------------------------------------------


def at_once(work: Callable[[int], object], count: int) -> list[BaseException]:
    """Run ``work(0)`` to ``work(count - 1)`` in threads started together; the
    failures, each thread bounded in time."""
    start = threading.Barrier(count, timeout=30)
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as error:  # reported by the caller
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return failures


@pytest.fixture(params=backends(memory=False))
def sold_out(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Outbox]]:
    outbox = Outbox()
    with opened(request.param, tmp_path, outbox, clock=FixedClock(START)) as shop:
        yield shop_with(shop), outbox


def test_shoppers_subscribing_at_once_all_wait_and_sweeps_at_once_tell_no_more_than_the_units(
    sold_out: tuple[Store, Outbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, outbox = sold_out
    shoppers, sweepers, units = 24, 3, 5
    counts: list[int] = []

    def subscribe_or_sweep(n: int) -> None:
        if n < shoppers:
            shop.stock_alerts.subscribe(CLOCK, email=f"shopper{n}@example.com")
        else:  # nothing in stock yet: finds the line empty, or tells nobody
            counts.append(shop.stock_alerts.sweep())

    assert at_once(subscribe_or_sweep, shoppers + sweepers) == []
    line = [a.email for a in shop.stock_alerts.waiting(CLOCK)]
    assert sorted(line) == sorted(f"shopper{n}@example.com" for n in range(shoppers))

    monkeypatch.setattr(StockAlertService, "on_events", lambda self, events: 0)
    shop.inventory.receive(CLOCK, "berlin", units)
    monkeypatch.undo()
    assert at_once(lambda n: counts.append(shop.stock_alerts.sweep()), 4) == []
    counts.append(shop.stock_alerts.sweep())

    assert sum(counts) == units
    assert told(outbox) == line[:units]
    assert [a.email for a in shop.stock_alerts.waiting(CLOCK)] == line[units:]
