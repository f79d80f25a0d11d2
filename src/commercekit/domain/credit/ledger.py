"""A balance kept as an append-only ledger, and a customer's store-credit account.

Every entry adds (credit issued, a refund, a restore) or takes (spent, written off
at expiry, adjusted down) whole minor units. The balance is the sum of the entries
and never falls below zero: asking for more than is left raises
:class:`InsufficientBalance` and changes nothing. Each change bumps ``version``, so
that storage lets one of two writers of the same balance win.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import ACTOR, aware, text
from commercekit.domain.errors import InsufficientBalance, InvalidInput
from commercekit.domain.events import DomainEvent, StoreCreditIssued
from commercekit.domain.identifiers import MAX_KEY_LENGTH, check_text
from commercekit.domain.indexed import Index
from commercekit.domain.money import Money, currency_precision, from_minor_units

__all__ = [
    "MAX_BALANCE_UNITS",
    "CreditAccount",
    "CreditEntry",
    "CreditReason",
    "Ledger",
]

#: No balance grows beyond this many minor units: anything larger is a bug or an
#: attack, refused before it is written.
MAX_BALANCE_UNITS: Final = 10**15


class CreditReason(enum.Enum):
    """Why a balance moved."""

    ISSUED = "issued"
    """Given by the merchant (a gift card sold or handed out, goodwill credit)."""
    REFUND = "refund"
    """Money of a refund, kept as credit."""
    SPENT = "spent"
    """Paid part of an order."""
    RESTORED = "restored"
    """What an order took, given back because the order failed or was cancelled."""
    ADJUSTED = "adjusted"
    """Corrected by staff, up or down."""
    EXPIRED = "expired"
    """Written off when a gift card expired."""


#: Reasons that add to a balance, and those that take from it.
CREDITS: Final = frozenset(
    {CreditReason.ISSUED, CreditReason.REFUND, CreditReason.RESTORED, CreditReason.ADJUSTED}
)
DEBITS: Final = frozenset({CreditReason.SPENT, CreditReason.EXPIRED, CreditReason.ADJUSTED})


@attrs.frozen(kw_only=True)
class CreditEntry:
    """One movement of a balance."""

    id: str
    at: datetime = attrs.field(validator=aware)
    units: int
    """Minor units: positive adds to the balance, negative takes from it."""
    reason: CreditReason
    reference: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    """What it concerns: an order's id, a refund's id, a note."""
    actor: str = attrs.field(validator=ACTOR)


def _check_units(units: object) -> int:
    if isinstance(units, bool) or not isinstance(units, int) or not 0 < units <= MAX_BALANCE_UNITS:
        raise InvalidInput(
            f"must be a whole number of minor units from 1 to {MAX_BALANCE_UNITS}", field="amount"
        )
    return units


@attrs.define(kw_only=True, eq=False)
class Ledger:
    """A balance in one currency and the entries it is the sum of (the part a
    store-credit account and a gift card share)."""

    SHORT: ClassVar[str] = "amount"
    """What :class:`InsufficientBalance` names when this balance falls short."""

    id: str
    currency: str
    balance_units: int = 0
    entries: tuple[CreditEntry, ...] = ()
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @property
    def balance(self) -> Money:
        """What is left."""
        return from_minor_units(self.balance_units, self.currency)

    def _post(
        self, units: int, reason: CreditReason, *, reference: str, at: datetime, actor: str
    ) -> CreditEntry:
        check_text(reference, "reference", blank=True)
        entry = CreditEntry(
            id=f"{self.id}#{len(self.entries) + 1}",
            at=at,
            units=units,
            reason=reason,
            reference=reference,
            actor=actor,
        )
        self.entries = (*self.entries, entry)
        self.balance_units += units
        self.version += 1
        return entry

    def credit(
        self, units: int, reason: CreditReason, *, reference: str, at: datetime, actor: str
    ) -> CreditEntry:
        """Add ``units`` to the balance.

        :raises InvalidInput: naming ``amount``, for anything but a positive whole
            number of minor units that keeps the balance within
            :data:`MAX_BALANCE_UNITS`; naming ``reason``, for a reason that takes.
        """
        _check_units(units)
        if reason not in CREDITS:
            raise InvalidInput(f"{reason.value} does not add to a balance", field="reason")
        if self.balance_units + units > MAX_BALANCE_UNITS:
            raise InvalidInput(
                f"the balance may hold at most {MAX_BALANCE_UNITS} minor units", field="amount"
            )
        return self._post(units, reason, reference=reference, at=at, actor=actor)

    def debit(
        self, units: int, reason: CreditReason, *, reference: str, at: datetime, actor: str
    ) -> CreditEntry:
        """Take ``units`` from the balance.

        :raises InsufficientBalance: for more than is left (nothing changes).
        :raises InvalidInput: naming ``amount``, for anything but a positive whole
            number of minor units; naming ``reason``, for a reason that adds.
        """
        _check_units(units)
        if reason not in DEBITS:
            raise InvalidInput(f"{reason.value} does not take from a balance", field="reason")
        if units > self.balance_units:
            raise InsufficientBalance(
                units,
                self.balance_units,
                self.currency,
                places=currency_precision(self.currency),
                field=self.SHORT,
            )
        return self._post(-units, reason, reference=reference, at=at, actor=actor)

    def taken_for(self, reference: str) -> int:
        """Minor units spent for ``reference`` (an order) and not given back yet,
        restored or refunded under the same reference."""
        return -sum(
            entry.units
            for entry in self.entries
            if entry.reference == reference
            and entry.reason in (CreditReason.SPENT, CreditReason.RESTORED, CreditReason.REFUND)
        )

    def restore(self, reference: str, *, at: datetime, actor: str) -> int:
        """Give back what was spent for ``reference`` (an order that failed or was
        cancelled) and not given back yet: once, however often it is asked.

        :returns: the minor units given back (0 when nothing was left to give).
        """
        units = self.taken_for(reference)
        if units <= 0:
            return 0
        self._post(units, CreditReason.RESTORED, reference=reference, at=at, actor=actor)
        return units


@attrs.define(kw_only=True, eq=False)
class CreditAccount(Ledger):
    """A customer's store credit in one currency: one per customer and currency,
    under an id made of both (:meth:`key`)."""

    KIND: ClassVar[str] = "credit_account"
    SHORT: ClassVar[str] = "store_credit"

    customer_id: str
    opened_at: datetime

    @staticmethod
    def key(customer_id: str, currency: str) -> str:
        """The id of ``customer_id``'s account in ``currency``."""
        return f"credit:{customer_id}:{currency}"

    @classmethod
    def open(cls, customer_id: str, currency: str, *, at: datetime) -> CreditAccount:
        """An empty account (stored once something is credited to it)."""
        return cls(
            id=cls.key(customer_id, currency),
            customer_id=customer_id,
            currency=currency,
            opened_at=at,
        )

    def issue(
        self, units: int, reason: CreditReason, *, reference: str, at: datetime, actor: str
    ) -> CreditEntry:
        """Give the customer credit (issued by the merchant, or a refund).

        :raises InvalidInput: as :meth:`credit`; naming ``reason`` for anything but
            issued or refund.
        """
        if reason not in (CreditReason.ISSUED, CreditReason.REFUND):
            raise InvalidInput("must be issued or refund", field="reason")
        entry = self.credit(units, reason, reference=reference, at=at, actor=actor)
        self.events.append(
            StoreCreditIssued(
                occurred_at=at,
                customer_id=self.customer_id,
                currency=self.currency,
                amount_units=units,
                reason=reason.value,
                reference=reference,
            )
        )
        return entry

    def spend(self, units: int, *, reference: str, at: datetime, actor: str) -> CreditEntry:
        """Pay ``units`` of an order (``reference``) with the credit.

        :raises InsufficientBalance: naming ``store_credit``, for more than is left.
        """
        return self.debit(units, CreditReason.SPENT, reference=reference, at=at, actor=actor)

    def index(self) -> Index:
        return Index(at=self.opened_at, ref=self.currency, owner=self.customer_id)
