"""Aggregates kept as one record each: written and read back whole, found by their
keys, version-checked, the same on every backend."""

from __future__ import annotations

import enum
import itertools
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercekit.domain.errors import ConcurrencyConflict, NotFound
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index
from commercekit.domain.sequences import NumberSequence
from commercekit.ports.storage import Storage, UnitOfWork

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Mood(enum.Enum):
    CALM = "calm"
    CROSS = "cross"


@attrs.frozen(kw_only=True)
class Entry:
    at: datetime
    units: int
    note: str = ""


@attrs.define(kw_only=True, eq=False)
class Sample:
    KIND: ClassVar[str] = "sample"

    id: str
    order_id: str
    customer_id: str = ""
    mood: Mood = Mood.CALM
    due: datetime | None = None
    rate: Decimal = Decimal("0")
    entries: tuple[Entry, ...] = ()
    units: Mapping[str, int] = attrs.field(factory=dict)
    pair: tuple[str, int] = ("", 0)
    created_at: datetime = AT
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def index(self) -> Index:
        return Index(
            at=self.created_at,
            ref=self.order_id,
            owner=self.customer_id,
            state=self.mood.value,
            due=self.due,
        )

    def as_data(self) -> tuple[object, ...]:
        return (
            self.id,
            self.order_id,
            self.customer_id,
            self.mood,
            self.due,
            self.rate,
            self.entries,
            dict(self.units),
            self.pair,
            self.created_at,
            self.version,
        )


def _write(storage: Storage, *records: Sample) -> None:
    with storage.unit_of_work() as uow:
        for record in records:
            uow.records(Sample).add(record)
        uow.commit()


_IDS = itertools.count()
_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
_SAMPLES = st.builds(
    Sample,
    id=st.just("s1"),
    order_id=_TEXT,
    customer_id=_TEXT,
    mood=st.sampled_from(Mood),
    due=st.none() | st.datetimes(timezones=st.just(UTC)),
    rate=st.decimals(allow_nan=False, allow_infinity=False, places=4, max_value=10**6),
    entries=st.lists(
        st.builds(Entry, at=st.datetimes(timezones=st.just(UTC)), units=st.integers(), note=_TEXT),
        max_size=3,
    ).map(tuple),
    units=st.dictionaries(_TEXT, st.integers(-(2**62), 2**62), max_size=3),
    pair=st.tuples(_TEXT, st.integers(0, 10**12)),
)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sample=_SAMPLES)
def test_a_record_reads_back_as_it_was_written(storage: Storage, sample: Sample) -> None:
    sample.id = f"s{next(_IDS)}"
    _write(storage, sample)
    with storage.unit_of_work() as uow:
        read = uow.records(Sample).get(sample.id)
    assert read.as_data() == sample.as_data()


def test_records_are_found_by_their_keys_oldest_first(storage: Storage) -> None:
    _write(
        storage,
        Sample(id="b", order_id="o1", customer_id="c1", created_at=AT + timedelta(hours=1)),
        Sample(id="a", order_id="o1", customer_id="c2", mood=Mood.CROSS, due=AT),
        Sample(id="c", order_id="o2", customer_id="c1", due=AT + timedelta(days=2)),
    )
    with storage.unit_of_work() as uow:
        samples = uow.records(Sample)
        assert [s.id for s in samples.where(ref="o1")] == ["a", "b"]
        assert [s.id for s in samples.where(owner="c1")] == ["c", "b"]
        assert [s.id for s in samples.where(ref="o1", state="cross")] == ["a"]
        assert [s.id for s in samples.where(due_before=AT + timedelta(days=1))] == ["a"]
        assert [s.id for s in samples.where(limit=1)] == ["a"]
        assert samples.where(ref="o3") == []
        # Another kind of record never answers for this one.
        assert uow.records(NumberSequence).find("a") is None
        with pytest.raises(NotFound) as raised:
            uow.records(NumberSequence).get("a")
        assert raised.value.field == "sequence_id"


def test_a_stale_record_is_a_conflict(storage: Storage) -> None:
    _write(storage, Sample(id="s", order_id="o"))
    with storage.unit_of_work() as first, storage.unit_of_work() as second:
        mine, theirs = first.records(Sample).get("s"), second.records(Sample).get("s")
        mine.version += 1
        first.records(Sample).save(mine)
        first.commit()
        theirs.version += 1
        second.records(Sample).save(theirs)
        with pytest.raises(ConcurrencyConflict):
            second.commit()


def test_a_record_added_twice_is_a_conflict(storage: Storage) -> None:
    _write(storage, Sample(id="s", order_id="o"))
    with storage.unit_of_work() as uow:
        uow.records(Sample).add(Sample(id="s", order_id="other"))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()


def _take(uow: UnitOfWork) -> int:
    sequences = uow.records(NumberSequence)
    sequence = sequences.find(NumberSequence.key("invoice", "web"))
    if sequence is None:
        sequence = NumberSequence.start("invoice", "web", at=AT)
        sequences.add(sequence)
    else:
        sequences.save(sequence)
    return sequence.take()


def test_numbers_taken_at_once_run_without_gaps(storage: Storage) -> None:
    """Eight threads take five numbers each, retrying a lost race: every number from
    1 to 40 is taken exactly once."""
    taken: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            for _attempt in range(200):
                try:
                    with storage.unit_of_work() as uow:
                        number = _take(uow)
                        uow.commit()
                except ConcurrencyConflict:
                    continue
                with lock:
                    taken.append(number)
                break

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(taken) == list(range(1, 41))
