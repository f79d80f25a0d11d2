"""Paying part or all of an order from balances the store keeps: what a checkout
asks to use (gift cards, store credit) and what each will take of a total.

Gift cards pay first, in the order they were applied, each as much as it holds and
the total still needs; store credit pays next, as much as was asked (or all that is
needed); the payment gateway is asked for the rest only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar, Final

import attrs

from commercekit.domain.credit.gift_cards import GiftCard, GiftCardStatus
from commercekit.domain.credit.ledger import CreditAccount
from commercekit.domain.errors import GiftCardRefused, InsufficientBalance, InvalidInput
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index
from commercekit.domain.money import currency_precision

__all__ = [
    "MAX_GIFT_CARDS",
    "AppliedGiftCard",
    "CheckoutTenders",
    "Tender",
    "TenderKind",
    "check_quote",
    "plan_tenders",
]

#: How many gift cards one checkout may use.
MAX_GIFT_CARDS: Final = 5


class TenderKind(enum.Enum):
    """What paid part of an order besides the gateway."""

    GIFT_CARD = "gift_card"
    STORE_CREDIT = "store_credit"
    EXCHANGE = "exchange"
    """Units returned from another order (the ``source_id``) paid for this one, a
    replacement: it is no balance, and a replacement that fails undoes its exchange
    rather than giving anything back."""


@attrs.frozen(kw_only=True)
class Tender:
    """Part of an order paid from a balance the store keeps."""

    kind: TenderKind
    source_id: str
    """The gift card's or the credit account's id."""
    reference: str
    """How it is shown: the card's last characters, or the account."""
    units: int
    """Minor units it paid."""

    @property
    def field(self) -> str:
        """What an error about it names."""
        return self.kind.value


@attrs.frozen(kw_only=True)
class AppliedGiftCard:
    """A gift card a checkout is to be paid with."""

    gift_card_id: str
    display: str


@attrs.define(kw_only=True, eq=False)
class CheckoutTenders:
    """What a checkout asks to pay with besides the gateway. One per checkout, sharing
    its (its cart's) id."""

    KIND: ClassVar[str] = "checkout_tenders"

    id: str
    gift_cards: tuple[AppliedGiftCard, ...] = ()
    store_credit: bool = False
    """Whether the signed-in customer's store credit pays."""
    store_credit_units: int | None = None
    """At most this much of it (``None``: as much as the order needs)."""
    quoted_due_units: int | None = None
    """What the gateway was to be asked for when the customer last saw the total: an
    order asking it for more (a gift card spent meanwhile) is refused."""
    started_at: datetime
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @property
    def empty(self) -> bool:
        """Whether nothing but the gateway pays."""
        return not self.gift_cards and not self.store_credit

    def add_card(self, gift_card_id: str, display: str) -> bool:
        """Pay with this card too (after those applied before).

        :returns: whether it changed (a card applied twice counts once).
        :raises InvalidInput: naming ``code``, beyond :data:`MAX_GIFT_CARDS`.
        """
        if any(card.gift_card_id == gift_card_id for card in self.gift_cards):
            return False
        if len(self.gift_cards) >= MAX_GIFT_CARDS:
            raise InvalidInput(f"at most {MAX_GIFT_CARDS} gift cards pay one order", field="code")
        applied = AppliedGiftCard(gift_card_id=gift_card_id, display=display)
        self.gift_cards = (*self.gift_cards, applied)
        self.version += 1
        return True

    def remove_card(self, gift_card_id: str) -> bool:
        """Pay without this card.

        :returns: whether it was applied.
        """
        kept = tuple(card for card in self.gift_cards if card.gift_card_id != gift_card_id)
        if kept == self.gift_cards:
            return False
        self.gift_cards = kept
        self.version += 1
        return True

    def use_store_credit(self, units: int | None) -> None:
        """Pay with store credit: at most ``units``, or as much as needed (``None``)."""
        self.store_credit = True
        self.store_credit_units = units
        self.version += 1

    def stop_store_credit(self) -> bool:
        """Pay without store credit.

        :returns: whether it was used.
        """
        if not self.store_credit:
            return False
        self.store_credit, self.store_credit_units = False, None
        self.version += 1
        return True

    def quote(self, due_units: int) -> bool:
        """Remember what the gateway is to be asked for, as the customer saw it.

        :returns: whether it changed.
        """
        if self.quoted_due_units == due_units:
            return False
        self.quoted_due_units = due_units
        self.version += 1
        return True

    def index(self) -> Index:
        return Index(at=self.started_at, ref=self.id)


def _refused(strict: bool, error: Exception) -> None:
    if strict:
        raise error


def plan_tenders(
    total_units: int,
    currency: str,
    choice: CheckoutTenders,
    *,
    cards: Mapping[str, GiftCard],
    account: CreditAccount | None,
    at: datetime,
    strict: bool,
) -> tuple[Tender, ...]:
    """What each balance ``choice`` names pays of ``total_units``.

    Leniently (``strict=False``, to show a checkout) what cannot pay is left out;
    strictly (as the order is placed) it is refused.

    :param cards: the applied cards as stored now, by id (a card missing is unknown).
    :param account: the customer's credit account in ``currency``, if any.
    :raises GiftCardRefused: strictly, for an applied card that does not pay now.
    :raises InsufficientBalance: strictly, naming ``gift_card`` for a card that has
        nothing left, or ``store_credit`` for credit short of what was asked.
    """
    places = currency_precision(currency)
    left = total_units
    tenders: list[Tender] = []
    for applied in choice.gift_cards:
        if left <= 0:
            break
        card = cards.get(applied.gift_card_id)
        if card is None:
            _refused(strict, GiftCardRefused("unknown"))
            continue
        status = card.status_at(at)
        if status is not GiftCardStatus.ACTIVE:
            _refused(strict, GiftCardRefused(status.value))
            continue
        if card.currency != currency:
            _refused(strict, GiftCardRefused("currency"))
            continue
        take = min(card.balance_units, left)
        if take <= 0:
            _refused(
                strict,
                InsufficientBalance(left, 0, currency, places=places, field="gift_card"),
            )
            continue
        tenders.append(
            Tender(kind=TenderKind.GIFT_CARD, source_id=card.id, reference=card.display, units=take)
        )
        left -= take
    if choice.store_credit and left > 0:
        available = 0 if account is None else account.balance_units
        wanted = left if choice.store_credit_units is None else min(choice.store_credit_units, left)
        take = min(available, wanted)
        # An amount asked for is taken whole or not at all; "as much as needed" takes
        # what there is, but something.
        short = take < wanted if choice.store_credit_units is not None else take <= 0
        if strict and short:
            raise InsufficientBalance(
                wanted, available, currency, places=places, field="store_credit"
            )
        if take > 0 and account is not None:
            tenders.append(
                Tender(
                    kind=TenderKind.STORE_CREDIT,
                    source_id=account.id,
                    reference=account.id,
                    units=take,
                )
            )
    return tuple(tenders)


def check_quote(
    choice: CheckoutTenders | None,
    tenders: Sequence[Tender],
    total_units: int,
    currency: str,
    *,
    quoted_total_units: int | None,
) -> None:
    """Refuse an order whose balances now pay less than the customer was shown for
    the same total (so the gateway would be asked for more).

    :raises InsufficientBalance: naming ``gift_card`` when cards were applied,
        else ``store_credit``.
    """
    if choice is None or choice.quoted_due_units is None or quoted_total_units != total_units:
        return
    paid = sum(tender.units for tender in tenders)
    due = total_units - paid
    if due <= choice.quoted_due_units:
        return
    expected = total_units - choice.quoted_due_units
    field = "gift_card" if choice.gift_cards else "store_credit"
    raise InsufficientBalance(
        expected, paid, currency, places=currency_precision(currency), field=field
    )
