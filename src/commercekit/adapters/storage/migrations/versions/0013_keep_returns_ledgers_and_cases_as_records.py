"""Keep the aggregates stored whole (returns, refund ledgers, store credit, gift
cards, invoices and their sequences, support cases) as one record each, by the keys
they are found by.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("version >= 0", name=op.f("ck_records_version_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
    )
    op.create_index("ix_records_kind_ref", "records", ["kind", "ref"])
    op.create_index("ix_records_kind_owner", "records", ["kind", "owner"])
    op.create_index("ix_records_kind_state_due_at", "records", ["kind", "state", "due_at"])


def downgrade() -> None:
    op.drop_table("records")
