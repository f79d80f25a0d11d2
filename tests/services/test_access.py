"""Who is acting: a shopper reaches what is theirs and nothing of anyone else's,
whatever id they send; staff do what their permissions allow; the answer to every
refusal is the same, so it reveals nothing about what exists."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any

import attrs
import pytest

from commercekit import Coupon, Money
from commercekit.domain.access import SYSTEM, Permission, Shopper, Staff
from commercekit.errors import AccessDenied, CouponRejected, InvalidInput, TooManyAttempts
from commercekit.hookspecs import hookimpl
from commercekit.services.access import POLICY
from commercekit.store import Store

from .conftest import ADDRESS, CONFIG, START, seed

ALICE, BOB = "customer-alice", "customer-bob"


@attrs.define
class Placed:
    id: str
    token: str
    guest_token: str = ""


def placed_by(store: Store, customer_id: str) -> Placed:
    shopper = store.as_shopper(customer_id)
    cart = shopper.carts.create("EUR", customer_id=customer_id)
    shopper.carts.add(cart.token, "RETRO-MUG", 1)
    shopper.checkout.set_contact(cart.token, {"email": f"{customer_id}@example.com"})
    shopper.checkout.set_shipping_address(cart.token, ADDRESS)
    shopper.checkout.choose_shipping(cart.token, {"method_id": "post"})
    shopper.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    shopper.checkout.summary(cart.token)
    order = shopper.checkout.place_order(cart.token, idempotency_key=f"{customer_id}-1")
    return Placed(order.id, order.token)


def denied(call: Any, *args: Any, **kwargs: Any) -> AccessDenied:
    with pytest.raises(AccessDenied) as caught:
        call(*args, **kwargs)
    return caught.value


# Every call a shopper can make with an id, and a way to name Alice's thing in it.
BY_ID = [
    ("orders", "get", lambda order: ((order.id,), {})),
    ("orders", "for_customer", lambda order: ((ALICE,), {})),
    ("payments", "for_order", lambda order: ((order.id,), {})),
    ("payments", "find_for_order", lambda order: ((order.id,), {})),
    ("customers", "get", lambda order: ((ALICE,), {})),
    ("customers", "orders", lambda order: ((ALICE,), {})),
    ("customers", "register", lambda order: ((ALICE, {"email": "alice@example.com"}), {})),
    ("customers", "save_address", lambda order: ((ALICE, "home", ADDRESS), {})),
    ("customers", "remove_address", lambda order: ((ALICE, "home"), {})),
    (
        "customers",
        "record_consent",
        lambda order: ((ALICE, {"granted": True, "source": "web"}), {}),
    ),
    ("carts", "for_customer", lambda order: ((ALICE,), {})),
    ("carts", "create", lambda order: (("EUR",), {"customer_id": ALICE})),
    ("carts", "sign_in", lambda order: ((order.guest_token, ALICE), {})),
]


@pytest.mark.parametrize(("service", "method", "arguments"), BY_ID, ids=[m for _, m, _ in BY_ID])
def test_a_shopper_never_reaches_another_customers_things_by_id(
    store: Store, service: str, method: str, arguments: Any
) -> None:
    order = placed_by(store, ALICE)
    store.customers.register(ALICE, {"email": "alice@example.com"})
    store.customers.save_address(ALICE, "home", ADDRESS)
    order.guest_token = store.carts.create("EUR").token
    args, kwargs = arguments(order)
    for stranger in (store.as_shopper(BOB), store.as_shopper()):
        refused = denied(getattr(getattr(stranger, service), method), *args, **kwargs)
        assert refused.code == "access_denied"
    # Alice's own view opens the same door.
    mine = getattr(getattr(store.as_shopper(ALICE), service), method)
    mine(*args, **kwargs)


def test_someone_elses_order_and_a_missing_one_are_refused_alike(store: Store) -> None:
    order = placed_by(store, ALICE)
    bob = store.as_shopper(BOB)
    theirs = denied(bob.orders.get, order.id)
    missing = denied(bob.orders.get, "order_that_does_not_exist")
    assert (theirs.code, str(theirs), theirs.field) == (missing.code, str(missing), missing.field)


def test_a_shopper_finds_their_own_order_by_its_number_and_no_other(store: Store) -> None:
    order = store.orders.get(placed_by(store, ALICE).id)
    typed = f" {order.number.lower()} "

    assert store.as_shopper(ALICE).orders.by_number(typed).id == order.id
    held = store.as_shopper(order_tokens=[order.token])
    assert held.orders.by_number(order.number).id == order.id
    theirs = denied(store.as_shopper(BOB).orders.by_number, order.number)
    missing = denied(store.as_shopper(BOB).orders.by_number, "WEB-NOSUCH12")
    assert (theirs.message, theirs.field) == (missing.message, missing.field)
    denied(store.as_shopper().orders.by_number, order.number)


def test_a_shopper_cannot_do_what_staff_do(store: Store) -> None:
    order = placed_by(store, ALICE)
    alice = store.as_shopper(ALICE)
    for call, args in [
        (alice.payments.capture, (order.id,)),
        (alice.payments.refund, (order.id,)),
        (alice.payments.void, (order.id,)),
        (alice.orders.cancel, (order.id, "mine")),
        (alice.orders.complete, (order.id,)),
        (alice.inventory.consume, (order.id,)),
        (alice.inventory.receive, ("RETRO-MUG", "berlin", 5)),
        (alice.catalog.publish, ("mug",)),
        (alice.customers.join_group, (ALICE, "wholesale")),
        (alice.recovery.sweep, ()),
        (alice.payments.settle, (order.id, None)),
    ]:
        refused = denied(call, *args)
        # A shopper is told nothing more, whatever the call.
        assert (refused.permissions, refused.message) == ((), "not found, or not allowed")
    assert store.payments.for_order(order.id).captured_units == 0
    # What a token opens stays open to whoever holds it.
    assert alice.orders.by_token(order.token).id == order.id


def test_staff_do_what_their_permissions_allow_and_their_name_is_recorded(store: Store) -> None:
    order = placed_by(store, ALICE)
    clerk = store.as_staff("sam", [Permission.ORDERS, Permission.PAYMENTS])
    clerk.payments.capture(order.id)
    refused = denied(clerk.payments.refund, order.id, Money("1.00", "EUR"))
    # Staff are told which permission would have opened the door.
    assert (refused.code, refused.permissions) == ("access_denied", ("refunds",))
    assert refused.message == "not allowed: needs the refunds permission"
    assert store.payments.for_order(order.id).refunded_units == 0
    cashier = store.as_staff("kim", ["refunds"])
    cashier.payments.refund(order.id, Money("1.00", "EUR"))
    assert store.payments.for_order(order.id).refunded_units == 100
    # Refunds alone do not show orders.
    assert denied(cashier.orders.get, order.id).permissions == ("orders",)
    assert set(denied(cashier.recovery.sweep).permissions) == {p.value for p in Permission}
    assert clerk.orders.get(order.id).id == order.id
    clerk.orders.cancel(order.id, "out of stock")
    assert store.orders.get(order.id).history[-1].actor == "staff:sam"


def test_every_public_service_method_has_a_rule(store: Store) -> None:
    for name, rules in POLICY.items():
        service = getattr(store, name)
        public = {
            method
            for method, _ in inspect.getmembers(type(service), inspect.isfunction)
            if not method.startswith("_")
        }
        assert public == set(rules), name


def test_a_principal_is_checked_at_its_own_door() -> None:
    with pytest.raises(InvalidInput) as caught:
        Staff("sam", ["everything"])
    assert caught.value.field == "permissions"
    with pytest.raises(InvalidInput):
        Shopper("\x00")
    with pytest.raises(InvalidInput):
        Staff("", [])
    assert SYSTEM.actor == "system"
    assert Shopper(ALICE).actor == f"customer:{ALICE}"


def test_a_shopper_cannot_tell_an_unknown_coupon_from_an_expired_one(store: Store) -> None:
    store.catalog.add_coupon(
        Coupon(code="SUMMER", promotion_id="kitchen-10", ends_at=START - timedelta(days=1))
    )
    shopper = store.as_shopper()
    cart = shopper.carts.create("EUR")
    shopper.carts.add(cart.token, "RETRO-MUG", 1)
    answers = []
    for code in ("SUMMER", "NO-SUCH-CODE"):
        with pytest.raises(CouponRejected) as caught:
            shopper.carts.apply_coupon(cart.token, code)
        answers.append((caught.value.reason, caught.value.code, caught.value.field))
        with pytest.raises(CouponRejected) as plain:
            store.carts.apply_coupon(cart.token, code)  # the application itself is told
        assert plain.value.reason in ("expired", "unknown")
    assert answers[0] == answers[1] == ("not_valid", "coupon_rejected", "coupon_code")


class RateLimit:
    def __init__(self, most: int) -> None:
        self.most = most
        self.tried: list[tuple[object, str]] = []

    @hookimpl
    def coupon_attempt(self, principal: object, code: str) -> None:
        self.tried.append((principal, code))
        if len(self.tried) > self.most:
            raise TooManyAttempts("coupon attempts", field="coupon_code")


def test_an_application_can_limit_how_often_a_shopper_tries_coupon_codes(
    store_url: str, clock: Any
) -> None:
    limit = RateLimit(most=2)
    with Store.open(store_url, config=CONFIG, clock=clock, plugins=[limit]) as opened:
        seed(opened)
        shopper = opened.as_shopper()
        cart = shopper.carts.create("EUR")
        shopper.carts.add(cart.token, "RETRO-MUG", 1)
        for code in ("GUESS-1", "GUESS-2"):
            with pytest.raises(CouponRejected):
                shopper.carts.apply_coupon(cart.token, code)
        with pytest.raises(TooManyAttempts):
            shopper.carts.apply_coupon(cart.token, "KITCHEN")
        assert opened.carts.get(cart.token).coupon_codes == ()
        assert [code for _, code in limit.tried] == ["GUESS-1", "GUESS-2", "KITCHEN"]
        assert limit.tried[0][0] == Shopper()
