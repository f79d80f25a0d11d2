"""Empty databases for the benches: a SQLite file in a folder, or a schema of its own
on the PostgreSQL server ``COMMERCEKIT_TEST_POSTGRES_URL`` names (dropped after)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

__all__ = ["backends", "database"]


def backends() -> list[str]:
    """SQLite, and PostgreSQL when a server is named."""
    return (
        ["sqlite", "postgresql"] if os.environ.get("COMMERCEKIT_TEST_POSTGRES_URL") else ["sqlite"]
    )


@contextmanager
def database(backend: str, folder: Path, name: str = "bench") -> Iterator[str]:
    """A URL for an empty database of ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / name}-{secrets.token_hex(4)}.db"
        return
    base = os.environ["COMMERCEKIT_TEST_POSTGRES_URL"]
    schema = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
