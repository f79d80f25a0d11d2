"""In-memory storage, for tests and quick scripts.

It keeps the promises the SQL storage keeps (atomic commit, optimistic versions,
unique tokens and idempotency keys, read-your-writes inside a unit of work) so that
the same conformance suite passes on both. Aggregates are copied in and out, so no
caller can change stored state without committing.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import attrs

from commercekit.domain.cart import Cart
from commercekit.domain.catalog import Category, Product
from commercekit.domain.checkout import Checkout
from commercekit.domain.errors import CouponRejected, DuplicateSku, InvalidInput, NotFound
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import (
    InsufficientStock,
    MovementKind,
    PurchaseOrder,
    ReorderPolicy,
    Reservation,
    ReservationStatus,
    StockItem,
    StockLocation,
    StockMovement,
    StockRule,
)
from commercekit.domain.orders import HOLDING_MONEY, Order, OrderStatus
from commercekit.domain.payments import Payment
from commercekit.domain.pricing import PriceList, TaxZone
from commercekit.domain.promotions import Coupon, CouponUsage, Promotion
from commercekit.ports.storage import ConcurrencyConflict

__all__ = ["MemoryStorage", "MemoryUnitOfWork"]

_TABLES = (
    "carts",
    "checkouts",
    "orders",
    "payments",
    "categories",
    "products",
    "price_lists",
    "tax_zones",
    "promotions",
    "coupons",
    "coupon_uses",
    "stock_locations",
    "stock_rules",
    "stock_items",
    "stock_movements",
    "reservations",
    "purchase_orders",
)
_DELETED = object()


class MemoryStorage:
    """Committed state, guarded by a lock; units of work stage changes on top."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[Any, Any]] = {name: {} for name in _TABLES}
        self.outbox: list[tuple[int, DomainEvent, bool]] = []

    def unit_of_work(self) -> MemoryUnitOfWork:
        """A new unit of work."""
        return MemoryUnitOfWork(self)

    def undelivered_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        """Outbox events not yet marked delivered, oldest first."""
        with self.lock:
            return [(i, e) for i, e, done in self.outbox if not done][:limit]

    def mark_delivered(self, event_ids: Sequence[int]) -> None:
        """Mark outbox events as delivered."""
        wanted = set(event_ids)
        with self.lock:
            self.outbox = [(i, e, done or i in wanted) for i, e, done in self.outbox]

    def close(self) -> None:
        """Nothing to release."""


class _Tables:
    """Committed rows overlaid with the staged ones of one unit of work."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self.staged: dict[str, dict[Any, Any]] = {name: {} for name in _TABLES}
        self.loaded: dict[int, tuple[Any, int]] = {}
        """The version each loaded copy had, by the copy's identity (holding the copy,
        so that its id is not reused): a stale copy saved after a fresh reload must
        still be caught."""
        self.expected: dict[tuple[str, Any], int | None] = {}
        """For each staged row, the stored version its write expects."""
        self.stock: list[_StockChange] = []
        self.loose_events: list[DomainEvent] = []
        """Stock changes, checked against committed stock and applied at commit."""
        self.written: list[Any] = []
        """Aggregates in the order they were added or saved: their events are
        committed in that order, so causes come before effects."""

    def get(self, table: str, key: Any) -> Any:
        staged = self.staged[table]
        if key in staged:
            value = staged[key]
            return None if value is _DELETED else value
        with self.storage.lock:
            value = self.storage.tables[table].get(key)
            value = copy.deepcopy(value)
        if value is not None and hasattr(value, "version"):
            self.loaded[id(value)] = (value, value.version)
        return value

    def rows(self, table: str) -> Iterator[Any]:
        with self.storage.lock:
            keys = list(self.storage.tables[table])
        for key in [*keys, *(k for k in self.staged[table] if k not in keys)]:
            value = self.get(table, key)
            if value is not None:
                yield value

    def _expect(self, table: str, key: Any, value: Any) -> None:
        loaded = self.loaded.get(id(value))
        self.expected[(table, key)] = None if loaded is None else loaded[1]

    def put(self, table: str, key: Any, value: Any) -> None:
        self._expect(table, key, value)
        self.staged[table][key] = value
        if hasattr(value, "events") and not any(value is seen for seen in self.written):
            self.written.append(value)

    def delete(self, table: str, key: Any, value: Any = None) -> None:
        self._expect(table, key, value)
        self.staged[table][key] = _DELETED


class _Repository:
    table: str

    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    def _get(self, key: str, kind: str) -> Any:
        value = self._t.get(self.table, key)
        if value is None:
            raise NotFound(kind, key)
        return value

    def _find(self, predicate: Callable[[Any], bool]) -> Any:
        return next((row for row in self._t.rows(self.table) if predicate(row)), None)


class MemoryCartRepository(_Repository):
    table = "carts"

    def get(self, cart_id: str) -> Cart:
        cart: Cart = self._get(cart_id, "cart")
        return cart

    def find_by_token(self, token: str) -> Cart | None:
        if not token:
            return None
        cart: Cart | None = self._find(lambda c: c.owned_by(token))
        return cart

    def add(self, cart: Cart) -> None:
        self._t.put(self.table, cart.id, cart)

    def save(self, cart: Cart) -> None:
        self._t.put(self.table, cart.id, cart)

    def remove(self, cart: Cart) -> None:
        self._t.delete(self.table, cart.id, cart)


class MemoryCheckoutRepository(_Repository):
    table = "checkouts"

    def find(self, checkout_id: str) -> Checkout | None:
        checkout: Checkout | None = self._t.get(self.table, checkout_id)
        return checkout

    def save(self, checkout: Checkout) -> None:
        self._t.put(self.table, checkout.id, checkout)


class MemoryOrderRepository(_Repository):
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

    def pending_payment(self, placed_before: datetime, limit: int = 100) -> list[Order]:
        found = [
            o
            for o in self._t.rows(self.table)
            if o.status is OrderStatus.PENDING_PAYMENT and o.placed_at < placed_before
        ]
        return sorted(found, key=lambda o: o.placed_at)[:limit]

    def cancelled_holding_money(self, limit: int = 100) -> list[Order]:
        found = [
            o
            for o in self._t.rows(self.table)
            if o.status is OrderStatus.CANCELLED and o.payment_status in HOLDING_MONEY
        ]
        return sorted(found, key=lambda o: o.placed_at)[:limit]

    def add(self, order: Order) -> None:
        self._t.put(self.table, order.id, order)

    def save(self, order: Order) -> None:
        self._t.put(self.table, order.id, order)


class MemoryPaymentRepository(_Repository):
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

    def add(self, payment: Payment) -> None:
        self._t.put(self.table, payment.id, payment)

    def save(self, payment: Payment) -> None:
        self._t.put(self.table, payment.id, payment)


class MemoryCatalogRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    def add_category(self, category: Category) -> None:
        if self._t.get("categories", category.id) is not None:
            raise InvalidInput(f"category {category.id!r} already exists", field="id")
        if category.parent_id is not None and self._t.get("categories", category.parent_id) is None:
            raise NotFound("category", category.parent_id, field="parent_id")
        self._t.put("categories", category.id, copy.deepcopy(category))

    def categories(self) -> list[Category]:
        return list(self._t.rows("categories"))

    def _check_categories(self, product: Product) -> None:
        for category_id in product.category_ids:
            if self._t.get("categories", category_id) is None:
                raise NotFound("category", category_id, field="category_ids")

    def add_product(self, product: Product) -> None:
        if self._t.get("products", product.id) is not None:
            raise InvalidInput(f"product {product.id!r} already exists", field="id")
        self._check_categories(product)
        self._check_skus(product, exclude=None)
        stored = copy.deepcopy(product)
        for variant in stored.variants:
            variant.product_id = stored.id
        self._t.put("products", product.id, stored)

    def _check_skus(self, product: Product, exclude: str | None) -> None:
        taken = {v.sku for p in self._t.rows("products") if p.id != exclude for v in p.variants}
        seen: set[str] = set()
        for variant in product.variants:
            if variant.sku in taken or variant.sku in seen:
                raise DuplicateSku(variant.sku)
            seen.add(variant.sku)

    def save_product(self, product: Product) -> None:
        self.product(product.id)
        self._check_categories(product)
        self._check_skus(product, exclude=product.id)
        stored = copy.deepcopy(product)
        for variant in stored.variants:
            variant.product_id = stored.id
        self._t.put("products", product.id, stored)

    def product(self, product_id: str) -> Product:
        product: Product | None = self._t.get("products", product_id)
        if product is None:
            raise NotFound("product", product_id, field="product_id")
        return product

    def products_for_skus(self, skus: Collection[str]) -> list[Product]:
        wanted = set(skus)
        return [p for p in self._t.rows("products") if any(v.sku in wanted for v in p.variants)]

    def add_price_list(self, price_list: PriceList) -> None:
        if self._t.get("price_lists", price_list.id) is not None:
            raise InvalidInput(f"price list {price_list.id!r} already exists", field="id")
        self._t.put("price_lists", price_list.id, copy.deepcopy(price_list))

    def save_price_list(self, price_list: PriceList) -> None:
        self.price_list(price_list.id)
        self._t.put("price_lists", price_list.id, copy.deepcopy(price_list))

    def price_list(self, price_list_id: str) -> PriceList:
        found: PriceList | None = self._t.get("price_lists", price_list_id)
        if found is None:
            raise NotFound("price list", price_list_id, field="price_list_id")
        return found

    def price_lists(self, currency: str, skus: Collection[str]) -> list[PriceList]:
        wanted = set(skus)
        found: list[PriceList] = []
        for stored in self._t.rows("price_lists"):
            if stored.currency != currency:
                continue
            narrowed = PriceList(
                stored.id,
                stored.currency,
                channel=stored.channel,
                customer_group=stored.customer_group,
            )
            for sku, entry in stored.entries().items():
                if sku in wanted:
                    narrowed.load(sku, entry)
            found.append(narrowed)
        return found

    def add_tax_zone(self, zone: TaxZone) -> None:
        if self._t.get("tax_zones", zone.id) is not None:
            raise InvalidInput(f"tax zone {zone.id!r} already exists", field="id")
        self._t.put("tax_zones", zone.id, zone)

    def tax_zones(self) -> list[TaxZone]:
        return list(self._t.rows("tax_zones"))

    def add_promotion(self, promotion: Promotion) -> None:
        if self._t.get("promotions", promotion.id) is not None:
            raise InvalidInput(f"promotion {promotion.id!r} already exists", field="id")
        self._t.put("promotions", promotion.id, promotion)

    def promotions(self) -> list[Promotion]:
        return list(self._t.rows("promotions"))

    def add_coupon(self, coupon: Coupon) -> None:
        if self._t.get("coupons", coupon.code) is not None:
            raise InvalidInput(f"coupon {coupon.code!r} already exists", field="code")
        self._t.put("coupons", coupon.code, coupon)

    def coupons(self, codes: Collection[str]) -> list[Coupon]:
        return [c for c in (self._t.get("coupons", code) for code in codes) if c is not None]

    def coupon_usage(
        self, codes: Collection[str], customer: str | None
    ) -> Mapping[str, CouponUsage]:
        uses = list(self._t.rows("coupon_uses"))
        return {
            code: CouponUsage(
                total=sum(1 for c, _ in uses if c == code),
                by_customer=0
                if customer is None
                else sum(1 for c, who in uses if c == code and who == customer),
            )
            for code in codes
        }

    def record_coupon_use(self, code: str, customer: str | None, order_id: str) -> None:
        self._t.put("coupon_uses", (order_id, code), (code, customer))

    def release_coupon_uses(self, order_id: str) -> None:
        for key in list(self._t.staged["coupon_uses"]):
            if key[0] == order_id:
                self._t.delete("coupon_uses", key)
        with self._t.storage.lock:
            keys = [k for k in self._t.storage.tables["coupon_uses"] if k[0] == order_id]
        for key in keys:
            self._t.delete("coupon_uses", key)


@attrs.frozen
class _StockChange:
    """One change of a stock item, applied at commit if its condition holds there."""

    sku: str
    location_id: str
    on_hand: int = 0
    reserved: int = 0
    floor: int | None = None
    """Refuse if available would end below this (``None``: no check)."""
    movement: StockMovement | None = None
    closes: str | None = None
    """A reservation id: apply only if that reservation is still active."""
    status: ReservationStatus | None = None
    settings: tuple[int | None, ReorderPolicy | None] | None = None
    """A new low-stock threshold and reorder policy."""
    extends: tuple[str, datetime] | None = None
    """A reservation id and its new expiry, if it is still active."""


class MemoryInventoryRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    def add_location(self, location: StockLocation) -> None:
        if self._t.get("stock_locations", location.id) is not None:
            raise InvalidInput(f"location {location.id!r} already exists", field="id")
        self._t.put("stock_locations", location.id, location)

    def locations(self) -> list[StockLocation]:
        return sorted(self._t.rows("stock_locations"), key=lambda place: (place.priority, place.id))

    def set_rule(self, rule: StockRule) -> None:
        self._t.put("stock_rules", rule.sku, rule)

    def rules(self, skus: Collection[str]) -> dict[str, StockRule]:
        return {sku: rule for sku in skus if (rule := self._t.get("stock_rules", sku)) is not None}

    def items(self, skus: Collection[str]) -> list[StockItem]:
        wanted = set(skus)
        found = {
            (item.sku, item.location_id): item
            for item in self._t.rows("stock_items")
            if item.sku in wanted
        }
        # Read your own writes: pending changes show, unchecked, in what is read.
        for change in self._t.stock:
            if change.sku not in wanted:
                continue
            key = (change.sku, change.location_id)
            item = found.get(key) or StockItem(sku=change.sku, location_id=change.location_id)
            item.on_hand += change.on_hand
            item.reserved += change.reserved
            if change.settings is not None:
                item.low_stock_threshold, item.reorder = change.settings
            found[key] = item
        return sorted(found.values(), key=lambda item: (item.sku, item.location_id))

    def configure_item(self, item: StockItem) -> None:
        self._t.stock.append(
            _StockChange(
                item.sku, item.location_id, settings=(item.low_stock_threshold, item.reorder)
            )
        )

    def record(self, movement: StockMovement, *, floor: int = 0) -> None:
        self._t.stock.append(
            _StockChange(
                movement.sku,
                movement.location_id,
                on_hand=movement.quantity,
                floor=floor if movement.quantity < 0 else None,
                movement=movement,
            )
        )

    def movements(self, sku: str, location_id: str) -> list[StockMovement]:
        return [
            m
            for m in self._t.rows("stock_movements")
            if (m.sku, m.location_id) == (sku, location_id)
        ]

    def reserve(self, reservations: Sequence[Reservation], floors: Mapping[str, int]) -> None:
        for reservation in sorted(reservations, key=lambda r: (r.sku, r.location_id)):
            self._t.put("reservations", reservation.id, copy.deepcopy(reservation))
            self._t.stock.append(
                _StockChange(
                    reservation.sku,
                    reservation.location_id,
                    reserved=reservation.quantity,
                    floor=floors.get(reservation.sku, 0),
                )
            )

    def release(self, reservation_ids: Sequence[str], status: ReservationStatus) -> int:
        closed = 0
        closing = {c.closes for c in self._t.stock if c.closes is not None}
        for reservation_id in dict.fromkeys(reservation_ids):
            reservation = self._t.get("reservations", reservation_id)
            if (
                reservation is None
                or reservation.status is not ReservationStatus.ACTIVE
                or reservation_id in closing
            ):
                continue
            consumed = status is ReservationStatus.CONSUMED
            self._t.stock.append(
                _StockChange(
                    reservation.sku,
                    reservation.location_id,
                    on_hand=-reservation.quantity if consumed else 0,
                    reserved=-reservation.quantity,
                    closes=reservation.id,
                    status=status,
                    movement=StockMovement(
                        id=f"{reservation.id}:sale",
                        sku=reservation.sku,
                        location_id=reservation.location_id,
                        kind=MovementKind.SALE,
                        quantity=-reservation.quantity,
                        at=datetime.now(UTC),
                        reference=reservation.order_id,
                    )
                    if consumed
                    else None,
                )
            )
            closed += 1
        return closed

    def extend(self, reservation_ids: Sequence[str], until: datetime) -> None:
        for reservation_id in reservation_ids:
            reservation = self._t.get("reservations", reservation_id)
            if reservation is not None:
                self._t.stock.append(
                    _StockChange(
                        reservation.sku, reservation.location_id, extends=(reservation_id, until)
                    )
                )

    def reservations_for_order(self, order_id: str) -> list[Reservation]:
        found = [r for r in self._t.rows("reservations") if r.order_id == order_id]
        # Read your own writes: holds closed in this unit of work show as closed.
        closing = {c.closes: c.status for c in self._t.stock if c.closes is not None}
        for reservation in found:
            status = closing.get(reservation.id)
            if status is not None:
                reservation.status = status
        return found

    def expired_reservations(self, now: datetime, limit: int = 100) -> list[Reservation]:
        found = [r for r in self._t.rows("reservations") if r.expired(now)]
        return sorted(found, key=lambda r: r.expires_at)[:limit]

    def add_purchase_order(self, order: PurchaseOrder) -> None:
        self._t.put("purchase_orders", order.id, order)

    def purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        found: PurchaseOrder | None = self._t.get("purchase_orders", purchase_order_id)
        if found is None:
            raise NotFound("purchase order", purchase_order_id, field="purchase_order_id")
        return found

    def save_purchase_order(self, order: PurchaseOrder) -> None:
        self._t.put("purchase_orders", order.id, order)


def _apply_stock(
    tables: dict[str, dict[Any, Any]],
    changes: Sequence[_StockChange],
    staged_reservations: Mapping[str, Any],
) -> None:
    """Check every change against committed stock, then apply them all (or none)."""
    items: dict[tuple[str, str], StockItem] = {}
    statuses: dict[str, ReservationStatus] = {}
    applied: list[_StockChange] = []
    for change in changes:
        key = (change.sku, change.location_id)
        item = items.get(key)
        if item is None:
            stored = tables["stock_items"].get(key)
            item = copy.deepcopy(stored) if stored else StockItem(sku=key[0], location_id=key[1])
            items[key] = item
        if change.closes is not None:
            reservation = tables["reservations"].get(change.closes) or staged_reservations.get(
                change.closes
            )
            current = statuses.get(change.closes) or (
                reservation.status if reservation is not None else ReservationStatus.ACTIVE
            )
            if current is not ReservationStatus.ACTIVE:
                continue  # another writer closed it first: release once
            assert change.status is not None
            statuses[change.closes] = change.status
        on_hand = item.on_hand + change.on_hand
        reserved = item.reserved + change.reserved
        if change.floor is not None and on_hand - reserved < change.floor:
            raise InsufficientStock(
                change.sku, abs(change.reserved or change.on_hand), item.available - change.floor
            )
        if reserved < 0:
            raise InsufficientStock(change.sku, -change.reserved, item.reserved)
        if change.on_hand < 0 and on_hand < 0:
            raise InsufficientStock(change.sku, -change.on_hand, item.on_hand)
        item.on_hand, item.reserved = on_hand, reserved
        if change.settings is not None:
            item.low_stock_threshold, item.reorder = change.settings
        item.version += 1
        applied.append(change)
    for key, item in items.items():
        tables["stock_items"][key] = item
    for reservation_id, status in statuses.items():
        reservation = tables["reservations"].get(reservation_id) or staged_reservations.get(
            reservation_id
        )
        if reservation is not None and reservation is not _DELETED:
            reservation.status = status
    for change in changes:
        if change.extends is not None:
            reservation = tables["reservations"].get(change.extends[0])
            if reservation is not None and reservation.status is ReservationStatus.ACTIVE:
                reservation.expires_at = change.extends[1]
    for change in applied:
        if change.movement is not None:
            tables["stock_movements"][change.movement.id] = change.movement


def _check_coupons(tables: dict[str, dict[Any, Any]], staged: Mapping[Any, Any]) -> None:
    """Coupon limits, checked again against committed uses (the race-safe count)."""
    uses = list(tables["coupon_uses"].values())
    for key, value in staged.items():
        if value is _DELETED or key in tables["coupon_uses"]:
            continue
        code, customer = value
        coupon = tables["coupons"].get(code)
        if coupon is None:
            continue
        if (
            coupon.usage_limit is not None
            and sum(1 for c, _ in uses if c == code) >= coupon.usage_limit
        ):
            raise CouponRejected(code, "limit_reached")
        if (
            coupon.usage_limit_per_customer is not None
            and customer is not None
            and sum(1 for c, who in uses if c == code and who == customer)
            >= coupon.usage_limit_per_customer
        ):
            raise CouponRejected(code, "limit_reached", "already used by this customer")
        uses.append(value)


_UNIQUE: dict[str, Callable[[Any], list[tuple[str, Any]]]] = {
    "carts": lambda c: [("token", c.token)],
    "orders": lambda o: [("token", o.token), ("idempotency_key", o.idempotency_key)],
    "payments": lambda p: [("reference", (p.gateway, p.reference))] if p.reference else [],
    "purchase_orders": lambda order: [],
}


class MemoryUnitOfWork:
    """Stages changes; :meth:`commit` checks versions and unique keys, then applies
    them all under the storage lock, or none."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._tables = _Tables(storage)
        self.carts = MemoryCartRepository(self._tables)
        self.checkouts = MemoryCheckoutRepository(self._tables)
        self.orders = MemoryOrderRepository(self._tables)
        self.payments = MemoryPaymentRepository(self._tables)
        self.catalog = MemoryCatalogRepository(self._tables)
        self.inventory = MemoryInventoryRepository(self._tables)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    def _check(self) -> None:
        committed = self._storage.tables
        for table, rows in self._tables.staged.items():
            for key, value in rows.items():
                loaded = self._tables.expected.get((table, key))
                current = committed[table].get(key)
                if hasattr(value, "version") or value is _DELETED:
                    if loaded is None and current is not None and table in _UNIQUE:
                        raise ConcurrencyConflict(f"{table[:-1]} {key!r} already exists")
                    if loaded is not None and (current is None or current.version != loaded):
                        raise ConcurrencyConflict(f"{table[:-1]} {key!r} was changed meanwhile")
                unique = _UNIQUE.get(table)
                if unique is None or value is _DELETED:
                    continue
                for name, wanted in unique(value):
                    for other_key, other in committed[table].items():
                        if other_key != key and dict(unique(other)).get(name) == wanted:
                            raise ConcurrencyConflict(f"{table[:-1]} {name} is already taken")

    def commit(self) -> Sequence[DomainEvent]:
        """Apply every staged change at once, or raise and apply none."""
        events: list[DomainEvent] = []
        with self._storage.lock:
            self._check()
            _check_coupons(self._storage.tables, self._tables.staged["coupon_uses"])
            _apply_stock(
                self._storage.tables, self._tables.stock, self._tables.staged["reservations"]
            )
            for aggregate in self._tables.written:
                events.extend(aggregate.events)
            events.extend(self._tables.loose_events)
            for table, rows in self._tables.staged.items():
                target = self._storage.tables[table]
                for key, value in rows.items():
                    if value is _DELETED:
                        target.pop(key, None)
                    else:
                        stored = copy.deepcopy(value)
                        if hasattr(stored, "events"):
                            stored.events = []
                        target[key] = stored
            start = len(self._storage.outbox)
            self._storage.outbox.extend(
                (start + n + 1, event, False) for n, event in enumerate(events)
            )
        for aggregate in self._tables.written:
            aggregate.events.clear()
        self._tables = _Tables(self._storage)
        self._rebind()
        return events

    def _rebind(self) -> None:
        repositories = (
            self.carts,
            self.checkouts,
            self.orders,
            self.payments,
            self.catalog,
            self.inventory,
        )
        for repository in repositories:
            repository._t = self._tables

    def record_events(self, events: Sequence[DomainEvent]) -> None:
        """Events to commit with this unit of work, after its aggregates' events."""
        self._tables.loose_events.extend(events)

    def rollback(self) -> None:
        """Forget every staged change."""
        self._tables = _Tables(self._storage)
        self._rebind()
