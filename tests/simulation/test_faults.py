"""Every money-moving operation, failed at each injected point, is brought to all or
nothing by the sweep: the order is open and paid with its stock held, or cancelled
with nothing held and nothing charged; the ledger is what the gateway did; and
every event is delivered at least once.

The three faults of the issue, for place_order, capture, refund, void and cancel:

- the commit fails after the gateway succeeded (the gateway did it, the store never
  recorded it);
- the gateway times out after charging (it did it, the caller sees a timeout);
- the process dies between the commit and the delivery of its events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from commercekit import Money, Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.events import DomainEvent
from commercekit.domain.orders import OrderStatus
from commercekit.errors import GatewayError
from commercekit.hookspecs import hookimpl
from commercekit.services.payments import authorization_key
from commercekit.store import Store
from commercekit.testing.faults import Crash, Fault, InjectedTimeout, Point, inject
from commercekit.testing.simulate import Account, gateway_books, simulation_store

SKU = "RETRO-CLOCK"
CUSTOMER = "zoe"
ADDRESS = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}
PAST_THE_TIMEOUTS = timedelta(minutes=16)


class Subscriber:
    """Every event delivered, in order."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    @hookimpl
    def on_domain_event(self, event: DomainEvent) -> None:
        self.events.append(event)

    def names_for(self, order_id: str) -> list[str]:
        return [e.name for e in self.events if getattr(e, "order_id", None) == order_id]


@attrs.define
class Shop:
    store: Store
    clock: FixedClock
    gateway: TestPaymentGateway
    subscriber: Subscriber

    def books(self, order_id: str) -> Account:
        """What the gateway did for the order's payment."""
        answer = self.gateway.find(authorization_key(order_id))
        assert answer is not None, "the gateway never heard of the order"
        return gateway_books(self.gateway).get(answer.payment_reference, Account())

    def reserved(self) -> int:
        return sum(item.reserved for item in self.store.inventory.stock(SKU))

    def recover(self) -> None:
        """What a periodic job does: sweep, then deliver what is left in the outbox."""
        self.clock.advance(PAST_THE_TIMEOUTS)
        report = self.store.recovery.sweep()
        assert report.failed == ()
        self.store.deliver_events()


@pytest.fixture(params=["memory", "sqlite"])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shop]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'shop.db'}"
    subscriber = Subscriber()
    with simulation_store(url, plugins=[subscriber]) as store:
        store.catalog.add_product(
            Product(id="clock", name="Retro clock", variants=[Variant(sku=SKU)])
        )
        store.catalog.publish("clock")
        store.catalog.add_price_list("eu", "EUR")
        store.catalog.set_price("eu", SKU, Money("40.00", "EUR"))
        store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        store.inventory.receive(SKU, "berlin", 5)
        clock, gateway = store.runtime.clock, store.gateway("test")
        assert isinstance(clock, FixedClock)
        assert isinstance(gateway, TestPaymentGateway)
        yield Shop(store, clock, gateway, subscriber)


def ready_cart(shop: Shop) -> str:
    """A cart of two clocks, checked out as far as placing the order."""
    store = shop.store
    token = store.carts.create("EUR", customer_id=CUSTOMER).token
    store.carts.add(token, SKU, 2)
    store.checkout.set_contact(token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(token, ADDRESS)
    store.checkout.choose_shipping(token, {"method_id": "post"})
    store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(token)
    return token


def placed(shop: Shop) -> str:
    order = shop.store.checkout.place_order(ready_cart(shop), idempotency_key="k-1")
    assert order.status is OrderStatus.OPEN
    return order.id


def half_captured(shop: Shop) -> str:
    order_id = placed(shop)
    total = shop.store.orders.get(order_id).grand_total
    shop.store.payments.capture(order_id, Money(total.amount / 2, "EUR"))
    return order_id


def captured(shop: Shop) -> str:
    order_id = placed(shop)
    shop.store.payments.capture(order_id)
    return order_id


# --- the operations, each from the state it starts in -----------------------------


@attrs.frozen
class Operation:
    """An operation under test: where it starts, what it does, which gateway call
    the fault aims at, and the event that tells of its success."""

    name: str
    prepare: Callable[[Shop], str]
    """Brings an order (or, for placing one, a cart) to where the operation starts."""
    act: Callable[[Shop, str], object]
    gateway_call: str
    event: str


def place(shop: Shop, cart_token: str) -> object:
    return shop.store.checkout.place_order(cart_token, idempotency_key="k-1")


OPERATIONS = [
    Operation("place_order", ready_cart, place, "authorize", "OrderPaid"),
    Operation(
        "capture", placed, lambda s, o: s.store.payments.capture(o), "capture", "PaymentCaptured"
    ),
    Operation(
        "refund", captured, lambda s, o: s.store.payments.refund(o), "refund", "PaymentRefunded"
    ),
    Operation("void", placed, lambda s, o: s.store.payments.void(o), "void", "PaymentVoided"),
    # A half-captured order is cancelled by voiding the rest and refunding the half:
    # the fault strikes the one, then the other.
    Operation(
        "cancel-void",
        half_captured,
        lambda s, o: s.store.orders.cancel(o, "gone"),
        "void",
        "OrderCancelled",
    ),
    Operation(
        "cancel-refund",
        half_captured,
        lambda s, o: s.store.orders.cancel(o, "gone"),
        "refund",
        "OrderCancelled",
    ),
]
FAULTS: dict[str, Callable[[str], Fault]] = {
    "commit-fails-after-gateway": Fault.commit_fails_after_gateway,
    "gateway-times-out-after-charging": Fault.gateway_times_out_after_charging,
    "crash-before-delivery": Fault.crash_before_delivery,
}


def the_order(shop: Shop) -> str:
    (order,) = shop.store.orders.for_customer(CUSTOMER)
    return order.id


def assert_all_or_nothing(shop: Shop, order_id: str, operation: Operation) -> None:
    store = shop.store
    order, payment, books = (
        store.orders.get(order_id),
        store.payments.for_order(order_id),
        shop.books(order_id),
    )
    ledger = (
        payment.authorized_units,
        payment.captured_units,
        payment.refunded_units,
        payment.voided,
    )
    assert ledger == attrs.astuple(books), "the ledger is what the gateway did"
    assert payment.intents == [], "nothing left under way"
    assert not order.attention, order.attention
    assert not payment.attention, payment.attention
    total = order.totals.grand_total_units
    if operation.name.startswith("cancel"):
        assert order.status is OrderStatus.CANCELLED
        assert books.held == 0, "nothing charged, nothing authorized"
        assert shop.reserved() == 0, "nothing held"
    else:
        assert order.status is OrderStatus.OPEN
        assert books.authorized == total, "authorized once, for the amount due"
        assert shop.reserved() == 2, "its stock held"
        authorizations = {key for op, key in shop.gateway.calls if op == "authorize"}
        assert authorizations == {authorization_key(order_id)}, "charged once"
    expected = {
        "place_order": (0, 0, False),
        "capture": (total, 0, False),
        "refund": (total, total, False),
        "void": (0, 0, True),
    }.get(operation.name)
    if expected is not None:
        assert (books.captured, books.refunded, books.voided) == expected
    assert operation.event in shop.subscriber.names_for(order_id), "delivered at least once"
    assert store.storage.undelivered_events() == []


@pytest.mark.parametrize("fault_name", list(FAULTS))
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.name)
def test_recovery_brings_each_fault_to_all_or_nothing(
    shop: Shop, operation: Operation, fault_name: str
) -> None:
    start = operation.prepare(shop)
    fault = FAULTS[fault_name](operation.gateway_call)
    expected = InjectedTimeout if fault.timeout else Crash
    with inject(shop.store, fault) as armed, pytest.raises(expected):
        operation.act(shop, start)
    assert armed.fired == [fault]
    order_id = the_order(shop)
    shop.recover()
    assert_all_or_nothing(shop, order_id, operation)


def test_a_crash_before_the_gateway_heard_ends_in_nothing(shop: Shop) -> None:
    token = ready_cart(shop)
    with inject(shop.store, Fault(point=Point.BEFORE_GATEWAY)), pytest.raises(Crash):
        shop.store.checkout.place_order(token, idempotency_key="k-1")
    order_id = the_order(shop)
    assert shop.reserved() == 2, "held while its payment's outcome is unknown"
    shop.recover()
    order = shop.store.orders.get(order_id)
    assert order.status is OrderStatus.CANCELLED
    assert shop.gateway.find(authorization_key(order_id)) is None, "nothing charged"
    assert shop.reserved() == 0, "nothing held"
    assert "OrderCancelled" in shop.subscriber.names_for(order_id)


def test_the_gap_a_commit_failure_leaves_is_what_recovery_closes(shop: Shop) -> None:
    order_id = placed(shop)
    with inject(shop.store, Fault.commit_fails_after_gateway("capture")), pytest.raises(Crash):
        shop.store.payments.capture(order_id)
    # The gateway took the money; the store has not recorded it, and says so.
    assert shop.books(order_id).captured == shop.store.orders.get(order_id).totals.grand_total_units
    payment = shop.store.payments.for_order(order_id)
    assert payment.captured_units == 0
    assert [intent.kind.value for intent in payment.intents] == ["capture"]
    shop.recover()
    assert shop.store.payments.for_order(order_id).captured_units == shop.books(order_id).captured


def test_a_crash_before_delivery_leaves_the_events_in_the_outbox(shop: Shop) -> None:
    order_id = placed(shop)
    seen = len(shop.subscriber.events)
    with inject(shop.store, Fault.crash_before_delivery("capture")), pytest.raises(Crash):
        shop.store.payments.capture(order_id)
    assert len(shop.subscriber.events) == seen
    assert shop.store.payments.for_order(order_id).captured_units > 0, "written"
    assert shop.store.deliver_events() > 0
    assert "PaymentCaptured" in shop.subscriber.names_for(order_id)


def test_a_crash_in_delivery_delivers_again(shop: Shop) -> None:
    order_id = placed(shop)
    with inject(shop.store, Fault(point=Point.DELIVERY)), pytest.raises(Crash):
        shop.store.payments.capture(order_id)
    shop.store.deliver_events()
    assert shop.subscriber.names_for(order_id).count("PaymentCaptured") == 1


# --- the fault API itself -----------------------------------------------------------


def test_a_fault_strikes_at_its_nth_matching_moment_and_then_is_spent(shop: Shop) -> None:
    with inject(shop.store, Fault(point=Point.COMMIT, nth=3)) as armed:
        shop.store.carts.create("EUR")
        shop.store.carts.create("EUR")
        with pytest.raises(Crash):
            shop.store.carts.create("EUR")
        shop.store.carts.create("EUR")
    assert armed.pending == ()
    assert len(armed.fired) == 1


def test_faults_aim_at_gateway_calls_by_name(shop: Shop) -> None:
    order_id = placed(shop)
    before = Fault(point=Point.BEFORE_GATEWAY, operations=frozenset({"refund"}), timeout=True)
    with inject(shop.store, before) as armed:
        shop.store.payments.capture(order_id)  # not a refund: passes
        with pytest.raises(GatewayError):
            shop.store.payments.refund(order_id)
    assert armed.fired == [before]
    # The refund never reached the gateway.
    assert shop.books(order_id).refunded == 0


def test_the_store_is_as_it_was_after_the_block(shop: Shop) -> None:
    runtime = shop.store.runtime
    storage, gateways = runtime.storage, runtime.gateways
    with inject(shop.store, Fault(point=Point.COMMIT)) as armed:
        assert runtime.storage is not storage
        armed.disarm()
        shop.store.carts.create("EUR")
    assert runtime.storage is storage
    assert runtime.gateways is gateways
    assert armed.fired == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"point": Point.COMMIT, "timeout": True}, "only a gateway call times out"),
        ({"point": Point.DELIVERY, "after_gateway": True}, "counts commits only"),
        ({"point": Point.COMMIT, "operations": {"capture"}}, "aim at a gateway point"),
        ({"point": Point.AFTER_GATEWAY, "operations": {"charge"}}, "no gateway operation"),
        ({"point": Point.COMMIT, "nth": 0}, "must be >= 1"),
    ],
)
def test_a_fault_that_cannot_strike_is_refused(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault(**arguments)  # type: ignore[arg-type]


def test_a_crash_is_no_error_the_library_could_catch() -> None:
    crash = Crash(Fault(point=Point.COMMIT))
    assert not isinstance(crash, Exception)
    assert str(crash) == "injected crash@commit#1"
