"""What every service shares: storage, time, ids, gateways, settings, and how a unit of
work is committed and its events delivered."""

from __future__ import annotations

import enum
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final, TypeVar

import attrs

from commercekit.domain.access import Principal
from commercekit.domain.cart import DEFAULT_MAX_QUANTITY, Cart
from commercekit.domain.catalog import Catalog
from commercekit.domain.channels import Channel
from commercekit.domain.checkout import ShippingMethod
from commercekit.domain.errors import (
    ConcurrencyConflict,
    InvalidInput,
    NotFound,
    TaxUnavailable,
    UnknownCarrier,
    UnknownGateway,
)
from commercekit.domain.events import DomainEvent
from commercekit.domain.identifiers import check_key, check_keys
from commercekit.domain.inventory import AllocationStrategy, PriorityOrder
from commercekit.domain.invoicing import Seller
from commercekit.domain.money import DEFAULT_ROUNDING, Rounding, from_minor_units
from commercekit.domain.pricing import (
    PriceBreakdown,
    PricingContext,
    PricingEngine,
    TaxAddress,
    TaxRate,
    TaxRates,
    TaxSettings,
    TaxTable,
)
from commercekit.domain.returns import ReturnPolicy
from commercekit.ports.carriers import Carrier
from commercekit.ports.clock import Clock, IdGenerator
from commercekit.ports.payments import PaymentGateway
from commercekit.ports.storage import (
    Storage,
    UnitOfWork,
)
from commercekit.ports.tax import TaxProvider
from commercekit.services.experiment_pricing import price_in_arm
from commercekit.services.snapshot import CatalogCache, CatalogSnapshot

__all__ = [
    "Runtime",
    "Service",
    "Settings",
    "check_sellable",
    "find_cart",
    "load_pricing",
    "price_cart",
    "pricing_context",
]

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)
_BATCH: Final = 100


@attrs.frozen(kw_only=True)
class Settings:
    """A store's rules, as the services see them (built from the store's config)."""

    tax: TaxSettings = attrs.field(factory=TaxSettings)
    channels: Mapping[str, Channel] = attrs.field(factory=dict)
    """The sales channels, by id; none configured sells without one."""
    default_channel: str | None = None
    rounding: Rounding = DEFAULT_ROUNDING
    capture_immediately: bool = False
    """Capture at order time (a sale) rather than authorize and capture later."""
    shipping_methods: tuple[ShippingMethod, ...] = ()
    max_quantity_per_line: int = DEFAULT_MAX_QUANTITY
    pending_payment_timeout_seconds: int = 900
    """After this, an order still waiting for its payment's outcome is settled by
    :meth:`~commercekit.services.recovery.RecoveryService.sweep`."""
    reservation_hold_seconds: int = 900
    """How long stock is held for an order awaiting payment."""
    action_timeout_seconds: int = 900
    """How long a customer has to complete a payment that requires action (the
    gateway's session for it); its order's stock and coupon uses are held as long,
    and no longer."""
    request_lease_seconds: int = 120
    """How long one caller holds a gateway call that others asked for too (under the
    same key): a caller that stopped midway holds it no longer."""
    request_wait_seconds: float = 10.0
    """How long the others wait for its outcome before they are told
    :class:`~commercekit.domain.errors.RequestInProgress`."""
    idempotency_retention_seconds: int = 86_400
    """How long an order's idempotency key answers with that order; after this, the
    key is free for a new order."""
    max_unpaid_orders: int | None = None
    """How many orders one customer (or one email) may have awaiting payment at once;
    ``None`` for no cap."""
    email_subaddressing: bool = True
    """Whether ``zoe+news@example.com`` is ``zoe@example.com`` when a coupon's limit per
    customer is counted (a guest is known by email)."""
    allocation: AllocationStrategy = PriorityOrder
    """Decides where an order's stock ships from."""
    retries: int = 5
    """How often a unit of work that lost a race is tried again."""
    returns: ReturnPolicy = attrs.field(factory=ReturnPolicy)
    """What the store takes back, and on what terms."""
    placement_retries: int = 40
    """Placing an order retries more: each lost race for stock means another order
    took some, so it ends when the stock is gone, well before this bound."""
    seller: Seller | None = None
    """Who issues the store's invoices and credit notes, and how they are numbered;
    ``None``: the documents name no seller, and none is issued automatically."""
    gift_card_skus: frozenset[str] = frozenset()
    """The SKUs that sell a gift card: each unit paid for issues one, worth what was
    paid for that unit (see :mod:`commercekit.services.gift_card_sales`)."""
    gift_card_expiry_days: int | None = None
    """How long a gift card sold lasts, from its issue; ``None``: it never expires."""
    watch_carts: bool = False
    """Watch carts shoppers can be written to for abandonment (a store with a notifier
    and abandoned-cart reminders on)."""

    def channel(self, channel_id: str | None) -> Channel | None:
        """The channel a cart opens in: the one named, else the default (``None``
        when the store has no channels).

        :raises NotFound: naming ``channel``, for one that is not configured.
        """
        chosen = channel_id if channel_id is not None else self.default_channel
        if chosen is None:
            return None
        check_key(chosen, "channel")
        found = self.channels.get(chosen)
        if found is None:
            raise NotFound("sales channel", chosen, field="channel")
        return found

    def tax_for(self, channel_id: str | None) -> TaxSettings:
        """How tax is charged in a channel: its own way, or the store's."""
        channel = self.channels.get(channel_id) if channel_id is not None else None
        return self.tax if channel is None or channel.tax is None else channel.tax


@attrs.define(kw_only=True)
class Runtime:
    """The wired parts a store hands its services."""

    storage: Storage
    clock: Clock
    ids: IdGenerator
    gateways: Mapping[str, PaymentGateway]
    carriers: Mapping[str, Carrier] = attrs.field(factory=dict)
    tax_provider: TaxProvider | None = None
    """Where pricing learns the rates to charge; ``None``: the store's own zones."""
    settings: Settings
    subscribers: Callable[[Sequence[DomainEvent]], None]
    has_subscribers: Callable[[], bool] = lambda: True
    """Whether anyone listens in-process; when nobody does, committed events stay
    in the outbox for a relay (or a later :meth:`deliver_events`)."""
    coupon_attempts: Callable[[Principal, str], None] | None = None
    """Told of each coupon code a shopper tries, before it is tried; raising refuses
    it (an application's rate limit)."""
    promotion_types: frozenset[type] | None = None
    """The promotion benefit and condition classes the store's plugins offer (and
    storage can keep); ``None`` takes any."""
    catalog: CatalogCache = attrs.field(factory=CatalogCache)
    """The catalogue-wide data, read once per catalogue stamp."""
    _delivering: threading.Lock = attrs.field(factory=threading.Lock)
    _deliverer: int | None = attrs.field(default=None, init=False)
    """The thread delivering now, if any."""
    _again: bool = attrs.field(default=False, init=False)

    def deliver_events(self) -> int:
        """Hand committed, undelivered outbox events to subscribers, oldest first.

        Delivery is at least once: a crash after handing events over and before
        marking them leaves them to be handed over again. A subscriber may commit a
        unit of work of its own (a gift card sold when an order is paid): the events
        that commits are delivered by the delivery under way, once it has marked the
        batch it is in, rather than by a delivery nested in it.

        :returns: how many events were delivered.
        """
        if self._deliverer == threading.get_ident():
            self._again = True
            return 0
        delivered = 0
        with self._delivering:
            self._deliverer = threading.get_ident()
            try:
                while True:
                    self._again = False
                    batch = self.storage.undelivered_events(_BATCH)
                    if batch:
                        self.subscribers([event for _, event in batch])
                        self.storage.mark_delivered(
                            [event_id for event_id, _ in batch], at=self.clock.now()
                        )
                        delivered += len(batch)
                    if len(batch) < _BATCH and not self._again:
                        return delivered
            finally:
                self._deliverer = None

    def carrier(self, name: object) -> Carrier:
        """The configured carrier called ``name``.

        :raises UnknownCarrier: naming ``carrier`` if the store has none such.
        """
        carrier = self.carriers.get(check_key(name, "carrier"))
        if carrier is None:
            raise UnknownCarrier(str(name), self.carriers)
        return carrier

    def gateway(self, name: str) -> PaymentGateway:
        """The configured gateway called ``name``.

        :raises UnknownGateway: naming ``payment_method`` if the store has none such.
        """
        gateway = self.gateways.get(check_key(name, "gateway"))
        if gateway is None:
            raise UnknownGateway(name, self.gateways)
        return gateway


def check_page_size(limit: object, *, most: int = 500, field: str = "limit") -> int:
    """``limit`` if it is how many rows a page may hold: a whole number from 1 to
    ``most``.

    :param field: the argument's name, for the error.
    :raises InvalidInput: naming ``field``.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most:
        raise InvalidInput(f"must be a whole number from 1 to {most}", field=field)
    return limit


#: The most products one batch read takes: a listing page's worth.
MAX_PRODUCTS_AT_ONCE: Final = 100


def check_product_ids(value: object, field: str = "product_ids") -> list[str]:
    """``value`` as the ids of a batch read: 0 to :data:`MAX_PRODUCTS_AT_ONCE`
    product ids, each once, in the order given.

    :raises InvalidInput: naming ``field``.
    """
    ids = check_keys(value, field)
    if len(ids) > MAX_PRODUCTS_AT_ONCE or len(set(ids)) != len(ids):
        raise InvalidInput(
            f"must be at most {MAX_PRODUCTS_AT_ONCE} product ids, each once", field=field
        )
    return ids


def check_choice(value: object, kind: type[E], field: str) -> E:
    """``value`` as a member of the enum ``kind``: the member itself, or its value as
    text (as a form sends it).

    :raises InvalidInput: naming ``field``, listing the choices.
    """
    if isinstance(value, kind):
        return value
    if isinstance(value, str):
        for member in kind:
            if member.value == value:
                return member
    choices = ", ".join(str(member.value) for member in kind)
    raise InvalidInput(f"must be one of {choices}", field=field)


def _back_off(attempt: int) -> None:
    """After a second lost race in a row, wait a moment of random length before the
    next try: writers that keep colliding on one row (refunds of one order at once)
    then stop colliding in step. Never more than a few milliseconds."""
    if attempt:
        time.sleep(random.uniform(0, min(0.001 * 2**attempt, 0.02)))


class Service:
    """Base of the services: a unit of work, its commit, its bounded retries and the
    delivery of its events are owned here, once; a use case only says what to do in
    a unit of work."""

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    @property
    def now(self) -> datetime:
        """The store's clock."""
        return self._rt.clock.now()

    def _run(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        attempts: int | None = None,
        lost_races: tuple[type[Exception], ...] = (),
    ) -> T:
        """Run ``work`` in a unit of work and commit it, then deliver its events. A
        unit of work that lost a race runs again from the start, a bounded number of
        times; if ``work`` raises, nothing of it is written.

        :param lost_races: errors that, raised by the commit, also mean another writer
            got there first (stock planned from a snapshot that another order took):
            retried like a conflict, and raised as they are when every try lost.
        :raises ConcurrencyConflict: when it lost every time.
        """
        attempts = attempts or self._rt.settings.retries
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                with self._rt.storage.unit_of_work() as uow:
                    result = work(uow)
                    try:
                        committed = uow.commit()
                    except lost_races:
                        if last:
                            raise
                        continue
            except ConcurrencyConflict:
                if last:
                    raise
                _back_off(attempt)
                continue
            if committed and self._rt.has_subscribers():
                self._rt.deliver_events()
            return result
        raise AssertionError("unreachable")

    def _read(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in a unit of work that writes nothing."""
        with self._rt.storage.unit_of_work() as uow:
            return work(uow)


def _catalog_for(uow: UnitOfWork, snapshot: CatalogSnapshot, skus: Sequence[str]) -> Catalog:
    """The categories and the products of ``skus``: what pricing needs to know."""
    return snapshot.catalog(uow, skus)


def _groups(uow: UnitOfWork, customer_id: str | None) -> tuple[str, ...]:
    """The groups of a signed-in customer the store has a record of."""
    if customer_id is None:
        return ()
    customer = uow.customers.find(customer_id)
    return () if customer is None else customer.groups


def pricing_context(
    uow: UnitOfWork,
    cart: Cart,
    *,
    now: datetime,
    address: TaxAddress | None = None,
    shipping_units: int | None = None,
    customer: str | None = None,
    codes: Sequence[str] = (),
) -> PricingContext:
    """Who buys the cart and where: its channel, its customer's groups (from their
    record), the address tax is reckoned at, shipping, and coupon uses so far by
    ``customer`` (an id or an email)."""
    return PricingContext(
        now=now,
        channel=cart.channel,
        customer_id=customer,
        customer_groups=_groups(uow, cart.customer_id),
        address=address,
        shipping=None
        if shipping_units is None
        else from_minor_units(shipping_units, cart.currency),
        coupon_usage=uow.catalog.coupon_usage(codes, customer) if codes else {},
    )


def load_pricing(
    uow: UnitOfWork,
    cart: Cart,
    runtime: Runtime,
    *,
    now: datetime,
    address: TaxAddress | None = None,
    shipping_units: int | None = None,
    customer: str | None = None,
    extra_codes: Sequence[str] = (),
    snapshot: CatalogSnapshot | None = None,
) -> tuple[PricingEngine, PricingContext]:
    """A pricing engine holding just what ``cart`` needs, taxing as the cart's
    channel does, and the context to price it in: the catalogue-wide data from the
    store's snapshot, and the cart's products, prices and coupons from storage, in a
    fixed number of queries however many lines the cart has."""
    skus = [sku for sku, _ in cart.items()]
    codes = list(dict.fromkeys([*cart.coupon_codes, *extra_codes]))
    settings = runtime.settings
    snapshot = snapshot or runtime.catalog.get(uow)
    engine = PricingEngine(
        catalog=_catalog_for(uow, snapshot, skus),
        prices=snapshot.price_book(uow, cart.currency, skus),
        taxes=store_taxes(runtime, snapshot),
        tax_settings=settings.tax_for(cart.channel),
        promotions=snapshot.promotion_engine(uow.catalog.coupons(codes) if codes else ()),
        rounding=settings.rounding,
    )
    # A cart enrolled in an experiment is priced as its arm prices, wherever it is.
    engine = price_in_arm(uow, cart, engine, codes)
    context = pricing_context(
        uow,
        cart,
        now=now,
        address=address,
        shipping_units=shipping_units,
        customer=customer,
        codes=codes,
    )
    return engine, context


def tax_provider_name(runtime: Runtime) -> str:
    """The name of the provider that taxes orders (``zones`` for the store's own)."""
    provider = runtime.tax_provider
    return "zones" if provider is None else provider.name


def store_taxes(runtime: Runtime, snapshot: CatalogSnapshot) -> TaxRates:
    """The rates to price with: the store's zones, or its provider's answer, any
    failure of which is a :class:`~commercekit.domain.errors.TaxUnavailable`."""
    zones = snapshot.tax_table()
    provider = runtime.tax_provider
    if provider is None:
        return zones
    return _Guarded(provider, zones)


@attrs.frozen
class _Guarded:
    """A provider's rates, its failures told as ``TaxUnavailable`` naming it."""

    provider: TaxProvider
    zones: TaxTable

    def rates_by_category(self, address: TaxAddress | None) -> Callable[[str], tuple[TaxRate, ...]]:
        name = self.provider.name
        try:
            lookup = self.provider.rates(self.zones).rates_by_category(address)
        except TaxUnavailable:
            raise
        except Exception as error:  # an outside service's own failure
            raise TaxUnavailable(name, repr(error)) from error

        def rates(category: str) -> tuple[TaxRate, ...]:
            try:
                found = tuple(lookup(category))
            except TaxUnavailable:
                raise
            except Exception as error:
                raise TaxUnavailable(name, repr(error)) from error
            if not all(isinstance(rate, TaxRate) for rate in found):
                raise TaxUnavailable(name, "its answer holds something other than TaxRates")
            return found

        return rates


def check_sellable(
    uow: UnitOfWork, runtime: Runtime, cart: Cart, sku: str, quantity: int, *, now: datetime
) -> None:
    """Whether the cart may hold ``quantity`` of ``sku``: pricing's own rule, on just
    the product and prices of that SKU.

    :raises UnknownSku, Unavailable, MissingPrice, InvalidQuantity: as pricing would.
    """
    snapshot = runtime.catalog.get(uow)
    engine = PricingEngine(
        catalog=_catalog_for(uow, snapshot, [sku]),
        prices=snapshot.price_book(uow, cart.currency, [sku]),
    )
    engine.check_sellable(sku, quantity, cart.currency, pricing_context(uow, cart, now=now))


def price_cart(
    uow: UnitOfWork,
    cart: Cart,
    runtime: Runtime,
    *,
    now: datetime,
    address: TaxAddress | None = None,
    shipping_units: int | None = None,
    customer: str | None = None,
) -> PriceBreakdown:
    """Price ``cart`` on the server from stored prices, taxes and promotions."""
    engine, context = load_pricing(
        uow,
        cart,
        runtime,
        now=now,
        address=address,
        shipping_units=shipping_units,
        customer=customer,
    )
    return engine.price(cart, context)


def find_cart(uow: UnitOfWork, token: str) -> Cart:
    """The cart this token opens.

    :raises NotFound: for an unknown, empty or missing token (never saying which).
    :raises InvalidInput: for a token that cannot be one (not text, too long, a NUL).
    """
    cart = (
        uow.carts.find_by_token(token) if token is not None and check_key(token, "token") else None
    )
    if cart is None:
        raise NotFound("cart", "for this token", field="token")
    return cart
