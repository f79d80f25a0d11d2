"""Back-in-stock alerts: shoppers ask to be told when a sold-out variant can be bought
again, and are told, first come first served, when stock makes it available.

Each :class:`StockAlert` is one request (a guest's, by email, or a signed-in
customer's) for one SKU. Its place in line is when it was asked, then its id (the
store makes ids that sort in the order asked, for requests made in one instant), so
joining the line writes nothing but the request itself: a sold-out SKU that many
shoppers ask for at once has no row they all must write.

When stock is available, :func:`choose` picks who is told: the earliest waiting, at
most as many addresses as there are units nobody has been promised yet (or everyone
waiting, when the store says so). One address is told once, at its earliest place,
for all its requests. A shopper told of a unit holds a promise on it for ``hold``
(the store's setting): until they buy, or the promise lapses, the unit is not offered
to the next in line.

The :class:`AlertQueue` of a SKU is the telling side's: every decision that tells
someone writes it, so that two decisions about one SKU are made one after the other
and never tell more than there are units. Subscribing reads it, and writes it only
to wake a queue that a decision found empty.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import aware, aware_or_none, flag, text
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index

__all__ = [
    "MAX_WAITING",
    "SETTLE",
    "AlertPolicy",
    "AlertQueue",
    "AlertStatus",
    "StockAlert",
    "choose",
    "in_line",
    "kept",
]

#: How many of those waiting for one SKU a decision looks at, first in line first:
#: those after them wait their turn.
MAX_WAITING: Final = 10_000

#: How long a queue found with nobody waiting is still looked at before it sleeps.
#: Far longer than any subscribing takes (and than clocks of two servers differ), so
#: a request stored by one who read the queue awake, just before it was found empty,
#: is seen by the decision that would put it to sleep.
SETTLE: Final = timedelta(hours=1)


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
    """Unguessable: whoever holds it may cancel the alert. Only who made the request
    is given it (a guest asking again gets a request of their own)."""
    sku: str = attrs.field(validator=text(64))
    email: str
    """Where they are told."""
    email_key: str
    """The email as one spelling: one address is told once, whatever number of
    requests it has."""
    customer_id: str | None = None
    """The signed-in customer who asked; ``None`` for a guest."""
    subscribed_at: datetime = attrs.field(validator=aware)
    status: AlertStatus = AlertStatus.WAITING
    notice_key: str = ""
    notified_at: datetime | None = None
    promised_until: datetime | None = None
    closed_at: datetime | None = None
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def guest_owner(email_key: str) -> str:
        """The index's owner of a guest's requests made with this address."""
        return f"email:{email_key}"

    @staticmethod
    def customer_owner(customer_id: str) -> str:
        """The index's owner of a signed-in customer's requests: apart from any
        guest's, so that no request made with their address is ever taken for
        theirs."""
        return f"customer:{customer_id}"

    @property
    def place(self) -> tuple[datetime, str]:
        """Its place in the SKU's line: earlier is told first."""
        return (self.subscribed_at, self.id)

    def index(self) -> Index:
        due = self.promised_until if self.status is AlertStatus.NOTIFIED else None
        owner = (
            self.guest_owner(self.email_key)
            if self.customer_id is None
            else self.customer_owner(self.customer_id)
        )
        return Index(
            at=self.subscribed_at,
            ref=self.sku,
            owner=owner,
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
    """One SKU's line, as the telling side keeps it: whether anyone may wait (so
    that sweeps pass the SKUs nobody waits for), and a version every decision that
    tells someone bumps (so that two decisions are made one after the other).

    It sleeps only once decisions found nobody waiting twice, :data:`SETTLE` apart:
    a request stored meanwhile wakes it, and one who subscribes to a queue that is
    not plainly awake wakes it themselves (a write, version-checked against the
    decisions). A sleeping queue has nobody waiting."""

    KIND: ClassVar[str] = "stock_alert_queue"

    id: str
    sku: str = attrs.field(validator=text(64))
    created_at: datetime = attrs.field(validator=aware)
    empty_since: datetime | None = attrs.field(default=None, validator=aware_or_none)
    """When a decision found nobody waiting, if none has found anyone since."""
    asleep: bool = attrs.field(default=False, validator=flag)
    """Found with nobody waiting twice, :data:`SETTLE` apart; until someone
    subscribes, nobody waits."""
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
        return Index(at=self.created_at, ref=self.sku, state="idle" if self.asleep else "waiting")

    @property
    def awake(self) -> bool:
        """Whether it is plainly awake: one who subscribes need not write it."""
        return not self.asleep and self.empty_since is None

    def wake(self) -> bool:
        """Someone waits.

        :returns: whether that changed it (and it is to be written).
        """
        if self.awake:
            return False
        self.asleep = False
        self.empty_since = None
        self.version += 1
        return True

    def found_empty(self, now: datetime) -> bool:
        """A decision at ``now`` found nobody waiting.

        :returns: whether that changed it (and it is to be written).
        """
        if self.asleep:
            return False
        if self.empty_since is None:
            self.empty_since = now
        elif now - self.empty_since >= SETTLE:
            self.asleep = True
        else:
            return False
        self.version += 1
        return True

    def decided(self) -> None:
        """A decision told someone: any other decision made meanwhile, from what it
        read before, loses its race and decides again."""
        self.empty_since = None
        self.version += 1


def in_line(alerts: Iterable[StockAlert]) -> list[StockAlert]:
    """The waiting of ``alerts``, in the order they are told: by :attr:`StockAlert.place`."""
    return sorted(
        (alert for alert in alerts if alert.status is AlertStatus.WAITING),
        key=lambda alert: alert.place,
    )


def kept(alerts: Iterable[StockAlert], now: datetime) -> int:
    """How many units are kept at ``now`` for shoppers told before: one for each
    notice whose promise still runs (an address told once for many requests holds
    one unit)."""
    return len({alert.notice_key for alert in alerts if alert.promising(now)})


def choose(
    waiting: Sequence[StockAlert],
    *,
    available: int,
    promised: int,
    policy: AlertPolicy,
) -> list[StockAlert]:
    """Who of ``waiting`` is told now: nobody while no unit is available; else the
    earliest addresses first, as many as there are units not promised to anyone
    told before (``available - promised``), or all of them when the policy says so.
    An address is chosen with every request it has waiting, and stands in line at
    its earliest.

    :returns: the requests to tell, in line; those of one address are told by one
        notice.
    """
    line = in_line(waiting)
    if available <= 0:
        return []
    addresses = list(dict.fromkeys(alert.email_key for alert in line))
    if not policy.everyone:
        addresses = addresses[: max(0, available - promised)]
    chosen = set(addresses)
    return [alert for alert in line if alert.email_key in chosen]
