"""Stamp the catalogue with a version every catalogue write bumps (so that every
process can cache it), let relays move outbox events to a broker one lease at a
time, and index active holds by expiry only, so that statements naming holds by id
stay on the primary key however many holds there are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    stamps = op.create_table(
        "stamps",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stamps")),
    )
    op.bulk_insert(stamps, [{"name": "catalog", "value": 1}])
    op.create_table(
        "relay_leases",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_relay_leases")),
    )
    # Events written before a relay existed are relayed too: at least once means
    # from the first event on.
    op.add_column("outbox", sa.Column("relayed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_outbox_relayed_at_id"), "outbox", ["relayed_at", "id"])
    op.drop_index(op.f("ix_reservations_status_expires_at"), table_name="reservations")
    op.create_index(
        "ix_reservations_active_expires_at",
        "reservations",
        ["expires_at"],
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_reservations_active_expires_at", table_name="reservations")
    op.create_index(
        op.f("ix_reservations_status_expires_at"), "reservations", ["status", "expires_at"]
    )
    op.drop_index(op.f("ix_outbox_relayed_at_id"), table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("relayed_at")
    op.drop_table("relay_leases")
    op.drop_table("stamps")
