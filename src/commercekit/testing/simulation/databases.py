"""An empty database for each seed the command runs."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def fresh_url(url: str) -> Iterator[str]:
    """A URL to an empty database for one run: ``memory://`` as it is, ``sqlite`` a
    new file in a temporary folder, a PostgreSQL URL a new schema (dropped after);
    any other URL as it is (it must be empty)."""
    if url == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'simulation.db'}"
    elif url.startswith("postgresql"):
        with _fresh_schema(url) as scoped:
            yield scoped
    else:
        yield url


@contextlib.contextmanager
def _fresh_schema(url: str) -> Iterator[str]:
    import sqlalchemy as sa

    schema = f"ck_sim_{secrets.token_hex(6)}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()
