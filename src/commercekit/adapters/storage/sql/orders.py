"""Orders: their mapping and repository."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, final

import sqlalchemy as sa

from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql.carts import (
    address_column,
    shipping_column,
    to_address,
    to_shipping,
)
from commercekit.adapters.storage.sql.mapping import AggregateMapping, Part, Row
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.credit import Tender, TenderKind
from commercekit.domain.errors import NotFound
from commercekit.domain.orders import (
    FulfilmentStatus,
    HistoryEntry,
    Order,
    OrderLine,
    OrderPaymentStatus,
    OrderStatus,
    OrderTotals,
)
from commercekit.domain.pricing import TaxAddress

__all__ = ["ORDERS", "SqlOrderRepository"]


def _order_row(order: Order) -> dict[str, Any]:
    totals = order.totals
    return {
        "id": order.id,
        "token": order.token,
        "cart_id": order.cart_id,
        "customer_id": order.customer_id,
        "channel": order.channel,
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
        "shipping_address": address_column(order.shipping_address),
        "billing_address": address_column(order.billing_address),
        "shipping": shipping_column(order.shipping),
        "coupon_codes": list(order.coupon_codes),
        "promotion_ids": list(order.promotion_ids),
        "tenders": [_tender_data(tender) for tender in order.tenders],
        "payment_gateway": order.payment_gateway,
        "idempotency_key": order.idempotency_key,
        "fingerprint": order.fingerprint,
        "placed_at": order.placed_at,
        "status": order.status.value,
        "payment_status": order.payment_status.value,
        "fulfilment_status": order.fulfilment_status.value,
        "fulfilled": dict(order.fulfilled),
        "shipped": order.shipped,
        "payment_capturable_units": order.payment_capturable_units,
        "payment_refundable_units": order.payment_refundable_units,
        "tax_address": None if order.tax_address is None else _tax_address(order.tax_address),
        "tax_provider": order.tax_provider,
        "attention": order.attention,
        "email_key": order.email_key,
        "number": order.number,
        "version": order.version,
    }


def _tender_data(tender: Tender) -> dict[str, Any]:
    return {
        "kind": tender.kind.value,
        "source_id": tender.source_id,
        "reference": tender.reference,
        "units": tender.units,
    }


def _tender(data: Mapping[str, Any]) -> Tender:
    return Tender(
        kind=TenderKind(data["kind"]),
        source_id=str(data["source_id"]),
        reference=str(data["reference"]),
        units=int(data["units"]),
    )


def _tax_address(address: TaxAddress) -> dict[str, Any]:
    return {
        "country": address.country,
        "region": address.region,
        "postal_code": address.postal_code,
    }


def _line_rows(order: Order, start: int) -> list[dict[str, Any]]:
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


def _history_rows(order: Order, start: int) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order.id,
            "position": position,
            "at": entry.at,
            "actor": entry.actor,
            "action": entry.action,
            "detail": entry.detail,
        }
        for position, entry in enumerate(order.history[start:], start)
    ]


def _line(row: Row) -> OrderLine:
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


def _order(row: Row, parts: Sequence[Sequence[Row]]) -> Order:
    lines, history = parts
    return Order(
        id=row["id"],
        token=row["token"],
        cart_id=row["cart_id"],
        customer_id=row["customer_id"],
        channel=row["channel"],
        email=row["email"],
        currency=row["currency"],
        lines=tuple(_line(line) for line in lines),
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
        shipping_address=to_address(row["shipping_address"]),
        billing_address=to_address(row["billing_address"]),
        shipping=to_shipping(row["shipping"]),
        coupon_codes=tuple(row["coupon_codes"]),
        promotion_ids=tuple(row["promotion_ids"]),
        tenders=tuple(_tender(tender) for tender in row["tenders"]),
        payment_gateway=row["payment_gateway"],
        idempotency_key=row["idempotency_key"],
        fingerprint=row["fingerprint"],
        placed_at=row["placed_at"],
        status=OrderStatus(row["status"]),
        payment_status=OrderPaymentStatus(row["payment_status"]),
        fulfilment_status=FulfilmentStatus(row["fulfilment_status"]),
        fulfilled={str(sku): int(units) for sku, units in row["fulfilled"].items()},
        shipped=row["shipped"],
        payment_capturable_units=row["payment_capturable_units"],
        payment_refundable_units=row["payment_refundable_units"],
        tax_address=None if row["tax_address"] is None else TaxAddress(**row["tax_address"]),
        tax_provider=row["tax_provider"],
        attention=row["attention"],
        email_key=row["email_key"],
        number=row["number"],
        history=[
            HistoryEntry(at=h["at"], actor=h["actor"], action=h["action"], detail=h["detail"])
            for h in history
        ],
        version=row["version"],
    )


ORDERS: Final = AggregateMapping(
    kind="order",
    cls=Order,
    root=t.orders,
    row=_order_row,
    parts=(
        Part(
            table=t.order_lines,
            parent="order_id",
            rows=_line_rows,
            frozen=True,
            revision=lambda order: order.revision,
        ),
        Part(
            table=t.order_history,
            parent="order_id",
            rows=_history_rows,
            size=lambda order: len(order.history),
        ),
    ),
    build=_order,
    order_by=("placed_at", "id"),
    events=lambda order: order.events,
)


@final
class SqlOrderRepository:
    """Orders: a row in ``orders``, with ``order_lines`` and ``order_history`` (three
    statements to load any number of orders)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, order_id: str) -> Order:
        """:raises NotFound: for an unknown id."""
        found = self._session.get(ORDERS, order_id)
        if found is None:
            raise NotFound("order", order_id, field="order_id")
        return found

    def find_by_token(self, token: str) -> Order | None:
        """The order whose token this is; an empty token finds nothing."""
        if not token:
            return None
        return self._first(_BY_TOKEN, {"token": token})

    def find_by_idempotency_key(self, key: str) -> Order | None:
        """The order placed with this idempotency key, if any."""
        return self._first(_BY_KEY, {"key": key})

    def find_by_number(self, number: str) -> Order | None:
        """The order with this number, if any."""
        return self._first(_BY_NUMBER, {"number": number})

    def for_customer(
        self, customer_id: str, *, placed_before: datetime | None = None, limit: int = 50
    ) -> list[Order]:
        """The customer's orders, newest first."""
        c = t.orders.c
        condition = c.customer_id == customer_id
        if placed_before is not None:
            condition = sa.and_(condition, c.placed_at < placed_before)
        return self._session.load(ORDERS, condition, limit=limit, newest_first=True)

    def search(
        self,
        *,
        number_prefix: str = "",
        email_key: str = "",
        status: OrderStatus | None = None,
        placed_before: datetime | None = None,
        limit: int = 50,
    ) -> list[Order]:
        """Orders matching every filter given, newest first."""
        c = t.orders.c
        conditions: list[sa.ColumnElement[bool]] = []
        if number_prefix:
            # substr, not LIKE: LIKE ignores case on SQLite and not on PostgreSQL.
            start = sa.func.substr(c.number, 1, len(number_prefix))
            conditions.append(start == number_prefix)
        if email_key:
            conditions.append(c.email_key == email_key)
        if status is not None:
            conditions.append(c.status == status.value)
        if placed_before is not None:
            conditions.append(c.placed_at < placed_before)
        return self._session.load(
            ORDERS, sa.and_(sa.true(), *conditions), limit=limit, newest_first=True
        )

    def pending_payment(self, placed_before: datetime, limit: int = 100) -> list[Order]:
        """Orders still waiting for their payment's outcome, oldest first."""
        c = t.orders.c
        condition = sa.and_(
            c.status == OrderStatus.PENDING_PAYMENT.value, c.placed_at < placed_before
        )
        return self._session.load(ORDERS, condition, limit=limit)

    def cancelled_holding_money(self, limit: int = 100) -> list[Order]:
        """Cancelled orders whose payment still holds money, oldest first."""
        c = t.orders.c
        condition = sa.and_(
            c.status == OrderStatus.CANCELLED.value,
            sa.or_(c.payment_capturable_units > 0, c.payment_refundable_units > 0),
        )
        return self._session.load(ORDERS, condition, limit=limit)

    def completed_holding_authorization(self, limit: int = 100) -> list[Order]:
        """Completed orders whose payment still has an authorization standing."""
        c = t.orders.c
        condition = sa.and_(c.status == OrderStatus.COMPLETED.value, c.payment_capturable_units > 0)
        return self._session.load(ORDERS, condition, limit=limit)

    def cancelling(self, limit: int = 100) -> list[Order]:
        """Orders being cancelled (their money being given back), oldest first."""
        condition = t.orders.c.status == OrderStatus.CANCELLING.value
        return self._session.load(ORDERS, condition, limit=limit)

    def live_for_cart(self, cart_id: str) -> Order | None:
        """The order a cart became that is not cancelled, if any."""
        return self._first(_LIVE_FOR_CART, {"cart_id": cart_id})

    def unpaid_count(self, *, customer_id: str | None, email_key: str | None) -> int:
        """How many orders of this customer (or this email, in any spelling) await
        payment."""
        c = t.orders.c
        who = []
        if customer_id is not None:
            who.append(c.customer_id == customer_id)
        if email_key:
            who.append(c.email_key == email_key)
        if not who:
            return 0
        query = sa.select(sa.func.count()).where(
            c.status == OrderStatus.PENDING_PAYMENT.value, sa.or_(*who)
        )
        with self._session.reading() as connection:
            return int(connection.execute(query).scalar_one())

    def add(self, order: Order) -> None:
        """Stage a new order; a taken id, token or idempotency key is a
        :class:`ConcurrencyConflict` on commit."""
        self._session.stage(ORDERS, order)

    def save(self, order: Order) -> None:
        """Stage a changed order; only new history entries are written."""
        self._session.stage(ORDERS, order)

    def adopt(self, order: Order) -> None:
        """See the port: no statement."""
        self._session.adopt(ORDERS, order)

    def _first(self, condition: sa.ColumnElement[bool], params: Mapping[str, Any]) -> Order | None:
        found = self._session.load(ORDERS, condition, params=params, limit=1)
        return found[0] if found else None


# Lookups built once, executed with their values bound.
_BY_TOKEN: Final = t.orders.c.token == sa.bindparam("token")
_BY_KEY: Final = t.orders.c.idempotency_key == sa.bindparam("key")
_BY_NUMBER: Final = t.orders.c.number == sa.bindparam("number")
_LIVE_FOR_CART: Final = sa.and_(
    t.orders.c.cart_id == sa.bindparam("cart_id"),
    # Written into the statement, not bound: the index of live orders by cart is a
    # partial one (status <> 'cancelled'), which the planner uses only for a
    # condition it can read (SQLite would otherwise plan the statement again at
    # every run to see whether a bound value lets it).
    t.orders.c.status != sa.literal_column(f"'{OrderStatus.CANCELLED.value}'"),
)
