"""``python -m commercekit.examples.storefront``: the demo shop on SQLite.

Opens (or creates and seeds) the database, then serves the storefront with uvicorn.
The session secret comes from ``STOREFRONT_SECRET`` when set; otherwise one is made
for this run, so sessions (and carts) last only as long as the process.

The back office (``/staff``) opens with the demo staff account
``staff@teehaus.example``, which holds every permission. It is made on the first
run, in the accounts file beside the database (``<db>.accounts``), with the password
in ``STOREFRONT_STAFF_PASSWORD`` or, when that is not set, a random one printed once.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

import uvicorn

from commercekit import Store
from commercekit.domain.access import Permission

from .accounts import AccountError, Accounts
from .app import create_app
from .demo import CATEGORIES, config, seed

#: The demo's member of staff, with every permission.
STAFF_EMAIL = "staff@teehaus.example"


def demo_staff(accounts: Accounts) -> str | None:
    """Make the demo's staff account unless it exists.

    :returns: the password, when one was made up for it (to be shown once).
    :raises AccountError: for a ``STOREFRONT_STAFF_PASSWORD`` too short or too long.
    """
    if accounts.get_by_email(STAFF_EMAIL) is not None:
        return None
    chosen = os.environ.get("STOREFRONT_STAFF_PASSWORD")
    password = chosen or secrets.token_urlsafe(12)
    accounts.create(STAFF_EMAIL, password, kind="staff", permissions=tuple(Permission))
    return None if chosen else password


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
    accounts = Accounts(f"{args.db}.accounts")
    try:
        made = demo_staff(accounts)
    except AccountError as refused:
        parser.error(f"STOREFRONT_STAFF_PASSWORD: {refused.message}")
    if made is not None:
        print(f"the back office's staff account: {STAFF_EMAIL}, password {made} (shown once)")
    secret = os.environ.get("STOREFRONT_SECRET") or secrets.token_urlsafe(32)
    app = create_app(store, secret_key=secret, navigation=CATEGORIES, accounts=accounts)
    print(f"the storefront is at {base_url}/ (try the coupon TEAWEEK)")
    print(f"the back office is at {base_url}/staff")
    try:
        uvicorn.run(app, host=args.host, port=args.port)
    finally:
        accounts.close()
        store.close()


if __name__ == "__main__":
    main()
