"""Back-in-stock alerts: shoppers subscribe to a sold-out variant and are told, first
come first served, when stock makes it available again.

Subscribing stores the shopper's request and nothing every other shopper writes as
well, so a sold-out SKU that many ask for at once has no row they queue behind; its
place in line is when it was asked. A guest's answer is always a request of their
own: an address typed in does not show whose alert waits for it.

The store tells them from its committed events (:meth:`StockAlertService.on_events`):
``StockChanged`` (stock received, counted, adjusted, moved or returned) and
``OrderCancelled`` (the stock an order held is available again) each make the store
look at their SKUs' queues at once, so a shopper hears as soon as the stock is
there; the events are delivered at least once, and each decision that tells
someone is version-checked on the SKU's queue, so an alert is told once however
often they come and two decisions never tell more than there are units. Stock also
comes back in ways no event tells of (a reservation that runs out, a promise to a
shopper who did not buy that lapses), so :meth:`StockAlertService.sweep`, run from a
worker every few minutes, looks at every SKU with shoppers waiting as well.

An order placed by a shopper who was told (a guest by the order's email, in any
spelling; a customer by the order's customer) ends their promise: the unit they
were told of is theirs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from commercekit.domain.customers import canonical_email, check_customer_id
from commercekit.domain.errors import InStock, InvalidInput, NotFound, UnknownSku
from commercekit.domain.events import DomainEvent, OrderCancelled, OrderPlaced, StockChanged
from commercekit.domain.identifiers import check_key, check_whole_number
from commercekit.domain.marketing.stock_alerts import (
    MAX_WAITING,
    AlertPolicy,
    AlertQueue,
    AlertStatus,
    StockAlert,
    choose,
    in_line,
    kept,
)
from commercekit.domain.notifications import Notice
from commercekit.ports.notifications import Templates
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_page_size
from commercekit.services.notifications import NotificationService
from commercekit.services.schemas import ContactIn, parse

__all__ = ["TEMPLATE", "StockAlertService"]

log = logging.getLogger(__name__)

#: The notice that tells a shopper their SKU is back.
TEMPLATE: Final = "back_in_stock"


class StockAlertService(Service):
    """Take shoppers' requests to hear when a SKU is back, and tell them.

    :param policy: how many are told when stock comes back, and how long a unit is
        kept for each (the store's configuration).
    """

    def __init__(
        self,
        runtime: Runtime,
        templates: Templates,
        notifications: NotificationService,
        *,
        policy: AlertPolicy,
    ) -> None:
        super().__init__(runtime)
        self._templates = templates
        self._notifications = notifications
        self._policy = policy
        self._instant: datetime | None = None
        self._arrivals = 0
        self._arrivals_lock = threading.Lock()

    def _email_key(self, email: str) -> str:
        return canonical_email(email, subaddressing=self._rt.settings.email_subaddressing)

    # --- subscribing ---------------------------------------------------------------

    def subscribe(
        self, sku: str, *, email: str | None = None, customer_id: str | None = None
    ) -> StockAlert:
        """Ask to be told when ``sku`` is back: a signed-in customer (told at their
        record's email) or a guest (at ``email``), one of the two. Keep the alert's
        ``id``: it cancels the alert.

        A customer asking again while waiting is given the alert they have. A guest
        is always given a request of their own: whoever types an address is not
        known to own it, so nobody learns from the answer whether (or which) alert
        waits for that address. An address is told once, however many requests it
        has.

        :raises InvalidInput: naming ``customer_id`` or ``email`` (neither, both, or
            not an address), or ``sku`` for a variant that keeps no stock.
        :raises UnknownSku: for a SKU no variant has.
        :raises NotFound: naming ``customer_id``, for a customer the store has no
            record of.
        :raises InStock: for a SKU that can be bought now.
        """
        check_key(sku, "sku")
        if (customer_id is None) == (email is None):
            raise InvalidInput(
                "give the customer's id or, for a guest, an email (one of them)",
                field="customer_id" if customer_id is None else "email",
            )
        customer = None if customer_id is None else check_customer_id(customer_id)
        guest = None if email is None else parse(ContactIn, {"email": email}, field="email").email
        now = self.now
        # Made once, before the unit of work: a retry keeps its place in line.
        alert_id = self._new_alert_id(now)

        def work(uow: UnitOfWork) -> StockAlert:
            address = guest or ""
            if customer is not None:
                record = uow.customers.find(customer)
                if record is None:
                    raise NotFound("customer", customer, field="customer_id")
                address = record.email
            variants = {
                variant.sku: variant
                for product in uow.catalog.products_for_skus([sku])
                for variant in product.variants
            }
            variant = variants.get(sku)
            if variant is None:
                raise UnknownSku(sku)
            if not variant.track_stock or variant.components:
                raise InvalidInput("this variant keeps no stock: it never runs out", field="sku")
            alerts = uow.records(StockAlert)
            if customer is not None:
                # Asked by the customer's id: the caller is that customer (the door
                # sees to it) or the application, so their own alert may be shown.
                owner = StockAlert.customer_owner(customer)
                mine = alerts.where(ref=sku, owner=owner, state=AlertStatus.WAITING.value, limit=1)
                if mine:
                    return mine[0]
            if sum(item.available for item in uow.inventory.items([sku])) > 0:
                raise InStock(sku)
            queues = uow.records(AlertQueue)
            queue = queues.find(AlertQueue.key(sku))
            # Written only by the first to wait for the SKU, or to wake its queue:
            # those who join a line already waiting write their own request alone.
            if queue is None:
                queues.add(AlertQueue.open(sku, at=now))
            elif queue.wake():
                queues.save(queue)
            alert = StockAlert(
                id=alert_id,
                sku=sku,
                email=address,
                email_key=self._email_key(address),
                customer_id=customer,
                subscribed_at=now,
            )
            alerts.add(alert)
            return alert

        return self._run(work)

    def _new_alert_id(self, now: datetime) -> str:
        """An unguessable id (it is what cancels the alert) that sorts after the ids
        this service made before at the same instant ``now``: requests asked in one
        instant (a clock that stands still, or one too coarse to tell them apart)
        keep the order they were asked in. Counted per instant, so that an id tells
        nobody how many others asked."""
        with self._arrivals_lock:
            if now != self._instant:
                self._instant, self._arrivals = now, 0
            self._arrivals += 1
            arrival = self._arrivals
        return f"stock_alert_{arrival:09d}_{self._rt.ids.new_token()}"

    def unsubscribe(self, alert_id: str) -> StockAlert:
        """Cancel a waiting alert (one told, or cancelled, is left as it is).

        :raises NotFound: naming ``alert_id``.
        """
        check_key(alert_id, "alert_id")
        now = self.now

        def work(uow: UnitOfWork) -> StockAlert:
            alert = uow.records(StockAlert).find(alert_id)
            if alert is None:
                raise NotFound("stock alert", alert_id, field="alert_id")
            if alert.cancel(at=now):
                uow.records(StockAlert).save(alert)
            return alert

        return self._run(work)

    def for_customer(self, customer_id: str) -> list[StockAlert]:
        """A signed-in customer's alerts, oldest first (not a guest's, whatever
        address they were made with).

        :raises NotFound: naming ``customer_id``, for a customer the store has no
            record of.
        """
        check_customer_id(check_key(customer_id, "customer_id"))

        def read(uow: UnitOfWork) -> list[StockAlert]:
            if uow.customers.find(customer_id) is None:
                raise NotFound("customer", customer_id, field="customer_id")
            owner = StockAlert.customer_owner(customer_id)
            return uow.records(StockAlert).where(owner=owner, limit=500)

        return self._read(read)

    def waiting(self, sku: str, *, limit: int = 100) -> list[StockAlert]:
        """The requests waiting for ``sku``, in the order they will be told."""
        check_key(sku, "sku")
        most = check_page_size(check_whole_number(limit, "limit"), most=MAX_WAITING)

        def read(uow: UnitOfWork) -> list[StockAlert]:
            found = uow.records(StockAlert).where(
                ref=sku, state=AlertStatus.WAITING.value, limit=most
            )
            return in_line(found)

        return self._read(read)

    # --- telling -------------------------------------------------------------------

    def on_events(self, events: Sequence[DomainEvent]) -> int:
        """Tell the shoppers waiting for the SKUs whose stock these committed events
        changed; end the promise of those told who ordered. Never raises for an
        event: a failure is logged, and the next event or sweep tries again.

        :returns: how many shoppers were told now.
        :raises InvalidInput: naming ``events``, for anything but a list (or tuple).
        """
        if not isinstance(events, list | tuple):
            raise InvalidInput("must be a list of events", field="events")
        if not self._notifications.active:
            return 0
        skus: dict[str, None] = {}
        for event in events:
            if isinstance(event, StockChanged):
                skus.update(dict.fromkeys(event.skus))
            elif isinstance(event, OrderCancelled):
                skus.update(dict.fromkeys(self._order_skus(event.order_id)))
            elif isinstance(event, OrderPlaced):
                self._ordered(event.order_id)
        return sum(self._tell_safely(sku) for sku in skus)

    def sweep(self, *, limit: int = 500) -> int:
        """Look at every SKU with shoppers waiting (at most ``limit``), and tell those
        its stock now allows: a periodic job's call. Without a notifier it does
        nothing.

        :returns: how many shoppers were told.
        """
        most = check_page_size(check_whole_number(limit, "limit"), most=100_000)
        if not self._notifications.active:
            return 0
        queues = self._read(lambda uow: uow.records(AlertQueue).where(state="waiting", limit=most))
        return sum(self._tell_safely(queue.sku) for queue in queues)

    def _order_skus(self, order_id: str) -> list[str]:
        try:
            order = self._read(lambda uow: uow.orders.get(order_id))
        except NotFound:
            return []
        return [line.sku for line in order.lines]

    def _ordered(self, order_id: str) -> None:
        """A shopper told of a SKU ordered it: their promise ends. A guest's requests
        are known by the order's email (in any spelling), a customer's by the
        order's customer."""
        now = self.now

        def work(uow: UnitOfWork) -> None:
            order = uow.orders.get(order_id)
            owners = [StockAlert.guest_owner(order.email_key or self._email_key(order.email))]
            if order.customer_id is not None:
                owners.append(StockAlert.customer_owner(order.customer_id))
            alerts = uow.records(StockAlert)
            for sku in dict.fromkeys(line.sku for line in order.lines):
                for owner in owners:
                    told = alerts.where(ref=sku, owner=owner, state=AlertStatus.NOTIFIED.value)
                    for alert in told:
                        if alert.bought(at=now):
                            alerts.save(alert)

        try:
            self._run(work)
        except Exception:  # the promise lapses in time instead
            log.exception("could not end the stock alerts of order %s", order_id)

    def _tell_safely(self, sku: str) -> int:
        try:
            keys = self._run(lambda uow: self._tell(uow, sku))
        except Exception:  # the alerts wait: the next event or sweep tries again
            log.exception("could not tell the shoppers waiting for %s", sku)
            return 0
        for key in keys:
            try:
                self._notifications._send(key)
            except Exception:  # stored: send_due tries again
                log.exception("could not hand over the notice %s", key)
        return len(keys)

    def _tell(self, uow: UnitOfWork, sku: str) -> list[str]:
        """Tell those waiting for ``sku`` whom its stock now allows, in ``uow``.

        :returns: the keys of the notices written.
        """
        queues = uow.records(AlertQueue)
        queue = queues.find(AlertQueue.key(sku))
        if queue is None or queue.asleep:
            return []
        now = self.now
        alerts = uow.records(StockAlert)
        told = alerts.where(ref=sku, state=AlertStatus.NOTIFIED.value, limit=MAX_WAITING)
        for alert in told:
            if alert.lapse(now):
                alerts.save(alert)
        waiting = alerts.where(ref=sku, state=AlertStatus.WAITING.value, limit=MAX_WAITING)
        if not waiting:
            if queue.found_empty(now):
                queues.save(queue)
            return []
        available = sum(item.available for item in uow.inventory.items([sku]))
        chosen = choose(waiting, available=available, promised=kept(told, now), policy=self._policy)
        if not chosen:
            if queue.wake():
                queues.save(queue)
            return []
        names = {
            variant.sku: product.name
            for product in uow.catalog.products_for_skus([sku])
            for variant in product.variants
        }
        by_address: dict[str, list[StockAlert]] = {}
        for alert in chosen:
            by_address.setdefault(alert.email_key, []).append(alert)
        keys = []
        for first, *more in by_address.values():
            key = f"{TEMPLATE}:{first.id}:{first.email_key}"
            data = {
                "email": first.email,
                "sku": sku,
                "name": names.get(sku, sku),
                "subscribed_at": first.subscribed_at,
            }
            rendered = self._templates.render(TEMPLATE, data, locale=self._locale())
            for alert in (first, *more):
                alert.notify(key=key, at=now, policy=self._policy)
                alerts.save(alert)
            uow.notices.add(
                Notice(
                    id=key,
                    recipient=first.email,
                    template=TEMPLATE,
                    subject=rendered.subject,
                    text=rendered.text,
                    html=rendered.html,
                    created_at=now,
                )
            )
            keys.append(key)
        # Written with every decision that tells: two at once are made one after
        # the other, so no more are told than there are units.
        queue.decided()
        queues.save(queue)
        return keys

    def _locale(self) -> str:
        default = self._rt.settings.default_channel
        channel = self._rt.settings.channels.get(default or "")
        return channel.locale if channel is not None else "en"
