"""Engines set up for commercekit, write transactions, and running the migrations."""

from __future__ import annotations

from typing import Any, Final

import attrs
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine, ExceptionContext, RootTransaction

from commercekit.adapters.storage.sql._driver import run_plain
from commercekit.adapters.storage.urls import shown_url, without_password
from commercekit.domain.errors import InvalidInput, SchemaOutOfDate, StorageUnavailable, shown

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SchemaOutOfDate",
    "SchemaUpgrade",
    "apply_migrations",
    "begin_write",
    "check_schema",
    "create_storage_engine",
    "migrate",
]

#: How long SQLite waits for another writer before giving up: long enough to ride out
#: a burst of checkouts, short enough that a stuck process shows up as an error.
BUSY_TIMEOUT_MS: Final = 15_000

#: Where the migrations live, as Alembic's "package:directory" resource path, so that
#: they run from an installed wheel without any alembic.ini.
SCRIPT_LOCATION: Final = "commercekit.adapters.storage:migrations"

#: SQLite's journal modes and sync levels a store may choose in its URL
#: (``sqlite:///shop.db?journal_mode=wal&synchronous=full``), with what each risks;
#: docs/performance.md says the same for people.
JOURNAL_MODES: Final = {
    "wal": "readers never wait for the writer; the default",
    "delete": "readers and the writer wait for each other; the file is one file",
    "truncate": "as delete, a little faster on some file systems",
    "persist": "as delete, keeping the journal file",
}
SYNC_LEVELS: Final = {
    "full": "a committed transaction survives a power cut; the default",
    "normal": "in WAL mode, a power cut can undo the last commits (never corrupts)",
    "off": "a power cut or an OS crash can corrupt the database",
}
_SQLITE_SETTINGS: Final = {"journal_mode": JOURNAL_MODES, "synchronous": SYNC_LEVELS}

# Any fixed number will do, as long as only commercekit's migrations take it.
_MIGRATION_LOCK: Final = 0x636B_6462
_BEGIN: Final = "commercekit.begin"


def create_storage_engine(url: str | sa.URL, **options: Any) -> Engine:
    """An engine for ``url``; for SQLite, one that commercekit's transactions work on.

    SQLite connections run in WAL mode (readers never wait for the writer) with
    ``synchronous=FULL`` (a commit survives a power cut), enforce foreign keys and
    wait :data:`BUSY_TIMEOUT_MS` for a busy database. The URL may choose another
    journal mode or sync level (``?journal_mode=delete&synchronous=normal``; see
    :data:`JOURNAL_MODES` and :data:`SYNC_LEVELS` for what each risks). SQLAlchemy
    gives each thread's unit of work its own pooled connection to a file database.

    Statement parameters are emails, addresses and payment tokens: the engine never
    puts them in an exception or a log line (``hide_parameters``), and PostgreSQL's
    error details, which quote the offending row, are left out of its errors.

    :param options: passed on to :func:`sqlalchemy.create_engine`, such as
        ``pool_size`` for a process with more threads than the default pool has
        connections (each unit of work holds one until it ends).
    :raises InvalidInput: naming ``url``, for one that names no database SQLAlchemy
        knows.
    :raises StorageUnavailable: when the database's driver is not installed.
    """
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        # Neither the URL nor the parser's complaint is repeated: either may hold
        # the password.
        raise InvalidInput(
            "not a database URL (sqlite:///path.db or postgresql+psycopg://...)", field="url"
        ) from None
    options = {"hide_parameters": True, **options}
    sqlite = parsed.get_backend_name() == "sqlite"
    settings: dict[str, str] = {}
    if sqlite:
        settings = _sqlite_settings(parsed)
        parsed = parsed.difference_update_query(list(_SQLITE_SETTINGS))
    try:
        engine = sa.create_engine(
            parsed, **(options if sqlite else {"pool_pre_ping": True, **options})
        )
    except sa.exc.NoSuchModuleError:
        raise InvalidInput(
            f"no database dialect {shown(parsed.drivername)} is installed", field="url"
        ) from None
    except ImportError as error:
        raise StorageUnavailable(
            shown_url(url), f"its driver is not installed ({error.name or error})"
        ) from None
    if not sqlite:
        sa.event.listen(engine, "handle_error", _without_row_details)
        return engine
    pragmas = {"journal_mode": "wal", "synchronous": "full", **settings}

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        _on_sqlite_connect(dbapi_connection, pragmas)

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _connect(engine: Engine) -> Connection:
    """A connection; a database that cannot be reached (or opened) is the
    configuration's error, said in one line that names no password."""
    try:
        return engine.connect()
    except sa.exc.DBAPIError as error:
        url = engine.url.render_as_string(hide_password=False)
        raise StorageUnavailable(shown_url(url), without_password(str(error.orig), url)) from error


def _without_row_details(context: ExceptionContext) -> None:
    # PostgreSQL explains an error in a DETAIL line that quotes the row's values
    # ("Key (token)=(...) already exists"), and psycopg puts it in the exception's
    # text: keep only the primary message there, and in SQLAlchemy's wrapper, so
    # that no token or email reaches a log through an error. The details stay
    # readable as ``error.orig.diag``, and the SQLSTATE that classifies the error
    # is untouched.
    original = context.original_exception
    primary = getattr(getattr(original, "diag", None), "message_primary", None)
    if not isinstance(primary, str) or original.args == (primary,):
        return
    original.args = (primary,)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        kind = type(original)
        wrapped.args = (f"({kind.__module__}.{kind.__name__}) {primary}",)


def _sqlite_settings(url: sa.URL) -> dict[str, str]:
    """The journal mode and sync level a SQLite URL asks for.

    :raises InvalidInput: naming the setting, for a value that is not one of
        :data:`JOURNAL_MODES` or :data:`SYNC_LEVELS`.
    """
    chosen: dict[str, str] = {}
    for name, allowed in _SQLITE_SETTINGS.items():
        value = url.query.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or value.lower() not in allowed:
            raise InvalidInput(f"must be one of {', '.join(allowed)}", field=name)
        chosen[name] = value.lower()
    return chosen


def _on_sqlite_connect(dbapi_connection: Any, pragmas: dict[str, str]) -> None:
    # SQLAlchemy's documented recipe: the sqlite3 module must not emit BEGIN itself
    # (it would do so late, and only DEFERRED), so that _on_sqlite_begin decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # Both values were checked against fixed lists.
        cursor.execute(f"PRAGMA journal_mode = {pragmas['journal_mode']}")
        cursor.execute(f"PRAGMA synchronous = {pragmas['synchronous']}")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    run_plain(connection, connection.info.get(_BEGIN, "BEGIN"))


def begin_write(connection: Connection) -> RootTransaction:
    """Begin a transaction that will write.

    On SQLite it starts with ``BEGIN IMMEDIATE``, taking the write lock up front: a
    busy database then makes it wait (up to the busy timeout) before anything is
    done, instead of failing half-way when a read transaction tries to become a write
    transaction after another writer committed.
    """
    if connection.dialect.name != "sqlite":
        return connection.begin()
    connection.info[_BEGIN] = "BEGIN IMMEDIATE"
    try:
        return connection.begin()
    finally:
        del connection.info[_BEGIN]


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@attrs.frozen
class SchemaUpgrade:
    """What bringing a database's schema up to date did."""

    before: tuple[str, ...]
    """The revisions the database was at (none for a new database)."""
    after: tuple[str, ...]
    """The revisions it is at now: this commercekit's newest."""
    applied: int
    """How many migrations ran (none when it was up to date already)."""


def apply_migrations(url: str | sa.URL) -> SchemaUpgrade:
    """Migrate the database at ``url`` to the newest schema and say what that took
    (what ``commercekit db upgrade URL`` runs). Running it again applies nothing.

    :raises InvalidInput: for a URL that names no database SQLAlchemy knows.
    :raises StorageUnavailable: for a database that cannot be reached or opened.
    """
    engine = create_storage_engine(url)
    try:
        return migrate(engine)
    finally:
        engine.dispose()


def migrate(engine: Engine) -> SchemaUpgrade:
    """Bring the schema to the newest revision; a no-op when it is there already.

    Processes that start together migrate one after another: SQLite's write lock or,
    on PostgreSQL, an advisory lock serialises them, and the later ones find nothing
    left to do.

    On SQLite, foreign keys are off while migrating: changing a table there means
    building a new one and dropping the old, and with foreign keys on the drop would
    delete every row that refers to it (an order's lines and history). They are
    checked once, before the migration commits.

    :returns: the revisions before and after, read under the same lock, so that a
        process that found nothing left to do says so.
    :raises StorageUnavailable: for a database that cannot be reached or opened.
    """
    with _connect(engine) as connection:
        sqlite = connection.dialect.name == "sqlite"
        # Through the driver itself: SQLite ignores the pragma inside a transaction,
        # and SQLAlchemy would begin one.
        driver: Any = connection.connection.driver_connection
        if sqlite:
            driver.execute("PRAGMA foreign_keys = OFF")
        try:
            with begin_write(connection):
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                    )
                before = _current_revisions(connection)
                command.upgrade(_config(connection), "head")
                after = _current_revisions(connection)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("the migration left rows referring to nothing")
            if sqlite:
                # Statistics for the planner on the tables that need them, bounded in
                # time however large the file is (PostgreSQL's autovacuum does this
                # there).
                driver.execute("PRAGMA analysis_limit = 1000")
                driver.execute("PRAGMA optimize")
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys = ON")
    return SchemaUpgrade(before, after, _migrations_between(before, after))


def _current_revisions(connection: Connection) -> tuple[str, ...]:
    """The revisions the database on ``connection`` is at, in order; none for a
    database no migration has touched yet."""
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def _migrations_between(before: tuple[str, ...], after: tuple[str, ...]) -> int:
    """How many migrations lead from ``before`` (the start, for none) to ``after``."""
    if before == after:
        return 0
    script = ScriptDirectory.from_config(_config())
    return sum(1 for _ in script.iterate_revisions(after, before or "base"))


def check_schema(engine: Engine) -> None:
    """:raises SchemaOutOfDate: unless the database is at the newest revision.
    :raises StorageUnavailable: for a database that cannot be reached or opened.
    """
    needed = set(ScriptDirectory.from_config(_config()).get_heads())
    with _connect(engine) as connection, connection.begin():
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != needed:
        raise SchemaOutOfDate(current, needed)
