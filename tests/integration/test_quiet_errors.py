"""Errors stay quiet about what they were handed: a megabyte key is refused before any
query with a short message, and a database error names no statement parameter (a
token, an email) in its text, in its chained causes or in the logs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from commercekit import Money, Product, StockLocation, Variant, errors
from commercekit.adapters.clock import RandomIds
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.store import Store
from tests.conftest import fresh_postgres_schema, postgres_base_url
from tests.services.conftest import ADDRESS

HUGE = "X" * 1_000_000


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'quiet.db'}"
    else:
        with fresh_postgres_schema() as scoped:
            yield scoped


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'quiet.db'}"
    else:
        with fresh_postgres_schema() as scoped:
            yield scoped


def parameters_sent(store: Store) -> list[Any]:
    """Every statement parameter the store sends to its database from now on."""
    sent: list[Any] = []
    if isinstance(store.storage, SqlStorage):

        def record(*args: Any) -> None:
            parameters, executemany = args[3], args[5]
            batches = parameters if executemany else [parameters]
            for batch in batches:
                sent.extend(batch.values() if isinstance(batch, dict) else batch)

        sa.event.listen(store.storage.engine, "before_cursor_execute", record)
    return sent


def chain(error: BaseException) -> list[BaseException]:
    """The error and every cause and context behind it."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


# --- a megabyte key ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda store, token: store.carts.add(token, HUGE), "sku"),
        (lambda store, token: store.carts.get(HUGE), "token"),
        (lambda store, token: store.carts.add(HUGE, "RETRO-CLOCK"), "token"),
        (lambda store, token: store.carts.change_quantity(token, HUGE, 2), "sku"),
        (lambda store, token: store.carts.remove(token, HUGE), "sku"),
        (lambda store, token: store.carts.price(HUGE), "token"),
        (lambda store, token: store.carts.merge(HUGE, token), "guest_token"),
        (lambda store, token: store.inventory.stock(HUGE), "sku"),
        (lambda store, token: store.inventory.available(HUGE), "sku"),
        (lambda store, token: store.inventory.movements(HUGE, "main"), "sku"),
        (lambda store, token: store.inventory.receive(HUGE, "main", 1), "sku"),
        (lambda store, token: store.inventory.count("RETRO-CLOCK", HUGE, 1), "location_id"),
        (lambda store, token: store.inventory.consume(HUGE), "order_id"),
        (lambda store, token: store.inventory.reorder_suggestions([HUGE]), "skus"),
        (lambda store, token: store.catalog.product(HUGE), "product_id"),
        (lambda store, token: store.catalog.publish(HUGE), "product_id"),
        (lambda store, token: store.catalog.set_price("eu", HUGE, None), "sku"),
        (lambda store, token: store.checkout.summary(HUGE), "token"),
        (lambda store, token: store.checkout.set_contact(HUGE, {"email": "z@x.de"}), "token"),
        (lambda store, token: store.checkout.place_order(HUGE, idempotency_key="k"), "token"),
        (lambda store, token: store.orders.get(HUGE), "order_id"),
        (lambda store, token: store.orders.cancel(HUGE, "no"), "order_id"),
        (lambda store, token: store.orders.complete(HUGE), "order_id"),
        (lambda store, token: store.payments.capture(HUGE), "order_id"),
        (lambda store, token: store.payments.refund(HUGE, None), "order_id"),
        (lambda store, token: store.payments.void(HUGE), "order_id"),
        (lambda store, token: store.orders.record_fulfilment(HUGE, {"A": 1}), "order_id"),
    ],
    ids=lambda value: "" if callable(value) else value,
)
def test_a_megabyte_key_is_refused_before_any_query_with_a_short_message(
    url: str, call: Callable[[Store, str], object], field: str
) -> None:
    with Store.open(url, config={"entry_point_plugins": False}) as store:
        token = store.carts.create("EUR").token
        sent = parameters_sent(store)
        with pytest.raises(errors.InvalidInput) as caught:
            call(store, token)
    assert caught.value.field == field
    assert len(str(caught.value)) < 300
    assert not any(isinstance(value, str) and len(value) > 1000 for value in sent)


@pytest.mark.parametrize("key", ["RETRO\x00CLOCK", "RETRO\ud800CLOCK"], ids=["nul", "surrogate"])
def test_a_key_no_database_can_store_is_invalid_input(url: str, key: str) -> None:
    with Store.open(url, config={"entry_point_plugins": False}) as store:
        token = store.carts.create("EUR").token
        for call in (
            lambda: store.carts.add(token, key),
            lambda: store.inventory.stock(key),
            lambda: store.catalog.product(key),
        ):
            with pytest.raises(errors.InvalidInput):
                call()


BAD_TEXT = {
    "nul": "why\x00",
    "surrogate": "why\ud800",
    "list": ["why"],
    "huge int": 10**30,
}
GATEWAY = {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_quiet"}}}


def an_open_order(store: Store) -> str:
    store.catalog.add_product(Product(id="clock", name="Clock", variants=[Variant(sku="CLOCK")]))
    store.catalog.publish("clock")
    store.catalog.add_price_list("eu", "EUR")
    store.catalog.set_price("eu", "CLOCK", Money("10.00", "EUR"))
    store.inventory.add_location(StockLocation(id="main", name="Main"))
    store.inventory.receive("CLOCK", "main", 5)
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "CLOCK", 1)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_billing_address(cart.token, ADDRESS)
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key="k").id


@pytest.mark.parametrize("bad", list(BAD_TEXT.values()), ids=list(BAD_TEXT))
def test_every_money_and_goods_door_refuses_what_no_storage_keeps(url: str, bad: Any) -> None:
    config = {
        "entry_point_plugins": False,
        "gateways": GATEWAY,
        "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
    }
    with Store.open(url, config=config) as store:
        order_id = an_open_order(store)
        before = store.orders.get(order_id)
        calls = [
            lambda: store.orders.cancel(order_id, bad),
            lambda: store.orders.cancel(order_id, "changed mind", actor=bad),
            lambda: store.orders.record_fulfilment(order_id, {"CLOCK": 1}, actor=bad),
            lambda: store.orders.for_customer(bad),
            lambda: store.orders.for_customer("ada", limit=bad),
            lambda: store.payments.capture(order_id, actor=bad),
            lambda: store.payments.capture(order_id, idempotency_key=bad),
            lambda: store.payments.void(order_id, actor=bad),
            lambda: store.payments.flag(order_id, bad, actor="staff"),
            lambda: store.payments.handle_webhook(bad, b"{}", "t=1,v1=00"),
            lambda: store.inventory.consume(order_id, actor=bad),
            lambda: store.inventory.adjust("CLOCK", "main", -1, reason=bad),
            lambda: store.inventory.receive("CLOCK", "main", 1, reference=bad),
            lambda: store.inventory.reorder_suggestions([bad]),
            lambda: store.catalog.add_price_list(bad, "EUR"),
            lambda: store.catalog.add_price_list("b2b", "EUR", customer_group=bad),
            lambda: store.carts.create("EUR", channel=bad),
            lambda: store.customers.orders(bad),
            lambda: store.inventory.add_location(StockLocation(id="x", name=bad)),
        ]
        for n, call in enumerate(calls):
            with pytest.raises(errors.CommerceError) as caught:
                call()
            assert len(str(caught.value)) < 300, n
        after = store.orders.get(order_id)
        assert (after.status, after.history, after.version) == (
            before.status,
            before.history,
            before.version,
        )
        assert store.payments.for_order(order_id).captured_units == 0
        assert store.inventory.stock("CLOCK")[0].on_hand == 5


def test_a_key_that_is_merely_unknown_is_still_not_found(url: str) -> None:
    long_but_bounded = "Y" * 255
    with Store.open(url, config={"entry_point_plugins": False}) as store:
        with pytest.raises(errors.NotFound) as caught:
            store.catalog.product(long_but_bounded)
        assert caught.value.key == long_but_bounded
        assert len(str(caught.value)) < 300
        assert store.inventory.stock(long_but_bounded) == []


# --- database errors name no parameter -------------------------------------------------


class OneToken(RandomIds):
    """Ids as usual, but the same cart token every time: two carts collide on it."""

    def __init__(self, token: str) -> None:
        self.token = token

    def new_token(self) -> str:
        return self.token


def test_a_taken_token_is_a_conflict_that_does_not_repeat_it(
    sql_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = "tok-" + "q" * 39  # a token's length, and easy to spot
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # it sets itself to WARNING
    with Store.open(sql_url, config={"entry_point_plugins": False}, ids=OneToken(token)) as store:
        store.carts.create("EUR", customer_id="zoe@example.com")
        with pytest.raises(errors.ConcurrencyConflict) as caught:
            store.carts.create("EUR", customer_id="zoe@example.com")
    causes = chain(caught.value)
    assert len(causes) > 1, "the conflict keeps the database's error as its cause"
    for error in causes:
        for text in (str(error), repr(error), *map(str, error.args)):
            assert token not in text, type(error)
            assert "zoe@example.com" not in text, type(error)
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    )
    assert any(record.name.startswith("sqlalchemy.engine") for record in caplog.records)
    assert token not in logged
    assert "zoe@example.com" not in logged


def test_storage_engines_hide_statement_parameters(sql_url: str) -> None:
    storage = SqlStorage.open(sql_url)
    try:
        assert storage.engine.hide_parameters
    finally:
        storage.close()


# --- a database that cannot be used ------------------------------------------------------


def test_a_refused_login_is_storage_unavailable_and_names_no_password() -> None:
    url = sa.make_url(postgres_base_url()).set(username="nobody", password="s3cretpw")
    with pytest.raises(errors.StorageUnavailable) as caught:
        Store.open(url.render_as_string(hide_password=False))
    assert caught.value.field == "url"
    assert "nobody:***@" in caught.value.url
    for text in (str(caught.value), repr(caught.value), caught.value.url):
        assert "s3cretpw" not in text


def test_a_directory_that_does_not_exist_is_storage_unavailable(tmp_path: Path) -> None:
    with pytest.raises(errors.StorageUnavailable):
        SqlStorage.open(f"sqlite:///{tmp_path / 'no' / 'such' / 'shop.db'}")
