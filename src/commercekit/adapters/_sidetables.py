"""Tables an adapter keeps beside the store's own in its SQL database, outside its
schema and migrations (the search index, the behaviour log).

Such tables are created on first use, ``IF NOT EXISTS``: processes that start
together create them one after another (SQLite's write lock, or an advisory lock on
PostgreSQL), and the later ones find them there. A database that cannot be reached
says why without its password, and a failure while reading or writing says which
adapter failed without quoting the database's message (which may quote the data).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from commercekit.domain.errors import (
    CommerceError,
    ConcurrencyConflict,
    ConfigurationError,
    StorageUnavailable,
)

__all__ = ["SideTables", "engine_of"]

# PostgreSQL's serialization_failure, deadlock_detected and lock_not_available.
_CONTENTION_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})


def engine_of(storage: object, *, what: str, field: str, instead: str) -> Engine:
    """The SQLAlchemy engine of a SQL storage (storage adapters are not imported).

    :raises ConfigurationError: naming ``field``, for a storage without one.
    """
    engine = getattr(storage, "engine", None)
    if not isinstance(engine, Engine):
        raise ConfigurationError(
            f"the sql {what} lives in the store's own SQL database, and "
            f"{type(storage).__name__} has none: use {instead}",
            field=field,
        )
    if engine.dialect.name not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"the sql {what} works on SQLite and PostgreSQL, not {engine.dialect.name}",
            field=field,
        )
    return engine


def is_contention(error: sa.exc.DBAPIError) -> bool:
    """Whether the database gave up waiting for another writer (a deadlock, a
    serialization failure, a database still locked after the busy timeout)."""
    original = error.orig
    name = getattr(original, "sqlite_errorname", None)
    return getattr(original, "sqlstate", None) in _CONTENTION_SQLSTATES or (
        isinstance(name, str) and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    )


@final
class SideTables:
    """The tables of ``metadata`` in ``engine``'s database, created once when first
    needed. Safe to share between threads."""

    def __init__(
        self,
        engine: Engine,
        metadata: sa.MetaData,
        *,
        what: str,
        lock_key: int,
        also: Callable[[Connection], object] | None = None,
    ) -> None:
        """:param what: how errors name the adapter (``search``, ``behaviour log``).
        :param lock_key: the advisory lock PostgreSQL creation takes (any number
            only this adapter's creation takes).
        :param also: what else creation does, in the same transaction (an FTS table).
        """
        self.engine: Final = engine
        self.postgres: Final = engine.dialect.name == "postgresql"
        self._metadata = metadata
        self._what = what
        self._lock_key = lock_key
        self._also: Callable[[Connection], object] | None = also
        self._created = False
        self._creating = threading.Lock()

    def connection(self) -> Connection:
        """A connection; a database that cannot be reached says why (without its
        password)."""
        try:
            return self.engine.connect()
        except sa.exc.DBAPIError as error:
            url = self.engine.url
            reason = str(error.orig)
            if url.password:
                reason = reason.replace(str(url.password), "***")
            raise StorageUnavailable(url.render_as_string(hide_password=True), reason) from error

    def translated(self, error: sa.exc.DBAPIError) -> CommerceError:
        """A database's failure as commercekit says it: contention is a conflict to try
        again, anything else a database that cannot be used."""
        if is_contention(error):
            return ConcurrencyConflict(f"the {self._what} was busy too long; nothing was changed")
        url = self.engine.url.render_as_string(hide_password=True)
        return StorageUnavailable(url, f"{self._what} failed: {type(error.orig).__name__}")

    def ensure(self, check: Callable[[Connection], None] | None = None) -> None:
        """Create the tables, unless this object did already.

        :param check: called first, on the connection, to refuse a database too old.
        """
        if self._created:
            return
        with self._creating:
            if self._created:
                return
            with self.connection() as connection:
                if check is not None:
                    check(connection)
                try:
                    with connection.begin():
                        self._create(connection)
                except sa.exc.DBAPIError as error:
                    if is_contention(error):
                        raise self.translated(error) from error
                    # Creating tables quotes no one's data: the database's reason is
                    # shown whole (this role may not create, this SQLite lacks FTS5).
                    url = self.engine.url.render_as_string(hide_password=True)
                    reason = f"cannot create the {self._what} tables: {error.orig}"
                    raise StorageUnavailable(url, reason) from error
            self._created = True

    def _create(self, connection: Connection) -> None:
        if self.postgres:
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key}
            )
        for table in self._metadata.sorted_tables:
            connection.execute(sa.schema.CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                connection.execute(sa.schema.CreateIndex(index, if_not_exists=True))
        if self._also is not None:
            self._also(connection)
