"""Abandoned carts: which carts a store reminds their shopper of, when, how often,
and which orders the reminders brought back.

A cart is watched from the moment the store can write to its shopper (an email
given at checkout, or a signed-in customer's cart): one :class:`CartRecovery` record
per cart. Carts keep no time of their last change, so the record keeps the cart's
and its checkout's versions as last seen and when that was; a sweep that finds them
changed takes that as activity, now. A cart is idle for as long as its versions
stay the same, and a reminder therefore never goes before the cart has been idle
for the store's whole ``idle`` time (it may go up to one sweep later).

A reminder goes (:meth:`CartRecovery.decide`) when the cart still exists, holds
items, has not become an order, has an email to write to, the latest word on
marketing recorded for the shopper or their address is not a no, and it has been
idle for ``idle``; at most once per ``interval`` and at most ``most_notices`` times,
never for a cart idle past ``stale_after``. Each reminder carries a signed link
(:func:`restore_token`) that opens the cart again, on any device, until the link
runs out. An order paid from a cart counts as recovered, with its total as revenue,
when a reminder of it was handed over (not only written) before the order was placed.

The store's figures are summed from these records when asked for (the report
``abandoned_carts`` does the same for a period), never kept in a record of their own
that every reminder, restore and recovery would write.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import aware, aware_or_none, flag, text, whole_number
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index
from commercekit.domain.marketing.links import SignedLink, sign, verify

__all__ = [
    "RESTORE_LINK",
    "CartRecovery",
    "CartView",
    "Decision",
    "RecoveryNotice",
    "RecoveryPolicy",
    "RecoveryReport",
    "RecoveryStatus",
    "RecoveryTotals",
    "Step",
    "read_restore_token",
    "restore_token",
]

#: The purpose a cart's restore link is signed for.
RESTORE_LINK: Final = "restore_cart"


def _positive(_: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidInput("must be a positive duration", field=attribute.name)


@attrs.frozen(kw_only=True)
class RecoveryPolicy:
    """When a store reminds a shopper of their cart (from its configuration)."""

    idle: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    """How long a cart stays unchanged before it counts as abandoned."""
    interval: timedelta = attrs.field(default=timedelta(hours=24), validator=_positive)
    """The least time between two reminders of one cart."""
    most_notices: int = attrs.field(default=2, validator=whole_number(1, 10))
    """How many reminders one cart gets at most."""
    stale_after: timedelta = attrs.field(default=timedelta(days=14), validator=_positive)
    """A cart idle longer than this is not worth a reminder, and is no longer watched."""
    link_lifetime: timedelta = attrs.field(default=timedelta(days=7), validator=_positive)
    """How long a reminder's restore link works."""
    require_consent: bool = attrs.field(default=False, validator=flag)
    """Remind only shoppers whose latest word on marketing, on record for them or
    their address, is a yes (a guest whose address no customer gave a yes from is
    then never reminded). Without it, anyone is reminded but one whose latest word
    was a no."""


class RecoveryStatus(enum.Enum):
    """Where a cart's recovery stands."""

    WATCHING = "watching"
    """No reminder sent yet."""
    NOTIFIED = "notified"
    """Reminded at least once; still watched for another."""
    RECOVERED = "recovered"
    """An order was paid from it after a reminder: final."""
    CLOSED = "closed"
    """No longer watched (the cart is gone, stale, or had every reminder it gets)."""


class Step(enum.Enum):
    """What a sweep does with a cart now."""

    SEND = "send"
    WAIT = "wait"
    STOP = "stop"


@attrs.frozen(kw_only=True)
class Decision:
    """A sweep's step for one cart, why, and when to look again (for ``WAIT``)."""

    step: Step
    reason: str
    look_again: datetime | None = None


@attrs.frozen(kw_only=True)
class CartView:
    """What a sweep sees of a cart now, read from storage."""

    exists: bool
    """Whether the cart is still stored (a paid order's cart is deleted)."""
    ordered: bool = False
    """Whether an order placed from it is live (not cancelled)."""
    items: int = 0
    """How many lines it holds."""
    cart_version: int = 0
    checkout_version: int = 0
    """The checkout's version, 0 for a cart without one."""
    email: str = ""
    """Where to write: the checkout's email, else the customer's; empty for none."""
    consent: bool | None = None
    """The latest word on marketing recorded for the shopper or the address written
    to (a guest's address may be a customer's); ``None`` for none."""


@attrs.frozen(kw_only=True)
class RecoveryNotice:
    """One reminder written for a cart."""

    number: int
    key: str
    """The notice's key in the store's outbox."""
    email: str
    at: datetime = attrs.field(validator=aware)


@attrs.define(kw_only=True, eq=False)
class CartRecovery:
    """The recovery of one cart: what was last seen of it, the reminders sent, and
    the order that brought it back."""

    KIND: ClassVar[str] = "cart_recovery"

    id: str
    cart_id: str = attrs.field(validator=text(255))
    watched_at: datetime = attrs.field(validator=aware)
    seen_at: datetime = attrs.field(validator=aware)
    """When the cart was last seen changing (its last activity, as far as is known)."""
    cart_version: int = 0
    checkout_version: int = 0
    status: RecoveryStatus = RecoveryStatus.WATCHING
    due: datetime | None = attrs.field(default=None, validator=aware_or_none)
    """When a sweep looks at it next; ``None`` once it is no longer watched."""
    notices: tuple[RecoveryNotice, ...] = ()
    restores: int = 0
    """How often its restore link was used."""
    restored_at: datetime | None = None
    closed_reason: str = ""
    order_id: str = ""
    """The order that recovered it."""
    currency: str = ""
    revenue_units: int = 0
    recovered_at: datetime | None = None
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(cart_id: str) -> str:
        """The record's id for a cart."""
        return f"cart_recovery:{cart_id}"

    @classmethod
    def watch(
        cls,
        cart_id: str,
        *,
        cart_version: int,
        checkout_version: int,
        at: datetime,
    ) -> CartRecovery:
        """Start watching a cart, as it stands ``at``; the next sweep looks at it
        (and finds it not idle yet)."""
        return cls(
            id=cls.key(cart_id),
            cart_id=cart_id,
            watched_at=at,
            seen_at=at,
            cart_version=cart_version,
            checkout_version=checkout_version,
            due=at,
        )

    def index(self) -> Index:
        return Index(at=self.watched_at, ref=self.cart_id, state=self.status.value, due=self.due)

    @property
    def watched(self) -> bool:
        """Whether a sweep still looks at it."""
        return self.status in (RecoveryStatus.WATCHING, RecoveryStatus.NOTIFIED)

    @property
    def last_notice_at(self) -> datetime | None:
        """When the latest reminder was written, if any was."""
        return self.notices[-1].at if self.notices else None

    def _changed(self, view: CartView) -> bool:
        return (view.cart_version, view.checkout_version) != (
            self.cart_version,
            self.checkout_version,
        )

    def decide(self, view: CartView, *, now: datetime, policy: RecoveryPolicy) -> Decision:
        """What to do with the cart now (this changes nothing)."""
        if not self.watched:
            return Decision(step=Step.STOP, reason=self.closed_reason or self.status.value)
        if not view.exists:
            return Decision(step=Step.STOP, reason="gone")
        if len(self.notices) >= policy.most_notices:
            return Decision(step=Step.STOP, reason="reminded")
        seen = now if self._changed(view) else self.seen_at
        if now - seen >= policy.stale_after:
            return Decision(step=Step.STOP, reason="stale")
        # Any of these may change while the cart is kept: look again later.
        later = now + policy.idle
        if view.ordered:
            return Decision(step=Step.WAIT, reason="ordered", look_again=later)
        if not view.items:
            return Decision(step=Step.WAIT, reason="empty", look_again=later)
        if not view.email:
            return Decision(step=Step.WAIT, reason="no_email", look_again=later)
        if view.consent is False or (policy.require_consent and view.consent is not True):
            return Decision(step=Step.WAIT, reason="no_consent", look_again=now + policy.interval)
        ready = seen + policy.idle
        last = self.last_notice_at
        if last is not None:
            ready = max(ready, last + policy.interval)
        if now < ready:
            return Decision(step=Step.WAIT, reason="idle", look_again=ready)
        return Decision(step=Step.SEND, reason="abandoned")

    def look(self, view: CartView, decision: Decision, *, now: datetime) -> None:
        """Keep what a sweep saw and decided (``WAIT`` or ``STOP``)."""
        if decision.step is Step.SEND:
            raise InvalidTransition("cart recovery", self.status.value, "look without a notice")
        if view.exists and self._changed(view):
            self.seen_at = now
            self.cart_version, self.checkout_version = view.cart_version, view.checkout_version
        if decision.step is Step.STOP:
            self._close(decision.reason)
        else:
            self.due = decision.look_again
        self.version += 1

    def notify(
        self, view: CartView, *, key: str, now: datetime, policy: RecoveryPolicy
    ) -> RecoveryNotice:
        """Record the reminder written now under ``key`` (the next may go after
        ``interval``, if the cart stays idle).

        :raises InvalidTransition: unless :meth:`decide` says ``SEND`` now.
        """
        if self.decide(view, now=now, policy=policy).step is not Step.SEND:
            raise InvalidTransition("cart recovery", self.status.value, "send a reminder")
        notice = RecoveryNotice(number=len(self.notices) + 1, key=key, email=view.email, at=now)
        self.notices = (*self.notices, notice)
        self.status = RecoveryStatus.NOTIFIED
        self.due = now + policy.interval
        self.version += 1
        return notice

    def next_notice_number(self) -> int:
        """The number the next reminder of this cart would have."""
        return len(self.notices) + 1

    def restored(self, *, at: datetime, policy: RecoveryPolicy) -> bool:
        """The shopper opened the cart through a reminder's link: that is activity,
        and its idle time starts again.

        :returns: whether this was the first time.
        """
        first = self.restores == 0
        self.restores += 1
        self.restored_at = at
        self.seen_at = at
        if self.watched:
            self.due = max(at + policy.idle, self.due or at)
        self.version += 1
        return first

    def recover(
        self,
        *,
        order_id: str,
        currency: str,
        total_units: int,
        placed_at: datetime,
        at: datetime,
        handed_over: Mapping[str, datetime],
    ) -> bool:
        """An order placed at ``placed_at`` was paid from the cart. It counts as
        recovered when one of its reminders was handed over before the order was
        placed (once): a reminder written but still waiting, withdrawn or given up
        brought nobody back.

        :param handed_over: when each reminder that went was handed to the notifier,
            by its key.
        :returns: whether it counted now.
        """
        if self.status is RecoveryStatus.RECOVERED:
            return False
        sent = [handed_over.get(notice.key) for notice in self.notices]
        if not any(when is not None and when <= placed_at for when in sent):
            return False
        self.status = RecoveryStatus.RECOVERED
        self.order_id = order_id
        self.currency = currency
        self.revenue_units = total_units
        self.recovered_at = at
        self.due = None
        self.version += 1
        return True

    def rewatch(self, *, cart_version: int, checkout_version: int, at: datetime) -> bool:
        """Watch a cart again that went stale, now that its shopper is back.

        :returns: whether it is watched again (only a stale one is).
        """
        if self.status is not RecoveryStatus.CLOSED or self.closed_reason != "stale":
            return False
        self.status = RecoveryStatus.NOTIFIED if self.notices else RecoveryStatus.WATCHING
        self.closed_reason = ""
        self.seen_at = at
        self.cart_version, self.checkout_version = cart_version, checkout_version
        self.due = at
        self.version += 1
        return True

    def _close(self, reason: str) -> None:
        self.status = RecoveryStatus.CLOSED
        self.closed_reason = reason
        self.due = None


@attrs.frozen(kw_only=True)
class RecoveryReport:
    """What a store's reminders of abandoned carts came to."""

    carts_reminded: int
    """Carts that were sent at least one reminder."""
    reminders: int
    """Reminders written, all carts together."""
    carts_restored: int
    """Carts opened through a reminder's link at least once."""
    orders_recovered: int
    """Orders paid from a cart after a reminder of it was handed over."""
    revenue: Mapping[str, int]
    """What those orders came to, in minor units by currency."""


@attrs.define(kw_only=True, eq=False)
class RecoveryTotals:
    """Running totals of :class:`RecoveryReport` in one record for the store, as
    stores wrote them before the report was summed from the carts' records. No longer
    written: one record that every reminder, restore and recovery wrote made them
    wait on each other, and a shopper's click failed when a counter lost a race."""

    KIND: ClassVar[str] = "cart_recovery_totals"
    ID: ClassVar[str] = "cart_recovery_totals"

    id: str = ID
    started_at: datetime = attrs.field(validator=aware)
    carts_reminded: int = 0
    reminders: int = 0
    carts_restored: int = 0
    orders_recovered: int = 0
    revenue: Mapping[str, int] = attrs.field(factory=dict)
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def index(self) -> Index:
        return Index(at=self.started_at)

    def reminded(self, notice: RecoveryNotice) -> None:
        """Count a reminder (and its cart, for its first)."""
        self.reminders += 1
        if notice.number == 1:
            self.carts_reminded += 1
        self.version += 1

    def restored(self) -> None:
        """Count a reminded cart opened through its link for the first time."""
        self.carts_restored += 1
        self.version += 1

    def recovered(self, *, currency: str, total_units: int) -> None:
        """Count an order that recovered a cart."""
        self.orders_recovered += 1
        self.revenue = {**self.revenue, currency: self.revenue.get(currency, 0) + total_units}
        self.version += 1

    def report(self) -> RecoveryReport:
        """The totals as a report."""
        return RecoveryReport(
            carts_reminded=self.carts_reminded,
            reminders=self.reminders,
            carts_restored=self.carts_restored,
            orders_recovered=self.orders_recovered,
            revenue=dict(sorted(self.revenue.items())),
        )


def restore_token(secret: str, cart_id: str, *, expires_at: datetime) -> str:
    """The signed token of a link that opens cart ``cart_id`` until ``expires_at``.

    :raises ConfigurationError: naming ``link_signing_secret``, for too short a secret.
    """
    return sign(secret, SignedLink(purpose=RESTORE_LINK, subject=cart_id, expires_at=expires_at))


def read_restore_token(secrets: str | Sequence[str], token: object, *, now: datetime) -> str:
    """The id of the cart a restore link's token opens.

    :raises LinkRejected: naming ``token``: ``invalid`` for a token the store did not
        sign as a restore link, ``expired`` for one that ran out.
    """
    return verify(secrets, token, purpose=RESTORE_LINK, now=now).subject
