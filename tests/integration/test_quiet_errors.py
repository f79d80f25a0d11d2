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

from commercekit import errors
from commercekit.adapters.clock import RandomIds
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.store import Store
from tests.conftest import fresh_postgres_schema, postgres_base_url

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
