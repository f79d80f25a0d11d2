"""Back-in-stock alerts: shoppers ask to be told when a sold-out variant can be bought
again, and are told, first come first served, when stock makes it available.

Each :class:`StockAlert` is one shopper's request (by email, or a signed-in
customer's) for one SKU, numbered in the order asked within that SKU by the SKU's
:class:`AlertQueue`. When stock is available, :func:`choose` picks who is told: the
earliest waiting, at most as many as there are units nobody has been promised yet
(or everyone waiting, when the store says so). A shopper told of a unit holds a
promise on it for ``hold`` (the store's setting): until they buy, or the promise
lapses, the unit is not offered to the next in line. Each alert is told once; the
queue, written with every decision about its SKU, lets no two decisions overlap.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import aware, flag, text, whole_number
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index

__all__ = [
    "MAX_WAITING",
    "AlertPolicy",
    "AlertQueue",
    "AlertStatus",
    "StockAlert",
    "choose",
]

#: How many shoppers may wait for one SKU at once.
MAX_WAITING: Final = 10_000


def _hold(_: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidInput("must be a positive duration", field=attribute.name)


@attrs.frozen(kw_only=True)
class AlertPolicy:
    """How many shoppers are told when stock comes back (from the configuration)."""

    everyone: bool = attrs.field(default=False, validator=flag)
    """Tell everyone waiting at once, however few the units."""
    hold: timedelta = attrs.field(default=timedelta(hours=24), validator=_hold)
    """How long a unit a shopper was told of is kept for them before the next in
    line may be told of it."""


class AlertStatus(enum.Enum):
    WAITING = "waiting"
    NOTIFIED = "notified"
    """Told; the unit is promised to them until ``promised_until``."""
    BOUGHT = "bought"
    """Told, and bought the SKU since."""
    LAPSED = "lapsed"
    """Told, and did not buy while the unit was kept for them."""
    CANCELLED = "cancelled"


@attrs.define(kw_only=True, eq=False)
class StockAlert:
    """A shopper's request to be told when a SKU is back."""

    KIND: ClassVar[str] = "stock_alert"

    id: str
    """Unguessable: whoever holds it may cancel the alert."""
    sku: str = attrs.field(validator=text(64))
    number: int = attrs.field(validator=whole_number(1))
    """Its place in the SKU's queue: lower numbers are told first."""
    email: str
    email_key: str
    """The email as one spelling: one address waits once per SKU."""
    customer_id: str | None = None
    subscribed_at: datetime = attrs.field(validator=aware)
    status: AlertStatus = AlertStatus.WAITING
    notice_key: str = ""
    notified_at: datetime | None = None
    promised_until: datetime | None = None
    closed_at: datetime | None = None
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def index(self) -> Index:
        due = self.promised_until if self.status is AlertStatus.NOTIFIED else None
        return Index(
            at=self.subscribed_at,
            ref=self.sku,
            owner=self.email_key,
            state=self.status.value,
            due=due,
        )

    def promising(self, now: datetime) -> bool:
        """Whether a unit is kept for this shopper at ``now``."""
        return (
            self.status is AlertStatus.NOTIFIED
            and self.promised_until is not None
            and now < self.promised_until
        )

    def notify(self, *, key: str, at: datetime, policy: AlertPolicy) -> None:
        """The shopper is told now, by the notice ``key``.

        :raises InvalidTransition: unless it is waiting: an alert is told once.
        """
        if self.status is not AlertStatus.WAITING:
            raise InvalidTransition("stock alert", self.status.value, "notify")
        self.status = AlertStatus.NOTIFIED
        self.notice_key = key
        self.notified_at = at
        self.promised_until = at + policy.hold
        self.version += 1

    def lapse(self, now: datetime) -> bool:
        """End a promise that ran out.

        :returns: whether it ended now.
        """
        if self.status is not AlertStatus.NOTIFIED or self.promising(now):
            return False
        self.status = AlertStatus.LAPSED
        self.closed_at = now
        self.version += 1
        return True

    def bought(self, *, at: datetime) -> bool:
        """The shopper bought the SKU after being told: their unit is theirs.

        :returns: whether that ended a promise.
        """
        if self.status is not AlertStatus.NOTIFIED:
            return False
        self.status = AlertStatus.BOUGHT
        self.closed_at = at
        self.version += 1
        return True

    def cancel(self, *, at: datetime) -> bool:
        """The shopper no longer wants to be told.

        :returns: whether it was waiting (and is cancelled now).
        """
        if self.status is not AlertStatus.WAITING:
            return False
        self.status = AlertStatus.CANCELLED
        self.closed_at = at
        self.version += 1
        return True


@attrs.define(kw_only=True, eq=False)
class AlertQueue:
    """The alerts of one SKU: who comes next, and how many wait. Every change of the
    SKU's alerts writes it, so that two at once are decided one after the other."""

    KIND: ClassVar[str] = "stock_alert_queue"

    id: str
    sku: str = attrs.field(validator=text(64))
    created_at: datetime = attrs.field(validator=aware)
    next_number: int = 1
    waiting: int = 0
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(sku: str) -> str:
        """The queue's id for a SKU."""
        return f"stock_alert_queue:{sku}"

    @classmethod
    def open(cls, sku: str, *, at: datetime) -> AlertQueue:
        return cls(id=cls.key(sku), sku=sku, created_at=at)

    def index(self) -> Index:
        return Index(at=self.created_at, ref=self.sku, state="waiting" if self.waiting else "idle")

    def join(self) -> int:
        """A shopper joins the queue.

        :returns: their number.
        :raises InvalidInput: naming ``sku``, when :data:`MAX_WAITING` wait already.
        """
        if self.waiting >= MAX_WAITING:
            raise InvalidInput(f"at most {MAX_WAITING} shoppers wait for one SKU", field="sku")
        number = self.next_number
        self.next_number += 1
        self.waiting += 1
        self.version += 1
        return number

    def left(self, count: int = 1) -> None:
        """``count`` shoppers stopped waiting (told, or cancelled)."""
        self.waiting = max(0, self.waiting - count)
        self.version += 1


def choose(
    waiting: Sequence[StockAlert],
    *,
    available: int,
    promised: int,
    policy: AlertPolicy,
) -> list[StockAlert]:
    """Who of ``waiting`` is told now: nobody while no unit is available; else,
    earliest first, as many as there are units not promised to anyone told before
    (``available - promised``), or all of them when the policy says so."""
    queue = sorted(
        (alert for alert in waiting if alert.status is AlertStatus.WAITING),
        key=lambda alert: alert.number,
    )
    if available <= 0:
        return []
    if policy.everyone:
        return queue
    return queue[: max(0, available - promised)]
