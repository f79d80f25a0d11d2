"""The storage backends that ship with commercekit, as a plugin: ``memory://``,
``sqlite:///path.db`` and ``postgresql+psycopg://...``. They reach a store through
the ``register_storage_backends`` hook, as a third-party backend would."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from commercekit.hookspecs import hookimpl
from commercekit.ports.storage import PromotionType, Storage, StorageFactory

__all__ = ["open_memory", "open_sql", "register_storage_backends"]


def open_memory(url: str, *, promotion_types: Sequence[PromotionType]) -> Storage:
    """A fresh storage in this process's memory (``memory://``)."""
    from commercekit.adapters.storage.memory import MemoryStorage

    return MemoryStorage()


def open_sql(url: str, *, promotion_types: Sequence[PromotionType]) -> Storage:
    """SQL storage at ``url``, migrated to the newest schema."""
    from commercekit.adapters.storage.sql import SqlStorage

    return SqlStorage.open(url, promotion_types=promotion_types)


@hookimpl
def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
    """Offer memory, SQLite and PostgreSQL."""
    register("memory", open_memory)
    register("sqlite", open_sql)
    register("postgresql", open_sql)
