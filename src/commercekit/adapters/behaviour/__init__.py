"""The behaviour logs that ship with commercekit, as a plugin: ``sql`` (an
append-only table in the store's own database) and ``memory`` (for ``memory://``
stores and tests). They reach a store through the ``register_behaviour_logs`` hook,
as a third-party log (a stream, a warehouse) would."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from commercekit.adapters._options import check_no_options
from commercekit.hookspecs import BehaviourLogFactory, hookimpl
from commercekit.ports.behaviour import BehaviourLog
from commercekit.ports.storage import Storage

__all__ = ["open_memory_log", "open_sql_log", "register_behaviour_logs"]


def _no_options(kind: str, options: Mapping[str, Any]) -> None:
    check_no_options(kind, "behaviour log", options, field="behaviour.options")


def open_sql_log(storage: Storage, options: Mapping[str, Any]) -> BehaviourLog:
    """Log to the store's own SQL database (it takes no options).

    :raises ConfigurationError: naming ``behaviour``, for a storage that is not SQL.
    :raises InvalidInput: naming ``behaviour.options``, for any option.
    """
    from commercekit.adapters.behaviour.sql import SqlBehaviourLog

    _no_options("sql", options)
    return SqlBehaviourLog.over(storage)


def open_memory_log(storage: Storage, options: Mapping[str, Any]) -> BehaviourLog:
    """Log in this process's memory, whatever the storage (it takes no options).

    :raises InvalidInput: naming ``behaviour.options``, for any option.
    """
    from commercekit.adapters.behaviour.memory import MemoryBehaviourLog

    _no_options("memory", options)
    return MemoryBehaviourLog()


@hookimpl
def register_behaviour_logs(register: Callable[[str, BehaviourLogFactory], None]) -> None:
    """Offer ``sql`` and ``memory``."""
    register("sql", open_sql_log)
    register("memory", open_memory_log)
