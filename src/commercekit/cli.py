"""The ``commercekit`` command line.

``commercekit db upgrade URL``
    Bring a database to the newest schema (SQLite or PostgreSQL).
``commercekit demo [URL]``
    Run the order lifecycle example, on a fresh SQLite file unless a URL is given.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from commercekit.domain.errors import CommerceError

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
            from commercekit.adapters.storage.sql import upgrade

            upgrade(arguments.url)
            print(f"{arguments.url}: schema is up to date")
        else:
            # The example ships as commercekit.examples, mapped from examples/.
            lifecycle = importlib.import_module("commercekit.examples.order_lifecycle")
            lifecycle.main(arguments.url)
    except CommerceError as error:
        print(f"commercekit: {error.code}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
