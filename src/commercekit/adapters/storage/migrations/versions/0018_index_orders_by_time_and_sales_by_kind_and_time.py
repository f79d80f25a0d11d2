"""Index orders by when they were placed, and the stock ledger by kind and time, so
that a report over a month reads that month's rows rather than every row.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
    op.create_index("ix_stock_movements_kind_at", "stock_movements", ["kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_stock_movements_kind_at", table_name="stock_movements")
    op.drop_index("ix_orders_placed_at", table_name="orders")
