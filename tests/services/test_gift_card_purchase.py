"""Gift cards sold as goods, on memory and a SQLite file: a paid order's gift-card lines
issue one card per unit worth what was paid for it, the buyer is told each code once,
a delivery of the payment again issues nothing, and a refund takes back only a card
that still holds all it was worth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from commercekit import AmountOffOrder, Coupon, Money, Product, Promotion, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.credit import GiftCard, GiftCardStatus
from commercekit.domain.events import OrderPaid
from commercekit.domain.gift_card_sales import CANCELLED, GiftCardPurchase, PurchaseState
from commercekit.domain.money import from_minor_units
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.returns import RefundStatus
from commercekit.errors import GiftCardRefused, InvalidInput, PaymentDeclined, RefundRefused
from commercekit.hookspecs import hookimpl
from commercekit.store import Store

from .conftest import ADDRESS, CONFIG, START, seed

GIFT = "GIFT-25"
#: A shop that sells gift cards, charges at once (so that refunds have money to give
#: back), taxes at 19% in Germany, and writes each message to a folder.
SELLING = {
    **CONFIG,
    "capture": "immediate",
    "gift_card_skus": [GIFT],
    "gift_card_expiry_days": 365,
}


@pytest.fixture
def store(store_url: str, clock: FixedClock, tmp_path: Path) -> Iterator[Store]:
    config = {**SELLING, "notifier": {"options": {"directory": str(tmp_path / "outbox")}}}
    with Store.open(store_url, config=config, clock=clock) as opened:
        stock(opened)
        yield opened


def stock(store: Store) -> None:
    seed(store)
    store.catalog.add_product(
        Product(id="gift", name="Gift card", variants=[Variant(sku=GIFT, digital=True)])
    )
    store.catalog.publish("gift")
    store.catalog.set_price("eu", GIFT, Money("25.00", "EUR"))
    store.catalog.add_promotion(
        Promotion(
            id="five-off",
            name="Five off",
            benefit=AmountOffOrder(Money("5.00", "EUR")),
            requires_coupon=True,
        )
    )
    store.catalog.add_coupon(Coupon(code="FIVE", promotion_id="five-off"))


def buy(store: Store, key: str, *, gifts: int = 2, coupon: bool = True) -> Order:
    """An order of ``gifts`` gift cards and the clock's manual (both digital), paid."""
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, GIFT, gifts)
    store.carts.add(cart.token, "CLOCK-PDF", 1)
    if coupon:
        store.carts.apply_coupon(cart.token, "FIVE")
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_billing_address(cart.token, ADDRESS)
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key=key)


def line(order: Order, sku: str = GIFT) -> Any:
    (found,) = [each for each in order.lines if each.sku == sku]
    return found


def bought(store: Store, order: Order) -> GiftCardPurchase:
    (purchase,) = store.gift_card_sales.for_order(order.id)
    return purchase


def cards_of(store: Store, order: Order) -> list[GiftCard]:
    return [store.credit.gift_card(sold.gift_card_id) for sold in bought(store, order).cards]


def notice_of(store: Store, order: Order) -> Notice:
    notice = store.notifications.find(f"gift_card_purchased:{order.id}:zoe@example.com")
    assert notice is not None
    return notice


def codes_in(notice: Notice) -> list[str]:
    """The codes a notice lists, in its order."""
    return [
        row.split(":")[0].removeprefix("- ")
        for row in notice.text.splitlines()
        if row.startswith("- ")
    ]


def every_card(store: Store) -> list[GiftCard]:
    with store.storage.unit_of_work() as uow:
        return uow.records(GiftCard).where(limit=500)


def test_two_cards_bought_with_a_discount_add_up_to_what_their_line_cost(store: Store) -> None:
    order = buy(store, "two")

    assert order.status is OrderStatus.OPEN
    # 2 x 25.00 and a 5.00 manual: 55.00, of which the 5.00 off takes 4.55 from the
    # cards' line (5.00 x 50/55 = 4.545..., the larger remainder) and 0.45 from the
    # manual. 45.45 taxed at 19% is 54.0855, 54.09: each card 27.04, the last 27.05.
    assert line(order).total_units == 5409
    cards = cards_of(store, order)
    assert [card.initial_units for card in cards] == [2704, 2705]
    assert sum(card.balance_units for card in cards) == line(order).total_units
    for number, card in enumerate(cards, 1):
        assert card.currency == "EUR"
        assert card.status is GiftCardStatus.ACTIVE
        assert card.expires_at == START + timedelta(days=365)
        assert card.bought_with == f"{order.id}:{GIFT}:{number}"
        assert card.issued_by == "system:gift_cards"
    purchase = bought(store, order)
    assert purchase.state is PurchaseState.ISSUED
    assert [sold.units for sold in purchase.cards] == [2704, 2705]
    assert store.orders.get(order.id).history[-1].action == "gift_cards"


def test_the_buyer_is_told_both_codes_once_and_the_store_keeps_them_nowhere_else(
    store: Store,
) -> None:
    order = buy(store, "told")

    notice = notice_of(store, order)
    assert notice.status is NoticeStatus.SENT
    assert notice.template == "gift_card_purchased"
    assert notice.recipient == "zoe@example.com"
    codes = codes_in(notice)
    assert len(codes) == 2
    for code, card in zip(codes, cards_of(store, order), strict=True):
        assert code in notice.html
        assert GiftCard.key_for(code) == card.id
        balance = store.credit.gift_card_balance(code).balance
        assert balance == from_minor_units(card.initial_units, "EUR")
    assert "€27.04" in notice.text
    assert "€27.05" in notice.text
    assert "November 27, 2027" in notice.text  # a year after the sale
    # The code is in the message, not in the card nor in what the line bought.
    for code in codes:
        compact = code.replace("-", "")
        assert compact not in repr(bought(store, order))
        assert all(compact not in repr(card) for card in cards_of(store, order))


def test_a_bought_card_pays_at_a_later_checkout(store: Store) -> None:
    order = buy(store, "pays")
    first, _ = codes_in(notice_of(store, order))

    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 1)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    summary = store.checkout.apply_gift_card(cart.token, first)
    # 12.00 + 4.90 shipping, 19% on the mug (2.28): 19.18, of which the card pays all
    # it holds (27.04 > 19.18).
    assert summary.breakdown.grand_total_units == 1918
    assert [tender.units for tender in summary.tenders] == [1918]
    later = store.checkout.place_order(cart.token, idempotency_key="later")

    assert later.status is OrderStatus.OPEN
    assert store.credit.gift_card_balance(first).balance == Money("7.86", "EUR")  # 27.04 - 19.18


def test_the_same_payment_delivered_again_issues_nothing_more(store: Store) -> None:
    order = buy(store, "again")
    before = {card.id for card in every_card(store)}
    notice = notice_of(store, order)

    paid = OrderPaid(occurred_at=START, order_id=order.id)
    assert store.gift_card_sales.on_events([paid, paid]) == 0
    assert store.gift_card_sales.on_events((paid,)) == 0
    store.deliver_events()

    assert {card.id for card in every_card(store)} == before
    assert len(before) == 2
    assert bought(store, order).version == 1
    again = notice_of(store, order)
    assert (again.text, again.attempts) == (notice.text, notice.attempts)
    assert store.gift_card_sales.issue_due() == 0


def test_refunding_an_unspent_card_disables_it(store: Store) -> None:
    order = buy(store, "refund")
    first, second = codes_in(notice_of(store, order))

    refund = store.refunds.refund_units(order.id, {GIFT: 1}, reason="a gift no longer needed")

    # The first unit of a line comes back at its share, as its card was worth.
    assert refund.plan.total_units == 2704
    one, two = cards_of(store, order)
    assert one.status is GiftCardStatus.DISABLED
    assert one.balance_units == 2704  # disabled, not emptied: the books still show it
    assert two.status is GiftCardStatus.ACTIVE
    with pytest.raises(GiftCardRefused) as refused:
        store.credit.gift_card_balance(first)
    assert refused.value.reason == "disabled"
    assert store.credit.gift_card_balance(second).balance == Money("27.05", "EUR")
    sold = bought(store, order).cards
    assert [(each.taken_back_by, each.disabled_card) for each in sold] == [
        (refund.id, True),
        ("", False),
    ]


def test_refunding_a_spent_card_is_refused_and_an_unspent_one_is_taken_instead(
    store: Store,
) -> None:
    order = buy(store, "spent")
    first, _ = codes_in(notice_of(store, order))
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "CLOCK-PDF", 1)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_billing_address(cart.token, ADDRESS)
    store.checkout.apply_gift_card(cart.token, first)
    store.checkout.place_order(cart.token, idempotency_key="spend")
    one, two = cards_of(store, order)
    assert one.balance_units == 2704 - 595  # the manual: 5.00 and 19%

    with pytest.raises(RefundRefused) as refused:
        store.refunds.refund_units(order.id, {GIFT: 2}, reason="both, please")
    assert refused.value.field == "quantities"
    assert one.display in str(refused.value)
    # Nothing of it was written: no refund, both cards as they were.
    assert store.refunds.for_order(order.id).refunds == ()
    assert [card.status for card in cards_of(store, order)] == [GiftCardStatus.ACTIVE] * 2
    assert all(not sold.taken_back for sold in bought(store, order).cards)

    refund = store.refunds.refund_units(order.id, {GIFT: 1}, reason="the unspent one")
    one, two = cards_of(store, order)
    assert (one.status, two.status) == (GiftCardStatus.ACTIVE, GiftCardStatus.DISABLED)
    assert [sold.taken_back_by for sold in bought(store, order).cards] == ["", refund.id]
    with pytest.raises(RefundRefused):
        store.refunds.refund_units(order.id, {GIFT: 1}, reason="the spent one")


def test_a_refund_the_gateway_refuses_gives_the_card_back(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = buy(store, "declined")

    def decline(*args: object, **kwargs: object) -> None:
        raise PaymentDeclined("refund", "card_closed")

    monkeypatch.setattr(store.payments, "refund", decline)
    with pytest.raises(PaymentDeclined):
        store.refunds.refund_units(order.id, {GIFT: 1}, reason="declined")

    assert [card.status for card in cards_of(store, order)] == [GiftCardStatus.ACTIVE] * 2
    assert all(not sold.taken_back for sold in bought(store, order).cards)
    monkeypatch.undo()
    refund = store.refunds.refund_units(order.id, {GIFT: 1}, reason="again")
    assert refund.status is RefundStatus.DONE
    assert cards_of(store, order)[0].status is GiftCardStatus.DISABLED


def test_cancelling_the_order_disables_its_cards_unless_one_was_spent(store: Store) -> None:
    kept = buy(store, "cancel")
    store.orders.cancel(kept.id, "changed their mind")
    assert store.orders.get(kept.id).status is OrderStatus.CANCELLED
    assert [card.status for card in cards_of(store, kept)] == [GiftCardStatus.DISABLED] * 2
    assert {sold.taken_back_by for sold in bought(store, kept).cards} == {CANCELLED}

    spent = buy(store, "spent-then-cancel")
    first, _ = codes_in(notice_of(store, spent))
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "CLOCK-PDF", 1)
    store.checkout.set_contact(cart.token, {"email": "ada@example.com"})
    store.checkout.set_billing_address(cart.token, ADDRESS)
    store.checkout.apply_gift_card(cart.token, first)
    store.checkout.place_order(cart.token, idempotency_key="spend-before-cancel")
    with pytest.raises(RefundRefused):
        store.orders.cancel(spent.id, "too late")
    assert store.orders.get(spent.id).status is OrderStatus.OPEN
    assert [card.status for card in cards_of(store, spent)] == [GiftCardStatus.ACTIVE] * 2


def test_an_order_paid_whole_by_store_credit_issues_its_cards(store: Store) -> None:
    store.credit.issue_store_credit("ada", Money("100.00", "EUR"))
    cart = store.carts.create("EUR", customer_id="ada")
    store.carts.add(cart.token, GIFT, 1)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_billing_address(cart.token, ADDRESS)
    store.checkout.use_store_credit(cart.token)
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="credit")

    assert order.due_units == 0
    (card,) = cards_of(store, order)
    assert card.initial_units == 2975  # 25.00 and 19%
    assert len(codes_in(notice_of(store, order))) == 1


def test_without_a_notifier_the_cards_are_issued_and_nothing_is_kept(
    store_url: str, clock: FixedClock
) -> None:
    with Store.open(store_url, config=SELLING, clock=clock) as quiet:
        stock(quiet)
        order = buy(quiet, "quiet", gifts=1, coupon=False)

        (card,) = cards_of(quiet, order)
        assert card.initial_units == 2975  # 25.00 and 19%
        assert quiet.notifications.find(f"gift_card_purchased:{order.id}:zoe@example.com") is None


def test_cards_that_could_not_be_told_are_owed_then_issued(
    store_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    templates = tmp_path / "mail"
    templates.mkdir()
    broken = templates / "gift_card_purchased.txt"
    broken.write_text("{{ no_such_value }}", "utf-8")
    config = {
        **SELLING,
        "notifier": {"options": {"directory": str(tmp_path / "outbox")}},
        "notification_templates": str(templates),
    }
    with Store.open(store_url, config=config, clock=clock) as shop:
        stock(shop)
        order = buy(shop, "owed")

        assert order.status is OrderStatus.OPEN  # the payment stands
        purchase = bought(shop, order)
        assert purchase.state is PurchaseState.OWED
        assert "gift_card_purchased" in purchase.last_error
        assert every_card(shop) == []

        broken.unlink()
        assert shop.gift_card_sales.issue_due() == 2
        assert bought(shop, order).state is PurchaseState.ISSUED
        assert len(codes_in(notice_of(shop, order))) == 2
        assert shop.gift_card_sales.issue_due() == 0


def test_the_cards_issued_are_told_to_subscribers_by_the_delivery_under_way(
    store_url: str, clock: FixedClock
) -> None:
    received: list[str] = []

    class Recorder:
        @hookimpl
        def on_domain_event(self, event):  # type: ignore[no-untyped-def]
            received.append(event.name)

    with Store.open(store_url, config=SELLING, clock=clock, plugins=[Recorder()]) as shop:
        stock(shop)
        received.clear()  # what setting up the catalogue told
        order = buy(shop, "told", gifts=2, coupon=False)

        assert [card.status for card in cards_of(shop, order)] == [GiftCardStatus.ACTIVE] * 2
        # The cards' events come after the payment that issued them, in the same
        # delivery: none is left waiting.
        paid = received.index("OrderPaid")
        assert received[paid + 1 :].count("GiftCardIssued") == 2
        assert shop.storage.undelivered_events() == []
        assert shop.deliver_events() == 0


def test_a_unit_refunded_before_its_card_was_issued_never_gets_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The payment's delivery is held back (a process that stopped after the commit).
    monkeypatch.setattr(store.gift_card_sales, "on_events", lambda events: 0)
    order = buy(store, "early")
    refund = store.refunds.refund_units(order.id, {GIFT: 1}, reason="before the cards")
    purchase = bought(store, order)
    assert purchase.state is PurchaseState.OPEN
    assert [sold.taken_back_by for sold in purchase.cards] == [refund.id, ""]
    monkeypatch.undo()

    paid = OrderPaid(occurred_at=START, order_id=order.id)
    assert store.gift_card_sales.on_events([paid]) == 1

    purchase = bought(store, order)
    assert purchase.state is PurchaseState.ISSUED
    assert [bool(sold.gift_card_id) for sold in purchase.cards] == [False, True]
    (code,) = codes_in(notice_of(store, order))
    assert store.credit.gift_card_balance(code).balance == Money("27.05", "EUR")
    assert len(every_card(store)) == 1


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"gift_card_skus": ["not a sku"]}, "gift_card_skus.0"),
        ({"gift_card_skus": "GIFT-25"}, "gift_card_skus"),
        ({"gift_card_expiry_days": 0}, "gift_card_expiry_days"),
    ],
)
def test_a_gift_card_setting_that_cannot_be_is_refused_naming_it(
    config: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        Store.open("memory://", config=config)
    assert refused.value.field == field


def test_cards_owed_to_an_order_cancelled_meanwhile_are_owed_no_more(
    store_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    templates = tmp_path / "mail"
    templates.mkdir()
    (templates / "gift_card_purchased.txt").write_text("{{ no_such_value }}", "utf-8")
    config = {
        **SELLING,
        "notifier": {"options": {"directory": str(tmp_path / "outbox")}},
        "notification_templates": str(templates),
    }
    with Store.open(store_url, config=config, clock=clock) as shop:
        stock(shop)
        order = buy(shop, "owed-then-cancelled")
        assert bought(shop, order).state is PurchaseState.OWED

        shop.orders.cancel(order.id, "changed their mind")

        assert shop.gift_card_sales.issue_due() == 0
        assert bought(shop, order).state is PurchaseState.OPEN
        assert every_card(shop) == []
