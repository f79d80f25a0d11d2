"""Alembic environment for the SQL storage.

commercekit runs it itself (``SqlStorage.open`` and ``upgrade``), handing over an open
connection in ``config.attributes["connection"]`` whose transaction it already began,
so no ``alembic.ini`` is needed at runtime. A developer writing a new revision may
instead give ``sqlalchemy.url`` in an ini file of their own.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from commercekit.adapters.storage.sql.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters a table by copying it; batch mode writes such migrations.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("give sqlalchemy.url, or run migrations through commercekit")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("commercekit migrations run online only")
_main()
