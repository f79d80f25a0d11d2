"""The catalogue search backends that ship with commercekit, as a plugin: ``sql``
(SQLite's FTS5 or PostgreSQL's full text, in the store's own database) and
``memory`` (for ``memory://`` stores and tests). They reach a store through the
``register_search_backends`` hook, as a third-party backend would."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from commercekit.adapters.search._shared import check_no_options
from commercekit.hookspecs import SearchBackendFactory, hookimpl
from commercekit.ports.search import SearchBackend
from commercekit.ports.storage import Storage

__all__ = ["open_memory_search", "open_sql_search", "register_search_backends"]


def open_sql_search(storage: Storage, options: Mapping[str, Any]) -> SearchBackend:
    """Search the store's own SQL database (it takes no options).

    :raises ConfigurationError: naming ``search``, for a storage that is not SQL.
    :raises InvalidInput: naming ``search.options``, for any option.
    """
    from commercekit.adapters.search.sql import SqlSearchBackend

    check_no_options("sql", options)
    return SqlSearchBackend.over(storage)


def open_memory_search(storage: Storage, options: Mapping[str, Any]) -> SearchBackend:
    """Search in this process's memory, whatever the storage (it takes no options).

    :raises InvalidInput: naming ``search.options``, for any option.
    """
    from commercekit.adapters.search.memory import MemorySearchBackend

    check_no_options("memory", options)
    return MemorySearchBackend()


@hookimpl
def register_search_backends(register: Callable[[str, SearchBackendFactory], None]) -> None:
    """Offer ``sql`` and ``memory``."""
    register("sql", open_sql_search)
    register("memory", open_memory_search)
