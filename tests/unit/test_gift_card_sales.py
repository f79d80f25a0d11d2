"""Gift cards sold, in the domain: what each unit of a line is worth, and which cards a
refund may take back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.credit import GiftCard, GiftCardStatus, new_gift_card_code
from commercekit.domain.errors import RefundRefused
from commercekit.domain.gift_card_sales import (
    GiftCardPurchase,
    PurchaseState,
    SoldCard,
    unit_values,
)
from commercekit.domain.orders import OrderLine

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def gift_line(quantity: int, total_units: int) -> OrderLine:
    return OrderLine(
        sku="GIFT-25",
        product_id="gift",
        name="Gift card",
        quantity=quantity,
        unit_price_units=total_units,
        subtotal_units=total_units,
        discount_units=0,
        tax_units=0,
        total_units=total_units,
        requires_shipping=False,
        track_stock=False,
    )


@given(st.integers(1, 50), st.integers(0, 10**12))
def test_the_units_of_a_line_are_worth_its_total_exactly(quantity: int, total: int) -> None:
    values = unit_values(gift_line(quantity, total))

    assert len(values) == quantity
    assert sum(values) == total
    # Each within one minor unit of its exact share, the last taking what is left.
    assert all(abs(value * quantity - total) < quantity for value in values)
    assert values[-1] == total - sum(values[:-1])


def test_an_odd_total_gives_the_last_unit_the_rest() -> None:
    # 5409 / 2 = 2704.5: the first unit 2704, the last what is left, 2705.
    assert unit_values(gift_line(2, 5409)) == (2704, 2705)


def issued(*worth: int) -> tuple[GiftCardPurchase, dict[str, GiftCard]]:
    """A line's purchase with a card issued per unit worth ``worth``."""
    cards = {}
    sold = []
    for number, units in enumerate(worth, 1):
        code = new_gift_card_code(f"token-for-unit-{number}-of-the-line")
        card = GiftCard.issue(code, units, "EUR", at=NOW, actor="system:gift_cards")
        cards[card.id] = card
        sold.append(
            SoldCard(number=number, units=units, gift_card_id=card.id, display=card.display)
        )
    purchase = GiftCardPurchase(
        id=GiftCardPurchase.key("order_1", "GIFT-25"),
        order_id="order_1",
        sku="GIFT-25",
        currency="EUR",
        opened_at=NOW,
        cards=tuple(sold),
        state=PurchaseState.ISSUED,
        issued_at=NOW,
    )
    return purchase, cards


def test_a_refund_takes_whole_cards_in_unit_order_and_skips_a_spent_one() -> None:
    purchase, cards = issued(2500, 2500, 2500)
    first, second, third = cards.values()
    first.spend(1, currency="EUR", reference="order_2", at=NOW, actor="system")

    taken = purchase.take_back(1, by="refund_1", cards=cards)

    assert taken == [second]
    assert second.status is GiftCardStatus.DISABLED
    assert [sold.taken_back_by for sold in purchase.cards] == ["", "refund_1", ""]
    with pytest.raises(RefundRefused) as refused:
        purchase.take_back(2, by="refund_2", cards=cards)
    assert first.display in str(refused.value)
    assert [sold.taken_back_by for sold in purchase.cards] == ["", "refund_1", ""]
    assert third.status is GiftCardStatus.ACTIVE


def test_a_failed_refund_gives_back_only_what_it_disabled() -> None:
    purchase, cards = issued(2500, 2500)
    first, second = cards.values()
    second.disable()  # staff stopped it (lost) before the refund
    purchase.take_back(2, by="refund_1", cards=cards)
    assert [sold.disabled_card for sold in purchase.cards] == [True, False]

    assert purchase.give_back("refund_1") == (first.id,)
    assert purchase.left() == 2
    assert purchase.give_back("refund_1") == ()
