"""The storage backends every conformance test runs against: memory, a SQLite file,
and PostgreSQL when ``COMMERCEKIT_TEST_POSTGRES_URL`` names a server.

PostgreSQL runs in a schema of its own (``ck_<random>``), created for the test run
and dropped after it; each test starts from empty tables. Without the variable the
PostgreSQL cases are skipped, except in CI (``CI=true``), where a missing variable or
an unreachable server fails the run: CI must never pass by skipping the database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.adapters.storage.sql.schema import metadata
from commercekit.ports.storage import Storage
from tests.conftest import fresh_postgres_schema

POSTGRES_URL_VARIABLE = "COMMERCEKIT_TEST_POSTGRES_URL"
BACKENDS = ("memory", "sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL whose connections work in a fresh schema, dropped at the end of the run."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_storage(postgres_url: str) -> Iterator[SqlStorage]:
    """One migrated PostgreSQL storage for the run (migrating per test is slow)."""
    storage = SqlStorage.open(postgres_url)
    yield storage
    storage.close()


def _empty(storage: SqlStorage) -> None:
    names = ", ".join(table.name for table in metadata.sorted_tables)
    with storage.engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Storage]:
    """A new, empty storage of each kind."""
    backend: str = request.param
    if backend == "memory":
        yield MemoryStorage()
    elif backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "shop.db"
        sqlite = SqlStorage.open(f"sqlite:///{path}")
        yield sqlite
        sqlite.close()
    else:
        postgres: SqlStorage = request.getfixturevalue("postgres_storage")
        _empty(postgres)
        yield postgres


@pytest.fixture
def storage_postgresql(postgres_storage: SqlStorage) -> SqlStorage:
    """The run's PostgreSQL storage, emptied for this test."""
    _empty(postgres_storage)
    return postgres_storage
