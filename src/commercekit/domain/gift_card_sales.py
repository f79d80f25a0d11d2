"""Gift cards sold as goods: the card each unit of a gift-card line bought, and taking
those cards back when their units are refunded or their order is cancelled.

A store names the SKUs that sell gift cards. Each unit of such a line, once the order
is paid, buys one card worth what the customer paid for that unit
(:func:`unit_values`). What each unit bought is one :class:`GiftCardPurchase` per
line, stored under an id made of the order's id and the SKU
(:meth:`GiftCardPurchase.key`) and version-checked: the unit of work that issues a
line's cards writes it, so of two deliveries of one payment at once, one issues
the cards and the other finds them issued.

A unit is taken back (refunded, or its order cancelled) only while its card holds
all it was worth: a card spent, even in part, has been used, and its unit is no
longer the store's to take back.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Final

import attrs

from commercekit.domain.credit import GiftCard
from commercekit.domain.errors import InvalidInput, RefundRefused
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index
from commercekit.domain.orders import Order, OrderLine
from commercekit.domain.returns.refunds import line_share

__all__ = [
    "CANCELLED",
    "ISSUED_NOTE",
    "GiftCardPurchase",
    "PurchaseState",
    "SoldCard",
    "issued_any",
    "unit_values",
]

#: What takes back every unit left of an order that is cancelled.
CANCELLED: Final = "cancelled"
#: The action an order's history notes its gift cards' issue under.
ISSUED_NOTE: Final = "gift_cards"


def issued_any(order: Order) -> bool:
    """Whether gift cards were issued for ``order`` (its history notes it, in the unit
    of work that issued them)."""
    return any(entry.action == ISSUED_NOTE for entry in order.history)


def unit_values(line: OrderLine) -> tuple[int, ...]:
    """What the customer paid for each unit of ``line``, after its discounts and with
    its tax, in minor units: the line's total shared as a refund of one unit after
    another shares it (each the floor of its exact part, the last unit taking what
    is left), so that the cards a line buys add up to its total exactly, and the
    refund of a unit gives back what its card was worth."""
    return tuple(line_share(line, before, 1)[0] for before in range(line.quantity))


@attrs.frozen(kw_only=True)
class SoldCard:
    """One unit of a gift-card line: what it is worth, the card it bought, and what
    took it back."""

    number: int
    """Which unit of the line, from 1."""
    units: int
    """What it is worth, in minor units of the order's currency."""
    gift_card_id: str = ""
    """The card it bought; empty until issued, and for a unit worth nothing or taken
    back before its card was issued."""
    display: str = ""
    """The card as a receipt shows it (its last four characters)."""
    taken_back_by: str = ""
    """The refund that took it back, or :data:`CANCELLED`; empty while it stands."""
    disabled_card: bool = False
    """Whether taking it back disabled its card (it was active): a refund that fails
    enables it again."""

    @property
    def taken_back(self) -> bool:
        """Whether a refund or a cancellation took the unit back."""
        return bool(self.taken_back_by)


class PurchaseState(enum.Enum):
    """Where a line's cards stand."""

    OPEN = "open"
    """Not issued: the order's payment has not been delivered to the sale yet."""
    OWED = "owed"
    """Issuing them failed (a template that does not render, say): a job issues them
    later."""
    ISSUED = "issued"


@attrs.define(kw_only=True, eq=False)
class GiftCardPurchase:
    """The gift cards one order line bought, a unit each."""

    KIND: ClassVar[str] = "gift_card_purchase"

    id: str
    order_id: str
    sku: str
    currency: str
    opened_at: datetime
    cards: tuple[SoldCard, ...]
    """One per unit of the line, in unit order."""
    state: PurchaseState = PurchaseState.OPEN
    issued_at: datetime | None = None
    last_error: str = ""
    """Why issuing failed, while the cards are owed."""
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(order_id: str, sku: str) -> str:
        """The id of what the line of ``sku`` in order ``order_id`` bought."""
        return f"gift_card_purchase:{order_id}:{sku}"

    @classmethod
    def open(cls, order: Order, line: OrderLine, *, at: datetime) -> GiftCardPurchase:
        """What ``line`` of ``order`` buys, one unit a card, none issued yet.

        :raises InvalidInput: naming ``sku``, for a line that is not the order's.
        """
        if line not in order.lines:
            raise InvalidInput(f"{line.sku} is not a line of order {order.id}", field="sku")
        return cls(
            id=cls.key(order.id, line.sku),
            order_id=order.id,
            sku=line.sku,
            currency=order.currency,
            opened_at=at,
            cards=tuple(
                SoldCard(number=number, units=units)
                for number, units in enumerate(unit_values(line), 1)
            ),
        )

    @property
    def issued(self) -> bool:
        """Whether its cards have been issued."""
        return self.state is PurchaseState.ISSUED

    def reference(self, number: int) -> str:
        """What bought the card of unit ``number``: ``<order id>:<sku>:<number>``."""
        return f"{self.order_id}:{self.sku}:{number}"

    def to_issue(self) -> tuple[SoldCard, ...]:
        """The units a card is to be issued for now: none once issued, else those
        worth something and not taken back."""
        if self.issued:
            return ()
        return tuple(card for card in self.cards if card.units > 0 and not card.taken_back)

    def record_issue(self, issued: Mapping[int, GiftCard], *, at: datetime) -> None:
        """The cards were issued (by unit number), at ``at``.

        :raises InvalidInput: naming ``cards``, once issued already, or for a unit
            that is not one :meth:`to_issue` names.
        """
        wanted = {card.number for card in self.to_issue()}
        if self.issued or set(issued) != wanted:
            raise InvalidInput("these are not the cards the line is owed", field="cards")
        self.cards = tuple(
            attrs.evolve(
                card, gift_card_id=issued[card.number].id, display=issued[card.number].display
            )
            if card.number in issued
            else card
            for card in self.cards
        )
        self.state = PurchaseState.ISSUED
        self.issued_at = at
        self.last_error = ""
        self.version += 1

    def owe(self, error: str) -> bool:
        """Issuing the cards failed with ``error``: they are owed until issued.

        :returns: whether it changed (not once issued).
        """
        if self.issued:
            return False
        self.state = PurchaseState.OWED
        self.last_error = error[:2000]
        self.version += 1
        return True

    def forgo(self) -> bool:
        """Its order is no longer paid (cancelled before the cards were issued): the
        cards are no longer owed.

        :returns: whether it changed.
        """
        if self.state is not PurchaseState.OWED:
            return False
        self.state = PurchaseState.OPEN
        self.last_error = ""
        self.version += 1
        return True

    def take_back(self, count: int, *, by: str, cards: Mapping[str, GiftCard]) -> list[GiftCard]:
        """Take back ``count`` more units for the refund (or cancellation) ``by``:
        first units whose card was never issued, then those whose card still holds
        all it was worth, in unit order. Their cards are disabled: the caller keeps
        the cards returned.

        :param cards: the cards of the units not taken back yet, by id.
        :returns: the cards disabled now.
        :raises RefundRefused: naming ``quantities``, when fewer than ``count`` units
            are left whose card holds its whole worth; nothing changes.
        """
        left = [card for card in self.cards if not card.taken_back]
        free = [card for card in left if not card.gift_card_id]
        whole = [
            card
            for card in left
            if card.gift_card_id
            and card.gift_card_id in cards
            and cards[card.gift_card_id].balance_units >= card.units
        ]
        chosen = (free + whole)[:count]
        if len(chosen) < count:
            spent = [card for card in left if card not in free and card not in whole]
            if spent:
                raise RefundRefused(
                    f"{self.sku}: the gift card {spent[0].display} it bought has been spent; "
                    "a card is taken back only while it holds all it was worth",
                    field="quantities",
                )
            raise RefundRefused(
                f"{self.sku}: no unit of it is left to take back", field="quantities"
            )
        numbers = {card.number for card in chosen}
        disabled: list[GiftCard] = []
        changed: dict[int, bool] = {}
        for card in chosen:
            if card.gift_card_id:
                bought = cards[card.gift_card_id]
                changed[card.number] = bought.disable()
                if changed[card.number]:
                    disabled.append(bought)
        self.cards = tuple(
            attrs.evolve(card, taken_back_by=by, disabled_card=changed.get(card.number, False))
            if card.number in numbers
            else card
            for card in self.cards
        )
        self.version += 1
        return disabled

    def left(self) -> int:
        """How many units no refund nor cancellation has taken back."""
        return sum(not card.taken_back for card in self.cards)

    def give_back(self, by: str) -> tuple[str, ...]:
        """The refund ``by`` failed: its units stand again.

        :returns: the ids of the cards taking them back disabled, to enable again.
        """
        mine = [card for card in self.cards if card.taken_back_by == by]
        if not mine:
            return ()
        self.cards = tuple(
            attrs.evolve(card, taken_back_by="", disabled_card=False)
            if card.taken_back_by == by
            else card
            for card in self.cards
        )
        self.version += 1
        return tuple(card.gift_card_id for card in mine if card.disabled_card)

    def index(self) -> Index:
        # Found by its order; owed ones by their state, oldest first.
        return Index(at=self.opened_at, ref=self.order_id, state=self.state.value)
