"""The built-in stock allocation strategies, offered through the plugin hook like any
third-party one: ``priority`` (the default) and ``fewest_locations``."""

from __future__ import annotations

from collections.abc import Callable

from commercekit.domain.inventory import AllocationStrategy, FewestLocations, PriorityOrder
from commercekit.hookspecs import hookimpl

__all__ = ["register_allocation_strategies"]


@hookimpl
def register_allocation_strategies(register: Callable[[str, AllocationStrategy], None]) -> None:
    """Offer ``priority`` and ``fewest_locations``."""
    register("priority", PriorityOrder)
    register("fewest_locations", FewestLocations)
