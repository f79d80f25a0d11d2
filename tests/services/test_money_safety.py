"""What the order and payment services promise about money and goods, each found
once broken and kept as a test: every way an order ends leaves no authorization
standing and no stock held; a short authorization never opens an order; the sweep
goes past an order it cannot settle; coupons count a guest once however they spell
their email, and coupon promotions do not stack by default; digital goods are taxed
where they are billed."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

from commercekit import Money, Promotion
from commercekit.adapters.clock import FixedClock
from commercekit.domain.orders import OrderStatus
from commercekit.domain.payments import (
    GatewayEvent,
    PaymentStatus,
    TransactionKind,
    TransactionStatus,
)
from commercekit.domain.promotions import Coupon, ItemFilter, PercentOffLines
from commercekit.errors import (
    CouponRejected,
    GatewayError,
    InvalidTransition,
    TooManyUnpaidOrders,
)
from commercekit.ports.payments import PaymentRequest
from commercekit.services.payments import authorization_key
from commercekit.store import Store

from .conftest import ADDRESS, ready_cart
from .test_checkout import gateway


def paid(store: Store, key: str = "k", **kwargs: object) -> str:
    cart = ready_cart(store, **kwargs)  # type: ignore[arg-type]
    return store.checkout.place_order(cart.token, idempotency_key=key).id


def at_gateway(store: Store, order_id: str) -> tuple[int, int, int, bool]:
    reference = store.payments.for_order(order_id).reference
    account = gateway(store)._accounts[str(reference)]
    return account.authorized, account.captured, account.refunded, account.voided


# --- every way an order ends ------------------------------------------------------


def test_capture_part_refund_it_then_cancel_releases_the_rest_of_the_authorization(
    store: Store,
) -> None:
    order_id = paid(store)
    store.payments.capture(order_id, Money("10.00", "EUR"))
    store.payments.refund(order_id, Money("10.00", "EUR"))

    order = store.orders.cancel(order_id, "changed their mind")

    assert order.status is OrderStatus.CANCELLED
    _, captured, refunded, voided = at_gateway(store, order_id)
    assert (captured, refunded, voided) == (1000, 1000, True)
    payment = store.payments.for_order(order_id)
    assert (payment.capturable_units, payment.refundable_units) == (0, 0)
    assert (order.payment_capturable_units, order.payment_refundable_units) == (0, 0)


def test_cancelling_an_order_stuck_after_a_crash_releases_what_the_gateway_authorized(
    store: Store,
) -> None:
    cart = ready_cart(store, payment_token="tok_gateway_error")
    with pytest.raises(GatewayError):
        store.checkout.place_order(cart.token, idempotency_key="k")
    with store.storage.unit_of_work() as uow:
        stuck = uow.orders.find_by_idempotency_key("k")
    assert stuck is not None
    order = store.orders.get(stuck.id)
    payment = store.payments.for_order(order.id)
    # The process died after the gateway authorized and before it was heard.
    gateway(store).authorize(
        PaymentRequest(
            payment_id=payment.id,
            order_id=order.id,
            amount_units=payment.amount_units,
            currency=payment.currency,
            payment_token="tok_success",
            idempotency_key=authorization_key(order.id),
        )
    )
    assert store.payments.for_order(order.id).status is PaymentStatus.PENDING

    cancelled = store.orders.cancel(order.id, "the customer gave up waiting")

    assert cancelled.status is OrderStatus.CANCELLED
    assert at_gateway(store, order.id)[3]  # voided: no authorization left standing


def test_an_order_completes_only_when_its_stock_left_and_nothing_stays_authorized(
    store: Store,
) -> None:
    store.inventory.add_location(
        __import__("commercekit").StockLocation(id="berlin", name="Berlin")
    )
    store.inventory.receive("RETRO-MUG", "berlin", 10)
    store.inventory.receive("RETRO-CLOCK", "berlin", 10)
    order_id = paid(store)
    store.payments.capture(order_id, Money("10.00", "EUR"))
    store.orders.record_fulfilment(order_id, {"RETRO-MUG": 1})
    with pytest.raises(InvalidTransition):
        store.orders.complete(order_id)  # part of it is still on the shelf
    store.inventory.consume(order_id)
    with pytest.raises(InvalidTransition):
        store.orders.complete(order_id)  # the rest of the authorization still stands
    store.payments.void(order_id)

    assert store.orders.complete(order_id).status is OrderStatus.COMPLETED
    assert store.inventory.stock("RETRO-MUG")[0].reserved == 0
    assert at_gateway(store, order_id)[3]


# --- authorizations ---------------------------------------------------------------


def test_an_authorization_of_a_cent_neither_opens_the_order_nor_stays_standing(
    store: Store,
) -> None:
    cart = ready_cart(store, payment_token="tok_requires_action")
    order = store.checkout.place_order(cart.token, idempotency_key="k")
    payment = store.payments.for_order(order.id)
    reference = str(payment.reference)
    gateway(store)._accounts[reference].authorized = 1  # what the gateway holds
    body, signature = gateway(store).webhook(
        [
            GatewayEvent(
                transaction_id="txn-one-cent",
                payment_reference=reference,
                kind=TransactionKind.AUTHORIZE,
                status=TransactionStatus.SUCCEEDED,
                amount_units=1,
                currency="EUR",
                occurred_at=store.runtime.clock.now(),
            )
        ],
        sent_at=store.runtime.clock.now(),
    )

    store.payments.handle_webhook("test", body, signature)

    order = store.orders.get(order.id)
    assert order.status is OrderStatus.CANCELLED
    assert any("does not cover" in entry.detail for entry in order.history)
    assert store.payments.for_order(order.id).voided
    assert at_gateway(store, order.id)[3]


# --- holds --------------------------------------------------------------------------


def test_orders_waiting_for_a_customer_action_hold_stock_and_coupons_only_minutes(
    store: Store, clock: FixedClock
) -> None:
    store.inventory.add_location(
        __import__("commercekit").StockLocation(id="berlin", name="Berlin")
    )
    store.inventory.receive("RETRO-MUG", "berlin", 20)
    store.catalog.add_coupon(Coupon(code="TWICE", promotion_id="kitchen-10", usage_limit=2))
    for n in range(2):
        cart = store.carts.create("EUR")
        store.carts.add(cart.token, "RETRO-MUG", 10)
        store.carts.apply_coupon(cart.token, "TWICE")
        store.checkout.set_contact(cart.token, {"email": f"hoarder{n}@example.com"})
        store.checkout.set_shipping_address(cart.token, ADDRESS)
        store.checkout.choose_shipping(cart.token, {"method_id": "post"})
        store.checkout.set_payment_method(
            cart.token, {"gateway": "test", "token": "tok_requires_action"}
        )
        store.checkout.summary(cart.token)
        store.checkout.place_order(cart.token, idempotency_key=f"hoard-{n}")
    assert store.inventory.available("RETRO-MUG") == 0

    clock.advance(timedelta(minutes=16))
    store.inventory.release_expired_reservations()

    assert store.inventory.available("RETRO-MUG") == 20
    with store.storage.unit_of_work() as uow:
        assert uow.catalog.coupon_usage(["TWICE"], None)["TWICE"].total == 0


# --- the sweep ------------------------------------------------------------------------


def test_the_sweep_goes_past_an_order_it_cannot_settle(store: Store) -> None:
    first, second = paid(store, "k-1"), paid(store, "k-2")
    real_void = gateway(store).void
    stuck = str(store.payments.for_order(first).reference)

    def void(reference: str, key: str) -> GatewayEvent:
        if reference == stuck:
            raise GatewayError("the gateway is down for this payment")
        return real_void(reference, key)

    gateway(store).void = void  # type: ignore[method-assign]
    for order_id in (first, second):
        with pytest.raises(GatewayError) if order_id == first else contextlib.nullcontext():
            store.orders.cancel(order_id, "changed their mind")
    assert store.orders.get(first).status is OrderStatus.CANCELLING

    report = store.recovery.sweep(older_than=timedelta(0))

    assert [order_id for order_id, _ in report.failed] == [first]
    assert store.orders.get(first).status is OrderStatus.CANCELLING
    assert store.orders.get(second).status is OrderStatus.CANCELLED
    gateway(store).void = real_void  # type: ignore[method-assign]
    later = store.recovery.sweep(older_than=timedelta(0))
    assert later.failed == ()
    assert first in later.cancelled
    assert store.orders.get(first).status is OrderStatus.CANCELLED
    assert at_gateway(store, first)[3]


def test_a_late_authorization_of_a_cancelled_order_is_released_once_when_voids_fail(
    store: Store, clock: FixedClock
) -> None:
    cart = ready_cart(store, payment_token="tok_requires_action")
    order = store.checkout.place_order(cart.token, idempotency_key="k")
    clock.advance(timedelta(hours=2))
    assert order.id in store.recovery.sweep().cancelled  # the action was never completed
    payment = store.payments.for_order(order.id)
    voids: list[str] = []

    def refuse(reference: str, key: str) -> GatewayEvent:
        voids.append(key)
        return GatewayEvent(
            transaction_id=f"txn-{key}",
            payment_reference=reference,
            kind=TransactionKind.VOID,
            status=TransactionStatus.FAILED,
            amount_units=0,
            currency="EUR",
            occurred_at=clock.now(),
            detail="not_voidable",
        )

    gateway(store).void = refuse  # type: ignore[method-assign]
    late = gateway(store).confirm(str(payment.reference), "late-webhook")

    store.payments.settle(payment.id, late, actor="gateway:test")  # gives nothing back itself
    assert voids == []
    first = store.recovery.sweep()
    assert len(voids) == 1  # tried once, refused, flagged for staff
    assert store.orders.get(order.id).attention
    assert order.id not in first.given_back
    store.recovery.sweep()
    assert len(voids) == 1  # staff decide now; the sweep does not hammer the gateway


# --- coupons ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("again", "subaddressing", "refused"),
    [
        ("zoe@example.com", True, True),
        ("Zoe@Example.COM", True, True),
        ("ZOE@example.com", True, True),
        ("zoe+1@example.com", True, True),
        ("zoe+1@example.com", False, False),
        ("zoey@example.com", True, False),
    ],
)
def test_a_guest_is_one_customer_for_a_coupon_however_they_spell_their_email(
    store_url: str, clock: FixedClock, again: str, subaddressing: bool, refused: bool
) -> None:
    from .conftest import CONFIG, seed

    config = {**CONFIG, "email_subaddressing": subaddressing}
    with Store.open(store_url, config=config, clock=clock) as store:
        seed(store)
        store.catalog.add_coupon(
            Coupon(code="ONCE", promotion_id="kitchen-10", usage_limit_per_customer=1)
        )
        for n, email in enumerate(("zoe@example.com", again)):
            cart = store.carts.create("EUR")
            store.carts.add(cart.token, "RETRO-MUG")
            store.carts.apply_coupon(cart.token, "ONCE")
            store.checkout.set_contact(cart.token, {"email": email})
            store.checkout.set_shipping_address(cart.token, ADDRESS)
            store.checkout.choose_shipping(cart.token, {"method_id": "post"})
            store.checkout.set_payment_method(
                cart.token, {"gateway": "test", "token": "tok_success"}
            )
            summary = store.checkout.summary(cart.token)
            rejected = dict(summary.breakdown.rejected_coupons)
            if n == 1 and refused:
                assert rejected == {"ONCE": "limit_reached"}
                with pytest.raises(CouponRejected):
                    store.checkout.place_order(cart.token, idempotency_key=f"k-{n}")
            else:
                assert rejected == {}
                store.checkout.place_order(cart.token, idempotency_key=f"k-{n}")


@pytest.mark.parametrize("again", ["ÄDA@example.com", "äda+2@Example.com", "Äda@EXAMPLE.com"])
def test_a_guest_awaits_payment_for_at_most_the_cap_however_they_spell_their_email(
    store_url: str, clock: FixedClock, again: str
) -> None:
    from .conftest import CONFIG, seed

    with Store.open(store_url, config={**CONFIG, "max_unpaid_orders": 1}, clock=clock) as store:
        seed(store)
        tokens = []
        for email in ("äda@example.com", again, "zoe@example.com"):
            cart = ready_cart(store, payment_token="tok_requires_action")
            store.checkout.set_contact(cart.token, {"email": email})
            tokens.append(cart.token)
        store.checkout.place_order(tokens[0], idempotency_key="k-0")
        with pytest.raises(TooManyUnpaidOrders):
            store.checkout.place_order(tokens[1], idempotency_key="k-1")
        store.checkout.place_order(tokens[2], idempotency_key="k-2")  # someone else


def test_coupon_promotions_do_not_stack_unless_they_say_so(store: Store) -> None:
    for n in range(4):
        store.catalog.add_promotion(
            Promotion(
                id=f"quarter-{n}",
                name=f"A quarter off ({n})",
                target=ItemFilter(skus="RETRO-CLOCK"),
                benefit=PercentOffLines(25),
                requires_coupon=True,
            )
        )
        store.catalog.add_coupon(Coupon(code=f"QUARTER{n}", promotion_id=f"quarter-{n}"))
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-CLOCK")
    store.carts.apply_coupon(cart.token, "QUARTER0")
    store.carts.apply_coupon(cart.token, "quarter0 ")  # a second click: nothing changes
    for n in range(1, 4):
        with pytest.raises(CouponRejected) as refused:
            store.carts.apply_coupon(cart.token, f"QUARTER{n}")
        assert refused.value.reason == "not_combinable"

    breakdown = store.carts.price(cart.token)

    assert str(breakdown.grand_total.amount) == "30.00"
    assert breakdown.applied_promotions == ("quarter-0",)
    assert store.carts.get(cart.token).coupon_codes == ("QUARTER0",)


# --- tax ------------------------------------------------------------------------------


def test_digital_goods_are_taxed_where_they_are_billed_whatever_the_shipping_address(
    store: Store,
) -> None:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "CLOCK-PDF")
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_billing_address(cart.token, ADDRESS)
    before = store.checkout.summary(cart.token).breakdown.tax_total
    store.checkout.set_shipping_address(
        cart.token,
        {
            "name": "Zoë Ünal",
            "line1": "1-1 Chiyoda",
            "city": "Tokyo",
            "postal_code": "100-0001",
            "country": "JP",
        },
    )
    after = store.checkout.summary(cart.token).breakdown.tax_total
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})

    order = store.checkout.place_order(cart.token, idempotency_key="k")

    # 19% German VAT on 5.00, before and after a Japanese address is given.
    assert before == after == Money("0.95", "EUR")
    assert order.tax_address is not None
    assert order.tax_address.country == "DE"
    assert order.totals.tax_units == 95
