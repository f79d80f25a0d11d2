"""The SQL unit of work: a session and the repositories that stage into it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeVar, final

from sqlalchemy.engine import Engine

from commercekit.adapters.storage._context import RollsBackOnExit
from commercekit.adapters.storage.codec import Codec
from commercekit.adapters.storage.sql.carts import (
    CARTS,
    CHECKOUTS,
    SqlCartRepository,
    SqlCheckoutRepository,
)
from commercekit.adapters.storage.sql.catalog import SqlCatalogRepository
from commercekit.adapters.storage.sql.customers import CUSTOMERS, SqlCustomerRepository
from commercekit.adapters.storage.sql.fulfilment import (
    NOTICES,
    SHIPMENTS,
    SqlNoticeRepository,
    SqlShipmentRepository,
)
from commercekit.adapters.storage.sql.inventory import PURCHASE_ORDERS, SqlInventoryRepository
from commercekit.adapters.storage.sql.mapping import AggregateMapping
from commercekit.adapters.storage.sql.orders import ORDERS, SqlOrderRepository
from commercekit.adapters.storage.sql.payments import PAYMENTS, SqlPaymentRepository
from commercekit.adapters.storage.sql.records import SqlRecordRepository
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Indexed

__all__ = ["MAPPINGS", "SqlUnitOfWork"]

R = TypeVar("R", bound=Indexed)

#: Every aggregate's mapping, in the order aggregates are written: the same order in
#: every unit of work takes row locks in the same order, so two writers on PostgreSQL
#: never deadlock.
MAPPINGS: Final[tuple[AggregateMapping[Any], ...]] = (
    CARTS,
    CHECKOUTS,
    CUSTOMERS,
    ORDERS,
    PAYMENTS,
    SHIPMENTS,
    PURCHASE_ORDERS,
    NOTICES,
)


@final
class SqlUnitOfWork(RollsBackOnExit):
    """One atomic set of changes to a SQL database. Use it as a context manager;
    leaving it without :meth:`commit` rolls everything back.

    ``save`` writes an aggregate only if the row still has the version this unit of
    work read it at; one it never read is written as new, so a stored one with the
    same id (or token, or key) is a :class:`ConcurrencyConflict` (a checkout is
    replaced instead, as checkouts are saved without being found first). After a
    conflict the unit of work refuses further use until it is rolled back.
    """

    def __init__(self, engine: Engine, promotions: Codec) -> None:
        self._session = Session(engine, MAPPINGS)
        self.carts = SqlCartRepository(self._session)
        self.checkouts = SqlCheckoutRepository(self._session)
        self.customers = SqlCustomerRepository(self._session)
        self.orders = SqlOrderRepository(self._session)
        self.payments = SqlPaymentRepository(self._session)
        self.catalog = SqlCatalogRepository(self._session, promotions)
        self.inventory = SqlInventoryRepository(self._session)
        self.shipments = SqlShipmentRepository(self._session)
        self.notices = SqlNoticeRepository(self._session)
        self._records: dict[type[Any], SqlRecordRepository[Any]] = {}

    def records(self, kind: type[R]) -> SqlRecordRepository[R]:
        """The records of an ``Indexed`` class."""
        repository = self._records.get(kind)
        if repository is None:
            repository = self._records[kind] = SqlRecordRepository(self._session, kind)
        return repository

    def commit(self) -> list[DomainEvent]:
        """Write everything staged, and the events the saved aggregates recorded and
        the stock changes set off (to the outbox), in one transaction.

        :returns: the events committed, for publication.
        :raises ConcurrencyConflict: if another writer got there first; nothing is
            written then.
        :raises InsufficientStock: if stock staged to be held or removed is not there
            any more; nothing is written then.
        :raises CouponRejected: if a coupon whose use was recorded reached its limit
            meanwhile; nothing is written then.
        """
        return self._session.commit()

    def rollback(self) -> None:
        """Discard every change, staged or written."""
        self._session.rollback()

    def record_events(self, events: Sequence[DomainEvent]) -> None:
        """Events no saved aggregate carries, to be written to the outbox on commit,
        after every other."""
        self._session.record_events(events)
