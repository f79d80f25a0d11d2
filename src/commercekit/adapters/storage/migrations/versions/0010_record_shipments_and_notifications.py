"""Record shipments (their units, labels and tracking) and the notifications a store
sends, each once; an order's fulfilment status now speaks of shipping and delivery.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON(none_as_null=True)
_RENAMED = (("partially_fulfilled", "partially_shipped"), ("fulfilled", "shipped"))


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("order_id", sa.String(), nullable=False),
        sa.Column("location_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("lines", _JSON, nullable=False),
        sa.Column("items", _JSON, nullable=False),
        sa.Column("parcels", _JSON, nullable=False),
        sa.Column("carrier", sa.String(), nullable=False),
        sa.Column("service", sa.String(), nullable=False),
        sa.Column("tracking_number", sa.String(), nullable=False),
        sa.Column("label", _JSON, nullable=True),
        sa.Column("voided_labels", _JSON, nullable=False),
        sa.Column("timeline", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("version >= 0", name=op.f("ck_shipments_version_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    op.create_index(op.f("ix_shipments_order_id"), "shipments", ["order_id"])
    op.create_index(op.f("ix_shipments_tracking_number"), "shipments", ["tracking_number"])
    op.create_index("ix_shipments_location_id_status", "shipments", ["location_id", "status"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("template", sa.String(), nullable=False),
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("version >= 0", name=op.f("ck_notifications_version_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_status"), "notifications", ["status"])
    orders = sa.table("orders", sa.column("fulfilment_status", sa.String()))
    for old, new in _RENAMED:
        op.execute(
            orders.update().where(orders.c.fulfilment_status == old).values(fulfilment_status=new)
        )


def downgrade() -> None:
    orders = sa.table("orders", sa.column("fulfilment_status", sa.String()))
    for old, new in _RENAMED:
        op.execute(
            orders.update().where(orders.c.fulfilment_status == new).values(fulfilment_status=old)
        )
    op.execute(
        orders.update()
        .where(orders.c.fulfilment_status.in_(["partially_delivered", "delivered"]))
        .values(fulfilment_status="fulfilled")
    )
    op.drop_index(op.f("ix_notifications_status"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_shipments_location_id_status", table_name="shipments")
    op.drop_index(op.f("ix_shipments_tracking_number"), table_name="shipments")
    op.drop_index(op.f("ix_shipments_order_id"), table_name="shipments")
    op.drop_table("shipments")
