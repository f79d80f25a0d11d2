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

Consent is read again when a message is handed over, not only when it is written:
the service guards its template with the notification service, and a message whose
address's latest word on marketing (see :func:`~commercekit.services._consent.word_on`)
is no longer a yes is given up, with the reason, instead of sent. A message that
waited for a notifier, or for ``send_due`` after a failure, never reaches someone
who withdrew their consent meanwhile, however they withdrew it.

:meth:`CampaignService.unsubscribe` reads an unsubscribe link's token and records
on the customer that their consent was withdrawn, with the source
``unsubscribe link``: no later campaign reaches them unless they give it again, and
their campaign messages still waiting are given up. It writes only what is the
customer's own (their record, their sends, their messages): the campaign's count of
unsubscribes is counted from its sends when it is read, so that a crowd
unsubscribing at once never contends for one record. A link from a cart reminder
(:data:`~commercekit.domain.marketing.campaigns.REMINDERS`) withdraws the consent
given at the address it was sent to: on every customer registered there, and on
the address itself for a shopper without a record.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Final

import attrs
import moneyed
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from commercekit.domain.customers import Consent, Customer, canonical_email
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.identifiers import check_key, check_text, check_whole_number
from commercekit.domain.marketing.abandoned import CartRecovery
from commercekit.domain.marketing.campaigns import (
    MAX_BODY_LENGTH,
    MAX_LISTED,
    MAX_NAME_LENGTH,
    MAX_SUBJECT_LENGTH,
    REMINDERS,
    UNSUBSCRIBE_SOURCE,
    Campaign,
    CampaignSend,
    CampaignStatus,
    Mailbox,
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
from commercekit.services._consent import NO_CONSENT, customers_at, note_mailbox, word_on
from commercekit.services._links import LinkSigning, link_to
from commercekit.services.abandoned_carts import withdraw_notice
from commercekit.services.base import Runtime, Service, check_page_size
from commercekit.services.notifications import NotificationService
from commercekit.services.schemas import parse

__all__ = ["NO_CONSENT", "TEMPLATE", "CampaignService", "SegmentIn", "SegmentPreview"]

#: The notice a campaign's message is.
TEMPLATE: Final = "campaign"
#: Customers a batch goes through.
BATCH: Final = 100
#: The most orders of one customer a segment reads (newest first).
MOST_ORDERS: Final = 1000
#: The most of a customer's campaign messages an unsubscribe looks at to give up
#: those still waiting (any beyond are given up when their turn to be sent comes).
MOST_WITHDRAWN: Final = 200

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
        notifications._guard(TEMPLATE, self._still_wanted)

    def _email_key(self, email: str) -> str:
        return canonical_email(email, subaddressing=self._rt.settings.email_subaddressing)

    def _still_wanted(self, uow: UnitOfWork, notice: Notice) -> str | None:
        """Why a campaign message about to be handed over must not go: its address's
        latest word on marketing is no longer a yes."""
        subaddressing = self._rt.settings.email_subaddressing
        key = self._email_key(notice.recipient)
        return None if word_on(uow, key, subaddressing=subaddressing) is True else NO_CONSENT

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
        """The campaign, how far it has been sent, and how many of its recipients
        unsubscribed through its link (counted from its sends now).

        :raises NotFound: naming ``campaign_id``.
        """
        check_key(campaign_id, "campaign_id")

        def read(uow: UnitOfWork) -> Campaign:
            campaign = uow.records(Campaign).get(campaign_id)
            # No more recipients unsubscribed than it was sent to.
            left = uow.records(CampaignSend).where(
                ref=campaign.id, state="unsubscribed", limit=max(campaign.sent, 1)
            )
            return campaign.counted(unsubscribed=len(left))

        return self._read(read)

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
        most = check_page_size(check_whole_number(sample, "sample"), most=100, field="sample")
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
        by_id = {customer.id: customer for customer in willing}
        subaddressing = self._rt.settings.email_subaddressing
        for profile in recipients(
            profiles, campaign.segment, now=now, sent=sent, emails_taken=taken
        ):
            key = self._key(campaign, profile.email_key)
            # Found at their address when the message is handed over, consent read again.
            note_mailbox(uow, by_id[profile.customer_id], at=now, subaddressing=subaddressing)
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
        when their last word was a no already); their campaign messages still waiting
        are given up. A link from a cart reminder withdraws it at the address the
        reminder went to: on each customer registered there, and on the address.

        :returns: the consent on record now (the address's, for a reminder's link).
        :raises LinkRejected: naming ``token``, for a link the store did not make
            (``invalid``) or one that ran out (``expired``).
        :raises NotFound: naming ``token``, for a customer (or a reminded cart) the
            store has no record of.
        """
        now = self.now
        link = read_unsubscribe_token(self._signing.accepted(), token, now=now)
        if link.reference == REMINDERS:
            return self._run(lambda uow: self._stop_reminders(uow, link.subject, now))

        def work(uow: UnitOfWork) -> Consent:
            customer = uow.customers.find(link.subject)
            if customer is None:
                raise NotFound("customer", "for this link", field="token")
            wording = f"withdrawn through campaign {link.reference}" if link.reference else ""
            consent = self._withdraw(uow, customer, now, wording)
            sends = uow.records(CampaignSend)
            if link.reference:
                send = sends.find(CampaignSend.key(link.reference, customer.id))
                if send is not None and send.unsubscribed(at=now):
                    sends.save(send)
            for waiting in sends.where(owner=customer.id, state="sent", limit=MOST_WITHDRAWN):
                withdraw_notice(uow, waiting.notice_key, NO_CONSENT)
            return consent

        # Only the customer's own records are written: the campaign's count is read
        # from its sends, so a crowd unsubscribing at once never waits on one row.
        return self._run(work)

    def _withdraw(self, uow: UnitOfWork, customer: Customer, at: datetime, wording: str) -> Consent:
        """Record on ``customer`` that their consent is withdrawn, unless their last
        word was a no already; either way, that last word."""
        note_mailbox(uow, customer, at=at, subaddressing=self._rt.settings.email_subaddressing)
        if customer.consents and not customer.consents[-1].granted:
            return customer.consents[-1]
        consent = customer.record_consent(False, at=at, source=UNSUBSCRIBE_SOURCE, wording=wording)
        uow.customers.save(customer)
        return consent

    def _stop_reminders(self, uow: UnitOfWork, cart_id: str, at: datetime) -> Consent:
        """Withdraw the consent at the address the reminders of cart ``cart_id`` went
        to, and give up its reminders still waiting."""
        record = uow.records(CartRecovery).find(CartRecovery.key(cart_id))
        if record is None or not record.notices:
            raise NotFound("cart", "for this link", field="token")
        subaddressing = self._rt.settings.email_subaddressing
        wording = "withdrawn through a cart reminder"
        customers: dict[str, Customer] = {}
        try:
            shopper = uow.carts.get(cart_id).customer_id
        except NotFound:  # a paid order's cart is gone; its address is still known
            shopper = None
        found = uow.customers.find(shopper) if shopper else None
        if found is not None:
            customers[found.id] = found
        addresses = list(dict.fromkeys(self._email_key(n.email) for n in record.notices))
        for address in addresses:
            for customer in customers_at(uow, address, subaddressing=subaddressing):
                customers.setdefault(customer.id, customer)
        for customer in customers.values():
            self._withdraw(uow, customer, at, wording)
        said = {address: self._withdraw_at(uow, address, at, wording) for address in addresses}
        for notice in record.notices:
            withdraw_notice(uow, notice.key, NO_CONSENT)
        return said[self._email_key(record.notices[-1].email)]

    @staticmethod
    def _withdraw_at(uow: UnitOfWork, address: str, at: datetime, wording: str) -> Consent:
        """Record at ``address`` (for whoever reads it without a customer's record)
        that consent is withdrawn, unless its own last word was a no already; either
        way, that last word."""
        mailboxes = uow.records(Mailbox)
        mailbox = mailboxes.find(Mailbox.key(address))
        if mailbox is not None and mailbox.consents and not mailbox.consents[-1].granted:
            return mailbox.consents[-1]
        new = mailbox is None
        if mailbox is None:
            mailbox = Mailbox.of(address, at=at)
        consent = mailbox.record_consent(False, at=at, source=UNSUBSCRIBE_SOURCE, wording=wording)
        (mailboxes.add if new else mailboxes.save)(mailbox)
        return consent
