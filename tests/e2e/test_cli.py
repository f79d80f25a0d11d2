"""The ``commercekit`` command line as an operator meets it: ``db upgrade`` says which
revisions it applied, ``--version`` says which commercekit this is, ``demo`` runs
again and again on the same database without touching anything but its own, and
every failure is one line, ``commercekit: <code>: <message>``, with exit status 2:
never a traceback, never the password, never the whole of a huge input."""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import secrets
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import commercekit.adapters.storage.migrations
from commercekit.adapters.storage.sql._database import SCRIPT_LOCATION
from commercekit.cli import DEMO_APPLICATION_ID, DEMO_SCHEMA, main
from tests.conftest import fresh_postgres_schema, postgres_base_url

PASSWORD = "s3cretpw"
LIFECYCLE = "commercekit.examples.order_lifecycle"

# The migrations as shipped, read from their files: revision "0007" is
# versions/0007_*.py, and the newest one is the head.
_MIGRATIONS = sorted(
    path.name[:4]
    for path in (Path(commercekit.adapters.storage.migrations.__file__).parent / "versions").glob(
        "[0-9][0-9][0-9][0-9]_*.py"
    )
)
HEAD = _MIGRATIONS[-1]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def upgrade(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run(capsys, "db", "upgrade", url)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The command in a fresh interpreter, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "commercekit.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_failure(status: int, out: str, err: str, code: str) -> None:
    assert status == 2
    assert out == ""
    assert_one_error_line(err, code)


def assert_one_error_line(err: str, code: str) -> None:
    assert err.startswith(f"commercekit: {code}: "), err
    assert err.count("\n") == 1, err
    assert err.endswith("\n"), err
    assert "Traceback" not in err
    assert PASSWORD not in err


def with_password(url: str, user: str | None = None) -> str:
    parsed = sa.make_url(url).set(password=PASSWORD)
    if user is not None:
        parsed = parsed.set(username=user)
    return parsed.render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


# --- failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["nonsense", f"postgresql+psycopg://shop:{PASSWORD}@db:notaport/shop", ""],
    ids=["no-scheme", "bad-port", "empty"],
)
def test_a_bad_url_is_invalid_input(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = upgrade(url, capsys)
    assert_one_line_failure(status, out, err, code="invalid_input")
    assert err == (
        "commercekit: invalid_input: url: not a database URL "
        "(sqlite:///path.db or postgresql+psycopg://...)\n"
    )


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("foo://x", "foo"),
        ("memory://", "memory"),
        (f"mysql://shop:{PASSWORD}@db/shop", "mysql"),
    ],
)
def test_an_unsupported_scheme_is_invalid_input(
    url: str, scheme: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = upgrade(url, capsys)
    assert_one_line_failure(status, out, err, code="invalid_input")
    assert err == (
        f"commercekit: invalid_input: url: '{scheme}' is not a database commercekit "
        "migrates: give sqlite:///path.db or postgresql+psycopg://...\n"
    )


def test_a_missing_directory_is_storage_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "no" / "such" / "shop.db")
    status, out, err = upgrade(url, capsys)
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert err == (
        f"commercekit: storage_unavailable: url: cannot use the database at {url}: "
        "unable to open database file\n"
    )


def test_a_file_that_is_not_a_database_is_storage_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("RETRO-CLOCK, 39.90 EUR\n" * 100)
    url = sqlite_url(path)
    status, out, err = upgrade(url, capsys)
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert err == (
        f"commercekit: storage_unavailable: url: cannot use the database at {url}: "
        "file is not a database\n"
    )


def test_a_database_newer_than_this_commercekit_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "future.db"
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
    status, out, err = upgrade(sqlite_url(path), capsys)
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert "9999" in err


def test_an_unreachable_server_is_storage_unavailable(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 1 on the loopback: refused at once, no waiting for a timeout.
    url = f"postgresql+psycopg://shop:{PASSWORD}@127.0.0.1:1/shop"
    status, out, err = upgrade(url, capsys)
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert err.startswith(
        "commercekit: storage_unavailable: url: cannot use the database at "
        "postgresql+psycopg://shop:***@127.0.0.1:1/shop: connection failed: "
    ), err
    assert "Connection refused" in err


def test_a_refused_login_names_neither_password_nor_traceback() -> None:
    # The test server trusts user postgres; a user it does not know is refused,
    # exactly as a wrong password would be.
    url = with_password(postgres_base_url(), user="nobody")
    completed = run_cli("db", "upgrade", url)
    assert_one_line_failure(
        completed.returncode, completed.stdout, completed.stderr, code="storage_unavailable"
    )
    assert "nobody:***@" in completed.stderr


def test_a_huge_url_is_not_echoed_whole(capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_url(Path("/no/such/dir") / ("a" * 100_000))
    status, out, err = upgrade(url, capsys)
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert len(err) < 500


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ((), "the following arguments are required: command (see commercekit --help)"),
        (
            ("db", "upgrade"),
            "the following arguments are required: url (see commercekit db upgrade --help)",
        ),
        (("demo", "a", "b"), "unrecognized arguments: b (see commercekit --help)"),
    ],
    ids=["no-command", "no-url", "extra-argument"],
)
def test_a_usage_error_is_one_line(
    args: tuple[str, ...], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, *args)
    assert_one_line_failure(status, out, err, code="usage_error")
    assert err == f"commercekit: usage_error: {line}\n"


def test_a_huge_unknown_command_is_not_echoed_whole(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "x" * 100_000)
    assert_one_line_failure(status, out, err, code="usage_error")
    assert err.startswith("commercekit: usage_error: argument command: invalid choice: 'xxx")
    assert len(err) < 500


def test_an_unknown_locale_in_the_demo_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo formats its money for LOCALE; Babel does not know this one.
    monkeypatch.setattr(f"{LIFECYCLE}.LOCALE", "xx_XX")
    status, _, err = run(capsys, "demo", "memory://")
    assert status == 2
    assert_one_error_line(err, "invalid_input")
    assert err == "commercekit: invalid_input: locale: unknown locale 'xx_XX'\n"


def test_an_unknown_locale_in_the_configuration_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lifecycle = importlib.import_module(LIFECYCLE)
    channel = {"id": "web", "currencies": ["EUR"], "locale": "xx_XX"}
    monkeypatch.setattr(lifecycle, "CONFIG", {**lifecycle.CONFIG, "channels": [channel]})
    status, out, err = run(capsys, "demo", "memory://")
    assert_one_line_failure(status, out, err, code="invalid_input")
    assert err == (
        "commercekit: invalid_input: channels.0.locale: 'xx_XX' is not a locale CLDR knows\n"
    )


def test_an_unexpected_error_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(url: str | None) -> None:
        raise RuntimeError(f"lost {url}\nwhile\tworking " + "x" * 10_000)

    monkeypatch.setattr(f"{LIFECYCLE}.main", broken)
    status, out, err = run(capsys, "demo", f"memory://shop:{PASSWORD}@here")
    assert_one_line_failure(status, out, err, code="unexpected_error")
    assert err.startswith(
        "commercekit: unexpected_error: RuntimeError: lost memory://shop:***@here while working x"
    ), err
    assert len(err) < 500


# --- db upgrade ----------------------------------------------------------------------


def migrations(count: int) -> str:
    return f"{count} migration{'' if count == 1 else 's'}"


def test_upgrade_says_which_revisions_it_applied_then_that_none_were_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "shop.db")
    first = upgrade(url, capsys)
    second = upgrade(url, capsys)
    assert first == (
        0,
        f"{url}: upgraded from none to {HEAD} ({migrations(len(_MIGRATIONS))})\n",
        "",
    )
    assert second == (0, f"{url}: already at {HEAD}, nothing to apply\n", "")


def test_upgrade_from_an_older_revision_names_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    older = _MIGRATIONS[-3]
    path = tmp_path / "old.db"
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", sqlite_url(path))
    command.upgrade(config, older)
    status, out, err = upgrade(sqlite_url(path), capsys)
    assert (status, err) == (0, "")
    assert out == f"{sqlite_url(path)}: upgraded from {older} to {HEAD} ({migrations(2)})\n"


def test_upgrade_on_postgresql_prints_the_url_with_its_password_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with fresh_postgres_schema() as url:
        # The test server trusts user postgres, so any password lets it in.
        first = upgrade(with_password(url), capsys)
        second = upgrade(with_password(url), capsys)
    shown = sa.make_url(with_password(url)).render_as_string(hide_password=True)
    assert "postgres:***@" in shown
    assert first == (
        0,
        f"{shown}: upgraded from none to {HEAD} ({migrations(len(_MIGRATIONS))})\n",
        "",
    )
    assert second == (0, f"{shown}: already at {HEAD}, nothing to apply\n", "")


# --- --version -----------------------------------------------------------------------


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    expected = f"commercekit {importlib.metadata.version('commercekit')}\n"
    assert run(capsys, "--version") == (0, expected, "")
    completed = run_cli("--version")
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, expected, "")


# --- demo ----------------------------------------------------------------------------


def assert_the_demo_ran(status: int, out: str, err: str) -> None:
    assert (status, err) == (0, "")
    assert "the retry returned the same order: True" in out
    assert "order: open, payment partially_refunded" in out


def order_count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM orders")).scalar_one())
    finally:
        engine.dispose()


def test_the_demo_runs_twice_on_the_same_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.db"
    for _ in range(2):
        status, out, err = run(capsys, "demo", sqlite_url(path))
        assert_the_demo_ran(status, out, err)
        assert out.startswith("storage: SQLite file demo.db, started afresh\n")
    # Started afresh: the second run's order is the only one.
    assert order_count(sqlite_url(path)) == 1
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA application_id").fetchone() == (DEMO_APPLICATION_ID,)


def test_the_demo_refuses_a_sqlite_file_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "shop.db")
    assert upgrade(url, capsys)[0] == 0
    status, out, err = run(capsys, "demo", url)
    assert_one_line_failure(status, out, err, code="invalid_input")
    assert err == (
        f"commercekit: invalid_input: url: {url} holds a database the demo did not write; "
        "give the demo a file of its own\n"
    )
    assert order_count(url) == 0


@pytest.mark.parametrize(
    ("name", "code", "reason"),
    [
        ("no/such/demo.db", "storage_unavailable", "unable to open database file"),
        ("notes.db", "storage_unavailable", "file is not a database"),
    ],
    ids=["missing-directory", "not-a-database"],
)
def test_the_demo_on_a_file_it_cannot_use_is_one_line(
    tmp_path: Path, name: str, code: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.db").write_text("RETRO-CLOCK, 39.90 EUR\n" * 100)
    url = sqlite_url(tmp_path / name)
    status, out, err = run(capsys, "demo", url)
    assert_one_line_failure(status, out, err, code=code)
    assert err == f"commercekit: {code}: url: cannot use the database at {url}: {reason}\n"


def test_the_demo_on_an_unreachable_server_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "demo", f"postgresql+psycopg://shop:{PASSWORD}@127.0.0.1:1/x")
    assert_one_line_failure(status, out, err, code="storage_unavailable")
    assert "postgresql+psycopg://shop:***@127.0.0.1:1/x" in err


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A URL naming a new database, dropped afterwards: the demo's schema has a fixed
    name, so each test run gets a database of its own to run it in."""
    base = postgres_base_url()
    name = f"ck_demo_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
        yield sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def tables_in(url: str, schema: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()


def test_the_demo_runs_twice_on_postgresql_in_its_own_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with fresh_postgres_database() as url:
        for _ in range(2):
            status, out, err = run(capsys, "demo", with_password(url))
            assert_the_demo_ran(status, out, err)
            assert out.startswith(f"storage: PostgreSQL schema {DEMO_SCHEMA}, emptied first\n")
        assert tables_in(url, "public") == set()
        assert {"orders", "alembic_version"} <= tables_in(url, DEMO_SCHEMA)
        scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={DEMO_SCHEMA}"})
        assert order_count(scoped.render_as_string(hide_password=False)) == 1


# --- relay ------------------------------------------------------------------------------


def committed_events(url: str, count: int) -> None:
    """Commit ``count`` events to the outbox of the (migrated) database at ``url``."""
    from datetime import UTC, datetime

    from commercekit.adapters.storage.sql import SqlStorage
    from commercekit.domain.events import OrderPaid

    with SqlStorage.open(url, migrate=False) as storage, storage.unit_of_work() as uow:
        uow.record_events(
            [
                OrderPaid(order_id=f"RETRO-{n}", occurred_at=datetime(2026, 11, 27, tzinfo=UTC))
                for n in range(count)
            ]
        )
        uow.commit()


def test_relay_once_publishes_what_waits_and_hands_over_to_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.broker import bound_queue, broker_url

    broker = broker_url()
    url = sqlite_url(tmp_path / "shop.db")
    assert upgrade(url, capsys)[0] == 0
    committed_events(url, 3)
    with bound_queue(broker) as queue:
        args = ("relay", url, "--broker", broker, "--exchange", queue.exchange, "--once")
        status, out, err = run(capsys, *args)
        assert (status, err) == (0, "")
        shown_broker = broker.replace(":guest@", ":***@")
        assert out == (f"{url} to exchange {queue.exchange} at {shown_broker}: relayed 3 events\n")
        assert [m.message_id for m in queue.read(3)] == ["outbox:1", "outbox:2", "outbox:3"]
        # It gave its lease up: the next relay goes on at once, from where it stopped.
        committed_events(url, 1)
        assert run(capsys, *args)[1].endswith(": relayed 1 event\n")
        assert run(capsys, *args)[1].endswith(": relayed 0 events\n")
        assert [m.message_id for m in queue.read_quietly(quiet=0.2)] == [
            "outbox:1",
            "outbox:2",
            "outbox:3",
            "outbox:4",
        ]


def test_relay_runs_until_told_to_stop(tmp_path: Path) -> None:
    from tests.broker import bound_queue, broker_url

    broker = broker_url()
    url = sqlite_url(tmp_path / "shop.db")
    assert run_cli("db", "upgrade", url).returncode == 0
    with bound_queue(broker) as queue:
        command = ["relay", url, "--broker", broker, "--exchange", queue.exchange]
        relay = subprocess.Popen(
            [sys.executable, "-m", "commercekit.cli", *command, "--name", "shop-1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # It says so once SIGINT or SIGTERM would stop it, rather than kill it.
            assert relay.stdout is not None
            started = relay.stdout.readline()
            committed_events(url, 2)
            received = queue.read(2, timeout=60)
        finally:
            relay.send_signal(signal.SIGINT)
            out, err = relay.communicate(timeout=60)
    assert started.startswith(f"relaying {url} to exchange {queue.exchange} at ")
    assert [m.message_id for m in received] == ["shop-1:1", "shop-1:2"]
    assert (relay.returncode, err, out) == (0, "", "stopped: relayed 2 events\n")


def test_relay_to_a_broker_it_cannot_reach_is_one_line_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "shop.db")
    assert upgrade(url, capsys)[0] == 0
    # Port 1 on the loopback: refused at once.
    broker = f"amqp://shop:{PASSWORD}@127.0.0.1:1/"
    status, out, err = run(capsys, "relay", url, "--broker", broker, "--once")
    assert_one_line_failure(status, out, err, code="broker_unavailable")
    assert "amqp://shop:***@127.0.0.1:1/" in err
    assert "Connection refused" in err


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("--broker", "amqp://127.0.0.1:1/"), "schema_out_of_date", "commercekit db upgrade"),
        (("--broker", "http://127.0.0.1/"), "invalid_input", "broker: expected amqp://"),
        (
            ("--broker", "amqp://127.0.0.1:1/", "--exchange", "no spaces"),
            "invalid_input",
            "exchange: must be",
        ),
        ((), "usage_error", "the following arguments are required: --broker"),
    ],
)
def test_relay_refuses_what_it_cannot_use_in_one_line(
    args: tuple[str, ...], code: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "relay", sqlite_url(tmp_path / "new.db"), *args, "--once")
    assert_one_line_failure(status, out, err, code=code)
    assert says in err


def test_catalog_import_reports_bad_rows_and_export_writes_the_rest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    rows = tmp_path / "products.csv"
    rows.write_text(
        "product_id,name,sku,weight_grams\nmug,Mug,MUG,350\nlamp,Lamp,LAMP,heavy\n",
        encoding="utf-8",
    )
    imported = run_cli("catalog", "import", str(rows), "--url", url)
    assert imported.returncode == 2, imported.stderr
    assert "2 rows, 1 products written" in imported.stdout
    assert "line 3: weight_grams: expected a whole number" in imported.stdout

    out = tmp_path / "products.jsonl"
    exported = run_cli("catalog", "export", str(out), "--url", url)
    assert exported.returncode == 0, exported.stderr
    (line,) = out.read_text(encoding="utf-8").splitlines()
    assert '"sku": "MUG"' in line
