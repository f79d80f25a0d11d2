"""Index the records by kind and time, so that records of one kind read in a period
(the carts whose recovery began in a month, for the abandoned-carts report) or oldest
first read only those rows.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 11:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_records_kind_at", "records", ["kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_records_kind_at", table_name="records")
