"""Create the inventory tables: stock locations and rules, stock items, the movement
ledger, reservations and purchase orders.

Coupons need no new column: a coupon's uses are counted from ``coupon_uses`` under a
lock on the coupon's row, so there is no second count to keep in step.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 02:26:09.992280
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seq() -> sa.Column[int]:
    # SQLite only numbers rows by itself for a column declared exactly INTEGER.
    return sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "stock_locations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("ships_to", sa.JSON(none_as_null=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_locations")),
    )
    op.create_table(
        "stock_rules",
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("policy", sa.String(), nullable=False),
        sa.Column("backorder_limit", sa.BigInteger(), nullable=True),
        sa.Column("preorder_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "backorder_limit >= 0", name=op.f("ck_stock_rules_backorder_limit_not_negative")
        ),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_stock_rules")),
    )
    op.create_table(
        "stock_items",
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("low_stock_threshold", sa.Integer(), nullable=True),
        sa.Column("reorder", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "on_hand - reserved >= -1000000000",
            name=op.f("ck_stock_items_available_above_floor"),
        ),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_stock_items_on_hand_not_negative")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_stock_items_reserved_not_negative")),
        sa.CheckConstraint("version >= 0", name=op.f("ck_stock_items_version_not_negative")),
        sa.PrimaryKeyConstraint("sku", "location_id", name=op.f("pk_stock_items")),
    )
    op.create_table(
        "stock_movements",
        _seq(),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_stock_movements_quantity_not_zero")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_stock_movements")),
        sa.UniqueConstraint("id", name=op.f("uq_stock_movements_id")),
    )
    op.create_index(
        op.f("ix_stock_movements_sku_location_id_seq"),
        "stock_movements",
        ["sku", "location_id", "seq"],
        unique=False,
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_reservations_quantity_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
    )
    op.create_index(op.f("ix_reservations_order_id"), "reservations", ["order_id"], unique=False)
    op.create_index(
        op.f("ix_reservations_status_expires_at"),
        "reservations",
        ["status", "expires_at"],
        unique=False,
    )
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("supplier", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("version >= 0", name=op.f("ck_purchase_orders_version_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
    )
    op.create_table(
        "purchase_order_lines",
        sa.Column("purchase_order_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "quantity >= 0", name=op.f("ck_purchase_order_lines_quantity_not_negative")
        ),
        sa.CheckConstraint(
            "received <= quantity",
            name=op.f("ck_purchase_order_lines_received_within_quantity"),
        ),
        sa.CheckConstraint(
            "received >= 0", name=op.f("ck_purchase_order_lines_received_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_lines_purchase_order_id_purchase_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "purchase_order_id", "position", name=op.f("pk_purchase_order_lines")
        ),
    )


def downgrade() -> None:
    op.drop_table("purchase_order_lines")
    op.drop_table("purchase_orders")
    op.drop_index(op.f("ix_reservations_status_expires_at"), table_name="reservations")
    op.drop_index(op.f("ix_reservations_order_id"), table_name="reservations")
    op.drop_table("reservations")
    op.drop_index(op.f("ix_stock_movements_sku_location_id_seq"), table_name="stock_movements")
    op.drop_table("stock_movements")
    op.drop_table("stock_items")
    op.drop_table("stock_rules")
    op.drop_table("stock_locations")
