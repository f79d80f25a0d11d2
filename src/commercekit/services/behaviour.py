"""What shoppers do, recorded; which campaign brought them, carried to their orders.

A storefront tells the store what a visitor does (:meth:`BehaviourService.visit`,
:meth:`~BehaviourService.product_viewed`, :meth:`~BehaviourService.searched`,
:meth:`~BehaviourService.added_to_cart`, :meth:`~BehaviourService.checkout_started`);
each is appended to the store's behaviour log, cheaply: no unit of work, unless a
visit brings a touch or a cart is first tied to its visitor. The order placed is
recorded by the store itself when the order is written (delivered from the outbox:
once, however often it is delivered), with the value of the order and the first and
last touches of its cart.

Attribution follows :mod:`commercekit.domain.marketing.behaviour`: a visitor's
touches, taken by each cart it adds to, taken by the order that cart becomes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from commercekit.domain.errors import ConcurrencyConflict, InvalidInput, NotFound
from commercekit.domain.events import DomainEvent, OrderPlaced
from commercekit.domain.identifiers import check_key, check_whole_number
from commercekit.domain.marketing.behaviour import (
    MAX_QUERY_LENGTH,
    Attribution,
    AttributionScope,
    BehaviourEvent,
    BehaviourKind,
    Funnel,
    Touch,
)
from commercekit.ports.behaviour import BehaviourLog
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service

__all__ = ["BehaviourService"]


def _customer(value: object) -> str:
    return "" if value is None else check_key(value, "customer_id")


def _query(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("must be text", field="query")
    # What a shopper typed is kept as far as it fits, not refused.
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:MAX_QUERY_LENGTH]


class BehaviourService(Service):
    """Records behaviour and carries attribution; counts the funnel."""

    def __init__(self, runtime: Runtime, log: BehaviourLog | None) -> None:
        super().__init__(runtime)
        self._log = log

    @property
    def active(self) -> bool:
        """Whether the store keeps a behaviour log (``track_behaviour``)."""
        return self._log is not None

    def _record(self, event: BehaviourEvent) -> None:
        if self._log is not None:
            self._log.record([event])

    # --- what a visitor does ---------------------------------------------------------

    def visit(
        self,
        visitor_id: str,
        *,
        url: str = "",
        referrer: str = "",
        utm: Mapping[str, str] | None = None,
        cart_id: str | None = None,
        customer_id: str | None = None,
    ) -> Touch:
        """A visit landed on ``url`` from ``referrer``: its touch (UTM parameters from
        ``utm`` or the URL's query; a referrer from another site is a referral, one
        from the landing URL's own host is no touch of its own) is the visitor's
        first touch if it has none, and its last unless it is direct and the last
        one was not. A cart named takes the visitor's touches.

        :returns: the visit's touch.
        :raises InvalidInput: naming the argument, for text no storage keeps.
        :raises NotFound: naming ``cart_id``, for a cart the store does not have.
        """
        visitor = check_key(visitor_id, "visitor_id")
        customer = _customer(customer_id)
        cart = None if cart_id is None else check_key(cart_id, "cart_id")
        at = self.now
        touch = Touch.from_visit(at=at, url=url, referrer=referrer, utm=utm)
        if not touch.direct or cart is not None or customer:
            self._run(lambda uow: self._touch(uow, visitor, customer, touch, cart))
        self._record(
            BehaviourEvent(
                kind=BehaviourKind.VISIT,
                at=at,
                visitor_id=visitor,
                customer_id=customer,
                cart_id=cart or "",
                touch=touch,
            )
        )
        return touch

    def product_viewed(
        self, visitor_id: str, product_id: str, *, customer_id: str | None = None
    ) -> None:
        """The visitor looked at a product's page.

        :raises InvalidInput: naming the argument that is wrong.
        """
        self._record(
            BehaviourEvent(
                kind=BehaviourKind.PRODUCT_VIEWED,
                at=self.now,
                visitor_id=check_key(visitor_id, "visitor_id"),
                customer_id=_customer(customer_id),
                product_id=check_key(product_id, "product_id"),
            )
        )

    def searched(
        self,
        visitor_id: str,
        query: str,
        result_count: int,
        *,
        customer_id: str | None = None,
    ) -> None:
        """The visitor searched for ``query`` and found ``result_count`` products (a
        search that found nothing is what a merchant most wants to see). The query
        is kept as far as it fits, whatever was typed.

        :raises InvalidInput: naming the argument that is wrong.
        """
        self._record(
            BehaviourEvent(
                kind=BehaviourKind.SEARCHED,
                at=self.now,
                visitor_id=check_key(visitor_id, "visitor_id"),
                customer_id=_customer(customer_id),
                query=_query(query),
                result_count=check_whole_number(result_count, "result_count"),
            )
        )

    def added_to_cart(
        self,
        visitor_id: str,
        cart_id: str,
        sku: str,
        quantity: int,
        *,
        customer_id: str | None = None,
    ) -> None:
        """The visitor added ``quantity`` of ``sku`` to their cart, which takes the
        visitor's touches.

        :raises InvalidInput: naming the argument that is wrong.
        :raises NotFound: naming ``cart_id``, for a cart the store does not have.
        """
        self._cart_event(
            BehaviourKind.ADDED_TO_CART,
            visitor_id,
            cart_id,
            customer_id,
            sku=check_key(sku, "sku"),
            quantity=check_whole_number(quantity, "quantity"),
        )

    def checkout_started(
        self, visitor_id: str, cart_id: str, *, customer_id: str | None = None
    ) -> None:
        """The visitor began checking out their cart, which takes their touches.

        :raises InvalidInput: naming the argument that is wrong.
        :raises NotFound: naming ``cart_id``, for a cart the store does not have.
        """
        self._cart_event(BehaviourKind.CHECKOUT_STARTED, visitor_id, cart_id, customer_id)

    def _cart_event(
        self,
        kind: BehaviourKind,
        visitor_id: str,
        cart_id: str,
        customer_id: str | None,
        **fields: object,
    ) -> None:
        visitor = check_key(visitor_id, "visitor_id")
        cart = check_key(cart_id, "cart_id")
        customer = _customer(customer_id)
        event = BehaviourEvent(
            kind=kind,
            at=self.now,
            visitor_id=visitor,
            customer_id=customer,
            cart_id=cart,
            **fields,  # type: ignore[arg-type]
        )
        self._run(lambda uow: self._link(uow, visitor, customer, cart))
        self._record(event)

    # --- attribution -----------------------------------------------------------------

    def _touch(
        self, uow: UnitOfWork, visitor: str, customer: str, touch: Touch, cart: str | None
    ) -> None:
        if cart is not None:
            uow.carts.get(cart)  # NotFound for a cart the store does not have
        attributions = uow.records(Attribution)
        key = Attribution.key_of(AttributionScope.VISITOR, visitor)
        found = attributions.find(key)
        mine = found or Attribution.start(AttributionScope.VISITOR, visitor, at=touch.at)
        changed = mine.touched(touch)
        if customer:
            changed = mine.identified(customer) or changed
        if found is None:
            attributions.add(mine)
        elif changed:
            attributions.save(mine)
        if cart is not None:
            self._take(uow, AttributionScope.CART, cart, mine)

    def _link(self, uow: UnitOfWork, visitor: str, customer: str, cart: str) -> None:
        uow.carts.get(cart)  # NotFound for a cart the store does not have
        attributions = uow.records(Attribution)
        key = Attribution.key_of(AttributionScope.VISITOR, visitor)
        mine = attributions.find(key) or Attribution.start(
            AttributionScope.VISITOR, visitor, at=self.now
        )
        if customer and not mine.customer_id:
            mine.identified(customer)
        self._take(uow, AttributionScope.CART, cart, mine)

    def _take(
        self, uow: UnitOfWork, scope: AttributionScope, key: str, source: Attribution
    ) -> Attribution:
        attributions = uow.records(Attribution)
        found = attributions.find(Attribution.key_of(scope, key))
        if found is None:
            taker = Attribution.start(scope, key, at=self.now)
            taker.take(source)
            attributions.add(taker)
            return taker
        if found.take(source):
            attributions.save(found)
        return found

    def attribution(
        self,
        *,
        order_id: str | None = None,
        cart_id: str | None = None,
        visitor_id: str | None = None,
    ) -> Attribution | None:
        """The first and last touch of an order, a cart or a visitor (name one), or
        ``None`` when nothing was recorded for it.

        :raises InvalidInput: naming ``order_id``, unless exactly one is named.
        """
        named = [
            (scope, value)
            for scope, value in (
                (AttributionScope.ORDER, order_id),
                (AttributionScope.CART, cart_id),
                (AttributionScope.VISITOR, visitor_id),
            )
            if value is not None
        ]
        if len(named) != 1:
            raise InvalidInput("name one of order_id, cart_id or visitor_id", field="order_id")
        scope, value = named[0]
        key = check_key(value, f"{scope.value}_id")
        return self._read(lambda uow: uow.records(Attribution).find(Attribution.key_of(scope, key)))

    def on_events(self, events: Sequence[DomainEvent]) -> int:
        """Carry the attribution of each placed order's cart to the order, and record
        the order placed in the behaviour log (once, however often it is delivered).

        :returns: how many orders were recorded.
        :raises InvalidInput: naming ``events``, for anything but a list (or tuple).
        """
        if not isinstance(events, list | tuple):
            raise InvalidInput("must be a list of events", field="events")
        if not self.active:
            return 0
        placed = [event for event in events if isinstance(event, OrderPlaced)]
        for event in placed:
            self._placed(event)
        return len(placed)

    def _placed(self, event: OrderPlaced) -> None:
        def carry(uow: UnitOfWork) -> tuple[Attribution | None, str, str]:
            order = uow.orders.get(event.order_id)
            cart = uow.records(Attribution).find(
                Attribution.key_of(AttributionScope.CART, order.cart_id)
            )
            if cart is None:
                return None, order.cart_id, order.customer_id or ""
            taken = self._take(uow, AttributionScope.ORDER, order.id, cart)
            return taken, order.cart_id, order.customer_id or ""

        try:
            attribution, cart_id, customer = self._run(carry)
        except (NotFound, ConcurrencyConflict):
            return
        self._record(
            BehaviourEvent(
                id=f"order:{event.order_id}",
                kind=BehaviourKind.ORDER_PLACED,
                at=event.occurred_at,
                visitor_id=attribution.visitor_id if attribution else "",
                customer_id=customer or (attribution.customer_id if attribution else ""),
                cart_id=cart_id,
                order_id=event.order_id,
                value_units=event.total_units,
                currency=event.currency,
                touch=attribution.last if attribution else None,
                first_touch=attribution.first if attribution else None,
            )
        )

    # --- reading ---------------------------------------------------------------------

    def _engine(self) -> BehaviourLog:
        if self._log is None:
            raise InvalidInput(
                "the store keeps no behaviour log (track_behaviour is off)", field="behaviour"
            )
        return self._log

    def events(
        self,
        *,
        since: datetime,
        until: datetime,
        visitor_id: str | None = None,
        limit: int = 1000,
    ) -> list[BehaviourEvent]:
        """The events recorded from ``since`` to ``until`` (exclusive), oldest first,
        of one visitor if named.

        :raises InvalidInput: naming the argument that is wrong, or ``behaviour`` when
            the store keeps no log.
        """
        return self._engine().events(since=since, until=until, visitor_id=visitor_id, limit=limit)

    def funnel(self, *, since: datetime, until: datetime) -> Funnel:
        """How many distinct visitors viewed a product, added to a cart, began a
        checkout and placed an order from ``since`` to ``until``, and the share of
        each step that reached the next.

        :raises InvalidInput: naming the argument that is wrong, or ``behaviour`` when
            the store keeps no log.
        """
        counted = self._engine().funnel(since=since, until=until)
        return Funnel.of(counted)
