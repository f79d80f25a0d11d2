"""Carts, checkouts, orders and payments in memory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from commercekit.adapters.storage.memory.tables import Repository, Tables
from commercekit.domain.cart import Cart
from commercekit.domain.checkout import Checkout
from commercekit.domain.customers import Customer
from commercekit.domain.errors import NotFound
from commercekit.domain.fulfilment import Shipment, ShipmentStatus
from commercekit.domain.indexed import Indexed
from commercekit.domain.notifications import Notice
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.payments import Payment

__all__ = [
    "MemoryCartRepository",
    "MemoryCheckoutRepository",
    "MemoryCustomerRepository",
    "MemoryNoticeRepository",
    "MemoryOrderRepository",
    "MemoryPaymentRepository",
    "MemoryRecordRepository",
    "MemoryShipmentRepository",
]

R = TypeVar("R", bound=Indexed)


class MemoryCartRepository(Repository):
    table = "carts"

    def get(self, cart_id: str) -> Cart:
        cart: Cart = self._get(cart_id, "cart")
        return cart

    def find_by_token(self, token: str) -> Cart | None:
        if not token:
            return None
        cart: Cart | None = self._find(lambda c: c.owned_by(token))
        return cart

    def for_customer(self, customer_id: str) -> list[Cart]:
        return sorted(
            (c for c in self._t.rows(self.table) if c.customer_id == customer_id),
            key=lambda c: c.id,
        )

    def add(self, cart: Cart) -> None:
        self._t.put(self.table, cart.id, cart)

    def save(self, cart: Cart) -> None:
        self._t.put(self.table, cart.id, cart)

    def remove(self, cart: Cart) -> None:
        self._t.delete(self.table, cart.id, cart)

    def discard(self, cart_id: str) -> None:
        cart = self._t.get(self.table, cart_id)
        if cart is not None:
            self._t.delete(self.table, cart_id, cart)


class MemoryCheckoutRepository(Repository):
    table = "checkouts"

    def find(self, checkout_id: str) -> Checkout | None:
        checkout: Checkout | None = self._t.get(self.table, checkout_id)
        return checkout

    def save(self, checkout: Checkout) -> None:
        self._t.put(self.table, checkout.id, checkout)


class MemoryCustomerRepository(Repository):
    table = "customers"

    def find(self, customer_id: str) -> Customer | None:
        customer: Customer | None = self._t.get(self.table, customer_id)
        return customer

    def add(self, customer: Customer) -> None:
        self._t.put(self.table, customer.id, customer)

    def save(self, customer: Customer) -> None:
        self._t.put(self.table, customer.id, customer)

    def page(self, *, after: str = "", limit: int = 100) -> list[Customer]:
        found = sorted((c for c in self._t.rows(self.table) if c.id > after), key=lambda c: c.id)
        return found[:limit]


class MemoryOrderRepository(Repository):
    table = "orders"

    def get(self, order_id: str) -> Order:
        order: Order = self._get(order_id, "order")
        return order

    def find_by_token(self, token: str) -> Order | None:
        if not token:
            return None
        order: Order | None = self._find(lambda o: o.owned_by(token))
        return order

    def find_by_idempotency_key(self, key: str) -> Order | None:
        order: Order | None = self._find(lambda o: o.idempotency_key == key)
        return order

    def find_by_number(self, number: str) -> Order | None:
        order: Order | None = self._find(lambda o: o.number == number)
        return order

    def for_customer(
        self, customer_id: str, *, placed_before: datetime | None = None, limit: int = 50
    ) -> list[Order]:
        found = [
            o
            for o in self._t.rows(self.table)
            if o.customer_id == customer_id
            and (placed_before is None or o.placed_at < placed_before)
        ]
        return sorted(found, key=lambda o: (o.placed_at, o.id), reverse=True)[:limit]

    def search(
        self,
        *,
        number_prefix: str = "",
        email_key: str = "",
        status: OrderStatus | None = None,
        placed_before: datetime | None = None,
        limit: int = 50,
    ) -> list[Order]:
        found = [
            o
            for o in self._t.rows(self.table)
            if o.number.startswith(number_prefix)
            and (not email_key or o.email_key == email_key)
            and (status is None or o.status is status)
            and (placed_before is None or o.placed_at < placed_before)
        ]
        return sorted(found, key=lambda o: (o.placed_at, o.id), reverse=True)[:limit]

    def pending_payment(self, placed_before: datetime, limit: int = 100) -> list[Order]:
        return self._oldest(
            lambda o: o.status is OrderStatus.PENDING_PAYMENT and o.placed_at < placed_before,
            limit,
        )

    def _oldest(self, keep: Callable[[Order], bool], limit: int) -> list[Order]:
        found = [o for o in self._t.rows(self.table) if keep(o)]
        return sorted(found, key=lambda o: (o.placed_at, o.id))[:limit]

    def cancelled_holding_money(self, limit: int = 100) -> list[Order]:
        return self._oldest(
            lambda o: (
                o.status is OrderStatus.CANCELLED
                and (o.payment_capturable_units > 0 or o.payment_refundable_units > 0)
            ),
            limit,
        )

    def completed_holding_authorization(self, limit: int = 100) -> list[Order]:
        return self._oldest(
            lambda o: o.status is OrderStatus.COMPLETED and o.payment_capturable_units > 0,
            limit,
        )

    def cancelling(self, limit: int = 100) -> list[Order]:
        return self._oldest(lambda o: o.status is OrderStatus.CANCELLING, limit)

    def live_for_cart(self, cart_id: str) -> Order | None:
        found = self._oldest(
            lambda o: o.cart_id == cart_id and o.status is not OrderStatus.CANCELLED, 1
        )
        return found[0] if found else None

    def unpaid_count(self, *, customer_id: str | None, email_key: str | None) -> int:
        return sum(
            1
            for o in self._t.rows(self.table)
            if o.status is OrderStatus.PENDING_PAYMENT
            and (
                (customer_id is not None and o.customer_id == customer_id)
                or (bool(email_key) and o.email_key == email_key)
            )
        )

    def add(self, order: Order) -> None:
        self._t.put(self.table, order.id, order)

    def save(self, order: Order) -> None:
        self._t.put(self.table, order.id, order)

    def adopt(self, order: Order) -> None:
        self._t.adopt(self.table, order.id, order)


class MemoryPaymentRepository(Repository):
    table = "payments"

    def get(self, payment_id: str) -> Payment:
        payment: Payment = self._get(payment_id, "payment")
        return payment

    def for_order(self, order_id: str) -> Payment | None:
        payment: Payment | None = self._find(lambda p: p.order_id == order_id)
        return payment

    def find_by_reference(self, gateway: str, reference: str) -> Payment | None:
        payment: Payment | None = self._find(
            lambda p: p.gateway == gateway and p.reference == reference
        )
        return payment

    def busy_before(self, cutoff: datetime, limit: int = 100) -> list[Payment]:
        found = [(p.busy_since, p.id, p) for p in self._t.rows(self.table)]
        waiting = sorted(entry for entry in found if entry[0] is not None and entry[0] < cutoff)
        return [payment for _, _, payment in waiting[:limit]]

    def add(self, payment: Payment) -> None:
        self._t.put(self.table, payment.id, payment)

    def save(self, payment: Payment) -> None:
        self._t.put(self.table, payment.id, payment)

    def adopt(self, payment: Payment) -> None:
        self._t.adopt(self.table, payment.id, payment)


class MemoryShipmentRepository(Repository):
    table = "shipments"

    def get(self, shipment_id: str) -> Shipment:
        shipment: Shipment = self._get(shipment_id, "shipment")
        return shipment

    def add(self, shipment: Shipment) -> None:
        self._t.put(self.table, shipment.id, shipment)

    def save(self, shipment: Shipment) -> None:
        self._t.put(self.table, shipment.id, shipment)

    def for_order(self, order_id: str) -> list[Shipment]:
        return sorted(
            (s for s in self._t.rows(self.table) if s.order_id == order_id), key=lambda s: s.id
        )

    def by_tracking_number(self, tracking_number: str) -> list[Shipment]:
        if not tracking_number:
            return []
        found = (s for s in self._t.rows(self.table) if s.tracking_number == tracking_number)
        return sorted(found, key=lambda s: s.id)

    def waiting_at(self, location_id: str, *, limit: int = 500) -> list[Shipment]:
        waiting = (ShipmentStatus.PENDING, ShipmentStatus.LABEL_BOUGHT)
        found = (
            s
            for s in self._t.rows(self.table)
            if s.location_id == location_id and s.status in waiting
        )
        return sorted(found, key=lambda s: (s.created_at, s.id))[:limit]

    def tracked(self, *, after: str = "", limit: int = 100) -> list[Shipment]:
        found = (
            s
            for s in self._t.rows(self.table)
            if s.status.tracked and s.tracking_number and s.id > after
        )
        return sorted(found, key=lambda s: s.id)[:limit]


class MemoryNoticeRepository(Repository):
    table = "notices"

    def find(self, key: str) -> Notice | None:
        notice: Notice | None = self._t.get(self.table, key)
        return notice

    def add(self, notice: Notice) -> None:
        self._t.put(self.table, notice.id, notice)

    def save(self, notice: Notice) -> None:
        self._t.put(self.table, notice.id, notice)

    def due(self, *, limit: int = 100) -> list[Notice]:
        found = (n for n in self._t.rows(self.table) if n.due)
        return sorted(found, key=lambda n: (n.created_at, n.id))[:limit]


class MemoryRecordRepository(Repository, Generic[R]):
    """The records of one :class:`Indexed` class, in the table every such class
    shares (ids are unique across them, as in SQL storage)."""

    table = "records"

    def __init__(self, tables: Tables, cls: type[R]) -> None:
        super().__init__(tables)
        self._cls = cls

    def get(self, record_id: str) -> R:
        found = self.find(record_id)
        if found is None:
            raise NotFound(self._cls.KIND, record_id, field=f"{self._cls.KIND}_id")
        return found

    def find(self, record_id: str) -> R | None:
        found = self._t.get(self.table, record_id)
        return found if isinstance(found, self._cls) else None

    def add(self, record: R) -> None:
        self._t.put(self.table, record.id, record)

    def save(self, record: R) -> None:
        self._t.put(self.table, record.id, record)

    def where(
        self,
        *,
        ref: str | None = None,
        owner: str | None = None,
        state: str | None = None,
        due_before: datetime | None = None,
        limit: int = 100,
    ) -> list[R]:
        found: list[tuple[datetime, str, R]] = []
        for record in self._t.rows(self.table):
            if not isinstance(record, self._cls):
                continue
            index = record.index()
            if (
                (ref is None or index.ref == ref)
                and (owner is None or index.owner == owner)
                and (state is None or index.state == state)
                and (due_before is None or (index.due is not None and index.due < due_before))
            ):
                found.append((index.at, record.id, record))
        found.sort(key=lambda entry: (entry[0], entry[1]))
        return [record for _, _, record in found[:limit]]
