"""Record which tax provider said what each order's lines pay (the store's own zones
for every order placed before: ``zones``).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 08:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("tax_provider", sa.String(), nullable=False, server_default=""))
    orders = sa.table("orders", sa.column("tax_provider", sa.String()))
    op.execute(orders.update().values(tax_provider="zones"))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tax_provider")
