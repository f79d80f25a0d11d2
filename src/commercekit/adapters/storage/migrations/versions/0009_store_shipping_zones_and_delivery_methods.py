"""Store shipping zones and delivery methods, each as a JSON definition: shipping
becomes data a merchant edits at run time, cached with the catalogue.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("shipping_zones", "delivery_methods")


def upgrade() -> None:
    for name in _TABLES:
        op.create_table(
            name,
            sa.Column("id", sa.String(), nullable=False),
            sa.Column("definition", sa.JSON(none_as_null=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        )


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
