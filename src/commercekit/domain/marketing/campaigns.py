"""Email campaigns: a message a store sends to the customers a segment picks, only to
those whose marketing consent is on record, each of them once, each message with a
link that withdraws the consent.

A :class:`Segment` is a few rules, all of which a customer must meet: bought one of
some products, or in one of some categories (or their subcategories); spent at
least an amount in a currency; bought nothing for some days; in one of some
customer groups; consent given or not. A customer is judged on a :class:`Profile`,
the facts of their record and their paid orders.

A :class:`Campaign` goes from draft to sending to sent. It is sent in batches of
customers by id, its cursor saved with each batch; each recipient gets a
:class:`CampaignSend` record, stored under the campaign and the customer, in the
same unit of work as the message itself. Two senders at once, or a sender started
again after a crash, find the record and write nothing more: each customer gets the
campaign once (:func:`recipients` also gives one email address one message). How many
recipients withdrew their consent through its link is counted from those records
(their state), never kept on the campaign: an unsubscribe writes only what is the
recipient's own, so that many at once never wait on each other.

A :class:`Mailbox` is one email address, as marketing sees it: the customers
registered under it and what a shopper without a record said there (through the
unsubscribe link in a cart reminder). It is what lets a message to an address be
checked against the latest word on record for it, whoever gave it
(:func:`latest_word`), when the message is handed over and not only when it is
written.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import ACTOR, aware, ordered_strings, text, whole_number
from commercekit.domain.customers import Consent, Customer
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import DomainEvent
from commercekit.domain.identifiers import check_text
from commercekit.domain.indexed import Index
from commercekit.domain.marketing.links import SignedLink, sign, verify
from commercekit.domain.money import normalize_currency
from commercekit.domain.orders import Order, OrderStatus

__all__ = [
    "MAX_BODY_LENGTH",
    "MAX_MAILBOX_CUSTOMERS",
    "MAX_SUBJECT_LENGTH",
    "REMINDERS",
    "UNSUBSCRIBE_LINK",
    "UNSUBSCRIBE_SOURCE",
    "Campaign",
    "CampaignSend",
    "CampaignStatus",
    "Mailbox",
    "Profile",
    "Purchase",
    "Segment",
    "latest_word",
    "read_unsubscribe_token",
    "recipients",
    "reminder_unsubscribe_token",
    "unsubscribe_token",
    "with_ancestors",
]

#: The purpose an unsubscribe link is signed for.
UNSUBSCRIBE_LINK: Final = "unsubscribe"
#: Where a consent withdrawn through a campaign's link says it was withdrawn.
UNSUBSCRIBE_SOURCE: Final = "unsubscribe link"
#: What an unsubscribe link in a cart reminder names as what sent it (a campaign's
#: id never reads so: ids are made with the kind's name first).
REMINDERS: Final = "cart reminders"
#: The most customers a mailbox keeps (the latest registered).
MAX_MAILBOX_CUSTOMERS: Final = 20
MAX_NAME_LENGTH: Final = 200
MAX_SUBJECT_LENGTH: Final = 200
MAX_BODY_LENGTH: Final = 20_000
#: How many products, categories or groups one rule lists at most.
MAX_LISTED: Final = 100
#: Orders that count as bought: paid, and not being cancelled.
COUNTED: Final = frozenset({OrderStatus.OPEN, OrderStatus.COMPLETED})
#: The most spending a rule may ask for, in minor units.
MAX_SPENDING_UNITS: Final = 10**15


def _listed(value: object, field: str) -> tuple[str, ...]:
    found = ordered_strings(value, field=field)  # type: ignore[arg-type]
    if len(found) > MAX_LISTED:
        raise InvalidInput(f"lists at most {MAX_LISTED}", field=field)
    return tuple(check_text(item, field) for item in found)


def _products(value: object) -> tuple[str, ...]:
    return _listed(value, "bought_products")


def _categories(value: object) -> tuple[str, ...]:
    return _listed(value, "bought_categories")


def _groups(value: object) -> tuple[str, ...]:
    return _listed(value, "groups")


def _currency(value: object) -> str:
    return "" if value == "" else normalize_currency(value, field="spent_currency")


def _consent(_: object, attribute: attrs.Attribute[bool | None], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidInput("must be True, False or None", field=attribute.name)


@attrs.frozen(kw_only=True)
class Segment:
    """Which customers a campaign is for: every rule given must hold (a rule that
    lists several values holds for any one of them)."""

    bought_products: tuple[str, ...] = attrs.field(default=(), converter=_products)
    """Bought any of these products (by product id)."""
    bought_categories: tuple[str, ...] = attrs.field(default=(), converter=_categories)
    """Bought a product in any of these categories or their subcategories."""
    spent_at_least_units: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(whole_number(1, MAX_SPENDING_UNITS))
    )
    """Spent at least this much (minor units of ``spent_currency``) on paid orders."""
    spent_currency: str = attrs.field(default="", converter=_currency)
    inactive_days: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(whole_number(1, 36_500))
    )
    """Bought nothing for at least this many days (since they became a customer,
    for one who never bought)."""
    groups: tuple[str, ...] = attrs.field(default=(), converter=_groups)
    """In any of these customer groups."""
    consent: bool | None = attrs.field(default=None, validator=_consent)
    """Whether their marketing consent is on record (``None``: either). A campaign
    goes only to those whose consent is on record, whatever the segment says."""

    def __attrs_post_init__(self) -> None:
        if (self.spent_at_least_units is None) != (self.spent_currency == ""):
            raise InvalidInput(
                "an amount spent is an amount and its currency", field="spent_currency"
            )

    def matches(self, profile: Profile, *, now: datetime) -> bool:
        """Whether the customer ``profile`` describes meets every rule at ``now``."""
        if self.consent is not None and profile.accepts_marketing is not self.consent:
            return False
        if self.groups and profile.groups.isdisjoint(self.groups):
            return False
        if self.bought_products and profile.products.isdisjoint(self.bought_products):
            return False
        if self.bought_categories and profile.categories.isdisjoint(self.bought_categories):
            return False
        if (
            self.spent_at_least_units is not None
            and profile.spent(self.spent_currency) < self.spent_at_least_units
        ):
            return False
        return not (
            self.inactive_days is not None
            and now - profile.last_active < timedelta(days=self.inactive_days)
        )


@attrs.frozen(kw_only=True)
class Purchase:
    """A paid order, as a segment reads it."""

    placed_at: datetime
    currency: str
    total_units: int
    product_ids: frozenset[str]


@attrs.frozen(kw_only=True)
class Profile:
    """What a segment judges a customer by: their record and their paid orders."""

    customer_id: str
    email: str
    email_key: str
    """The email as one spelling: one address gets one message."""
    groups: frozenset[str] = frozenset()
    accepts_marketing: bool = False
    """Whether their last word on marketing, on record, is a yes."""
    since: datetime
    """When they became a customer."""
    purchases: tuple[Purchase, ...] = ()
    categories: frozenset[str] = frozenset()
    """The categories of what they bought, with every category above them."""

    @classmethod
    def of(
        cls,
        customer: Customer,
        orders: Iterable[Order],
        *,
        email_key: str,
        categories: Mapping[str, frozenset[str]],
    ) -> Profile:
        """The profile of ``customer`` from their orders (those not paid, or
        cancelled, do not count).

        :param categories: each product's categories, with those above them.
        """
        purchases = tuple(
            Purchase(
                placed_at=order.placed_at,
                currency=order.currency,
                total_units=order.totals.grand_total_units,
                product_ids=frozenset(line.product_id for line in order.lines),
            )
            for order in orders
            if order.status in COUNTED
        )
        bought = frozenset(p for purchase in purchases for p in purchase.product_ids)
        return cls(
            customer_id=customer.id,
            email=customer.email,
            email_key=email_key,
            groups=frozenset(customer.groups),
            accepts_marketing=customer.accepts_marketing,
            since=customer.created_at,
            purchases=purchases,
            categories=frozenset(c for p in bought for c in categories.get(p, frozenset())),
        )

    @property
    def products(self) -> frozenset[str]:
        """The products they bought."""
        return frozenset(p for purchase in self.purchases for p in purchase.product_ids)

    def spent(self, currency: str) -> int:
        """What their paid orders in ``currency`` came to, in minor units."""
        return sum(p.total_units for p in self.purchases if p.currency == currency)

    @property
    def last_active(self) -> datetime:
        """When they last bought (when they became a customer, if never)."""
        return max((p.placed_at for p in self.purchases), default=self.since)


def with_ancestors(
    category_ids: Iterable[str], parents: Mapping[str, str | None]
) -> frozenset[str]:
    """``category_ids`` and every category above them in the tree ``parents`` (each
    category's parent) describes."""
    found: set[str] = set()
    for category in category_ids:
        current: str | None = category
        while current is not None and current not in found:
            found.add(current)
            current = parents.get(current)
    return frozenset(found)


def recipients(
    profiles: Sequence[Profile],
    segment: Segment,
    *,
    now: datetime,
    sent: Collection[str] = (),
    emails_taken: Collection[str] = (),
) -> list[Profile]:
    """Who of ``profiles`` gets the campaign: those the segment picks whose consent is
    on record and who have an email, except those in ``sent`` (customer ids) and
    those whose address is in ``emails_taken`` (email keys); each address once."""
    chosen: list[Profile] = []
    emails = set(emails_taken)
    customers = set(sent)
    for profile in profiles:
        if (
            profile.customer_id in customers
            or not profile.accepts_marketing
            or not profile.email
            or profile.email_key in emails
            or not segment.matches(profile, now=now)
        ):
            continue
        emails.add(profile.email_key)
        customers.add(profile.customer_id)
        chosen.append(profile)
    return chosen


class CampaignStatus(enum.Enum):
    DRAFT = "draft"
    SENDING = "sending"
    SENT = "sent"


@attrs.define(kw_only=True, eq=False)
class Campaign:
    """An email to a segment of customers, and how far it has been sent."""

    KIND: ClassVar[str] = "campaign"

    id: str
    name: str = attrs.field(validator=text(MAX_NAME_LENGTH))
    subject: str = attrs.field(validator=text(MAX_SUBJECT_LENGTH))
    body: str = attrs.field(validator=text(MAX_BODY_LENGTH))
    """Plain text; a blank line starts a paragraph."""
    segment: Segment
    created_at: datetime = attrs.field(validator=aware)
    created_by: str = attrs.field(default="", validator=ACTOR)
    status: CampaignStatus = CampaignStatus.DRAFT
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cursor: str = ""
    """The id of the last customer a batch went through: the next starts after it."""
    scanned: int = 0
    """Customers looked at so far."""
    sent: int = 0
    """Messages written so far, one per recipient."""
    unsubscribed: int = 0
    """Recipients who withdrew their consent through its link, as counted from its
    sends when it is read (see :meth:`counted`); what is stored is not kept up to
    date, so that an unsubscribe never writes the campaign."""
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def index(self) -> Index:
        return Index(at=self.created_at, state=self.status.value)

    def start(self, *, at: datetime) -> bool:
        """Begin sending (nothing changes for one being sent).

        :returns: whether it began now.
        :raises InvalidTransition: for one sent already.
        """
        if self.status is CampaignStatus.SENT:
            raise InvalidTransition("campaign", self.status.value, "send")
        if self.status is CampaignStatus.SENDING:
            return False
        self.status = CampaignStatus.SENDING
        self.started_at = at
        self.version += 1
        return True

    def advance(self, *, cursor: str, scanned: int, sent: int) -> None:
        """A batch went through the customers up to ``cursor``."""
        if self.status is not CampaignStatus.SENDING:
            raise InvalidTransition("campaign", self.status.value, "send a batch of")
        # Which id sorts after which is the database's collation to say, not Python's.
        self.cursor = cursor
        self.scanned += scanned
        self.sent += sent
        self.version += 1

    def finish(self, *, at: datetime) -> None:
        """Every customer has been through a batch."""
        if self.status is not CampaignStatus.SENDING:
            raise InvalidTransition("campaign", self.status.value, "finish")
        self.status = CampaignStatus.SENT
        self.finished_at = at
        self.version += 1

    def counted(self, *, unsubscribed: int) -> Campaign:
        """The campaign as read, with ``unsubscribed`` counted from its sends (a copy:
        the count is never saved, its sends are what it is counted from)."""
        return attrs.evolve(self, unsubscribed=unsubscribed, events=[])


@attrs.define(kw_only=True, eq=False)
class CampaignSend:
    """A campaign's message to one customer: stored once per campaign and customer,
    so that no customer gets a campaign twice."""

    KIND: ClassVar[str] = "campaign_send"

    id: str
    campaign_id: str
    customer_id: str
    email: str
    notice_key: str
    """The message's key in the store's outbox."""
    at: datetime = attrs.field(validator=aware)
    unsubscribed_at: datetime | None = None
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(campaign_id: str, customer_id: str) -> str:
        """The record's id for a campaign and a customer."""
        return f"campaign_send:{campaign_id}:{customer_id}"

    def index(self) -> Index:
        state = "sent" if self.unsubscribed_at is None else "unsubscribed"
        return Index(at=self.at, ref=self.campaign_id, owner=self.customer_id, state=state)

    def unsubscribed(self, *, at: datetime) -> bool:
        """The recipient withdrew their consent through its link.

        :returns: whether this is the first time.
        """
        if self.unsubscribed_at is not None:
            return False
        self.unsubscribed_at = at
        self.version += 1
        return True


def latest_word(consents: Iterable[Consent]) -> bool | None:
    """Whether the latest of ``consents`` (by time, from any record) is a yes;
    ``None`` for none. Of two given at the same moment, a no holds."""
    latest: Consent | None = None
    for consent in consents:
        if (
            latest is None
            or consent.at > latest.at
            or (consent.at == latest.at and not consent.granted)
        ):
            latest = consent
    return None if latest is None else latest.granted


@attrs.define(kw_only=True, eq=False)
class Mailbox:
    """One email address (its canonical spelling) as marketing sees it.

    It lists the customers registered under the address, to be read with their
    records: one whose email has changed since is no longer the address's. It keeps
    what a shopper without a record said there, as a customer's consents are kept.
    """

    KIND: ClassVar[str] = "mailbox"

    id: str
    email_key: str = attrs.field(validator=text(400))
    noted_at: datetime = attrs.field(validator=aware)
    customer_ids: tuple[str, ...] = ()
    """The customers registered under it, oldest first (the latest
    :data:`MAX_MAILBOX_CUSTOMERS`)."""
    consents: tuple[Consent, ...] = ()
    """What was said at the address without a customer's record, oldest first."""
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(email_key: str) -> str:
        """The record's id for an address, as
        :func:`~commercekit.domain.customers.canonical_email` spells it."""
        return f"mailbox:{email_key}"

    @classmethod
    def of(cls, email_key: str, *, at: datetime) -> Mailbox:
        """A mailbox for ``email_key``, holding nothing yet."""
        return cls(id=cls.key(email_key), email_key=email_key, noted_at=at)

    def index(self) -> Index:
        return Index(at=self.noted_at, ref=self.email_key)

    def note(self, customer_id: str) -> bool:
        """``customer_id`` is registered under the address.

        :returns: whether that is news.
        """
        if customer_id in self.customer_ids:
            return False
        self.customer_ids = (*self.customer_ids, customer_id)[-MAX_MAILBOX_CUSTOMERS:]
        self.version += 1
        return True

    def record_consent(
        self, granted: bool, *, at: datetime, source: str, wording: str = ""
    ) -> Consent:
        """Record what was said at the address, without a customer's record (kept,
        never overwritten)."""
        if not isinstance(granted, bool):
            raise InvalidInput("must be True or False", field="granted")
        consent = Consent(granted=granted, at=at, source=source, wording=wording)
        self.consents = (*self.consents, consent)
        self.version += 1
        return consent


def unsubscribe_token(
    secret: str, customer_id: str, *, campaign_id: str = "", expires_at: datetime
) -> str:
    """The signed token of a link that withdraws ``customer_id``'s marketing consent
    until ``expires_at``, sent by campaign ``campaign_id``.

    :raises ConfigurationError: naming ``link_signing_secret``, for too short a secret.
    """
    link = SignedLink(
        purpose=UNSUBSCRIBE_LINK, subject=customer_id, reference=campaign_id, expires_at=expires_at
    )
    return sign(secret, link)


def reminder_unsubscribe_token(secret: str, cart_id: str, *, expires_at: datetime) -> str:
    """The signed token of the link in a reminder of cart ``cart_id`` that stops
    marketing to the address it was sent to, until ``expires_at``.

    :raises ConfigurationError: naming ``link_signing_secret``, for too short a secret.
    """
    link = SignedLink(
        purpose=UNSUBSCRIBE_LINK, subject=cart_id, reference=REMINDERS, expires_at=expires_at
    )
    return sign(secret, link)


def read_unsubscribe_token(
    secrets: str | Sequence[str], token: object, *, now: datetime
) -> SignedLink:
    """What an unsubscribe link's token says: the customer (``subject``) and the
    campaign that sent it (``reference``); or, for a link in a cart reminder
    (``reference`` :data:`REMINDERS`), the cart (``subject``).

    :raises LinkRejected: naming ``token``: ``invalid`` for a token the store did not
        sign as an unsubscribe link, ``expired`` for one that ran out.
    """
    return verify(secrets, token, purpose=UNSUBSCRIBE_LINK, now=now)
