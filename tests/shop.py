"""What the storage-level integration tests share: a store's configuration with the
test gateway, an address in Germany, a checkout made ready to place, and a database
URL of each SQL kind."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from commercekit.store import Store
from tests.conftest import fresh_postgres_schema

CONFIG: Final[dict[str, Any]] = {
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_shop"}}},
    "entry_point_plugins": False,
}
ADDRESS: Final = {
    "name": "Ada Lovelace",
    "line1": "Hauptstr. 1",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
}


def ready_checkout(store: Store, lines: dict[str, int]) -> str:
    """The token of a new cart holding ``lines`` whose checkout is complete (guest,
    address, shipping, the test gateway's succeeding card) and has shown its total."""
    token = store.carts.create("EUR").token
    for sku, quantity in lines.items():
        store.carts.add(token, sku, quantity)
    store.checkout.set_contact(token, {"email": "ada@example.com"})
    store.checkout.set_shipping_address(token, ADDRESS)
    store.checkout.choose_shipping(token, {"method_id": "post"})
    store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(token)
    return token


@contextmanager
def sql_url(kind: str, folder: Path) -> Iterator[str]:
    """A URL for an empty database: a SQLite file in ``folder``, or a fresh schema
    on the test PostgreSQL server (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'shop.db'}"
        return
    with fresh_postgres_schema() as url:
        yield url
