"""Add the sales channel to carts and orders.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("carts", "orders"):
        op.add_column(table, sa.Column("channel", sa.String(), nullable=True))


def downgrade() -> None:
    for table in ("carts", "orders"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("channel")
