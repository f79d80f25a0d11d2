"""Explicit mapping between domain objects and table rows (plain dicts).

Each ``*_row`` function gives the values of one row as a dict keyed by column name;
each ``*_from_rows`` function builds the domain object back from rows read. Nothing
here talks to a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from commercekit.adapters.storage import codec
from commercekit.domain.cart import Cart, CartLine
from commercekit.domain.catalog import Category, Dimensions, Product, PublicationState, Variant
from commercekit.domain.checkout import Address, Checkout, ShippingChoice
from commercekit.domain.inventory import (
    MovementKind,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Reservation,
    ReservationStatus,
    StockItem,
    StockLocation,
    StockMovement,
    StockPolicy,
    StockRule,
)
from commercekit.domain.orders import (
    FulfilmentStatus,
    HistoryEntry,
    Order,
    OrderLine,
    OrderPaymentStatus,
    OrderStatus,
    OrderTotals,
)
from commercekit.domain.payments import (
    Payment,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from commercekit.domain.pricing import PriceEntry, PriceList, TaxZone
from commercekit.domain.promotions import Coupon, Promotion

Row = RowMapping
"""One row as read, by column name."""


def _address(value: Address | None) -> codec.Json | None:
    return None if value is None else codec.encode(value)


def _to_address(value: Mapping[str, Any] | None) -> Address | None:
    return None if value is None else codec.decode_address(value)


def _shipping(value: ShippingChoice | None) -> codec.Json | None:
    return None if value is None else codec.encode(value)


def _to_shipping(value: Mapping[str, Any] | None) -> ShippingChoice | None:
    return None if value is None else codec.decode_shipping_choice(value)


# --- carts and checkouts -----------------------------------------------------------


def cart_row(cart: Cart) -> dict[str, Any]:
    return {
        "id": cart.id,
        "token": cart.token,
        "currency": cart.currency,
        "customer_id": cart.customer_id,
        "max_quantity_per_line": cart.max_quantity_per_line,
        "coupon_codes": list(cart.coupon_codes),
        "version": cart.version,
    }


def cart_line_rows(cart: Cart) -> list[dict[str, Any]]:
    return [
        {"cart_id": cart.id, "sku": sku, "position": position, "quantity": quantity}
        for position, (sku, quantity) in enumerate(cart.items())
    ]


def cart_from_rows(row: Row, lines: Iterable[Row]) -> Cart:
    """:param lines: the cart's lines, in position order."""
    return Cart(
        id=row["id"],
        currency=row["currency"],
        token=row["token"],
        customer_id=row["customer_id"],
        max_quantity_per_line=row["max_quantity_per_line"],
        lines={line["sku"]: CartLine(sku=line["sku"], quantity=line["quantity"]) for line in lines},
        coupon_codes=tuple(row["coupon_codes"]),
        version=row["version"],
    )


def checkout_row(checkout: Checkout) -> dict[str, Any]:
    return {
        "id": checkout.id,
        "email": checkout.email,
        "shipping_address": _address(checkout.shipping_address),
        "billing_address": _address(checkout.billing_address),
        "shipping": _shipping(checkout.shipping),
        "payment_gateway": checkout.payment_gateway,
        "payment_token": checkout.payment_token,
        "quoted_total_units": checkout.quoted_total_units,
        "version": checkout.version,
    }


def checkout_from_row(row: Row) -> Checkout:
    return Checkout(
        id=row["id"],
        email=row["email"],
        shipping_address=_to_address(row["shipping_address"]),
        billing_address=_to_address(row["billing_address"]),
        shipping=_to_shipping(row["shipping"]),
        payment_gateway=row["payment_gateway"],
        payment_token=row["payment_token"],
        quoted_total_units=row["quoted_total_units"],
        version=row["version"],
    )


# --- orders ------------------------------------------------------------------------


def order_row(order: Order) -> dict[str, Any]:
    totals = order.totals
    return {
        "id": order.id,
        "token": order.token,
        "cart_id": order.cart_id,
        "customer_id": order.customer_id,
        "email": order.email,
        "currency": order.currency,
        "subtotal_units": totals.subtotal_units,
        "discount_units": totals.discount_units,
        "shipping_units": totals.shipping_units,
        "shipping_discount_units": totals.shipping_discount_units,
        "shipping_tax_units": totals.shipping_tax_units,
        "tax_units": totals.tax_units,
        "grand_total_units": totals.grand_total_units,
        "prices_include_tax": totals.prices_include_tax,
        "shipping_address": _address(order.shipping_address),
        "billing_address": _address(order.billing_address),
        "shipping": _shipping(order.shipping),
        "coupon_codes": list(order.coupon_codes),
        "promotion_ids": list(order.promotion_ids),
        "payment_gateway": order.payment_gateway,
        "idempotency_key": order.idempotency_key,
        "fingerprint": order.fingerprint,
        "placed_at": order.placed_at,
        "status": order.status.value,
        "payment_status": order.payment_status.value,
        "fulfilment_status": order.fulfilment_status.value,
        "fulfilled": dict(order.fulfilled),
        "version": order.version,
    }


def order_line_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order.id,
            "position": position,
            "sku": line.sku,
            "product_id": line.product_id,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price_units": line.unit_price_units,
            "subtotal_units": line.subtotal_units,
            "discount_units": line.discount_units,
            "tax_units": line.tax_units,
            "total_units": line.total_units,
            "requires_shipping": line.requires_shipping,
            "track_stock": line.track_stock,
            "adjustments": [list(adjustment) for adjustment in line.adjustments],
            "taxes": [list(tax) for tax in line.taxes],
        }
        for position, line in enumerate(order.lines)
    ]


def history_rows(order: Order, start: int = 0) -> list[dict[str, Any]]:
    """The history entries from ``start`` on (history only ever grows)."""
    return [
        {
            "order_id": order.id,
            "position": position,
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "detail": entry.detail,
        }
        for position, entry in enumerate(order.history)
        if position >= start
    ]


def _order_line(row: Row) -> OrderLine:
    return OrderLine(
        sku=row["sku"],
        product_id=row["product_id"],
        name=row["name"],
        quantity=row["quantity"],
        unit_price_units=row["unit_price_units"],
        subtotal_units=row["subtotal_units"],
        discount_units=row["discount_units"],
        tax_units=row["tax_units"],
        total_units=row["total_units"],
        requires_shipping=row["requires_shipping"],
        track_stock=row["track_stock"],
        adjustments=tuple((str(pid), int(units)) for pid, units in row["adjustments"]),
        taxes=tuple((str(name), str(rate), int(units)) for name, rate, units in row["taxes"]),
    )


def order_from_rows(row: Row, lines: Iterable[Row], history: Iterable[Row]) -> Order:
    """:param lines: and ``history``: the order's rows, in position order."""
    return Order(
        id=row["id"],
        token=row["token"],
        cart_id=row["cart_id"],
        customer_id=row["customer_id"],
        email=row["email"],
        currency=row["currency"],
        lines=tuple(_order_line(line) for line in lines),
        totals=OrderTotals(
            subtotal_units=row["subtotal_units"],
            discount_units=row["discount_units"],
            shipping_units=row["shipping_units"],
            shipping_discount_units=row["shipping_discount_units"],
            shipping_tax_units=row["shipping_tax_units"],
            tax_units=row["tax_units"],
            grand_total_units=row["grand_total_units"],
            prices_include_tax=row["prices_include_tax"],
        ),
        shipping_address=_to_address(row["shipping_address"]),
        billing_address=_to_address(row["billing_address"]),
        shipping=_to_shipping(row["shipping"]),
        coupon_codes=tuple(row["coupon_codes"]),
        promotion_ids=tuple(row["promotion_ids"]),
        payment_gateway=row["payment_gateway"],
        idempotency_key=row["idempotency_key"],
        fingerprint=row["fingerprint"],
        placed_at=row["placed_at"],
        status=OrderStatus(row["status"]),
        payment_status=OrderPaymentStatus(row["payment_status"]),
        fulfilment_status=FulfilmentStatus(row["fulfilment_status"]),
        fulfilled={str(sku): int(units) for sku, units in row["fulfilled"].items()},
        history=[
            HistoryEntry(at=h["at"], actor=h["actor"], action=h["action"], detail=h["detail"])
            for h in history
        ],
        version=row["version"],
    )


# --- payments ----------------------------------------------------------------------


def payment_row(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order_id": payment.order_id,
        "gateway": payment.gateway,
        "currency": payment.currency,
        "amount_units": payment.amount_units,
        "reference": payment.reference,
        "version": payment.version,
    }


def transaction_rows(payment: Payment, start: int = 0) -> list[dict[str, Any]]:
    """The ledger entries from ``start`` on (the ledger only ever grows)."""
    return [
        {
            "payment_id": payment.id,
            "transaction_id": t.id,
            "position": position,
            "kind": t.kind.value,
            "status": t.status.value,
            "amount_units": t.amount_units,
            "occurred_at": t.occurred_at,
            "detail": t.detail,
        }
        for position, t in enumerate(payment.transactions)
        if position >= start
    ]


def payment_from_rows(row: Row, transactions: Iterable[Row]) -> Payment:
    """:param transactions: the ledger rows, in position order."""
    return Payment(
        id=row["id"],
        order_id=row["order_id"],
        gateway=row["gateway"],
        currency=row["currency"],
        amount_units=row["amount_units"],
        reference=row["reference"],
        transactions=[
            Transaction(
                id=t["transaction_id"],
                kind=TransactionKind(t["kind"]),
                status=TransactionStatus(t["status"]),
                amount_units=t["amount_units"],
                occurred_at=t["occurred_at"],
                detail=t["detail"],
            )
            for t in transactions
        ],
        version=row["version"],
    )


# --- catalogue ---------------------------------------------------------------------


def category_row(category: Category) -> dict[str, Any]:
    return {
        "id": category.id,
        "name": category.name,
        "slug": category.slug,
        "parent_id": category.parent_id,
    }


def category_from_row(row: Row) -> Category:
    return Category(id=row["id"], name=row["name"], slug=row["slug"], parent_id=row["parent_id"])


def product_row(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "slug": product.slug,
        "description": product.description,
        "tax_category": product.tax_category,
        "state": product.state.value,
        "available_from": product.available_from,
        "available_until": product.available_until,
        "attributes": dict(product.attributes),
    }


def product_category_rows(product: Product) -> list[dict[str, Any]]:
    return [
        {"product_id": product.id, "category_id": category_id, "position": position}
        for position, category_id in enumerate(product.category_ids)
    ]


def variant_rows(product: Product) -> list[dict[str, Any]]:
    return [
        {
            "sku": v.sku,
            # The catalogue owns this link: a variant belongs to the product it is saved with.
            "product_id": product.id,
            "position": position,
            "options": dict(v.options),
            "weight_grams": v.weight_grams,
            "length_mm": None if v.dimensions is None else v.dimensions.length_mm,
            "width_mm": None if v.dimensions is None else v.dimensions.width_mm,
            "height_mm": None if v.dimensions is None else v.dimensions.height_mm,
            "tax_category": v.tax_category,
            "track_stock": v.track_stock,
            "digital": v.digital,
            "components": dict(v.components) or None,
        }
        for position, v in enumerate(product.variants)
    ]


def _variant(row: Row) -> Variant:
    dimensions = (
        None
        if row["length_mm"] is None
        else Dimensions(
            length_mm=row["length_mm"], width_mm=row["width_mm"], height_mm=row["height_mm"]
        )
    )
    return Variant(
        sku=row["sku"],
        product_id=row["product_id"],
        options=row["options"],
        weight_grams=row["weight_grams"],
        dimensions=dimensions,
        tax_category=row["tax_category"],
        track_stock=row["track_stock"],
        digital=row["digital"],
        components=row["components"] or {},
    )


def product_from_rows(row: Row, category_ids: Sequence[str], variants: Iterable[Row]) -> Product:
    """:param category_ids: and ``variants``: in position order."""
    return Product(
        id=row["id"],
        name=row["name"],
        slug=row["slug"],
        description=row["description"],
        category_ids=tuple(category_ids),
        attributes=row["attributes"],
        tax_category=row["tax_category"],
        state=PublicationState(row["state"]),
        available_from=row["available_from"],
        available_until=row["available_until"],
        variants=[_variant(v) for v in variants],
    )


def price_list_row(price_list: PriceList) -> dict[str, Any]:
    return {
        "id": price_list.id,
        "currency": price_list.currency,
        "channel": price_list.channel,
        "customer_group": price_list.customer_group,
    }


def price_rows(price_list: PriceList) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for sku, entry in price_list.entries().items():
        sale_units, starts_at, ends_at = entry.sale or (None, None, None)
        rows.append(
            {
                "price_list_id": price_list.id,
                "sku": sku,
                "unit_units": entry.unit,
                "tiers": [list(tier) for tier in entry.tiers],
                "sale_units": sale_units,
                "sale_starts_at": starts_at,
                "sale_ends_at": ends_at,
            }
        )
    return rows


def price_entry(row: Row) -> PriceEntry:
    sale: tuple[int, datetime | None, datetime | None] | None = None
    if row["sale_units"] is not None:
        sale = (row["sale_units"], row["sale_starts_at"], row["sale_ends_at"])
    tiers = tuple((int(quantity), int(units)) for quantity, units in row["tiers"])
    return PriceEntry(row["unit_units"], tiers, sale)


def price_list_from_rows(row: Row, prices: Iterable[Row]) -> PriceList:
    price_list = PriceList(
        row["id"], row["currency"], channel=row["channel"], customer_group=row["customer_group"]
    )
    for price in prices:
        price_list.load(price["sku"], price_entry(price))
    return price_list


def tax_zone_row(zone: TaxZone) -> dict[str, Any]:
    return {
        "id": zone.id,
        "country": zone.country,
        "region": zone.region,
        "postal_prefix": zone.postal_prefix,
        "rates": [codec.encode(rate) for rate in zone.rates],
    }


def tax_zone_from_row(row: Row) -> TaxZone:
    return TaxZone(
        id=row["id"],
        country=row["country"],
        region=row["region"],
        postal_prefix=row["postal_prefix"],
        rates=tuple(codec.decode_tax_rate(rate) for rate in row["rates"]),
    )


def promotion_row(promotion: Promotion) -> dict[str, Any]:
    return {"id": promotion.id, "name": promotion.name, "definition": codec.encode(promotion)}


def promotion_from_row(row: Row) -> Promotion:
    return codec.decode_promotion(row["definition"])


def coupon_row(coupon: Coupon) -> dict[str, Any]:
    return {
        "code": coupon.code,
        "promotion_id": coupon.promotion_id,
        "starts_at": coupon.starts_at,
        "ends_at": coupon.ends_at,
        "usage_limit": coupon.usage_limit,
        "usage_limit_per_customer": coupon.usage_limit_per_customer,
    }


def coupon_from_row(row: Row) -> Coupon:
    return Coupon(
        code=row["code"],
        promotion_id=row["promotion_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        usage_limit=row["usage_limit"],
        usage_limit_per_customer=row["usage_limit_per_customer"],
    )


# --- inventory ---------------------------------------------------------------------


def location_row(location: StockLocation) -> dict[str, Any]:
    return {
        "id": location.id,
        "name": location.name,
        "kind": location.kind,
        "priority": location.priority,
        "ships_to": sorted(location.ships_to),
    }


def location_from_row(row: Row) -> StockLocation:
    return StockLocation(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        priority=row["priority"],
        ships_to=frozenset(str(country) for country in row["ships_to"]),
    )


def rule_row(rule: StockRule) -> dict[str, Any]:
    return {
        "sku": rule.sku,
        "policy": rule.policy.value,
        "backorder_limit": rule.backorder_limit,
        "preorder_until": rule.preorder_until,
    }


def rule_from_row(row: Row) -> StockRule:
    return StockRule(
        sku=row["sku"],
        policy=StockPolicy(row["policy"]),
        backorder_limit=row["backorder_limit"],
        preorder_until=row["preorder_until"],
    )


def item_settings(item: StockItem) -> dict[str, Any]:
    """The columns :meth:`configure_item` writes: never the quantities."""
    return {
        "low_stock_threshold": item.low_stock_threshold,
        "reorder": None if item.reorder is None else codec.encode(item.reorder),
    }


def item_from_row(row: Row) -> StockItem:
    reorder = row["reorder"]
    return StockItem(
        sku=row["sku"],
        location_id=row["location_id"],
        on_hand=row["on_hand"],
        reserved=row["reserved"],
        low_stock_threshold=row["low_stock_threshold"],
        reorder=None if reorder is None else codec.decode_reorder_policy(reorder),
        version=row["version"],
    )


def movement_row(movement: StockMovement) -> dict[str, Any]:
    return {
        "id": movement.id,
        "sku": movement.sku,
        "location_id": movement.location_id,
        "kind": movement.kind.value,
        "quantity": movement.quantity,
        "at": movement.at,
        "reason": movement.reason,
        "reference": movement.reference,
    }


def movement_from_row(row: Row) -> StockMovement:
    return StockMovement(
        id=row["id"],
        sku=row["sku"],
        location_id=row["location_id"],
        kind=MovementKind(row["kind"]),
        quantity=row["quantity"],
        at=row["at"],
        reason=row["reason"],
        reference=row["reference"],
    )


def reservation_row(reservation: Reservation) -> dict[str, Any]:
    return {
        "id": reservation.id,
        "order_id": reservation.order_id,
        "sku": reservation.sku,
        "location_id": reservation.location_id,
        "quantity": reservation.quantity,
        "expires_at": reservation.expires_at,
        "status": reservation.status.value,
    }


def reservation_from_row(row: Row) -> Reservation:
    return Reservation(
        id=row["id"],
        order_id=row["order_id"],
        sku=row["sku"],
        location_id=row["location_id"],
        quantity=row["quantity"],
        expires_at=row["expires_at"],
        status=ReservationStatus(row["status"]),
    )


def purchase_order_row(order: PurchaseOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "supplier": order.supplier,
        "location_id": order.location_id,
        "status": order.status.value,
        "expected_at": order.expected_at,
        "version": order.version,
    }


def purchase_order_line_rows(order: PurchaseOrder) -> list[dict[str, Any]]:
    return [
        {
            "purchase_order_id": order.id,
            "position": position,
            "sku": line.sku,
            "quantity": line.quantity,
            "received": line.received,
        }
        for position, line in enumerate(order.lines)
    ]


def purchase_order_from_rows(row: Row, lines: Iterable[Row]) -> PurchaseOrder:
    """:param lines: the order's lines, in position order."""
    return PurchaseOrder(
        id=row["id"],
        supplier=row["supplier"],
        location_id=row["location_id"],
        lines=[
            PurchaseOrderLine(sku=line["sku"], quantity=line["quantity"], received=line["received"])
            for line in lines
        ],
        status=PurchaseOrderStatus(row["status"]),
        expected_at=row["expected_at"],
        version=row["version"],
    )
