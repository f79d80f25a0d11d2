from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from commercekit import (
    Money,
)
from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.orders import (
    OrderPaymentStatus,
    OrderStatus,
)
from commercekit.domain.payments import PaymentStatus
from commercekit.errors import (
    CheckoutIncomplete,
    GatewayError,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    PriceChanged,
    RequestInProgress,
    UnknownGateway,
)
from commercekit.store import Store

from .conftest import ADDRESS, ready_cart


def gateway(store: Store) -> TestPaymentGateway:
    found = store.gateway("test")
    assert isinstance(found, TestPaymentGateway)
    return found


def authorize_calls(store: Store) -> list[str]:
    return [key for operation, key in gateway(store).calls if operation == "authorize"]


# --- input at the boundary ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "US"}, "region"),
        ({"postal_code": "1011"}, "postal_code"),
        ({"name": ""}, "name"),
        ({"city": "x" * 201}, "city"),
        ({"price": "0.01"}, "price"),
    ],
)
def test_a_bad_address_names_its_field_and_changes_nothing(
    store: Store, change: dict[str, str], field: str
) -> None:
    cart = ready_cart(store)
    before = store.checkout.summary(cart.token).checkout.shipping_address
    with pytest.raises(InvalidInput) as caught:
        store.checkout.set_shipping_address(cart.token, {**ADDRESS, **change})
    assert caught.value.field == field
    assert store.checkout.summary(cart.token).checkout.shipping_address == before


def test_input_models_refuse_a_price_total_or_status_slipped_in(store: Store) -> None:
    cart = ready_cart(store)
    for sneaky in ({"total": "0.00"}, {"status": "paid"}):
        with pytest.raises(InvalidInput) as caught:
            store.checkout.set_contact(cart.token, {"email": "zoe@example.com", **sneaky})
        assert caught.value.field == next(iter(sneaky))


def test_unicode_names_are_kept_intact(store: Store) -> None:
    cart = ready_cart(store)
    store.checkout.set_shipping_address(cart.token, {**ADDRESS, "name": "Đặng Thị Ngọc Hân"})
    assert store.checkout.summary(cart.token).checkout.shipping_address.name == "Đặng Thị Ngọc Hân"  # type: ignore[union-attr]


def test_an_unknown_gateway_is_refused_with_the_one_error_for_it(store: Store) -> None:
    cart = ready_cart(store)
    with pytest.raises(UnknownGateway) as caught:
        store.checkout.set_payment_method(cart.token, {"gateway": "acme", "token": "tok_success"})
    assert (caught.value.code, caught.value.field) == ("unknown_gateway", "payment_method")
    assert isinstance(caught.value, NotFound)
    with pytest.raises(UnknownGateway) as configured:
        Store.open("memory://", config={"gateways": {"main": {"plugin": "acme"}}})
    assert configured.value.code == caught.value.code


def test_what_is_missing_is_listed(store: Store) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-CLOCK")
    summary = store.checkout.summary(cart.token)
    assert summary.missing == (
        "email",
        "shipping_address",
        "billing_address",
        "shipping_method",
        "payment_method",
    )
    with pytest.raises(CheckoutIncomplete) as caught:
        store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert caught.value.missing == summary.missing
    assert caught.value.code == "checkout_incomplete"


def test_digital_goods_need_no_shipping(store: Store) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "CLOCK-PDF")
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_billing_address(cart.token, ADDRESS)
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    summary = store.checkout.summary(cart.token)
    assert summary.missing == ()
    assert not summary.requires_shipping
    order = store.checkout.place_order(cart.token, idempotency_key="pdf")
    assert order.status is OrderStatus.OPEN
    assert order.shipping is None
    assert order.shipping_address is None


# --- placing the order -------------------------------------------------------------


def test_an_order_is_priced_on_the_server_and_frozen_at_the_price_paid(store: Store) -> None:
    cart = ready_cart(store)
    shown = store.checkout.summary(cart.token).breakdown
    order = store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert order.status is OrderStatus.OPEN
    assert order.payment_status is OrderPaymentStatus.AUTHORIZED
    assert order.totals.grand_total_units == shown.grand_total_units
    # 2 x 12.00 + 40.00 + 4.90 shipping, plus 19% VAT on the goods (shipping untaxed)
    assert order.grand_total == Money("81.06", "EUR")
    assert [(line.sku, line.quantity, line.unit_price_units) for line in order.lines] == [
        ("RETRO-MUG", 2, 1200),
        ("RETRO-CLOCK", 1, 4000),
    ]
    store.catalog.set_price("eu", "RETRO-MUG", Money("99.00", "EUR"))
    assert store.orders.get(order.id).lines[0].unit_price_units == 1200
    with pytest.raises(NotFound):
        store.carts.get(cart.token)  # the cart became the order
    assert store.orders.by_token(order.token).id == order.id
    with pytest.raises(NotFound):
        store.orders.by_token("")


def test_a_changed_price_is_refused_unless_accepted(store: Store) -> None:
    cart = ready_cart(store)
    store.catalog.set_price("eu", "RETRO-CLOCK", Money("45.00", "EUR"))
    with pytest.raises(PriceChanged) as caught:
        store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert caught.value.quoted_units == 8106
    assert caught.value.current_units == 8106 + 595  # 5.00 more, plus 19% VAT
    assert authorize_calls(store) == []
    order = store.checkout.place_order(cart.token, idempotency_key="k-2", accept_price_change=True)
    assert order.totals.grand_total_units == 8701


def test_capture_at_order_time_when_the_store_says_so(store_url: str, clock: FixedClock) -> None:
    from .conftest import CONFIG, seed

    with Store.open(
        store_url, config={**CONFIG, "capture": "immediate"}, clock=clock
    ) as sale_store:
        seed(sale_store)
        order = sale_store.checkout.place_order(ready_cart(sale_store).token, idempotency_key="k")
        assert order.payment_status is OrderPaymentStatus.CAPTURED
        assert (
            sale_store.payments.for_order(order.id).captured_units == order.totals.grand_total_units
        )


# --- idempotency -------------------------------------------------------------------


def test_the_same_key_twice_returns_the_same_order_and_charges_once(store: Store) -> None:
    cart = ready_cart(store)
    first = store.checkout.place_order(cart.token, idempotency_key="k-1")
    second = store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert second.id == first.id
    assert len(authorize_calls(store)) == 1
    assert len(store.payments.for_order(first.id).transactions) == 1


def test_the_same_key_for_another_request_is_a_conflict_with_no_side_effect(store: Store) -> None:
    first = store.checkout.place_order(ready_cart(store).token, idempotency_key="k-1")
    other = ready_cart(store)
    with pytest.raises(IdempotencyConflict) as caught:
        store.checkout.place_order(other.token, idempotency_key="k-1")
    assert caught.value.code == "idempotency_conflict"
    assert len(authorize_calls(store)) == 1
    assert store.carts.get(other.token).quantity_of("RETRO-MUG") == 2
    assert store.checkout.place_order(other.token, idempotency_key="k-2").id != first.id


def test_a_retry_after_a_gateway_error_completes_the_same_order(store: Store) -> None:
    cart = ready_cart(store, payment_token="tok_flaky")
    with pytest.raises(GatewayError) as caught:
        store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert caught.value.retryable
    with store.storage.unit_of_work() as uow:
        pending = uow.orders.find_by_idempotency_key("k-1")
    assert pending is not None
    assert pending.status is OrderStatus.PENDING_PAYMENT
    order = store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert order.id == pending.id
    assert order.status is OrderStatus.OPEN
    assert authorize_calls(store) == [f"{order.id}:authorize"] * 2
    assert store.payments.for_order(order.id).authorized_units == order.totals.grand_total_units


def test_the_same_key_at_the_same_time_places_one_order(store: Store) -> None:
    cart = ready_cart(store)
    barrier = threading.Barrier(4, timeout=10)

    def place() -> str:
        barrier.wait()
        return store.checkout.place_order(cart.token, idempotency_key="k-race").id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = [future.result(timeout=30) for future in [pool.submit(place) for _ in range(4)]]
    assert len(set(ids)) == 1
    payment = store.payments.for_order(ids[0])
    assert payment.authorized_units == payment.amount_units
    assert len([t for t in payment.transactions if t.status.value == "succeeded"]) == 1


# --- payment outcomes --------------------------------------------------------------


def test_a_declined_payment_cancels_the_order_and_releases_the_coupon(store: Store) -> None:
    cart = ready_cart(store, payment_token="tok_declined")
    store.carts.apply_coupon(cart.token, "KITCHEN")
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert order.status is OrderStatus.CANCELLED
    assert order.history[-1].detail == "payment failed: card_declined"
    assert store.payments.for_order(order.id).status is PaymentStatus.FAILED
    # The cart is still there to pay another way, and the one-use coupon is free again.
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    paid = store.checkout.place_order(cart.token, idempotency_key="k-2")
    assert paid.status is OrderStatus.OPEN
    assert paid.totals.discount_units == 240


def test_insufficient_funds_is_a_decline_with_its_reason(store: Store) -> None:
    order = store.checkout.place_order(
        ready_cart(store, payment_token="tok_insufficient_funds").token, idempotency_key="k"
    )
    assert order.status is OrderStatus.CANCELLED
    assert "insufficient_funds" in order.history[-1].detail


def test_a_payment_that_requires_action_waits_for_the_customer(store: Store) -> None:
    cart = ready_cart(store, payment_token="tok_requires_action")
    order = store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert store.payments.for_order(order.id).status is PaymentStatus.REQUIRES_ACTION
    confirmed = store.payments.confirm(order.token)
    assert confirmed.status is OrderStatus.OPEN
    assert confirmed.payment_status is OrderPaymentStatus.AUTHORIZED


# --- the crash between the order and the gateway -----------------------------------


class Crash(BaseException):
    """The process dying: not an Exception, so nothing on the way catches it."""


class CrashingGateway(TestPaymentGateway):
    """Dies before or after passing the authorization on to the real gateway."""

    __test__ = False

    def __init__(self, real: TestPaymentGateway, *, after: bool) -> None:
        self.__dict__.update(real.__dict__)
        self._after = after

    def authorize(self, request):  # type: ignore[no-untyped-def]
        if not self._after:
            raise Crash
        super().authorize(request)
        raise Crash


@pytest.mark.parametrize("after", [False, True], ids=["before-gateway", "after-gateway"])
def test_recovery_settles_orders_left_by_a_crash(
    store: Store, clock: FixedClock, after: bool
) -> None:
    real = gateway(store)
    cart = ready_cart(store)
    store.gateways["test"] = CrashingGateway(real, after=after)
    with pytest.raises(Crash):
        store.checkout.place_order(cart.token, idempotency_key="k-1")
    store.gateways["test"] = real
    with store.storage.unit_of_work() as uow:
        order = uow.orders.find_by_idempotency_key("k-1")
    assert order is not None
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert store.recovery.recover_pending_checkouts() == []  # too recent to touch
    clock.advance(timedelta(minutes=16))
    assert store.recovery.recover_pending_checkouts() == [order.id]
    settled = store.orders.get(order.id)
    if after:
        assert settled.status is OrderStatus.OPEN
        assert store.payments.for_order(order.id).authorized_units == order.totals.grand_total_units
    else:
        assert settled.status is OrderStatus.CANCELLED
        assert "never received" in settled.history[-1].detail
    assert store.recovery.recover_pending_checkouts() == []


def test_an_abandoned_required_action_is_cancelled_after_its_timeout(
    store: Store, clock: FixedClock
) -> None:
    order = store.checkout.place_order(
        ready_cart(store, payment_token="tok_requires_action").token, idempotency_key="k"
    )
    # The customer has as long as the gateway's session for the action: 15 minutes.
    clock.advance(timedelta(minutes=14))
    assert store.recovery.recover_pending_checkouts() == []
    clock.advance(timedelta(minutes=2))
    assert store.recovery.recover_pending_checkouts() == [order.id]
    assert store.orders.get(order.id).status is OrderStatus.CANCELLED


# --- events -------------------------------------------------------------------------


def test_subscribers_get_events_after_commit_and_one_failing_stops_nobody(
    store_url: str, clock: FixedClock
) -> None:
    from commercekit.hookspecs import hookimpl

    from .conftest import CONFIG, seed

    received: list[str] = []

    class Broken:
        @hookimpl
        def on_domain_event(self, event):  # type: ignore[no-untyped-def]
            raise RuntimeError("subscriber bug")

    class Recorder:
        @hookimpl
        def on_domain_event(self, event):  # type: ignore[no-untyped-def]
            received.append(event.name)

    with Store.open(store_url, config=CONFIG, clock=clock, plugins=[Broken(), Recorder()]) as shop:
        seed(shop)
        token = ready_cart(shop).token
        received.clear()  # what setting up the catalogue told
        order = shop.checkout.place_order(token, idempotency_key="k")
        assert shop.orders.get(order.id).status is OrderStatus.OPEN
        assert received == ["OrderPlaced", "PaymentAuthorized", "OrderPaid"]
        assert shop.storage.undelivered_events() == []
        assert shop.deliver_events() == 0


def run_together(*calls: Callable[[], object]) -> list[object]:
    barrier = threading.Barrier(len(calls), timeout=10)

    def run(call: Callable[[], object]) -> object:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [f.result(timeout=30) for f in [pool.submit(run, c) for c in calls]]


def test_a_caller_that_died_holding_the_authorization_holds_it_only_for_its_lease(
    store: Store, clock: FixedClock
) -> None:
    real = gateway(store)
    cart = ready_cart(store)
    store.gateways["test"] = CrashingGateway(real, after=False)
    with pytest.raises(Crash):
        store.checkout.place_order(cart.token, idempotency_key="k-1")
    store.gateways["test"] = real
    with pytest.raises(RequestInProgress):  # its claim has not run out: nobody else asks
        store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert [op for op, _ in real.calls].count("authorize") == 0
    clock.advance(timedelta(seconds=121))  # the lease is 120 seconds
    order = store.checkout.place_order(cart.token, idempotency_key="k-1")
    assert order.status is OrderStatus.OPEN
    assert [op for op, _ in real.calls].count("authorize") == 1


def test_a_caller_whose_gateway_was_out_of_reach_lets_a_retry_ask_at_once(
    store: Store,
) -> None:
    real = gateway(store)
    cart = ready_cart(store)

    class Unreachable(TestPaymentGateway):
        __test__ = False

        def __init__(self) -> None:
            self.__dict__.update(real.__dict__)

        def authorize(self, request):  # type: ignore[no-untyped-def]
            raise GatewayError("timed out")

    store.gateways["test"] = Unreachable()
    with pytest.raises(GatewayError):
        store.checkout.place_order(cart.token, idempotency_key="k-1")
    store.gateways["test"] = real
    assert store.checkout.place_order(cart.token, idempotency_key="k-1").status is OrderStatus.OPEN


def test_an_idempotency_key_answers_for_its_retention_then_is_free(
    store: Store, clock: FixedClock
) -> None:
    first = store.checkout.place_order(ready_cart(store).token, idempotency_key="k-1")
    clock.advance(timedelta(hours=23))
    other_cart = ready_cart(store)
    # Within the retention, the key answers with its order, whichever cart asks.
    with pytest.raises(IdempotencyConflict):
        store.checkout.place_order(other_cart.token, idempotency_key="k-1")
    clock.advance(timedelta(hours=1))  # a day, the default retention
    second = store.checkout.place_order(other_cart.token, idempotency_key="k-1")
    assert second.id != first.id
    assert second.status is OrderStatus.OPEN
    assert store.orders.get(first.id).status is OrderStatus.OPEN  # the first is untouched
