"""The ``commercekit`` command line.

``commercekit db upgrade URL``
    Bring a database to the newest schema (SQLite or PostgreSQL) and say which
    revisions that took it from and to.
``commercekit demo [URL]``
    Run the order lifecycle example, on a fresh SQLite file unless a URL is given.
    It runs again and again on the same database: on PostgreSQL it works in a schema
    of its own, ``commercekit_demo``, emptied at the start of each run (nothing else
    is touched); a SQLite file it starts afresh when an earlier demo wrote it, and
    refuses when the file holds anything else.
``commercekit relay URL --broker AMQP_URL [--exchange NAME] [--name STREAM] [--once]``
    Relay the database's committed outbox events to a RabbitMQ exchange (the
    ``rabbitmq`` extra), at least once and in order, until stopped (SIGINT or
    SIGTERM: it finishes its batch, gives its lease up and says how many it
    relayed), or with ``--once`` until none is left. Any number may run at once:
    one at a time holds the lease and publishes.
``commercekit report NAME --from DATE --to DATE [--by day|week|month] [--url URL]``
    Print a report of the store at ``URL`` (default ``sqlite:///commercekit.db``)
    for the UTC days from ``--from`` to ``--to``, both included, as a table; with
    ``--csv FILE`` also write it as CSV, and with ``--chart FILE.png`` draw a time
    series (``sales``) as a PNG (the ``charts`` extra: matplotlib). ``--limit``,
    ``--price-list`` and ``--overstock-days`` are for ``top_products`` and ``stock``.
``commercekit --version``
    Print ``commercekit <version>``.

A failure is one line on standard error, ``commercekit: <code>: <message>``, and exit
status 2; a URL is only ever printed with its password masked, and no message repeats
more than a few hundred characters of what was typed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Literal, NoReturn

from commercekit.adapters.storage.urls import shown_url, without_password
from commercekit.domain.errors import (
    BrokerUnavailable,
    CommerceError,
    ConfigurationError,
    InvalidInput,
    StorageUnavailable,
    shown,
)

if TYPE_CHECKING:
    import sqlalchemy as sa

    from commercekit.adapters.events.rabbitmq import RabbitMqPublisher
    from commercekit.adapters.storage.sql import SchemaUpgrade
    from commercekit.domain.reports import ReportTable

__all__ = ["DEMO_APPLICATION_ID", "DEMO_SCHEMA", "main"]

#: The exit status of every failure.
FAILED: Final = 2
#: The exit status when the user interrupts a command (128 + SIGINT).
INTERRUPTED: Final = 130

#: The PostgreSQL schema the demo writes to, emptied at the start of each run.
DEMO_SCHEMA: Final = "commercekit_demo"
#: Marks a SQLite file as the demo's (its header's application id, "ckdm"), so
#: that a later demo may start it afresh.
DEMO_APPLICATION_ID: Final = 0x636B_646D

# A failure's message is cut to this many characters: enough to read, never a
# megabyte of pasted input on a terminal.
_MESSAGE_LIMIT: Final = 400
_SHOWN_URL_LIMIT: Final = 200
# The databases commercekit's migrations are written for.
_MIGRATABLE: Final = frozenset({"sqlite", "postgresql"})


class _Parser(argparse.ArgumentParser):
    """argparse, saying a usage error in one line like every other failure."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error and exit with :data:`FAILED`."""
        _report("usage_error", f"{message} (see {self.prog} --help)")
        self.exit(FAILED)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="commercekit", description="The commercekit command line.")
    parser.add_argument("--version", action="version", version=f"commercekit {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate a database to the newest schema")
    upgrade.add_argument("url", help="sqlite:///path.db or postgresql+psycopg://...")
    demo = commands.add_parser("demo", help="run the order lifecycle example")
    demo.add_argument(
        "url",
        nargs="?",
        default=None,
        help=f"storage URL (default: a fresh SQLite file; on PostgreSQL, schema {DEMO_SCHEMA})",
    )
    relay = commands.add_parser(
        "relay", help="relay committed outbox events to a RabbitMQ exchange, at least once"
    )
    relay.add_argument(
        "url", help="the store's database: sqlite:///path.db or postgresql+psycopg://..."
    )
    relay.add_argument(
        "--broker", required=True, help="the broker: amqp://user:password@host:5672/vhost"
    )
    relay.add_argument(
        "--exchange",
        default="commercekit",
        help="the durable topic exchange to publish to (default: commercekit)",
    )
    relay.add_argument(
        "--name",
        default="outbox",
        help="the stream: relays of one name share a lease, and it prefixes every "
        "message id; give each store publishing to one broker its own (default: outbox)",
    )
    relay.add_argument(
        "--once", action="store_true", help="relay the events waiting now, then exit"
    )
    catalog = commands.add_parser("catalog", help="import or export the catalogue")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    for name, what in (("import", "read products from"), ("export", "write products to")):
        command = catalog_commands.add_parser(
            name, help=f"{what} a CSV or JSON Lines file (one row per variant)"
        )
        command.add_argument("file", help="the file; its suffix (.csv, .jsonl) tells the format")
        command.add_argument(
            "--url",
            default="sqlite:///commercekit.db",
            help="the store's database (default: sqlite:///commercekit.db)",
        )
        command.add_argument("--format", choices=("csv", "jsonl"), help="override the suffix")
    report = commands.add_parser(
        "report", help="print a report (sales, top_products, stock, ...) for a span of days"
    )
    report.add_argument(
        "name",
        help="sales, sales_by_product, top_products, sales_by_category, sales_by_channel, "
        "funnel, discounts, returns_by_product, returns_by_reason, stock or abandoned_carts",
    )
    report.add_argument("--from", dest="since", required=True, help="the first day, YYYY-MM-DD")
    report.add_argument(
        "--to", dest="until", required=True, help="the last day (included), YYYY-MM-DD"
    )
    report.add_argument(
        "--by", choices=("day", "week", "month"), default="day", help="sales per (default: day)"
    )
    report.add_argument("--limit", default="10", help="top_products: how many (default: 10)")
    report.add_argument("--price-list", help="stock: the price list to value stock at")
    report.add_argument(
        "--overstock-days", default="90", help="stock: days of cover that are too many (90)"
    )
    report.add_argument("--csv", help="also write the report to this CSV file")
    report.add_argument("--chart", help="draw a time series (sales) to this PNG file")
    report.add_argument(
        "--url",
        default="sqlite:///commercekit.db",
        help="the store's database (default: sqlite:///commercekit.db)",
    )
    return parser


def _version() -> str:
    """This commercekit's version, as installed."""
    try:
        return importlib.metadata.version("commercekit")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        from commercekit import __version__

        return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        arguments = _parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error, said already
        return _exit_status(stop)
    url: str | None = getattr(arguments, "url", None)
    broker: str | None = getattr(arguments, "broker", None)
    try:
        if arguments.command == "db":
            print(_upgrade(arguments.url))
        elif arguments.command == "catalog":
            url = arguments.url
            return _catalog(arguments.catalog_command, arguments.file, url, arguments.format)
        elif arguments.command == "report":
            url = arguments.url
            _report_command(arguments)
        elif arguments.command == "relay":
            _relay(
                arguments.url,
                broker=arguments.broker,
                exchange=arguments.exchange,
                name=arguments.name,
                once=arguments.once,
            )
        else:
            _demo(url)
    except CommerceError as error:
        return _fail(error.code, str(error), url, broker=broker)
    except KeyboardInterrupt:
        return _fail(
            "interrupted", "stopped before the command finished", url, INTERRUPTED, broker=broker
        )
    except BrokenPipeError:
        # Whoever read the output (``| head``) has stopped: nobody is left to tell.
        _discard_output()
        return FAILED
    except Exception as error:
        # A failure nothing turned into a CommerceError is no reason for a traceback.
        return _fail("unexpected_error", f"{type(error).__name__}: {error}", url, broker=broker)
    return 0


def _exit_status(stop: SystemExit) -> int:
    """The status argparse exits with: 0 after ``--help`` or ``--version``,
    :data:`FAILED` after a usage error."""
    if stop.code is None:
        return 0
    return stop.code if isinstance(stop.code, int) else FAILED


def _discard_output() -> None:
    """Point standard output at the null device, so that flushing it on the way out
    cannot fail again (Python's documented recipe for SIGPIPE)."""
    with suppress(OSError, ValueError):  # a stand-in for stdout, with no file behind it
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _fail(
    code: str, message: str, url: str | None, status: int = FAILED, *, broker: str | None = None
) -> int:
    """Report a failure, with the passwords of ``url`` and ``broker`` masked in it;
    returns ``status``."""
    for secret in (url, broker):
        if secret is not None:
            message = without_password(message, secret)
    _report(code, message)
    return status


def _report(code: str, message: str) -> None:
    """Print ``commercekit: <code>: <message>`` on standard error, as one line of
    printable characters, cut to :data:`_MESSAGE_LIMIT`."""
    line = "".join(c if c.isprintable() else "?" for c in " ".join(message.split()))
    if len(line) > _MESSAGE_LIMIT:
        line = f"{line[: _MESSAGE_LIMIT - 1]}…"
    print(f"commercekit: {code}: {line}", file=sys.stderr)


def _shown(url: str) -> str:
    """``url`` as a message shows it: password masked, length bounded."""
    return shown(shown_url(url), quote=False, limit=_SHOWN_URL_LIMIT)


# --- db upgrade -----------------------------------------------------------------------


def _upgrade(url: str) -> str:
    """Migrate the database at ``url``; returns the line that says what was done.

    :raises CommerceError: for every failure, the database's own included.
    """
    from commercekit.adapters.storage.sql import apply_migrations

    _check_migratable(url)
    with _database_errors(url):
        report = apply_migrations(url)
    return f"{_shown(url)}: {_described(report)}"


def _check_migratable(url: str) -> None:
    """:raises InvalidInput: for a URL naming a database other than SQLite or
    PostgreSQL (``memory://`` keeps no schema). One that does not parse is left for
    the storage to refuse, in its own words."""
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return
    if parsed.get_backend_name() not in _MIGRATABLE:
        raise InvalidInput(
            f"{shown(parsed.drivername)} is not a database commercekit migrates: "
            "give sqlite:///path.db or postgresql+psycopg://...",
            field="url",
        )


def _described(report: SchemaUpgrade) -> str:
    """``upgraded from 0005 to 0007 (2 migrations)``, or ``already at 0007, ...``."""
    after = _revisions(report.after)
    if not report.applied:
        return f"already at {after}, nothing to apply"
    migrations = "migration" if report.applied == 1 else "migrations"
    return f"upgraded from {_revisions(report.before)} to {after} ({report.applied} {migrations})"


def _revisions(revisions: Sequence[str]) -> str:
    return ", ".join(revisions) or "none"


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """Turn what the database or Alembic raises into :class:`StorageUnavailable`.

    Storage turns a database it cannot reach into StorageUnavailable itself; what
    gets past that (a migration the database refuses, a revision this commercekit
    does not know) is no reason for a traceback either.
    """
    import sqlalchemy as sa
    from alembic.util import CommandError

    try:
        yield
    except (sa.exc.SQLAlchemyError, CommandError) as error:
        reason = str(getattr(error, "orig", None) or error)
        raise StorageUnavailable(shown_url(url), without_password(reason, url)) from error


# --- relay ----------------------------------------------------------------------------


def _relay(url: str, *, broker: str, exchange: str, name: str, once: bool) -> None:
    """Relay the outbox of the database at ``url`` to ``exchange`` on ``broker``.

    :raises CommerceError: for every failure: the database's (its schema out of date
        included: ``db upgrade`` first), the broker's, or the arguments'.
    """
    from commercekit.adapters.clock import SystemClock
    from commercekit.adapters.storage.sql import SqlStorage
    from commercekit.services.relay import Relay

    _check_migratable(url)
    publisher = _publisher(broker, exchange)
    with publisher, _database_errors(url), SqlStorage.open(url, migrate=False) as storage:
        # Both ends are checked before anything moves, so that a wrong URL fails now
        # (the database first: nothing is declared on a broker for a store that is not
        # ready).
        publisher.connect()
        relay = Relay(storage, publisher, SystemClock(), name=name)
        where = f"{_shown(url)} to exchange {exchange} at {_shown(publisher.url)}"
        if once:
            try:
                relayed = relay.drain()
            finally:
                relay.release()
            print(f"{where}: relayed {_events(relayed)}")
            return
        stop = threading.Event()
        with _stopped_by_signals(stop.set):
            print(f"relaying {where} (stop with Ctrl-C)", flush=True)
            relayed = relay.run(stop)
        print(f"stopped: relayed {_events(relayed)}")


def _publisher(broker: str, exchange: str) -> RabbitMqPublisher:
    """:raises BrokerUnavailable: when pika, which the publisher needs, is missing."""
    try:
        from commercekit.adapters.events.rabbitmq import RabbitMqPublisher
    except ImportError as error:
        raise BrokerUnavailable(
            shown_url(broker),
            f"its client is not installed ({error.name or error}): "
            "pip install 'commercekit[rabbitmq]'",
        ) from None
    return RabbitMqPublisher(broker, exchange=exchange)


def _events(count: int) -> str:
    return f"{count} event" if count == 1 else f"{count} events"


@contextmanager
def _stopped_by_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGINT or SIGTERM meanwhile, instead of stopping at once (in
    the main thread only; elsewhere signals are not this command's to take)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGINT, signal.SIGTERM)
    before = {number: signal.getsignal(number) for number in signals}
    for number in signals:
        signal.signal(number, lambda *_: stop())
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


# --- catalog import / export ------------------------------------------------------------


def _format_of(path: str, given: str | None) -> Literal["csv", "jsonl"]:
    chosen = given or ("jsonl" if path.endswith((".jsonl", ".ndjson")) else "csv")
    return "jsonl" if chosen == "jsonl" else "csv"


class _Progress:
    """Rows read so far, on one line of standard error that redraws itself (only on a
    terminal: a log gets the total at the end)."""

    def __init__(self, total_bytes: int, handle: IO[str]) -> None:
        self._total = total_bytes
        self._handle = handle
        self._live = sys.stderr.isatty()

    def __call__(self, rows: int) -> None:
        if not self._live:
            return
        with suppress(OSError, ValueError):
            done = self._handle.buffer.tell() if hasattr(self._handle, "buffer") else 0
            share = min(done / self._total, 1.0) if self._total else 1.0
            bar = "#" * int(share * 30)
            print(f"\r[{bar:<30}] {share:4.0%} {rows:,} rows", end="", file=sys.stderr)

    def done(self, rows: int) -> None:
        if self._live:
            print(file=sys.stderr)


def _catalog(command: str, path: str, url: str, given: str | None) -> int:
    """Import or export the catalogue of the store at ``url``; an import prints its
    report (every bad row with its line and field) and fails when a row was bad."""
    from commercekit.store import Store

    format = _format_of(path, given)
    with Store.open(url, config={"entry_point_plugins": False}) as store:
        if command == "export":
            with open(path, "w", encoding="utf-8", newline="") as handle:
                rows = store.transfer.export_file(handle, format)
            print(f"{path}: {rows:,} rows written")
            return 0
        try:
            handle = open(path, encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as error:
            raise InvalidInput(f"cannot read {path}: {error.strerror}", field="file") from None
        with handle:
            progress = _Progress(os.path.getsize(path), handle)
            report = store.transfer.import_file(handle, format, progress=progress)
            progress.done(report.rows)
    print(
        f"{path}: {report.rows:,} rows, {report.products:,} products written, "
        f"{report.prices:,} prices, {report.stock_counts:,} stock levels changed, "
        f"{len(report.errors):,} bad rows"
    )
    for bad in report.errors[:1000]:
        print(f"line {bad.line}: {bad.field}: {bad.message}")
    if len(report.errors) > 1000:
        print(f"... and {len(report.errors) - 1000:,} more")
    return 0 if report.ok else FAILED


# --- report ---------------------------------------------------------------------------


def _day(value: str, field: str) -> datetime:
    """Midnight UTC at the start of the day ``value`` (``YYYY-MM-DD``).

    :raises InvalidInput: naming ``field``, for anything else.
    """
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"must be a day as YYYY-MM-DD, got {shown(value)}", field=field
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _report_command(arguments: argparse.Namespace) -> None:
    """Run a report on the store at ``arguments.url``, print it, and write what was
    asked for."""
    from commercekit.domain.reports import REPORTS, TIME_SERIES
    from commercekit.store import Store

    since = _day(arguments.since, "from")
    last = _day(arguments.until, "to")
    if last < since:
        raise InvalidInput("must not be before --from", field="to")
    name = arguments.name.replace("-", "_")
    if arguments.chart:
        if name in REPORTS and name not in TIME_SERIES:
            raise InvalidInput(
                f"{name} is not a time series: only sales draws a chart", field="chart"
            )
        _plotting()  # before the report is run: say what is missing first
    # The funnel is counted by the behaviour log, which a store keeps when asked to.
    config = {"entry_point_plugins": False, "track_behaviour": name == "funnel"}
    with Store.open(arguments.url, config=config) as store:
        table = store.reports.run(
            name,
            since=since,
            until=last + timedelta(days=1),
            by=arguments.by,
            limit=arguments.limit,
            price_list_id=arguments.price_list,
            overstock_days=arguments.overstock_days,
        )
    print(table.render(), end="")
    if arguments.csv:
        try:
            with open(arguments.csv, "w", encoding="utf-8", newline="") as handle:
                rows = table.to_csv(handle)
        except OSError as error:
            raise InvalidInput(
                f"cannot write {arguments.csv}: {error.strerror}", field="csv"
            ) from None
        print(f"{arguments.csv}: {rows:,} rows written")
    if arguments.chart:
        _draw(table, arguments.chart)
        print(f"{arguments.chart}: chart drawn")


def _plotting() -> None:
    """:raises ConfigurationError: naming ``chart``, when matplotlib is not installed."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "drawing a chart needs matplotlib: pip install 'commercekit[charts]'", field="chart"
        ) from None


def _draw(table: ReportTable, path: str) -> None:
    """Draw a time series: its ``y`` over its ``x``, a line per ``group`` value.

    :raises ConfigurationError: naming ``chart``, when matplotlib is not installed.
    :raises InvalidInput: naming ``chart``, for a file that cannot be written.
    """
    series = table.series
    assert series is not None  # checked by the caller
    _plotting()
    import numpy
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 4.5), layout="constrained")
    axes = figure.subplots()
    lines: dict[str, tuple[list[date], list[float]]] = {}
    for record in table.records():
        x, y, group = record[series.x], record[series.y], record[series.group]
        if isinstance(x, date) and isinstance(y, Decimal):
            xs, ys = lines.setdefault(str(group), ([], []))
            xs.append(x)
            # Only to place a point on the picture: the figures stay exact in the table.
            ys.append(float(y))
    days: set[date] = set()
    for group, (xs, ys) in sorted(lines.items()):
        axes.plot(numpy.array(xs, dtype="datetime64[D]"), ys, marker="o", label=group)
        days.update(xs)
    if len(days) <= 16:
        axes.set_xticks(numpy.array(sorted(days), dtype="datetime64[D]"))
    axes.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]
    axes.set_title(f"{table.name}: {series.y}")
    axes.set_ylabel(series.y)
    axes.grid(True, alpha=0.3)
    if lines:
        axes.legend(title=series.group)
    figure.autofmt_xdate()
    try:
        figure.savefig(path, format="png")
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error.strerror}", field="chart") from None


# --- demo -----------------------------------------------------------------------------


def _demo(url: str | None) -> None:
    """Run the order lifecycle example, in the demo's own corner of ``url``."""
    # The example ships as commercekit.examples, mapped from examples/.
    lifecycle = importlib.import_module("commercekit.examples.order_lifecycle")
    lifecycle.main(None if url is None else _demo_namespace(url))


def _demo_namespace(url: str) -> str:
    """The URL the demo writes to, made ready for a fresh run.

    On PostgreSQL: ``url`` with its connections in :data:`DEMO_SCHEMA`, emptied
    first. A SQLite file: ``url`` itself, started afresh if an earlier demo wrote
    it. Any other URL (``memory://``, one that does not parse) is left as it is, for
    opening it to say what is wrong.
    """
    import sqlalchemy as sa

    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return url
    if parsed.get_backend_name() == "postgresql":
        with _database_errors(url):
            _recreate_schema(url, DEMO_SCHEMA)
        print(f"storage: PostgreSQL schema {DEMO_SCHEMA}, emptied first")
        return _in_schema(parsed, DEMO_SCHEMA)
    path = _sqlite_file(parsed)
    if path is not None and _start_sqlite_file(path, url):
        print(f"storage: SQLite file {shown(path.name, quote=False)}, started afresh")
    return url


def _recreate_schema(url: str, schema: str) -> None:
    """Drop ``schema`` with everything in it, if it exists, and create it empty."""
    from sqlalchemy.schema import CreateSchema, DropSchema

    from commercekit.adapters.storage.sql import create_storage_engine

    engine = create_storage_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(DropSchema(schema, cascade=True, if_exists=True))
            connection.execute(CreateSchema(schema))
    finally:
        engine.dispose()


def _in_schema(parsed: sa.URL, schema: str) -> str:
    """``parsed`` as a URL whose connections create and find tables in ``schema``."""
    given = parsed.query.get("options", "")
    options = " ".join(given) if isinstance(given, tuple) else given
    scoped = parsed.update_query_dict({"options": f"{options} -csearch_path={schema}".strip()})
    return scoped.render_as_string(hide_password=False)


def _sqlite_file(parsed: sa.URL) -> Path | None:
    """The file a SQLite URL names; none for any other URL, or an in-memory one."""
    if parsed.get_backend_name() != "sqlite" or "uri" in parsed.query:
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _start_sqlite_file(path: Path, url: str) -> bool:
    """Leave ``path`` an empty database marked as the demo's; returns whether it did.

    A file an earlier demo wrote is deleted first; an empty one is used; one that
    holds anything else is refused. A file that cannot be read as a database, or
    created, is left as it is, for opening it to say why in one line.

    :raises InvalidInput: for a database the demo did not write.
    """
    if not path.parent.is_dir():
        return False
    try:
        if path.exists():
            owner, tables = _sqlite_contents(path)
            if owner == DEMO_APPLICATION_ID:
                _delete_sqlite_file(path)
            elif tables:
                raise InvalidInput(
                    f"{_shown(url)} holds a database the demo did not write; "
                    "give the demo a file of its own",
                    field="url",
                )
        with closing(sqlite3.connect(path)) as connection:
            connection.execute(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
    except sqlite3.Error:
        return False
    return True


def _sqlite_contents(path: Path) -> tuple[int, int]:
    """The application id in the header of the SQLite file ``path``, and how many
    tables, indexes and views it holds.

    :raises sqlite3.Error: for a file that is not a database, or cannot be read.
    """
    with closing(sqlite3.connect(path)) as connection:
        (owner,) = connection.execute("PRAGMA application_id").fetchone()
        (objects,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return int(owner), int(objects)


def _delete_sqlite_file(path: Path) -> None:
    """Delete the SQLite file ``path`` and the journal files beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
