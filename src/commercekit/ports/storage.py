"""The storage port: repositories for each aggregate, and the unit of work that makes
a set of changes atomic.

Aggregates carry a ``version`` that the domain bumps on every change. A repository
remembers the version each aggregate had when it was loaded, and ``save`` writes only
if the stored version is still that one, so two writers cannot both win: the second
gets :class:`ConcurrencyConflict` and nothing of its unit of work is written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import attrs

from commercekit.domain.cart import Cart
from commercekit.domain.catalog import (
    CatalogChange,
    Category,
    Product,
    ProductFilter,
    ProductType,
    SlugRecord,
)
from commercekit.domain.catalog import Collection as ProductCollection
from commercekit.domain.checkout import Checkout
from commercekit.domain.customers import Customer
from commercekit.domain.events import DomainEvent
from commercekit.domain.fulfilment import Shipment
from commercekit.domain.indexed import Indexed
from commercekit.domain.inventory import (
    PurchaseOrder,
    Reservation,
    ReservationStatus,
    StockChange,
    StockItem,
    StockLocation,
    StockMovement,
    StockRule,
)
from commercekit.domain.notifications import Notice
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.payments import Payment
from commercekit.domain.pricing import PriceEntry, PriceList, TaxZone
from commercekit.domain.promotions import Coupon, CouponUsage, Promotion
from commercekit.domain.shipping import DeliveryMethod, ShippingZone

__all__ = [
    "CartRepository",
    "CatalogRepository",
    "CheckoutRepository",
    "CustomerRepository",
    "InventoryRepository",
    "NoticeRepository",
    "OrderRepository",
    "PaymentRepository",
    "PromotionType",
    "RecordRepository",
    "ShipmentRepository",
    "Storage",
    "StorageFactory",
    "UnitOfWork",
]


class CartRepository(Protocol):
    """Carts by id and by owner token."""

    def get(self, cart_id: str) -> Cart:
        """:raises NotFound: for an unknown id."""
        ...

    def find_by_token(self, token: str) -> Cart | None:
        """The cart whose token this is; an empty token finds nothing."""
        ...

    def for_customer(self, customer_id: str) -> list[Cart]:
        """The carts of a signed-in customer, by id."""
        ...

    def add(self, cart: Cart) -> None:
        """Store a new cart."""
        ...

    def save(self, cart: Cart) -> None:
        """Store a changed cart (no-op if unchanged since loaded)."""
        ...

    def remove(self, cart: Cart) -> None:
        """Delete a cart (after it became an order)."""
        ...

    def discard(self, cart_id: str) -> None:
        """Delete the cart with this id, whatever its version, if it is still there
        (it became an order): no read first."""
        ...


class CheckoutRepository(Protocol):
    """Checkouts, one per cart, sharing the cart's id."""

    def find(self, checkout_id: str) -> Checkout | None:
        """The checkout with this id, if one was started."""
        ...

    def save(self, checkout: Checkout) -> None:
        """Store a new or changed checkout."""
        ...


class CustomerRepository(Protocol):
    """Customers by the application's id for them."""

    def find(self, customer_id: str) -> Customer | None:
        """The customer with this id, if the store has a record."""
        ...

    def add(self, customer: Customer) -> None:
        """Store a new customer; a taken id is a ``ConcurrencyConflict`` (at the latest
        on commit)."""
        ...

    def save(self, customer: Customer) -> None:
        """Store a changed customer (version-checked)."""
        ...

    def page(self, *, after: str = "", limit: int = 100) -> list[Customer]:
        """The customers whose id sorts after ``after``, by id, at most ``limit``: the
        store's whole list a page at a time (each page starts after the last id of
        the one before)."""
        ...


class ShipmentRepository(Protocol):
    """Shipments by id, by order and by tracking number."""

    def get(self, shipment_id: str) -> Shipment:
        """:raises NotFound: for an unknown id."""
        ...

    def add(self, shipment: Shipment) -> None:
        """Store a new shipment."""
        ...

    def save(self, shipment: Shipment) -> None:
        """Store a changed shipment (version-checked)."""
        ...

    def for_order(self, order_id: str) -> list[Shipment]:
        """An order's shipments, oldest first (by id)."""
        ...

    def by_tracking_number(self, tracking_number: str) -> list[Shipment]:
        """The shipments whose label has this tracking number."""
        ...

    def waiting_at(self, location_id: str, *, limit: int = 500) -> list[Shipment]:
        """Shipments waiting to leave a location (pending or labelled), oldest first
        (by creation, then id)."""
        ...

    def tracked(self, *, after: str = "", limit: int = 100) -> list[Shipment]:
        """Dispatched shipments with a label whose carrier may still report news
        (shipped, in transit, exception), by id, from after ``after``."""
        ...


class NoticeRepository(Protocol):
    """The notices a store sends, by key."""

    def find(self, key: str) -> Notice | None: ...

    def add(self, notice: Notice) -> None:
        """Store a new notice; a taken key is a ``ConcurrencyConflict`` (at the latest
        on commit): the same notice is claimed once."""
        ...

    def save(self, notice: Notice) -> None:
        """Store a changed notice (version-checked)."""
        ...

    def due(self, *, limit: int = 100) -> list[Notice]:
        """Notices waiting to be handed over (new, or failed and tried again), oldest
        first."""
        ...


class OrderRepository(Protocol):
    """Orders by id, token and idempotency key."""

    def get(self, order_id: str) -> Order:
        """:raises NotFound: for an unknown id."""
        ...

    def find_by_token(self, token: str) -> Order | None:
        """The order whose token this is; an empty token finds nothing."""
        ...

    def find_by_idempotency_key(self, key: str) -> Order | None:
        """The order placed with this idempotency key, if any."""
        ...

    def find_by_number(self, number: str) -> Order | None:
        """The order with this number (:attr:`Order.number`), if any; storage holds
        each number once: adding a second is a ``ConcurrencyConflict``."""
        ...

    def for_customer(
        self, customer_id: str, *, placed_before: datetime | None = None, limit: int = 50
    ) -> list[Order]:
        """The customer's orders, newest first (placed before ``placed_before``, to
        page back through them)."""
        ...

    def search(
        self,
        *,
        number_prefix: str = "",
        email_key: str = "",
        status: OrderStatus | None = None,
        placed_before: datetime | None = None,
        limit: int = 50,
    ) -> list[Order]:
        """Orders matching every filter given, newest first: the number starts with
        ``number_prefix`` (exactly, case included), the ``email_key`` is this one,
        the status is ``status``; an empty filter matches every order."""
        ...

    def pending_payment(self, placed_before: datetime, limit: int = 100) -> list[Order]:
        """Orders still waiting for their payment's outcome, oldest first."""
        ...

    def cancelled_holding_money(self, limit: int = 100) -> list[Order]:
        """Cancelled orders whose payment still holds money (an authorization standing,
        or captured and not all refunded), oldest first: what a failed give-back left
        behind, or a capture the gateway reported after the void."""
        ...

    def completed_holding_authorization(self, limit: int = 100) -> list[Order]:
        """Completed orders whose payment still has an authorization standing."""
        ...

    def cancelling(self, limit: int = 100) -> list[Order]:
        """Orders being cancelled, oldest first: their money's give-back is under way, or
        was interrupted (the gateway out of reach, the process stopped)."""
        ...

    def live_for_cart(self, cart_id: str) -> Order | None:
        """The order a cart became that is not cancelled, if any. Storage holds one cart
        to one such order: adding a second is a ``ConcurrencyConflict``."""
        ...

    def unpaid_count(self, *, customer_id: str | None, email_key: str | None) -> int:
        """How many orders of this customer, or with this email in any spelling (the
        order's ``email_key``), await payment."""
        ...

    def add(self, order: Order) -> None:
        """Store a new order. A taken idempotency key is a ``ConcurrencyConflict``
        (at the latest on commit)."""
        ...

    def save(self, order: Order) -> None:
        """Store a changed order."""
        ...

    def adopt(self, order: Order) -> None:
        """Take ``order``, exactly as an earlier unit of work committed it, as this one's
        copy instead of reading it again: saving it writes only if the stored one
        still has its version (a conflict otherwise, and the caller reads afresh)."""
        ...


class PaymentRepository(Protocol):
    """Payments by id, order and gateway reference."""

    def get(self, payment_id: str) -> Payment:
        """:raises NotFound: for an unknown id."""
        ...

    def for_order(self, order_id: str) -> Payment | None:
        """The payment of an order."""
        ...

    def find_by_reference(self, gateway: str, reference: str) -> Payment | None:
        """The payment a gateway knows by ``reference``."""
        ...

    def busy_before(self, cutoff: datetime, limit: int = 100) -> list[Payment]:
        """Payments with an operation under way since before ``cutoff`` (its answer was
        never settled), oldest first."""
        ...

    def add(self, payment: Payment) -> None:
        """Store a new payment."""
        ...

    def save(self, payment: Payment) -> None:
        """Store a changed payment."""
        ...

    def adopt(self, payment: Payment) -> None:
        """As :meth:`OrderRepository.adopt`, for a payment."""
        ...


class CatalogRepository(Protocol):
    """The catalogue, prices, tax zones, promotions and coupons.

    The reads that pricing uses are shaped so that loading what one cart needs takes
    a fixed number of queries, however many lines it has.

    The catalogue (categories, products, price lists, tax zones, promotions, shipping
    zones and delivery methods, and the
    stock locations of :class:`InventoryRepository`; not coupons, whose uses change
    with every order) is stamped: every write of it bumps :meth:`stamp` in the same
    transaction, so that a cache of it in any process knows, from one cheap read,
    whether it is still what is stored.
    """

    def stamp(self) -> int:
        """The catalogue's version stamp: it changes whenever a catalogue row is
        written, in the transaction that writes it."""
        ...

    def add_category(self, category: Category) -> None: ...

    def categories(self) -> list[Category]:
        """Every category (a store has few)."""
        ...

    def add_product(self, product: Product) -> None:
        """Store a product with its variants.

        :raises DuplicateSku: for a SKU another variant already has.
        """
        ...

    def save_product(self, product: Product) -> None:
        """Store a product's changed fields (state, window, attributes) and any new
        variants."""
        ...

    def product(self, product_id: str) -> Product:
        """:raises NotFound: for an unknown id."""
        ...

    def products_for_skus(self, skus: Collection[str]) -> list[Product]:
        """The products (with all their variants) that own these SKUs."""
        ...

    def products(self, product_ids: Collection[str]) -> list[Product]:
        """The products with these ids that exist, in no particular order."""
        ...

    def list_products(
        self, where: ProductFilter, *, after: str | None = None, limit: int = 50
    ) -> list[Product]:
        """Products meeting ``where`` (:meth:`ProductFilter.matches` decides), by id,
        the first ``limit`` after the id ``after`` (keyset pagination)."""
        ...

    def put_products(self, products: Sequence[Product]) -> None:
        """Store many products at once, each added or, when its id is stored,
        replaced whole (fields, categories, variants), for a bulk import.

        :raises DuplicateSku: for a SKU another product has (nothing is written).
        :raises NotFound: for a category that does not exist.
        """
        ...

    # Product types, collections, slugs and the change record.

    def add_product_type(self, product_type: ProductType) -> None:
        """:raises AlreadyExists: for a taken id."""
        ...

    def save_product_type(self, product_type: ProductType) -> None:
        """:raises NotFound: for an unknown id."""
        ...

    def product_type(self, type_id: str) -> ProductType:
        """:raises NotFound: naming ``type_id``, for an unknown id."""
        ...

    def product_types(self) -> list[ProductType]: ...

    def add_collection(self, collection: ProductCollection) -> None:
        """:raises AlreadyExists: for a taken id."""
        ...

    def save_collection(self, collection: ProductCollection) -> None:
        """:raises NotFound: for an unknown id."""
        ...

    def collection(self, collection_id: str) -> ProductCollection:
        """:raises NotFound: naming ``collection_id``, for an unknown id."""
        ...

    def collections(self) -> list[ProductCollection]: ...

    def slug_owner(self, locale: str, slug: str, *, channel: str = "") -> SlugRecord | None:
        """Who ``slug`` leads to in ``locale`` (``""``: the product's own slug) and
        ``channel`` (``""``: every channel)."""
        ...

    def slug_owners(
        self, locale: str, slugs: Collection[str], *, channel: str = ""
    ) -> dict[str, SlugRecord]:
        """:meth:`slug_owner` of many slugs at once: those that lead somewhere."""
        ...

    def put_slugs(self, slugs: Mapping[str, Mapping[str, str]], *, channel: str = "") -> None:
        """:meth:`set_slugs` of many products at once (product id to its slugs per
        locale), for a bulk import."""
        ...

    def set_slugs(self, product_id: str, slugs: Mapping[str, str], *, channel: str = "") -> None:
        """Make ``slugs`` (per locale) the product's current ones; each earlier slug of
        it in the same locale stays as a redirect to it, and a redirect of another
        product's under one of them is taken over."""
        ...

    def record_changes(self, changes: Sequence[CatalogChange]) -> None:
        """Append changes to the catalogue's record (not stamped: nothing a cache
        holds changed)."""
        ...

    def changes(self, kind: str, key: str, *, limit: int = 100) -> list[CatalogChange]:
        """The recorded changes of one thing, oldest first."""
        ...

    def add_price_list(self, price_list: PriceList) -> None:
        """Store a price list with its prices."""
        ...

    def save_price_list(self, price_list: PriceList) -> None:
        """Store a price list's prices (replacing the stored ones)."""
        ...

    def put_prices(self, price_list_id: str, entries: Mapping[str, PriceEntry]) -> None:
        """Set many prices of a list at once (each SKU's replaced), for a bulk import.

        :raises NotFound: for an unknown price list.
        """
        ...

    def price_list_currencies(self) -> list[tuple[str, str]]:
        """Every price list's id and currency, by id (without its prices)."""
        ...

    def remove_prices(self, price_list_id: str, skus: Collection[str]) -> None:
        """Take these SKUs' prices out of a list (those it has)."""
        ...

    def price_lists(self, currency: str, skus: Collection[str]) -> list[PriceList]:
        """The lists in ``currency``, each holding only the prices of ``skus``."""
        ...

    def price_list(self, price_list_id: str) -> PriceList:
        """A whole price list.

        :raises NotFound: for an unknown id.
        """
        ...

    def add_tax_zone(self, zone: TaxZone) -> None: ...

    def tax_zones(self) -> list[TaxZone]: ...

    def add_shipping_zone(self, zone: ShippingZone) -> None:
        """Store a shipping zone.

        :raises AlreadyExists: for a taken id.
        """
        ...

    def shipping_zones(self) -> list[ShippingZone]:
        """Every shipping zone, by id."""
        ...

    def add_delivery_method(self, method: DeliveryMethod) -> None:
        """Store a delivery method.

        :raises AlreadyExists: for a taken id.
        """
        ...

    def delivery_methods(self) -> list[DeliveryMethod]:
        """Every delivery method, by id."""
        ...

    def add_promotion(self, promotion: Promotion) -> None: ...

    def promotions(self) -> list[Promotion]: ...

    def add_coupon(self, coupon: Coupon) -> None: ...

    def coupons(self, codes: Collection[str]) -> list[Coupon]:
        """The coupons with these (normalised) codes."""
        ...

    def coupon_usage(
        self, codes: Collection[str], customer: str | None
    ) -> Mapping[str, CouponUsage]:
        """How often each code was used, in all and by ``customer`` (an id or email)."""
        ...

    def record_coupon_use(self, code: str, customer: str | None, order_id: str) -> None:
        """Count one use of ``code`` by an order, race-safely.

        The coupon's limits (in all, and per ``customer``) are checked again in the
        database when the unit of work commits, under a lock on the coupon, so a
        coupon with one use left is used exactly once however many checkouts race
        for it.

        :raises CouponRejected: with reason ``limit_reached`` (at the latest on
            commit, which then writes nothing).
        """
        ...

    def release_coupon_uses(self, order_id: str) -> None:
        """Forget the uses an order made (it was cancelled)."""
        ...


class InventoryRepository(Protocol):
    """Stock locations, stock items, the movement ledger, reservations and purchase
    orders.

    Stock changes only by :class:`~commercekit.domain.inventory.StockChange` s, which
    the domain decides and storage applies race-safely: each is re-checked against the
    stock in the database as the unit of work writes (the guards of
    :meth:`StockChange.refusal`), items taken in one consistent order (by SKU, then
    location) so that two orders for the same SKUs cannot deadlock. A change that no
    longer fits raises what the domain says (:class:`InsufficientStock`) and the unit
    of work writes nothing. The ``StockLow`` events the changes set off, worked out
    from the stock as it was when each change was applied, are committed with them.
    """

    def add_location(self, location: StockLocation) -> None: ...

    def locations(self) -> list[StockLocation]:
        """Every location, in shipping preference (priority, then id)."""
        ...

    def set_rule(self, rule: StockRule) -> None:
        """Set (or replace) a variant's stock policy."""
        ...

    def rules(self, skus: Collection[str]) -> dict[str, StockRule]:
        """The stock policies of these SKUs that have one."""
        ...

    def items(self, skus: Collection[str]) -> list[StockItem]:
        """The stock items of these SKUs at every location, by SKU then location (a
        fixed number of queries, however many SKUs)."""
        ...

    def apply(self, changes: Sequence[StockChange]) -> None:
        """Apply decided changes of stock, with their ledger entries (an item that
        does not exist yet starts empty).

        :raises InsufficientStock: if a change no longer fits the stock (at the latest
            on commit; then nothing of the unit of work is written).
        """
        ...

    def movements(self, sku: str, location_id: str) -> list[StockMovement]:
        """The ledger of one stock item, oldest first."""
        ...

    def add_reservations(self, reservations: Sequence[Reservation]) -> None:
        """Store new reservations (the stock they hold is taken by their changes,
        applied with :meth:`apply`)."""
        ...

    def release(
        self, reservation_ids: Sequence[str], status: ReservationStatus, *, at: datetime
    ) -> int:
        """Close reservations that still hold stock, as released (stock returns to
        available) or consumed (the goods left: a sale in the ledger at ``at``), as
        :meth:`Reservation.close` decides. One closed already is left alone, so
        releasing twice, or two processes releasing at once, releases once.

        :returns: how many reservations this call closed.
        """
        ...

    def consume(
        self, reservation: Reservation, quantity: int, *, at: datetime, movement_id: str
    ) -> None:
        """Consume ``quantity`` units of a reservation as it was read
        (:meth:`Reservation.consume`): a sale of those units, the rest still held.

        :raises ConcurrencyConflict: if it changed since it was read (another
            shipment took from it, or it was released); the unit of work is retried.
        """
        ...

    def extend(self, reservation_ids: Sequence[str], until: datetime) -> None:
        """Move the expiry of those of these reservations still active
        (:meth:`Reservation.extend`)."""
        ...

    def allocate(self, reservation_ids: Sequence[str]) -> None:
        """Hold those of these reservations still active until they ship or are
        cancelled (:meth:`Reservation.allocate`): their order was paid."""
        ...

    def allocate_order(self, order_id: str) -> None:
        """:meth:`allocate` every reservation of an order, without reading them."""
        ...

    def extend_order(self, order_id: str, until: datetime) -> None:
        """:meth:`extend` every reservation of an order, without reading them."""
        ...

    def reservations_for_order(self, order_id: str) -> list[Reservation]: ...

    def expired_reservations(self, now: datetime, limit: int = 100) -> list[Reservation]:
        """Active reservations whose time ran out, oldest first."""
        ...

    def held_by_ended_orders(self, limit: int = 100) -> list[str]:
        """Ids of cancelled or completed orders that still hold stock: none should."""
        ...

    def add_purchase_order(self, order: PurchaseOrder) -> None: ...

    def purchase_order(self, purchase_order_id: str) -> PurchaseOrder:
        """:raises NotFound: for an unknown id."""
        ...

    def save_purchase_order(self, order: PurchaseOrder) -> None:
        """Store a changed purchase order (version-checked)."""
        ...


R = TypeVar("R", bound=Indexed)


class RecordRepository(Protocol[R]):
    """The aggregates of one :class:`~commercekit.domain.indexed.Indexed` class, each
    one record, found by id or by the keys of its ``index()``."""

    def get(self, record_id: str) -> R:
        """:raises NotFound: naming the record's kind."""
        ...

    def find(self, record_id: str) -> R | None: ...

    def add(self, record: R) -> None:
        """Stage a new record; one stored meanwhile under its id is a conflict."""
        ...

    def save(self, record: R) -> None:
        """Stage a changed record (version-checked)."""
        ...

    def where(
        self,
        *,
        ref: str | None = None,
        owner: str | None = None,
        state: str | None = None,
        due_before: datetime | None = None,
        limit: int = 100,
    ) -> list[R]:
        """The records whose keys match every key given, oldest (``index().at``)
        first; ``due_before`` takes those due before that time."""
        ...


class UnitOfWork(Protocol):
    """One atomic set of changes. Use it as a context manager; leaving it without
    :meth:`commit` rolls everything back."""

    @property
    def carts(self) -> CartRepository: ...

    @property
    def checkouts(self) -> CheckoutRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def catalog(self) -> CatalogRepository: ...

    @property
    def inventory(self) -> InventoryRepository: ...

    @property
    def shipments(self) -> ShipmentRepository: ...

    @property
    def notices(self) -> NoticeRepository: ...

    def records(self, kind: type[R]) -> RecordRepository[R]:
        """The records of an :class:`~commercekit.domain.indexed.Indexed` class."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> Sequence[DomainEvent]:
        """Write everything atomically, with the events the saved aggregates recorded
        (to the outbox, in the same transaction).

        :returns: the events committed, for publication.
        :raises ConcurrencyConflict: if another writer got there first; nothing is
            written then.
        """
        ...

    def rollback(self) -> None:
        """Discard every change."""
        ...

    def record_events(self, events: Sequence[DomainEvent]) -> None:
        """Events no saved aggregate carries (such as ``StockLow``), to be written to
        the outbox with this unit of work's changes, after theirs."""
        ...


class Storage(Protocol):
    """A place aggregates live: memory, SQLite, PostgreSQL."""

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work."""
        ...

    def undelivered_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        """Outbox events not yet marked delivered, oldest first, with their ids."""
        ...

    def mark_delivered(self, event_ids: Sequence[int], *, at: datetime) -> None:
        """Mark outbox events as delivered at ``at`` (the store clock's time)."""
        ...

    # A relay moves outbox events to a broker; whether an event was relayed is kept
    # apart from whether in-process subscribers had it (``mark_delivered``).

    def take_relay_lease(self, name: str, holder: str, *, now: datetime, until: datetime) -> bool:
        """Give the lease ``name`` to ``holder`` until ``until``, if it is free, ran out
        (expires at or before ``now``) or is ``holder``'s already (then it is renewed).
        Atomic: of relays racing for a free lease, exactly one gets it.

        :returns: whether ``holder`` holds the lease now.
        """
        ...

    def unrelayed_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        """Outbox events no relay has marked relayed, oldest (lowest id) first, with
        their ids."""
        ...

    def mark_relayed(
        self, event_ids: Sequence[int], *, name: str, holder: str, at: datetime
    ) -> bool:
        """Mark outbox events relayed at ``at``, if ``holder`` still holds the lease
        ``name`` at ``at``; checked in the transaction that marks them.

        :returns: whether they were marked; ``False`` (and nothing marked) when the
            lease ran out or went to another holder.
        """
        ...

    def release_relay_lease(self, name: str, holder: str) -> None:
        """Give up the lease ``name``, if ``holder`` holds it, so that another relay
        may take it at once."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@attrs.frozen(kw_only=True)
class PromotionType:
    """A promotion benefit or condition class, and how storage keeps it.

    Plugins offer these through the ``register_promotion_types`` hook; a storage that
    writes promotions as data is built knowing every type the store's plugins offer.
    """

    name: str
    """Stored with each value: never change it once data is stored."""
    cls: type[Any]
    encode: Callable[[Any], Mapping[str, Any]]
    """The value's fields as JSON-safe data (without ``"type"``)."""
    decode: Callable[[Mapping[str, Any]], Any]
    """The value back from what ``encode`` returned."""


class StorageFactory(Protocol):
    """Opens a storage for a URL, knowing the promotion types to store."""

    def __call__(self, url: str, *, promotion_types: Sequence[PromotionType]) -> Storage: ...
