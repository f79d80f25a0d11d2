"""The door for calls made on behalf of a principal.

A store's own services trust their caller: they are what the application's jobs (and
commercekit's services among themselves) call. What a shopper or a member of staff
reaches is a :class:`View` of the store, whose services are the same ones behind a
door: every public method has one rule in :data:`POLICY`, checked before the method
runs, and a method without a rule is closed. A refusal is always the same
:class:`~commercekit.domain.errors.AccessDenied`, whether what was asked for is
someone else's or does not exist.

Tokens are permissions: whoever holds a cart's or an order's token may use it (that
is how a guest is known). What is reached by an id (an order, a customer's record,
their carts and orders) is a signed-in shopper's only when it is theirs, and staff's
when they have the permission it needs. The rules themselves are in :mod:`.doors`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Final, cast

from commercekit.domain.access import Permission, Principal, Shopper
from commercekit.domain.errors import AccessDenied, CouponRejected, GiftCardRefused
from commercekit.services.abandoned_carts import AbandonedCartService
from commercekit.services.base import Runtime
from commercekit.services.behaviour import BehaviourService
from commercekit.services.campaigns import CampaignService
from commercekit.services.carts import CartService
from commercekit.services.catalog import CatalogService
from commercekit.services.catalog_io import CatalogTransfer
from commercekit.services.checkout import CheckoutService
from commercekit.services.credit import CreditService
from commercekit.services.customers import CustomerService
from commercekit.services.demand import DemandService
from commercekit.services.doors import (
    Door,
    Rule,
    all_released,
    anyone,
    both,
    decide,
    either,
    guest_about_own_order,
    own_cart,
    own_case,
    own_customer,
    own_document,
    own_order,
    own_order_number,
    own_return,
    released,
    staff,
    system,
    unless_given,
)
from commercekit.services.experiments import ExperimentService
from commercekit.services.fulfilment import FulfilmentService
from commercekit.services.gift_card_sales import GiftCardSaleService
from commercekit.services.inventory import InventoryService
from commercekit.services.invoicing import InvoicingService
from commercekit.services.marketing_feeds import FeedService, SeoService
from commercekit.services.notifications import NotificationService
from commercekit.services.orders import OrderService
from commercekit.services.payments import PaymentService
from commercekit.services.recommendations import RecommendationService
from commercekit.services.recovery import RecoveryService
from commercekit.services.refunds import RefundService
from commercekit.services.reports import ReportService
from commercekit.services.returns import ReturnService
from commercekit.services.search import SearchService
from commercekit.services.stock_alerts import StockAlertService
from commercekit.services.support import SupportService

__all__ = ["POLICY", "CouponAttempts", "View"]

CouponAttempts = Callable[[Principal, str], None]
"""Told of every coupon code a shopper tries, before it is tried; raising a
:class:`~commercekit.domain.errors.CommerceError` refuses the attempt (a rate limit)."""


ORDERS, PAYMENTS, REFUNDS = Permission.ORDERS, Permission.PAYMENTS, Permission.REFUNDS
CATALOGUE, STOCK, CUSTOMERS = Permission.CATALOGUE, Permission.STOCK, Permission.CUSTOMERS
SUPPORT = Permission.SUPPORT
MARKETING = Permission.MARKETING

POLICY: Final[Mapping[str, Mapping[str, Rule]]] = {
    "carts": {
        "create": own_customer("customer_id", CUSTOMERS, optional=True),
        "get": anyone,
        "add": anyone,
        "change_quantity": anyone,
        "remove": anyone,
        "apply_coupon": anyone,
        "remove_coupon": anyone,
        "price": anyone,
        "merge": anyone,
        "sign_in": own_customer("customer_id", CUSTOMERS),
        "for_customer": own_customer("customer_id", CUSTOMERS),
    },
    "checkout": {
        "set_contact": anyone,
        "set_shipping_address": anyone,
        "set_billing_address": anyone,
        "shipping_methods": anyone,
        "choose_shipping": anyone,
        "set_payment_method": anyone,
        "summary": anyone,
        "rates": anyone,
        "place_order": anyone,
        "apply_gift_card": anyone,  # the code is its permission
        "remove_gift_card": anyone,
        "use_store_credit": own_cart("token", CUSTOMERS),
        "remove_store_credit": anyone,
    },
    "orders": {
        "get": own_order("order_id", ORDERS),
        "by_token": anyone,
        "by_number": either(staff(ORDERS, SUPPORT), own_order_number("number")),
        "where_is_my_order": anyone,  # the number and the email together are the key
        "search": staff(ORDERS, SUPPORT),
        "for_customer": own_customer("customer_id", ORDERS, CUSTOMERS),
        "cancel": staff(ORDERS),
        "edit": staff(ORDERS),
        "finish_cancel": staff(ORDERS),
        "record_fulfilment": staff(ORDERS),
        "complete": staff(ORDERS),
    },
    "payments": {
        "for_order": own_order("order_id", PAYMENTS, ORDERS),
        "find_for_order": own_order("order_id", PAYMENTS, ORDERS),
        "confirm": anyone,
        "handle_webhook": anyone,  # the gateway's signature is its permission
        "capture": staff(PAYMENTS),
        "void": staff(PAYMENTS),
        "refund": staff(REFUNDS),
        "give_back": staff(REFUNDS),
        "flag": staff(ORDERS, PAYMENTS),
        "settle": system,
        "begin": system,
        "carry_out": system,
        "authorize": system,
        "settle_from_gateway": system,
        "resolve": system,
    },
    "catalog": {
        # A draft is the catalogue staff's until it is published.
        "product": released("product_id", CATALOGUE),
        "product_for_sku": released("sku", CATALOGUE),
        "products": all_released("product_ids", CATALOGUE),
        "categories": anyone,
        "by_slug": anyone,
        "collections": anyone,
        "collection_products": anyone,
        **{
            name: staff(CATALOGUE)
            for name in (
                "add_category",
                "add_product",
                "update_product",
                "put_variant",
                "remove_variant",
                "publish",
                "archive",
                "add_price_list",
                "set_price",
                "remove_price",
                "add_tax_zone",
                "add_shipping_zone",
                "add_delivery_method",
                "add_promotion",
                "add_coupon",
                "add_product_type",
                "product_types",
                "add_collection",
                "save_collection",
                "list_products",
                "history",
            )
        },
    },
    "behaviour": {
        # A storefront records what its visitors do; a signed-in shopper's events
        # name only their own customer id.
        **{
            name: own_customer("customer_id", MARKETING, optional=True)
            for name in (
                "visit",
                "product_viewed",
                "searched",
                "added_to_cart",
                "checkout_started",
            )
        },
        "on_events": system,
        **{name: staff(MARKETING) for name in ("attribution", "events", "funnel")},
    },
    "reports": {
        "run": staff(MARKETING),
    },
    "search": {
        "search": anyone,
        "on_events": system,
        "index_products": staff(CATALOGUE),
        "reindex": staff(CATALOGUE),
    },
    "seo": {
        # What a storefront's pages show anyone; writing every sitemap reads the
        # whole catalogue.
        "product_url": anyone,
        "category_url": anyone,
        # A product in draft is the catalogue staff's alone, as catalog.product is.
        "offers": released("product_id", CATALOGUE),
        "listing_offers": all_released("product_ids", CATALOGUE),
        "product_json_ld": released("product_id", CATALOGUE),
        "write_sitemaps": staff(CATALOGUE),
    },
    "feeds": {
        "shopping_feed": staff(CATALOGUE),
        "write_shopping_feed": staff(CATALOGUE),
    },
    "transfer": {
        # An import counts stock as well as writing the catalogue.
        "import_file": both(staff(CATALOGUE), staff(STOCK)),
        "import_text": both(staff(CATALOGUE), staff(STOCK)),
        "export_file": staff(CATALOGUE),
    },
    "inventory": {
        "available": anyone,
        "consume": staff(ORDERS),
        "release_expired_reservations": system,
        **{
            name: staff(STOCK)
            for name in (
                "add_location",
                "locations",
                "set_rule",
                "configure",
                "stock",
                "movements",
                "receive",
                "adjust",
                "record_return",
                "transfer",
                "count",
                "reorder_suggestions",
                "create_purchase_order",
                "send_purchase_order",
                "cancel_purchase_order",
                "receive_purchase_order",
            )
        },
    },
    "customers": {
        "register": own_customer("customer_id", CUSTOMERS),
        "get": own_customer("customer_id", CUSTOMERS),
        "save_address": own_customer("customer_id", CUSTOMERS),
        "remove_address": own_customer("customer_id", CUSTOMERS),
        "record_consent": own_customer("customer_id", CUSTOMERS),
        "orders": own_customer("customer_id", CUSTOMERS, ORDERS),
        "join_group": staff(CUSTOMERS),
        "leave_group": staff(CUSTOMERS),
    },
    "fulfilment": {
        "for_order": own_order("order_id", ORDERS),
        "handle_carrier_webhook": anyone,  # the carrier's signature is its permission
        "refresh_tracking": system,
        "release_for_cancellation": system,
        **{
            name: staff(ORDERS)
            for name in (
                "get",
                "create_shipments",
                "ship",
                "buy_label",
                "void_label",
                "dispatch",
                "cancel_shipment",
                "record_tracking",
                "reship",
                "pick_list",
                "packing_slip",
            )
        },
    },
    "notifications": {
        "on_events": system,
        "send_due": system,
        "find": staff(ORDERS, SUPPORT),
        "resend": staff(ORDERS, SUPPORT),
    },
    "support": {
        # A signed-in shopper opens and writes to their own cases, a guest to theirs
        # about an order whose token they hold; staff choose how urgent a case is.
        "open_case": both(
            either(own_customer("customer_id", SUPPORT), guest_about_own_order("order_id")),
            unless_given(("priority",), SUPPORT),
        ),
        "customer_message": either(
            own_customer("customer_id", SUPPORT), guest_about_own_order("case_id", case=True)
        ),
        "get": own_case("case_id", SUPPORT),
        "for_customer": own_customer("customer_id", SUPPORT, CUSTOMERS),
        "for_order": staff(SUPPORT, ORDERS),
        **{
            name: staff(SUPPORT)
            for name in (
                "reply",
                "set_status",
                "set_priority",
                "assign",
                "for_email",
                "overdue",
                "in_status",
                "record_action",
                "resend_notification",
            )
        },
        "refund": staff(REFUNDS),
        "start_return": staff(SUPPORT, ORDERS),
        "edit_order": staff(SUPPORT, ORDERS),
        "reship": staff(SUPPORT, ORDERS),
    },
    "credit": {
        "store_credit": own_customer("customer_id", CUSTOMERS, REFUNDS),
        "gift_card_balance": anyone,  # the code is its permission
        "gift_card": staff(REFUNDS, ORDERS),
        "expire_gift_cards": system,
        **{
            name: staff(REFUNDS)
            for name in (
                "issue_store_credit",
                "adjust_store_credit",
                "issue_gift_card",
                "disable_gift_card",
                "enable_gift_card",
            )
        },
    },
    "gift_card_sales": {
        "on_events": system,
        "issue_due": system,
        "for_order": staff(ORDERS, REFUNDS),
    },
    "recovery": {"sweep": system, "recover_pending_checkouts": system},
    # What a storefront shows beside a product or a cart is anyone's to read.
    "recommendations": {
        "for_product": anyone,
        "viewed_with": anyone,
        "for_cart": anyone,
        "rebuild": staff(CATALOGUE, MARKETING),
        "model": staff(CATALOGUE, MARKETING),
    },
    # An experiment changes prices; a cart's token is its permission to be enrolled.
    "experiments": {
        **{
            name: staff(CATALOGUE, MARKETING)
            for name in ("create", "get", "start", "stop", "reweight", "results")
        },
        "enrol": anyone,
        "assignment": anyone,
        # Staff only: asked for many visitor ids, it would let a shopper pick an arm.
        "arm_for": staff(CATALOGUE, MARKETING),
    },
    "demand": {"reorder_suggestions": staff(STOCK)},
    # Bringing shoppers back: a signed link is its own permission.
    "abandoned_carts": {
        "sweep": system,
        "on_events": system,
        "restore": anyone,
        "report": staff(MARKETING, ORDERS),
    },
    "campaigns": {
        **{name: staff(MARKETING) for name in ("create", "get", "preview", "send")},
        "unsubscribe": anyone,
    },
    "stock_alerts": {
        "subscribe": own_customer("customer_id", CUSTOMERS, optional=True),
        "unsubscribe": anyone,  # the alert's unguessable id is its permission
        "for_customer": own_customer("customer_id", CUSTOMERS),
        "waiting": staff(STOCK, MARKETING),
        "on_events": system,
        "sweep": system,
    },
    "invoicing": {
        "issue_invoice": staff(ORDERS),
        "credit_note_for_refund": staff(ORDERS, REFUNDS),
        "invoice_for": own_order("order_id", ORDERS),
        "credit_notes_for": own_order("order_id", ORDERS),
        "render": own_document("document_id", ORDERS),
        "on_events": system,
        "issue_due": system,
    },
    "refunds": {
        "for_order": own_order("order_id", ORDERS, REFUNDS),
        "plan": staff(ORDERS, REFUNDS),
        "refund_units": staff(REFUNDS),
        "goodwill": staff(REFUNDS),
        "retry": staff(REFUNDS),
    },
    "returns": {
        "request": own_order("order_id", ORDERS),
        "for_order": own_order("order_id", ORDERS),
        "get": own_return("return_id", ORDERS),
        "cancel": own_return("return_id", ORDERS),
        "in_state": staff(ORDERS),
        "plan_refund": staff(ORDERS, REFUNDS),
        "refund": staff(REFUNDS),
        "exchanges_for": own_order("order_id", ORDERS),
        **{
            name: staff(ORDERS)
            for name in (
                "approve",
                "reject",
                "receive",
                "issue_label",
                "inspect",
                "close",
                "claim",
                "claims_for",
                "exchange",
            )
        },
    },
}

_VAGUE: Final = frozenset({"unknown", "expired", "not_yet_valid", "limit_reached"})
"""Coupon refusals a shopper sees as one: whether a code exists is not theirs to learn."""


class _Guarded:
    """A service behind the door: each public method checks its rule first, and a
    change it records names the principal (unless the caller names an actor)."""

    def __init__(self, service: object, rules: Mapping[str, Rule], door: Door) -> None:
        self._service = service
        self._rules = rules
        self._door = door

    def __getattr__(self, name: str) -> Any:
        rule = self._rules.get(name)
        method = getattr(self._service, name, None)
        if rule is None or method is None or name.startswith("_"):
            raise AttributeError(name)
        return functools.partial(_call, self._door, rule, method, inspect.signature(method))


def _call(
    door: Door,
    rule: Rule,
    method: Callable[..., Any],
    signature: inspect.Signature,
    *args: Any,
    **kwargs: Any,
) -> Any:
    arguments = signature.bind_partial(*args, **kwargs).arguments
    allowed, needed = decide(rule, door, arguments)
    if not allowed:
        # Staff are told which permissions would have opened the door; a shopper
        # is told nothing that tells what exists from what is not theirs.
        raise AccessDenied(field=_field(arguments), permissions=needed)
    if "actor" in signature.parameters and "actor" not in arguments:
        kwargs["actor"] = door.principal.actor
    if isinstance(door.principal, Shopper) and "code" in arguments:
        return _coupon_attempt(door, method, arguments, args, kwargs)
    return method(*args, **kwargs)


def _field(arguments: Mapping[str, Any]) -> str | None:
    for name in ("order_id", "customer_id", "token"):
        if name in arguments:
            return name
    return None


def _coupon_attempt(
    door: Door,
    method: Callable[..., Any],
    arguments: Mapping[str, Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    code = arguments["code"]
    attempts = door.runtime.coupon_attempts
    if attempts is not None and isinstance(code, str):
        attempts(door.principal, code)
    try:
        return method(*args, **kwargs)
    except CouponRejected as refused:
        if refused.reason not in _VAGUE:
            raise
        raise CouponRejected(refused.coupon_code, "not_valid") from None
    except GiftCardRefused as refused:
        # A disabled card reads as no card: whether a code exists is not theirs to learn.
        if refused.reason not in ("unknown", "disabled"):
            raise
        raise GiftCardRefused("not_valid", field=refused.field or "code") from None


class View:
    """The store as one principal reaches it: the same services, each behind the
    door (see :data:`POLICY`)."""

    catalog: CatalogService
    carts: CartService
    checkout: CheckoutService
    credit: CreditService
    orders: OrderService
    payments: PaymentService
    inventory: InventoryService
    demand: DemandService
    customers: CustomerService
    fulfilment: FulfilmentService
    transfer: CatalogTransfer
    search: SearchService
    seo: SeoService
    feeds: FeedService
    behaviour: BehaviourService
    reports: ReportService
    notifications: NotificationService
    recovery: RecoveryService
    recommendations: RecommendationService
    experiments: ExperimentService
    abandoned_carts: AbandonedCartService
    campaigns: CampaignService
    stock_alerts: StockAlertService
    invoicing: InvoicingService
    gift_card_sales: GiftCardSaleService
    support: SupportService
    refunds: RefundService
    returns: ReturnService

    def __init__(self, principal: Principal, runtime: Runtime, services: Mapping[str, object]):
        self.principal = principal
        door = Door(principal, runtime)
        for name, rules in POLICY.items():
            setattr(self, name, cast(Any, _Guarded(services[name], rules, door)))
