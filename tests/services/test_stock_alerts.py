"""Back-in-stock alerts on a real store (memory, a SQLite file, and PostgreSQL when
there is one): shoppers subscribe to a sold-out variant and are told when stock is
received, first come first served, as many as there are units (or all, when the
store says so); a unit kept for a shopper who does not buy goes to the next in line;
two sweeps at once tell no more than there are units."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from commercekit import Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.access import Permission
from commercekit.domain.errors import AccessDenied, InStock, InvalidInput, NotFound, UnknownSku
from commercekit.domain.marketing.stock_alerts import AlertStatus, StockAlert
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


def buy(shop: Store, email: str, sku: str = CLOCK) -> None:
    cart = shop.carts.create("EUR")
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
    assert (zoe.number, ada.number, bo.number) == (1, 2, 3)

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


def test_asking_twice_waits_once_and_a_cancelled_alert_is_not_told(
    store: Store, outbox: Outbox
) -> None:
    first = store.stock_alerts.subscribe(CLOCK, email=ZOE)
    again = store.stock_alerts.subscribe(CLOCK, email="Zoe+shop@example.com")
    bo = store.stock_alerts.subscribe(CLOCK, email=BO)
    assert again.id == first.id

    cancelled = store.as_shopper().stock_alerts.unsubscribe(first.id)
    store.inventory.receive(CLOCK, "berlin", 5)

    assert cancelled.status is AlertStatus.CANCELLED
    assert told(outbox) == [BO]
    assert store.stock_alerts.unsubscribe(bo.id).status is AlertStatus.NOTIFIED


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
