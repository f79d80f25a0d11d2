"""Record on each order what gift cards and store credit paid of it (its tenders), and
on each checkout whether they are to pay part of it; an order placed before was paid
by its gateway alone.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column("tenders", sa.JSON(none_as_null=True), nullable=False, server_default="[]"),
    )
    op.add_column(
        "checkouts",
        sa.Column("with_tenders", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("checkouts") as batch:
        batch.drop_column("with_tenders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tenders")
