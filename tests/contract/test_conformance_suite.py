"""The storage conformance suite, turned on for every built-in storage: memory, a
SQLite file and PostgreSQL, as a storage plugin's author turns it on for theirs."""

from __future__ import annotations

import pytest

from commercekit.ports.storage import Storage
from commercekit.testing.conformance.storage import StorageConformance


class TestEveryBuiltInStorage(StorageConformance):
    @pytest.fixture(autouse=True)
    def _given(self, storage: Storage) -> None:
        self.storage = storage

    def make_storage(self) -> Storage:
        return self.storage
