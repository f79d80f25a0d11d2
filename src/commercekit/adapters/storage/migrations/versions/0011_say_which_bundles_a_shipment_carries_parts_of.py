"""Say which order lines a shipment carries only parts of (a bundle whose parts are
held in several places): the line counts as shipped once they have all left.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "shipments",
        sa.Column("parts_of", sa.JSON(none_as_null=True), nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    with op.batch_alter_table("shipments") as table:
        table.drop_column("parts_of")
