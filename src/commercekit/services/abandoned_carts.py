"""Abandoned carts: reminders to shoppers who left a cart behind, the link in them that
opens the cart again, and the orders they brought back.

A cart is watched from when the store can write to its shopper: the checkout's
:meth:`~commercekit.services.checkout.CheckoutService.set_contact`, or a change to a
signed-in customer's cart, calls :func:`watch_cart` in its own unit of work (one
record per cart; see :mod:`commercekit.domain.marketing.abandoned` for the rules).
:meth:`AbandonedCartService.sweep`, run from a worker every few minutes, looks at
the carts due and, for each one that qualifies, writes in one unit of work the
reminder (a notice in the store's outbox, under a key of the cart and the
reminder's number) and the record of it, version-checked: two sweeps at once write
each reminder once. The notice is then handed to the notifier as every notice is;
one that fails waits for
:meth:`~commercekit.services.notifications.NotificationService.send_due`, and one
left *sending* by a crash is never sent twice.

Whether the shopper may be written to is the latest word on marketing on record for
them or for the address (see :func:`~commercekit.services._consent.word_on`): a
guest whose address a customer said no from is not reminded, and each reminder
carries an unsubscribe link that says no at its address
(:meth:`~commercekit.services.campaigns.CampaignService.unsubscribe`).

A reminder is looked at again when it is handed over, however late (the service
guards its template with the notification service): one whose cart has become an
order, or is gone, or whose address's latest word is now a no (or, where consent
is required, not a yes) is given up with the reason instead of sent. An order
placed (``OrderPlaced``) also withdraws at once any reminder of its cart still
waiting. When the order is paid (``OrderPaid``) and a reminder of its cart had been
handed over before it was placed, the cart counts as recovered, with the order's
total as revenue.

:meth:`AbandonedCartService.report` sums the carts' records when asked (the
storage's ``abandoned_carts`` report over every cart watched in the last ten
years). No record of running totals is written: a reminder, a click on its link
and an order each write only their own cart's record, so a shopper's click never
fails because others clicked at the same moment.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

from commercekit.domain.cart import Cart
from commercekit.domain.customers import canonical_email
from commercekit.domain.errors import (
    CartAlreadyOrdered,
    CommerceError,
    ConfigurationError,
    CouponRejected,
    InvalidInput,
    NotFound,
)
from commercekit.domain.events import DomainEvent, OrderPaid, OrderPlaced
from commercekit.domain.identifiers import check_whole_number
from commercekit.domain.marketing.abandoned import (
    CartRecovery,
    CartView,
    RecoveryPolicy,
    RecoveryReport,
    RecoveryStatus,
    Step,
    read_restore_token,
    restore_token,
)
from commercekit.domain.marketing.campaigns import reminder_unsubscribe_token
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.pricing import PriceBreakdown
from commercekit.domain.promotions import normalize_coupon_code
from commercekit.domain.reports import MAX_PERIOD_DAYS, Period
from commercekit.ports.notifications import Templates
from commercekit.ports.reports import ReportSource
from commercekit.ports.storage import UnitOfWork
from commercekit.services._consent import NO_CONSENT, word_on
from commercekit.services._links import LinkSigning, link_to
from commercekit.services.base import Runtime, Service, check_page_size, load_pricing, price_cart
from commercekit.services.notifications import NotificationService

__all__ = [
    "NO_CONSENT",
    "ORDERED",
    "TEMPLATE",
    "AbandonedCartService",
    "watch_cart",
    "withdraw_notice",
]

log = logging.getLogger(__name__)

#: The notice that reminds a shopper of their cart.
TEMPLATE: Final = "cart_recovery"
#: A due time is compared with ``<`` by storage: what is due now is due before this.
_JUST_AFTER: Final = timedelta(microseconds=1)
#: Why a reminder is given up when its cart has become an order.
ORDERED: Final = "the cart became an order"


def watch_cart(
    uow: UnitOfWork, cart: Cart, *, at: datetime, checkout_version: int | None = None
) -> None:
    """Watch ``cart`` for abandonment, in the unit of work that changes it (once per
    cart; a cart that went stale is watched again when its shopper is back).

    :param checkout_version: the checkout's version as this unit of work writes it
        (read from storage when not given).
    """
    records = uow.records(CartRecovery)
    found = records.find(CartRecovery.key(cart.id))
    if found is not None and found.watched:
        return
    if checkout_version is None:
        checkout = uow.checkouts.find(cart.id)
        checkout_version = 0 if checkout is None else checkout.version
    if found is None:
        records.add(
            CartRecovery.watch(
                cart.id, cart_version=cart.version, checkout_version=checkout_version, at=at
            )
        )
    elif found.rewatch(cart_version=cart.version, checkout_version=checkout_version, at=at):
        records.save(found)


def withdraw_notice(uow: UnitOfWork, key: str, reason: str) -> bool:
    """Give up a notice that has not been handed over yet (it no longer applies): it
    is marked abandoned with ``reason``, and never sent. One being handed over, or
    sent, is left as it is.

    :returns: whether it was withdrawn.
    """
    notice = uow.notices.find(key)
    if notice is None or not notice.due:
        return False
    notice.start()
    notice.refused(reason)
    uow.notices.save(notice)
    return True


def _cart_of(key: str) -> str:
    """The cart a reminder's key (``cart_recovery:<cart>:<number>:<address>``) names;
    empty for another key (a copy sent again, under a key of its own)."""
    parts = key.split(":", 3)
    return parts[1] if len(parts) == 4 and parts[0] == TEMPLATE else ""


class AbandonedCartService(Service):
    """Remind shoppers of the carts they left, open those carts again from the
    reminder's link, and count the orders that came of it.

    :param policy: when a cart is reminded of (the store's configuration).
    :param signing: the secrets the restore links are signed with.
    :param restore_url: the storefront's link that opens a cart, ``{token}`` in it.
    :param coupon: a coupon code put on a cart opened from its link, if the store
        offers one (ignored when it cannot be used on the cart then).
    :param unsubscribe_url: the storefront's unsubscribe link, ``{token}`` in it
        (the campaigns' page: it hands the token to
        :meth:`~commercekit.services.campaigns.CampaignService.unsubscribe`).
    :param unsubscribe_lifetime: how long a reminder's unsubscribe link works.
    """

    def __init__(
        self,
        runtime: Runtime,
        templates: Templates,
        notifications: NotificationService,
        *,
        policy: RecoveryPolicy,
        signing: LinkSigning,
        restore_url: str,
        coupon: str | None = None,
        unsubscribe_url: str = "/unsubscribe?token={token}",
        unsubscribe_lifetime: timedelta = timedelta(days=365),
    ) -> None:
        super().__init__(runtime)
        self._templates = templates
        self._notifications = notifications
        self._policy = policy
        self._signing = signing
        self._restore_url = restore_url
        self._coupon = None if coupon is None else normalize_coupon_code(coupon)
        self._unsubscribe_url = unsubscribe_url
        self._unsubscribe_lifetime = unsubscribe_lifetime
        notifications._guard(TEMPLATE, self._still_wanted)

    def _email_key(self, email: str) -> str:
        return canonical_email(email, subaddressing=self._rt.settings.email_subaddressing)

    def _still_wanted(self, uow: UnitOfWork, notice: Notice) -> str | None:
        """Why a reminder about to be handed over must not go: its cart became an
        order or is gone, or its address's latest word on marketing is a no (not a
        yes, where consent is required)."""
        cart_id = _cart_of(notice.id)
        customer = None
        if cart_id:
            if uow.orders.live_for_cart(cart_id) is not None:
                return ORDERED
            try:
                cart = uow.carts.get(cart_id)
            except NotFound:
                return "the cart is gone"
            customer = uow.customers.find(cart.customer_id) if cart.customer_id else None
        word = word_on(
            uow,
            self._email_key(notice.recipient),
            subaddressing=self._rt.settings.email_subaddressing,
            customer=customer,
        )
        if word is False or (self._policy.require_consent and word is not True):
            return NO_CONSENT
        return None

    # --- reminding -----------------------------------------------------------------

    def sweep(self, *, limit: int = 500) -> int:
        """Look at the carts due (at most ``limit``), and remind the shoppers of those
        that qualify now, at the store clock's time: a periodic job's call. Without a
        notifier it does nothing.

        :returns: how many reminders were written.
        :raises ConfigurationError: naming ``link_signing_secret``, for a store that
            cannot sign its links.
        """
        most = check_page_size(check_whole_number(limit, "limit"), most=100_000)
        if not self._notifications.active:
            return 0
        secret = self._signing.current()
        now = self.now

        def due(uow: UnitOfWork) -> list[str]:
            records = uow.records(CartRecovery)
            found = [
                record
                for status in (RecoveryStatus.WATCHING, RecoveryStatus.NOTIFIED)
                for record in records.where(
                    state=status.value, due_before=now + _JUST_AFTER, limit=most
                )
            ]
            found.sort(key=lambda record: (record.due or now, record.id))
            return [record.id for record in found[:most]]

        written = 0
        for record_id in self._read(due):
            try:
                reminder = self._run(
                    functools.partial(self._look, record_id=record_id, secret=secret)
                )
            except Exception:  # one cart must not stop the others: it stays due
                log.exception("could not look at the abandoned cart of %s", record_id)
                continue
            if reminder is not None:
                written += 1
                self._hand_over(*reminder)
        return written

    def _view(self, uow: UnitOfWork, cart_id: str) -> tuple[CartView, Cart | None]:
        """What the sweep sees of a cart now."""
        try:
            cart = uow.carts.get(cart_id)
        except NotFound:
            return CartView(exists=False), None
        checkout = uow.checkouts.find(cart_id)
        customer = uow.customers.find(cart.customer_id) if cart.customer_id else None
        email = (checkout.email if checkout is not None else None) or (
            customer.email if customer is not None else ""
        )
        # A guest's address may be a customer's: their word holds for it too.
        consent = word_on(
            uow,
            self._email_key(email) if email else "",
            subaddressing=self._rt.settings.email_subaddressing,
            customer=customer,
        )
        view = CartView(
            exists=True,
            ordered=uow.orders.live_for_cart(cart_id) is not None,
            items=len(cart),
            cart_version=cart.version,
            checkout_version=0 if checkout is None else checkout.version,
            email=email or "",
            consent=consent,
        )
        return view, cart

    def _look(self, uow: UnitOfWork, record_id: str, secret: str) -> tuple[str, str] | None:
        """Look at one cart due; write its reminder if it qualifies.

        :returns: the reminder's notice key and the cart's id, if one was written.
        """
        now = self.now
        records = uow.records(CartRecovery)
        record = records.find(record_id)
        if record is None or not record.watched or record.due is None or record.due > now:
            return None  # another sweep got there first
        view, cart = self._view(uow, record.cart_id)
        decision = record.decide(view, now=now, policy=self._policy)
        if decision.step is not Step.SEND or cart is None:
            record.look(view, decision, now=now)
            records.save(record)
            return None
        who = self._email_key(view.email)
        key = f"{TEMPLATE}:{cart.id}:{record.next_notice_number()}:{who}"
        notice = self._notice(uow, cart, key, view.email, secret)
        record.notify(view, key=key, now=now, policy=self._policy)
        uow.notices.add(notice)
        records.save(record)
        return key, cart.id

    def _notice(self, uow: UnitOfWork, cart: Cart, key: str, email: str, secret: str) -> Notice:
        """The reminder of ``cart``, rendered, with its restore link."""
        now = self.now
        expires_at = now + self._policy.link_lifetime
        token = restore_token(secret, cart.id, expires_at=expires_at)
        breakdown: PriceBreakdown | None
        try:
            breakdown = price_cart(uow, cart, self._rt, now=now, customer=cart.customer_id)
        except CommerceError:  # an item no longer on sale: the reminder shows no prices
            breakdown = None
        skus = [sku for sku, _ in cart.items()]
        names = {
            variant.sku: product.name
            for product in uow.catalog.products_for_skus(skus)
            for variant in product.variants
        }
        totals = (
            {} if breakdown is None else {line.sku: line.total_units for line in breakdown.lines}
        )
        channel = self._rt.settings.channels.get(cart.channel or "")
        data = {
            "email": email,
            "currency": cart.currency,
            "lines": [
                {
                    "name": names.get(sku, sku),
                    "sku": sku,
                    "quantity": quantity,
                    "total_units": totals.get(sku),
                }
                for sku, quantity in cart.items()
            ],
            "total_units": None if breakdown is None else breakdown.grand_total_units,
            "restore_url": link_to(self._restore_url, token),
            "expires_at": expires_at,
            "coupon_code": self._coupon or "",
            "unsubscribe_url": link_to(
                self._unsubscribe_url,
                reminder_unsubscribe_token(
                    secret, cart.id, expires_at=now + self._unsubscribe_lifetime
                ),
            ),
        }
        rendered = self._templates.render(
            TEMPLATE, data, locale=channel.locale if channel is not None else "en"
        )
        return Notice(
            id=key,
            recipient=email,
            template=TEMPLATE,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            created_at=now,
        )

    def _hand_over(self, key: str, cart_id: str) -> None:
        """Hand a reminder to the notifier (its guard gives it up if its cart became
        an order since it was written). Never raises: it waits for ``send_due``."""
        try:
            self._notifications._send(key)
        except Exception:  # the notice is stored: send_due tries again
            log.exception("could not hand over the reminder %s of cart %s", key, cart_id)

    # --- coming back ---------------------------------------------------------------

    def restore(self, token: str) -> Cart:
        """The cart a reminder's link opens, its token in it for the shopper to keep
        shopping with; the store's coupon, if it offers one, is put on it when it can
        be used. Opening the cart is activity: its idle time starts again.

        :raises LinkRejected: naming ``token``, for a link the store did not make
            (``invalid``) or one that ran out (``expired``).
        :raises NotFound: naming ``token``, for a cart that no longer exists.
        :raises CartAlreadyOrdered: for a cart that has become an order.
        """
        now = self.now
        cart_id = read_restore_token(self._signing.accepted(), token, now=now)

        def work(uow: UnitOfWork) -> Cart:
            try:
                cart = uow.carts.get(cart_id)
            except NotFound:
                raise NotFound("cart", "for this link", field="token") from None
            live = uow.orders.live_for_cart(cart.id)
            if live is not None:
                raise CartAlreadyOrdered(live.id)
            records = uow.records(CartRecovery)
            record = records.find(CartRecovery.key(cart.id))
            if self._coupon is not None and self._with_coupon(uow, cart, self._coupon):
                uow.carts.save(cart)
            if record is not None:
                record.restored(at=now, policy=self._policy)
                records.save(record)
            return cart

        return self._run(work)

    def _with_coupon(self, uow: UnitOfWork, cart: Cart, code: str) -> bool:
        """Put ``code`` on ``cart`` if pricing would use it there now.

        :returns: whether the cart changed.
        """
        if code in cart.coupon_codes:
            return False
        engine, context = load_pricing(
            uow, cart, self._rt, now=self.now, customer=cart.customer_id, extra_codes=[code]
        )
        try:
            engine.check_coupon(cart, code, context)
            cart.apply_coupon(code)
        except (CouponRejected, InvalidInput) as refused:
            log.info("the recovery coupon was not put on cart %s: %s", cart.id, refused)
            return False
        return True

    # --- what came of it -----------------------------------------------------------

    def report(self) -> RecoveryReport:
        """How many carts were reminded and opened again, and the orders and revenue
        the reminders brought back: summed now from the records of every cart watched
        in the last ten years (the report ``abandoned_carts``, over all of them).

        :raises ConfigurationError: naming ``storage``, for a storage that sums no
            reports.
        """
        reports = getattr(self._rt.storage, "reports", None)
        if not callable(reports):
            raise ConfigurationError(
                f"{type(self._rt.storage).__name__} sums no reports (it has no reports() method)",
                field="storage",
            )
        source: ReportSource = reports()
        until = self.now + timedelta(days=1)
        period = Period(since=until - timedelta(days=MAX_PERIOD_DAYS), until=until)
        rows = source.abandoned_carts(period)
        revenue: dict[str, int] = {}
        for row in rows:
            if row.currency:
                revenue[row.currency] = revenue.get(row.currency, 0) + row.revenue_units
        return RecoveryReport(
            carts_reminded=sum(row.carts_reminded for row in rows),
            reminders=sum(row.reminders for row in rows),
            carts_restored=sum(row.carts_restored for row in rows),
            orders_recovered=sum(row.orders_recovered for row in rows),
            revenue=dict(sorted(revenue.items())),
        )

    def on_events(self, events: Sequence[DomainEvent]) -> int:
        """Follow the committed events: an order placed withdraws its cart's reminders
        still waiting; an order paid, placed after a reminder of its cart was handed
        over, counts its cart as recovered (once, however often it is delivered).
        Never raises for an event: a failure is logged.

        :returns: how many carts counted as recovered now.
        :raises InvalidInput: naming ``events``, for anything but a list (or tuple).
        """
        if not isinstance(events, list | tuple):
            raise InvalidInput("must be a list of events", field="events")
        if not self._notifications.active:
            return 0  # no reminder was ever sent: nothing to withdraw or count
        recovered = 0
        for event in events:
            if isinstance(event, OrderPlaced):
                self._safely(self._placed, event.order_id)
            elif isinstance(event, OrderPaid):
                recovered += self._safely(self._paid, event.order_id)
        return recovered

    def _safely(self, work: Callable[[UnitOfWork, str], int], order_id: str) -> int:
        try:
            return self._run(lambda uow: work(uow, order_id))
        except Exception:  # the order stands; the count is what suffers
            log.exception("could not follow order %s for abandoned carts", order_id)
            return 0

    def _placed(self, uow: UnitOfWork, order_id: str) -> int:
        order = uow.orders.get(order_id)
        record = uow.records(CartRecovery).find(CartRecovery.key(order.cart_id))
        if record is not None:
            for notice in record.notices:
                withdraw_notice(uow, notice.key, ORDERED)
        return 0

    def _paid(self, uow: UnitOfWork, order_id: str) -> int:
        order = uow.orders.get(order_id)
        records = uow.records(CartRecovery)
        record = records.find(CartRecovery.key(order.cart_id))
        if record is None:
            return 0
        handed_over = {}
        for reminder in record.notices:
            notice = uow.notices.find(reminder.key)
            if notice is not None and notice.status is NoticeStatus.SENT and notice.sent_at:
                handed_over[reminder.key] = notice.sent_at
        counted = record.recover(
            order_id=order.id,
            currency=order.currency,
            total_units=order.totals.grand_total_units,
            placed_at=order.placed_at,
            at=self.now,
            handed_over=handed_over,
        )
        if not counted:
            return 0
        records.save(record)
        return 1
