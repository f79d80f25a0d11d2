"""Store credit and gift cards through the services, on memory and a SQLite file:
issued at the door, spent at checkout in the order's own unit of work, beside the
gateway or instead of it, and given back exactly once when the order fails."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from functools import partial

import moneyed
import pytest

from commercekit import Money, StockLocation
from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.credit import CreditAccount, CreditReason, GiftCardStatus, TenderKind
from commercekit.domain.orders import Order, OrderPaymentStatus, OrderStatus
from commercekit.errors import (
    AccessDenied,
    CartAlreadyOrdered,
    CheckoutIncomplete,
    CurrencyMismatch,
    GiftCardRefused,
    InsufficientBalance,
    InvalidInput,
    NotFound,
)
from commercekit.services.credit import credit_for_refund
from commercekit.store import Store

from .conftest import ADDRESS, START, ready_cart

ADA = "customer-ada"
MUG = {"RETRO-MUG": 1}


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def gateway(store: Store) -> TestPaymentGateway:
    found = store.gateway("test")
    assert isinstance(found, TestPaymentGateway)
    return found


def authorized(store: Store) -> list[str]:
    return [key for operation, key in gateway(store).calls if operation == "authorize"]


def card_units(store: Store, gift_card_id: str) -> int:
    return store.credit.gift_card(gift_card_id).balance_units


def unpaid_cart(
    store: Store, *, customer_id: str | None = None, lines: dict[str, int] = MUG
) -> str:
    """A cart with contact, address and shipping, and no means of payment yet."""
    cart = store.carts.create("EUR", customer_id=customer_id)
    for sku, quantity in lines.items():
        store.carts.add(cart.token, sku, quantity)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    return cart.token


def place(store: Store, token: str, key: str) -> Order:
    store.checkout.summary(token)
    return store.checkout.place_order(token, idempotency_key=key)


# --- at the door -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        "5.00",
        5,
        eur("0"),
        eur("-1.00"),
        eur("0.001"),
        moneyed.Money(Decimal("NaN"), "EUR"),
        moneyed.Money(Decimal("1e40"), "EUR"),
    ],
)
def test_an_amount_that_cannot_be_credited_is_refused_naming_it(
    store: Store, amount: object
) -> None:
    with pytest.raises(InvalidInput) as refused:
        store.credit.issue_store_credit(ADA, amount)  # type: ignore[arg-type]
    assert refused.value.field == "amount"
    with pytest.raises(InvalidInput):
        store.credit.issue_gift_card(amount)  # type: ignore[arg-type]
    assert store.credit.store_credit(ADA, "EUR").entries == ()


def test_issued_credit_is_kept_per_customer_and_currency(store: Store) -> None:
    store.credit.issue_store_credit(ADA, eur("10.00"), reference="late parcel", actor="staff:sam")
    account = store.credit.issue_store_credit(ADA, eur("2.50"), reason="refund")
    assert account.id == CreditAccount.key(ADA, "EUR")
    assert account.balance == eur("12.50")
    assert [(e.units, e.reason, e.actor) for e in account.entries] == [
        (1000, CreditReason.ISSUED, "staff:sam"),
        (250, CreditReason.REFUND, "staff"),
    ]
    assert store.credit.store_credit(ADA, "USD").balance_units == 0
    assert store.credit.store_credit(ADA, "eur").balance_units == 1250


def test_an_adjustment_may_take_credit_but_never_below_zero(store: Store) -> None:
    store.credit.issue_store_credit(ADA, eur("5.00"))
    assert store.credit.adjust_store_credit(ADA, eur("-2.00")).balance_units == 300
    with pytest.raises(InsufficientBalance) as refused:
        store.credit.adjust_store_credit(ADA, eur("-3.01"))
    assert refused.value.field == "store_credit"
    assert store.credit.store_credit(ADA, "EUR").balance_units == 300
    with pytest.raises(InvalidInput):
        store.credit.issue_store_credit(ADA, eur("1.00"), reason="spent")


def test_a_gift_card_code_is_returned_once_and_opens_its_card(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("25.00"), reference="raffle")
    assert code not in card.id
    balance = store.credit.gift_card_balance(code.lower())
    assert (balance.balance, balance.status, balance.display) == (
        eur("25.00"),
        GiftCardStatus.ACTIVE,
        card.display,
    )
    with pytest.raises(GiftCardRefused) as refused:
        store.credit.gift_card_balance("ABCD-EFGH-JKLM-NPQR")
    assert refused.value.reason == "unknown"
    store.credit.disable_gift_card(card.id)
    with pytest.raises(GiftCardRefused) as refused:
        store.credit.gift_card_balance(code)
    assert refused.value.reason == "disabled"
    with pytest.raises(NotFound) as missing:
        store.credit.gift_card("gift_card:none")
    assert missing.value.field == "gift_card_id"


def test_a_shopper_cannot_tell_an_unknown_code_from_a_disabled_one(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("25.00"))
    store.credit.disable_gift_card(card.id)
    shopper = store.as_shopper()
    token = unpaid_cart(store)
    refusals = []
    for typed in (code, "ABCD-EFGH-JKLM-NPQR"):
        for call in (
            partial(shopper.credit.gift_card_balance, typed),
            partial(shopper.checkout.apply_gift_card, token, typed),
        ):
            with pytest.raises(GiftCardRefused) as refused:
                call()
            refusals.append((refused.value.reason, str(refused.value)))
    assert set(refusals) == {("not_valid", "code: gift card refused: not valid")}


# --- paying at checkout ---------------------------------------------------------------


def test_a_checkout_paid_wholly_by_a_gift_card_asks_the_gateway_nothing(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("100.00"))
    token = unpaid_cart(store)
    summary = store.checkout.apply_gift_card(token, code)
    total = summary.breakdown.grand_total_units
    assert summary.due_units == 0
    assert "payment_method" not in summary.missing

    order = place(store, token, "whole")

    assert order.status is OrderStatus.OPEN
    assert order.payment_status is OrderPaymentStatus.CAPTURED
    assert [(t.kind, t.units, t.reference) for t in order.tenders] == [
        (TenderKind.GIFT_CARD, total, card.display)
    ]
    assert store.payments.for_order(order.id).amount_units == 0
    assert authorized(store) == []
    assert card_units(store, card.id) == 10_000 - total
    assert store.orders.get(order.id).tenders == order.tenders


def test_an_order_paid_by_its_tenders_holds_its_stock_until_it_ships(
    store: Store, clock: FixedClock
) -> None:
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    _, code = store.credit.issue_gift_card(eur("100.00"))
    token = unpaid_cart(store)
    store.checkout.apply_gift_card(token, code)
    order = place(store, token, "held")

    # Opened as it was written: its stock is held for shipping, not for a payment.
    clock.advance(timedelta(hours=1))
    assert store.inventory.release_expired_reservations() == 0
    assert [(i.on_hand, i.reserved) for i in store.inventory.stock("RETRO-MUG")] == [(5, 1)]
    with pytest.raises(NotFound):
        store.carts.get(token)
    assert store.orders.get(order.id).status is OrderStatus.OPEN


def test_a_gift_card_spent_in_two_orders_partly_each(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("50.00"))
    totals = []
    for n in range(2):
        token = unpaid_cart(store)
        store.checkout.apply_gift_card(token, code)
        order = place(store, token, f"part-{n}")
        assert order.status is OrderStatus.OPEN
        totals.append(order.totals.grand_total_units)
    # One mug with shipping costs well under half of the card each time.
    assert card_units(store, card.id) == 5000 - sum(totals)
    entries = store.credit.gift_card(card.id).entries
    assert [e.reason for e in entries] == [
        CreditReason.ISSUED,
        CreditReason.SPENT,
        CreditReason.SPENT,
    ]
    assert sum(e.units for e in entries) == card_units(store, card.id)


def test_a_gift_card_beside_the_gateway_leaves_it_the_rest(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("10.00"))
    cart = ready_cart(store, lines=MUG)
    summary = store.checkout.apply_gift_card(cart.token, code)
    total = summary.breakdown.grand_total_units
    assert summary.due_units == total - 1000

    order = store.checkout.place_order(cart.token, idempotency_key="beside")

    assert order.status is OrderStatus.OPEN
    payment = store.payments.for_order(order.id)
    assert payment.amount_units == payment.authorized_units == total - 1000
    assert order.due_units == total - 1000
    assert card_units(store, card.id) == 0
    assert len(authorized(store)) == 1


def test_placing_again_never_spends_the_card_twice(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("10.00"))
    cart = ready_cart(store, payment_token="tok_requires_action", lines=MUG)
    store.checkout.apply_gift_card(cart.token, code)
    order = store.checkout.place_order(cart.token, idempotency_key="once")
    assert order.status is OrderStatus.PENDING_PAYMENT

    assert store.checkout.place_order(cart.token, idempotency_key="once").id == order.id
    # Another key on the same cart: the cart has become an order already, whatever
    # is left on its card.
    with pytest.raises(CartAlreadyOrdered):
        store.checkout.place_order(cart.token, idempotency_key="twice")
    spent = [e for e in store.credit.gift_card(card.id).entries if e.reason is CreditReason.SPENT]
    assert [(e.units, e.reference) for e in spent] == [(-1000, order.id)]


def test_the_rest_must_still_be_paid_for(store: Store) -> None:
    _, code = store.credit.issue_gift_card(eur("5.00"))
    token = unpaid_cart(store)
    summary = store.checkout.apply_gift_card(token, code)
    assert "payment_method" in summary.missing
    with pytest.raises(CheckoutIncomplete) as refused:
        place(store, token, "short")
    assert refused.value.missing == ("payment_method",)


def test_a_card_in_another_currency_is_refused(store: Store) -> None:
    _, code = store.credit.issue_gift_card(Money("500", "JPY"))
    cart = store.carts.create("EUR")
    with pytest.raises(GiftCardRefused) as refused:
        store.checkout.apply_gift_card(cart.token, code)
    assert refused.value.reason == "currency"


def test_a_card_expires_by_the_clock(store: Store, clock: FixedClock) -> None:
    card, code = store.credit.issue_gift_card(eur("30.00"), expires_at=START + timedelta(days=1))
    token = unpaid_cart(store)
    store.checkout.apply_gift_card(token, code)
    clock.advance(timedelta(days=2))

    with pytest.raises(GiftCardRefused) as refused:
        place(store, token, "late")
    assert refused.value.reason == "expired"
    assert store.credit.gift_card_balance(code).status is GiftCardStatus.EXPIRED
    assert card_units(store, card.id) == 3000

    assert store.credit.expire_gift_cards() == [card.id]
    assert store.credit.expire_gift_cards() == []
    written_off = store.credit.gift_card(card.id)
    assert written_off.balance_units == 0
    assert written_off.entries[-1].reason is CreditReason.EXPIRED


def test_a_card_spent_meanwhile_refuses_the_order_it_would_leave_short(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("25.00"))
    first, second = ready_cart(store, lines=MUG), ready_cart(store, lines=MUG)
    store.checkout.apply_gift_card(first.token, code)
    store.checkout.apply_gift_card(second.token, code)
    placed = store.checkout.place_order(first.token, idempotency_key="first")
    left = card_units(store, card.id)
    # Both carts hold one mug: what the first left on the card pays part of the second.
    assert 0 < left < placed.totals.grand_total_units

    # The second was shown the card paying all of it; now it would pay less.
    with pytest.raises(InsufficientBalance) as refused:
        store.checkout.place_order(second.token, idempotency_key="second")
    assert refused.value.field == "gift_card"
    assert refused.value.available == left
    assert card_units(store, card.id) == left

    # Shown again, the customer pays the rest through the gateway.
    assert store.checkout.summary(second.token).due_units > 0
    order = store.checkout.place_order(second.token, idempotency_key="second")
    assert order.status is OrderStatus.OPEN
    assert card_units(store, card.id) == 0


def test_a_removed_card_pays_nothing(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("25.00"))
    cart = ready_cart(store, lines=MUG)
    store.checkout.apply_gift_card(cart.token, code)
    summary = store.checkout.remove_gift_card(cart.token, card.id)
    assert summary.tenders == ()
    order = store.checkout.place_order(cart.token, idempotency_key="without")
    assert order.tenders == ()
    assert card_units(store, card.id) == 2500


# --- store credit at checkout ------------------------------------------------------------


def test_store_credit_pays_a_signed_in_customers_order(store: Store) -> None:
    store.credit.issue_store_credit(ADA, eur("8.00"))
    cart = store.carts.create("EUR", customer_id=ADA)
    store.carts.add(cart.token, "RETRO-MUG", 1)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    summary = store.checkout.use_store_credit(cart.token)
    assert [(t.kind, t.units) for t in summary.tenders] == [(TenderKind.STORE_CREDIT, 800)]

    order = store.checkout.place_order(cart.token, idempotency_key="credit")

    assert order.status is OrderStatus.OPEN
    assert store.payments.for_order(order.id).amount_units == order.totals.grand_total_units - 800
    assert store.credit.store_credit(ADA, "EUR").balance_units == 0


def test_store_credit_is_for_signed_in_customers_and_their_own_carts(store: Store) -> None:
    store.credit.issue_store_credit(ADA, eur("8.00"))
    guest = unpaid_cart(store)
    with pytest.raises(InvalidInput) as refused:
        store.checkout.use_store_credit(guest)
    assert refused.value.field == "token"
    ada = unpaid_cart(store, customer_id=ADA)
    with pytest.raises(AccessDenied):
        store.as_shopper("customer-bob").checkout.use_store_credit(ada)
    with pytest.raises(InsufficientBalance):
        store.as_shopper(ADA).checkout.use_store_credit(ada, eur("9.00"))
    with pytest.raises(CurrencyMismatch):
        store.checkout.use_store_credit(ada, Money("5", "JPY"))
    summary = store.as_shopper(ADA).checkout.use_store_credit(ada, eur("3.00"))
    assert summary.tenders[0].units == 300
    assert store.checkout.remove_store_credit(ada).tenders == ()


# --- given back when the order fails ---------------------------------------------------


def test_a_cancelled_order_gives_its_tenders_back_once(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("10.00"))
    store.credit.issue_store_credit(ADA, eur("5.00"))
    cart = ready_cart(store)
    store.carts.sign_in(cart.token, ADA)
    store.checkout.apply_gift_card(cart.token, code)
    store.checkout.use_store_credit(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="cancel")
    assert order.tendered_units == 1500
    assert (card_units(store, card.id), store.credit.store_credit(ADA, "EUR").balance_units) == (
        0,
        0,
    )

    cancelled = store.orders.cancel(order.id, "changed mind")
    store.recovery.sweep(timedelta(0))

    assert cancelled.status is OrderStatus.CANCELLED
    assert card_units(store, card.id) == 1000
    account = store.credit.store_credit(ADA, "EUR")
    assert account.balance_units == 500
    restored = [e for e in account.entries if e.reason is CreditReason.RESTORED]
    assert [(e.units, e.reference) for e in restored] == [(500, order.id)]
    assert (
        sum(e.reason is CreditReason.RESTORED for e in store.credit.gift_card(card.id).entries) == 1
    )


def test_a_declined_payment_gives_the_card_back(store: Store) -> None:
    card, code = store.credit.issue_gift_card(eur("10.00"))
    cart = ready_cart(store, payment_token="tok_declined", lines=MUG)
    store.checkout.apply_gift_card(cart.token, code)

    order = store.checkout.place_order(cart.token, idempotency_key="declined")

    assert order.status is OrderStatus.CANCELLED
    assert card_units(store, card.id) == 1000
    # The card pays again once the customer chooses another means of payment.
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    again = store.checkout.place_order(cart.token, idempotency_key="declined-again")
    assert again.status is OrderStatus.OPEN
    assert card_units(store, card.id) == 0


def test_an_action_never_completed_gives_the_card_back_in_the_sweep(
    store: Store, clock: FixedClock
) -> None:
    card, code = store.credit.issue_gift_card(eur("10.00"))
    cart = ready_cart(store, payment_token="tok_requires_action", lines=MUG)
    store.checkout.apply_gift_card(cart.token, code)
    order = store.checkout.place_order(cart.token, idempotency_key="action")
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert card_units(store, card.id) == 0

    clock.advance(timedelta(hours=2))
    report = store.recovery.sweep()

    assert order.id in report.cancelled
    assert store.orders.get(order.id).status is OrderStatus.CANCELLED
    assert card_units(store, card.id) == 1000


# --- a refund as credit -----------------------------------------------------------------


def test_a_refund_may_be_paid_as_store_credit_or_onto_a_card(store: Store) -> None:
    card, _ = store.credit.issue_gift_card(eur("10.00"))
    with store.storage.unit_of_work() as uow:
        credit_for_refund(
            uow,
            customer_id=ADA,
            gift_card_id=None,
            currency="EUR",
            units=450,
            reference="refund-1",
            at=START,
            actor="staff:sam",
        )
        credit_for_refund(
            uow,
            customer_id=None,
            gift_card_id=card.id,
            currency="EUR",
            units=300,
            reference="refund-2",
            at=START,
            actor="staff:sam",
        )
        uow.commit()
    account = store.credit.store_credit(ADA, "EUR")
    assert [(e.units, e.reason, e.reference) for e in account.entries] == [
        (450, CreditReason.REFUND, "refund-1")
    ]
    assert card_units(store, card.id) == 1300
    with store.storage.unit_of_work() as uow, pytest.raises(CurrencyMismatch):
        credit_for_refund(
            uow,
            customer_id=None,
            gift_card_id=card.id,
            currency="USD",
            units=100,
            reference="refund-3",
            at=START,
            actor="staff",
        )
