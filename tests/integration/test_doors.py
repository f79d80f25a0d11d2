"""One validation door: every public entry point checks what it is handed before
anything below it sees it, and does so alike on every storage.

A table gives valid arguments for every method a principal can reach (every rule of
:data:`~commercekit.services.access.POLICY`); a hypothesis property swaps one of them
for a hostile JSON-like value (the wrong type, a huge number, a NUL, a lone
surrogate, ten thousand characters...) and demands a typed
:class:`~commercekit.errors.CommerceError` naming the argument, in a short message
that never repeats a long value, with every stored row as it was, and the same
answer from memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import itertools
import math
import os
import typing
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from commercekit import (
    Category,
    Coupon,
    ItemFilter,
    Money,
    PercentOffLines,
    Product,
    Promotion,
    StockLocation,
    TaxRate,
    TaxZone,
    Variant,
    errors,
)
from commercekit.adapters.carriers.sandbox import webhook
from commercekit.adapters.clock import FixedClock
from commercekit.adapters.storage.memory.unit_of_work import MemoryStorage
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.domain.cart import Cart
from commercekit.domain.catalog import AttributeSpec, Collection, ProductType
from commercekit.domain.fulfilment import Shipment
from commercekit.domain.inventory import PurchaseOrder, ReorderPolicy, StockItem, StockRule
from commercekit.domain.marketing.abandoned import restore_token
from commercekit.domain.marketing.campaigns import unsubscribe_token
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.orders import Order
from commercekit.domain.payments import TransactionKind, authorization_key
from commercekit.domain.returns.refunds import RefundKind, RefundLedger
from commercekit.domain.shipping import (
    DeliveryMethod,
    Flat,
    ShippingZone,
    TrackingEvent,
    TrackingStatus,
)
from commercekit.ports.search import SearchQuery
from commercekit.services.access import POLICY, View
from commercekit.store import Store
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_postgres_schema
from tests.services.conftest import ADDRESS, CONFIG, START, seed

CUSTOMER: Final = "customer-ada"
MUG, CLOCK = "RETRO-MUG", "RETRO-CLOCK"
BERLIN, HAMBURG = "berlin", "hamburg"
#: The longest message an error may have, whatever it was handed.
MESSAGE_LIMIT: Final = 500
CARRIER_SECRET: Final = "whsec_doors"
LINK_SECRET: Final = "doors-link-secret-of-at-least-32-characters"
#: One product row of a catalogue import.
CATALOG_ROWS: Final = "product_id,name,sku,price:eu\n{sku},Imported,{sku},4.00\n"
DOORS: Final = {
    **CONFIG,
    "carriers": {"sandbox": {"plugin": "sandbox", "secrets": {"webhook_secret": CARRIER_SECRET}}},
    "link_signing_secret": LINK_SECRET,
    "storefront": {"base_url": "https://shop.example"},
    "track_behaviour": True,
}
SEARCHING: Final = {**DOORS, "search": {"plugin": "memory"}}


# --- a shop to call --------------------------------------------------------------------


@attrs.define
class World:
    """A seeded store and what its calls need: a shared order and cart for the calls
    that only read, and fresh ones for the calls that change them."""

    store: Store
    order: Order = attrs.field(init=False)
    cart: str = attrs.field(init=False)
    _numbers: Iterator[int] = attrs.field(init=False, factory=itertools.count)

    def __attrs_post_init__(self) -> None:
        store = self.store
        seed(store)
        for location in (BERLIN, HAMBURG):
            store.inventory.add_location(StockLocation(id=location, name=location.title()))
            store.inventory.receive(MUG, location, 1_000_000)
        store.inventory.configure(
            StockItem(
                sku=CLOCK,
                location_id=BERLIN,
                reorder=ReorderPolicy(reorder_point=1_000_000, quantity=20),
            )
        )
        store.catalog.add_product(Product(id="poster", name="Poster", variants=[Variant(sku="P")]))
        store.catalog.add_price_list("b2b", "EUR", customer_group="b2b")
        store.catalog.add_collection(Collection(id="mugs", name="Mugs", product_ids=("mug",)))
        store.customers.register(CUSTOMER, {"email": "ada@example.com", "name": "Ada"})
        store.customers.save_address(CUSTOMER, "home", ADDRESS)
        self.order = self.placed(customer_id=CUSTOMER)
        self.cart = self.new_cart()

    def unique(self, prefix: str) -> str:
        """A key no earlier call used."""
        return f"{prefix}-{next(self._numbers)}"

    def new_cart(self, customer_id: str | None = None) -> str:
        """The token of a new cart holding one mug."""
        cart = self.store.carts.create("EUR", customer_id=customer_id)
        self.store.carts.add(cart.token, MUG, 1)
        return cart.token

    def ready(self, payment_token: str = "tok_success", customer_id: str | None = None) -> str:
        """The token of a cart whose checkout is complete and has been shown its total."""
        token = self.new_cart(customer_id)
        checkout = self.store.checkout
        checkout.set_contact(token, {"email": "zoe@example.com"})
        checkout.set_shipping_address(token, ADDRESS)
        checkout.choose_shipping(token, {"method_id": "post"})
        checkout.set_payment_method(token, {"gateway": "test", "token": payment_token})
        checkout.summary(token)
        return token

    def placed(self, payment_token: str = "tok_success", customer_id: str | None = None) -> Order:
        """A new order for one mug, paid (authorized) unless the token says otherwise."""
        token = self.ready(payment_token, customer_id)
        return self.store.checkout.place_order(token, idempotency_key=self.unique("key"))

    def captured(self) -> Order:
        """A new order whose payment is captured."""
        order = self.placed()
        self.store.payments.capture(order.id)
        return order

    def fulfilled(self) -> Order:
        """A new order that is paid, shipped and handed over: ready to complete."""
        order = self.captured()
        self.store.inventory.consume(order.id)
        return order

    def shipment(self) -> Shipment:
        """A pending shipment of a new paid order."""
        (planned,) = self.store.fulfilment.create_shipments(self.placed().id)
        return planned

    def labelled(self) -> Shipment:
        """A shipment with a sandbox label."""
        return self.store.fulfilment.buy_label(self.shipment().id, carrier="sandbox")

    def dispatched(self) -> Shipment:
        """A shipment that left, with a sandbox label."""
        return self.store.fulfilment.dispatch(self.labelled().id)

    def carrier_webhook(self) -> dict[str, Any]:
        """A signed sandbox webhook telling of a dispatched shipment's pick-up."""
        number = self.dispatched().tracking_number
        event = TrackingEvent(
            id=self.unique("event"),
            tracking_number=number,
            status=TrackingStatus.PICKED_UP,
            at=START,
        )
        body, headers = webhook([event], CARRIER_SECRET, now=START)
        return {"carrier": "sandbox", "body": body, "headers": headers}

    def variant(self) -> str:
        """The SKU of a new second variant of the poster."""
        sku = self.unique("P-B")
        self.store.catalog.put_variant("poster", Variant(sku=sku))
        return sku

    def priced(self) -> str:
        """A SKU priced in the list ``eu``."""
        self.store.catalog.set_price("eu", "P", Money("5.00", "EUR"))
        return "P"

    def purchase_order(self, *, sent: bool = False) -> str:
        """The id of a new purchase order for clocks, sent to the supplier if asked."""
        created = self.store.inventory.create_purchase_order(BERLIN, [CLOCK])
        if sent:
            self.store.inventory.send_purchase_order(created.id)
        return created.id

    def experiment(self, *, started: bool = False) -> str:
        """The id of a new experiment in EUR (a control and an arm pricing from the
        ``b2b`` list), running if asked."""
        made = self.store.experiments.create(
            "Prices", "EUR", [{"name": "control"}, {"name": "b2b", "price_list_id": "b2b"}]
        )
        if started:
            self.store.experiments.start(made.id)
        return made.id

    def delivered(self) -> str:
        """The id of a new order, captured, shipped by the manual carrier and
        delivered now."""
        order = self.captured()
        (shipment,) = self.store.fulfilment.create_shipments(order.id)
        number = self.unique("JJD")
        self.store.fulfilment.buy_label(shipment.id, carrier="manual", tracking_number=number)
        self.store.fulfilment.dispatch(shipment.id)
        event = TrackingEvent(
            id=self.unique("arrived"),
            tracking_number=number,
            status=TrackingStatus.DELIVERED,
            at=START,
        )
        self.store.fulfilment.record_tracking(shipment.id, [event])
        return order.id

    def returned(self, status: str = "requested") -> str:
        """The id of a return of one mug of a delivered order, taken to ``status``
        (requested, approved, received or inspected)."""
        returns = self.store.returns
        made = returns.request(self.delivered(), [{"sku": MUG, "quantity": 1, "reason": "damaged"}])
        steps = ["approved", "received", "inspected"]
        for step in steps[: steps.index(status) + 1] if status in steps else []:
            if step == "approved":
                returns.approve(made.id)
            elif step == "received":
                returns.receive(made.id)
            else:
                returns.inspect(made.id, [{"sku": MUG, "quantity": 1, "outcome": "write_off"}])
        return made.id

    def case(self) -> str:
        """The id of a new support case of the customer's, about the shared order."""
        return self.store.support.open_case(
            "Late", "Where is my mug?", customer_id=CUSTOMER, order_id=self.order.id
        ).id

    def case_about(self, order_id: str) -> str:
        """The id of a new case a guest (zoe@example.com) opened about their order."""
        return self.store.support.open_case(
            "Help", "About my order", email="zoe@example.com", order_id=order_id
        ).id

    def reship_arguments(self) -> dict[str, Any]:
        """A case about an order whose shipment left, and that shipment."""
        shipment = self.dispatched()
        return {
            "case_id": self.case_about(shipment.order_id),
            "shipment_id": shipment.id,
            "kind": "lost",
            "location_id": BERLIN,
            "actor": "staff",
        }

    def sent_notice(self) -> str:
        """The key of a notice sent to the customer (ada@example.com)."""
        key = self.unique("order_confirmation:doors:ada@example.com")
        notice = Notice(
            id=key,
            recipient="ada@example.com",
            template="order_confirmation",
            subject="Your order",
            text="Thank you.",
            html="<p>Thank you.</p>",
            created_at=START,
            status=NoticeStatus.SENT,
        )
        with self.store.storage.unit_of_work() as uow:
            uow.notices.add(notice)
            uow.commit()
        return key

    def gift_card(self) -> tuple[str, str]:
        """The id and the code of a new gift card of 50.00 EUR."""
        card, code = self.store.credit.issue_gift_card(Money("50.00", "EUR"))
        return card.id, code

    def credited_cart(self) -> str:
        """The token of a new cart of the customer's, who has store credit to pay it."""
        self.store.credit.issue_store_credit(CUSTOMER, Money("20.00", "EUR"))
        return self.new_cart(CUSTOMER)

    def invoiced(self) -> str:
        """The id of the invoice of a new captured order."""
        return self.store.invoicing.issue_invoice(self.captured().id).id

    def refunded(self) -> dict[str, str]:
        """The order and refund ids of a goodwill refund of a new captured order, done
        (as store credit)."""
        order, refund_id = self.captured(), self.unique("refund")
        paid = order.totals.grand_total_units
        with self.store.storage.unit_of_work() as uow:
            ledger = RefundLedger.open(order, at=START)
            plan = ledger.plan(
                order, {}, paid_units=paid, goodwill_units=100, kind=RefundKind.GOODWILL
            )
            ledger.record(
                plan,
                refund_id=refund_id,
                to_gateway_units=0,
                reason="late",
                at=START,
                actor="staff",
                paid_units=paid,
            )
            uow.records(RefundLedger).add(ledger)
            uow.commit()
        return {"order_id": order.id, "refund_id": refund_id}

    def restore_link(self) -> str:
        """The token of a restore link of a new cart holding one mug."""
        cart = self.store.carts.get(self.new_cart())
        return restore_token(LINK_SECRET, cart.id, expires_at=START + timedelta(days=1))

    def campaign(self) -> str:
        """The id of a new draft campaign to the customers who said yes."""
        return self.store.campaigns.create("Spring", "New mugs", "Hello", {"consent": True}).id

    def stock_alert(self) -> str:
        """The id of a new alert waiting for a new variant (sold out: never stocked)."""
        return self.store.stock_alerts.subscribe(self.variant(), email="zoe@example.com").id

    def address_label(self) -> str:
        """The label of an address in the customer's book."""
        self.store.customers.save_address(CUSTOMER, "spare", ADDRESS)
        return "spare"


# --- every entry point, with arguments that work ----------------------------------------

Arguments = Callable[[World], dict[str, Any]]

#: What each public method is called with: every parameter, named, with a value that
#: works (the property then swaps one for a hostile value).
BASELINE: Final[dict[tuple[str, str], Arguments]] = {
    # carts
    ("carts", "create"): lambda w: {"currency": "EUR", "channel": None, "customer_id": CUSTOMER},
    ("carts", "get"): lambda w: {"token": w.cart},
    ("carts", "add"): lambda w: {"token": w.new_cart(), "sku": MUG, "quantity": 2},
    ("carts", "change_quantity"): lambda w: {"token": w.new_cart(), "sku": MUG, "quantity": 3},
    ("carts", "remove"): lambda w: {"token": w.new_cart(), "sku": MUG},
    ("carts", "apply_coupon"): lambda w: {"token": w.new_cart(), "code": "KITCHEN"},
    ("carts", "remove_coupon"): lambda w: {"token": w.new_cart(), "code": "KITCHEN"},
    ("carts", "price"): lambda w: {"token": w.cart},
    ("carts", "merge"): lambda w: {"guest_token": w.new_cart(), "customer_token": w.new_cart()},
    ("carts", "sign_in"): lambda w: {"guest_token": w.new_cart(), "customer_id": w.unique("c")},
    ("carts", "for_customer"): lambda w: {"customer_id": CUSTOMER},
    # checkout
    ("checkout", "set_contact"): lambda w: {
        "token": w.new_cart(),
        "contact": {"email": "zoe@example.com"},
    },
    ("checkout", "set_shipping_address"): lambda w: {"token": w.new_cart(), "address": ADDRESS},
    ("checkout", "set_billing_address"): lambda w: {"token": w.new_cart(), "address": ADDRESS},
    ("checkout", "shipping_methods"): lambda w: {"token": w.cart},
    ("checkout", "choose_shipping"): lambda w: {
        "token": w.new_cart(),
        "choice": {"method_id": "post"},
    },
    ("checkout", "set_payment_method"): lambda w: {
        "token": w.new_cart(),
        "method": {"gateway": "test", "token": "tok_success"},
    },
    ("checkout", "summary"): lambda w: {"token": w.new_cart()},
    ("checkout", "rates"): lambda w: {"token": w.new_cart()},
    ("checkout", "place_order"): lambda w: {
        "token": w.ready(),
        "idempotency_key": w.unique("key"),
        "accept_price_change": False,
    },
    ("checkout", "apply_gift_card"): lambda w: {"token": w.new_cart(), "code": w.gift_card()[1]},
    ("checkout", "remove_gift_card"): lambda w: {
        "token": w.new_cart(),
        "gift_card_id": w.gift_card()[0],
    },
    ("checkout", "use_store_credit"): lambda w: {
        "token": w.credited_cart(),
        "amount": Money("5.00", "EUR"),
    },
    ("checkout", "remove_store_credit"): lambda w: {"token": w.new_cart()},
    # credit
    ("credit", "issue_store_credit"): lambda w: {
        "customer_id": CUSTOMER,
        "amount": Money("5.00", "EUR"),
        "reason": "issued",
        "reference": "a late parcel",
        "actor": "staff",
    },
    ("credit", "adjust_store_credit"): lambda w: {
        "customer_id": CUSTOMER,
        "amount": Money("1.00", "EUR"),
        "reference": "correction",
        "actor": "staff",
    },
    ("credit", "store_credit"): lambda w: {"customer_id": CUSTOMER, "currency": "EUR"},
    ("credit", "issue_gift_card"): lambda w: {
        "amount": Money("25.00", "EUR"),
        "expires_at": START + timedelta(days=365),
        "reference": "raffle",
        "actor": "staff",
    },
    ("credit", "gift_card_balance"): lambda w: {"code": w.gift_card()[1]},
    ("credit", "gift_card"): lambda w: {"gift_card_id": w.gift_card()[0]},
    ("credit", "disable_gift_card"): lambda w: {"gift_card_id": w.gift_card()[0], "actor": "staff"},
    ("credit", "enable_gift_card"): lambda w: {"gift_card_id": w.gift_card()[0], "actor": "staff"},
    ("credit", "expire_gift_cards"): lambda w: {"limit": 10},
    # orders
    ("orders", "get"): lambda w: {"order_id": w.order.id},
    ("orders", "by_token"): lambda w: {"token": w.order.token},
    ("orders", "for_customer"): lambda w: {"customer_id": CUSTOMER, "limit": 10},
    ("orders", "cancel"): lambda w: {
        "order_id": w.placed().id,
        "reason": "changed mind",
        "actor": "staff",
    },
    ("orders", "finish_cancel"): lambda w: {
        "order_id": w.placed().id,
        "reason": "changed mind",
        "actor": "staff",
    },
    ("orders", "record_fulfilment"): lambda w: {
        "order_id": w.placed().id,
        "quantities": {MUG: 1},
        "actor": "staff",
    },
    ("orders", "complete"): lambda w: {"order_id": w.fulfilled().id, "actor": "staff"},
    ("orders", "by_number"): lambda w: {"number": w.order.number},
    ("orders", "where_is_my_order"): lambda w: {
        "number": w.order.number,
        "email": "zoe@example.com",
    },
    # payments
    ("payments", "for_order"): lambda w: {"order_id": w.order.id},
    ("payments", "find_for_order"): lambda w: {"order_id": w.order.id},
    ("payments", "confirm"): lambda w: {"order_token": w.placed("tok_requires_action").token},
    ("payments", "handle_webhook"): lambda w: dict(
        zip(
            ("payload", "signature"),
            w.store.gateway("test").webhook([], sent_at=START),  # type: ignore[attr-defined]
            strict=True,
        ),
        gateway="test",
    ),
    ("payments", "capture"): lambda w: {
        "order_id": w.placed().id,
        "amount": Money("1.00", "EUR"),
        "idempotency_key": w.unique("capture"),
        "actor": "staff",
    },
    ("payments", "void"): lambda w: {"order_id": w.placed().id, "actor": "staff"},
    ("payments", "refund"): lambda w: {
        "order_id": w.captured().id,
        "amount": Money("1.00", "EUR"),
        "idempotency_key": w.unique("refund"),
        "actor": "staff",
    },
    ("payments", "give_back"): lambda w: {"order_id": w.placed().id, "actor": "staff"},
    ("payments", "flag"): lambda w: {"order_id": w.order.id, "detail": "look", "actor": "staff"},
    ("payments", "settle"): lambda w: {
        "payment_id": w.store.payments.for_order(w.order.id).id,
        "event": w.store.gateway("test").find(authorization_key(w.order.id)),
        "actor": "system",
        "intent_id": "",
    },
    ("payments", "begin"): lambda w: {
        "order_id": w.placed().id,
        "kind": TransactionKind.VOID,
        "amount": None,
        "operation_id": w.unique("op"),
        "actor": "staff",
    },
    ("payments", "carry_out"): lambda w: carry_out_arguments(w),
    ("payments", "authorize"): lambda w: {"order": w.order, "payment_token": "tok_success"},
    ("payments", "settle_from_gateway"): lambda w: {"order": w.order},
    ("payments", "resolve"): lambda w: {
        "order_id": w.order.id,
        "intent_id": "op-none",
        "actor": "system",
    },
    # catalog
    ("catalog", "product"): lambda w: {"product_id": "mug"},
    ("catalog", "add_category"): lambda w: {
        "category": Category(id=w.unique("category"), name="Garden")
    },
    ("catalog", "add_product"): lambda w: {
        "product": Product(id=w.unique("p"), name="Lamp", variants=[Variant(sku=w.unique("L"))]),
        "actor": "staff",
    },
    ("catalog", "publish"): lambda w: {"product_id": "poster", "actor": "staff"},
    ("catalog", "archive"): lambda w: {"product_id": "poster", "actor": "staff"},
    ("catalog", "add_price_list"): lambda w: {
        "price_list_id": w.unique("list"),
        "currency": "EUR",
        "channel": None,
        "customer_group": "vip",
    },
    ("catalog", "set_price"): lambda w: {
        "price_list_id": "b2b",
        "sku": MUG,
        "unit_price": Money("10.00", "EUR"),
        "tiers": (),
        "sale": None,
        "actor": "staff",
    },
    ("catalog", "add_tax_zone"): lambda w: {
        "zone": TaxZone(id=w.unique("zone"), country="FR", rates=[TaxRate(name="TVA", rate="0.2")])
    },
    ("catalog", "add_shipping_zone"): lambda w: {
        "zone": ShippingZone(id=w.unique("zone"), countries=["FR"], postal_patterns=["75*"])
    },
    ("catalog", "add_delivery_method"): lambda w: {
        "method": DeliveryMethod(
            id=w.unique("method"),
            name="Collect in store",
            rules={"EUR": Flat(0)},
            pickup_location=BERLIN,
        )
    },
    ("catalog", "add_promotion"): lambda w: {
        "promotion": Promotion(
            id=w.unique("promotion"),
            name="Spring",
            target=ItemFilter(category_ids="kitchen"),
            benefit=PercentOffLines(5),
            requires_coupon=True,
        )
    },
    ("catalog", "add_coupon"): lambda w: {
        "coupon": Coupon(code=w.unique("SPRING"), promotion_id="kitchen-10")
    },
    ("catalog", "update_product"): lambda w: {
        "product_id": "poster",
        "changes": {"description": "A poster of a mug."},
        "actor": "staff",
    },
    ("catalog", "put_variant"): lambda w: {
        "product_id": "poster",
        "variant": Variant(sku=w.unique("P-A")),
        "actor": "staff",
    },
    ("catalog", "remove_variant"): lambda w: {"sku": w.variant(), "actor": "staff"},
    ("catalog", "remove_price"): lambda w: {
        "price_list_id": "eu",
        "sku": w.priced(),
        "actor": "staff",
    },
    ("catalog", "add_product_type"): lambda w: {
        "product_type": ProductType(
            id=w.unique("type"),
            name="Poster",
            attributes=(AttributeSpec(name="width", kind="number", unit="cm"),),
        ),
        "actor": "staff",
    },
    ("catalog", "product_types"): lambda w: {},
    ("catalog", "add_collection"): lambda w: {
        "collection": Collection(id=w.unique("collection"), name="Mugs", product_ids=("mug",)),
        "actor": "staff",
    },
    ("catalog", "save_collection"): lambda w: {
        "collection": Collection(id="mugs", name="Mugs and clocks", product_ids=("mug",)),
        "actor": "staff",
    },
    ("catalog", "collection_products"): lambda w: {
        "collection_id": "mugs",
        "currency": "EUR",
        "channel": None,
        "limit": 10,
    },
    ("catalog", "by_slug"): lambda w: {"slug": "retro-mug", "locale": "de", "channel": None},
    ("catalog", "list_products"): lambda w: {
        "category_id": "kitchen",
        "state": "active",
        "type_id": None,
        "tag": None,
        "after": None,
        "limit": 10,
    },
    ("catalog", "history"): lambda w: {"kind": "product", "key": "mug", "limit": 10},
    # search
    ("search", "search"): lambda w: {"query": SearchQuery(text="mug", prefix=True)},
    ("search", "on_events"): lambda w: {"events": []},
    ("search", "index_products"): lambda w: {"product_ids": ["mug", "clock"]},
    ("search", "reindex"): lambda w: {},
    ("catalog", "product_for_sku"): lambda w: {"sku": MUG},
    ("catalog", "categories"): lambda w: {},
    ("catalog", "collections"): lambda w: {},
    ("catalog", "products"): lambda w: {"product_ids": ["mug", "clock"]},
    # behaviour
    ("behaviour", "visit"): lambda w: {
        "visitor_id": "visitor-1",
        "url": "https://shop.example/?utm_source=news&utm_medium=email",
        "referrer": "https://elsewhere.example/",
        "utm": None,
        "cart_id": w.store.carts.get(w.new_cart()).id,
        "customer_id": CUSTOMER,
    },
    ("behaviour", "product_viewed"): lambda w: {
        "visitor_id": "visitor-1",
        "product_id": "mug",
        "customer_id": CUSTOMER,
    },
    ("behaviour", "searched"): lambda w: {
        "visitor_id": "visitor-1",
        "query": "mug",
        "result_count": 2,
        "customer_id": CUSTOMER,
    },
    ("behaviour", "added_to_cart"): lambda w: {
        "visitor_id": "visitor-1",
        "cart_id": w.store.carts.get(w.new_cart()).id,
        "sku": MUG,
        "quantity": 1,
        "customer_id": CUSTOMER,
    },
    ("behaviour", "checkout_started"): lambda w: {
        "visitor_id": "visitor-1",
        "cart_id": w.store.carts.get(w.new_cart()).id,
        "customer_id": CUSTOMER,
    },
    ("behaviour", "on_events"): lambda w: {"events": []},
    ("behaviour", "attribution"): lambda w: {
        "order_id": None,
        "cart_id": None,
        "visitor_id": "visitor-1",
    },
    ("behaviour", "events"): lambda w: {
        "since": START,
        "until": START + timedelta(days=1),
        "visitor_id": None,
        "limit": 10,
    },
    ("behaviour", "funnel"): lambda w: {"since": START, "until": START + timedelta(days=1)},
    # reports
    ("reports", "run"): lambda w: {
        "name": "stock",
        "since": START,
        "until": START + timedelta(days=1),
        "by": "week",
        "limit": 10,
        "price_list_id": "eu",
        "overstock_days": 90,
    },
    # seo and feeds
    ("seo", "product_url"): lambda w: {"product_id": "mug", "channel": None},
    ("seo", "category_url"): lambda w: {"category_id": "kitchen", "channel": None},
    ("seo", "product_json_ld"): lambda w: {"product_id": "mug", "currency": "EUR", "channel": None},
    ("seo", "offers"): lambda w: {"product_id": "mug", "currency": "EUR", "channel": None},
    ("seo", "listing_offers"): lambda w: {
        "product_ids": ["mug", "clock"],
        "currency": "EUR",
        "channel": None,
    },
    ("seo", "write_sitemaps"): lambda w: {
        "open_file": lambda name: contextlib.nullcontext(io.BytesIO()),
        "channel": None,
    },
    ("feeds", "shopping_feed"): lambda w: {"currency": "EUR", "channel": None},
    ("feeds", "write_shopping_feed"): lambda w: {
        "handle": io.BytesIO(),
        "currency": "EUR",
        "channel": None,
    },
    # transfer
    ("transfer", "import_file"): lambda w: {
        "handle": io.StringIO(CATALOG_ROWS.format(sku=w.unique("IMP"))),
        "format": "csv",
        "actor": "staff",
        "progress": None,
    },
    ("transfer", "import_text"): lambda w: {
        "text": CATALOG_ROWS.format(sku=w.unique("IMP")),
        "format": "csv",
        "actor": "staff",
    },
    ("transfer", "export_file"): lambda w: {"handle": io.StringIO(), "format": "jsonl"},
    # inventory
    ("inventory", "available"): lambda w: {"sku": MUG},
    ("inventory", "consume"): lambda w: {"order_id": w.placed().id, "actor": "staff"},
    ("inventory", "release_expired_reservations"): lambda w: {},
    ("inventory", "add_location"): lambda w: {
        "location": StockLocation(id=w.unique("depot"), name="Depot")
    },
    ("inventory", "set_rule"): lambda w: {"rule": StockRule(sku="P")},
    ("inventory", "configure"): lambda w: {
        "item": StockItem(sku=CLOCK, location_id=HAMBURG, low_stock_threshold=2)
    },
    ("inventory", "stock"): lambda w: {"sku": MUG},
    ("inventory", "locations"): lambda w: {},
    ("inventory", "movements"): lambda w: {"sku": CLOCK, "location_id": BERLIN},
    ("inventory", "receive"): lambda w: {
        "sku": MUG,
        "location_id": BERLIN,
        "quantity": 2,
        "reference": "delivery-1",
    },
    ("inventory", "adjust"): lambda w: {
        "sku": MUG,
        "location_id": BERLIN,
        "change": -1,
        "reason": "broken",
    },
    ("inventory", "record_return"): lambda w: {
        "sku": MUG,
        "location_id": BERLIN,
        "quantity": 1,
        "order_id": w.delivered(),
    },
    ("inventory", "transfer"): lambda w: {
        "sku": MUG,
        "from_location": BERLIN,
        "to_location": HAMBURG,
        "quantity": 2,
    },
    ("inventory", "count"): lambda w: {"sku": CLOCK, "location_id": HAMBURG, "counted": 3},
    ("inventory", "reorder_suggestions"): lambda w: {"skus": [CLOCK, MUG]},
    ("inventory", "create_purchase_order"): lambda w: {"location_id": BERLIN, "skus": [CLOCK]},
    ("inventory", "send_purchase_order"): lambda w: {"purchase_order_id": w.purchase_order()},
    ("inventory", "cancel_purchase_order"): lambda w: {"purchase_order_id": w.purchase_order()},
    ("inventory", "receive_purchase_order"): lambda w: {
        "purchase_order_id": w.purchase_order(sent=True),
        "quantities": {CLOCK: 2},
    },
    ("demand", "reorder_suggestions"): lambda w: {
        "skus": [CLOCK, MUG],
        "location_id": BERLIN,
        "purchase_order_ids": [w.purchase_order()],
        "service_level": "0.95",
        "lead_time_days": 7,
    },
    # recommendations
    ("recommendations", "for_product"): lambda w: {"product_id": "mug", "k": 3},
    ("recommendations", "viewed_with"): lambda w: {"product_id": "mug", "k": 3},
    ("recommendations", "for_cart"): lambda w: {"token": w.cart, "k": 3},
    ("recommendations", "rebuild"): lambda w: {
        "days": 30,
        "min_support": 1,
        "views": [["mug", "clock"], ["mug", "poster"]],
    },
    ("recommendations", "model"): lambda w: {},
    # experiments
    ("experiments", "create"): lambda w: {
        "name": "Free shipping",
        "currency": "EUR",
        "arms": [{"name": "control"}, {"name": "free", "weight": 1, "free_shipping_over": "30"}],
        "channel": None,
        "traffic_percent": 50,
    },
    ("experiments", "get"): lambda w: {"experiment_id": w.experiment()},
    ("experiments", "start"): lambda w: {"experiment_id": w.experiment()},
    ("experiments", "stop"): lambda w: {"experiment_id": w.experiment(started=True)},
    ("experiments", "reweight"): lambda w: {
        "experiment_id": w.experiment(started=True),
        "weights": {"control": 3},
    },
    ("experiments", "results"): lambda w: {"experiment_id": w.experiment(started=True)},
    ("experiments", "enrol"): lambda w: {
        "token": w.new_cart(),
        "visitor_id": "visitor-ada",
        "experiment_id": w.experiment(started=True),
    },
    ("experiments", "assignment"): lambda w: {"token": w.cart},
    ("experiments", "arm_for"): lambda w: {
        "experiment_id": w.experiment(started=True),
        "visitor_id": "visitor-ada",
    },
    # fulfilment
    ("fulfilment", "get"): lambda w: {"shipment_id": w.shipment().id},
    ("fulfilment", "for_order"): lambda w: {"order_id": w.order.id},
    ("fulfilment", "create_shipments"): lambda w: {
        "order_id": w.placed().id,
        "quantities": {MUG: 1},
    },
    ("fulfilment", "ship"): lambda w: {
        "order_id": w.placed().id,
        "quantities": {MUG: 1},
        "actor": "staff",
    },
    ("fulfilment", "buy_label"): lambda w: {
        "shipment_id": w.shipment().id,
        "carrier": "sandbox",
        "service": "standard",
        "tracking_number": "",
    },
    ("fulfilment", "void_label"): lambda w: {"shipment_id": w.labelled().id},
    ("fulfilment", "dispatch"): lambda w: {"shipment_id": w.shipment().id, "actor": "staff"},
    ("fulfilment", "cancel_shipment"): lambda w: {"shipment_id": w.shipment().id},
    ("fulfilment", "release_for_cancellation"): lambda w: {"order_id": w.placed().id},
    ("fulfilment", "record_tracking"): lambda w: {
        "shipment_id": w.dispatched().id,
        "events": [
            TrackingEvent(
                id="typed", tracking_number="x", status=TrackingStatus.IN_TRANSIT, at=START
            )
        ],
        "actor": "staff",
    },
    ("fulfilment", "refresh_tracking"): lambda w: {"limit": 10},
    ("fulfilment", "handle_carrier_webhook"): lambda w: w.carrier_webhook(),
    ("fulfilment", "pick_list"): lambda w: {"location_id": BERLIN},
    ("fulfilment", "packing_slip"): lambda w: {"shipment_id": w.labelled().id},
    # notifications
    ("notifications", "on_events"): lambda w: {"events": []},
    ("notifications", "send_due"): lambda w: {"limit": 10},
    ("notifications", "find"): lambda w: {"key": "order_confirmation:order-none:a@example.com"},
    ("notifications", "resend"): lambda w: {"key": w.sent_notice(), "reference": w.unique("ref")},
    # support
    ("support", "open_case"): lambda w: {
        "subject": "Late",
        "body": "Where is my mug?",
        "customer_id": CUSTOMER,
        "email": None,
        "channel": "web",
        "order_id": w.order.id,
        "shipment_id": None,
        "return_id": None,
        "priority": "normal",
        "actor": "staff",
    },
    ("support", "customer_message"): lambda w: {
        "case_id": w.case(),
        "body": "Any news?",
        "customer_id": CUSTOMER,
        "email": None,
        "actor": "customer",
    },
    ("support", "reply"): lambda w: {"case_id": w.case(), "body": "On its way.", "actor": "staff"},
    ("support", "set_status"): lambda w: {"case_id": w.case(), "status": "resolved"},
    ("support", "set_priority"): lambda w: {"case_id": w.case(), "priority": "high"},
    ("support", "assign"): lambda w: {"case_id": w.case(), "agent_id": "grace"},
    ("support", "get"): lambda w: {"case_id": w.case()},
    ("support", "for_customer"): lambda w: {"customer_id": CUSTOMER, "limit": 10},
    ("support", "for_email"): lambda w: {"email": "zoe@example.com", "limit": 10},
    ("support", "for_order"): lambda w: {"order_id": w.order.id, "limit": 10},
    ("support", "overdue"): lambda w: {"limit": 10},
    ("orders", "search"): lambda w: {"text": w.order.number[:5], "status": "open", "limit": 10},
    ("support", "in_status"): lambda w: {"status": "open", "limit": 10},
    ("support", "refund"): lambda w: {
        "case_id": w.case_about(w.captured().id),
        "amount": Money("1.00", "EUR"),
        "reason": "late",
        "to_store_credit": False,
        "actor": "staff",
    },
    ("support", "start_return"): lambda w: {
        "case_id": w.case_about(w.delivered()),
        "lines": [{"sku": MUG, "quantity": 1, "reason": "damaged"}],
        "note": "cracked",
        "actor": "staff",
    },
    ("support", "reship"): lambda w: w.reship_arguments(),
    ("support", "edit_order"): lambda w: {
        "case_id": w.case_about(w.placed().id),
        "quantities": {MUG: 2},
        "shipping_address": ADDRESS,
        "actor": "staff",
    },
    ("support", "record_action"): lambda w: {
        "case_id": w.case(),
        "kind": "refund",
        "detail": "12.00 EUR",
        "actor": "staff",
    },
    ("support", "resend_notification"): lambda w: {
        "case_id": w.case(),
        "key": w.sent_notice(),
        "actor": "staff",
    },
    # customers
    ("customers", "register"): lambda w: {
        "customer_id": CUSTOMER,
        "details": {"email": "ada@example.com", "name": "Ada"},
    },
    ("customers", "get"): lambda w: {"customer_id": CUSTOMER},
    ("customers", "save_address"): lambda w: {
        "customer_id": CUSTOMER,
        "label": "work",
        "address": ADDRESS,
        "default_shipping": False,
        "default_billing": True,
    },
    ("customers", "remove_address"): lambda w: {
        "customer_id": CUSTOMER,
        "label": w.address_label(),
    },
    ("customers", "record_consent"): lambda w: {
        "customer_id": CUSTOMER,
        "consent": {"granted": True, "source": "web", "wording": "News, monthly"},
    },
    ("customers", "orders"): lambda w: {"customer_id": CUSTOMER, "limit": 10},
    ("customers", "join_group"): lambda w: {"customer_id": CUSTOMER, "group": "newsletter"},
    ("customers", "leave_group"): lambda w: {"customer_id": CUSTOMER, "group": "newsletter"},
    # abandoned carts, campaigns, back-in-stock alerts
    ("abandoned_carts", "sweep"): lambda w: {"limit": 10},
    ("abandoned_carts", "on_events"): lambda w: {"events": []},
    ("abandoned_carts", "restore"): lambda w: {"token": w.restore_link()},
    ("abandoned_carts", "report"): lambda w: {},
    ("campaigns", "create"): lambda w: {
        "name": "Spring",
        "subject": "New mugs",
        "body": "Hello,\n\nnew mugs are in.",
        "segment": {"groups": ["newsletter"], "spent_at_least": "10.00", "currency": "EUR"},
        "actor": "staff",
    },
    ("campaigns", "get"): lambda w: {"campaign_id": w.campaign()},
    ("campaigns", "preview"): lambda w: {"segment": {"consent": True}, "sample": 5},
    ("campaigns", "send"): lambda w: {"campaign_id": w.campaign(), "limit": 10},
    ("campaigns", "unsubscribe"): lambda w: {
        "token": unsubscribe_token(LINK_SECRET, CUSTOMER, expires_at=START + timedelta(days=1))
    },
    ("stock_alerts", "subscribe"): lambda w: {
        "sku": w.variant(),
        "email": "zoe@example.com",
        "customer_id": None,
    },
    ("stock_alerts", "unsubscribe"): lambda w: {"alert_id": w.stock_alert()},
    ("stock_alerts", "for_customer"): lambda w: {"customer_id": CUSTOMER},
    ("stock_alerts", "waiting"): lambda w: {"sku": CLOCK, "limit": 10},
    ("stock_alerts", "on_events"): lambda w: {"events": []},
    ("stock_alerts", "sweep"): lambda w: {"limit": 10},
    # recovery
    ("recovery", "sweep"): lambda w: {"older_than": timedelta(hours=1)},
    ("recovery", "recover_pending_checkouts"): lambda w: {"older_than": None},
    # invoicing
    ("invoicing", "issue_invoice"): lambda w: {"order_id": w.captured().id, "actor": "staff"},
    ("invoicing", "credit_note_for_refund"): lambda w: {**w.refunded(), "actor": "staff"},
    ("invoicing", "invoice_for"): lambda w: {"order_id": w.order.id},
    ("invoicing", "credit_notes_for"): lambda w: {"order_id": w.order.id},
    ("invoicing", "render"): lambda w: {"document_id": w.invoiced(), "format": "text"},
    ("invoicing", "on_events"): lambda w: {"events": []},
    ("invoicing", "issue_due"): lambda w: {"limit": 10},
    # gift cards sold
    ("gift_card_sales", "on_events"): lambda w: {"events": []},
    ("gift_card_sales", "issue_due"): lambda w: {"limit": 10},
    ("gift_card_sales", "for_order"): lambda w: {"order_id": w.order.id},
    ("fulfilment", "reship"): lambda w: {
        "shipment_id": w.dispatched().id,
        "location_id": BERLIN,
        "actor": "staff",
    },
    ("orders", "edit"): lambda w: {
        "order_id": w.placed().id,
        "quantities": {MUG: 2},
        "shipping_address": ADDRESS,
        "current_prices": False,
        "actor": "staff",
    },
    # refunds
    ("refunds", "for_order"): lambda w: {"order_id": w.order.id},
    ("refunds", "plan"): lambda w: {
        "order_id": w.delivered(),
        "units": {MUG: 1},
        "shipping": True,
    },
    ("refunds", "refund_units"): lambda w: {
        "order_id": w.delivered(),
        "units": {MUG: 1},
        "reason": "lost in transit",
        "shipping": False,
        "to_store_credit": False,
        "actor": "staff",
    },
    ("refunds", "goodwill"): lambda w: {
        "order_id": w.captured().id,
        "amount": Money("1.00", "EUR"),
        "reason": "late",
        "to_store_credit": False,
        "actor": "staff",
    },
    ("refunds", "retry"): lambda w: {"order_id": w.order.id, "actor": "staff"},
    # returns
    ("returns", "request"): lambda w: {
        "order_id": w.delivered(),
        "lines": [{"sku": MUG, "quantity": 1, "reason": "does_not_fit", "note": "big"}],
        "note": "thanks",
        "actor": "customer",
    },
    ("returns", "for_order"): lambda w: {"order_id": w.order.id, "limit": 10},
    ("returns", "in_state"): lambda w: {"status": "requested", "limit": 10},
    ("returns", "get"): lambda w: {"return_id": w.returned()},
    ("returns", "approve"): lambda w: {"return_id": w.returned(), "actor": "staff"},
    ("returns", "reject"): lambda w: {
        "return_id": w.returned(),
        "reason": "worn",
        "actor": "staff",
    },
    ("returns", "cancel"): lambda w: {"return_id": w.returned(), "actor": "staff"},
    ("returns", "issue_label"): lambda w: {
        "return_id": w.returned("approved"),
        "carrier": "sandbox",
        "actor": "staff",
    },
    ("returns", "receive"): lambda w: {
        "return_id": w.returned("approved"),
        "units": {MUG: 1},
        "actor": "staff",
    },
    ("returns", "inspect"): lambda w: {
        "return_id": w.returned("received"),
        "decisions": [{"sku": MUG, "quantity": 1, "outcome": "restock", "location_id": BERLIN}],
        "actor": "staff",
    },
    ("returns", "close"): lambda w: {"return_id": w.returned("inspected"), "actor": "staff"},
    ("returns", "claim"): lambda w: {
        "shipment_id": w.dispatched().id,
        "kind": "lost",
        "resolution": "reship",
        "note": "never arrived",
        "location_id": BERLIN,
        "actor": "staff",
        "order_id": None,
    },
    ("returns", "claims_for"): lambda w: {"order_id": w.order.id},
    ("returns", "plan_refund"): lambda w: {
        "return_id": w.returned("approved"),
        "shipping": True,
    },
    ("returns", "refund"): lambda w: {
        "return_id": w.returned("approved"),
        "shipping": False,
        "to_store_credit": False,
        "actor": "staff",
    },
    # The same mug again: nothing to charge, so the token is not used.
    ("returns", "exchange"): lambda w: {
        "return_id": w.returned("approved"),
        "replacements": {MUG: MUG},
        "payment_token": "tok_success",
        "gateway": "test",
        "actor": "staff",
    },
    ("returns", "exchanges_for"): lambda w: {"order_id": w.order.id},
}

#: Parameters the property leaves alone: what the application's own code hands in,
#: never a caller's value.
INTERNAL: Final = {("payments", "begin", "allowed"), ("payments", "authorize", "held")}


def carry_out_arguments(world: World) -> dict[str, Any]:
    """An order whose void is recorded and not asked of the gateway yet."""
    order = world.placed()
    intent = world.store.payments.begin(order.id, TransactionKind.VOID, actor="staff")
    return {"order_id": order.id, "intent": intent, "actor": "staff"}


def parameters(service: str, method: str) -> list[str]:
    """The parameters of a public method, as its signature names them."""
    found = inspect.signature(getattr(SERVICES[service], method)).parameters
    return [name for name in found if name != "self" and (service, method, name) not in INTERNAL]


#: The class of each service, by its name on a store.
SERVICES: Final = typing.get_type_hints(View)
CALLS: Final = sorted(BASELINE)
ARGUMENTS: Final = [(call, name) for call in CALLS for name in parameters(*call)]


def test_the_table_holds_every_public_method_and_every_parameter() -> None:
    public = {(service, method) for service, rules in POLICY.items() for method in rules}
    assert set(BASELINE) == public
    with Store.open("memory://", config=SEARCHING, clock=FixedClock(START)) as store:
        world = World(store)
        for call in CALLS:
            assert set(BASELINE[call](world)) == set(parameters(*call)), call


# --- stores, and what they hold ----------------------------------------------------------


def backends() -> list[str]:
    """Memory and SQLite always; PostgreSQL when there is one (and always in CI)."""
    found = ["memory", "sqlite"]
    if os.environ.get(POSTGRES_URL_VARIABLE) or os.environ.get("CI") == "true":
        found.append("postgresql")
    return found


@contextlib.contextmanager
def opened(backend: str, directory: Path) -> Iterator[World]:
    """A seeded store on ``backend``."""
    with contextlib.ExitStack() as stack:
        if backend == "memory":
            url = "memory://"
        elif backend == "sqlite":
            url = f"sqlite:///{directory / 'doors.db'}"
        else:
            url = stack.enter_context(fresh_postgres_schema())
        search = {"plugin": "memory" if backend == "memory" else "sql"}
        config = {**DOORS, "search": search}
        store = stack.enter_context(Store.open(url, config=config, clock=FixedClock(START)))
        yield World(store)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, World]]:
    """One seeded store per backend, shared by the module's examples."""
    with contextlib.ExitStack() as stack:
        yield {
            backend: stack.enter_context(opened(backend, tmp_path_factory.mktemp(backend)))
            for backend in backends()
        }


def rows(store: Store) -> object:
    """Everything the store holds, to compare before and after a call.

    SQL: every row of every table. Memory: the stored objects themselves (a commit
    stores a new copy of every row it writes, and an entity equals only itself), and
    the outbox's length.
    """
    storage = store.storage
    if isinstance(storage, SqlStorage):
        return _sql_rows(storage.engine)
    assert isinstance(storage, MemoryStorage)
    with storage.lock:
        return {name: dict(table) for name, table in storage.tables.items()}, len(storage.outbox)


@functools.cache
def _tables(engine: sa.Engine) -> tuple[sa.Table, ...]:
    """Every table of the store's database, as it is (read once: reflecting is slow)."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return tuple(metadata.tables.values())


def _sql_rows(engine: sa.Engine) -> dict[str, list[str]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(sa.select(table)))
            for table in _tables(engine)
        }


@pytest.mark.parametrize("call", CALLS, ids=".".join)
def test_every_baseline_call_works_on_every_backend(
    worlds: dict[str, World], call: tuple[str, str]
) -> None:
    service, method = call
    for world in worlds.values():
        getattr(getattr(world.store, service), method)(**BASELINE[call](world))


# --- hostile values ---------------------------------------------------------------------

LONG: Final = "X" * 10_000
SPECIAL_TEXT: Final = [
    "",
    " ",
    "\t\n",
    "\x00",
    "RETRO-MUG\x00",
    "\ud800",
    "RETRO\udfffMUG",
    "\x1b[2J",
    LONG,
    "two",
    "2.0",
    " 2 ",
    "1e3",
    "-1",
    "٢",
    "null",
]
SPECIAL_NUMBERS: Final = [
    0,
    -1,
    10**30,
    -(10**30),
    2**63,
    -(2**63) - 1,
    2.0,
    0.5,
    math.nan,
    math.inf,
]

text = st.sampled_from(SPECIAL_TEXT) | st.text(st.characters(exclude_categories=()), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.sampled_from(SPECIAL_NUMBERS)
    | st.integers()
    | st.floats()
    | text
)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
#: Keys of the mappings the doors take, to swap one entry rather than the whole.
ENTRY_KEYS: Final = sorted(
    {*ADDRESS, "line2", "region", "phone", "company", "email", "method_id", "gateway", "token"}
    | {"granted", "source", "wording", MUG, CLOCK, "extra"}
)


@attrs.frozen
class Hostile:
    """A hostile value for one argument: the whole of it, or one entry of it (a key
    of a mapping, an item of a list) when ``entry`` is given."""

    value: Any
    entry: str | int | None = None

    def applied_to(self, valid: object) -> object:
        """The argument with this value in it."""
        if self.entry is None:
            return self.value
        if isinstance(valid, Mapping):
            return {**valid, str(self.entry): self.value}
        if isinstance(valid, list):
            return [self.value if n == self.entry else item for n, item in enumerate(valid)]
        return self.value


@attrs.frozen
class Case:
    """A method, one of its parameters, and what to hand it instead."""

    call: tuple[str, str]
    parameter: str
    hostile: Hostile


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Any public method, any of its parameters, any hostile value for it."""
    call, parameter = draw(st.sampled_from(ARGUMENTS))
    value = draw(json_like)
    entry = draw(st.none() | st.sampled_from(ENTRY_KEYS) | st.integers(0, 1))
    return Case(call, parameter, Hostile(value, entry))


# --- calling, and what came of it ---------------------------------------------------------


@attrs.frozen
class Outcome:
    """What a call came to: the error's class and field, or ``None`` for both when it
    succeeded."""

    error: str | None
    field: str | None


def call_with(world: World, case: Case) -> tuple[Outcome, errors.CommerceError | None]:
    """Make the call on ``world`` with the hostile argument; check that a refusal
    changed nothing."""
    arguments = BASELINE[case.call](world)
    arguments[case.parameter] = case.hostile.applied_to(arguments[case.parameter])
    service, method = case.call
    before = rows(world.store)
    try:
        getattr(getattr(world.store, service), method)(**arguments)
    except errors.CommerceError as error:
        refused = error
    else:
        return Outcome(None, None), None
    assert rows(world.store) == before, f"{refused!r} after a change was written"
    return Outcome(type(refused).__name__, refused.field), refused


def long_strings(value: object) -> Iterator[str]:
    """The strings longer than an error may repeat, anywhere in ``value``."""
    if isinstance(value, str):
        if len(value) > 100:
            yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from long_strings(key)
            yield from long_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from long_strings(item)


def check_refusal(case: Case, error: errors.CommerceError) -> None:
    """A refusal is short, never repeats a long value, and names the argument."""
    message = str(error)
    assert len(message) < MESSAGE_LIMIT, message[:MESSAGE_LIMIT]
    for long in long_strings([case.hostile.value, case.hostile.entry]):
        assert long not in message
    if isinstance(error, errors.InvalidInput | errors.NotFound):
        assert error.field is not None, repr(error)


@settings(deadline=None, max_examples=300)
@given(case=cases())
# Leaks found before: each was a builtin error, a driver's error, or a write.
@example(case=Case(("payments", "capture"), "amount", Hostile("1.00")))
@example(case=Case(("search", "index_products"), "product_ids", Hostile(None)))
@example(case=Case(("search", "on_events"), "events", Hostile(None)))
@example(case=Case(("notifications", "on_events"), "events", Hostile(None)))
@example(case=Case(("support", "reship"), "location_id", Hostile([])))
@example(case=Case(("carts", "add"), "sku", Hostile("\ud800")))
@example(case=Case(("carts", "get"), "token", Hostile("\ud800")))
@example(case=Case(("orders", "get"), "order_id", Hostile(True)))
@example(case=Case(("inventory", "stock"), "sku", Hostile(10**30)))
@example(case=Case(("checkout", "set_payment_method"), "method", Hostile("\ud800", "token")))
@example(case=Case(("orders", "cancel"), "reason", Hostile("\x00")))
@example(case=Case(("orders", "get"), "order_id", Hostile(["order"])))
@example(case=Case(("inventory", "receive"), "quantity", Hostile(10**30)))
@example(case=Case(("catalog", "add_category"), "category", Hostile(None)))
@example(case=Case(("catalog", "set_price"), "tiers", Hostile(5)))
@example(case=Case(("catalog", "collection_products"), "channel", Hostile([])))
@example(case=Case(("transfer", "import_file"), "progress", Hostile([])))
@example(case=Case(("transfer", "import_file"), "handle", Hostile(b"rows")))
@example(case=Case(("customers", "register"), "customer_id", Hostile(["ada"])))
@example(case=Case(("customers", "get"), "customer_id", Hostile("ada\x00")))
@example(case=Case(("inventory", "configure"), "item", Hostile({})))
@example(case=Case(("inventory", "receive_purchase_order"), "quantities", Hostile(5)))
@example(case=Case(("inventory", "receive_purchase_order"), "quantities", Hostile(["x"])))
@example(case=Case(("orders", "record_fulfilment"), "quantities", Hostile([])))
@example(case=Case(("orders", "finish_cancel"), "reason", Hostile(LONG)))
@example(case=Case(("payments", "carry_out"), "actor", Hostile("\x00")))
@example(case=Case(("payments", "settle"), "event", Hostile({})))
@example(case=Case(("payments", "authorize"), "order", Hostile("order")))
@example(case=Case(("payments", "handle_webhook"), "payload", Hostile("{}")))
@example(case=Case(("checkout", "place_order"), "accept_price_change", Hostile("no")))
@example(case=Case(("customers", "record_consent"), "consent", Hostile("yes", "granted")))
@example(case=Case(("checkout", "set_contact"), "contact", Hostile("zoe@example.com", LONG)))
@example(
    case=Case(
        ("checkout", "set_shipping_address"),
        "address",
        Hostile({**ADDRESS, "country": "IE", "postal_code": "\x00"}),
    )
)
def test_every_door_refuses_a_hostile_value_alike_on_every_backend(
    worlds: dict[str, World], case: Case
) -> None:
    outcomes: dict[str, Outcome] = {}
    for backend, world in worlds.items():
        try:
            outcome, refusal = call_with(world, case)
        except errors.CommerceError:
            raise  # from building the valid arguments: the table is wrong, not the door
        except Exception as leaked:  # what the door must never let through
            raise AssertionError(f"{backend}: {type(leaked).__name__} leaked: {case}") from leaked
        if refusal is not None:
            check_refusal(case, refusal)
        outcomes[backend] = outcome
    assert len(set(outcomes.values())) == 1, outcomes


# --- the sweep's age and an unknown id ---------------------------------------------------


@pytest.mark.parametrize("method", ["sweep", "recover_pending_checkouts"])
def test_the_sweep_refuses_an_age_that_is_not_a_timedelta(method: str) -> None:
    with (
        Store.open("memory://", config=DOORS, clock=FixedClock(START)) as store,
        pytest.raises(errors.InvalidInput) as caught,
    ):
        getattr(store.recovery, method)(older_than=3600)
    assert caught.value.field == "older_than"


@pytest.mark.parametrize(
    "case",
    [
        Case(("orders", "get"), "order_id", Hostile("order_none")),
        Case(("payments", "flag"), "order_id", Hostile("order_none")),
        Case(("payments", "settle"), "payment_id", Hostile("payment_none")),
    ],
    ids=lambda case: ".".join(case.call),
)
def test_an_unknown_id_is_not_found_naming_its_argument(case: Case) -> None:
    with Store.open("memory://", config=SEARCHING, clock=FixedClock(START)) as store:
        outcome, _ = call_with(World(store), case)
    assert outcome == Outcome("NotFound", case.parameter)


# --- numbers as a web form sends them -----------------------------------------------------

#: Every door that takes a whole number: the parameter, the number, and its digits.
NUMBERS: Final = [
    Case(("carts", "add"), "quantity", Hostile(2)),
    Case(("carts", "change_quantity"), "quantity", Hostile(2)),
    Case(("inventory", "receive"), "quantity", Hostile(2)),
    Case(("inventory", "adjust"), "change", Hostile(-2)),
    Case(("inventory", "record_return"), "quantity", Hostile(1)),
    Case(("inventory", "transfer"), "quantity", Hostile(2)),
    Case(("inventory", "count"), "counted", Hostile(2)),
    Case(("inventory", "receive_purchase_order"), "quantities", Hostile(2, CLOCK)),
    Case(("demand", "reorder_suggestions"), "lead_time_days", Hostile(7)),
    Case(("recommendations", "for_product"), "k", Hostile(2)),
    Case(("recommendations", "for_cart"), "k", Hostile(2)),
    Case(("orders", "record_fulfilment"), "quantities", Hostile(1, MUG)),
    Case(("orders", "for_customer"), "limit", Hostile(2)),
    Case(("orders", "search"), "limit", Hostile(2)),
    Case(("customers", "orders"), "limit", Hostile(2)),
    Case(("credit", "expire_gift_cards"), "limit", Hostile(2)),
    Case(("gift_card_sales", "issue_due"), "limit", Hostile(2)),
    Case(("support", "for_customer"), "limit", Hostile(2)),
    Case(("support", "for_email"), "limit", Hostile(2)),
    Case(("support", "for_order"), "limit", Hostile(2)),
    Case(("support", "overdue"), "limit", Hostile(2)),
    Case(("support", "in_status"), "limit", Hostile(2)),
    Case(("returns", "in_state"), "limit", Hostile(2)),
]
#: Spellings that look like a number to someone, and are refused.
NOT_NUMBERS: Final = ["2.0", " 2 ", "+2", "two", "1e3", "٢", "", 2.0, True, None]


def spelt(case: Case, value: object) -> Case:
    """``case`` with ``value`` in place of its number."""
    return attrs.evolve(case, hostile=attrs.evolve(case.hostile, value=value))


def effect(world: World, result: object) -> object:
    """What a call did that a second world can be compared on (ids differ): what it
    returned, as plain data, and the stock of every item."""
    stock = {
        (item.sku, item.location_id): (item.on_hand, item.reserved)
        for sku in (MUG, CLOCK)
        for item in world.store.inventory.stock(sku)
    }
    if isinstance(result, list):
        return len(result), stock
    if isinstance(result, Order):
        return result.fulfilled, stock
    if isinstance(result, Cart):
        return list(result.items()), stock
    if isinstance(result, PurchaseOrder):
        return [(line.sku, line.quantity, line.received) for line in result.lines], stock
    return result, stock


def called(world: World, case: Case) -> object:
    """What the call with the case's argument did."""
    arguments = BASELINE[case.call](world)
    arguments[case.parameter] = case.hostile.applied_to(arguments[case.parameter])
    service, method = case.call
    return effect(world, getattr(getattr(world.store, service), method)(**arguments))


@pytest.mark.parametrize("case", NUMBERS, ids=lambda case: ".".join(case.call))
def test_a_number_sent_as_its_digits_does_what_the_number_does(case: Case) -> None:
    digits = spelt(case, str(case.hostile.value))
    with (
        Store.open("memory://", config=DOORS, clock=FixedClock(START)) as one,
        Store.open("memory://", config=DOORS, clock=FixedClock(START)) as other,
    ):
        assert called(World(one), case) == called(World(other), digits)


@pytest.mark.parametrize("case", NUMBERS, ids=lambda case: ".".join(case.call))
def test_no_other_spelling_of_a_number_is_read_as_one(worlds: dict[str, World], case: Case) -> None:
    for value in NOT_NUMBERS:
        for world in worlds.values():
            outcome, error = call_with(world, spelt(case, value))
            assert isinstance(error, errors.InvalidInput), (value, outcome)
            assert error.field == case.parameter, (value, error)
