"""What shoppers do, and which campaign brought them: behaviour events and attribution.

A :class:`BehaviourEvent` is one thing a visitor did (a visit, a product viewed, a
search with how many results it found, an item added to a cart, a checkout begun,
an order placed), tied to a visitor (the application's id for a browser: a cookie)
and, once known, a customer. Events are facts, appended and never changed: a
behaviour log keeps them cheaply, and the funnel counts them.

A :class:`Touch` is how a visit arrived: the campaign's UTM source, medium and
campaign and the referrer, as the landing URL and the browser said. An
:class:`Attribution` keeps a visitor's first touch and last touch; a cart takes the
touches of the visitor it belongs to, and an order those of its cart, so that a sale
is credited to the campaign that first brought the shopper (first touch) or the last
one that did (last touch). A visit with no campaign and no referrer (a typed address,
a bookmark) is *direct*: it is a first touch when nothing came before, and never
replaces a last touch that had a source (the "last non-direct" rule most analytics
follow, so that a customer who clicks an ad and comes back by typing the address
still counts for the ad).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import ClassVar, Final
from urllib.parse import parse_qsl, urlsplit

import attrs

from commercekit.domain._validators import aware, text, whole_number
from commercekit.domain.errors import InvalidInput
from commercekit.domain.events import DomainEvent
from commercekit.domain.identifiers import MAX_KEY_LENGTH, check_text
from commercekit.domain.indexed import Index
from commercekit.domain.money import normalize_currency

__all__ = [
    "MAX_CAMPAIGN_LENGTH",
    "MAX_QUERY_LENGTH",
    "MAX_REFERRER_LENGTH",
    "MAX_URL_LENGTH",
    "Attribution",
    "AttributionScope",
    "BehaviourEvent",
    "BehaviourKind",
    "Funnel",
    "FunnelStep",
    "Touch",
]

#: The longest UTM value kept (source, medium, campaign, term, content).
MAX_CAMPAIGN_LENGTH: Final = 200
#: The longest referrer and landing URL read: longer ones are cut, not refused.
MAX_REFERRER_LENGTH: Final = 2000
MAX_URL_LENGTH: Final = 8000
#: The longest search text kept with a search event.
MAX_QUERY_LENGTH: Final = 256
#: The most results a search event says it found.
MAX_RESULT_COUNT: Final = 10**9
_MAX_UNITS: Final = 10**15


class BehaviourKind(enum.Enum):
    """What a visitor did."""

    VISIT = "visit"
    PRODUCT_VIEWED = "product_viewed"
    SEARCHED = "searched"
    ADDED_TO_CART = "added_to_cart"
    CHECKOUT_STARTED = "checkout_started"
    ORDER_PLACED = "order_placed"


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _cut(value: object, field: str, limit: int) -> str:
    """Text from a browser: checked as storable, trimmed, cut to ``limit``."""
    if value is None:
        return ""
    return check_text(value, field, max_length=None, blank=True)[:limit].strip()


@attrs.frozen(kw_only=True)
class Touch:
    """How one visit arrived."""

    at: datetime = attrs.field(validator=aware)
    source: str = attrs.field(default="", validator=text(MAX_CAMPAIGN_LENGTH, blank=True))
    """``utm_source`` (``newsletter``, ``google``); without it, the referrer's host."""
    medium: str = attrs.field(default="", validator=text(MAX_CAMPAIGN_LENGTH, blank=True))
    """``utm_medium`` (``email``, ``cpc``); ``referral`` for a referrer without one."""
    campaign: str = attrs.field(default="", validator=text(MAX_CAMPAIGN_LENGTH, blank=True))
    referrer: str = attrs.field(default="", validator=text(MAX_REFERRER_LENGTH, blank=True))

    @property
    def direct(self) -> bool:
        """Whether the visit came with no campaign and from no other site."""
        return not (self.source or self.medium or self.campaign)

    @classmethod
    def from_visit(
        cls,
        *,
        at: datetime,
        url: str = "",
        referrer: str = "",
        site_hosts: frozenset[str] | None = None,
        utm: Mapping[str, str] | None = None,
    ) -> Touch:
        """The touch of a visit that landed on ``url`` from ``referrer``.

        UTM parameters come from ``utm`` when given (``{"source": ...}``), else from
        the URL's query (``utm_source``...). Without them, a referrer from another
        site (not one of ``site_hosts``: by default the host of ``url``) makes the
        touch ``referral`` from its host; a referrer from the store's own site is no
        touch of its own (direct).

        :raises InvalidInput: naming ``url``, ``referrer`` or the UTM field, for text
            no storage keeps.
        """
        page = _cut(url, "url", MAX_URL_LENGTH)
        came_from = _cut(referrer, "referrer", MAX_REFERRER_LENGTH)
        if utm is None:
            try:
                query = urlsplit(page).query
            except ValueError:
                query = ""
            found = {
                key[4:]: value
                for key, value in parse_qsl(query, keep_blank_values=False)
                if key.startswith("utm_")
            }
        else:
            if not isinstance(utm, Mapping):
                raise InvalidInput("must map UTM names to values", field="utm")
            found = dict(utm)
        source, medium, campaign = (
            _cut(found.get(name), f"utm_{name}", MAX_CAMPAIGN_LENGTH)
            for name in ("source", "medium", "campaign")
        )
        host = _host(came_from)
        hosts = {_host(page)} if site_hosts is None else {h.lower() for h in site_hosts}
        own = bool(host) and host in hosts
        if not source and host and not own:
            source, medium = host, medium or "referral"
        return cls(
            at=at,
            source=source,
            medium=medium,
            campaign=campaign,
            referrer="" if own else came_from,
        )


@attrs.frozen(kw_only=True)
class BehaviourEvent:
    """One thing a visitor did: appended to the behaviour log, never changed."""

    kind: BehaviourKind = attrs.field(validator=attrs.validators.instance_of(BehaviourKind))
    at: datetime = attrs.field(validator=aware)
    visitor_id: str = attrs.field(validator=text(MAX_KEY_LENGTH, blank=True))
    """The application's id for the browser (empty only for an order placed by a
    visitor the store never saw)."""
    customer_id: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    id: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    """A key that makes recording it again do nothing (an order's event is keyed by
    the order); empty for events that are never recorded twice."""
    product_id: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    sku: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    query: str = attrs.field(default="", validator=text(MAX_QUERY_LENGTH, blank=True))
    result_count: int = attrs.field(default=0, validator=whole_number(0, MAX_RESULT_COUNT))
    cart_id: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    order_id: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    quantity: int = attrs.field(default=0, validator=whole_number(0, 10**9))
    value_units: int = attrs.field(default=0, validator=whole_number(0, _MAX_UNITS))
    """An order's total, in minor units of ``currency``."""
    currency: str = attrs.field(default="")
    touch: Touch | None = None
    """A visit's touch; an order's last touch."""
    first_touch: Touch | None = None
    """An order's first touch."""

    def __attrs_post_init__(self) -> None:
        if self.currency:
            object.__setattr__(self, "currency", normalize_currency(self.currency))
        if self.kind is not BehaviourKind.ORDER_PLACED and not self.visitor_id.strip():
            raise InvalidInput("must name the visitor", field="visitor_id")
        for name in ("touch", "first_touch"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Touch):
                raise InvalidInput("must be a Touch", field=name)


class AttributionScope(enum.Enum):
    """What an attribution belongs to."""

    VISITOR = "visitor"
    CART = "cart"
    ORDER = "order"


@attrs.define(kw_only=True, eq=False)
class Attribution:
    """The first and last touch of a visitor, a cart or an order: stored as a record
    (``id`` is ``<scope>:<key>``), found by its key and by the visitor."""

    KIND: ClassVar[str] = "attribution"

    id: str
    scope: AttributionScope
    key: str = attrs.field(validator=text(MAX_KEY_LENGTH))
    """The visitor's, cart's or order's id."""
    visitor_id: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    customer_id: str = attrs.field(default="", validator=text(MAX_KEY_LENGTH, blank=True))
    first: Touch | None = None
    last: Touch | None = None
    created_at: datetime = attrs.field(validator=aware)
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key_of(scope: AttributionScope, key: str) -> str:
        """The record id of ``scope``'s ``key``."""
        return f"{scope.value}:{key}"

    @classmethod
    def start(
        cls, scope: AttributionScope, key: str, *, at: datetime, visitor_id: str = ""
    ) -> Attribution:
        """A new attribution with no touch yet."""
        return cls(
            id=cls.key_of(scope, key),
            scope=scope,
            key=key,
            visitor_id=visitor_id or (key if scope is AttributionScope.VISITOR else ""),
            created_at=at,
        )

    def touched(self, touch: Touch) -> bool:
        """Take a visit's touch: the first one stays first; the last is replaced unless
        ``touch`` is direct and the last one had a source.

        :returns: whether anything changed.
        """
        changed = False
        if self.first is None:
            self.first, changed = touch, True
        replaces = self.last is None or not touch.direct or self.last.direct
        if replaces and self.last != touch:
            self.last, changed = touch, True
        return self._changed(changed)

    def _changed(self, changed: bool) -> bool:
        if changed:
            self.version += 1
        return changed

    def identified(self, customer_id: str) -> bool:
        """Name the customer the visitor turned out to be (the latest sign-in holds).

        :returns: whether anything changed.
        """
        check_text(customer_id, "customer_id", max_length=MAX_KEY_LENGTH)
        changed = self.customer_id != customer_id
        self.customer_id = customer_id
        return self._changed(changed)

    def take(self, other: Attribution) -> bool:
        """Take the touches of ``other`` (a cart those of its visitor, an order those
        of its cart) where this one has none, or a later last one.

        :returns: whether anything changed.
        """
        changed = False
        if other.first is not None and (self.first is None or other.first.at < self.first.at):
            self.first, changed = other.first, True
        if other.last is not None and (self.last is None or other.last.at > self.last.at):
            self.last, changed = other.last, True
        if other.visitor_id and not self.visitor_id:
            self.visitor_id, changed = other.visitor_id, True
        if other.customer_id and not self.customer_id:
            self.customer_id, changed = other.customer_id, True
        return self._changed(changed)

    def index(self) -> Index:
        """Found by its key, by the visitor, and by its scope."""
        return Index(
            at=self.created_at, ref=self.key, owner=self.visitor_id, state=self.scope.value
        )


#: The steps of the funnel, in order.
FUNNEL_STEPS: Final = (
    BehaviourKind.PRODUCT_VIEWED,
    BehaviourKind.ADDED_TO_CART,
    BehaviourKind.CHECKOUT_STARTED,
    BehaviourKind.ORDER_PLACED,
)
_RATE: Final = Decimal("0.0001")


@attrs.frozen(kw_only=True)
class FunnelStep:
    """One step of the funnel: how many visitors reached it, and what share of the
    step before (of the first step, for the first: 1) and of the first step did."""

    kind: BehaviourKind
    visitors: int
    of_previous: Decimal
    of_first: Decimal


def _share(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(_RATE, rounding=ROUND_HALF_EVEN)


@attrs.frozen(kw_only=True)
class Funnel:
    """Distinct visitors at each step, from a product viewed to an order placed, and
    how many visited and searched beside them."""

    steps: tuple[FunnelStep, ...]
    visits: int
    searches: int

    @classmethod
    def of(cls, counted: Mapping[BehaviourKind, int]) -> Funnel:
        """The funnel of the distinct visitors ``counted`` by kind."""
        steps: list[FunnelStep] = []
        first = counted.get(FUNNEL_STEPS[0], 0)
        previous = first
        for kind in FUNNEL_STEPS:
            visitors = counted.get(kind, 0)
            steps.append(
                FunnelStep(
                    kind=kind,
                    visitors=visitors,
                    of_previous=_share(visitors, previous),
                    of_first=_share(visitors, first),
                )
            )
            previous = visitors
        return cls(
            steps=tuple(steps),
            visits=counted.get(BehaviourKind.VISIT, 0),
            searches=counted.get(BehaviourKind.SEARCHED, 0),
        )

    def visitors(self, kind: BehaviourKind) -> int:
        """How many visitors reached the step ``kind``."""
        return next(step.visitors for step in self.steps if step.kind is kind)
