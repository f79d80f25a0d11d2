"""``commercekit db upgrade URL`` as an operator meets it: a URL is printed with its
password masked, and every failure is one line, ``commercekit: <code>: <message>``,
with exit status 2: never a traceback, never the password."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from commercekit.cli import main
from tests.conftest import fresh_postgres_schema, postgres_base_url

PASSWORD = "s3cretpw"


def upgrade(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["db", "upgrade", url])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_failure(status: int, out: str, err: str, code: str) -> None:
    assert status == 2
    assert out == ""
    assert err.startswith(f"commercekit: {code}: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert PASSWORD not in err


def with_password(url: str, user: str | None = None) -> str:
    parsed = sa.make_url(url).set(password=PASSWORD)
    if user is not None:
        parsed = parsed.set(username=user)
    return parsed.render_as_string(hide_password=False)


@pytest.mark.parametrize(
    "url",
    ["nonsense", f"postgresql+psycopg://shop:{PASSWORD}@db:notaport/shop", "foo://x"],
    ids=["no-scheme", "bad-port", "unknown-dialect"],
)
def test_a_bad_url_is_invalid_input(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert_one_line_failure(*upgrade(url, capsys), code="invalid_input")


def test_a_missing_directory_is_storage_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'shop.db'}"
    assert_one_line_failure(*upgrade(url, capsys), code="storage_unavailable")


def test_a_file_that_is_not_a_database_is_storage_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("RETRO-CLOCK, 39.90 EUR\n" * 100)
    status, out, err = upgrade(f"sqlite:///{path}", capsys)
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert "not a database" in err


def test_a_database_newer_than_this_commercekit_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
    status, out, err = upgrade(f"sqlite:///{path}", capsys)
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert "9999" in err


def test_an_unreachable_server_is_storage_unavailable(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 on the loopback: refused at once, no waiting for a timeout.
    url = f"postgresql+psycopg://shop:{PASSWORD}@127.0.0.1:1/shop"
    status, out, err = upgrade(url, capsys)
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert "postgresql+psycopg://shop:***@127.0.0.1:1/shop" in err


def test_a_refused_login_names_neither_password_nor_traceback() -> None:
    # The test server trusts user postgres; a user it does not know is refused,
    # exactly as a wrong password would be.
    url = with_password(postgres_base_url(), user="nobody")
    completed = subprocess.run(
        [sys.executable, "-m", "commercekit.cli", "db", "upgrade", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert_one_line_failure(
        completed.returncode, completed.stdout, completed.stderr, code="storage_unavailable"
    )
    assert "nobody:***@" in completed.stderr


def test_a_successful_upgrade_prints_the_url_with_its_password_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with fresh_postgres_schema() as url:
        # The test server trusts user postgres, so any password lets it in.
        status, out, err = upgrade(with_password(url), capsys)
    assert status == 0, err
    assert "schema is up to date" in out
    assert "postgres:***@" in out
    assert PASSWORD not in out + err
