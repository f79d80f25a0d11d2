"""The behaviour logs that ship: in memory, and a table in a SQLite file or in
PostgreSQL, each reached as a store reaches it (through the plugins, over a real
storage), each passing the behaviour log conformance suite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commercekit.domain.errors import ConfigurationError, InvalidInput, StorageUnavailable
from commercekit.domain.marketing.behaviour import BehaviourEvent, BehaviourKind
from commercekit.plugins import Plugins
from commercekit.ports.behaviour import BehaviourLog
from commercekit.testing.conformance.behaviour import BehaviourLogConformance
from tests.conftest import fresh_postgres_schema

PLUGINS = Plugins(entry_point_plugins=False)
AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class TestInMemory(BehaviourLogConformance):
    def make_log(self) -> BehaviourLog:
        return PLUGINS.make_behaviour_log("memory", PLUGINS.open_storage("memory://"), {})


class TestInSqlite(BehaviourLogConformance):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> Iterator[None]:
        self.storage = PLUGINS.open_storage(f"sqlite:///{tmp_path / 'shop.db'}")
        yield
        self.storage.close()

    def make_log(self) -> BehaviourLog:
        return PLUGINS.make_behaviour_log("sql", self.storage, {})


class TestInPostgresql(BehaviourLogConformance):
    @pytest.fixture(autouse=True)
    def _schema(self) -> Iterator[None]:
        with fresh_postgres_schema() as url:
            self.storage = PLUGINS.open_storage(url)
            yield
            self.storage.close()

    def make_log(self) -> BehaviourLog:
        return PLUGINS.make_behaviour_log("sql", self.storage, {})


def test_the_sql_log_needs_a_sql_storage_and_takes_no_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as refused:
        PLUGINS.make_behaviour_log("sql", PLUGINS.open_storage("memory://"), {})
    assert refused.value.field == "behaviour"
    with PLUGINS.open_storage(f"sqlite:///{tmp_path / 'shop.db'}") as storage:
        with pytest.raises(InvalidInput) as caught:
            PLUGINS.make_behaviour_log("sql", storage, {"table": "events"})
        assert caught.value.field == "behaviour.options"
        with pytest.raises(InvalidInput) as caught:
            PLUGINS.make_behaviour_log("memory", storage, ["table"])  # type: ignore[arg-type]
        assert caught.value.field == "behaviour.options"
        with pytest.raises(InvalidInput) as caught:
            PLUGINS.make_behaviour_log("kafka", storage, {})
        assert caught.value.field == "behaviour"


def test_reads_refuse_bad_periods_naming_the_argument(tmp_path: Path) -> None:
    log = PLUGINS.make_behaviour_log("memory", PLUGINS.open_storage("memory://"), {})
    naive = datetime(2026, 12, 1)
    for arguments, field in (
        ({"since": naive, "until": AT}, "since"),
        ({"since": AT, "until": AT - timedelta(seconds=1)}, "until"),
        ({"since": AT, "until": AT, "limit": 0}, "limit"),
        ({"since": AT, "until": AT, "limit": True}, "limit"),
        ({"since": AT, "until": AT, "visitor_id": "\x00"}, "visitor_id"),
    ):
        with pytest.raises(InvalidInput) as caught:
            log.events(**arguments)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_visitors_recording_at_once_lose_nothing_and_keep_orders_once(tmp_path: Path) -> None:
    """Four threads record 50 views each and the same ten orders: every view is kept,
    each order once."""
    with PLUGINS.open_storage(f"sqlite:///{tmp_path / 'shop.db'}") as storage:
        log = PLUGINS.make_behaviour_log("sql", storage, {})
        failures: list[BaseException] = []

        def visitor(n: int) -> None:
            try:
                for step in range(50):
                    log.record(
                        [
                            BehaviourEvent(
                                kind=BehaviourKind.PRODUCT_VIEWED,
                                at=AT + timedelta(seconds=step),
                                visitor_id=f"v{n}",
                                product_id="mug",
                            ),
                            BehaviourEvent(
                                id=f"order:{step % 10}",
                                kind=BehaviourKind.ORDER_PLACED,
                                at=AT,
                                visitor_id=f"v{step % 10}",
                                order_id=f"o{step % 10}",
                            ),
                        ]
                    )
            except BaseException as error:  # reported by the test
                failures.append(error)

        threads = [threading.Thread(target=visitor, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures
        found = log.events(since=AT, until=AT + timedelta(hours=1), limit=10_000)
        kinds = [event.kind for event in found]
        assert kinds.count(BehaviourKind.PRODUCT_VIEWED) == 200
        assert kinds.count(BehaviourKind.ORDER_PLACED) == 10


def test_a_database_that_cannot_be_reached_is_said_so_without_its_password() -> None:
    import sqlalchemy as sa

    from commercekit.adapters.behaviour.sql import SqlBehaviourLog

    engine = sa.create_engine("postgresql+psycopg://shop:hunter2@127.0.0.1:9/shop")
    try:
        with pytest.raises(StorageUnavailable) as caught:
            SqlBehaviourLog(engine).funnel(since=AT, until=AT)
    finally:
        engine.dispose()
    assert "hunter2" not in str(caught.value)
