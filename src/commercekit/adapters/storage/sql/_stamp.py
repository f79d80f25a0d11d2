"""The catalogue's version stamp: one row that every catalogue write bumps in its own
transaction, so that a cache of the catalogue knows from one read whether it is stale."""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._driver import Prepared
from commercekit.adapters.storage.sql.session import Session

__all__ = ["READ_STAMP", "bump", "bump_stamp"]

_STAMP: Final = "catalog"
READ_STAMP: Final = Prepared(sa.select(t.stamps.c.value).where(t.stamps.c.name == _STAMP))
_BUMP_STAMP: Final = (
    t.stamps.update().where(t.stamps.c.name == _STAMP).values(value=t.stamps.c.value + 1)
)


def bump_stamp(session: Session) -> None:
    """Stage a change of the catalogue's stamp, written with the catalogue-wide write
    staged beside it."""
    session.queue(bump)


def bump(connection: Connection) -> None:
    """Change the stamp now, in the write transaction ``connection`` holds."""
    connection.execute(_BUMP_STAMP)
