"""The tables, as SQLAlchemy Core objects: one schema for SQLite and PostgreSQL.

Amounts are whole minor units in ``BigInteger`` columns; nested values that are only
ever read whole (addresses, promotion definitions, tax rates) are JSON written by
:mod:`commercekit.adapters.storage.codec`. Every aggregate root has a ``version``
column for optimistic concurrency. Aggregates refer to one another by id only, with
no foreign key between them, so that each is written and deleted on its own; foreign
keys hold the parts of one aggregate (lines, history, ledger) to their root.

The migrations in ``commercekit/adapters/storage/migrations`` create exactly these
tables; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from commercekit.domain.errors import InvalidInput

__all__ = [
    "STOCK_FLOOR",
    "UtcDateTime",
    "cart_lines",
    "carts",
    "catalog_changes",
    "categories",
    "checkouts",
    "collections",
    "coupon_uses",
    "coupons",
    "customers",
    "delivery_methods",
    "metadata",
    "order_history",
    "order_lines",
    "orders",
    "outbox",
    "payment_transactions",
    "payments",
    "price_lists",
    "prices",
    "product_categories",
    "product_slugs",
    "product_types",
    "products",
    "promotions",
    "purchase_order_lines",
    "purchase_orders",
    "records",
    "relay_leases",
    "reservations",
    "shipping_zones",
    "stamps",
    "stock_items",
    "stock_locations",
    "stock_movements",
    "stock_rules",
    "tax_zones",
    "variants",
]

#: Constraint names are part of the schema: later migrations alter them by name.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata: Final = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware time, stored as UTC and read back as UTC-aware.

    PostgreSQL keeps the instant in ``timestamptz``; SQLite has no time type and would
    silently drop the offset, so the value is converted to UTC before it is written.
    A naive time is refused: its meaning depends on where it was made.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput(f"a stored time must be timezone-aware, got {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _units(name: str, *, nullable: bool = False) -> sa.Column[int]:
    """A non-negative amount in minor units."""
    return sa.Column(name, sa.BigInteger, nullable=nullable)


def _not_negative(*columns: str) -> list[sa.CheckConstraint]:
    return [sa.CheckConstraint(f"{c} >= 0", name=f"{c}_not_negative") for c in columns]


def _version() -> tuple[sa.Column[int], sa.CheckConstraint]:
    return (
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint("version >= 0", name="version_not_negative"),
    )


def _json(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    # none_as_null: a Python None is SQL NULL, never the JSON text 'null'.
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=nullable)


# --- catalogue ---------------------------------------------------------------------

categories: Final = sa.Table(
    "categories",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("slug", sa.String, nullable=False),
    sa.Column("parent_id", sa.String, sa.ForeignKey("categories.id"), nullable=True),
    sa.Column("seo_title", sa.String, nullable=False),
    sa.Column("seo_description", sa.Text, nullable=False),
    sa.Column("canonical_url", sa.String, nullable=False),
)

products: Final = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("slug", sa.String, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("tax_category", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("available_from", UtcDateTime, nullable=True),
    sa.Column("available_until", UtcDateTime, nullable=True),
    _json("attributes"),
    sa.Column("type_id", sa.String, nullable=True),
    _json("option_axes"),
    _json("tags"),
    _json("translations"),
    _json("media"),
    sa.Column("seo_title", sa.String, nullable=False),
    sa.Column("seo_description", sa.Text, nullable=False),
    sa.Column("canonical_url", sa.String, nullable=False),
    sa.Column("brand", sa.String, nullable=False),
    sa.Column("condition", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=True),
    sa.CheckConstraint(
        "available_from IS NULL OR available_until IS NULL OR available_until > available_from",
        name="window_ordered",
    ),
)

product_categories: Final = sa.Table(
    "product_categories",
    metadata,
    sa.Column(
        "product_id",
        sa.String,
        sa.ForeignKey("products.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("category_id", sa.String, sa.ForeignKey("categories.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index(None, "category_id"),
)

variants: Final = sa.Table(
    "variants",
    metadata,
    sa.Column("sku", sa.String, primary_key=True),
    sa.Column(
        "product_id",
        sa.String,
        sa.ForeignKey("products.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    _json("options"),
    sa.Column("weight_grams", sa.Integer, nullable=True),
    sa.Column("length_mm", sa.Integer, nullable=True),
    sa.Column("width_mm", sa.Integer, nullable=True),
    sa.Column("height_mm", sa.Integer, nullable=True),
    sa.Column("tax_category", sa.String, nullable=True),
    sa.Column("track_stock", sa.Boolean, nullable=False),
    sa.Column("digital", sa.Boolean, nullable=False),
    _json("components", nullable=True),
    _json("attributes"),
    sa.Column("gtin", sa.String, nullable=False),
    sa.Column("mpn", sa.String, nullable=False),
    sa.CheckConstraint("weight_grams > 0", name="weight_grams_positive"),
    sa.CheckConstraint(
        "(length_mm IS NULL AND width_mm IS NULL AND height_mm IS NULL)"
        " OR (length_mm > 0 AND width_mm > 0 AND height_mm > 0)",
        name="dimensions_complete",
    ),
)

product_types: Final = sa.Table(
    "product_types",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    _json("definition"),
)

collections: Final = sa.Table(
    "collections",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    _json("definition"),
)

product_slugs: Final = sa.Table(
    "product_slugs",
    metadata,
    # "": every channel; "": the product's own words rather than a translation's.
    sa.Column("channel", sa.String, primary_key=True),
    sa.Column("locale", sa.String, primary_key=True),
    sa.Column("slug", sa.String, primary_key=True),
    sa.Column(
        "product_id",
        sa.String,
        sa.ForeignKey("products.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # False: an earlier slug of the product, kept to redirect to its current one.
    sa.Column("current", sa.Boolean, nullable=False),
)
"""The slugs products are reached by, per channel and locale."""

catalog_changes: Final = sa.Table(
    "catalog_changes",
    metadata,
    # The record's own order: rows are only ever appended, never changed.
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("key", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index(None, "kind", "key", "id"),
)
"""Every change of the catalogue, with its time and actor."""

price_lists: Final = sa.Table(
    "price_lists",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("currency", sa.String(3), nullable=False, index=True),
    sa.Column("channel", sa.String, nullable=True),
    sa.Column("customer_group", sa.String, nullable=True),
)

prices: Final = sa.Table(
    "prices",
    metadata,
    sa.Column(
        "price_list_id",
        sa.String,
        sa.ForeignKey("price_lists.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("sku", sa.String, primary_key=True),
    _units("unit_units"),
    _json("tiers"),
    _units("sale_units", nullable=True),
    sa.Column("sale_starts_at", UtcDateTime, nullable=True),
    sa.Column("sale_ends_at", UtcDateTime, nullable=True),
    *_not_negative("unit_units", "sale_units"),
    sa.CheckConstraint(
        "sale_units IS NOT NULL OR (sale_starts_at IS NULL AND sale_ends_at IS NULL)",
        name="sale_window_needs_sale",
    ),
    sa.Index(None, "sku"),
)

tax_zones: Final = sa.Table(
    "tax_zones",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("region", sa.String, nullable=True),
    sa.Column("postal_prefix", sa.String, nullable=True),
    _json("rates"),
)

shipping_zones: Final = sa.Table(
    "shipping_zones",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    _json("definition"),
)

delivery_methods: Final = sa.Table(
    "delivery_methods",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    _json("definition"),
)

promotions: Final = sa.Table(
    "promotions",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    _json("definition"),
)

coupons: Final = sa.Table(
    "coupons",
    metadata,
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("promotion_id", sa.String, nullable=False, index=True),
    sa.Column("starts_at", UtcDateTime, nullable=True),
    sa.Column("ends_at", UtcDateTime, nullable=True),
    sa.Column("usage_limit", sa.Integer, nullable=True),
    sa.Column("usage_limit_per_customer", sa.Integer, nullable=True),
    *_not_negative("usage_limit", "usage_limit_per_customer"),
)

coupon_uses: Final = sa.Table(
    "coupon_uses",
    metadata,
    sa.Column("order_id", sa.String, primary_key=True),
    sa.Column("code", sa.String, primary_key=True),
    sa.Column("customer", sa.String, nullable=True),
    sa.Index(None, "code", "customer"),
)

# --- carts and checkouts -----------------------------------------------------------

carts: Final = sa.Table(
    "carts",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("token", sa.String, nullable=False, unique=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("customer_id", sa.String, nullable=True, index=True),
    sa.Column("channel", sa.String, nullable=True),
    sa.Column("max_quantity_per_line", sa.Integer, nullable=False),
    _json("coupon_codes"),
    *_version(),
    sa.CheckConstraint("max_quantity_per_line >= 1", name="max_quantity_positive"),
)

cart_lines: Final = sa.Table(
    "cart_lines",
    metadata,
    sa.Column(
        "cart_id", sa.String, sa.ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("sku", sa.String, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
)

checkouts: Final = sa.Table(
    "checkouts",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("email", sa.String, nullable=True),
    _json("shipping_address", nullable=True),
    _json("billing_address", nullable=True),
    _json("shipping", nullable=True),
    sa.Column("payment_gateway", sa.String, nullable=True),
    sa.Column("payment_token", sa.String, nullable=True),
    _units("quoted_total_units", nullable=True),
    # Whether gift cards or store credit pay part of it: their record is read then.
    sa.Column("with_tenders", sa.Boolean, nullable=False),
    *_version(),
    *_not_negative("quoted_total_units"),
)

# --- customers ---------------------------------------------------------------------

customers: Final = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("email", sa.String, nullable=False, index=True),
    sa.Column("name", sa.String, nullable=False),
    _json("groups"),
    _json("addresses"),
    _json("consents"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    *_version(),
)

# --- orders ------------------------------------------------------------------------

_ORDER_TOTALS: Final = (
    "subtotal_units",
    "discount_units",
    "shipping_units",
    "shipping_discount_units",
    "shipping_tax_units",
    "tax_units",
    "grand_total_units",
)

orders: Final = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("token", sa.String, nullable=False, unique=True),
    sa.Column("cart_id", sa.String, nullable=False),
    sa.Column("customer_id", sa.String, nullable=True, index=True),
    sa.Column("channel", sa.String, nullable=True),
    sa.Column("email", sa.String, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    *(_units(name) for name in _ORDER_TOTALS),
    sa.Column("prices_include_tax", sa.Boolean, nullable=False),
    _json("shipping_address", nullable=True),
    _json("billing_address", nullable=True),
    _json("shipping", nullable=True),
    _json("coupon_codes"),
    _json("promotion_ids"),
    # What gift cards and store credit paid of the order.
    _json("tenders"),
    sa.Column("payment_gateway", sa.String, nullable=False),
    sa.Column("idempotency_key", sa.String, nullable=False, unique=True),
    sa.Column("fingerprint", sa.String, nullable=False),
    sa.Column("placed_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("payment_status", sa.String, nullable=False),
    sa.Column("fulfilment_status", sa.String, nullable=False),
    _json("fulfilled"),
    sa.Column("shipped", sa.Boolean, nullable=False),
    _units("payment_capturable_units"),
    _units("payment_refundable_units"),
    _json("tax_address", nullable=True),
    sa.Column("tax_provider", sa.String, nullable=False, server_default=""),
    sa.Column("attention", sa.Text, nullable=False),
    sa.Column("email_key", sa.String, nullable=False),
    sa.Column("number", sa.String, nullable=False),
    *_version(),
    *_not_negative(*_ORDER_TOTALS, "payment_capturable_units", "payment_refundable_units"),
    # The number a customer knows the order by: unique, and how staff find it.
    sa.Index(None, "number", unique=True),
    # pending_payment() reads by status, oldest first.
    sa.Index(None, "status", "placed_at"),
    # Reports read the orders placed in a period.
    sa.Index(None, "placed_at"),
    # unpaid_count() counts a guest's orders by their email.
    sa.Index(None, "email_key", "status"),
    # One cart makes one order: only a cancelled one (a declined payment) frees it.
    sa.Index(
        "uq_orders_live_cart",
        "cart_id",
        unique=True,
        sqlite_where=sa.text("status <> 'cancelled'"),
        postgresql_where=sa.text("status <> 'cancelled'"),
    ),
)

_LINE_AMOUNTS: Final = (
    "unit_price_units",
    "subtotal_units",
    "discount_units",
    "tax_units",
    "total_units",
)

order_lines: Final = sa.Table(
    "order_lines",
    metadata,
    sa.Column(
        "order_id", sa.String, sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("product_id", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    *(_units(name) for name in _LINE_AMOUNTS),
    sa.Column("requires_shipping", sa.Boolean, nullable=False),
    sa.Column("track_stock", sa.Boolean, nullable=False),
    _json("adjustments"),
    _json("taxes"),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    *_not_negative(*_LINE_AMOUNTS),
)

order_history: Final = sa.Table(
    "order_history",
    metadata,
    sa.Column(
        "order_id", sa.String, sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)

# --- payments ----------------------------------------------------------------------

payments: Final = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("order_id", sa.String, nullable=False, index=True),
    sa.Column("gateway", sa.String, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    _units("amount_units"),
    sa.Column("reference", sa.String, nullable=True),
    _json("intents"),
    # When the oldest operation under way was asked for: the sweep looks for old ones.
    sa.Column("busy_since", UtcDateTime, nullable=True, index=True),
    sa.Column("attention", sa.Text, nullable=False),
    *_version(),
    *_not_negative("amount_units"),
    # NULL references (not yet known) never collide: both databases treat NULLs as
    # distinct in a unique constraint.
    sa.UniqueConstraint("gateway", "reference"),
)

payment_transactions: Final = sa.Table(
    "payment_transactions",
    metadata,
    sa.Column(
        "payment_id",
        sa.String,
        sa.ForeignKey("payments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("transaction_id", sa.String, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    _units("amount_units"),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("intent_id", sa.String, nullable=False),
    *_not_negative("amount_units"),
    sa.UniqueConstraint("payment_id", "position"),
)

# --- inventory ---------------------------------------------------------------------
# Stock items refer to their location by id only, like aggregates to one another.
# Quantities change only through conditional updates that re-check availability in
# the database (see ``inventory``); these constraints are the last line behind them.

stock_locations: Final = sa.Table(
    "stock_locations",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    _json("ships_to"),
)

stock_rules: Final = sa.Table(
    "stock_rules",
    metadata,
    sa.Column("sku", sa.String, primary_key=True),
    sa.Column("policy", sa.String, nullable=False),
    sa.Column("backorder_limit", sa.BigInteger, nullable=True),
    sa.Column("preorder_until", UtcDateTime, nullable=True),
    *_not_negative("backorder_limit"),
)

#: How far below zero available stock may ever go: the domain's "unlimited" backorder.
STOCK_FLOOR: Final = -1_000_000_000

stock_items: Final = sa.Table(
    "stock_items",
    metadata,
    sa.Column("sku", sa.String, primary_key=True),
    sa.Column("location_id", sa.String, primary_key=True),
    # Goods on the shelf are never fewer than none; backorders show as reserved
    # beyond on hand (available below zero), never as negative on hand.
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("reserved", sa.BigInteger, nullable=False),
    sa.Column("low_stock_threshold", sa.Integer, nullable=True),
    _json("reorder", nullable=True),
    *_version(),
    *_not_negative("on_hand", "reserved"),
    sa.CheckConstraint(f"on_hand - reserved >= {STOCK_FLOOR}", name="available_above_floor"),
)

stock_movements: Final = sa.Table(
    "stock_movements",
    metadata,
    # The ledger's own order: rows are only ever appended, never changed.
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("id", sa.String, nullable=False, unique=True),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("location_id", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("reference", sa.String, nullable=False),
    sa.CheckConstraint("quantity <> 0", name="quantity_not_zero"),
    sa.Index(None, "sku", "location_id", "seq"),
    # Reports read the sales of a period.
    sa.Index(None, "kind", "at"),
)

reservations: Final = sa.Table(
    "reservations",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("order_id", sa.String, nullable=False, index=True),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("location_id", sa.String, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    # expired_reservations() reads active holds by expiry, oldest first. Only active
    # holds are indexed, by a condition no bound parameter can meet, so a statement
    # naming holds by id and status stays on the primary key.
    sa.Index(
        "ix_reservations_active_expires_at",
        "expires_at",
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    ),
)

purchase_orders: Final = sa.Table(
    "purchase_orders",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("supplier", sa.String, nullable=False),
    sa.Column("location_id", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("expected_at", UtcDateTime, nullable=True),
    *_version(),
)

purchase_order_lines: Final = sa.Table(
    "purchase_order_lines",
    metadata,
    sa.Column(
        "purchase_order_id",
        sa.String,
        sa.ForeignKey("purchase_orders.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("received", sa.BigInteger, nullable=False),
    *_not_negative("quantity", "received"),
    sa.CheckConstraint("received <= quantity", name="received_within_quantity"),
)

# --- the outbox --------------------------------------------------------------------

outbox: Final = sa.Table(
    "outbox",
    metadata,
    # SQLite only numbers rows by itself for a column declared exactly INTEGER.
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("name", sa.String, nullable=False),
    _json("payload"),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("delivered_at", UtcDateTime, nullable=True),
    # When a relay had the broker confirm it (in-process delivery is delivered_at).
    sa.Column("relayed_at", UtcDateTime, nullable=True),
    sa.Index(None, "delivered_at", "id"),
    sa.Index(None, "relayed_at", "id"),
)

# --- stamps and leases -----------------------------------------------------------------

stamps: Final = sa.Table(
    "stamps",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
"""Version stamps: ``catalog`` is bumped by every catalogue write, in its transaction,
so that a cache of the catalogue knows when it is stale."""

relay_leases: Final = sa.Table(
    "relay_leases",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("holder", sa.String, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)
"""Which relay moves a stream of outbox events to a broker, until when."""

# --- fulfilment ----------------------------------------------------------------------

shipments: Final = sa.Table(
    "shipments",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("order_id", sa.String, nullable=False, index=True),
    sa.Column("location_id", sa.String, nullable=True),
    sa.Column("status", sa.String, nullable=False),
    _json("lines"),
    _json("items"),
    _json("parts_of"),
    _json("parcels"),
    sa.Column("carrier", sa.String, nullable=False),
    sa.Column("service", sa.String, nullable=False),
    sa.Column("tracking_number", sa.String, nullable=False, index=True),
    _json("label", nullable=True),
    _json("voided_labels"),
    _json("timeline"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("dispatched_at", UtcDateTime, nullable=True),
    sa.Column("delivered_at", UtcDateTime, nullable=True),
    *_version(),
    sa.Index("ix_shipments_location_id_status", "location_id", "status"),
)
"""A shipment: its units, label and tracking; the label's document is kept base64."""

notifications: Final = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("recipient", sa.String, nullable=False),
    sa.Column("template", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("status", sa.String, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    *_version(),
)
"""Each message a store means to send, once per key (notice and recipient)."""


records: Final = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("ref", sa.String, nullable=False),
    sa.Column("owner", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("due_at", UtcDateTime, nullable=True),
    sa.Column("at", UtcDateTime, nullable=False),
    _json("data"),
    *_version(),
    sa.Index("ix_records_kind_ref", "kind", "ref"),
    sa.Index("ix_records_kind_owner", "kind", "owner"),
    sa.Index("ix_records_kind_state_due_at", "kind", "state", "due_at"),
    # Records of a kind read in a period, or oldest first (a report, a listing).
    sa.Index("ix_records_kind_at", "kind", "at"),
)
"""The aggregates kept whole as one record each (returns, ledgers, gift cards,
invoices, cases), by the keys their ``index()`` names."""
