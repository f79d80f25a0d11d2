"""Stock through checkout, on memory, a SQLite file and PostgreSQL, including races
of concurrent checkouts (bounded in count and time)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from commercekit import (
    Coupon,
    Money,
    PercentOffLines,
    Product,
    Promotion,
    Variant,
)
from commercekit.adapters.clock import FixedClock
from commercekit.domain.inventory import (
    StockLocation,
    StockPolicy,
    StockRule,
)
from commercekit.domain.orders import OrderStatus
from commercekit.errors import (
    CouponRejected,
    InsufficientStock,
    InvalidTransition,
)
from commercekit.store import Store
from tests.conftest import fresh_postgres_schema

from .conftest import ADDRESS, CONFIG, START, seed
from .test_checkout import authorize_calls

RACERS = 32


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    clock = FixedClock(START)
    if request.param == "postgresql":
        with fresh_postgres_schema() as url, Store.open(url, config=CONFIG, clock=clock) as store:
            stock(store)
            yield store
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'shop.db'}"
    with Store.open(url, config=CONFIG, clock=clock) as store:
        stock(store)
        yield store


def stock(store: Store) -> None:
    seed(store)
    store.catalog.add_product(
        Product(id="lamp", name="Lava lamp", variants=[Variant(sku="LAVA-LAMP")])
    )
    store.catalog.publish("lamp")
    store.catalog.set_price("eu", "LAVA-LAMP", Money("25.00", "EUR"))
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin warehouse", priority=1))
    store.inventory.add_location(StockLocation(id="hamburg", name="Hamburg shop", priority=2))
    store.inventory.receive("RETRO-CLOCK", "berlin", 10)
    store.inventory.receive("RETRO-MUG", "berlin", 100)
    store.inventory.receive("LAVA-LAMP", "hamburg", 100)


def ready(
    store: Store, lines: dict[str, int], *, token: str = "tok_success", coupon: str | None = None
) -> str:
    cart = store.carts.create("EUR")
    for sku, quantity in lines.items():
        store.carts.add(cart.token, sku, quantity)
    if coupon:
        store.carts.apply_coupon(cart.token, coupon)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": token})
    store.checkout.summary(cart.token)
    return cart.token


def race(calls: list[Callable[[], object]]) -> list[object]:
    """Run every call at once (a barrier starts them together); each result is the
    value returned or the exception raised."""
    barrier = threading.Barrier(len(calls), timeout=30)

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        try:
            return call()
        except Exception as error:  # the outcome under test
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result(timeout=120) for future in [pool.submit(run, c) for c in calls]]


def place(store: Store, token: str, key: str) -> Callable[[], object]:
    return lambda: store.checkout.place_order(token, idempotency_key=key)


def test_checkout_reserves_stock_and_payment_failure_releases_it(shop: Store) -> None:
    order = shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 3}), idempotency_key="a")
    assert order.status is OrderStatus.OPEN
    (item,) = shop.inventory.stock("RETRO-CLOCK")
    assert (item.on_hand, item.reserved, item.available) == (10, 3, 7)
    declined = shop.checkout.place_order(
        ready(shop, {"RETRO-CLOCK": 2}, token="tok_declined"), idempotency_key="b"
    )
    assert declined.status is OrderStatus.CANCELLED
    assert shop.inventory.available("RETRO-CLOCK") == 7
    shop.orders.cancel(order.id, "changed their mind")
    assert shop.inventory.available("RETRO-CLOCK") == 10


def test_shipping_consumes_the_reservation_into_a_sale(shop: Store) -> None:
    order = shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 4}), idempotency_key="a")
    shop.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert shop.inventory.consume(order.id) == 1
    (item,) = shop.inventory.stock("RETRO-CLOCK")
    assert (item.on_hand, item.reserved) == (6, 0)
    movements = shop.inventory.movements("RETRO-CLOCK", "berlin")
    assert sum(m.quantity for m in movements) == item.on_hand
    (sale,) = [m for m in movements if m.quantity < 0]
    assert sale.at == START + timedelta(days=2)  # the store's clock, not the wall clock
    assert shop.orders.get(order.id).shipped
    with pytest.raises(InvalidTransition):
        shop.inventory.consume(order.id)  # once only
    with pytest.raises(InvalidTransition):
        shop.orders.cancel(order.id, "too late: it shipped")
    assert shop.inventory.stock("RETRO-CLOCK")[0].on_hand == 6


def test_too_little_stock_is_refused_and_writes_nothing(shop: Store) -> None:
    token = ready(shop, {"RETRO-CLOCK": 11})
    with pytest.raises(InsufficientStock) as caught:
        shop.checkout.place_order(token, idempotency_key="a")
    assert caught.value.sku == "RETRO-CLOCK"
    assert caught.value.code == "insufficient_stock"
    assert authorize_calls(shop) == []
    with shop.storage.unit_of_work() as uow:
        assert uow.orders.find_by_idempotency_key("a") is None
    assert shop.inventory.available("RETRO-CLOCK") == 10


def test_stock_that_is_truly_gone_is_refused_at_once_not_planned_again(
    shop: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = ready(shop, {"RETRO-CLOCK": 11})
    opened = []
    open_unit_of_work = shop.storage.unit_of_work

    def counted() -> object:
        opened.append(1)
        return open_unit_of_work()

    monkeypatch.setattr(shop.storage, "unit_of_work", counted)
    with pytest.raises(InsufficientStock):
        shop.checkout.place_order(token, idempotency_key="a")
    assert len(opened) == 1  # only a refusal by the commit means another order won


def test_an_expired_reservation_returns_its_stock(shop: Store) -> None:
    waiting = shop.checkout.place_order(
        ready(shop, {"RETRO-CLOCK": 10}, token="tok_requires_action"), idempotency_key="a"
    )
    assert waiting.status is OrderStatus.PENDING_PAYMENT
    with pytest.raises(InsufficientStock):
        shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 1}), idempotency_key="b")
    assert shop.inventory.release_expired_reservations() == 0
    # While the customer may still complete the action (the gateway's session for
    # it, 15 minutes), the stock waits for them; not a moment longer.
    shop.runtime.clock.advance(timedelta(minutes=14))  # type: ignore[attr-defined]
    assert shop.inventory.release_expired_reservations() == 0
    shop.runtime.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    assert shop.inventory.release_expired_reservations() == 1
    assert shop.orders.get(waiting.id).status is OrderStatus.CANCELLED
    assert shop.inventory.available("RETRO-CLOCK") == 10
    bought = shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 1}), idempotency_key="c")
    assert bought.status is OrderStatus.OPEN


def test_an_expired_hold_whose_payment_went_through_is_settled_not_cancelled(
    shop: Store,
) -> None:
    from .test_checkout import Crash, CrashingGateway, gateway

    real = gateway(shop)
    token = ready(shop, {"RETRO-CLOCK": 4})
    shop.gateways["test"] = CrashingGateway(real, after=True)
    with pytest.raises(Crash):
        shop.checkout.place_order(token, idempotency_key="a")
    shop.gateways["test"] = real
    shop.runtime.clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    # The gateway authorized before the crash: the order is paid, and keeps its stock.
    assert shop.inventory.release_expired_reservations() == 0
    with shop.storage.unit_of_work() as uow:
        order = uow.orders.find_by_idempotency_key("a")
    assert order is not None
    assert order.status is OrderStatus.OPEN
    (item,) = shop.inventory.stock("RETRO-CLOCK")
    assert item.reserved == 4
    shop.runtime.clock.advance(timedelta(days=3))  # type: ignore[attr-defined]
    assert shop.inventory.release_expired_reservations() == 0


def test_stock_counts_and_shrinkage_record_what_is_gone_even_when_promised(shop: Store) -> None:
    shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 10}), idempotency_key="a")
    shop.inventory.count("RETRO-CLOCK", "berlin", 8)
    (item,) = shop.inventory.stock("RETRO-CLOCK")
    assert (item.on_hand, item.reserved, item.available) == (8, 10, -2)
    with pytest.raises(InsufficientStock):
        shop.inventory.adjust("RETRO-CLOCK", "berlin", -9, reason="flood")


def test_a_shipped_order_cannot_be_cancelled_nor_an_unpaid_one_shipped(shop: Store) -> None:
    from commercekit.domain.errors import InvalidTransition

    waiting = shop.checkout.place_order(
        ready(shop, {"RETRO-CLOCK": 1}, token="tok_requires_action"), idempotency_key="a"
    )
    with pytest.raises(InvalidTransition):
        shop.inventory.consume(waiting.id)
    paid = shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 1}), idempotency_key="b")
    shop.inventory.consume(paid.id)
    with pytest.raises(InvalidTransition):
        shop.orders.cancel(paid.id, "too late")


def test_backorder_debt_never_exceeds_its_limit_across_locations(shop: Store) -> None:
    shop.inventory.set_rule(
        StockRule(sku="LAVA-LAMP", policy=StockPolicy.BACKORDER, backorder_limit=2)
    )
    shop.inventory.adjust("LAVA-LAMP", "hamburg", -97, reason="recount")  # 3 left in Hamburg
    tokens = [ready(shop, {"LAVA-LAMP": 1}) for _ in range(12)]
    outcomes = race([place(shop, token, f"k-{n}") for n, token in enumerate(tokens)])
    placed = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(placed) == 5, outcomes
    assert shop.inventory.available("LAVA-LAMP") == -2


def test_a_paid_order_keeps_its_stock_past_the_hold(shop: Store) -> None:
    shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 2}), idempotency_key="a")
    shop.runtime.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert shop.inventory.release_expired_reservations() == 0
    assert shop.inventory.available("RETRO-CLOCK") == 8


def test_backorders_sell_beyond_stock_up_to_their_limit(shop: Store) -> None:
    shop.inventory.set_rule(
        StockRule(sku="RETRO-CLOCK", policy=StockPolicy.BACKORDER, backorder_limit=5)
    )
    order = shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 15}), idempotency_key="a")
    assert order.status is OrderStatus.OPEN
    assert shop.inventory.available("RETRO-CLOCK") == -5
    with pytest.raises(InsufficientStock):
        shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 1}), idempotency_key="b")


def test_stock_is_taken_from_the_preferred_location_first(shop: Store) -> None:
    shop.inventory.receive("RETRO-CLOCK", "hamburg", 5)
    shop.checkout.place_order(ready(shop, {"RETRO-CLOCK": 12}), idempotency_key="a")
    by_place = {item.location_id: item.reserved for item in shop.inventory.stock("RETRO-CLOCK")}
    assert by_place == {"berlin": 10, "hamburg": 2}


def test_fewest_locations_ships_from_one_place_when_it_can(tmp_path: Path) -> None:
    config = {**CONFIG, "allocation_strategy": "fewest_locations"}
    with Store.open("memory://", config=config, clock=FixedClock(START)) as shop:
        stock(shop)
        shop.inventory.receive("RETRO-CLOCK", "hamburg", 5)
        shop.inventory.receive("RETRO-MUG", "hamburg", 5)
        # Berlin comes first but lacks clocks enough; Hamburg has both lines whole.
        shop.inventory.adjust("RETRO-CLOCK", "berlin", -8, reason="recall")
        shop.checkout.place_order(
            ready(shop, {"RETRO-CLOCK": 3, "RETRO-MUG": 2}), idempotency_key="a"
        )
        held = {(i.sku, i.location_id): i.reserved for i in shop.inventory.stock("RETRO-CLOCK")}
        held |= {(i.sku, i.location_id): i.reserved for i in shop.inventory.stock("RETRO-MUG")}
        assert held == {
            ("RETRO-CLOCK", "berlin"): 0,
            ("RETRO-CLOCK", "hamburg"): 3,
            ("RETRO-MUG", "berlin"): 0,
            ("RETRO-MUG", "hamburg"): 2,
        }


def test_a_bundle_draws_on_its_components_together_with_their_own_lines(shop: Store) -> None:
    shop.catalog.add_product(
        Product(
            id="gift-set",
            name="Clock and mugs gift set",
            variants=[Variant(sku="GIFT-SET", components={"RETRO-CLOCK": 1, "RETRO-MUG": 2})],
        )
    )
    shop.catalog.publish("gift-set")
    shop.catalog.set_price("eu", "GIFT-SET", Money("55.00", "EUR"))
    shop.checkout.place_order(ready(shop, {"GIFT-SET": 2, "RETRO-CLOCK": 1}), idempotency_key="a")
    assert shop.inventory.available("RETRO-CLOCK") == 10 - 3
    assert shop.inventory.available("RETRO-MUG") == 100 - 4
    assert shop.inventory.stock("GIFT-SET") == []  # a bundle keeps no stock of its own
    # Six more sets and two clocks need 8 clocks; 7 are left, counted together.
    with pytest.raises(InsufficientStock) as caught:
        shop.checkout.place_order(
            ready(shop, {"GIFT-SET": 6, "RETRO-CLOCK": 2}), idempotency_key="b"
        )
    assert caught.value.sku == "RETRO-CLOCK"


# --- races ------------------------------------------------------------------------------


def test_thirty_two_checkouts_race_for_the_last_ten_units(shop: Store) -> None:
    tokens = [ready(shop, {"RETRO-CLOCK": 1}) for _ in range(RACERS)]
    outcomes = race([place(shop, token, f"k-{n}") for n, token in enumerate(tokens)])
    placed = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert len(placed) == 10, outcomes
    assert len(refused) == RACERS - 10, outcomes
    (item,) = shop.inventory.stock("RETRO-CLOCK")
    assert (item.on_hand, item.reserved, item.available) == (10, 10, 0)
    # Stock is reserved before payment: no refused checkout ever reached the gateway.
    assert len(authorize_calls(shop)) == 10


def test_a_coupon_with_one_use_left_is_used_exactly_once(shop: Store) -> None:
    shop.catalog.add_promotion(
        Promotion(id="once", name="Once", benefit=PercentOffLines(50), requires_coupon=True)
    )
    shop.catalog.add_coupon(Coupon(code="ONCE", promotion_id="once", usage_limit=1))
    tokens = [ready(shop, {"RETRO-MUG": 1}, coupon="ONCE") for _ in range(RACERS)]
    outcomes = race([place(shop, token, f"k-{n}") for n, token in enumerate(tokens)])
    placed = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(placed) == 1, outcomes
    assert all(
        isinstance(o, CouponRejected) and o.reason == "limit_reached"
        for o in outcomes
        if o not in placed
    )
    with shop.storage.unit_of_work() as uow:
        assert uow.catalog.coupon_usage(["ONCE"], None)["ONCE"].total == 1


def test_two_skus_bought_in_opposite_orders_do_not_deadlock(shop: Store) -> None:
    half = RACERS // 2
    tokens = [ready(shop, {"RETRO-MUG": 1, "LAVA-LAMP": 1}) for _ in range(half)]
    tokens += [ready(shop, {"LAVA-LAMP": 1, "RETRO-MUG": 1}) for _ in range(half)]
    outcomes = race([place(shop, token, f"k-{n}") for n, token in enumerate(tokens)])
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert shop.inventory.available("RETRO-MUG") == 100 - RACERS
    assert shop.inventory.available("LAVA-LAMP") == 100 - RACERS
