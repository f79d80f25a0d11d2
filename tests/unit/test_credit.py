"""Store credit and gift cards in the domain: a ledger whose balance is its sum and
never goes below zero, codes kept only as digests, cards that stop paying when
disabled or expired, and what each balance pays of an order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.credit import (
    CODE_ALPHABET,
    CheckoutTenders,
    CreditAccount,
    CreditReason,
    GiftCard,
    GiftCardStatus,
    Ledger,
    Tender,
    TenderKind,
    check_quote,
    code_digest,
    new_gift_card_code,
    normalize_code,
    plan_tenders,
)
from commercekit.domain.errors import (
    GiftCardRefused,
    InsufficientBalance,
    InvalidInput,
    InvalidTransition,
)
from commercekit.domain.events import GiftCardIssued, StoreCreditIssued
from commercekit.domain.orders import OrderPaymentStatus, OrderStatus

from .builders import NOW
from .test_orders import place

TOKEN = "t" * 43
CODE = new_gift_card_code(TOKEN)
LATER = NOW + timedelta(days=30)


def card(units: int = 5000, *, currency: str = "EUR", expires_at: object = None) -> GiftCard:
    return GiftCard.issue(
        CODE,
        units,
        currency,
        at=NOW,
        actor="staff:sam",
        expires_at=expires_at,  # type: ignore[arg-type]
    )


def account(units: int = 0) -> CreditAccount:
    opened = CreditAccount.open("cust-ada", "EUR", at=NOW)
    if units:
        opened.issue(units, CreditReason.ISSUED, reference="welcome", at=NOW, actor="staff:sam")
    return opened


# --- the ledger ------------------------------------------------------------------------

Step = tuple[str, int, str]
steps = st.lists(
    st.tuples(
        st.sampled_from(["credit", "spend", "restore"]),
        st.integers(1, 10_000),
        st.sampled_from(["order-1", "order-2", "order-3"]),
    ),
    max_size=40,
)


def run(ledger: Ledger, moves: list[Step]) -> None:
    """Apply ``moves``; a refused spend must leave the ledger exactly as it was."""
    for kind, units, reference in moves:
        before = (ledger.balance_units, ledger.entries, ledger.version)
        if kind == "credit":
            ledger.credit(units, CreditReason.REFUND, reference="refund", at=NOW, actor="staff")
        elif kind == "restore":
            given_back = ledger.restore(reference, at=NOW, actor="system")
            assert given_back >= 0
            # A second restore of the same order gives nothing more.
            assert ledger.restore(reference, at=NOW, actor="system") == 0
        elif units > ledger.balance_units:
            with pytest.raises(InsufficientBalance) as refused:
                ledger.debit(units, CreditReason.SPENT, reference=reference, at=NOW, actor="c")
            assert (refused.value.requested, refused.value.available) == (units, before[0])
            assert (ledger.balance_units, ledger.entries, ledger.version) == before
        else:
            ledger.debit(units, CreditReason.SPENT, reference=reference, at=NOW, actor="c")
        assert ledger.balance_units == sum(entry.units for entry in ledger.entries)
        assert ledger.balance_units >= 0
        assert ledger.version >= before[2]


@given(moves=steps)
def test_an_accounts_balance_is_its_ledgers_sum_and_never_negative(moves: list[Step]) -> None:
    kept = account(2500)
    run(kept, moves)
    # Every entry has its own id; every change bumped the version once.
    assert len({entry.id for entry in kept.entries}) == len(kept.entries)
    assert kept.version == len(kept.entries)


@given(moves=steps)
def test_a_gift_cards_balance_is_its_ledgers_sum_and_never_negative(moves: list[Step]) -> None:
    kept = card(2500)
    run(kept, moves)
    assert kept.initial_units == 2500
    # What each order still holds of the card is what it spent less what came back.
    for reference in ("order-1", "order-2", "order-3"):
        assert kept.taken_for(reference) >= 0


def test_spending_more_than_is_left_is_refused_naming_the_balance() -> None:
    kept = account(1000)
    with pytest.raises(InsufficientBalance) as refused:
        kept.spend(1001, reference="order-1", at=NOW, actor="customer")
    assert refused.value.code == "insufficient_balance"
    assert refused.value.field == "store_credit"
    assert "10.00 EUR is left, 10.01 EUR asked" in str(refused.value)
    assert kept.balance_units == 1000


@pytest.mark.parametrize("units", [0, -5, True, 10**16, "5"])
def test_a_movement_is_a_positive_whole_number_of_minor_units(units: object) -> None:
    kept = account(1000)
    with pytest.raises(InvalidInput) as refused:
        kept.credit(units, CreditReason.ADJUSTED, reference="", at=NOW, actor="staff")  # type: ignore[arg-type]
    assert refused.value.field == "amount"
    assert kept.entries[-1].reason is CreditReason.ISSUED


def test_a_reason_that_takes_does_not_add() -> None:
    kept = account(1000)
    with pytest.raises(InvalidInput) as refused:
        kept.credit(5, CreditReason.SPENT, reference="", at=NOW, actor="staff")
    assert refused.value.field == "reason"
    with pytest.raises(InvalidInput):
        kept.debit(5, CreditReason.ISSUED, reference="", at=NOW, actor="staff")
    assert kept.balance_units == 1000


def test_store_credit_is_one_account_per_customer_and_currency() -> None:
    kept = account(1200)
    assert kept.id == "credit:cust-ada:EUR"
    assert kept.id != CreditAccount.key("cust-ada", "USD")
    assert kept.events == [
        StoreCreditIssued(
            occurred_at=NOW,
            customer_id="cust-ada",
            currency="EUR",
            amount_units=1200,
            reason="issued",
            reference="welcome",
        )
    ]
    index = kept.index()
    assert (index.owner, index.ref) == ("cust-ada", "EUR")


def test_restoring_an_order_gives_back_what_it_took_once() -> None:
    kept = account(5000)
    kept.spend(1500, reference="order-1", at=NOW, actor="customer")
    kept.spend(700, reference="order-2", at=NOW, actor="customer")

    assert kept.restore("order-1", at=LATER, actor="system") == 1500
    assert kept.restore("order-1", at=LATER, actor="system") == 0
    # 5000 - 1500 - 700 + 1500: order-2 keeps what it took.
    assert kept.balance_units == 4300
    last = kept.entries[-1]
    assert (last.reason, last.reference, last.units) == (CreditReason.RESTORED, "order-1", 1500)


def test_what_a_refund_under_the_orders_reference_gave_back_is_not_restored_again() -> None:
    kept = account(5000)
    kept.spend(1500, reference="order-1", at=NOW, actor="customer")
    kept.credit(500, CreditReason.REFUND, reference="order-1", at=NOW, actor="staff")
    # 1500 taken, 500 of it refunded already: 1000 is left to restore.
    assert kept.restore("order-1", at=LATER, actor="system") == 1000
    assert kept.balance_units == 5000


# --- codes -----------------------------------------------------------------------------


def test_a_code_is_four_groups_of_an_alphabet_without_look_alikes() -> None:
    groups = CODE.split("-")
    assert [len(group) for group in groups] == [4, 4, 4, 4]
    assert all(character in CODE_ALPHABET for character in "".join(groups))
    assert not set("01IO") & set(CODE_ALPHABET)


@given(tokens=st.lists(st.text(min_size=16, max_size=64), min_size=2, max_size=20, unique=True))
def test_different_tokens_give_different_codes(tokens: list[str]) -> None:
    assert len({new_gift_card_code(token) for token in tokens}) == len(tokens)


def test_a_code_is_found_however_it_is_typed_and_never_stored() -> None:
    kept = card()
    typed = f"  {CODE.lower().replace('-', ' ')} "
    assert GiftCard.key_for(typed) == kept.id
    assert normalize_code(typed) == CODE.replace("-", "")
    assert kept.id == f"gift_card:{code_digest(CODE)}"
    # The code itself is nowhere in what is stored; its last four show which card.
    assert CODE.replace("-", "") not in repr(kept)
    assert kept.last4 == CODE[-4:]
    assert kept.display.endswith(CODE[-4:])


@pytest.mark.parametrize("typed", ["", "ABCD", "0000-0000-0000-0000", CODE + "A", "ÄBCD" * 4])
def test_text_that_cannot_be_a_code_opens_no_card(typed: str) -> None:
    assert GiftCard.key_for(typed) is None


def test_a_short_token_makes_no_code() -> None:
    with pytest.raises(InvalidInput):
        new_gift_card_code("short")


# --- gift cards ------------------------------------------------------------------------


def test_issuing_a_card_credits_its_amount_and_says_so() -> None:
    kept = card(2500)
    assert kept.balance_units == kept.initial_units == 2500
    assert [(e.units, e.reason) for e in kept.entries] == [(2500, CreditReason.ISSUED)]
    assert kept.events == [
        GiftCardIssued(occurred_at=NOW, gift_card_id=kept.id, currency="EUR", amount_units=2500)
    ]


def test_a_card_expires_by_the_clock() -> None:
    kept = card(expires_at=LATER)
    assert kept.status_at(LATER - timedelta(seconds=1)) is GiftCardStatus.ACTIVE
    assert kept.status_at(LATER) is GiftCardStatus.EXPIRED
    with pytest.raises(GiftCardRefused) as refused:
        kept.spend(100, currency="EUR", reference="order-1", at=LATER, actor="customer")
    assert refused.value.reason == "expired"
    assert kept.balance_units == 5000


def test_a_card_cannot_expire_before_it_is_issued() -> None:
    with pytest.raises(InvalidInput) as refused:
        card(expires_at=NOW)
    assert refused.value.field == "expires_at"


def test_a_disabled_card_and_one_in_another_currency_do_not_pay() -> None:
    kept = card()
    with pytest.raises(GiftCardRefused) as refused:
        kept.spend(100, currency="USD", reference="order-1", at=NOW, actor="customer")
    assert refused.value.reason == "currency"
    assert kept.disable()
    assert not kept.disable()
    with pytest.raises(GiftCardRefused) as refused:
        kept.check_usable("EUR", NOW)
    assert refused.value.reason == "disabled"
    assert kept.index().state == "disabled"
    assert kept.enable()
    kept.check_usable("EUR", NOW)


def test_a_used_up_card_is_refused_as_such() -> None:
    kept = card(300)
    kept.spend(300, currency="EUR", reference="order-1", at=NOW, actor="customer")
    with pytest.raises(GiftCardRefused) as refused:
        kept.check_usable("EUR", NOW)
    assert refused.value.reason == "used_up"
    assert kept.index().due is None


def test_an_expired_card_is_written_off_once() -> None:
    kept = card(800, expires_at=LATER)
    assert kept.index().due == LATER
    assert kept.write_off(at=NOW, actor="system") == 0
    assert kept.write_off(at=LATER, actor="system") == 800
    assert kept.write_off(at=LATER, actor="system") == 0
    assert kept.balance_units == 0
    assert kept.entries[-1].reason is CreditReason.EXPIRED


# --- what the balances pay of an order ---------------------------------------------------


def cards_by_id(*cards: GiftCard) -> dict[str, GiftCard]:
    return {kept.id: kept for kept in cards}


def choice(*cards: GiftCard, credit: bool = False, units: int | None = None) -> CheckoutTenders:
    chosen = CheckoutTenders(id="cart-1", started_at=NOW)
    for kept in cards:
        chosen.add_card(kept.id, kept.display)
    if credit:
        chosen.use_store_credit(units)
    return chosen


def other_card(units: int) -> GiftCard:
    return GiftCard.issue(new_gift_card_code("u" * 43), units, "EUR", at=NOW, actor="staff:sam")


def test_cards_pay_first_in_order_then_store_credit_then_the_gateway() -> None:
    first, second = card(1000), other_card(1500)
    kept = account(4000)
    tenders = plan_tenders(
        6000,
        "EUR",
        choice(first, second, credit=True, units=2000),
        cards=cards_by_id(first, second),
        account=kept,
        at=NOW,
        strict=True,
    )
    # 1000 and 1500 from the cards, 2000 (as asked) of credit: 1500 is left to the gateway.
    assert [(t.kind, t.units) for t in tenders] == [
        (TenderKind.GIFT_CARD, 1000),
        (TenderKind.GIFT_CARD, 1500),
        (TenderKind.STORE_CREDIT, 2000),
    ]


def test_balances_pay_no_more_than_the_total() -> None:
    first, second = card(5000), other_card(1500)
    tenders = plan_tenders(
        3000,
        "EUR",
        choice(first, second, credit=True),
        cards=cards_by_id(first, second),
        account=account(4000),
        at=NOW,
        strict=True,
    )
    assert tenders == (
        Tender(kind=TenderKind.GIFT_CARD, source_id=first.id, reference=first.display, units=3000),
    )


def test_a_card_that_cannot_pay_is_refused_strictly_and_left_out_leniently() -> None:
    spent = card(500)
    spent.spend(500, currency="EUR", reference="order-0", at=NOW, actor="customer")
    chosen = choice(spent)
    with pytest.raises(InsufficientBalance) as refused:
        plan_tenders(
            3000, "EUR", chosen, cards=cards_by_id(spent), account=None, at=NOW, strict=True
        )
    assert refused.value.field == "gift_card"
    lenient = plan_tenders(
        3000, "EUR", chosen, cards=cards_by_id(spent), account=None, at=NOW, strict=False
    )
    assert lenient == ()
    with pytest.raises(GiftCardRefused) as unknown:
        plan_tenders(3000, "EUR", chosen, cards={}, account=None, at=NOW, strict=True)
    assert unknown.value.reason == "unknown"


def test_store_credit_asked_for_is_taken_whole_or_refused() -> None:
    chosen = choice(credit=True, units=2000)
    with pytest.raises(InsufficientBalance) as refused:
        plan_tenders(5000, "EUR", chosen, cards={}, account=account(1500), at=NOW, strict=True)
    assert (refused.value.requested, refused.value.available) == (2000, 1500)
    assert refused.value.field == "store_credit"
    everything = choice(credit=True)
    (tender,) = plan_tenders(
        5000, "EUR", everything, cards={}, account=account(1500), at=NOW, strict=True
    )
    assert tender.units == 1500
    with pytest.raises(InsufficientBalance):
        plan_tenders(5000, "EUR", everything, cards={}, account=None, at=NOW, strict=True)


def test_an_order_asking_the_gateway_for_more_than_was_shown_is_refused() -> None:
    chosen = choice(card())
    chosen.quote(1000)  # shown: 3000 total, 2000 by the card, 1000 to the gateway
    paid_less = (Tender(kind=TenderKind.GIFT_CARD, source_id="c", reference="c", units=1500),)
    with pytest.raises(InsufficientBalance) as refused:
        check_quote(chosen, paid_less, 3000, "EUR", quoted_total_units=3000)
    assert (refused.value.requested, refused.value.available) == (2000, 1500)
    paid_as_shown = (Tender(kind=TenderKind.GIFT_CARD, source_id="c", reference="c", units=2000),)
    check_quote(chosen, paid_as_shown, 3000, "EUR", quoted_total_units=3000)
    # A total that changed is the price check's to refuse or accept.
    check_quote(chosen, paid_less, 3100, "EUR", quoted_total_units=3000)


def test_a_checkout_uses_a_card_once_and_at_most_five() -> None:
    chosen = CheckoutTenders(id="cart-1", started_at=NOW)
    assert chosen.add_card("gift_card:a", "****-A")
    assert not chosen.add_card("gift_card:a", "****-A")
    for n in range(4):
        chosen.add_card(f"gift_card:{n}", "****")
    with pytest.raises(InvalidInput) as refused:
        chosen.add_card("gift_card:x", "****-X")
    assert refused.value.field == "code"
    assert chosen.remove_card("gift_card:a")
    assert not chosen.remove_card("gift_card:a")
    assert len(chosen.gift_cards) == 4


# --- the order's tenders -------------------------------------------------------------------


def test_an_order_paid_by_its_tenders_opens_with_nothing_due() -> None:
    order = place()
    total = order.totals.grand_total_units
    tender = Tender(kind=TenderKind.GIFT_CARD, source_id="c", reference="****-WXYZ", units=total)
    order.pay_with([tender], at=NOW, actor="customer")
    assert (order.tendered_units, order.due_units) == (total, 0)
    assert order.history[-1].action == "tendered"
    assert "by gift card ****-WXYZ" in order.history[-1].detail

    order.settle_free(at=NOW, actor="system")
    assert order.status is OrderStatus.OPEN
    assert order.payment_status is OrderPaymentStatus.CAPTURED
    assert order.history[-1].detail == "paid by its tenders"


def test_an_order_partly_paid_by_tenders_still_owes_the_rest() -> None:
    order = place()
    tender = Tender(kind=TenderKind.STORE_CREDIT, source_id="a", reference="a", units=100)
    order.pay_with([tender], at=NOW, actor="customer")
    assert order.due_units == order.totals.grand_total_units - 100
    with pytest.raises(InvalidTransition):
        order.settle_free(at=NOW, actor="system")
    assert order.status is OrderStatus.PENDING_PAYMENT


def test_tenders_beyond_the_total_are_refused() -> None:
    order = place()
    too_much = Tender(
        kind=TenderKind.GIFT_CARD,
        source_id="c",
        reference="c",
        units=order.totals.grand_total_units + 1,
    )
    with pytest.raises(InvalidInput) as refused:
        order.pay_with([too_much], at=NOW, actor="customer")
    assert refused.value.field == "tenders"
    assert order.tenders == ()
