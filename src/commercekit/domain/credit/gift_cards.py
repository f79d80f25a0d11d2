"""Gift cards: a balance reached by a code.

A code is made from an unguessable token handed in (80 bits of it, written in
groups of an alphabet without look-alike characters), and is given out once, to
whoever issued the card. The store keeps a digest of it, never the code: the card is
stored under an id made from the digest (:meth:`GiftCard.key_for`) and found by
digesting the code a shopper types, so that a copy of the database does not hand
out the cards it holds. The last four characters are kept to show which card it is.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import ACTOR, aware_or_none
from commercekit.domain.credit.ledger import CreditEntry, CreditReason, Ledger
from commercekit.domain.errors import GiftCardRefused, InvalidInput
from commercekit.domain.events import GiftCardIssued
from commercekit.domain.indexed import Index

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "GiftCard",
    "GiftCardStatus",
    "code_digest",
    "new_gift_card_code",
    "normalize_code",
]

#: Upper-case letters and digits without 0/O and 1/I: read aloud or typed from a
#: printed card, no character is taken for another. 32 characters, 5 bits each.
CODE_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: Sixteen characters: 80 bits, beyond guessing at any rate a store answers.
CODE_LENGTH: Final = 16
_GROUP: Final = 4
_BITS: Final = 5


def new_gift_card_code(token: str) -> str:
    """A code made from an unguessable ``token`` (``IdGenerator.new_token``), such as
    ``KX7M-2QPA-9RTV-WZ4E``."""
    if not isinstance(token, str) or len(token) < 16:
        raise InvalidInput("must be an unguessable token", field="token")
    number = int.from_bytes(hashlib.sha256(token.encode()).digest()[:10], "big")
    characters = [
        CODE_ALPHABET[(number >> (_BITS * position)) & 31] for position in range(CODE_LENGTH)
    ]
    return "-".join(
        "".join(characters[start : start + _GROUP]) for start in range(0, CODE_LENGTH, _GROUP)
    )


def normalize_code(value: str) -> str | None:
    """The code as stored digests read it: upper case, without spaces or hyphens;
    ``None`` for text that cannot be a code."""
    compact = "".join(value.split()).replace("-", "").upper()
    if len(compact) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in compact):
        return None
    return compact


def code_digest(code: str) -> str | None:
    """The digest a card is kept under, of a code as typed (any case, spaces and
    hyphens); ``None`` for text that cannot be a code."""
    normal = normalize_code(code)
    return None if normal is None else hashlib.sha256(normal.encode()).hexdigest()


class GiftCardStatus(enum.Enum):
    """Whether a card pays: ``expired`` is never stored, it follows from the clock."""

    ACTIVE = "active"
    DISABLED = "disabled"
    EXPIRED = "expired"


@attrs.define(kw_only=True, eq=False)
class GiftCard(Ledger):
    """A gift card: its balance, its ledger, and how it may be used."""

    KIND: ClassVar[str] = "gift_card"
    SHORT: ClassVar[str] = "gift_card"

    last4: str
    """The code's last four characters, to show which card it is."""
    initial_units: int
    issued_at: datetime
    issued_by: str = attrs.field(validator=ACTOR)
    expires_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    status: GiftCardStatus = GiftCardStatus.ACTIVE
    """Active or disabled (by staff); see :meth:`status_at` for the time too."""
    bought_with: str = ""
    """What bought it (an order line), if it was bought."""

    @staticmethod
    def key_for(code: str) -> str | None:
        """The id the card with ``code`` is stored under; ``None`` for text that
        cannot be a code."""
        digest = code_digest(code)
        return None if digest is None else f"gift_card:{digest}"

    @classmethod
    def issue(
        cls,
        code: str,
        units: int,
        currency: str,
        *,
        at: datetime,
        actor: str,
        expires_at: datetime | None = None,
        bought_with: str = "",
    ) -> GiftCard:
        """A new card holding ``units`` under ``code`` (see :func:`new_gift_card_code`).

        :raises InvalidInput: naming ``code``, ``amount`` or ``expires_at`` (a time
            that is not after ``at``).
        """
        key = cls.key_for(code)
        if key is None:
            raise InvalidInput("is not a gift card code", field="code")
        if expires_at is not None and expires_at <= at:
            raise InvalidInput("must be later than now", field="expires_at")
        card = cls(
            id=key,
            currency=currency,
            last4=str(normalize_code(code))[-4:],
            initial_units=units,
            issued_at=at,
            issued_by=actor,
            expires_at=expires_at,
            bought_with=bought_with,
        )
        card.credit(units, CreditReason.ISSUED, reference=bought_with, at=at, actor=actor)
        card.events.append(
            GiftCardIssued(
                occurred_at=at,
                gift_card_id=card.id,
                currency=currency,
                amount_units=units,
                reference=bought_with,
            )
        )
        return card

    @property
    def display(self) -> str:
        """The card as a page or a receipt shows it: only its last four characters."""
        return f"****-****-****-{self.last4}"

    def status_at(self, now: datetime) -> GiftCardStatus:
        """Whether it pays at ``now``: disabled, expired, or active."""
        if self.status is GiftCardStatus.DISABLED:
            return GiftCardStatus.DISABLED
        if self.expires_at is not None and now >= self.expires_at:
            return GiftCardStatus.EXPIRED
        return GiftCardStatus.ACTIVE

    def check_usable(self, currency: str, now: datetime) -> None:
        """:raises GiftCardRefused: for a card disabled, expired, in another currency or
        used up (in that order)."""
        status = self.status_at(now)
        if status is not GiftCardStatus.ACTIVE:
            raise GiftCardRefused(status.value)
        if currency != self.currency:
            raise GiftCardRefused("currency")
        if self.balance_units <= 0:
            raise GiftCardRefused("used_up")

    def spend(
        self, units: int, *, currency: str, reference: str, at: datetime, actor: str
    ) -> CreditEntry:
        """Pay ``units`` of an order (``reference``) in ``currency`` with the card.

        :raises GiftCardRefused: for a card that does not pay now (see
            :meth:`check_usable`); nothing changes.
        :raises InsufficientBalance: naming ``gift_card``, for more than is left.
        """
        status = self.status_at(at)
        if status is not GiftCardStatus.ACTIVE:
            raise GiftCardRefused(status.value)
        if currency != self.currency:
            raise GiftCardRefused("currency")
        return self.debit(units, CreditReason.SPENT, reference=reference, at=at, actor=actor)

    def disable(self) -> bool:
        """Stop the card from paying (it was lost or stolen, say); its balance stays.

        :returns: whether it changed.
        """
        if self.status is GiftCardStatus.DISABLED:
            return False
        self.status = GiftCardStatus.DISABLED
        self.version += 1
        return True

    def enable(self) -> bool:
        """Let a disabled card pay again (until it expires).

        :returns: whether it changed.
        """
        if self.status is GiftCardStatus.ACTIVE:
            return False
        self.status = GiftCardStatus.ACTIVE
        self.version += 1
        return True

    def write_off(self, *, at: datetime, actor: str) -> int:
        """Write off what an expired card still holds (reason expired).

        :returns: the minor units written off (0 unless expired and holding some).
        """
        units = self.balance_units
        if self.status_at(at) is not GiftCardStatus.EXPIRED or units <= 0:
            return 0
        self.debit(units, CreditReason.EXPIRED, reference="", at=at, actor=actor)
        return units

    def index(self) -> Index:
        # Due at its expiry while it is active and holds something: what a sweep
        # writing off expired cards looks for.
        due = self.expires_at if self.balance_units > 0 else None
        return Index(at=self.issued_at, ref=self.bought_with, state=self.status.value, due=due)
