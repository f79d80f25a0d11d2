"""Store credit and gift cards: issuing them, looking at them, and the part of an
order they pay, taken and given back in the order's own unit of work.

The functions beside :class:`CreditService` are steps other use cases take inside
their unit of work: a checkout spends its tenders as it writes the order
(:class:`PlannedTenders`), a failed or cancelled order has them restored with the
rest of what it held (:func:`restore_tenders`), a refund may be paid as credit
(:func:`credit_for_refund`). Each writes a version-checked record, so of two orders
spending the last of one balance at once one commits and the other is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime

import attrs
import moneyed

from commercekit.domain._validators import require_aware
from commercekit.domain.cart import Cart
from commercekit.domain.credit import (
    MAX_BALANCE_UNITS,
    CheckoutTenders,
    CreditAccount,
    CreditEntry,
    CreditReason,
    GiftCard,
    GiftCardStatus,
    Tender,
    TenderKind,
    new_gift_card_code,
    plan_tenders,
)
from commercekit.domain.customers import check_customer_id
from commercekit.domain.errors import (
    CurrencyMismatch,
    GiftCardRefused,
    InsufficientBalance,
    InvalidInput,
)
from commercekit.domain.gift_card_sales import CANCELLED, GiftCardPurchase, issued_any
from commercekit.domain.identifiers import check_key, check_text, check_whole_number
from commercekit.domain.money import (
    Money,
    currency_precision,
    from_minor_units,
    minor_units,
    normalize_currency,
)
from commercekit.domain.orders import Order
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Service, check_page_size
from commercekit.services.replacements import undo_exchange

__all__ = [
    "CreditService",
    "GiftCardBalance",
    "PlannedTenders",
    "apply_card",
    "change_tenders",
    "check_amount",
    "credit_for_refund",
    "find_gift_card",
    "plan_order_tenders",
    "quote_tenders",
    "reinstate_sold_cards",
    "restore_tenders",
    "take_back_sold_cards",
    "use_credit",
    "withdraw_sold_cards",
]

#: The reasons store credit is issued for at the door.
_ISSUE_REASONS = {reason.value: reason for reason in (CreditReason.ISSUED, CreditReason.REFUND)}


@attrs.frozen(kw_only=True)
class GiftCardBalance:
    """What a shopper holding a code may learn of its card."""

    display: str
    """The card's last four characters."""
    balance: Money
    status: GiftCardStatus
    expires_at: datetime | None


def check_amount(amount: object, *, field: str = "amount", signed: bool = False) -> tuple[str, int]:
    """``(currency, minor units)`` of ``amount`` if it is a Money amount that can be
    credited: rounded to its currency's minor unit, positive (not zero, with
    ``signed``), and within :data:`~commercekit.domain.credit.MAX_BALANCE_UNITS`.

    :raises InvalidInput: naming ``field``.
    """
    if not isinstance(amount, moneyed.Money):
        raise InvalidInput(f"expected Money, got {type(amount).__name__}", field=field)
    currency = normalize_currency(amount.currency, field=field)
    units = minor_units(amount, field=field)
    if not (units != 0 if signed else units > 0) or abs(units) > MAX_BALANCE_UNITS:
        wanted = "not zero" if signed else "more than zero"
        raise InvalidInput(f"must be {wanted}, and within what a balance holds", field=field)
    return currency, units


def _reference(reference: object) -> str:
    return check_text(reference, "reference", blank=True)


def find_gift_card(uow: UnitOfWork, code: str) -> GiftCard:
    """The card a code opens.

    :raises GiftCardRefused: ``unknown``, for a code that opens none (or cannot be a
        code at all).
    :raises InvalidInput: naming ``code``, for what cannot be text of a key.
    """
    check_key(code, "code")
    key = GiftCard.key_for(code)
    card = uow.records(GiftCard).find(key) if key is not None else None
    if card is None:
        raise GiftCardRefused("unknown")
    return card


def _account(
    uow: UnitOfWork, customer_id: str, currency: str, *, at: datetime
) -> tuple[CreditAccount, bool]:
    """The customer's account in ``currency``, and whether it is new (not stored)."""
    found = uow.records(CreditAccount).find(CreditAccount.key(customer_id, currency))
    if found is not None:
        return found, False
    return CreditAccount.open(customer_id, currency, at=at), True


def _keep(uow: UnitOfWork, account: CreditAccount, new: bool) -> None:
    if new:
        uow.records(CreditAccount).add(account)
    else:
        uow.records(CreditAccount).save(account)


# --- steps of other use cases, in their unit of work ------------------------------------


def credit_for_refund(
    uow: UnitOfWork,
    *,
    customer_id: str | None,
    gift_card_id: str | None,
    currency: str,
    units: int,
    reference: str,
    at: datetime,
    actor: str,
) -> CreditEntry:
    """Pay a refund (or part of one) as credit: onto the gift card ``gift_card_id``
    when given, else onto the customer's store credit in ``currency`` (opened if
    they have none), in the caller's unit of work.

    :param reference: what it is for: a refund's id; or the order's id when it
        gives back what the order took from this very card or account (a later
        restore of the order then gives back only the rest).
    :raises NotFound: naming ``gift_card_id``, for a card the store does not have.
    :raises CurrencyMismatch: naming ``currency``, for a card in another currency.
    :raises InvalidInput: naming ``customer_id`` when neither is given, or ``amount``
        for units that are not a positive whole number.
    """
    if gift_card_id is not None:
        cards = uow.records(GiftCard)
        card = cards.get(gift_card_id)
        if card.currency != currency:
            raise CurrencyMismatch(card.currency, currency, field="currency")
        entry = card.credit(units, CreditReason.REFUND, reference=reference, at=at, actor=actor)
        cards.save(card)
        return entry
    if customer_id is None:
        raise InvalidInput(
            "credit goes to a signed-in customer or onto a gift card", field="customer_id"
        )
    account, new = _account(uow, customer_id, currency, at=at)
    entry = account.issue(units, CreditReason.REFUND, reference=reference, at=at, actor=actor)
    _keep(uow, account, new)
    return entry


def restore_tenders(uow: UnitOfWork, order: Order, *, at: datetime, actor: str = "system") -> int:
    """Give back to its gift cards and store credit what a failed or cancelled order
    took from them (reason restored, reference the order's id), in the unit of work
    that releases the rest of what it held: once, however often it is asked. What
    returned units paid of a replacement order goes back to no balance: its exchange
    is undone instead (see :func:`~commercekit.services.replacements.undo_exchange`).

    :returns: the minor units given back.
    """
    restored = 0
    for tender in order.tenders:
        if tender.kind is TenderKind.EXCHANGE:
            # No balance paid it: the exchange that did is undone (or, once done, what
            # it paid is owed again on the order its units came from).
            undo_exchange(uow, order, at=at, actor=actor)
            continue
        if tender.kind is TenderKind.GIFT_CARD:
            cards = uow.records(GiftCard)
            card = cards.find(tender.source_id)
            units = 0 if card is None else card.restore(order.id, at=at, actor=actor)
            if card is not None and units:
                cards.save(card)
        else:
            accounts = uow.records(CreditAccount)
            account = accounts.find(tender.source_id)
            units = 0 if account is None else account.restore(order.id, at=at, actor=actor)
            if account is not None and units:
                accounts.save(account)
        restored += units
    return restored


def _take_back(
    uow: UnitOfWork, purchase: GiftCardPurchase, count: int, *, by: str
) -> list[GiftCard]:
    records = uow.records(GiftCard)
    cards = {
        sold.gift_card_id: card
        for sold in purchase.cards
        if sold.gift_card_id and not sold.taken_back
        if (card := records.find(sold.gift_card_id)) is not None
    }
    disabled = purchase.take_back(count, by=by, cards=cards)
    for card in disabled:
        records.save(card)
    return disabled


def take_back_sold_cards(
    uow: UnitOfWork,
    order: Order,
    units: Mapping[str, int],
    *,
    refund_id: str,
    skus: Collection[str],
    at: datetime,
) -> int:
    """Take back the gift cards that ``units`` (per SKU) of ``order`` bought, in the
    unit of work that records their refund (``refund_id``): each card is disabled,
    and its unit marked as the refund's. A unit whose card was not issued yet is
    taken back first (and never gets one); then units whose card still holds all it
    was worth.

    :param skus: the SKUs the store sells gift cards as (a line of one with nothing
        issued yet is marked so that its refunded units are never issued).
    :returns: how many cards were disabled.
    :raises RefundRefused: naming ``quantities``, when a card to take back has been
        spent (even in part): nothing of the refund is written.
    """
    lines = {line.sku: line for line in order.lines}
    records = uow.records(GiftCardPurchase)
    issued = issued_any(order)
    disabled = 0
    for sku, count in units.items():
        line = lines.get(sku)
        # What no longer sells gift cards may still have sold some: the order says so.
        if count <= 0 or line is None or (sku not in skus and not issued):
            continue
        found = records.find(GiftCardPurchase.key(order.id, sku))
        if found is None and sku not in skus:
            continue
        purchase = found or GiftCardPurchase.open(order, line, at=at)
        disabled += len(_take_back(uow, purchase, count, by=refund_id))
        (records.add if found is None else records.save)(purchase)
    return disabled


def withdraw_sold_cards(uow: UnitOfWork, order: Order) -> int:
    """Take back every gift card ``order`` bought that no refund took back, in the
    unit of work that cancels it (its money goes back whole). An order issued none
    (its history says) is not looked at further.

    :returns: how many cards were disabled.
    :raises RefundRefused: naming ``quantities``, when one of them has been spent
        (even in part): the order cannot be cancelled, only its other lines refunded.
    """
    if not issued_any(order):
        return 0
    records = uow.records(GiftCardPurchase)
    disabled = 0
    for purchase in records.where(ref=order.id, limit=500):
        left = purchase.left()
        if left:
            disabled += len(_take_back(uow, purchase, left, by=CANCELLED))
            records.save(purchase)
    return disabled


def reinstate_sold_cards(uow: UnitOfWork, order_id: str, refund_id: str) -> int:
    """The refund ``refund_id`` failed (the gateway refused it): the gift cards it took
    back stand again, enabled if it disabled them, in the unit of work that settles
    it.

    :returns: how many cards were enabled.
    """
    records = uow.records(GiftCardPurchase)
    cards = uow.records(GiftCard)
    enabled = 0
    for purchase in records.where(ref=order_id, limit=500):
        if not any(sold.taken_back_by == refund_id for sold in purchase.cards):
            continue
        again = purchase.give_back(refund_id)
        records.save(purchase)
        for gift_card_id in again:
            card = cards.find(gift_card_id)
            if card is not None and card.enable():
                cards.save(card)
                enabled += 1
    return enabled


@attrs.frozen
class PlannedTenders:
    """What a checkout's gift cards and store credit pay of an order, with the
    balances as this unit of work read them."""

    tenders: tuple[Tender, ...] = ()
    cards: dict[str, GiftCard] = attrs.field(factory=dict)
    account: CreditAccount | None = None
    choice: CheckoutTenders | None = None

    @property
    def units(self) -> int:
        """What they pay, in minor units."""
        return sum(tender.units for tender in self.tenders)

    def spend(self, uow: UnitOfWork, *, reference: str, at: datetime, actor: str) -> None:
        """Take what each pays from its balance (for the order ``reference``), in the
        unit of work that writes the order.

        :raises InsufficientBalance: for a balance that no longer holds its part.
        :raises GiftCardRefused: for a card that no longer pays.
        """
        for tender in self.tenders:
            if tender.kind is TenderKind.GIFT_CARD:
                card = self.cards[tender.source_id]
                card.spend(
                    tender.units, currency=card.currency, reference=reference, at=at, actor=actor
                )
                uow.records(GiftCard).save(card)
            elif self.account is not None:
                self.account.spend(tender.units, reference=reference, at=at, actor=actor)
                uow.records(CreditAccount).save(self.account)


def _plan(
    uow: UnitOfWork, cart: Cart, total_units: int, *, at: datetime, strict: bool
) -> PlannedTenders:
    choice = uow.records(CheckoutTenders).find(cart.id)
    if choice is None or choice.empty:
        return PlannedTenders(choice=choice)
    records = uow.records(GiftCard)
    cards = {
        applied.gift_card_id: card
        for applied in choice.gift_cards
        if (card := records.find(applied.gift_card_id)) is not None
    }
    account = None
    if choice.store_credit and cart.customer_id is not None:
        key = CreditAccount.key(cart.customer_id, cart.currency)
        account = uow.records(CreditAccount).find(key)
    tenders = plan_tenders(
        total_units, cart.currency, choice, cards=cards, account=account, at=at, strict=strict
    )
    return PlannedTenders(tenders=tenders, cards=cards, account=account, choice=choice)


def plan_order_tenders(
    uow: UnitOfWork, cart: Cart, total_units: int, *, at: datetime
) -> PlannedTenders:
    """What the cart's checkout pays with besides the gateway, as an order is placed:
    every balance it names must pay its part now.

    :raises GiftCardRefused: for an applied card that does not pay now.
    :raises InsufficientBalance: for a balance short of its part.
    """
    return _plan(uow, cart, total_units, at=at, strict=True)


def quote_tenders(
    uow: UnitOfWork, cart: Cart, total_units: int, *, at: datetime
) -> tuple[Tender, ...]:
    """What the cart's checkout would pay with besides the gateway now, leaving out
    what cannot pay; remembered as what the customer was shown."""
    planned = _plan(uow, cart, total_units, at=at, strict=False)
    choice = planned.choice
    if choice is not None and choice.quote(total_units - planned.units):
        uow.records(CheckoutTenders).save(choice)
    return planned.tenders


def change_tenders(
    uow: UnitOfWork,
    cart: Cart,
    change: Callable[[CheckoutTenders], bool],
    *,
    at: datetime,
) -> CheckoutTenders:
    """Change what the cart's checkout pays with besides the gateway, and keep it."""
    records = uow.records(CheckoutTenders)
    found = records.find(cart.id)
    choice = found or CheckoutTenders(id=cart.id, started_at=at)
    if change(choice):
        if found is None:
            records.add(choice)
        else:
            records.save(choice)
    return choice


def apply_card(uow: UnitOfWork, cart: Cart, code: str, *, at: datetime) -> CheckoutTenders:
    """Pay the cart's checkout with the card ``code`` opens too.

    :raises GiftCardRefused: for a code that opens no card, or a card that does not
        pay now in the cart's currency.
    """
    card = find_gift_card(uow, code)
    card.check_usable(cart.currency, at)
    return change_tenders(uow, cart, lambda choice: choice.add_card(card.id, card.display), at=at)


def use_credit(uow: UnitOfWork, cart: Cart, units: int | None, *, at: datetime) -> CheckoutTenders:
    """Pay the cart's checkout with the customer's store credit: at most ``units``,
    or as much as it needs.

    :raises InvalidInput: naming ``token``, for a guest's cart.
    :raises InsufficientBalance: naming ``store_credit``, for an account with nothing
        (or less than ``units``) in it.
    """
    if cart.customer_id is None:
        raise InvalidInput("store credit pays for a signed-in customer's cart", field="token")
    account = uow.records(CreditAccount).find(CreditAccount.key(cart.customer_id, cart.currency))
    available = 0 if account is None else account.balance_units
    wanted = units or 1
    if available < wanted:
        places = currency_precision(cart.currency)
        raise InsufficientBalance(
            wanted, available, cart.currency, places=places, field="store_credit"
        )

    def change(choice: CheckoutTenders) -> bool:
        choice.use_store_credit(units)
        return True

    return change_tenders(uow, cart, change, at=at)


class CreditService(Service):
    """Issue, look at, adjust and disable store credit and gift cards."""

    # --- store credit ----------------------------------------------------------------

    def issue_store_credit(
        self,
        customer_id: str,
        amount: moneyed.Money,
        *,
        reason: str = "issued",
        reference: str = "",
        actor: str = "staff",
    ) -> CreditAccount:
        """Give a customer store credit, in the amount's currency.

        :param reason: ``issued`` (goodwill, a gift) or ``refund``.
        :param reference: what it is for (an order's or a refund's id, a note).
        :raises InvalidInput: naming the argument (an amount that is not positive, not
            rounded to its currency's minor unit, or not Money).
        """
        check_customer_id(customer_id)
        currency, units = check_amount(amount)
        if not isinstance(reason, str) or reason not in _ISSUE_REASONS:
            raise InvalidInput("must be issued or refund", field="reason")
        _reference(reference)
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> CreditAccount:
            account, new = _account(uow, customer_id, currency, at=self.now)
            account.issue(
                units, _ISSUE_REASONS[reason], reference=reference, at=self.now, actor=actor
            )
            _keep(uow, account, new)
            return account

        return self._run(work)

    def adjust_store_credit(
        self,
        customer_id: str,
        amount: moneyed.Money,
        *,
        reference: str = "",
        actor: str = "staff",
    ) -> CreditAccount:
        """Correct a customer's store credit: a positive amount adds, a negative one
        takes (never below zero).

        :raises InsufficientBalance: naming ``store_credit``, for taking more than is
            left (nothing changes).
        :raises InvalidInput: naming the argument.
        """
        check_customer_id(customer_id)
        currency, units = check_amount(amount, signed=True)
        _reference(reference)
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> CreditAccount:
            account, new = _account(uow, customer_id, currency, at=self.now)
            if units > 0:
                account.credit(
                    units, CreditReason.ADJUSTED, reference=reference, at=self.now, actor=actor
                )
            else:
                account.debit(
                    -units, CreditReason.ADJUSTED, reference=reference, at=self.now, actor=actor
                )
            _keep(uow, account, new)
            return account

        return self._run(work)

    def store_credit(self, customer_id: str, currency: str) -> CreditAccount:
        """A customer's store credit in ``currency``, with its ledger (an empty account
        when they have none).

        :raises InvalidInput: naming the argument.
        """
        check_customer_id(customer_id)
        code = normalize_currency(currency)
        return self._read(lambda uow: _account(uow, customer_id, code, at=self.now)[0])

    # --- gift cards ------------------------------------------------------------------

    def issue_gift_card(
        self,
        amount: moneyed.Money,
        *,
        expires_at: datetime | None = None,
        reference: str = "",
        actor: str = "staff",
    ) -> tuple[GiftCard, str]:
        """Issue a gift card holding ``amount``.

        The code is returned here once and kept nowhere: hand it to whoever gets the
        card (print it, send it); the store can only tell a code it is shown.

        :param expires_at: when it stops paying (``None``: never).
        :param reference: what it was issued for (a note, an order's id).
        :returns: the card and its code.
        :raises InvalidInput: naming the argument (an ``expires_at`` that is not
            after now, say).
        """
        currency, units = check_amount(amount)
        if expires_at is not None:
            require_aware(expires_at, field="expires_at")
            if expires_at <= self.now:
                raise InvalidInput("must be later than now", field="expires_at")
        _reference(reference)
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> tuple[GiftCard, str]:
            # A code drawn twice is an id taken: a conflict, and the retry draws again.
            code = new_gift_card_code(self._rt.ids.new_token())
            card = GiftCard.issue(
                code,
                units,
                currency,
                at=self.now,
                actor=actor,
                expires_at=expires_at,
                bought_with=reference,
            )
            uow.records(GiftCard).add(card)
            return card, code

        return self._run(work)

    def gift_card_balance(self, code: str) -> GiftCardBalance:
        """What the card a code opens holds (for the shopper holding the code).

        :raises GiftCardRefused: ``unknown`` or ``disabled`` (told apart only to staff
            and the application; a shopper is told ``not_valid`` for both).
        """

        def read(uow: UnitOfWork) -> GiftCardBalance:
            card = find_gift_card(uow, code)
            status = card.status_at(self.now)
            if status is GiftCardStatus.DISABLED:
                raise GiftCardRefused("disabled")
            return GiftCardBalance(
                display=card.display,
                balance=from_minor_units(card.balance_units, card.currency),
                status=status,
                expires_at=card.expires_at,
            )

        return self._read(read)

    def gift_card(self, gift_card_id: str) -> GiftCard:
        """A gift card by id, with its ledger (for staff).

        :raises NotFound: naming ``gift_card_id``.
        """
        check_key(gift_card_id, "gift_card_id")
        return self._read(lambda uow: uow.records(GiftCard).get(gift_card_id))

    def _switch(
        self, gift_card_id: str, actor: str, change: Callable[[GiftCard], bool]
    ) -> GiftCard:
        check_key(gift_card_id, "gift_card_id")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> GiftCard:
            card = uow.records(GiftCard).get(gift_card_id)
            if change(card):
                uow.records(GiftCard).save(card)
            return card

        return self._run(work)

    def disable_gift_card(self, gift_card_id: str, *, actor: str = "staff") -> GiftCard:
        """Stop a card from paying (lost, stolen, issued by mistake); its balance stays.
        An order it already paid keeps what it took.

        :raises NotFound: naming ``gift_card_id``.
        """
        return self._switch(gift_card_id, actor, GiftCard.disable)

    def enable_gift_card(self, gift_card_id: str, *, actor: str = "staff") -> GiftCard:
        """Let a disabled card pay again (until it expires).

        :raises NotFound: naming ``gift_card_id``.
        """
        return self._switch(gift_card_id, actor, GiftCard.enable)

    def expire_gift_cards(self, *, limit: int = 100) -> list[str]:
        """Write off what active cards past their expiry still hold (reason expired),
        at most ``limit`` of them: a periodic job's call.

        :returns: the ids of the cards written off.
        """
        limit = check_page_size(check_whole_number(limit, "limit"))

        def work(uow: UnitOfWork) -> list[str]:
            now = self.now
            cards = uow.records(GiftCard)
            done = []
            for card in cards.where(state=GiftCardStatus.ACTIVE.value, due_before=now, limit=limit):
                if card.write_off(at=now, actor="system:expiry"):
                    cards.save(card)
                    done.append(card.id)
            return done

        return self._run(work)
