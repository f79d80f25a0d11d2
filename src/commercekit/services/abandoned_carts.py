"""Abandoned carts: reminders to shoppers who left a cart behind, the link in them that
opens the cart again, and the orders they brought back.

A cart is watched from when the store can write to its shopper: the checkout's
:meth:`~commercekit.services.checkout.CheckoutService.set_contact`, or a change to a
signed-in customer's cart, calls :func:`watch_cart` in its own unit of work (one
record per cart; see :mod:`commercekit.domain.marketing.abandoned` for the rules).
:meth:`AbandonedCartService.sweep`, run from a worker every few minutes, looks at
the carts due and, for each one that qualifies, writes in one unit of work the
reminder (a notice in the store's outbox, under a key of the cart and the
reminder's number), the record of it and the running totals, all version-checked:
two sweeps at once write each reminder once. The notice is then handed to the
notifier as every notice is; one that fails waits for
:meth:`~commercekit.services.notifications.NotificationService.send_due`, and one
left *sending* by a crash is never sent twice.

A reminder is never handed over for a cart that has become an order: the sweep
looks for a live order again before it hands a reminder over, and an order placed
(``OrderPlaced``) withdraws any reminder of its cart still waiting. When the order
is paid (``OrderPaid``) after a reminder, the cart counts as recovered, with the
order's total as revenue (:meth:`AbandonedCartService.report`).
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
    RecoveryTotals,
    Step,
    read_restore_token,
    restore_token,
)
from commercekit.domain.notifications import Notice
from commercekit.domain.pricing import PriceBreakdown
from commercekit.domain.promotions import normalize_coupon_code
from commercekit.ports.notifications import Templates
from commercekit.ports.storage import UnitOfWork
from commercekit.services._links import LinkSigning, link_to
from commercekit.services.base import Runtime, Service, check_page_size, load_pricing, price_cart
from commercekit.services.notifications import NotificationService

__all__ = ["TEMPLATE", "AbandonedCartService", "watch_cart", "withdraw_notice"]

log = logging.getLogger(__name__)

#: The notice that reminds a shopper of their cart.
TEMPLATE: Final = "cart_recovery"
#: A due time is compared with ``<`` by storage: what is due now is due before this.
_JUST_AFTER: Final = timedelta(microseconds=1)


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


def _totals(uow: UnitOfWork, at: datetime) -> tuple[RecoveryTotals, bool]:
    """The store's running totals, and whether they are new (to add, not save)."""
    found = uow.records(RecoveryTotals).find(RecoveryTotals.ID)
    return (found, False) if found is not None else (RecoveryTotals(started_at=at), True)


def _keep(uow: UnitOfWork, totals: RecoveryTotals, new: bool) -> None:
    records = uow.records(RecoveryTotals)
    (records.add if new else records.save)(totals)


class AbandonedCartService(Service):
    """Remind shoppers of the carts they left, open those carts again from the
    reminder's link, and count the orders that came of it.

    :param policy: when a cart is reminded of (the store's configuration).
    :param signing: the secrets the restore links are signed with.
    :param restore_url: the storefront's link that opens a cart, ``{token}`` in it.
    :param coupon: a coupon code put on a cart opened from its link, if the store
        offers one (ignored when it cannot be used on the cart then).
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
    ) -> None:
        super().__init__(runtime)
        self._templates = templates
        self._notifications = notifications
        self._policy = policy
        self._signing = signing
        self._restore_url = restore_url
        self._coupon = None if coupon is None else normalize_coupon_code(coupon)

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
        view = CartView(
            exists=True,
            ordered=uow.orders.live_for_cart(cart_id) is not None,
            items=len(cart),
            cart_version=cart.version,
            checkout_version=0 if checkout is None else checkout.version,
            email=email or "",
            consent=None
            if customer is None or not customer.consents
            else customer.accepts_marketing,
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
        who = canonical_email(view.email, subaddressing=self._rt.settings.email_subaddressing)
        key = f"{TEMPLATE}:{cart.id}:{record.next_notice_number()}:{who}"
        notice = self._notice(uow, cart, key, view.email, secret)
        reminder = record.notify(view, key=key, now=now, policy=self._policy)
        uow.notices.add(notice)
        records.save(record)
        totals, new = _totals(uow, now)
        totals.reminded(reminder)
        _keep(uow, totals, new)
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
        """Hand a reminder to the notifier, unless its cart became an order since it
        was written (then it is withdrawn). Never raises: it waits for ``send_due``."""
        try:
            ordered = self._read(lambda uow: uow.orders.live_for_cart(cart_id)) is not None
            if ordered:
                self._run(lambda uow: withdraw_notice(uow, key, "the cart became an order"))
                return
            self._notifications._send(key)
        except Exception:  # the notice is stored: send_due tries again
            log.exception("could not hand over the reminder %s", key)

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
                first = record.restored(at=now, policy=self._policy)
                records.save(record)
                if first and record.notices:
                    totals, new = _totals(uow, now)
                    totals.restored()
                    _keep(uow, totals, new)
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
        the reminders brought back (since the first reminder)."""

        def read(uow: UnitOfWork) -> RecoveryReport:
            found = uow.records(RecoveryTotals).find(RecoveryTotals.ID)
            return (found or RecoveryTotals(started_at=self.now)).report()

        return self._read(read)

    def on_events(self, events: Sequence[DomainEvent]) -> int:
        """Follow the committed events: an order placed withdraws its cart's reminders
        still waiting; an order paid after a reminder counts its cart as recovered
        (once, however often it is delivered). Never raises for an event: a failure
        is logged.

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
                withdraw_notice(uow, notice.key, "the cart became an order")
        return 0

    def _paid(self, uow: UnitOfWork, order_id: str) -> int:
        order = uow.orders.get(order_id)
        records = uow.records(CartRecovery)
        record = records.find(CartRecovery.key(order.cart_id))
        if record is None:
            return 0
        now = self.now
        counted = record.recover(
            order_id=order.id,
            currency=order.currency,
            total_units=order.totals.grand_total_units,
            placed_at=order.placed_at,
            at=now,
        )
        if not counted:
            return 0
        records.save(record)
        totals, new = _totals(uow, now)
        totals.recovered(currency=order.currency, total_units=order.totals.grand_total_units)
        _keep(uow, totals, new)
        return 1
