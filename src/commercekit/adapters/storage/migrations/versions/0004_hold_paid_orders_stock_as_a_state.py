"""Hold a paid order's stock as a state: reservations once extended to 9999-01-01
become ``allocated``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The date earlier versions wrote for "held until shipped".
_HELD_UNTIL_SHIPPED = datetime(9999, 1, 1, tzinfo=UTC)

_reservations = sa.table(
    "reservations",
    sa.column("status", sa.String),
    sa.column("expires_at", sa.DateTime(timezone=True)),
)


def _when(bind: sa.engine.Connection) -> datetime:
    # SQLite keeps times as naive UTC (see schema.UtcDateTime).
    return (
        _HELD_UNTIL_SHIPPED.replace(tzinfo=None)
        if bind.dialect.name == "sqlite"
        else _HELD_UNTIL_SHIPPED
    )


def upgrade() -> None:
    bind = op.get_bind()
    op.execute(
        _reservations.update()
        .where(_reservations.c.status == "active", _reservations.c.expires_at >= _when(bind))
        .values(status="allocated")
    )


def downgrade() -> None:
    bind = op.get_bind()
    op.execute(
        _reservations.update()
        .where(_reservations.c.status == "allocated")
        .values(status="active", expires_at=_when(bind))
    )
