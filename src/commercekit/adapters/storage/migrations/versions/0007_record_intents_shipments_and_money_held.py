"""Record operations under way and what needs attention on payments; on orders, whether
they shipped, the money their payment holds, the address their tax came from, and
what needs attention; one live order per cart.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUCCEEDED = "t.status = 'succeeded'"
_LEDGER = "FROM payment_transactions t JOIN payments p ON p.id = t.payment_id"


def _sum(kind: str) -> str:
    return (
        f"COALESCE((SELECT SUM(t.amount_units) {_LEDGER} WHERE p.order_id = orders.id"
        f" AND t.kind = '{kind}' AND {_SUCCEEDED}), 0)"
    )


def upgrade() -> None:
    op.add_column(
        "payments",
        sa.Column("intents", sa.JSON(none_as_null=True), nullable=False, server_default="[]"),
    )
    op.add_column("payments", sa.Column("attention", sa.Text(), nullable=False, server_default=""))
    op.add_column("payments", sa.Column("busy_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_payments_busy_since"), "payments", ["busy_since"])
    op.add_column(
        "payment_transactions",
        sa.Column("intent_id", sa.String(), nullable=False, server_default=""),
    )
    op.add_column(
        "orders", sa.Column("shipped", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    for name in ("payment_capturable_units", "payment_refundable_units"):
        op.add_column(
            "orders", sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
        )
    op.add_column("orders", sa.Column("tax_address", sa.JSON(none_as_null=True), nullable=True))
    op.add_column("orders", sa.Column("attention", sa.Text(), nullable=False, server_default=""))
    op.add_column("orders", sa.Column("email_key", sa.String(), nullable=False, server_default=""))
    op.create_index(op.f("ix_orders_email_key_status"), "orders", ["email_key", "status"])
    # What earlier versions knew, worked out again from the ledgers and the holds;
    # an earlier order's email, lower-cased, is the nearest to one spelling SQL gives.
    op.execute("UPDATE orders SET email_key = LOWER(email)")
    op.execute(
        "UPDATE orders SET shipped = EXISTS (SELECT 1 FROM reservations r"
        " WHERE r.order_id = orders.id AND r.status = 'consumed')"
    )
    op.execute(f"UPDATE orders SET payment_refundable_units = {_sum('capture')} - {_sum('refund')}")
    op.execute(
        "UPDATE orders SET payment_capturable_units = CASE WHEN EXISTS (SELECT 1"
        f" {_LEDGER} WHERE p.order_id = orders.id AND t.kind = 'void' AND {_SUCCEEDED})"
        f" THEN 0 ELSE {_sum('authorize')} - {_sum('capture')} END"
    )
    with op.batch_alter_table("orders") as batch:
        for name in ("payment_capturable_units", "payment_refundable_units"):
            batch.create_check_constraint(f"{name}_not_negative", sa.text(f"{name} >= 0"))
    _refuse_carts_with_two_live_orders()
    op.create_index(
        "uq_orders_live_cart",
        "orders",
        ["cart_id"],
        unique=True,
        sqlite_where=sa.text("status <> 'cancelled'"),
        postgresql_where=sa.text("status <> 'cancelled'"),
    )


def _refuse_carts_with_two_live_orders() -> None:
    # Earlier versions let one cart become two orders; which of them stands is for
    # the shop to decide (cancel the other), never for a migration.
    carts = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT cart_id FROM orders WHERE status <> 'cancelled'"
                " GROUP BY cart_id HAVING COUNT(*) > 1 ORDER BY cart_id"
            )
        )
        .scalars()
        .all()
    )
    if carts:
        shown = ", ".join(carts[:5]) + (f" and {len(carts) - 5} more" if len(carts) > 5 else "")
        raise CommandError(
            f"{len(carts)} cart(s) have more than one order that is not cancelled ({shown});"
            " cancel all but one order of each with the earlier version, then upgrade"
        )


def downgrade() -> None:
    op.drop_index("uq_orders_live_cart", table_name="orders")
    op.drop_index(op.f("ix_orders_email_key_status"), table_name="orders")
    with op.batch_alter_table("orders") as batch:
        for name in ("payment_capturable_units", "payment_refundable_units"):
            batch.drop_constraint(op.f(f"ck_orders_{name}_not_negative"), type_="check")
    with op.batch_alter_table("orders") as batch:
        for name in (
            "email_key",
            "attention",
            "tax_address",
            "payment_refundable_units",
            "payment_capturable_units",
            "shipped",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("payment_transactions") as batch:
        batch.drop_column("intent_id")
    op.drop_index(op.f("ix_payments_busy_since"), table_name="payments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("busy_since")
        batch.drop_column("attention")
        batch.drop_column("intents")
