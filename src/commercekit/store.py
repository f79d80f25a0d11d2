"""The Store: the one object an application holds. It reads the configuration, opens
storage, loads the plugins, builds the configured gateways, and wires the services.

>>> store = Store.open("memory://")
>>> cart = store.carts.create("EUR")

A store takes no payment until its configuration names a gateway:

>>> store = Store.open(
...     "memory://",
...     config={
...         "gateways": {
...             "test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_local"}}
...         }
...     },
... )

``sqlite:///shop.db`` is the embedded default (migrated on open);
``postgresql+psycopg://...`` is how a store grows past one machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from types import TracebackType
from typing import Annotated, Any, Literal, Self

import attrs
from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from commercekit.adapters.clock import RandomIds, SystemClock
from commercekit.adapters.notifications.templates import JinjaTemplates
from commercekit.adapters.storage.urls import shown_url
from commercekit.domain.access import Permission, Principal, Shopper, Staff
from commercekit.domain.channels import Channel
from commercekit.domain.checkout import ShippingMethod
from commercekit.domain.errors import InvalidInput
from commercekit.domain.events import DomainEvent
from commercekit.domain.invoicing import Seller
from commercekit.domain.money import Money, Rounding, minor_units
from commercekit.domain.pricing import TaxAddress, TaxRounding, TaxSettings
from commercekit.domain.returns import ReturnPolicy, ReturnReason, ReturnShippingPaidBy
from commercekit.domain.support import CasePriority
from commercekit.plugins import Plugins
from commercekit.ports.carriers import Carrier
from commercekit.ports.clock import Clock, IdGenerator
from commercekit.ports.payments import PaymentGateway
from commercekit.ports.storage import Storage
from commercekit.services.access import POLICY, View
from commercekit.services.base import Runtime, Settings
from commercekit.services.carts import CartService
from commercekit.services.catalog import CatalogService
from commercekit.services.catalog_io import CatalogTransfer
from commercekit.services.checkout import CheckoutService
from commercekit.services.credit import CreditService
from commercekit.services.customers import CustomerService
from commercekit.services.edits import OrderEditService
from commercekit.services.fulfilment import FulfilmentService
from commercekit.services.gift_card_sales import GiftCardSaleService
from commercekit.services.inventory import InventoryService
from commercekit.services.invoicing import InvoicingService
from commercekit.services.notifications import NotificationService
from commercekit.services.orders import OrderService
from commercekit.services.payments import PaymentService
from commercekit.services.recovery import RecoveryService
from commercekit.services.refunds import RefundService
from commercekit.services.returns import ReturnService
from commercekit.services.schemas import parse
from commercekit.services.search import SearchService
from commercekit.services.support import SupportService

__all__ = [
    "ChannelConfig",
    "GatewayConfig",
    "NotifierConfig",
    "SellerConfig",
    "ShippingMethodConfig",
    "Store",
    "StoreConfig",
]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewayConfig(_Config):
    """A gateway the store uses: which plugin provides it, its options, and its
    secrets (API keys, webhook signing secrets).

    Secrets are kept as :class:`pydantic.SecretStr`, so that no ``repr``, ``str`` or
    log line of the configuration shows them; the plugin's factory receives them
    revealed, together with the options (see :meth:`factory_options`).
    """

    plugin: str = Field(min_length=1, max_length=64)
    options: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr | list[SecretStr]] = Field(default_factory=dict)
    """One secret per name, or a list (the previous webhook secrets while they are
    rotated out, say)."""

    @model_validator(mode="after")
    def _apart(self) -> GatewayConfig:
        both = sorted(set(self.options) & set(self.secrets))
        if both:
            raise ValueError(f"{both[0]!r} is given both as an option and as a secret")
        return self

    def factory_options(self) -> dict[str, Any]:
        """What the plugin's factory receives: the options and the revealed secrets,
        in one mapping, as a plugin has always read them."""
        revealed = {name: _reveal(secret) for name, secret in self.secrets.items()}
        return {**self.options, **revealed}


def _reveal(secret: SecretStr | list[SecretStr]) -> str | list[str]:
    if isinstance(secret, list):
        return [each.get_secret_value() for each in secret]
    return secret.get_secret_value()


class NotifierConfig(GatewayConfig):
    """How a store's messages reach customers: a notifier plugin (``file`` by default,
    a folder of ``.eml`` files; ``console``; ``smtp``), its options and secrets."""

    plugin: str = Field(default="file", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _outbox(self) -> NotifierConfig:
        # The file notifier writes to ./outbox unless told otherwise.
        if self.plugin == "file" and "directory" not in self.options:
            self.options["directory"] = "outbox"
        return self


class ShippingMethodConfig(_Config):
    """A flat-rate shipping method: a price per currency, as decimal strings."""

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    prices: dict[str, Decimal]


_Rounding = Literal["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"]
_TaxRounding = Literal["per_line", "per_total"]


class ChannelConfig(_Config):
    """A sales channel: its currencies (the first is the default), its locale, and
    how it charges tax where that differs from the store's."""

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    currencies: list[str] = Field(min_length=1, max_length=50)
    locale: str = Field(default="en", min_length=2, max_length=32)
    prices_include_tax: bool | None = None
    """``None`` charges as the store does."""
    tax_rounding: _TaxRounding | None = None
    tax_origin_country: str | None = None

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        try:
            Locale.parse(value)
        except (ValueError, UnknownLocaleError) as error:
            raise ValueError(f"{value!r} is not a locale CLDR knows") from error
        return value


class ReturnsConfig(_Config):
    """The return policy (see :class:`~commercekit.domain.returns.ReturnPolicy`)."""

    window_days: int = Field(default=30, ge=0, le=3650)
    """Days from delivery within which a return may be asked for."""
    non_returnable_products: list[str] = Field(default_factory=list, max_length=10_000)
    non_returnable_categories: list[str] = Field(default_factory=list, max_length=10_000)
    restocking_fee_percent: Decimal | None = Field(default=None, ge=0, le=100)
    restocking_fee: dict[str, Decimal] = Field(default_factory=dict)
    """A fixed fee per return, by currency (``{"EUR": "2.50"}``)."""
    return_shipping_paid_by: Literal["customer", "store"] = "customer"
    fee_waived_for: list[ReturnReason] = Field(
        default_factory=lambda: [
            ReturnReason.DAMAGED,
            ReturnReason.WRONG_ITEM,
            ReturnReason.LOST_IN_TRANSIT,
        ]
    )
    """Reasons that are the store's fault: no fee, and the store pays the label."""

    def policy(self) -> ReturnPolicy:
        """The policy the services apply."""
        return ReturnPolicy(
            window_days=self.window_days,
            non_returnable_products=frozenset(self.non_returnable_products),
            non_returnable_categories=frozenset(self.non_returnable_categories),
            restocking_fee_percent=self.restocking_fee_percent,
            restocking_fees={
                currency: minor_units(Money(amount, currency), field="restocking_fee")
                for currency, amount in self.restocking_fee.items()
            },
            return_shipping_paid_by=ReturnShippingPaidBy(self.return_shipping_paid_by),
            fee_waived_for=frozenset(self.fee_waived_for),
        )


_AddressLine = Annotated[str, Field(min_length=1, max_length=200)]
_Sku = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]
_Prefix = Annotated[str, Field(max_length=20, pattern=r"^[A-Za-z0-9_./-]*$")]


class SellerConfig(_Config):
    """Who issues the store's invoices and credit notes, and how they are numbered:
    ``<prefix>-<CHANNEL>-<number>``, the number padded with zeros to ``number_digits``
    (``INV-WEB-000042``; without a channel ``INV-000042``)."""

    name: str = Field(min_length=1, max_length=200)
    address: list[_AddressLine] = Field(default_factory=list, max_length=8)
    """The postal address, a line each."""
    tax_id: str = Field(default="", max_length=64)
    """The seller's VAT or other tax registration number."""
    invoice_prefix: _Prefix = "INV"
    credit_note_prefix: _Prefix = "CN"
    number_digits: int = Field(default=6, ge=1, le=15)
    automatic: bool = True
    """Issue an order's invoice once its payment is captured, and a refund's credit
    note once it is done; ``False`` leaves both to ``store.invoicing`` calls."""

    def seller(self) -> Seller:
        """The seller the services name on documents."""
        return Seller(
            name=self.name,
            address=tuple(self.address),
            tax_id=self.tax_id,
            invoice_prefix=self.invoice_prefix,
            credit_note_prefix=self.credit_note_prefix,
            number_digits=self.number_digits,
            automatic=self.automatic,
        )


class StoreConfig(_Config):
    """How a store runs. Unknown keys are refused, so a typo cannot pass unnoticed.

    Its ``repr`` and ``str`` never show a secret: the URL's password is masked and
    gateway secrets are :class:`pydantic.SecretStr`.
    """

    url: str = Field(default="sqlite:///commercekit.db", repr=False)
    """May hold the database's password; shown masked."""
    gateways: dict[str, GatewayConfig] = Field(default_factory=dict)
    """None by default: a store takes no payment until one is named here."""
    capture: Literal["manual", "immediate"] = "manual"
    """``manual``: authorize at order time, capture later; ``immediate``: a sale."""
    prices_include_tax: bool = False
    tax_rounding: _TaxRounding = "per_line"
    rounding: _Rounding = "half_up"
    shipping_tax_category: str | None = None
    tax_origin_country: str | None = None
    """Where tax is reckoned before the customer gives an address."""
    shipping_methods: list[ShippingMethodConfig] = Field(default_factory=list)
    carriers: dict[str, GatewayConfig] = Field(default_factory=dict)
    """Parcel carriers by the name the store gives them, each a plugin with options
    and secrets; ``manual`` (the merchant types the tracking number) is always there."""
    notifier: NotifierConfig | None = None
    """None by default: a store sends no message until one is configured."""
    tax_provider: GatewayConfig | None = None
    """Where pricing learns the rates to charge (``{"plugin": "zones"}``, the store's
    own tax zones, when not given); a plugin may offer an outside tax service."""
    search: GatewayConfig | None = None
    """A catalogue search backend (``{"plugin": "sql"}``: SQLite FTS5 or PostgreSQL
    full text in the store's own database; ``memory``); none by default."""
    notification_templates: str | None = Field(default=None, max_length=4096)
    """A folder whose templates replace the built-in ones, file by file."""
    store_name: str = Field(default="", max_length=200)
    """How messages to customers sign."""
    seller: SellerConfig | None = None
    """Who issues invoices and credit notes; with it, they are issued automatically
    (see ``docs/invoices.md``)."""
    max_quantity_per_line: int = Field(default=999, ge=1, le=1_000_000)
    pending_payment_timeout_seconds: int = Field(default=900, ge=1, le=86_400)
    action_timeout_seconds: int = Field(default=900, ge=1, le=86_400)
    """How long a customer has to complete a payment that requires action; their
    order's stock and coupon uses are held as long."""
    reservation_hold_seconds: int = Field(default=900, ge=1, le=30 * 86_400)
    """How long stock is held for an order awaiting payment."""
    request_lease_seconds: int = Field(default=120, ge=1, le=3_600)
    """How long one caller holds a gateway call that others asked for too."""
    request_wait_seconds: float = Field(default=10.0, ge=0, le=60)
    """How long the others wait for its outcome before :class:`RequestInProgress`."""
    idempotency_retention_seconds: int = Field(default=86_400, ge=60, le=90 * 86_400)
    """How long an order's idempotency key answers with that order."""
    allocation_strategy: str = "priority"
    """A strategy a plugin offers: ``priority`` or ``fewest_locations`` built in."""
    entry_point_plugins: bool = True
    """Load third-party plugins from the ``commercekit`` entry point group."""
    channels: list[ChannelConfig] = Field(default_factory=list)
    default_channel: str | None = None
    """The channel a cart opens in when none is named; with channels configured and
    none named here, the first."""
    max_unpaid_orders: int | None = Field(default=None, ge=1, le=1000)
    """How many orders one customer (or one email) may have awaiting payment at once;
    none for no cap."""
    returns: ReturnsConfig = Field(default_factory=ReturnsConfig)
    """What the store takes back, and on what terms."""
    email_subaddressing: bool = True
    """Read ``zoe+news@example.com`` as ``zoe@example.com`` when a coupon's limit per
    customer is counted for a guest."""
    support_response_hours: dict[Literal["low", "normal", "high", "urgent"], int] = Field(
        default_factory=dict
    )
    """How many hours after a customer's message a support reply is owed, by the
    case's priority (``{"urgent": 2}``); those not given keep their defaults: urgent
    1, high 4, normal 24, low 72."""
    gift_card_skus: list[_Sku] = Field(default_factory=list, max_length=1000)
    """The SKUs (digital variants that keep no stock) that sell a gift card: each
    unit paid for issues one worth what was paid for it, its code sent to the buyer
    by the notifier (see ``docs/store-credit-and-gift-cards.md``)."""
    gift_card_expiry_days: int | None = Field(default=None, ge=1, le=36_500)
    """How long a gift card sold lasts from its issue; none: it never expires."""

    @field_validator("support_response_hours")
    @classmethod
    def _response_hours(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 1 <= hours <= 8760 for hours in value.values()):
            raise ValueError("each target is a whole number of hours from 1 to 8760")
        return value

    def response_targets(self) -> dict[CasePriority, timedelta]:
        """When a support reply is owed, by priority, where the configuration says."""
        return {
            CasePriority(name): timedelta(hours=hours)
            for name, hours in self.support_response_hours.items()
        }

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield "url", shown_url(self.url)
        yield from super().__repr_args__()

    @model_validator(mode="after")
    def _channels(self) -> StoreConfig:
        ids = [channel.id for channel in self.channels]
        if len(set(ids)) != len(ids):
            raise ValueError("channels: two channels share an id")
        if self.default_channel is not None and self.default_channel not in ids:
            raise ValueError(f"default_channel: no channel {self.default_channel!r} is configured")
        return self

    def _tax(
        self,
        prices_include_tax: bool | None = None,
        rounding: _TaxRounding | None = None,
        origin: str | None = None,
    ) -> TaxSettings:
        origin = origin or self.tax_origin_country
        return TaxSettings(
            prices_include_tax=self.prices_include_tax
            if prices_include_tax is None
            else prices_include_tax,
            rounding=TaxRounding(rounding or self.tax_rounding),
            rounding_mode=Rounding[self.rounding.upper()],
            shipping_tax_category=self.shipping_tax_category,
            default_address=None if origin is None else TaxAddress(country=origin),
        )

    def settings(self) -> Settings:
        """The rules the services apply."""
        channels = {
            c.id: Channel(
                id=c.id,
                name=c.name or c.id,
                currencies=tuple(c.currencies),
                locale=c.locale,
                tax=self._tax(c.prices_include_tax, c.tax_rounding, c.tax_origin_country),
            )
            for c in self.channels
        }
        default = self.default_channel or (self.channels[0].id if self.channels else None)
        return Settings(
            tax=self._tax(),
            channels=channels,
            default_channel=default,
            rounding=Rounding[self.rounding.upper()],
            capture_immediately=self.capture == "immediate",
            shipping_methods=tuple(
                ShippingMethod(
                    id=method.id,
                    name=method.name,
                    prices=[Money(amount, currency) for currency, amount in method.prices.items()],
                )
                for method in self.shipping_methods
            ),
            max_quantity_per_line=self.max_quantity_per_line,
            pending_payment_timeout_seconds=self.pending_payment_timeout_seconds,
            action_timeout_seconds=self.action_timeout_seconds,
            reservation_hold_seconds=self.reservation_hold_seconds,
            request_lease_seconds=self.request_lease_seconds,
            request_wait_seconds=self.request_wait_seconds,
            idempotency_retention_seconds=self.idempotency_retention_seconds,
            max_unpaid_orders=self.max_unpaid_orders,
            email_subaddressing=self.email_subaddressing,
            seller=None if self.seller is None else self.seller.seller(),
            returns=self.returns.policy(),
            gift_card_skus=frozenset(self.gift_card_skus),
            gift_card_expiry_days=self.gift_card_expiry_days,
        )


class Store:
    """A store: configuration, storage, plugins and services, wired once."""

    def __init__(
        self,
        storage: Storage,
        config: StoreConfig,
        *,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        plugins: Plugins | None = None,
    ) -> None:
        self.config = config
        self.storage = storage
        self.plugins = plugins or Plugins(entry_point_plugins=config.entry_point_plugins)
        self.gateways: dict[str, PaymentGateway] = {
            name: self.plugins.make_gateway(name, gateway.plugin, gateway.factory_options())
            for name, gateway in config.gateways.items()
        }
        carriers = {"manual": GatewayConfig(plugin="manual"), **config.carriers}
        self.carriers: dict[str, Carrier] = {
            name: self.plugins.make_carrier(name, carrier.plugin, carrier.factory_options())
            for name, carrier in carriers.items()
        }
        notifier = None
        if config.notifier is not None:
            notifier = self.plugins.make_notifier(
                config.notifier.plugin, config.notifier.factory_options()
            )
        tax_provider = None
        if config.tax_provider is not None:
            tax_provider = self.plugins.make_tax_provider(
                config.tax_provider.plugin, config.tax_provider.factory_options()
            )
        search = None
        if config.search is not None:
            search = self.plugins.make_search_backend(
                config.search.plugin, storage, config.search.factory_options()
            )
        self.runtime = Runtime(
            storage=storage,
            clock=clock or SystemClock(),
            ids=ids or RandomIds(),
            gateways=self.gateways,
            carriers=self.carriers,
            tax_provider=tax_provider,
            settings=attrs.evolve(
                config.settings(),
                allocation=self.plugins.allocation_strategy(config.allocation_strategy),
            ),
            subscribers=self._publish,
            has_subscribers=lambda: (
                notifier is not None
                or search is not None
                or self.invoicing.automatic
                or self.gift_card_sales.active
                or self.plugins.has_subscribers()
            ),
            promotion_types=frozenset(kind.cls for kind in self.plugins.promotion_types()),
            coupon_attempts=self.plugins.coupon_attempt,
        )
        self.catalog = CatalogService(self.runtime)
        self.carts = CartService(self.runtime)
        self.payments = PaymentService(self.runtime)
        self.checkout = CheckoutService(self.runtime, self.payments)
        self.credit = CreditService(self.runtime)
        templates = JinjaTemplates(config.notification_templates, store_name=config.store_name)
        self.fulfilment = FulfilmentService(self.runtime, templates)
        self.refunds = RefundService(self.runtime, self.payments)
        edits = OrderEditService(self.runtime, self.payments, self.refunds)
        self.orders = OrderService(self.runtime, self.payments, self.fulfilment, edits)
        self.inventory = InventoryService(self.runtime, self.payments, self.fulfilment)
        self.customers = CustomerService(self.runtime)
        self.recovery = RecoveryService(self.runtime, self.payments, self.orders)
        self.returns = ReturnService(self.runtime, self.refunds, self.fulfilment)
        self.transfer = CatalogTransfer(self.runtime)
        self.search = SearchService(self.runtime, search)
        self.notifications = NotificationService(self.runtime, templates, notifier)
        self.invoicing = InvoicingService(self.runtime, templates)
        self.gift_card_sales = GiftCardSaleService(self.runtime, templates, self.notifications)
        self.support = SupportService(
            self.runtime,
            self.notifications,
            refunds=self.refunds,
            returns=self.returns,
            edits=edits,
            targets=config.response_targets(),
        )

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        config: StoreConfig | Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        ids: IdGenerator | None = None,
        plugins: Sequence[object] = (),
    ) -> Store:
        """Open a store.

        :param url: storage URL; overrides ``config.url``.
        :param config: a :class:`StoreConfig` or the same as a mapping.
        :param plugins: plugin objects to register besides the built-in and
            entry-point ones (subscribers, gateways).
        :raises InvalidInput: for a bad configuration, naming the field.
        :raises PluginError: for a plugin that fails to load.
        :raises UnknownGateway: for a configured gateway no plugin provides.
        :raises StorageUnavailable: for a database that cannot be reached or opened.
        """
        checked = parse(StoreConfig, config or {})
        if url is not None:
            checked = checked.model_copy(update={"url": url})
        manager = Plugins(entry_point_plugins=checked.entry_point_plugins, extra=plugins)
        storage = manager.open_storage(checked.url)
        try:
            return cls(storage, checked, clock=clock, ids=ids, plugins=manager)
        except BaseException:
            storage.close()
            raise

    # --- who is acting ----------------------------------------------------------------

    def acting_as(self, principal: Principal) -> View:
        """The store as ``principal`` reaches it: the same services, each call checked
        at the door first (see :mod:`commercekit.services.access`). The store's own
        attributes act as :data:`~commercekit.domain.access.SYSTEM`, for the
        application's jobs; hand code that serves a shopper or staff a view.

        :raises AccessDenied: from a view's call its principal may not make.
        """
        if not isinstance(principal, Shopper | Staff):
            raise InvalidInput(
                f"expected a Shopper or Staff, got {type(principal).__name__}", field="principal"
            )
        services = {name: getattr(self, name) for name in POLICY}
        return View(principal, self.runtime, services)

    def as_shopper(self, customer_id: str | None = None) -> View:
        """The store as a shopper reaches it: a guest, or signed in as the
        application's customer ``customer_id`` (the application vouches for it)."""
        return self.acting_as(Shopper(customer_id))

    def as_staff(self, staff_id: str, permissions: Iterable[Permission | str]) -> View:
        """The store as a member of staff with ``permissions`` reaches it; what they
        change is recorded as theirs (``staff:<id>``)."""
        return self.acting_as(Staff(staff_id, permissions))

    def _publish(self, events: Sequence[DomainEvent]) -> None:
        self.plugins.publish(events)
        self.search.on_events(events)
        self.notifications.on_events(events)
        self.invoicing.on_events(events)
        self.gift_card_sales.on_events(events)

    def deliver_events(self) -> int:
        """Deliver outbox events left undelivered (after a crash, say)."""
        return self.runtime.deliver_events()

    def gateway(self, name: str) -> PaymentGateway:
        """A configured gateway, by the name the configuration gives it."""
        return self.runtime.gateway(name)

    def close(self) -> None:
        """Release storage."""
        self.storage.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
