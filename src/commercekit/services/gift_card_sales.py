"""Selling gift cards: a paid order's gift-card lines issue one card per unit, and the
buyer is told each code once.

The store hands every committed event to :meth:`GiftCardSaleService.on_events`. An
``OrderPaid`` of an order with lines of the SKUs the store sells gift cards as
(``gift_card_skus``) issues, in one unit of work: a card per unit worth what was
paid for it (:func:`~commercekit.domain.gift_card_sales.unit_values`), in the
order's currency, expiring ``gift_card_expiry_days`` after (never, without); the
line's :class:`~commercekit.domain.gift_card_sales.GiftCardPurchase`, naming each
card; a note in the order's history; and, with a notifier, the
``gift_card_purchased`` notice to the order's email listing each code. The purchase
is stored under the order and SKU and the order is saved, both version-checked: the
same payment delivered again, or by two processes at once, finds the cards issued
and issues nothing.

A code is in that notice's rendered text and nowhere else (the store keeps every
message it sends): without a notifier the cards are issued and the codes are lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

from commercekit.domain.credit import GiftCard, new_gift_card_code
from commercekit.domain.errors import InvalidInput
from commercekit.domain.events import DomainEvent, OrderPaid
from commercekit.domain.gift_card_sales import ISSUED_NOTE, GiftCardPurchase, PurchaseState
from commercekit.domain.identifiers import check_key, check_whole_number
from commercekit.domain.notifications import Notice
from commercekit.domain.orders import Order, OrderStatus
from commercekit.ports.notifications import Templates
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_page_size
from commercekit.services.notifications import NotificationService

__all__ = ["ACTOR", "TEMPLATE", "GiftCardSaleService"]

log = logging.getLogger(__name__)

#: The notice that tells the buyer the codes.
TEMPLATE: Final = "gift_card_purchased"
#: Who issues the cards an order bought.
ACTOR: Final = "system:gift_cards"
#: Orders whose cards may be issued: paid, and not being cancelled.
_PAID: Final = frozenset({OrderStatus.OPEN, OrderStatus.COMPLETED})


class GiftCardSaleService(Service):
    """Issues the gift cards paid orders bought, and tells their buyers the codes."""

    def __init__(
        self, runtime: Runtime, templates: Templates, notifications: NotificationService
    ) -> None:
        super().__init__(runtime)
        self._templates = templates
        self._notifications = notifications

    @property
    def active(self) -> bool:
        """Whether the store sells gift cards (its configuration names SKUs for them)."""
        return bool(self._rt.settings.gift_card_skus)

    # --- issuing ---------------------------------------------------------------------

    def on_events(self, events: Sequence[DomainEvent]) -> int:
        """Issue the gift cards the orders paid in these committed events bought (each
        unit once, however often its payment is delivered). Never raises for an
        order: cards that could not be issued are kept as owed, and
        :meth:`issue_due` issues them later.

        :returns: how many cards were issued now.
        :raises InvalidInput: naming ``events``, for anything but a list (or tuple).
        """
        if not isinstance(events, list | tuple):
            raise InvalidInput("must be a list of events", field="events")
        if not self.active:
            return 0
        paid = dict.fromkeys(event.order_id for event in events if isinstance(event, OrderPaid))
        return sum(self._issue_safely(order_id) for order_id in paid)

    def issue_due(self, *, limit: int = 100) -> int:
        """Issue the gift cards owed since issuing them failed (a merchant's template
        that did not render, say), for at most ``limit`` lines: a periodic job's call.

        :returns: how many cards were issued.
        """
        limit = check_page_size(check_whole_number(limit, "limit"))
        owed = self._read(
            lambda uow: uow.records(GiftCardPurchase).where(
                state=PurchaseState.OWED.value, limit=limit
            )
        )
        orders = dict.fromkeys(purchase.order_id for purchase in owed)
        return sum(self._issue_safely(order_id) for order_id in orders)

    def for_order(self, order_id: str) -> list[GiftCardPurchase]:
        """The gift cards an order bought, a purchase per gift-card line (for staff:
        which card each unit bought, and which were taken back).

        :raises NotFound: naming ``order_id``, for an unknown order.
        """
        check_key(order_id, "order_id")

        def read(uow: UnitOfWork) -> list[GiftCardPurchase]:
            uow.orders.get(order_id)
            return uow.records(GiftCardPurchase).where(ref=order_id, limit=500)

        return self._read(read)

    def _issue_safely(self, order_id: str) -> int:
        try:
            issued, key = self._run(lambda uow: self._issue(uow, order_id))
        except Exception as error:  # the payment stands: the cards are owed, issued later
            log.exception("could not issue the gift cards of order %s", order_id)
            self._owe(order_id, repr(error))
            return 0
        if key is not None:
            try:
                self._notifications._send(key)
            except Exception:  # it waits for send_due, as any notice does
                log.exception("could not send the notice %s", key)
        return issued

    def _owe(self, order_id: str, error: str) -> None:
        def work(uow: UnitOfWork) -> None:
            order = uow.orders.get(order_id)
            records = uow.records(GiftCardPurchase)
            for line in order.lines:
                if line.sku not in self._rt.settings.gift_card_skus:
                    continue
                found = records.find(GiftCardPurchase.key(order.id, line.sku))
                purchase = found or GiftCardPurchase.open(order, line, at=self.now)
                if purchase.owe(error):
                    (records.add if found is None else records.save)(purchase)

        try:
            self._run(work)
        except Exception:  # logged above; a redelivery of the payment tries again
            log.exception("could not note the gift cards owed for order %s", order_id)

    def _issue(self, uow: UnitOfWork, order_id: str) -> tuple[int, str | None]:
        """Issue the cards ``order_id``'s gift-card lines are owed, in ``uow``.

        :returns: how many, and the key of the notice that tells their codes (if one
            was written).
        """
        order = uow.orders.get(order_id)
        records = uow.records(GiftCardPurchase)
        if order.status not in _PAID:
            for purchase in records.where(ref=order.id, state=PurchaseState.OWED.value):
                if purchase.forgo():
                    records.save(purchase)
            return 0, None
        settings = self._rt.settings
        now = self.now
        days = settings.gift_card_expiry_days
        expires_at = None if days is None else now + timedelta(days=days)
        cards = uow.records(GiftCard)
        sold: list[tuple[GiftCard, str]] = []
        for line in order.lines:
            if line.sku not in settings.gift_card_skus:
                continue
            found = records.find(GiftCardPurchase.key(order.id, line.sku))
            purchase = found or GiftCardPurchase.open(order, line, at=now)
            if purchase.issued:
                continue
            issued: dict[int, GiftCard] = {}
            for unit in purchase.to_issue():
                # A code drawn twice is an id taken: a conflict, and the retry draws again.
                code = new_gift_card_code(self._rt.ids.new_token())
                card = GiftCard.issue(
                    code,
                    unit.units,
                    order.currency,
                    at=now,
                    actor=ACTOR,
                    expires_at=expires_at,
                    bought_with=purchase.reference(unit.number),
                )
                cards.add(card)
                issued[unit.number] = card
                sold.append((card, code))
            purchase.record_issue(issued, at=now)
            (records.add if found is None else records.save)(purchase)
        if not sold:
            return 0, None
        shown = ", ".join(card.display for card, _ in sold)
        order.note(ISSUED_NOTE, f"issued {len(sold)}: {shown}"[:2000], at=now, actor=ACTOR)
        uow.orders.save(order)
        return len(sold), self._tell(uow, order, sold)

    def _tell(self, uow: UnitOfWork, order: Order, sold: list[tuple[GiftCard, str]]) -> str | None:
        """Write the notice telling the buyer the codes, in the unit of work that
        issues the cards: the one place a code is kept. ``None`` without a notifier
        or an email to send to."""
        if not self._notifications.active or not order.email:
            return None
        who = order.email_key or order.email
        key = f"{TEMPLATE}:{order.id}:{who}"
        if uow.notices.find(key) is not None:
            # Cards of a line issued after the others: a notice of their own.
            key = f"{TEMPLATE}:{order.id}:{sold[0][0].id[-12:]}:{who}"
        channel = self._rt.settings.channels.get(order.channel or "")
        data: dict[str, Any] = {
            "order_id": order.id,
            "order_number": order.number,
            "email": order.email,
            "currency": order.currency,
            "cards": [
                {
                    "code": code,
                    "display": card.display,
                    "amount_units": card.initial_units,
                    "expires_at": card.expires_at,
                }
                for card, code in sold
            ],
            "total_units": sum(card.initial_units for card, _ in sold),
        }
        rendered = self._templates.render(
            TEMPLATE, data, locale=channel.locale if channel is not None else "en"
        )
        uow.notices.add(
            Notice(
                id=key,
                recipient=order.email,
                template=TEMPLATE,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                created_at=self.now,
            )
        )
        return key
