"""Create the storage tables: catalogue, prices, promotions, carts, checkouts, orders,
payments and the outbox.

Revision ID: 0001
Revises: (none, the first revision)
Create Date: 2026-11-27 02:06:55.607796
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=True),
        sa.Column("max_quantity_per_line", sa.Integer(), nullable=False),
        sa.Column("coupon_codes", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "max_quantity_per_line >= 1", name=op.f("ck_carts_max_quantity_positive")
        ),
        sa.CheckConstraint("version >= 0", name=op.f("ck_carts_version_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
        sa.UniqueConstraint("token", name=op.f("uq_carts_token")),
    )
    op.create_index(op.f("ix_carts_customer_id"), "carts", ["customer_id"], unique=False)
    op.create_table(
        "categories",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["categories.id"], name=op.f("fk_categories_parent_id_categories")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
    )
    op.create_table(
        "checkouts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("shipping_address", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("billing_address", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("shipping", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("payment_gateway", sa.String(), nullable=True),
        sa.Column("payment_token", sa.String(), nullable=True),
        sa.Column("quoted_total_units", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quoted_total_units >= 0", name=op.f("ck_checkouts_quoted_total_units_not_negative")
        ),
        sa.CheckConstraint("version >= 0", name=op.f("ck_checkouts_version_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkouts")),
    )
    op.create_table(
        "coupon_uses",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("customer", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("order_id", "code", name=op.f("pk_coupon_uses")),
    )
    op.create_index(
        op.f("ix_coupon_uses_code_customer"), "coupon_uses", ["code", "customer"], unique=False
    )
    op.create_table(
        "coupons",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("promotion_id", sa.String(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("usage_limit_per_customer", sa.Integer(), nullable=True),
        sa.CheckConstraint("usage_limit >= 0", name=op.f("ck_coupons_usage_limit_not_negative")),
        sa.CheckConstraint(
            "usage_limit_per_customer >= 0",
            name=op.f("ck_coupons_usage_limit_per_customer_not_negative"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_coupons")),
    )
    op.create_index(op.f("ix_coupons_promotion_id"), "coupons", ["promotion_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("cart_id", sa.String(), nullable=False),
        sa.Column("customer_id", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_units", sa.BigInteger(), nullable=False),
        sa.Column("discount_units", sa.BigInteger(), nullable=False),
        sa.Column("shipping_units", sa.BigInteger(), nullable=False),
        sa.Column("shipping_discount_units", sa.BigInteger(), nullable=False),
        sa.Column("shipping_tax_units", sa.BigInteger(), nullable=False),
        sa.Column("tax_units", sa.BigInteger(), nullable=False),
        sa.Column("grand_total_units", sa.BigInteger(), nullable=False),
        sa.Column("prices_include_tax", sa.Boolean(), nullable=False),
        sa.Column("shipping_address", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("billing_address", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("shipping", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("coupon_codes", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("promotion_ids", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("payment_gateway", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("payment_status", sa.String(), nullable=False),
        sa.Column("fulfilment_status", sa.String(), nullable=False),
        sa.Column("fulfilled", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "discount_units >= 0", name=op.f("ck_orders_discount_units_not_negative")
        ),
        sa.CheckConstraint(
            "grand_total_units >= 0", name=op.f("ck_orders_grand_total_units_not_negative")
        ),
        sa.CheckConstraint(
            "shipping_discount_units >= 0",
            name=op.f("ck_orders_shipping_discount_units_not_negative"),
        ),
        sa.CheckConstraint(
            "shipping_tax_units >= 0", name=op.f("ck_orders_shipping_tax_units_not_negative")
        ),
        sa.CheckConstraint(
            "shipping_units >= 0", name=op.f("ck_orders_shipping_units_not_negative")
        ),
        sa.CheckConstraint(
            "subtotal_units >= 0", name=op.f("ck_orders_subtotal_units_not_negative")
        ),
        sa.CheckConstraint("tax_units >= 0", name=op.f("ck_orders_tax_units_not_negative")),
        sa.CheckConstraint("version >= 0", name=op.f("ck_orders_version_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_orders_idempotency_key")),
        sa.UniqueConstraint("token", name=op.f("uq_orders_token")),
    )
    op.create_index(op.f("ix_orders_customer_id"), "orders", ["customer_id"], unique=False)
    op.create_index(
        op.f("ix_orders_status_placed_at"), "orders", ["status", "placed_at"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        op.f("ix_outbox_delivered_at_id"), "outbox", ["delivered_at", "id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("gateway", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_units", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount_units >= 0", name=op.f("ck_payments_amount_units_not_negative")),
        sa.CheckConstraint("version >= 0", name=op.f("ck_payments_version_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("gateway", "reference", name=op.f("uq_payments_gateway_reference")),
    )
    op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"], unique=False)
    op.create_table(
        "price_lists",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("customer_group", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_lists")),
    )
    op.create_index(op.f("ix_price_lists_currency"), "price_lists", ["currency"], unique=False)
    op.create_table(
        "products",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tax_category", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("available_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attributes", sa.JSON(none_as_null=True), nullable=False),
        sa.CheckConstraint(
            "available_from IS NULL OR available_until IS NULL OR available_until > available_from",
            name=op.f("ck_products_window_ordered"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
    )
    op.create_table(
        "promotions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("definition", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    op.create_table(
        "tax_zones",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(), nullable=True),
        sa.Column("postal_prefix", sa.String(), nullable=True),
        sa.Column("rates", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_zones")),
    )
    op.create_table(
        "cart_lines",
        sa.Column("cart_id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_cart_lines_cart_id_carts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("cart_id", "sku", name=op.f("pk_cart_lines")),
    )
    op.create_table(
        "order_history",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_history_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "position", name=op.f("pk_order_history")),
    )
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_units", sa.BigInteger(), nullable=False),
        sa.Column("subtotal_units", sa.BigInteger(), nullable=False),
        sa.Column("discount_units", sa.BigInteger(), nullable=False),
        sa.Column("tax_units", sa.BigInteger(), nullable=False),
        sa.Column("total_units", sa.BigInteger(), nullable=False),
        sa.Column("requires_shipping", sa.Boolean(), nullable=False),
        sa.Column("track_stock", sa.Boolean(), nullable=False),
        sa.Column("adjustments", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("taxes", sa.JSON(none_as_null=True), nullable=False),
        sa.CheckConstraint(
            "discount_units >= 0", name=op.f("ck_order_lines_discount_units_not_negative")
        ),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.CheckConstraint(
            "subtotal_units >= 0", name=op.f("ck_order_lines_subtotal_units_not_negative")
        ),
        sa.CheckConstraint("tax_units >= 0", name=op.f("ck_order_lines_tax_units_not_negative")),
        sa.CheckConstraint(
            "total_units >= 0", name=op.f("ck_order_lines_total_units_not_negative")
        ),
        sa.CheckConstraint(
            "unit_price_units >= 0", name=op.f("ck_order_lines_unit_price_units_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_lines_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", "position", name=op.f("pk_order_lines")),
    )
    op.create_table(
        "payment_transactions",
        sa.Column("payment_id", sa.String(), nullable=False),
        sa.Column("transaction_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("amount_units", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "amount_units >= 0", name=op.f("ck_payment_transactions_amount_units_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_transactions_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "payment_id", "transaction_id", name=op.f("pk_payment_transactions")
        ),
        sa.UniqueConstraint(
            "payment_id", "position", name=op.f("uq_payment_transactions_payment_id_position")
        ),
    )
    op.create_table(
        "prices",
        sa.Column("price_list_id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("unit_units", sa.BigInteger(), nullable=False),
        sa.Column("tiers", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("sale_units", sa.BigInteger(), nullable=True),
        sa.Column("sale_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sale_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("sale_units >= 0", name=op.f("ck_prices_sale_units_not_negative")),
        sa.CheckConstraint(
            "sale_units IS NOT NULL OR (sale_starts_at IS NULL AND sale_ends_at IS NULL)",
            name=op.f("ck_prices_sale_window_needs_sale"),
        ),
        sa.CheckConstraint("unit_units >= 0", name=op.f("ck_prices_unit_units_not_negative")),
        sa.ForeignKeyConstraint(
            ["price_list_id"],
            ["price_lists.id"],
            name=op.f("fk_prices_price_list_id_price_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("price_list_id", "sku", name=op.f("pk_prices")),
    )
    op.create_index(op.f("ix_prices_sku"), "prices", ["sku"], unique=False)
    op.create_table(
        "product_categories",
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("category_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_product_categories_category_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_categories_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "category_id", name=op.f("pk_product_categories")),
    )
    op.create_index(
        op.f("ix_product_categories_category_id"),
        "product_categories",
        ["category_id"],
        unique=False,
    )
    op.create_table(
        "variants",
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("weight_grams", sa.Integer(), nullable=True),
        sa.Column("length_mm", sa.Integer(), nullable=True),
        sa.Column("width_mm", sa.Integer(), nullable=True),
        sa.Column("height_mm", sa.Integer(), nullable=True),
        sa.Column("tax_category", sa.String(), nullable=True),
        sa.Column("track_stock", sa.Boolean(), nullable=False),
        sa.Column("digital", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "(length_mm IS NULL AND width_mm IS NULL AND height_mm IS NULL)"
            " OR (length_mm > 0 AND width_mm > 0 AND height_mm > 0)",
            name=op.f("ck_variants_dimensions_complete"),
        ),
        sa.CheckConstraint("weight_grams > 0", name=op.f("ck_variants_weight_grams_positive")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_variants_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_variants")),
    )
    op.create_index(op.f("ix_variants_product_id"), "variants", ["product_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_variants_product_id"), table_name="variants")
    op.drop_table("variants")
    op.drop_index(op.f("ix_product_categories_category_id"), table_name="product_categories")
    op.drop_table("product_categories")
    op.drop_index(op.f("ix_prices_sku"), table_name="prices")
    op.drop_table("prices")
    op.drop_table("payment_transactions")
    op.drop_table("order_lines")
    op.drop_table("order_history")
    op.drop_table("cart_lines")
    op.drop_table("tax_zones")
    op.drop_table("promotions")
    op.drop_table("products")
    op.drop_index(op.f("ix_price_lists_currency"), table_name="price_lists")
    op.drop_table("price_lists")
    op.drop_index(op.f("ix_payments_order_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_outbox_delivered_at_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_orders_status_placed_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_customer_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_coupons_promotion_id"), table_name="coupons")
    op.drop_table("coupons")
    op.drop_index(op.f("ix_coupon_uses_code_customer"), table_name="coupon_uses")
    op.drop_table("coupon_uses")
    op.drop_table("checkouts")
    op.drop_table("categories")
    op.drop_index(op.f("ix_carts_customer_id"), table_name="carts")
    op.drop_table("carts")
