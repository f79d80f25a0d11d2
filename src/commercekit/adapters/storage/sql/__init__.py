"""SQL storage through SQLAlchemy Core: SQLite as the embedded default
(``sqlite:///shop.db``), PostgreSQL for production (``postgresql+psycopg://...``).

One schema, migrated with Alembic, serves both::

    storage = SqlStorage.open("sqlite:///shop.db")  # creates and migrates the file
    with storage.unit_of_work() as uow:
        cart = uow.carts.get(cart_id)
        cart.add("RETRO-CLOCK", 2)
        uow.carts.save(cart)
        events = uow.commit()
"""

from __future__ import annotations

from commercekit.adapters.storage.sql._database import (
    BUSY_TIMEOUT_MS,
    SchemaUpgrade,
    apply_migrations,
    create_storage_engine,
)
from commercekit.adapters.storage.sql.storage import SqlStorage, upgrade
from commercekit.adapters.storage.sql.unit_of_work import SqlUnitOfWork

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SchemaUpgrade",
    "SqlStorage",
    "SqlUnitOfWork",
    "apply_migrations",
    "create_storage_engine",
    "upgrade",
]
