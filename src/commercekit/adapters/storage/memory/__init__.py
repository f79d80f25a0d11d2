"""In-memory storage, for tests and quick scripts (``memory://``)."""

from __future__ import annotations

from commercekit.adapters.storage.memory.unit_of_work import MemoryStorage, MemoryUnitOfWork

__all__ = ["MemoryStorage", "MemoryUnitOfWork"]
