"""``python -m commercekit.examples.storefront``: the demo shop on SQLite.

Opens (or creates and seeds) the database, then serves the storefront with uvicorn.
The session secret comes from ``STOREFRONT_SECRET`` when set; otherwise one is made
for this run, so sessions (and carts) last only as long as the process.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

import uvicorn

from commercekit import Store

from .app import create_app
from .demo import CATEGORIES, config, seed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m commercekit.examples.storefront", description=__doc__
    )
    parser.add_argument("--db", default="storefront.db", help="SQLite file (made if missing)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    fresh = not Path(args.db).exists()
    base_url = f"http://{args.host}:{args.port}"
    store = Store.open(f"sqlite:///{args.db}", config=config(base_url))
    if fresh:
        seed(store)
        print(f"seeded the demo catalogue into {args.db}")
    secret = os.environ.get("STOREFRONT_SECRET") or secrets.token_urlsafe(32)
    app = create_app(store, secret_key=secret, navigation=CATEGORIES)
    print(f"the storefront is at {base_url}/ (try the coupon TEAWEEK)")
    try:
        uvicorn.run(app, host=args.host, port=args.port)
    finally:
        store.close()


if __name__ == "__main__":
    main()
