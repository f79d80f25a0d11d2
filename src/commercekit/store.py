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
from datetime import datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Annotated, Any, Literal, Self

import attrs
from babel import Locale, UnknownLocaleError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from commercekit.adapters.clock import RandomIds, SystemClock
from commercekit.adapters.notifications.templates import JinjaTemplates
from commercekit.adapters.storage.urls import shown_url
from commercekit.domain.access import Permission, Principal, Shopper, Staff
from commercekit.domain.channels import Channel
from commercekit.domain.checkout import ShippingMethod
from commercekit.domain.errors import InvalidInput
from commercekit.domain.events import DomainEvent
from commercekit.domain.invoicing import Seller
from commercekit.domain.marketing.abandoned import RecoveryPolicy
from commercekit.domain.marketing.feed import FeedSettings, ShippingRate
from commercekit.domain.marketing.links import MIN_SECRET_LENGTH
from commercekit.domain.marketing.seo import CATEGORY_PATH, PRODUCT_PATH, Storefront
from commercekit.domain.marketing.stock_alerts import AlertPolicy
from commercekit.domain.money import Money, Rounding, minor_units
from commercekit.domain.pricing import TaxAddress, TaxRounding, TaxSettings
from commercekit.domain.promotions import normalize_coupon_code
from commercekit.domain.returns import ReturnPolicy, ReturnReason, ReturnShippingPaidBy
from commercekit.domain.shipping import Flat
from commercekit.domain.support import CasePriority
from commercekit.domain.tokens import new_token
from commercekit.plugins import Plugins
from commercekit.ports.carriers import Carrier
from commercekit.ports.clock import Clock, IdGenerator
from commercekit.ports.payments import PaymentGateway
from commercekit.ports.storage import Storage
from commercekit.services._consent import CustomersByEmail
from commercekit.services._links import TOKEN, LinkSigning
from commercekit.services.abandoned_carts import AbandonedCartService
from commercekit.services.access import POLICY, View
from commercekit.services.base import Runtime, Settings
from commercekit.services.behaviour import BehaviourService
from commercekit.services.campaigns import CampaignService
from commercekit.services.carts import CartService
from commercekit.services.catalog import CatalogService
from commercekit.services.catalog_io import CatalogTransfer
from commercekit.services.checkout import CheckoutService
from commercekit.services.credit import CreditService
from commercekit.services.customers import CustomerService
from commercekit.services.demand import DemandService
from commercekit.services.edits import OrderEditService
from commercekit.services.experiments import ExperimentService
from commercekit.services.fulfilment import FulfilmentService
from commercekit.services.gift_card_sales import GiftCardSaleService
from commercekit.services.inventory import InventoryService
from commercekit.services.invoicing import InvoicingService
from commercekit.services.marketing_feeds import FeedService, SeoService, StorefrontSettings
from commercekit.services.notifications import NotificationService
from commercekit.services.orders import OrderService
from commercekit.services.payments import PaymentService
from commercekit.services.recommendations import RecommendationService
from commercekit.services.recovery import RecoveryService
from commercekit.services.refunds import RefundService
from commercekit.services.reports import ReportService
from commercekit.services.returns import ReturnService
from commercekit.services.schemas import parse
from commercekit.services.search import SearchService
from commercekit.services.stock_alerts import StockAlertService
from commercekit.services.support import SupportService

__all__ = [
    "ChannelConfig",
    "FeedConfig",
    "FeedShippingConfig",
    "GatewayConfig",
    "NotifierConfig",
    "SellerConfig",
    "ShippingMethodConfig",
    "Store",
    "StoreConfig",
    "StorefrontConfig",
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


class FeedShippingConfig(_Config):
    """Shipping a feed states for one country and service: a flat price per
    currency, as decimal strings."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    service: str = Field(min_length=1, max_length=100)
    prices: dict[str, Decimal] = Field(min_length=1, max_length=50)

    def rates(self) -> list[ShippingRate]:
        """The rate for each currency (a price finer than the minor unit is refused)."""
        found = []
        for currency, amount in self.prices.items():
            units = minor_units(Money(amount, currency), field="prices")
            if units < 0:
                raise InvalidInput("a price cannot be negative", field="prices")
            found.append(
                ShippingRate(
                    country=self.country,
                    service=self.service,
                    currency=str(Money(amount, currency).currency.code),
                    rule=Flat(units),
                )
            )
        return found

    @model_validator(mode="after")
    def _priced(self) -> FeedShippingConfig:
        self.rates()
        return self


class FeedConfig(_Config):
    """What the shopping feed says beyond the catalogue (see ``docs/marketing.md``)."""

    title: str = Field(default="", max_length=150)
    """The feed's title; by default the store's name."""
    description: str = Field(default="", max_length=500)
    brand: str = Field(default="", max_length=70)
    """The brand of products that name none."""
    shipping: list[FeedShippingConfig] = Field(default_factory=list, max_length=1000)
    """Shipping per country and currency; a currency none names states what the
    store's delivery methods charge."""
    most_listed: int = Field(default=10_000, ge=0, le=10_000_000)
    """How many left-out products a feed's report lists one by one."""

    def settings(self) -> FeedSettings:
        """The feed settings the services apply."""
        return FeedSettings(
            title=self.title,
            description=self.description,
            brand=self.brand,
            shipping=tuple(rate for each in self.shipping for rate in each.rates()),
            most_listed=self.most_listed,
        )


class StorefrontConfig(_Config):
    """Where the store's pages are: the URLs of sitemaps, structured data and the
    shopping feed (see ``docs/marketing.md``)."""

    base_url: str = Field(min_length=1, max_length=1000)
    """The storefront's root, such as ``https://shop.example``."""
    product_path: str = PRODUCT_PATH
    """A product page's path, naming ``{slug}`` or ``{id}``."""
    category_path: str = CATEGORY_PATH
    """A category page's path, naming ``{slug}``, ``{id}`` or ``{path}``."""
    media_url: str = ""
    """Where media given as paths are served from; by default the base URL."""
    variant_parameter: str = "sku"
    """The query parameter that picks a variant on a product page; ``""``: none."""
    channel_urls: dict[str, str] = Field(default_factory=dict)
    """A channel's own base URL, by channel id."""
    feed: FeedConfig = Field(default_factory=FeedConfig)

    @field_validator("base_url", "product_path", "category_path", "media_url", "variant_parameter")
    @classmethod
    def _part(cls, value: str, info: ValidationInfo) -> str:
        parts = {"base_url": "https://shop.example", str(info.field_name): value}
        try:
            Storefront(**parts)
        except InvalidInput as error:
            raise ValueError(error.message) from None
        return value

    @field_validator("channel_urls")
    @classmethod
    def _channel_urls(cls, value: dict[str, str]) -> dict[str, str]:
        for channel, url in value.items():
            try:
                Storefront(base_url=url)
            except InvalidInput as error:
                raise ValueError(f"{channel}: {error.message}") from None
        return value

    def settings(self, store_name: str = "") -> StorefrontSettings:
        """Where the services build URLs, per channel, and the feed's settings."""
        return StorefrontSettings(
            storefront=Storefront(
                base_url=self.base_url,
                product_path=self.product_path,
                category_path=self.category_path,
                media_url=self.media_url,
                variant_parameter=self.variant_parameter,
            ),
            channel_urls={
                channel: Storefront(base_url=url).base_url
                for channel, url in self.channel_urls.items()
            },
            feed=self.feed.settings(),
            store_name=store_name,
        )


def _link_template(value: str) -> str:
    if value.count(TOKEN) != 1:
        raise ValueError(f"must name {TOKEN} once, where the link's token goes")
    return value


class AbandonedCartsConfig(_Config):
    """When a store reminds shoppers of the carts they left (see
    ``docs/bringing-them-back.md``)."""

    remind: bool = True
    """Remind at all (a store with a notifier); off, carts are not even watched."""
    idle_minutes: int = Field(default=60, ge=5, le=30 * 24 * 60)
    """How long a cart stays unchanged before it counts as abandoned."""
    interval_hours: int = Field(default=24, ge=1, le=90 * 24)
    """The least time between two reminders of one cart."""
    most_reminders: int = Field(default=2, ge=1, le=10)
    """How many reminders one cart gets at most."""
    stale_after_days: int = Field(default=14, ge=1, le=365)
    """A cart idle longer than this gets no more reminders."""
    link_days: int = Field(default=7, ge=1, le=90)
    """How long a reminder's restore link works."""
    restore_url: Annotated[str, Field(min_length=7, max_length=1000)] = (
        "/cart/restore?token={token}"
    )
    """The storefront's page that opens a cart from a reminder, ``{token}`` in it
    (``https://shop.example/cart/restore?token={token}``)."""
    coupon: str | None = None
    """A coupon code put on a cart opened from its reminder, when it can be used."""
    require_consent: bool = False
    """Remind only shoppers whose marketing consent is on record (never a guest)."""

    @field_validator("restore_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _link_template(value)

    @field_validator("coupon")
    @classmethod
    def _coupon(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_coupon_code(value)
        except InvalidInput as error:
            raise ValueError(error.message) from None

    def policy(self) -> RecoveryPolicy:
        """The rules the sweep applies."""
        return RecoveryPolicy(
            idle=timedelta(minutes=self.idle_minutes),
            interval=timedelta(hours=self.interval_hours),
            most_notices=self.most_reminders,
            stale_after=timedelta(days=self.stale_after_days),
            link_lifetime=timedelta(days=self.link_days),
            require_consent=self.require_consent,
        )


class CampaignsConfig(_Config):
    """How a store's campaigns are sent (see ``docs/bringing-them-back.md``)."""

    unsubscribe_url: Annotated[str, Field(min_length=7, max_length=1000)] = (
        "/unsubscribe?token={token}"
    )
    """The storefront's page that takes an unsubscribe link, ``{token}`` in it."""
    link_days: int = Field(default=365, ge=30, le=3650)
    """How long an unsubscribe link works (a recipient may click it months later)."""

    @field_validator("unsubscribe_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _link_template(value)


class StockAlertsConfig(_Config):
    """How back-in-stock alerts are told (see ``docs/bringing-them-back.md``)."""

    notify: Literal["units", "all"] = "units"
    """``units``: as many shoppers as there are units, first come first served;
    ``all``: everyone waiting at once."""
    hold_hours: int = Field(default=24, ge=1, le=30 * 24)
    """How long a unit a shopper was told of is kept for them before the next in
    line is told of it."""

    def policy(self) -> AlertPolicy:
        """The rules alerts are told by."""
        return AlertPolicy(everyone=self.notify == "all", hold=timedelta(hours=self.hold_hours))


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
    track_behaviour: bool = False
    """Keep a behaviour log (what shoppers do, the funnel, attribution). Off unless
    asked for: recording visitors is the shop's to decide (and, in many countries, its
    visitors' to consent to), and with it every commit's events are handed to the
    store's subscribers at once, to carry each order's attribution."""
    behaviour: GatewayConfig | None = None
    """Where behaviour is logged: by default ``sql`` (a table in the store's own
    database) for a SQL storage, ``memory`` otherwise; a plugin may offer another."""
    notification_templates: str | None = Field(default=None, max_length=4096)
    """A folder whose templates replace the built-in ones, file by file."""
    store_name: str = Field(default="", max_length=200)
    """How messages to customers sign."""
    link_signing_secret: SecretStr | None = Field(default=None, repr=False)
    """Signs the links in the store's messages (a cart's restore link, an unsubscribe
    link): at least 32 random characters. Without it a store in memory makes one of
    its own while it is open; any other store refuses to make or read such links."""
    previous_link_signing_secrets: list[SecretStr] = Field(
        default_factory=list, max_length=10, repr=False
    )
    """Secrets being retired: links they signed still work."""
    abandoned_carts: AbandonedCartsConfig = Field(default_factory=AbandonedCartsConfig)
    campaigns: CampaignsConfig = Field(default_factory=CampaignsConfig)
    stock_alerts: StockAlertsConfig = Field(default_factory=StockAlertsConfig)
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
    storefront: StorefrontConfig | None = None
    """Where the store's pages are, for sitemaps, structured data and the shopping
    feed (see ``docs/marketing.md``); none by default."""

    @field_validator("link_signing_secret", "previous_link_signing_secrets")
    @classmethod
    def _strong(cls, value: SecretStr | list[SecretStr] | None) -> object:
        listed = [] if value is None else value if isinstance(value, list) else [value]
        for secret in listed:
            if len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
                raise ValueError(f"a signing secret is at least {MIN_SECRET_LENGTH} characters")
        return value

    def link_signing(self, *, in_memory: bool) -> LinkSigning:
        """The secrets the store's links are signed with; a random one for a store
        in memory that names none."""
        secret = self.link_signing_secret
        current = secret.get_secret_value() if secret is not None else None
        if current is None and in_memory:
            current = new_token()
        return LinkSigning(
            secret=current,
            previous=tuple(each.get_secret_value() for each in self.previous_link_signing_secrets),
        )

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

    @model_validator(mode="after")
    def _storefront_channels(self) -> StoreConfig:
        ids = {channel.id for channel in self.channels}
        named = sorted(self.storefront.channel_urls) if self.storefront is not None else []
        for channel in named:
            if channel not in ids:
                raise ValueError(
                    f"storefront.channel_urls: no channel {channel[:64]!r} is configured"
                )
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
            watch_carts=self.notifier is not None and self.abandoned_carts.remind,
        )


def _in_memory(storage: Storage) -> bool:
    """Whether the store lives in this process's memory (and its links with it)."""
    from commercekit.adapters.storage.memory import MemoryStorage

    return isinstance(storage, MemoryStorage)


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
        behaviour_log = None
        if config.track_behaviour:
            chosen = config.behaviour or GatewayConfig(
                plugin="sql" if hasattr(storage, "engine") else "memory"
            )
            behaviour_log = self.plugins.make_behaviour_log(
                chosen.plugin, storage, chosen.factory_options()
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
                or behaviour_log is not None
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
        self.demand = DemandService(self.runtime)
        self.recommendations = RecommendationService(self.runtime)
        self.experiments = ExperimentService(self.runtime)
        # Found by their address too: campaigns and reminders ask it for consent.
        self.customers: CustomerService = CustomersByEmail(self.runtime)
        self.recovery = RecoveryService(self.runtime, self.payments, self.orders)
        self.returns = ReturnService(self.runtime, self.refunds, self.fulfilment)
        self.transfer = CatalogTransfer(self.runtime)
        self.search = SearchService(self.runtime, search)
        storefront = (
            StorefrontSettings(store_name=config.store_name)
            if config.storefront is None
            else config.storefront.settings(config.store_name)
        )
        self.seo = SeoService(self.runtime, storefront)
        self.feeds = FeedService(self.runtime, storefront)
        self.behaviour = BehaviourService(self.runtime, behaviour_log)
        self.reports = ReportService(self.runtime, self.behaviour)
        self.notifications = NotificationService(self.runtime, templates, notifier)
        self.invoicing = InvoicingService(self.runtime, templates)
        self.gift_card_sales = GiftCardSaleService(self.runtime, templates, self.notifications)
        signing = config.link_signing(in_memory=_in_memory(storage))
        self.abandoned_carts = AbandonedCartService(
            self.runtime,
            templates,
            self.notifications,
            policy=config.abandoned_carts.policy(),
            signing=signing,
            restore_url=config.abandoned_carts.restore_url,
            coupon=config.abandoned_carts.coupon,
            unsubscribe_url=config.campaigns.unsubscribe_url,
            unsubscribe_lifetime=timedelta(days=config.campaigns.link_days),
        )
        self.campaigns = CampaignService(
            self.runtime,
            templates,
            self.notifications,
            signing=signing,
            unsubscribe_url=config.campaigns.unsubscribe_url,
            link_lifetime=timedelta(days=config.campaigns.link_days),
        )
        self.stock_alerts = StockAlertService(
            self.runtime, templates, self.notifications, policy=config.stock_alerts.policy()
        )
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

    def as_shopper(
        self, customer_id: str | None = None, *, order_tokens: Iterable[str] = ()
    ) -> View:
        """The store as a shopper reaches it: a guest, or signed in as the
        application's customer ``customer_id`` (the application vouches for it).

        :param order_tokens: the tokens of orders this shopper holds (those their own
            session placed, say): they may act on each as its owner (ask for a
            return, open a support case about it, read its refunds), guest or not.
        """
        return self.acting_as(Shopper(customer_id, order_tokens))

    def as_staff(self, staff_id: str, permissions: Iterable[Permission | str]) -> View:
        """The store as a member of staff with ``permissions`` reaches it; what they
        change is recorded as theirs (``staff:<id>``)."""
        return self.acting_as(Staff(staff_id, permissions))

    def _publish(self, events: Sequence[DomainEvent]) -> None:
        self.plugins.publish(events)
        self.search.on_events(events)
        self.behaviour.on_events(events)
        self.notifications.on_events(events)
        self.invoicing.on_events(events)
        self.gift_card_sales.on_events(events)
        self.abandoned_carts.on_events(events)
        self.stock_alerts.on_events(events)

    def deliver_events(self) -> int:
        """Deliver outbox events left undelivered (after a crash, say)."""
        return self.runtime.deliver_events()

    def now(self) -> datetime:
        """The time by the store's clock: what its windows, sales and deadlines count
        from (a page that shows whether a sale is on asks this, not the wall clock)."""
        return self.runtime.clock.now()

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
