"""The SQL unit of work and its repositories.

A unit of work stages what it is asked to write and writes it in one short write
transaction: at :meth:`~SqlUnitOfWork.commit`, or earlier when a read needs to see
it (read-your-writes). Reads before that run in short read transactions of their
own, so a unit of work that waits on a payment gateway holds no lock meanwhile, and
two units of work in one thread never wait for each other. Whether a write may go
ahead is decided by the rows' ``version`` at write time (optimistic concurrency),
never by what was read.

Stock and coupon limits are shared by every checkout, so they are not versioned but
re-checked in the database as the write transaction applies them: each staged change
is a conditional update (or, for a coupon, a count under a lock on the coupon's row).
Everything is written in one fixed order of tables, and rows of one table in key
order, so that two writers on PostgreSQL wait for each other instead of deadlocking:
plain staged writes, coupon uses (by code), stock items (by SKU, then location),
then aggregates (carts, checkouts, orders, payments, purchase orders).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar, final

import attrs
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, RootTransaction

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import _mapping as m
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._database import begin_write
from commercekit.adapters.storage.sql._inventory import SqlInventoryRepository, StockChange
from commercekit.adapters.storage.sql._rows import chunks as _chunks
from commercekit.adapters.storage.sql._rows import group as _group
from commercekit.adapters.storage.sql._rows import insert as _insert
from commercekit.domain.cart import Cart
from commercekit.domain.catalog import Category, Product
from commercekit.domain.checkout import Checkout
from commercekit.domain.errors import (
    CommerceError,
    CouponRejected,
    DuplicateSku,
    InvalidInput,
    NotFound,
)
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import PurchaseOrder
from commercekit.domain.orders import HOLDING_MONEY, Order, OrderStatus
from commercekit.domain.payments import Payment
from commercekit.domain.pricing import PriceList, TaxZone
from commercekit.domain.promotions import Coupon, CouponUsage, Promotion
from commercekit.ports.storage import ConcurrencyConflict

__all__ = [
    "SqlCartRepository",
    "SqlCatalogRepository",
    "SqlCheckoutRepository",
    "SqlInventoryRepository",
    "SqlOrderRepository",
    "SqlPaymentRepository",
    "SqlUnitOfWork",
]

Aggregate = Cart | Checkout | Order | Payment | PurchaseOrder
_A = TypeVar("_A", Cart, Checkout, Order, Payment, PurchaseOrder)

_ROOTS: Final[Mapping[str, sa.Table]] = {
    "cart": t.carts,
    "checkout": t.checkouts,
    "order": t.orders,
    "payment": t.payments,
    "purchase_order": t.purchase_orders,
}
# Written in this order: the same order in every unit of work takes row locks in
# the same order, so two writers on PostgreSQL never deadlock.
_RANK: Final = {kind: rank for rank, kind in enumerate(_ROOTS)}


@attrs.define
class _Loaded:
    """What the database held of an aggregate when this unit of work last read or
    wrote it. Keeping the aggregate keeps its ``id()`` from being reused meanwhile."""

    aggregate: Aggregate
    version: int
    children: int
    """Rows of its append-only part stored: order history, payment ledger."""


@attrs.define
class _Staged:
    aggregate: Aggregate
    removed: bool = False


@attrs.frozen
class _CouponClaim:
    """One use of a coupon by an order, to be checked against its limits on write."""

    code: str
    customer: str | None
    order_id: str


def _children(aggregate: Aggregate) -> int:
    if isinstance(aggregate, Order):
        return len(aggregate.history)
    if isinstance(aggregate, Payment):
        return len(aggregate.transactions)
    return 0


def _events(aggregate: Aggregate) -> list[DomainEvent]:
    return aggregate.events if isinstance(aggregate, Order | Payment) else []


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


@final
class SqlUnitOfWork:
    """One atomic set of changes to a SQL database. Use it as a context manager;
    leaving it without :meth:`commit` rolls everything back.

    ``save`` writes an aggregate only if the row still has the version this unit of
    work read it at; one it never read is written as new, so a stored one with the
    same id (or token, or key) is a :class:`ConcurrencyConflict` (a checkout is
    replaced instead, as checkouts are saved without being found first). After a
    conflict the unit of work refuses further use until it is rolled back.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._writing: RootTransaction | None = None
        self._loaded: dict[int, _Loaded] = {}
        self._staged: dict[tuple[str, str], _Staged] = {}
        self._writes: list[Callable[[Connection], None]] = []
        self._claims: list[_CouponClaim] = []
        self._stock: list[StockChange] = []
        self._written: list[Aggregate] = []
        self._loose: list[DomainEvent] = []
        self._failed: type[BaseException] | None = None
        self.carts = SqlCartRepository(self)
        self.checkouts = SqlCheckoutRepository(self)
        self.orders = SqlOrderRepository(self)
        self.payments = SqlPaymentRepository(self)
        self.catalog = SqlCatalogRepository(self)
        self.inventory = SqlInventoryRepository(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()

    # --- transactions --------------------------------------------------------------

    def commit(self) -> list[DomainEvent]:
        """Write everything staged, and the events the saved aggregates recorded (to
        the outbox), in one transaction.

        :returns: the events committed, for publication.
        :raises ConcurrencyConflict: if another writer got there first; nothing is
            written then.
        :raises InsufficientStock: if stock staged to be reserved or removed is not
            there any more; nothing is written then.
        :raises CouponRejected: if a coupon whose use was recorded reached its limit
            meanwhile; nothing is written then.
        """
        self._check_usable()
        if self._dirty():
            self._flush()
        saved = self._written
        events = [event for aggregate in saved for event in _events(aggregate)]
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
                _insert(self._begin_writing(), t.outbox, rows)
            if self._writing is not None:
                self._writing.commit()
        except BaseException as error:
            raised = self._failure(error)
            if raised is error:
                raise
            raise raised from error
        self._reset()
        for aggregate in saved:
            _events(aggregate).clear()
        return events

    def record_events(self, events: Sequence[DomainEvent]) -> None:
        """Events no saved aggregate carries (such as ``StockLow``), to be written to
        the outbox on commit, after the aggregates' events."""
        self._check_usable()
        self._loose.extend(events)

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
        self._staged = {}
        self._writes = []
        self._claims = []
        self._stock = []
        self._written = []
        self._loose = []
        if connection is not None:
            connection.close()

    def _fail(self, error: BaseException) -> None:
        """Roll back after a failed write; the unit of work refuses further use until
        it is rolled back, so that nothing half-written can be committed."""
        try:
            if self._writing is not None and self._writing.is_active:
                self._writing.rollback()
        finally:
            self._reset()
            self._failed = type(error)

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
        self._fail(raised)
        return raised

    def _check_usable(self) -> None:
        if self._failed is None:
            return
        if issubclass(self._failed, ConcurrencyConflict):
            raise ConcurrencyConflict(
                "this unit of work lost a conflict and wrote nothing; roll it back and retry"
            )
        raise RuntimeError(f"this unit of work failed ({self._failed.__name__}); roll it back")

    def _connect(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def _begin_writing(self) -> Connection:
        connection = self._connect()
        if self._writing is None:
            if connection.in_transaction():
                # End the read snapshot: the write transaction takes the lock afresh.
                connection.commit()
            self._writing = begin_write(connection)
        return connection

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection that sees everything staged so far."""
        self._check_usable()
        if self._dirty():
            self._flush()
        try:
            if self._writing is not None:
                yield self._begin_writing()
                return
            # One read transaction serves every read until the unit of work writes (or
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

    # --- staging and writing -------------------------------------------------------

    def _stage(self, kind: str, aggregate: Aggregate) -> None:
        self._check_usable()
        self._staged[(kind, aggregate.id)] = _Staged(aggregate)
        # Events are committed in the order their aggregates were first saved, so that
        # causes come before effects (the memory storage's order).
        if not any(aggregate is seen for seen in self._written):
            self._written.append(aggregate)

    def _stage_removal(self, kind: str, aggregate: Aggregate) -> None:
        self._check_usable()
        self._staged[(kind, aggregate.id)] = _Staged(aggregate, removed=True)

    def _queue(self, write: Callable[[Connection], None]) -> None:
        self._check_usable()
        self._writes.append(write)

    def _claim(self, claim: _CouponClaim) -> None:
        self._check_usable()
        self._claims.append(claim)

    def _change_stock(self, change: StockChange) -> None:
        self._check_usable()
        self._stock.append(change)

    @contextmanager
    def _writing_now(self) -> Iterator[Connection]:
        """The write transaction, with everything staged written, for a write whose
        outcome the caller needs at once (it then holds its rows' locks until the
        unit of work ends)."""
        self._check_usable()
        if self._dirty():
            self._flush()
        try:
            yield self._begin_writing()
        except BaseException as error:
            raised = self._failure(error)
            if raised is error:
                raise
            raise raised from error

    def _in_order(self) -> list[tuple[tuple[str, str], _Staged]]:
        return sorted(self._staged.items(), key=lambda item: _RANK[item[0][0]])

    def _dirty(self) -> bool:
        if self._writes or self._claims or self._stock:
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
            # Python's sort is stable: two changes of one row keep the order they were
            # made in, while rows are locked in key order.
            for claim in sorted(self._claims, key=lambda claim: claim.code):
                _claim_coupon(connection, claim)
            self._claims.clear()
            for change in sorted(self._stock, key=lambda change: change.key):
                change.apply(connection)
            self._stock.clear()
            for key, staged in self._in_order():
                self._write(connection, key[0], staged)
            self._staged = {k: s for k, s in self._staged.items() if not s.removed}
        except BaseException as error:
            raised = self._failure(error)
            if raised is error:
                raise
            raise raised from error

    def _write(self, connection: Connection, kind: str, staged: _Staged) -> None:
        aggregate = staged.aggregate
        root = _ROOTS[kind]
        loaded = self._loaded.get(id(aggregate))
        if staged.removed:
            if loaded is not None:
                self._versioned(
                    connection,
                    root.delete().where(
                        root.c.id == aggregate.id, root.c.version == loaded.version
                    ),
                    kind,
                    aggregate.id,
                )
                del self._loaded[id(aggregate)]
            elif connection.execute(sa.select(root.c.id).where(root.c.id == aggregate.id)).first():
                raise ConcurrencyConflict(
                    f"{kind} {aggregate.id!r} was not loaded in this unit of work"
                )
            return
        if loaded is None:
            self._insert_aggregate(connection, aggregate)
        elif aggregate.version != loaded.version:
            self._update_aggregate(connection, kind, aggregate, loaded)
        else:
            return
        self._loaded[id(aggregate)] = _Loaded(aggregate, aggregate.version, _children(aggregate))

    @staticmethod
    def _versioned(connection: Connection, statement: Any, kind: str, key: str) -> None:
        if connection.execute(statement).rowcount != 1:
            raise ConcurrencyConflict(f"{kind} {key!r} was changed or removed meanwhile")

    @staticmethod
    def _insert_aggregate(connection: Connection, aggregate: Aggregate) -> None:
        if isinstance(aggregate, Cart):
            connection.execute(t.carts.insert().values(m.cart_row(aggregate)))
            _insert(connection, t.cart_lines, m.cart_line_rows(aggregate))
        elif isinstance(aggregate, Checkout):
            # A checkout is saved without being found first when it is new; one saved
            # blindly over a stored one replaces it, as in the memory storage.
            row = m.checkout_row(aggregate)
            updated = connection.execute(
                t.checkouts.update().where(t.checkouts.c.id == aggregate.id).values(row)
            )
            if updated.rowcount == 0:
                connection.execute(t.checkouts.insert().values(row))
        elif isinstance(aggregate, Order):
            connection.execute(t.orders.insert().values(m.order_row(aggregate)))
            _insert(connection, t.order_lines, m.order_line_rows(aggregate))
            _insert(connection, t.order_history, m.history_rows(aggregate))
        elif isinstance(aggregate, PurchaseOrder):
            connection.execute(t.purchase_orders.insert().values(m.purchase_order_row(aggregate)))
            _insert(connection, t.purchase_order_lines, m.purchase_order_line_rows(aggregate))
        else:
            connection.execute(t.payments.insert().values(m.payment_row(aggregate)))
            _insert(connection, t.payment_transactions, m.transaction_rows(aggregate))

    def _update_aggregate(
        self, connection: Connection, kind: str, aggregate: Aggregate, loaded: _Loaded
    ) -> None:
        root = _ROOTS[kind]
        row: dict[str, Any]
        if isinstance(aggregate, Cart):
            row = m.cart_row(aggregate)
        elif isinstance(aggregate, Checkout):
            row = m.checkout_row(aggregate)
        elif isinstance(aggregate, Order):
            row = m.order_row(aggregate)
        elif isinstance(aggregate, PurchaseOrder):
            row = m.purchase_order_row(aggregate)
        else:
            row = m.payment_row(aggregate)
        del row["id"]
        self._versioned(
            connection,
            root.update()
            .where(root.c.id == aggregate.id, root.c.version == loaded.version)
            .values(row),
            kind,
            aggregate.id,
        )
        if isinstance(aggregate, Cart):
            connection.execute(t.cart_lines.delete().where(t.cart_lines.c.cart_id == aggregate.id))
            _insert(connection, t.cart_lines, m.cart_line_rows(aggregate))
        elif isinstance(aggregate, PurchaseOrder):
            lines = t.purchase_order_lines
            connection.execute(lines.delete().where(lines.c.purchase_order_id == aggregate.id))
            _insert(connection, lines, m.purchase_order_line_rows(aggregate))
        elif isinstance(aggregate, Order):
            _insert(connection, t.order_history, m.history_rows(aggregate, loaded.children))
        elif isinstance(aggregate, Payment):
            _insert(
                connection, t.payment_transactions, m.transaction_rows(aggregate, loaded.children)
            )

    # --- reading -------------------------------------------------------------------

    def _known(self, kind: str, aggregate: _A) -> _A:
        """The aggregate this unit of work already holds under the same id, if it
        staged one (so that its changes and events stay in one object); otherwise
        ``aggregate``, now remembered at the version read."""
        staged = self._staged.get((kind, aggregate.id))
        if staged is not None and isinstance(staged.aggregate, type(aggregate)):
            return staged.aggregate
        self._loaded[id(aggregate)] = _Loaded(aggregate, aggregate.version, _children(aggregate))
        return aggregate

    def _staged_one(self, kind: str, key: str, cls: type[_A]) -> _A | None:
        staged = self._staged.get((kind, key))
        if staged is not None and isinstance(staged.aggregate, cls):
            return staged.aggregate
        return None


class _Repository:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow


@final
class SqlCartRepository(_Repository):
    """Carts: a row in ``carts`` and one per line in ``cart_lines`` (two statements
    to load a cart, however many lines it has)."""

    def get(self, cart_id: str) -> Cart:
        """:raises NotFound: for an unknown id."""
        found = self._where(t.carts.c.id == cart_id, cart_id)
        if found is None:
            raise NotFound("cart", cart_id)
        return found

    def find_by_token(self, token: str) -> Cart | None:
        """The cart whose token this is; an empty token finds nothing."""
        if not token:
            return None
        return self._where(t.carts.c.token == token)

    def _where(self, condition: sa.ColumnElement[bool], cart_id: str | None = None) -> Cart | None:
        with self._uow._reading() as connection:
            if cart_id is not None:
                staged = self._uow._staged_one("cart", cart_id, Cart)
                if staged is not None:  # not `if staged`: an empty cart is falsy
                    return staged
            row = connection.execute(sa.select(t.carts).where(condition)).mappings().first()
            if row is None:
                return None
            lines = connection.execute(
                sa.select(t.cart_lines)
                .where(t.cart_lines.c.cart_id == row["id"])
                .order_by(t.cart_lines.c.position)
            ).mappings()
            return self._uow._known("cart", m.cart_from_rows(row, lines))

    def add(self, cart: Cart) -> None:
        """Stage a new cart; a taken id or token is a conflict on commit."""
        self._uow._stage("cart", cart)

    def save(self, cart: Cart) -> None:
        """Stage a changed cart (nothing is written if its version did not change)."""
        self._uow._stage("cart", cart)

    def remove(self, cart: Cart) -> None:
        """Stage the deletion of a cart, with its lines."""
        self._uow._stage_removal("cart", cart)


@final
class SqlCheckoutRepository(_Repository):
    """Checkouts, one row each; addresses and shipping as JSON."""

    def find(self, checkout_id: str) -> Checkout | None:
        """The checkout with this id, if one was started."""
        with self._uow._reading() as connection:
            staged = self._uow._staged_one("checkout", checkout_id, Checkout)
            if staged is not None:
                return staged
            row = (
                connection.execute(sa.select(t.checkouts).where(t.checkouts.c.id == checkout_id))
                .mappings()
                .first()
            )
            return None if row is None else self._uow._known("checkout", m.checkout_from_row(row))

    def save(self, checkout: Checkout) -> None:
        """Stage a new or changed checkout."""
        self._uow._stage("checkout", checkout)


@final
class SqlOrderRepository(_Repository):
    """Orders: a row in ``orders``, with ``order_lines`` and ``order_history`` (three
    statements to load any number of orders)."""

    def get(self, order_id: str) -> Order:
        """:raises NotFound: for an unknown id."""
        with self._uow._reading() as connection:
            staged = self._uow._staged_one("order", order_id, Order)
            found = (
                [staged]
                if staged is not None
                else self._load(connection, t.orders.c.id == order_id)
            )
        if not found:
            raise NotFound("order", order_id)
        return found[0]

    def find_by_token(self, token: str) -> Order | None:
        """The order whose token this is; an empty token finds nothing."""
        if not token:
            return None
        return self._first(t.orders.c.token == token)

    def find_by_idempotency_key(self, key: str) -> Order | None:
        """The order placed with this idempotency key, if any."""
        return self._first(t.orders.c.idempotency_key == key)

    def pending_payment(self, placed_before: datetime, limit: int = 100) -> list[Order]:
        """Orders still waiting for their payment's outcome, oldest first."""
        with self._uow._reading() as connection:
            return self._load(
                connection,
                sa.and_(
                    t.orders.c.status == OrderStatus.PENDING_PAYMENT.value,
                    t.orders.c.placed_at < placed_before,
                ),
                limit=limit,
            )

    def cancelled_holding_money(self, limit: int = 100) -> list[Order]:
        """Cancelled orders whose payment still holds money, oldest first."""
        with self._uow._reading() as connection:
            return self._load(
                connection,
                sa.and_(
                    t.orders.c.status == OrderStatus.CANCELLED.value,
                    t.orders.c.payment_status.in_([s.value for s in HOLDING_MONEY]),
                ),
                limit=limit,
            )

    def add(self, order: Order) -> None:
        """Stage a new order; a taken id, token or idempotency key is a
        :class:`ConcurrencyConflict` on commit."""
        self._uow._stage("order", order)

    def save(self, order: Order) -> None:
        """Stage a changed order; only new history entries are written."""
        self._uow._stage("order", order)

    def _first(self, condition: sa.ColumnElement[bool]) -> Order | None:
        with self._uow._reading() as connection:
            found = self._load(connection, condition)
        return found[0] if found else None

    def _load(
        self, connection: Connection, condition: sa.ColumnElement[bool], limit: int | None = None
    ) -> list[Order]:
        query = (
            sa.select(t.orders)
            .where(condition)
            .order_by(t.orders.c.placed_at, t.orders.c.id)
            .limit(limit)
        )
        rows = connection.execute(query).mappings().all()
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        lines = _group(
            connection.execute(
                sa.select(t.order_lines)
                .where(t.order_lines.c.order_id.in_(ids))
                .order_by(t.order_lines.c.order_id, t.order_lines.c.position)
            ).mappings(),
            "order_id",
        )
        history = _group(
            connection.execute(
                sa.select(t.order_history)
                .where(t.order_history.c.order_id.in_(ids))
                .order_by(t.order_history.c.order_id, t.order_history.c.position)
            ).mappings(),
            "order_id",
        )
        return [
            self._uow._known(
                "order",
                m.order_from_rows(row, lines.get(row["id"], []), history.get(row["id"], [])),
            )
            for row in rows
        ]


@final
class SqlPaymentRepository(_Repository):
    """Payments: a row in ``payments`` and the ledger in ``payment_transactions``."""

    def get(self, payment_id: str) -> Payment:
        """:raises NotFound: for an unknown id."""
        with self._uow._reading() as connection:
            found = self._uow._staged_one("payment", payment_id, Payment)
            if found is None:
                found = self._load(connection, t.payments.c.id == payment_id)
        if found is None:
            raise NotFound("payment", payment_id)
        return found

    def for_order(self, order_id: str) -> Payment | None:
        """The payment of an order."""
        with self._uow._reading() as connection:
            return self._load(connection, t.payments.c.order_id == order_id)

    def find_by_reference(self, gateway: str, reference: str) -> Payment | None:
        """The payment a gateway knows by ``reference``."""
        with self._uow._reading() as connection:
            return self._load(
                connection,
                sa.and_(t.payments.c.gateway == gateway, t.payments.c.reference == reference),
            )

    def add(self, payment: Payment) -> None:
        """Stage a new payment; a taken ``(gateway, reference)`` is a conflict."""
        self._uow._stage("payment", payment)

    def save(self, payment: Payment) -> None:
        """Stage a changed payment; only new ledger entries are written."""
        self._uow._stage("payment", payment)

    def _load(self, connection: Connection, condition: sa.ColumnElement[bool]) -> Payment | None:
        row = (
            connection.execute(
                sa.select(t.payments).where(condition).order_by(t.payments.c.id).limit(1)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        transactions = connection.execute(
            sa.select(t.payment_transactions)
            .where(t.payment_transactions.c.payment_id == row["id"])
            .order_by(t.payment_transactions.c.position)
        ).mappings()
        return self._uow._known("payment", m.payment_from_rows(row, transactions))


@final
class SqlCatalogRepository(_Repository):
    """The catalogue, prices, tax zones, promotions and coupons.

    Checks that can fail (a taken id or SKU, a missing parent) run when called, so
    the error comes from the call that caused it; the writes are staged like any
    other and land on commit.
    """

    # --- categories ----------------------------------------------------------------

    def add_category(self, category: Category) -> None:
        """:raises InvalidInput: for a taken id. :raises NotFound: for a missing parent."""
        wanted = [category.id] if category.parent_id is None else [category.id, category.parent_id]
        with self._uow._reading() as connection:
            found = set(
                connection.execute(
                    sa.select(t.categories.c.id).where(t.categories.c.id.in_(wanted))
                ).scalars()
            )
        if category.id in found:
            raise InvalidInput(f"category {category.id!r} already exists", field="id")
        if category.parent_id is not None and category.parent_id not in found:
            raise NotFound("category", category.parent_id, field="parent_id")
        row = m.category_row(category)
        self._uow._queue(lambda c: _insert(c, t.categories, [row]))

    def categories(self) -> list[Category]:
        """Every category, each after its parent (so a ``CategoryTree`` takes them in
        this order)."""
        with self._uow._reading() as connection:
            rows = connection.execute(sa.select(t.categories).order_by(t.categories.c.id))
            children = _group(rows.mappings(), "parent_id")
        ordered: list[Category] = []
        level = children.get(None, [])
        while level:
            ordered.extend(m.category_from_row(row) for row in level)
            level = [child for row in level for child in children.get(row["id"], [])]
        return ordered

    # --- products ------------------------------------------------------------------

    def add_product(self, product: Product) -> None:
        """Stage a product with its variants.

        :raises InvalidInput: for a taken product id.
        :raises DuplicateSku: for a SKU another variant already has.
        :raises NotFound: for a category that does not exist.
        """
        with self._uow._reading() as connection:
            if self._product_exists(connection, product.id):
                raise InvalidInput(f"product {product.id!r} already exists", field="id")
            self._check_skus(connection, product)
            self._check_categories(connection, product)
        self._queue_product(product, replace=False)

    def save_product(self, product: Product) -> None:
        """Stage a product's new state: its fields, categories and variants as given.

        :raises NotFound: for an unknown product or category.
        :raises DuplicateSku: for a SKU another product's variant has.
        """
        with self._uow._reading() as connection:
            if not self._product_exists(connection, product.id):
                raise NotFound("product", product.id, field="product_id")
            self._check_skus(connection, product)
            self._check_categories(connection, product)
        self._queue_product(product, replace=True)

    def _queue_product(self, product: Product, *, replace: bool) -> None:
        product_id = product.id
        row = m.product_row(product)
        category_rows = m.product_category_rows(product)
        variant_rows = m.variant_rows(product)

        def write(connection: Connection) -> None:
            if replace:
                connection.execute(
                    t.products.update().where(t.products.c.id == product_id).values(row)
                )
                for table in (t.product_categories, t.variants):
                    connection.execute(table.delete().where(table.c.product_id == product_id))
            else:
                connection.execute(t.products.insert().values(row))
            _insert(connection, t.product_categories, category_rows)
            _insert(connection, t.variants, variant_rows)

        self._uow._queue(write)

    @staticmethod
    def _product_exists(connection: Connection, product_id: str) -> bool:
        query = sa.select(t.products.c.id).where(t.products.c.id == product_id)
        return connection.execute(query).first() is not None

    @staticmethod
    def _check_skus(connection: Connection, product: Product) -> None:
        skus = [variant.sku for variant in product.variants]
        seen: set[str] = set()
        for sku in skus:
            if sku in seen:
                raise DuplicateSku(sku)
            seen.add(sku)
        taken: set[str] = set()
        for chunk in _chunks(skus):
            taken.update(
                connection.execute(
                    sa.select(t.variants.c.sku).where(
                        t.variants.c.sku.in_(chunk), t.variants.c.product_id != product.id
                    )
                ).scalars()
            )
        for sku in skus:
            if sku in taken:
                raise DuplicateSku(sku)

    @staticmethod
    def _check_categories(connection: Connection, product: Product) -> None:
        if not product.category_ids:
            return
        found = set(
            connection.execute(
                sa.select(t.categories.c.id).where(t.categories.c.id.in_(product.category_ids))
            ).scalars()
        )
        for category_id in product.category_ids:
            if category_id not in found:
                raise NotFound("category", category_id, field="category_ids")

    def product(self, product_id: str) -> Product:
        """:raises NotFound: for an unknown id."""
        with self._uow._reading() as connection:
            found = self._products(connection, [product_id])
        if not found:
            raise NotFound("product", product_id, field="product_id")
        return found[0]

    def products_for_skus(self, skus: Collection[str]) -> list[Product]:
        """The products (with all their variants) that own these SKUs: three
        statements, however many SKUs."""
        found: dict[str, Product] = {}
        with self._uow._reading() as connection:
            for chunk in _chunks(skus):
                owners = sa.select(t.variants.c.product_id).where(t.variants.c.sku.in_(chunk))
                for product in self._products(connection, owners):
                    found.setdefault(product.id, product)
        return list(found.values())

    @staticmethod
    def _products(connection: Connection, ids: Sequence[str] | sa.Select[Any]) -> list[Product]:
        rows = (
            connection.execute(
                sa.select(t.products).where(t.products.c.id.in_(ids)).order_by(t.products.c.id)
            )
            .mappings()
            .all()
        )
        if not rows:
            return []
        links = t.product_categories
        categories = _group(
            connection.execute(
                sa.select(links.c.product_id, links.c.category_id)
                .where(links.c.product_id.in_(ids))
                .order_by(links.c.product_id, links.c.position)
            ).mappings(),
            "product_id",
        )
        variants = _group(
            connection.execute(
                sa.select(t.variants)
                .where(t.variants.c.product_id.in_(ids))
                .order_by(t.variants.c.product_id, t.variants.c.position)
            ).mappings(),
            "product_id",
        )
        return [
            m.product_from_rows(
                row,
                [link["category_id"] for link in categories.get(row["id"], [])],
                variants.get(row["id"], []),
            )
            for row in rows
        ]

    # --- prices --------------------------------------------------------------------

    def add_price_list(self, price_list: PriceList) -> None:
        """Stage a price list with its prices. :raises InvalidInput: for a taken id."""
        with self._uow._reading() as connection:
            if self._price_list_row(connection, price_list.id) is not None:
                raise InvalidInput(f"price list {price_list.id!r} already exists", field="id")
        self._queue_price_list(price_list, replace=False)

    def save_price_list(self, price_list: PriceList) -> None:
        """Stage a price list's prices, replacing the stored ones.

        :raises NotFound: for an unknown price list.
        """
        with self._uow._reading() as connection:
            if self._price_list_row(connection, price_list.id) is None:
                raise NotFound("price list", price_list.id, field="price_list_id")
        self._queue_price_list(price_list, replace=True)

    def _queue_price_list(self, price_list: PriceList, *, replace: bool) -> None:
        list_id = price_list.id
        row = m.price_list_row(price_list)
        price_rows = m.price_rows(price_list)

        def write(connection: Connection) -> None:
            if replace:
                connection.execute(
                    t.price_lists.update().where(t.price_lists.c.id == list_id).values(row)
                )
                connection.execute(t.prices.delete().where(t.prices.c.price_list_id == list_id))
            else:
                connection.execute(t.price_lists.insert().values(row))
            _insert(connection, t.prices, price_rows)

        self._uow._queue(write)

    @staticmethod
    def _price_list_row(connection: Connection, price_list_id: str) -> sa.RowMapping | None:
        query = sa.select(t.price_lists).where(t.price_lists.c.id == price_list_id)
        return connection.execute(query).mappings().first()

    def price_list(self, price_list_id: str) -> PriceList:
        """A whole price list. :raises NotFound: for an unknown id."""
        with self._uow._reading() as connection:
            row = self._price_list_row(connection, price_list_id)
            if row is None:
                raise NotFound("price list", price_list_id, field="price_list_id")
            prices = connection.execute(
                sa.select(t.prices)
                .where(t.prices.c.price_list_id == price_list_id)
                .order_by(t.prices.c.sku)
            ).mappings()
            return m.price_list_from_rows(row, prices)

    def price_lists(self, currency: str, skus: Collection[str]) -> list[PriceList]:
        """The lists in ``currency``, each holding only the prices of ``skus``: two
        statements, however many SKUs."""
        with self._uow._reading() as connection:
            rows = connection.execute(
                sa.select(t.price_lists)
                .where(t.price_lists.c.currency == currency)
                .order_by(t.price_lists.c.id)
            ).mappings()
            lists = [m.price_list_from_rows(row, ()) for row in rows]
            if not lists:
                return []
            by_id = {price_list.id: price_list for price_list in lists}
            for chunk in _chunks(skus):
                prices = connection.execute(
                    sa.select(t.prices)
                    .join(t.price_lists)
                    .where(t.price_lists.c.currency == currency, t.prices.c.sku.in_(chunk))
                    .order_by(t.prices.c.price_list_id, t.prices.c.sku)
                ).mappings()
                for price in prices:
                    by_id[price["price_list_id"]].load(price["sku"], m.price_entry(price))
            return lists

    # --- tax zones, promotions, coupons --------------------------------------------

    def _add_once(
        self, table: sa.Table, key: sa.Column[str], value: str, what: str, row: dict[str, Any]
    ) -> None:
        with self._uow._reading() as connection:
            if connection.execute(sa.select(key).where(key == value)).first() is not None:
                raise InvalidInput(f"{what} {value!r} already exists", field=key.name)
        self._uow._queue(lambda c: _insert(c, table, [row]))

    def add_tax_zone(self, zone: TaxZone) -> None:
        """Stage a tax zone. :raises InvalidInput: for a taken id."""
        self._add_once(t.tax_zones, t.tax_zones.c.id, zone.id, "tax zone", m.tax_zone_row(zone))

    def tax_zones(self) -> list[TaxZone]:
        """Every tax zone, by id."""
        with self._uow._reading() as connection:
            rows = connection.execute(sa.select(t.tax_zones).order_by(t.tax_zones.c.id))
            return [m.tax_zone_from_row(row) for row in rows.mappings()]

    def add_promotion(self, promotion: Promotion) -> None:
        """Stage a promotion. :raises InvalidInput: for a taken id, or a benefit or
        condition the codec does not know."""
        row = m.promotion_row(promotion)
        self._add_once(t.promotions, t.promotions.c.id, promotion.id, "promotion", row)

    def promotions(self) -> list[Promotion]:
        """Every promotion, by id."""
        with self._uow._reading() as connection:
            rows = connection.execute(sa.select(t.promotions).order_by(t.promotions.c.id))
            return [m.promotion_from_row(row) for row in rows.mappings()]

    def add_coupon(self, coupon: Coupon) -> None:
        """Stage a coupon. :raises InvalidInput: for a taken code."""
        self._add_once(t.coupons, t.coupons.c.code, coupon.code, "coupon", m.coupon_row(coupon))

    def coupons(self, codes: Collection[str]) -> list[Coupon]:
        """The coupons with these (normalised) codes, in the order asked."""
        found: dict[str, Coupon] = {}
        with self._uow._reading() as connection:
            for chunk in _chunks(codes):
                rows = connection.execute(sa.select(t.coupons).where(t.coupons.c.code.in_(chunk)))
                found.update((row["code"], m.coupon_from_row(row)) for row in rows.mappings())
        return [found[code] for code in codes if code in found]

    def coupon_usage(
        self, codes: Collection[str], customer: str | None
    ) -> Mapping[str, CouponUsage]:
        """How often each code was used, in all and by ``customer``: one statement."""
        uses = t.coupon_uses
        counts: dict[str, tuple[int, int]] = {}
        with self._uow._reading() as connection:
            for chunk in _chunks(codes):
                mine = sa.case((uses.c.customer == customer, 1), else_=0)
                rows = connection.execute(
                    sa.select(uses.c.code, sa.func.count(), sa.func.sum(mine))
                    .where(uses.c.code.in_(chunk))
                    .group_by(uses.c.code)
                )
                counts.update((code, (int(total), int(by))) for code, total, by in rows)
        return {
            code: CouponUsage(
                total=counts.get(code, (0, 0))[0],
                by_customer=0 if customer is None else counts.get(code, (0, 0))[1],
            )
            for code in codes
        }

    def record_coupon_use(self, code: str, customer: str | None, order_id: str) -> None:
        """Stage one use of ``code`` by an order (recording it twice counts once).

        The coupon's limits are checked when the use is written, under a lock on the
        coupon's row (a code with no coupon stored has no limits to check).

        :raises CouponRejected: ``limit_reached``, on commit (or on a read that
            writes what is staged first).
        """
        self._uow._claim(_CouponClaim(code, customer, order_id))

    def release_coupon_uses(self, order_id: str) -> None:
        """Stage forgetting the uses an order made."""
        uow = self._uow
        uow._check_usable()
        # A use recorded earlier in this unit of work is still staged: forget it too.
        uow._claims = [claim for claim in uow._claims if claim.order_id != order_id]
        uses = t.coupon_uses

        def write(connection: Connection) -> None:
            connection.execute(uses.delete().where(uses.c.order_id == order_id))

        uow._queue(write)


def _claim_coupon(connection: Connection, claim: _CouponClaim) -> None:
    """Write one coupon use if the coupon's limits still allow it.

    The coupon's row is locked first (``FOR UPDATE`` on PostgreSQL; on SQLite the
    write transaction began IMMEDIATE and holds the database), and the uses are
    counted by fresh statements after that: a writer that held the lock before has
    committed its use by the time the lock is granted, so its use is counted.

    :raises CouponRejected: ``limit_reached``.
    """
    coupons, uses = t.coupons, t.coupon_uses
    limits = connection.execute(
        sa.select(coupons.c.usage_limit, coupons.c.usage_limit_per_customer)
        .where(coupons.c.code == claim.code)
        .with_for_update()
    ).first()
    # Recording an order's use again replaces it, so it is never counted twice.
    connection.execute(
        uses.delete().where(uses.c.order_id == claim.order_id, uses.c.code == claim.code)
    )
    if limits is not None:
        total_limit, customer_limit = limits
        if total_limit is not None:
            total = connection.execute(
                sa.select(sa.func.count()).where(uses.c.code == claim.code)
            ).scalar_one()
            if total >= total_limit:
                raise CouponRejected(
                    claim.code, "limit_reached", f"used {total} of {total_limit} times"
                )
        if customer_limit is not None and claim.customer is not None:
            mine = connection.execute(
                sa.select(sa.func.count()).where(
                    uses.c.code == claim.code, uses.c.customer == claim.customer
                )
            ).scalar_one()
            if mine >= customer_limit:
                raise CouponRejected(
                    claim.code, "limit_reached", f"used {mine} of {customer_limit} times by you"
                )
    connection.execute(
        uses.insert().values(order_id=claim.order_id, code=claim.code, customer=claim.customer)
    )
