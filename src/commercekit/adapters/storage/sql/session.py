"""The session behind a SQL unit of work: what the repositories stage and read.

A session stages what it is asked to write and writes it in one short write
transaction: at :meth:`Session.commit`, or earlier when a read needs to see it
(read-your-writes). Reads before that share one read transaction, so a unit of work
that waits on a payment gateway holds no lock meanwhile. On SQLite the write
transaction is a new one that takes the write lock at once; on PostgreSQL, which
reads committed data statement by statement, the read transaction goes on to
write. Whether an aggregate may be written is decided by its ``version`` at write
time (optimistic concurrency), never by what was read.

What every writer shares (stock, coupon uses) is not versioned: it is staged as
*claims*, each re-checked in the database as the write transaction applies it.
Everything is written in one fixed order so that two writers on PostgreSQL wait for
each other instead of deadlocking: plain writes, claims (coupons by code, then stock
by SKU and location), then aggregates in the order their mappings were given.

This is the package's own API: repositories use these methods, and nothing else of
the session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, TypeVar, final

import attrs
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, RootTransaction

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._database import begin_write
from commercekit.adapters.storage.sql._rows import insert
from commercekit.adapters.storage.sql.mapping import Aggregate, AggregateMapping, by_id
from commercekit.domain.errors import (
    CommerceError,
    ConcurrencyConflict,
)
from commercekit.domain.events import DomainEvent

__all__ = ["Claim", "Session"]

A = TypeVar("A", bound=Aggregate)

# PostgreSQL's serialization_failure, deadlock_detected and lock_not_available.
_CONTENTION_SQLSTATES: Final = frozenset({"40001", "40P01", "55P03"})


def _is_contention(error: sa_exc.DBAPIError) -> bool:
    """Whether the database gave up waiting for another writer: a deadlock or a
    serialization failure on PostgreSQL, a database still locked after the busy
    timeout on SQLite. Retrying the whole unit of work is the answer to each."""
    original = error.orig
    if getattr(original, "sqlstate", None) in _CONTENTION_SQLSTATES:
        return True
    name = getattr(original, "sqlite_errorname", None)
    return isinstance(name, str) and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _is_unique_violation(error: sa_exc.IntegrityError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        return True
    return getattr(original, "sqlite_errorname", None) in (
        "SQLITE_CONSTRAINT_UNIQUE",
        "SQLITE_CONSTRAINT_PRIMARYKEY",
    )


@attrs.frozen
class Claim:
    """A write on something every writer shares, re-checked as it is applied.

    ``apply`` raises the domain's refusal when the shared thing no longer allows it,
    and returns the events it set off.
    """

    order: tuple[int, tuple[str, ...]]
    """Claims are applied in this order (a group, then keys), so that two writers take
    their rows in one order."""
    apply: Callable[[Connection], Sequence[DomainEvent]]
    owner: str = ""
    """Whose claim this is (an order id), so that it can be withdrawn unwritten."""
    payload: Any = None
    apply_many: Callable[[Connection, Sequence[Any]], Sequence[DomainEvent]] | None = None
    """Applies the payloads of several claims next to each other in claim order at
    once (one statement for an order's holds), with the same effect as ``apply``
    on each in turn."""


def _batches(claims: Sequence[Claim]) -> list[list[Claim]]:
    """Runs of claims next to each other that one ``apply_many`` can apply at once."""
    batches: list[list[Claim]] = []
    for claim in claims:
        last = batches[-1] if batches else None
        if (
            last is not None
            and claim.apply_many is not None
            and last[0].apply_many is claim.apply_many
        ):
            last.append(claim)
        else:
            batches.append([claim])
    return batches


@attrs.define
class _Loaded:
    """What the database held of an aggregate when the session last read or wrote
    it. Keeping the aggregate keeps its ``id()`` from being reused meanwhile."""

    aggregate: Any
    version: int
    sizes: tuple[int, ...]


@attrs.define
class _Staged:
    mapping: AggregateMapping[Any]
    aggregate: Any
    removed: bool = False


@final
class Session:
    """Staged writes and snapshot reads over one engine, for one unit of work.

    After a failed write the session refuses further use until it is rolled back,
    so that nothing half-written can be committed.
    """

    def __init__(self, engine: Engine, mappings: Sequence[AggregateMapping[Any]]) -> None:
        self._engine = engine
        self._rank = {mapping.kind: rank for rank, mapping in enumerate(mappings)}
        self._connection: Connection | None = None
        self._writing: RootTransaction | None = None
        self._loaded: dict[int, _Loaded] = {}
        self._adopted: dict[tuple[str, str], Any] = {}
        self._staged: dict[tuple[str, str], _Staged] = {}
        self._writes: list[Callable[[Connection], None]] = []
        self._claims: list[Claim] = []
        self._written: list[tuple[AggregateMapping[Any], Any]] = []
        self._events: list[DomainEvent] = []
        """Events set off by claims as they were applied."""
        self._loose: list[DomainEvent] = []
        self._failed: type[BaseException] | None = None

    # --- what repositories call ----------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection that sees everything staged so far."""
        self.check_usable()
        if self._dirty():
            self._flush()
        try:
            if self._writing is not None:
                yield self._begin_writing()
                return
            # One read transaction serves every read until the session writes (or
            # ends): a consistent view, without a BEGIN and COMMIT around each query.
            # Writes are checked against versions, so reading in a snapshot that is
            # then closed before writing is safe.
            connection = self._connect()
            if not connection.in_transaction():
                connection.begin()
            yield connection
        except sa_exc.StatementError as error:
            # A value the schema's types refuse (a naive time) is the caller's error.
            if isinstance(error.orig, CommerceError):
                raise error.orig from error
            raise

    @contextmanager
    def writing_now(self) -> Iterator[Connection]:
        """The write transaction, with everything staged written, for a write whose
        outcome the caller needs at once (it then holds its rows' locks until the
        session ends)."""
        self.check_usable()
        if self._dirty():
            self._flush()
        try:
            yield self._begin_writing()
        except BaseException as error:
            raised = self._failure(error)
            if raised is error:
                raise
            raise raised from error

    def stage(self, mapping: AggregateMapping[A], aggregate: A) -> None:
        """Write ``aggregate`` on commit: as new if this session never read it,
        otherwise only if the stored one still has the version read."""
        self.check_usable()
        self._staged[(mapping.kind, aggregate.id)] = _Staged(mapping, aggregate)
        # Events are committed in the order their aggregates were first saved, so that
        # causes come before effects.
        if not any(aggregate is seen for _, seen in self._written):
            self._written.append((mapping, aggregate))

    def stage_removal(self, mapping: AggregateMapping[A], aggregate: A) -> None:
        """Delete ``aggregate`` on commit, if the stored one still has the version read."""
        self.check_usable()
        self._staged[(mapping.kind, aggregate.id)] = _Staged(mapping, aggregate, removed=True)

    def queue(self, write: Callable[[Connection], None]) -> None:
        """Run ``write`` in the write transaction, before claims and aggregates."""
        self.check_usable()
        self._writes.append(write)

    def claim(self, claim: Claim) -> None:
        """Apply ``claim`` in the write transaction, in claim order."""
        self.check_usable()
        self._claims.append(claim)

    def withdraw(self, owner: str) -> None:
        """Forget the claims of ``owner`` not written yet."""
        self.check_usable()
        self._claims = [claim for claim in self._claims if claim.owner != owner]

    def load(
        self,
        mapping: AggregateMapping[A],
        condition: sa.ColumnElement[bool],
        *,
        limit: int | None = None,
        newest_first: bool = False,
        params: Mapping[str, Any] | None = None,
    ) -> list[A]:
        """The aggregates meeting ``condition``, each the object this session already
        holds under its id where it staged one (so that its changes and events stay
        in one object). ``params`` as :meth:`AggregateMapping.load` takes them."""
        with self.reading() as connection:
            found = mapping.load(
                connection, condition, params=params, limit=limit, newest_first=newest_first
            )
        return [self._known(mapping, aggregate) for aggregate in found]

    def adopt(self, mapping: AggregateMapping[A], aggregate: A) -> None:
        """Hold ``aggregate`` as read at its version, as an earlier session committed
        it: its next write expects that version, and :meth:`get` returns it."""
        self.check_usable()
        self._adopted[(mapping.kind, aggregate.id)] = aggregate
        self._known(mapping, aggregate)

    def get(self, mapping: AggregateMapping[A], key: str) -> A | None:
        """The aggregate with this id: the one staged or adopted, or the stored one."""
        staged = self.staged(mapping, key)
        if staged is not None:
            return staged
        adopted = self._adopted.get((mapping.kind, key))
        if isinstance(adopted, mapping.cls):
            return adopted
        found = self.load(mapping, by_id(mapping.root), params={"_key": key})
        return found[0] if found else None

    def staged(self, mapping: AggregateMapping[A], key: str) -> A | None:
        """The aggregate staged under this id, if any."""
        self.check_usable()
        staged = self._staged.get((mapping.kind, key))
        if staged is not None and not staged.removed and isinstance(staged.aggregate, mapping.cls):
            return staged.aggregate
        return None

    def record_events(self, events: Sequence[DomainEvent]) -> None:
        """Events to write to the outbox on commit, after every other."""
        self.check_usable()
        self._loose.extend(events)

    def check_usable(self) -> None:
        """:raises ConcurrencyConflict: or ``RuntimeError``, after a failed write."""
        if self._failed is None:
            return
        if issubclass(self._failed, ConcurrencyConflict):
            raise ConcurrencyConflict(
                "this unit of work lost a conflict and wrote nothing; roll it back and retry"
            )
        raise RuntimeError(f"this unit of work failed ({self._failed.__name__}); roll it back")

    # --- the transaction -------------------------------------------------------------

    def commit(self) -> list[DomainEvent]:
        """Write everything staged, and the events (to the outbox), in one transaction.

        :returns: the events committed, for publication.
        """
        self.check_usable()
        if self._dirty():
            self._flush()
        saved = self._written
        events = [event for mapping, aggregate in saved for event in mapping.events(aggregate)]
        events.extend(self._events)
        events.extend(self._loose)
        try:
            if events:
                rows = [
                    {
                        "name": event.name,
                        "payload": codec.encode_event(event),
                        "occurred_at": event.occurred_at,
                        "delivered_at": None,
                    }
                    for event in events
                ]
                insert(self._begin_writing(), t.outbox, rows)
            if self._writing is not None:
                self._writing.commit()
        except BaseException as error:
            raised = self._failure(error)
            if raised is error:
                raise
            raise raised from error
        self._reset()
        for mapping, aggregate in saved:
            mapping.events(aggregate).clear()
        return events

    def rollback(self) -> None:
        """Discard every change, staged or written."""
        try:
            if self._writing is not None and self._writing.is_active:
                self._writing.rollback()
        finally:
            self._reset()
            self._failed = None

    def _reset(self) -> None:
        connection, self._connection, self._writing = self._connection, None, None
        self._loaded = {}
        self._adopted = {}
        self._staged = {}
        self._writes = []
        self._claims = []
        self._written = []
        self._events = []
        self._loose = []
        if connection is not None:
            connection.close()

    def _failure(self, error: BaseException) -> BaseException:
        """Roll back after a failed write, and say what to raise for ``error``.

        A taken unique key, a deadlock, a serialization failure or a database that
        stayed locked all mean another writer got there first: a
        :class:`ConcurrencyConflict`, which callers retry.
        """
        raised = error
        if isinstance(error, sa_exc.IntegrityError) and _is_unique_violation(error):
            raised = ConcurrencyConflict(
                "another writer took the same key first; nothing was written"
            )
        elif isinstance(error, sa_exc.DBAPIError) and _is_contention(error):
            raised = ConcurrencyConflict(
                "another writer held the same rows too long; nothing was written"
            )
        elif isinstance(error, sa_exc.StatementError) and isinstance(error.orig, CommerceError):
            # A value the schema's types refuse (a naive time) is the caller's error.
            raised = error.orig
        try:
            if self._writing is not None and self._writing.is_active:
                self._writing.rollback()
        finally:
            self._reset()
            self._failed = type(raised)
        return raised

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def _begin_writing(self) -> Connection:
        connection = self._connect()
        if self._writing is None:
            reading = connection.get_transaction()
            if reading is not None and connection.dialect.name != "sqlite":
                # PostgreSQL reads committed data statement by statement, so the
                # read transaction simply goes on writing: no COMMIT and BEGIN to
                # wait for in between.
                self._writing = reading
                return connection
            if reading is not None:
                # SQLite: end the read snapshot, so that the write transaction takes
                # the write lock afresh (a read transaction that starts writing after
                # another writer committed would fail).
                connection.commit()
            self._writing = begin_write(connection)
        return connection

    def _dirty(self) -> bool:
        if self._writes or self._claims:
            return True
        for staged in self._staged.values():
            loaded = self._loaded.get(id(staged.aggregate))
            if staged.removed or loaded is None or loaded.version != staged.aggregate.version:
                return True
        return False

    def _flush(self) -> None:
        """Write what is staged into the (now open) write transaction."""
        try:
            connection = self._begin_writing()
            for write in self._writes:
                write(connection)
            self._writes.clear()
            # Python's sort is stable: two claims on one row keep the order they were
            # made in, while rows are locked in key order.
            for batch in _batches(sorted(self._claims, key=lambda claim: claim.order)):
                many = batch[0].apply_many
                if many is None or len(batch) == 1:
                    self._events.extend(batch[0].apply(connection))
                else:
                    self._events.extend(many(connection, [claim.payload for claim in batch]))
            self._claims.clear()
            ranked = sorted(self._staged.items(), key=self._write_order)
            for _, staged in ranked:
                self._write(connection, staged)
            self._staged = {k: s for k, s in self._staged.items() if not s.removed}
        except BaseException as error:
            raised = self._failure(error)
            if raised is error:
                raise
            raise raised from error

    def _write_order(self, item: tuple[tuple[str, str], _Staged]) -> tuple[int, str, str]:
        """Aggregates by their mapping's rank; records (after them) by kind and id, so
        that two writers lock the same rows in the same order."""
        kind, key = item[0]
        rank = self._rank.get(kind)
        return (rank, "", "") if rank is not None else (len(self._rank), kind, key)

    def _write(self, connection: Connection, staged: _Staged) -> None:
        mapping, aggregate = staged.mapping, staged.aggregate
        loaded = self._loaded.get(id(aggregate))
        if staged.removed:
            if loaded is not None:
                if not mapping.delete(connection, aggregate.id, loaded.version):
                    raise self._conflict(mapping, aggregate)
                del self._loaded[id(aggregate)]
            elif mapping.exists(connection, aggregate.id):
                raise ConcurrencyConflict(
                    f"{mapping.kind} {aggregate.id!r} was not loaded in this unit of work"
                )
            return
        if loaded is None:
            mapping.insert(connection, aggregate)
        elif aggregate.version != loaded.version:
            if not mapping.update(connection, aggregate, loaded.version, loaded.sizes):
                raise self._conflict(mapping, aggregate)
        else:
            return
        self._loaded[id(aggregate)] = _Loaded(
            aggregate, aggregate.version, mapping.sizes(aggregate)
        )

    @staticmethod
    def _conflict(mapping: AggregateMapping[Any], aggregate: Any) -> ConcurrencyConflict:
        return ConcurrencyConflict(
            f"{mapping.kind} {aggregate.id!r} was changed or removed meanwhile"
        )

    def _known(self, mapping: AggregateMapping[A], aggregate: A) -> A:
        staged = self._staged.get((mapping.kind, aggregate.id))
        if staged is not None and isinstance(staged.aggregate, mapping.cls):
            return staged.aggregate
        self._loaded[id(aggregate)] = _Loaded(
            aggregate, aggregate.version, mapping.sizes(aggregate)
        )
        return aggregate
