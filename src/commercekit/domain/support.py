"""Support cases: a customer's question or problem, the thread of messages about it,
what was done about it, and by when the next reply is owed.

A case belongs to a signed-in customer (by the application's id) or to a guest (by
email), and may be about an order, one of its shipments or a return. Its life:

```text
open ──▶ waiting_on_customer ──▶ resolved ──▶ closed
  ▲              │                   │
  └──────────────┴───────────────────┘  (reopened; a customer's message reopens it)
```

Closed is final: nothing more is written to a closed case. A message from the
customer makes a reply owed, :data:`RESPONSE_TARGETS` after the first message still
unanswered, by the case's priority; an agent's reply answers them all. What staff do
from the case (a refund, a reshipment, a notice sent again) is recorded on it as an
action.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import ACTOR, aware, text
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import CaseOpened, CaseResolved, DomainEvent
from commercekit.domain.indexed import Index

__all__ = [
    "MAX_BODY_LENGTH",
    "MAX_DETAIL_LENGTH",
    "MAX_ENTRIES",
    "MAX_SUBJECT_LENGTH",
    "RESPONSE_TARGETS",
    "TRANSITIONS",
    "ActionKind",
    "AuthorKind",
    "CaseAction",
    "CaseChannel",
    "CaseMessage",
    "CasePriority",
    "CaseStatus",
    "SupportCase",
]

#: The longest message body a case keeps.
MAX_BODY_LENGTH: Final = 10_000
MAX_SUBJECT_LENGTH: Final = 200
#: The longest account of an action; with the case named beside it, it fits the
#: 2,000 characters of an order's history entry.
MAX_DETAIL_LENGTH: Final = 1000
#: How many messages, and how many actions, one case holds: a case is read and written
#: whole, so it stays within a few megabytes however long the conversation.
MAX_ENTRIES: Final = 200


class CaseChannel(enum.Enum):
    """How the case reached the store."""

    EMAIL = "email"
    CHAT = "chat"
    PHONE = "phone"
    WEB = "web"


class CaseStatus(enum.Enum):
    """Where a case stands."""

    OPEN = "open"
    """Staff are on it."""
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    """Staff wait for the customer's answer: no reply is owed."""
    RESOLVED = "resolved"
    """Settled; a message from the customer reopens it."""
    CLOSED = "closed"
    """Final: nothing more is written to it."""

    @property
    def answered(self) -> bool:
        """Whether no reply is owed while it stands here."""
        return self is not CaseStatus.OPEN


class CasePriority(enum.Enum):
    """How soon a reply is owed (see :data:`RESPONSE_TARGETS`)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class AuthorKind(enum.Enum):
    """Who wrote a message."""

    CUSTOMER = "customer"
    AGENT = "agent"


class ActionKind(enum.Enum):
    """What was done from a case."""

    REFUND = "refund"
    RESHIPMENT = "reshipment"
    RETURN_STARTED = "return_started"
    ORDER_EDITED = "order_edited"
    NOTIFICATION_RESENT = "notification_resent"
    OTHER = "other"


#: How long after a customer's message a reply is owed, by priority; a store may set
#: its own (``support_response_hours`` in its configuration).
RESPONSE_TARGETS: Final[Mapping[CasePriority, timedelta]] = {
    CasePriority.URGENT: timedelta(hours=1),
    CasePriority.HIGH: timedelta(hours=4),
    CasePriority.NORMAL: timedelta(hours=24),
    CasePriority.LOW: timedelta(hours=72),
}

_S = CaseStatus
#: Which status may follow which; closed is final.
TRANSITIONS: Final[Mapping[CaseStatus, frozenset[CaseStatus]]] = {
    _S.OPEN: frozenset({_S.WAITING_ON_CUSTOMER, _S.RESOLVED, _S.CLOSED}),
    _S.WAITING_ON_CUSTOMER: frozenset({_S.OPEN, _S.RESOLVED, _S.CLOSED}),
    _S.RESOLVED: frozenset({_S.OPEN, _S.CLOSED}),
    _S.CLOSED: frozenset(),
}


@attrs.frozen(kw_only=True)
class CaseMessage:
    """One message of a case's thread."""

    author_kind: AuthorKind
    author: str = attrs.field(validator=ACTOR)
    """Who wrote it down (``customer:ada``, ``staff:grace``)."""
    body: str = attrs.field(validator=text(MAX_BODY_LENGTH))
    at: datetime = attrs.field(validator=aware)


@attrs.frozen(kw_only=True)
class CaseAction:
    """Something done from a case: a refund, a reshipment, a notice sent again."""

    kind: ActionKind
    detail: str = attrs.field(validator=text(MAX_DETAIL_LENGTH, blank=True))
    """What, in words (``refunded 12.00 EUR``)."""
    at: datetime = attrs.field(validator=aware)
    actor: str = attrs.field(validator=ACTOR)


def _tie(value: str, email_key: str) -> bool:
    """Whether ``value`` is ``email_key``, compared in constant time (an empty one
    never matches)."""
    return bool(value and email_key) and hmac.compare_digest(value.encode(), email_key.encode())


@attrs.define(kw_only=True, eq=False)
class SupportCase:
    """A customer's support case."""

    KIND: ClassVar[str] = "support_case"

    id: str
    subject: str = attrs.field(validator=text(MAX_SUBJECT_LENGTH))
    channel: CaseChannel
    customer_id: str | None = None
    """The application's id for the customer; ``None`` for a guest."""
    email: str = ""
    """Where the customer is written to (empty when the store knows no address)."""
    email_key: str = ""
    """``email`` as one spelling: how a guest's case is found and told apart."""
    order_id: str | None = None
    shipment_id: str | None = None
    return_id: str | None = None
    status: CaseStatus = CaseStatus.OPEN
    priority: CasePriority = CasePriority.NORMAL
    assignee: str = ""
    """The agent on it; empty for none."""
    messages: tuple[CaseMessage, ...] = ()
    actions: tuple[CaseAction, ...] = ()
    awaiting_since: datetime | None = None
    """When the oldest customer message still unanswered came."""
    response_due: datetime | None = None
    """When the next reply is owed; ``None`` when none is."""
    opened_at: datetime = attrs.field(validator=aware)
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @classmethod
    def open(
        cls,
        *,
        id: str,
        subject: str,
        body: str,
        channel: CaseChannel,
        at: datetime,
        actor: str,
        customer_id: str | None = None,
        email: str = "",
        email_key: str = "",
        order_id: str | None = None,
        shipment_id: str | None = None,
        return_id: str | None = None,
        priority: CasePriority = CasePriority.NORMAL,
        targets: Mapping[CasePriority, timedelta] = RESPONSE_TARGETS,
    ) -> SupportCase:
        """A new case, its first message the customer's ``body``: a reply is owed.

        :raises InvalidInput: for a case that belongs to nobody (neither a customer
            nor an email), or a subject or body that breaks its rule.
        """
        if customer_id is None and not email_key:
            raise InvalidInput("a case belongs to a customer or to an email", field="email")
        case = cls(
            id=id,
            subject=subject,
            channel=channel,
            customer_id=customer_id,
            email=email,
            email_key=email_key,
            order_id=order_id,
            shipment_id=shipment_id,
            return_id=return_id,
            priority=priority,
            opened_at=at,
        )
        case._write(AuthorKind.CUSTOMER, body, at=at, actor=actor)
        case._owe_reply(at, targets)
        case._tell(CaseOpened, at)
        return case

    # --- who it belongs to ---------------------------------------------------------

    @property
    def owner(self) -> str:
        """Whose it is, as storage finds it: ``customer:<id>``, or ``email:<email
        key>`` for a guest (so that an id and an address never stand for each
        other)."""
        if self.customer_id is not None:
            return f"customer:{self.customer_id}"
        return f"email:{self.email_key}"

    def belongs_to(self, *, customer_id: str | None = None, email_key: str | None = None) -> bool:
        """Whether the case is this customer's, or this guest's (the email as one
        spelling, compared in constant time)."""
        if customer_id is not None:
            return self.customer_id == customer_id
        return self.customer_id is None and _tie(email_key or "", self.email_key)

    # --- the thread ----------------------------------------------------------------

    def _refuse(self, action: str) -> InvalidTransition:
        return InvalidTransition("support case", self.status.value, action)

    def _write(self, kind: AuthorKind, body: str, *, at: datetime, actor: str) -> None:
        if self.status is CaseStatus.CLOSED:
            raise self._refuse("write to")
        if len(self.messages) >= MAX_ENTRIES:
            raise InvalidTransition("support case", f"full ({MAX_ENTRIES} messages)", "write to")
        message = CaseMessage(author_kind=kind, author=actor, body=body, at=at)
        self.messages = (*self.messages, message)
        self.version += 1

    def _owe_reply(self, at: datetime, targets: Mapping[CasePriority, timedelta]) -> None:
        # The first unanswered message sets the clock: more messages before a reply
        # do not push the reply further out.
        if self.awaiting_since is None:
            self.awaiting_since = at
        self.response_due = self.awaiting_since + targets[self.priority]

    def _answered(self) -> None:
        self.awaiting_since = None
        self.response_due = None

    def customer_message(
        self,
        body: str,
        *,
        at: datetime,
        actor: str,
        targets: Mapping[CasePriority, timedelta] = RESPONSE_TARGETS,
    ) -> None:
        """A message from the customer: a case waiting on them or resolved opens
        again, and a reply is owed.

        :raises InvalidTransition: for a closed case, or one whose thread is full.
        """
        self._write(AuthorKind.CUSTOMER, body, at=at, actor=actor)
        if self.status is not CaseStatus.OPEN:
            self.status = CaseStatus.OPEN
        self._owe_reply(at, targets)

    def reply(self, body: str, *, at: datetime, actor: str) -> None:
        """An agent's reply: no reply is owed any more; the status stays.

        :raises InvalidTransition: for a closed case, or one whose thread is full.
        """
        self._write(AuthorKind.AGENT, body, at=at, actor=actor)
        self._answered()

    # --- status, priority, agent ---------------------------------------------------

    def set_status(
        self,
        status: CaseStatus,
        *,
        at: datetime,
        targets: Mapping[CasePriority, timedelta] = RESPONSE_TARGETS,
    ) -> bool:
        """Move the case on (see :data:`TRANSITIONS`). Opened again by staff, a reply
        is owed from now; waiting on the customer, resolved or closed, none is.
        Resolving it tells :class:`CaseResolved`.

        :returns: whether anything changed (the same status is no change).
        :raises InvalidTransition: for a move the table does not allow (anything
            from closed).
        """
        if status is self.status:
            return False
        if status not in TRANSITIONS[self.status]:
            raise self._refuse(f"mark {status.value}")
        self.status = status
        self.version += 1
        if status is CaseStatus.OPEN:
            self._owe_reply(at, targets)
        else:
            self._answered()
        if status is CaseStatus.RESOLVED:
            self._tell(CaseResolved, at)
        return True

    def set_priority(
        self,
        priority: CasePriority,
        *,
        targets: Mapping[CasePriority, timedelta] = RESPONSE_TARGETS,
    ) -> bool:
        """Change how soon a reply is owed: one owed now is owed by the new target,
        counted from the same message.

        :returns: whether anything changed.
        :raises InvalidTransition: for a closed case.
        """
        if self.status is CaseStatus.CLOSED:
            raise self._refuse("change the priority of")
        if priority is self.priority:
            return False
        self.priority = priority
        if self.awaiting_since is not None:
            self._owe_reply(self.awaiting_since, targets)
        self.version += 1
        return True

    def assign(self, agent: str) -> bool:
        """Give the case to ``agent`` (empty: to nobody).

        :returns: whether anything changed.
        :raises InvalidTransition: for a closed case.
        """
        if self.status is CaseStatus.CLOSED:
            raise self._refuse("assign")
        if agent == self.assignee:
            return False
        self.assignee = agent
        self.version += 1
        return True

    # --- what was done ---------------------------------------------------------------

    def record(self, kind: ActionKind, detail: str, *, at: datetime, actor: str) -> CaseAction:
        """Record something done from the case.

        :raises InvalidTransition: for a closed case, or one with no room for more.
        :raises InvalidInput: naming ``detail`` or ``actor``.
        """
        if self.status is CaseStatus.CLOSED:
            raise self._refuse("record an action on")
        if len(self.actions) >= MAX_ENTRIES:
            raise InvalidTransition(
                "support case", f"full ({MAX_ENTRIES} actions)", "record an action on"
            )
        action = CaseAction(kind=kind, detail=detail, at=at, actor=actor)
        self.actions = (*self.actions, action)
        self.version += 1
        return action

    # --- storage ---------------------------------------------------------------------

    def _tell(self, event: type[CaseOpened | CaseResolved], at: datetime) -> None:
        self.events.append(
            event(
                occurred_at=at,
                case_id=self.id,
                customer_id=self.customer_id or "",
                email=self.email,
                order_id=self.order_id or "",
                subject=self.subject,
            )
        )

    def index(self) -> Index:
        """Found by its order, its owner (see :attr:`owner`), its status, and when a
        reply is owed (never once resolved or closed)."""
        return Index(
            at=self.opened_at,
            ref=self.order_id or "",
            owner=self.owner,
            state=self.status.value,
            due=None if self.status.answered else self.response_due,
        )
