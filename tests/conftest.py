"""Test-wide settings.

Hypothesis runs with no deadline everywhere: the machines are shared and noisy, and
a property is about correctness, not speed (speed is measured in ``bench/``). In CI
(``CI=true``) it also tries more examples.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

from hypothesis import HealthCheck, settings

settings.register_profile("dev", deadline=None)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=300,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


POSTGRES_URL_VARIABLE = "COMMERCEKIT_TEST_POSTGRES_URL"


def postgres_base_url() -> str:
    """The server to test against; skipped without one, but a failure in CI."""
    import pytest

    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        reason = f"{POSTGRES_URL_VARIABLE} is not set"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run against PostgreSQL")
        pytest.skip(f"{reason} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    return url


@contextlib.contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A URL whose connections live in a new schema, dropped afterwards."""
    import pytest
    import sqlalchemy as sa

    url = postgres_base_url()
    schema = f"ck_{secrets.token_hex(6)}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as error:
        admin.dispose()
        pytest.fail(f"cannot reach PostgreSQL at {POSTGRES_URL_VARIABLE}: {error}")
    scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextlib.contextmanager
def race_database(backend: str, path: str) -> Iterator[str]:
    """A URL for a race test's database: a SQLite file at ``path``, or a fresh
    PostgreSQL schema (dropped after)."""
    if backend == "sqlite":
        yield f"sqlite:///{path}"
        return
    with fresh_postgres_schema() as url:
        yield url
