"""Store what a catalogue grows into: product types and collections (each a JSON
definition), a product's type, option axes, tags, translations, media, SEO text and
when it was added, a variant's attributes, the slugs products are reached by (with
the redirects of earlier ones), and a record of every catalogue change.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON(none_as_null=True)
_DEFINED = ("product_types", "collections")
# Products stored before this revision have none of these: empty, not missing.
_PRODUCT_JSON = (("option_axes", "[]"), ("tags", "[]"), ("translations", "{}"), ("media", "[]"))
_PRODUCT_COLUMNS = (
    "type_id",
    *(name for name, _ in _PRODUCT_JSON),
    "seo_title",
    "seo_description",
    "created_at",
)


def upgrade() -> None:
    op.add_column("products", sa.Column("type_id", sa.String(), nullable=True))
    for name, empty in _PRODUCT_JSON:
        op.add_column("products", sa.Column(name, _JSON, nullable=False, server_default=empty))
    op.add_column(
        "products", sa.Column("seo_title", sa.String(), nullable=False, server_default="")
    )
    op.add_column(
        "products", sa.Column("seo_description", sa.Text(), nullable=False, server_default="")
    )
    op.add_column("products", sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("variants", sa.Column("attributes", _JSON, nullable=False, server_default="{}"))
    for name in _DEFINED:
        op.create_table(
            name,
            sa.Column("id", sa.String(), nullable=False),
            sa.Column("definition", _JSON, nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        )
    op.create_table(
        "product_slugs",
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("locale", sa.String(), nullable=False),
        sa.Column("slug", sa.String(), nullable=False),
        sa.Column("product_id", sa.String(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_slugs_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "locale", "slug", name=op.f("pk_product_slugs")),
    )
    op.create_index(op.f("ix_product_slugs_product_id"), "product_slugs", ["product_id"])
    # Every product already stored keeps its slug, in every channel. Earlier versions
    # let two products share one: the first by id keeps it, and the other is reached
    # by a slug of its own once it is saved again.
    products = sa.table("products", sa.column("id", sa.String()), sa.column("slug", sa.String()))
    slugs = sa.table(
        "product_slugs",
        *(sa.column(name, sa.String()) for name in ("channel", "locale", "slug", "product_id")),
        sa.column("current", sa.Boolean()),
    )
    first = sa.select(
        sa.literal(""), sa.literal(""), products.c.slug, sa.func.min(products.c.id), sa.true()
    ).group_by(products.c.slug)
    op.execute(
        slugs.insert().from_select(["channel", "locale", "slug", "product_id", "current"], first)
    )
    op.create_table(
        "catalog_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_changes")),
    )
    op.create_index(
        op.f("ix_catalog_changes_kind_key_id"), "catalog_changes", ["kind", "key", "id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_catalog_changes_kind_key_id"), table_name="catalog_changes")
    op.drop_table("catalog_changes")
    op.drop_index(op.f("ix_product_slugs_product_id"), table_name="product_slugs")
    op.drop_table("product_slugs")
    for name in reversed(_DEFINED):
        op.drop_table(name)
    with op.batch_alter_table("variants") as batch:
        batch.drop_column("attributes")
    with op.batch_alter_table("products") as batch:
        for name in reversed(_PRODUCT_COLUMNS):
            batch.drop_column(name)
