"""Two requests at once on the same order or payment, on a SQLite file and on
PostgreSQL: nothing ships from a cancelled order, nothing is cancelled after it
shipped, captures and refunds never exceed what they may, and one cart makes one
order. The gateway answers slowly, so that each race has room to happen; every race
is run several times and bounded in time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from commercekit import Money, Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.orders import OrderStatus
from commercekit.errors import (
    CartAlreadyOrdered,
    CommerceError,
    InvalidTransition,
    NotFound,
    OperationInProgress,
    PaymentLimitExceeded,
    RequestInProgress,
)
from commercekit.hookspecs import hookimpl
from commercekit.store import Store
from tests.conftest import race_database

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ROUNDS = 6
DEADLINE = 30.0
ADDRESS = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}


class SlowGateway(TestPaymentGateway):
    """The test gateway, answering each call after a pause (a real one takes a while)."""

    __test__ = False
    pause = 0.03

    def authorize(self, *args: Any) -> Any:
        time.sleep(self.pause)
        return super().authorize(*args)

    def capture(self, *args: Any) -> Any:
        time.sleep(self.pause)
        return super().capture(*args)

    def void(self, *args: Any) -> Any:
        time.sleep(self.pause)
        return super().void(*args)

    def refund(self, *args: Any) -> Any:
        time.sleep(self.pause)
        return super().refund(*args)


class SlowGatewayPlugin:
    @hookimpl
    def register_payment_gateways(self, register):  # type: ignore[no-untyped-def]
        register("slow", lambda name, options: SlowGateway(name, **options))


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with race_database(request.param, str(tmp_path / "races.db")) as url:
        config = {
            "entry_point_plugins": False,
            "gateways": {"test": {"plugin": "slow", "options": {"webhook_secret": "whsec_races"}}},
            "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
        }
        with Store.open(
            url, config=config, clock=FixedClock(START), plugins=[SlowGatewayPlugin()]
        ) as opened:
            opened.catalog.add_product(
                Product(id="clock", name="Retro clock", variants=[Variant(sku="CLOCK")])
            )
            opened.catalog.publish("clock")
            opened.catalog.add_price_list("eu", "EUR")
            opened.catalog.set_price("eu", "CLOCK", Money("30.00", "EUR"))
            opened.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
            opened.inventory.receive("CLOCK", "berlin", 1000)
            yield opened


def ready_cart(store: Store, quantity: int = 1) -> str:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "CLOCK", quantity)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return cart.token


def paid(store: Store, key: str) -> str:
    order = store.checkout.place_order(ready_cart(store), idempotency_key=key)
    assert order.status is OrderStatus.OPEN
    return order.id


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


def at_gateway(store: Store, order_id: str) -> tuple[int, int, int, bool]:
    """What the gateway itself holds for the order: authorized, captured, refunded,
    voided."""
    gateway = store.gateway("test")
    assert isinstance(gateway, TestPaymentGateway)
    reference = store.payments.for_order(order_id).reference
    account = gateway._accounts[str(reference)]
    return account.authorized, account.captured, account.refunded, account.voided


def ledger(store: Store, order_id: str) -> tuple[int, int, int, bool]:
    payment = store.payments.for_order(order_id)
    return (
        payment.authorized_units,
        payment.captured_units,
        payment.refunded_units,
        payment.voided,
    )


def test_cancel_and_ship_at_once_one_wins_and_nothing_ships_from_a_cancelled_order(
    store: Store,
) -> None:
    outcomes = set()
    for n in range(ROUNDS):
        order_id = paid(store, f"ship-{n}")
        cancelled, shipped = race(
            partial(store.orders.cancel, order_id, "changed their mind"),
            partial(store.inventory.consume, order_id),
        )
        order = store.orders.get(order_id)
        if isinstance(shipped, CommerceError):
            assert isinstance(shipped, InvalidTransition)
            assert order.status is OrderStatus.CANCELLED
            assert not order.shipped
            assert at_gateway(store, order_id)[3]  # the authorization was released
            outcomes.add("cancelled")
        else:
            assert isinstance(cancelled, InvalidTransition)
            assert order.shipped
            assert order.status is OrderStatus.OPEN
            assert not at_gateway(store, order_id)[3]  # the money is still there to take
            outcomes.add("shipped")
        assert ledger(store, order_id) == at_gateway(store, order_id)
    on_hand = store.inventory.stock("CLOCK")[0].on_hand
    moves = store.inventory.movements("CLOCK", "berlin")
    assert on_hand == sum(m.quantity for m in moves)
    assert store.inventory.stock("CLOCK")[0].reserved == 0
    assert outcomes


def test_cancel_and_fulfil_at_once_one_wins(store: Store) -> None:
    for n in range(ROUNDS):
        order_id = paid(store, f"fulfil-{n}")
        cancelled, fulfilled = race(
            partial(store.orders.cancel, order_id, "changed their mind"),
            partial(store.orders.record_fulfilment, order_id, {"CLOCK": 1}),
        )
        order = store.orders.get(order_id)
        wins = [not isinstance(result, CommerceError) for result in (cancelled, fulfilled)]
        assert wins.count(True) == 1, (cancelled, fulfilled)
        if wins[0]:
            assert order.status is OrderStatus.CANCELLED
            assert order.fulfilled == {}
            assert at_gateway(store, order_id)[3]
        else:
            assert order.status is OrderStatus.OPEN
            assert order.fulfilled == {"CLOCK": 1}
            assert not at_gateway(store, order_id)[3]


def test_capture_against_cancel_never_charges_a_cancelled_order(store: Store) -> None:
    for n in range(ROUNDS):
        order_id = paid(store, f"capture-{n}")
        captured, cancelled = race(
            partial(store.payments.capture, order_id, Money("30.00", "EUR")),
            partial(store.orders.cancel, order_id, "out of stock after all"),
        )
        order = store.orders.get(order_id)
        authorized, taken, given_back, voided = at_gateway(store, order_id)
        assert ledger(store, order_id) == (authorized, taken, given_back, voided)
        if order.status is OrderStatus.CANCELLED:
            # Whatever was taken was given back, and nothing stays authorized.
            assert taken == given_back
            assert voided or taken == authorized
            assert isinstance(captured, InvalidTransition | OperationInProgress)
        else:
            assert isinstance(cancelled, OperationInProgress | InvalidTransition)
            assert taken == 3000
            assert not voided


def test_two_refunds_at_once_each_counts_the_other(store: Store) -> None:
    for n in range(ROUNDS):
        order_id = paid(store, f"refund-{n}")
        store.payments.capture(order_id)
        total = store.payments.for_order(order_id).captured_units
        first, second = race(
            partial(store.payments.refund, order_id, Money("10.00", "EUR")),
            partial(store.payments.refund, order_id, Money("10.00", "EUR")),
        )
        assert not isinstance(first, CommerceError)
        assert not isinstance(second, CommerceError)
        assert ledger(store, order_id)[2] == at_gateway(store, order_id)[2] == 2000
        # 14.90 is left: of two refunds of 10.00 at once, one must be refused.
        too_much, rest = race(
            partial(store.payments.refund, order_id, Money("10.00", "EUR")),
            partial(store.payments.refund, order_id, Money("10.00", "EUR")),
        )
        refused = [r for r in (too_much, rest) if isinstance(r, CommerceError)]
        assert len(refused) == 1
        assert isinstance(refused[0], PaymentLimitExceeded)
        assert ledger(store, order_id)[2] == at_gateway(store, order_id)[2] == 3000
        assert store.payments.for_order(order_id).refunded_units <= total


def test_two_captures_at_once_never_take_more_than_was_authorized(store: Store) -> None:
    for n in range(ROUNDS):
        order_id = paid(store, f"captures-{n}")
        results = race(
            partial(store.payments.capture, order_id, Money("20.00", "EUR")),
            partial(store.payments.capture, order_id, Money("20.00", "EUR")),
        )
        refused = [r for r in results if isinstance(r, CommerceError)]
        assert len(refused) == 1
        assert isinstance(refused[0], PaymentLimitExceeded)
        assert ledger(store, order_id)[1] == at_gateway(store, order_id)[1] == 2000


def test_two_orders_for_one_cart_at_once_make_one_order(store: Store) -> None:
    for n in range(ROUNDS):
        token = ready_cart(store)
        first, second = race(
            partial(store.checkout.place_order, token, idempotency_key=f"one-{n}"),
            partial(store.checkout.place_order, token, idempotency_key=f"two-{n}"),
        )
        placed = [r for r in (first, second) if not isinstance(r, CommerceError)]
        refused = [r for r in (first, second) if isinstance(r, CommerceError)]
        assert len(placed) == 1, (first, second)
        assert len(refused) == 1
        # Refused while the first awaits payment, or, once it is paid, the cart is gone.
        assert isinstance(refused[0], CartAlreadyOrdered | NotFound)
        assert refused[0].field == "token"
    gateway = store.gateway("test")
    assert isinstance(gateway, TestPaymentGateway)
    assert [op for op, _ in gateway.calls].count("authorize") == ROUNDS


STORM = 40


def test_a_storm_of_one_key_makes_one_order_and_asks_the_gateway_once(store: Store) -> None:
    token = ready_cart(store)
    results = race(*[partial(store.checkout.place_order, token, idempotency_key="storm")] * STORM)
    orders = {r.id for r in results if not isinstance(r, CommerceError)}
    refused = [r for r in results if isinstance(r, CommerceError)]
    assert len(orders) == 1, refused
    # Those that waited longer than the store lets them are told to ask again.
    assert all(isinstance(r, RequestInProgress) for r in refused), refused
    gateway = store.gateway("test")
    assert isinstance(gateway, TestPaymentGateway)
    assert [op for op, _ in gateway.calls].count("authorize") == 1
    again = store.checkout.place_order(token, idempotency_key="storm")
    assert again.id in orders
    assert again.status is OrderStatus.OPEN


def test_a_storm_of_one_capture_key_captures_once(store: Store) -> None:
    order_id = paid(store, "capture-storm")
    amount = Money("10.00", "EUR")
    capture = partial(store.payments.capture, order_id, amount, idempotency_key="cap-1")
    results = race(*[capture] * 12)
    assert not [r for r in results if isinstance(r, CommerceError)]
    gateway = store.gateway("test")
    assert isinstance(gateway, TestPaymentGateway)
    assert [op for op, _ in gateway.calls].count("capture") == 1
    assert ledger(store, order_id)[1] == at_gateway(store, order_id)[1] == 1000


def test_a_storm_of_confirmations_asks_the_gateway_once(store: Store) -> None:
    token = ready_cart(store)
    store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_requires_action"})
    waiting = store.checkout.place_order(token, idempotency_key="confirm-storm")
    assert waiting.status is OrderStatus.PENDING_PAYMENT
    results = race(*[partial(store.payments.confirm, waiting.token)] * 12)
    opened = [r for r in results if not isinstance(r, CommerceError)]
    # A caller that arrives once it is all settled is told there is nothing to confirm.
    assert all(isinstance(r, InvalidTransition) for r in results if r not in opened)
    assert opened
    assert all(r.status is OrderStatus.OPEN for r in opened)
    gateway = store.gateway("test")
    assert isinstance(gateway, TestPaymentGateway)
    assert [op for op, _ in gateway.calls].count("confirm") == 1
    assert ledger(store, waiting.id)[0] == at_gateway(store, waiting.id)[0]
