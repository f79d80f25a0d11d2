"""The order and payment services together, driven by random interleavings of what a
shop does with its orders: place, confirm, capture, void, refund, cancel, ship,
fulfil, complete and sweep. Whatever the order of the steps, the money and the goods
stay right:

- nothing is captured beyond what was authorized, nothing refunded beyond what was
  captured, and the payment's ledger says what the gateway holds;
- nothing ships from a cancelled order, and no shipped order is cancelled;
- a cancelled order is charged nothing it was not refunded, and keeps no
  authorization standing;
- the shelf is the sum of the ledger, and what is reserved is what live holds hold.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from commercekit import Money, Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.orders import OrderStatus
from commercekit.errors import CommerceError
from commercekit.store import Store

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ADDRESS = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}
CONFIG = {
    "entry_point_plugins": False,
    "gateways": {"test": {"plugin": "test", "options": {"webhook_secret": "whsec_machine"}}},
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
}
STOCK = 12


class ShopMachine(RuleBasedStateMachine):
    """One shop, many orders, any order of operations."""

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(START)
        self.store = Store.open("memory://", config=CONFIG, clock=self.clock)
        store = self.store
        store.catalog.add_product(
            Product(id="clock", name="Retro clock", variants=[Variant(sku="CLOCK")])
        )
        store.catalog.publish("clock")
        store.catalog.add_price_list("eu", "EUR")
        store.catalog.set_price("eu", "CLOCK", Money("30.00", "EUR"))
        store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        store.inventory.receive("CLOCK", "berlin", STOCK)
        self.keys = iter(range(10**9))

    def teardown(self) -> None:
        self.store.close()

    @property
    def gateway(self) -> TestPaymentGateway:
        found = self.store.gateway("test")
        assert isinstance(found, TestPaymentGateway)
        return found

    def _try(self, step: object) -> None:
        """A step either works or is refused with a typed error, never anything else."""
        with contextlib.suppress(CommerceError):
            step()  # type: ignore[operator]

    @rule(
        target=orders,
        quantity=st.integers(1, 4),
        token=st.sampled_from(
            ["tok_success", "tok_success", "tok_requires_action", "tok_declined"]
        ),
    )
    def place(self, quantity: int, token: str) -> str:
        store = self.store
        cart = store.carts.create("EUR")
        store.carts.add(cart.token, "CLOCK", quantity)
        store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
        store.checkout.set_shipping_address(cart.token, ADDRESS)
        store.checkout.choose_shipping(cart.token, {"method_id": "post"})
        store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": token})
        store.checkout.summary(cart.token)
        try:
            order = store.checkout.place_order(cart.token, idempotency_key=f"k-{next(self.keys)}")
        except CommerceError:
            return ""
        return order.id

    @rule(order_id=orders)
    def confirm(self, order_id: str) -> None:
        if order_id:
            self._try(lambda: self.store.payments.confirm(self.store.orders.get(order_id).token))

    @rule(order_id=orders, cents=st.integers(1, 14_000))
    def capture(self, order_id: str, cents: int) -> None:
        if order_id:
            amount = Money(cents, "EUR") / 100
            self._try(lambda: self.store.payments.capture(order_id, Money(amount.amount, "EUR")))

    @rule(order_id=orders)
    def capture_all(self, order_id: str) -> None:
        if order_id:
            self._try(lambda: self.store.payments.capture(order_id))

    @rule(order_id=orders, cents=st.integers(1, 14_000))
    def refund(self, order_id: str, cents: int) -> None:
        if order_id:
            amount = Money(cents, "EUR") / 100
            self._try(lambda: self.store.payments.refund(order_id, Money(amount.amount, "EUR")))

    @rule(order_id=orders)
    def void(self, order_id: str) -> None:
        if order_id:
            self._try(lambda: self.store.payments.void(order_id))

    @rule(order_id=orders)
    def cancel(self, order_id: str) -> None:
        if order_id:
            self._try(lambda: self.store.orders.cancel(order_id, "changed their mind"))

    @rule(order_id=orders)
    def ship(self, order_id: str) -> None:
        if order_id:
            self._try(lambda: self.store.inventory.consume(order_id))

    @rule(order_id=orders)
    def fulfil(self, order_id: str) -> None:
        if order_id:
            order = self.store.orders.get(order_id)
            quantities = {line.sku: line.quantity for line in order.lines}
            self._try(lambda: self.store.orders.record_fulfilment(order_id, quantities))

    @rule(order_id=orders)
    def complete(self, order_id: str) -> None:
        if order_id:
            self._try(lambda: self.store.orders.complete(order_id))

    @rule(minutes=st.integers(0, 30))
    def sweep(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.store.inventory.release_expired_reservations()
        report = self.store.recovery.sweep()
        assert report.failed == (), report.failed

    def _orders(self) -> list[tuple[object, object]]:
        with self.store.storage.unit_of_work() as uow:
            found = []
            for key in list(self.store.storage.tables["orders"]):  # type: ignore[attr-defined]
                order = uow.orders.get(key)
                found.append((order, uow.payments.for_order(order.id)))
        return found

    @invariant()
    def money_stays_within_its_limits_and_agrees_with_the_gateway(self) -> None:
        for _order, payment in self._orders():
            assert payment is not None
            assert 0 <= payment.captured_units <= payment.authorized_units  # type: ignore[attr-defined]
            assert payment.authorized_units <= payment.amount_units  # type: ignore[attr-defined]
            assert 0 <= payment.refunded_units <= payment.captured_units  # type: ignore[attr-defined]
            if payment.reference is None:  # type: ignore[attr-defined]
                continue
            account = self.gateway._accounts[payment.reference]  # type: ignore[attr-defined]
            assert payment.captured_units == account.captured  # type: ignore[attr-defined]
            assert payment.refunded_units == account.refunded  # type: ignore[attr-defined]
            assert payment.voided == account.voided  # type: ignore[attr-defined]

    @invariant()
    def nothing_ships_from_a_cancelled_order_nor_is_charged_for_one(self) -> None:
        for order, payment in self._orders():
            status = order.status  # type: ignore[attr-defined]
            if order.shipped:  # type: ignore[attr-defined]
                assert status in (OrderStatus.OPEN, OrderStatus.COMPLETED)
            if status is OrderStatus.CANCELLED and payment.reference:  # type: ignore[attr-defined]
                account = self.gateway._accounts[payment.reference]  # type: ignore[attr-defined]
                assert account.captured == account.refunded
                assert account.voided or account.authorized == account.captured

    @invariant()
    def the_shelf_is_the_ledger_and_reserved_is_what_live_holds_hold(self) -> None:
        items = self.store.inventory.stock("CLOCK")
        if not items:
            return
        (item,) = items
        moves = self.store.inventory.movements("CLOCK", "berlin")
        assert item.on_hand == sum(m.quantity for m in moves)
        assert 0 <= item.on_hand <= STOCK
        with self.store.storage.unit_of_work() as uow:
            held = sum(
                r.quantity
                for order, _ in self._orders()
                for r in uow.inventory.reservations_for_order(order.id)  # type: ignore[attr-defined]
                if r.holds
            )
        assert item.reserved == held


ShopMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestShop = ShopMachine.TestCase
