"""Store what search engines and shopping feeds ask of the catalogue: a product's
brand, condition and canonical URL, a variant's GTIN and manufacturer part number,
and a category's SEO title, description and canonical URL. Rows stored before have
none of them (empty text), and every product stored before is new.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table, and its new columns with the value rows stored before take.
_COLUMNS: Final = {
    "products": (
        ("canonical_url", sa.String(), ""),
        ("brand", sa.String(), ""),
        ("condition", sa.String(), "new"),
    ),
    "variants": (("gtin", sa.String(), ""), ("mpn", sa.String(), "")),
    "categories": (
        ("seo_title", sa.String(), ""),
        ("seo_description", sa.Text(), ""),
        ("canonical_url", sa.String(), ""),
    ),
}


def upgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for name, kind, before in columns:
                batch.add_column(sa.Column(name, kind, nullable=False, server_default=before))


def downgrade() -> None:
    for table, columns in reversed(_COLUMNS.items()):
        with op.batch_alter_table(table) as batch:
            for name, _, _ in reversed(columns):
                batch.drop_column(name)
