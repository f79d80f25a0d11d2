"""Email campaigns: a message staff write, sent to the customers a segment picks,
only to those whose marketing consent is on record, each once, each message with a
link that withdraws the consent.

:meth:`CampaignService.send` goes through the store's customers by id, a batch at a
time. Each batch is one unit of work: it reads the campaign, picks the batch's
recipients (:func:`~commercekit.domain.marketing.campaigns.recipients`, with their
consent as it stands then), writes for each a message in the store's outbox and a
:class:`~commercekit.domain.marketing.campaigns.CampaignSend` under the campaign
and the customer, and moves the campaign's cursor, all version-checked. Two senders
at once, or a sender started again after a crash, pick up where the last batch
committed and write no message twice. Messages are then handed to the notifier as
every notice is: one that fails waits for
:meth:`~commercekit.services.notifications.NotificationService.send_due`. Without a
notifier, they wait there until one is configured.

:meth:`CampaignService.unsubscribe` reads an unsubscribe link's token and records
on the customer that their consent was withdrawn, with the source
``unsubscribe link``: no later campaign reaches them unless they give it again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any, Final

import attrs
import moneyed
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from commercekit.domain.customers import Consent, Customer, canonical_email
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.identifiers import check_key, check_text, check_whole_number
from commercekit.domain.marketing.campaigns import (
    MAX_BODY_LENGTH,
    MAX_LISTED,
    MAX_NAME_LENGTH,
    MAX_SUBJECT_LENGTH,
    UNSUBSCRIBE_SOURCE,
    Campaign,
    CampaignSend,
    CampaignStatus,
    Profile,
    Segment,
    read_unsubscribe_token,
    recipients,
    unsubscribe_token,
    with_ancestors,
)
from commercekit.domain.money import minor_units, normalize_currency
from commercekit.domain.notifications import Notice
from commercekit.ports.notifications import Templates
from commercekit.ports.storage import UnitOfWork
from commercekit.services._links import LinkSigning, link_to
from commercekit.services.base import Runtime, Service, check_page_size
from commercekit.services.notifications import NotificationService
from commercekit.services.schemas import parse

__all__ = ["TEMPLATE", "CampaignService", "SegmentIn", "SegmentPreview"]

#: The notice a campaign's message is.
TEMPLATE: Final = "campaign"
#: Customers a batch goes through.
BATCH: Final = 100
#: The most orders of one customer a segment reads (newest first).
MOST_ORDERS: Final = 1000

log = logging.getLogger(__name__)

_Key = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class SegmentIn(BaseModel):
    """A segment as staff describe it (see
    :class:`~commercekit.domain.marketing.campaigns.Segment`); the amount spent is a
    decimal in ``currency``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    bought_products: list[_Key] = Field(default_factory=list, max_length=MAX_LISTED)
    bought_categories: list[_Key] = Field(default_factory=list, max_length=MAX_LISTED)
    spent_at_least: Decimal | None = Field(default=None, gt=0, strict=False)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    inactive_days: int | None = Field(default=None, ge=1, le=36_500)
    groups: list[_Key] = Field(default_factory=list, max_length=MAX_LISTED)
    consent: bool | None = None

    @field_validator("spent_at_least", mode="before")
    @classmethod
    def _decimal(cls, value: object) -> object:
        # Money is never a float: 0.1 is not one tenth in binary.
        if isinstance(value, float | bool):
            raise ValueError("give the amount as a decimal string, such as '50.00'")
        return value

    def to_domain(self) -> Segment:
        """The segment the rules describe.

        :raises InvalidInput: naming the field (an amount without a currency, say).
        """
        spent: int | None = None
        currency = ""
        if (self.spent_at_least is None) != (self.currency is None):
            raise InvalidInput("an amount spent is an amount and its currency", field="currency")
        if self.spent_at_least is not None and self.currency is not None:
            currency = normalize_currency(self.currency, field="currency")
            amount = moneyed.Money(self.spent_at_least, currency)
            spent = minor_units(amount, field="spent_at_least")
        return Segment(
            bought_products=tuple(self.bought_products),
            bought_categories=tuple(self.bought_categories),
            spent_at_least_units=spent,
            spent_currency=currency,
            inactive_days=self.inactive_days,
            groups=tuple(self.groups),
            consent=self.consent,
        )


def _segment(value: object) -> Segment:
    if isinstance(value, Segment):
        return value
    if isinstance(value, SegmentIn):
        return value.to_domain()
    if not isinstance(value, Mapping):
        raise InvalidInput(
            f"expected a Segment or a mapping of rules, got {type(value).__name__}",
            field="segment",
        )
    return parse(SegmentIn, value, field="segment").to_domain()


@attrs.frozen(kw_only=True)
class SegmentPreview:
    """Who a segment picks now."""

    matched: int
    """Customers who meet its rules."""
    reachable: int
    """Of them, those a campaign would reach: consent on record, an email."""
    sample: tuple[str, ...]
    """The ids of the first few reachable ones, by id."""


def _paragraphs(body: str) -> list[str]:
    return [part.strip() for part in body.replace("\r\n", "\n").split("\n\n") if part.strip()]


class CampaignService(Service):
    """Create campaigns, see who a segment picks, send them, and take unsubscribes.

    :param signing: the secrets the unsubscribe links are signed with.
    :param unsubscribe_url: the storefront's unsubscribe link, ``{token}`` in it.
    :param link_lifetime: how long an unsubscribe link works.
    """

    def __init__(
        self,
        runtime: Runtime,
        templates: Templates,
        notifications: NotificationService,
        *,
        signing: LinkSigning,
        unsubscribe_url: str,
        link_lifetime: timedelta,
    ) -> None:
        super().__init__(runtime)
        self._templates = templates
        self._notifications = notifications
        self._signing = signing
        self._unsubscribe_url = unsubscribe_url
        self._link_lifetime = link_lifetime

    def _email_key(self, email: str) -> str:
        return canonical_email(email, subaddressing=self._rt.settings.email_subaddressing)

    # --- writing one ---------------------------------------------------------------

    def create(
        self,
        name: str,
        subject: str,
        body: str,
        segment: Segment | SegmentIn | Mapping[str, Any],
        *,
        actor: str = "staff",
    ) -> Campaign:
        """A campaign, as a draft: its name (for staff), the message's subject and
        plain-text body (a blank line starts a paragraph), and who it is for.

        :raises InvalidInput: naming the argument or the segment's field.
        """
        check_text(name, "name", max_length=MAX_NAME_LENGTH)
        check_text(subject, "subject", max_length=MAX_SUBJECT_LENGTH)
        check_text(body, "body", max_length=MAX_BODY_LENGTH)
        chosen = _segment(segment)
        check_key(actor, "actor")
        campaign = Campaign(
            id=self._rt.ids.new_id("campaign"),
            name=name,
            subject=subject,
            body=body,
            segment=chosen,
            created_at=self.now,
            created_by=actor,
        )
        self._run(lambda uow: uow.records(Campaign).add(campaign))
        return campaign

    def get(self, campaign_id: str) -> Campaign:
        """The campaign, and how far it has been sent.

        :raises NotFound: naming ``campaign_id``.
        """
        check_key(campaign_id, "campaign_id")
        return self._read(lambda uow: uow.records(Campaign).get(campaign_id))

    # --- who it reaches ------------------------------------------------------------

    @staticmethod
    def _ancestry(uow: UnitOfWork) -> dict[str, frozenset[str]]:
        """Each category with every category above it."""
        parents = {category.id: category.parent_id for category in uow.catalog.categories()}
        return {category: with_ancestors([category], parents) for category in parents}

    def _profiles(
        self, uow: UnitOfWork, customers: list[Customer], segment: Segment
    ) -> list[Profile]:
        """The profiles of ``customers``: their orders are read only when the segment
        asks about what they bought, spent or when."""
        needs_orders = bool(
            segment.bought_products
            or segment.bought_categories
            or segment.spent_at_least_units is not None
            or segment.inactive_days is not None
        )
        by_product: dict[str, frozenset[str]] = {}
        categories: dict[str, frozenset[str]] = {}
        if segment.bought_categories:
            categories = self._ancestry(uow)
        profiles = []
        for customer in customers:
            orders = uow.orders.for_customer(customer.id, limit=MOST_ORDERS) if needs_orders else []
            if categories:
                wanted = {line.product_id for order in orders for line in order.lines}
                missing = wanted - by_product.keys()
                for product in uow.catalog.products(missing) if missing else []:
                    by_product[product.id] = frozenset(
                        c
                        for category in product.category_ids
                        for c in categories.get(category, frozenset({category}))
                    )
            profiles.append(
                Profile.of(
                    customer,
                    orders,
                    email_key=self._email_key(customer.email) if customer.email else "",
                    categories=by_product,
                )
            )
        return profiles

    def preview(
        self, segment: Segment | SegmentIn | Mapping[str, Any], *, sample: int = 10
    ) -> SegmentPreview:
        """How many customers a segment picks now, how many of them a campaign would
        reach, and the first few of those (every customer is read).

        :raises InvalidInput: naming ``segment`` (or its field) or ``sample``.
        """
        chosen = _segment(segment)
        most = check_page_size(check_whole_number(sample, "sample"), most=100)
        now = self.now
        matched = reachable = 0
        first: list[str] = []
        cursor = ""
        while True:

            def page(uow: UnitOfWork, after: str = cursor) -> tuple[list[Profile], str]:
                customers = uow.customers.page(after=after, limit=BATCH)
                last = customers[-1].id if customers else ""
                return self._profiles(uow, customers, chosen), last

            profiles, cursor = self._read(page)
            for profile in profiles:
                if not chosen.matches(profile, now=now):
                    continue
                matched += 1
                if profile.accepts_marketing and profile.email:
                    reachable += 1
                    if len(first) < most:
                        first.append(profile.customer_id)
            if len(profiles) < BATCH:
                return SegmentPreview(matched=matched, reachable=reachable, sample=tuple(first))

    # --- sending -------------------------------------------------------------------

    def send(self, campaign_id: str, *, limit: int = 1000) -> Campaign:
        """Send the campaign on, through at most ``limit`` more customers (by id, in
        batches): call again until its status is ``sent``. A campaign being sent
        (by another process, or one that stopped) is taken up where its last batch
        ended; a campaign sent is left as it is.

        :returns: the campaign as it stands after.
        :raises NotFound: naming ``campaign_id``.
        :raises ConfigurationError: naming ``link_signing_secret``, for a store that
            cannot sign its links.
        """
        check_key(campaign_id, "campaign_id")
        most = check_page_size(check_whole_number(limit, "limit"), most=1_000_000)
        secret = self._signing.current()
        gone = 0
        while gone < most:
            size = min(BATCH, most - gone)
            keys, scanned, done = self._run(
                functools.partial(self._batch, campaign_id=campaign_id, size=size, secret=secret)
            )
            for key in keys:
                self._hand_over(key)
            gone += scanned
            if done:
                break
        return self.get(campaign_id)

    def _batch(
        self, uow: UnitOfWork, campaign_id: str, size: int, secret: str
    ) -> tuple[list[str], int, bool]:
        """One batch of a campaign, in ``uow``.

        :returns: the keys of the messages written, how many customers it went
            through, and whether the campaign is sent.
        """
        now = self.now
        campaigns = uow.records(Campaign)
        campaign = campaigns.get(campaign_id)
        if campaign.status is CampaignStatus.SENT:
            return [], 0, True
        campaign.start(at=now)
        customers = uow.customers.page(after=campaign.cursor, limit=size)
        if not customers:
            campaign.finish(at=now)
            campaigns.save(campaign)
            return [], 0, True
        sends = uow.records(CampaignSend)
        # Only those who said yes can be reached: the others' orders are not read.
        willing = [c for c in customers if c.accepts_marketing and c.email]
        profiles = self._profiles(uow, willing, campaign.segment)
        sent = {
            p.customer_id
            for p in profiles
            if sends.find(CampaignSend.key(campaign.id, p.customer_id)) is not None
        }
        taken = {
            p.email_key
            for p in profiles
            if uow.notices.find(self._key(campaign, p.email_key)) is not None
        }
        keys = []
        for profile in recipients(
            profiles, campaign.segment, now=now, sent=sent, emails_taken=taken
        ):
            key = self._key(campaign, profile.email_key)
            uow.notices.add(self._message(campaign, profile, key, secret))
            sends.add(
                CampaignSend(
                    id=CampaignSend.key(campaign.id, profile.customer_id),
                    campaign_id=campaign.id,
                    customer_id=profile.customer_id,
                    email=profile.email,
                    notice_key=key,
                    at=now,
                )
            )
            keys.append(key)
        campaign.advance(cursor=customers[-1].id, scanned=len(customers), sent=len(keys))
        done = len(customers) < size
        if done:
            campaign.finish(at=now)
        campaigns.save(campaign)
        return keys, len(customers), done

    @staticmethod
    def _key(campaign: Campaign, email_key: str) -> str:
        return f"{TEMPLATE}:{campaign.id}:{email_key}"

    def _message(self, campaign: Campaign, profile: Profile, key: str, secret: str) -> Notice:
        """The campaign's message to one customer, rendered, with their unsubscribe
        link."""
        token = unsubscribe_token(
            secret,
            profile.customer_id,
            campaign_id=campaign.id,
            expires_at=self.now + self._link_lifetime,
        )
        default = self._rt.settings.default_channel
        channel = self._rt.settings.channels.get(default or "")
        data = {
            "email": profile.email,
            "subject": campaign.subject,
            "body": campaign.body,
            "paragraphs": _paragraphs(campaign.body),
            "unsubscribe_url": link_to(self._unsubscribe_url, token),
        }
        rendered = self._templates.render(
            TEMPLATE, data, locale=channel.locale if channel is not None else "en"
        )
        return Notice(
            id=key,
            recipient=profile.email,
            template=TEMPLATE,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            created_at=self.now,
        )

    def _hand_over(self, key: str) -> None:
        if not self._notifications.active:
            return
        try:
            self._notifications._send(key)
        except Exception:  # the message is stored: send_due tries again
            log.exception("could not hand over the message %s", key)

    # --- unsubscribing -------------------------------------------------------------

    def unsubscribe(self, token: str) -> Consent:
        """Withdraw the marketing consent of the customer an unsubscribe link names,
        recorded on them with the source ``unsubscribe link`` (nothing new is recorded
        when their last word was a no already).

        :returns: the consent on record now.
        :raises LinkRejected: naming ``token``, for a link the store did not make
            (``invalid``) or one that ran out (``expired``).
        :raises NotFound: naming ``token``, for a customer the store has no record of.
        """
        now = self.now
        link = read_unsubscribe_token(self._signing.accepted(), token, now=now)

        def work(uow: UnitOfWork) -> Consent:
            customer = uow.customers.find(link.subject)
            if customer is None:
                raise NotFound("customer", "for this link", field="token")
            if customer.consents and not customer.consents[-1].granted:
                consent = customer.consents[-1]
            else:
                wording = f"withdrawn through campaign {link.reference}" if link.reference else ""
                consent = customer.record_consent(
                    False, at=now, source=UNSUBSCRIBE_SOURCE, wording=wording
                )
                uow.customers.save(customer)
            if link.reference:
                sends = uow.records(CampaignSend)
                send = sends.find(CampaignSend.key(link.reference, customer.id))
                if send is not None and send.unsubscribed(at=now):
                    sends.save(send)
                    campaign = uow.records(Campaign).find(link.reference)
                    if campaign is not None:
                        campaign.lost_one()
                        uow.records(Campaign).save(campaign)
            return consent

        return self._run(work)
