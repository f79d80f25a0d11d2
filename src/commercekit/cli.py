"""The ``commercekit`` command line.

``commercekit db upgrade URL``
    Bring a database to the newest schema (SQLite or PostgreSQL).
``commercekit demo [URL]``
    Run the order lifecycle example, on a fresh SQLite file unless a URL is given.

A failure is one line on standard error, ``commercekit: <code>: <message>``, and exit
status 2; a URL is only ever printed with its password masked.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from commercekit.adapters.storage.urls import shown_url, without_password
from commercekit.domain.errors import CommerceError, StorageUnavailable

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="commercekit", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate a database to the newest schema")
    upgrade.add_argument("url", help="sqlite:///path.db or postgresql+psycopg://...")
    demo = commands.add_parser("demo", help="run the order lifecycle example")
    demo.add_argument(
        "url", nargs="?", default=None, help="storage URL (default: a fresh SQLite file)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    arguments = _parser().parse_args(argv)
    try:
        if arguments.command == "db":
            print(f"{_upgrade(arguments.url)}: schema is up to date")
        else:
            # The example ships as commercekit.examples, mapped from examples/.
            lifecycle = importlib.import_module("commercekit.examples.order_lifecycle")
            lifecycle.main(arguments.url)
    except CommerceError as error:
        message = " ".join(str(error).splitlines())
        print(f"commercekit: {error.code}: {message}", file=sys.stderr)
        return 2
    return 0


def _upgrade(url: str) -> str:
    """Migrate the database at ``url``; returns the URL as it may be printed.

    :raises CommerceError: for every failure, the database's own included.
    """
    import sqlalchemy as sa
    from alembic.util import CommandError

    from commercekit.adapters.storage.sql import upgrade

    upgrade_error: Exception | None = None
    try:
        upgrade(url)
    except (sa.exc.SQLAlchemyError, CommandError) as error:
        # Storage turns a database it cannot reach into StorageUnavailable; what
        # gets past that (a migration the database refuses, a revision this
        # commercekit does not know) is no reason for a traceback either.
        upgrade_error = error
    shown = shown_url(url)
    if upgrade_error is not None:
        reason = str(getattr(upgrade_error, "orig", None) or upgrade_error)
        raise StorageUnavailable(shown, without_password(reason, url)) from upgrade_error
    return shown


if __name__ == "__main__":
    sys.exit(main())
