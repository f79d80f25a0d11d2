"""Give every order the number a customer knows it by (``WEB-4K7Q2M9X``), unique in
the store; an order placed before has one derived from its id.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule of commercekit.domain.orders.order_number as this revision knows it: a
# migration keeps its own copy, so that it writes the same numbers whatever the code
# later becomes.
_ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_LENGTH: Final = 8
_BATCH: Final = 1000

_orders = sa.table(
    "orders",
    sa.column("id", sa.String),
    sa.column("channel", sa.String),
    sa.column("number", sa.String),
)


def _number(channel: str | None, seed: str) -> str:
    prefix = channel.upper() if channel else "ORD"
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    value = int.from_bytes(digest[:8], "big")
    code = []
    for _ in range(_LENGTH):
        value, digit = divmod(value, len(_ALPHABET))
        code.append(_ALPHABET[digit])
    return f"{prefix}-{''.join(code)}"


def upgrade() -> None:
    op.add_column("orders", sa.Column("number", sa.String(), nullable=False, server_default=""))
    bind = op.get_bind()
    taken: set[str] = set()
    after = ""
    while True:
        page = bind.execute(
            sa.select(_orders.c.id, _orders.c.channel)
            .where(_orders.c.id > after)
            .order_by(_orders.c.id)
            .limit(_BATCH)
        ).all()
        if not page:
            break
        numbered = []
        for order_id, channel in page:
            number, tries = _number(channel, order_id), 0
            while number in taken:  # two ids that drew one code: the later draws again
                tries += 1
                number = _number(channel, f"{order_id}:{tries}")
            taken.add(number)
            numbered.append({"order_id": order_id, "order_number": number})
        bind.execute(
            _orders.update()
            .where(_orders.c.id == sa.bindparam("order_id"))
            .values(number=sa.bindparam("order_number")),
            numbered,
        )
        after = page[-1][0]
    op.create_index("ix_orders_number", "orders", ["number"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_orders_number", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("number")
