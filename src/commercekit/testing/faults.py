"""Fault injection: the process dies, or the gateway times out, at a point a test
chooses, so that a test can prove recovery brings every case to all-or-nothing.

A fault is armed on an opened store for as long as a ``with`` block lasts. The
store's services then see its storage, gateways and event delivery through thin
proxies that count the moments matching each fault and fail the chosen one::

    with inject(store, Fault.commit_fails_after_gateway()) as armed:
        with pytest.raises(Crash):
            store.payments.capture(order_id)
    assert armed.fired
    clock.advance(timedelta(minutes=16))
    store.recovery.sweep()

The points, in the order a use case meets them:

- :attr:`Point.BEFORE_GATEWAY`: a gateway call is about to leave; it never arrives.
- :attr:`Point.AFTER_GATEWAY`: the gateway did what it was asked; its answer is lost
  (a crash, or with ``timeout=True`` a :class:`GatewayError`, as a timeout after
  charging looks to the caller).
- :attr:`Point.COMMIT`: a unit of work commits; nothing of it is written.
- :attr:`Point.AFTER_COMMIT`: a unit of work was written; the process dies before
  its events are delivered.
- :attr:`Point.DELIVERY`: committed events are handed to subscribers and never
  marked delivered (so they are handed over again: delivery is at least once).

A :class:`Crash` is a ``BaseException`` and not a ``CommerceError``: nothing in the
library catches it, as nothing catches a killed process. Memory storage keeps what
was committed before the crash, and stands for a database that outlives the process.
Unlike a killed process, a ``Crash`` still runs ``finally`` blocks on its way up.
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Final, Self, TypeVar

import attrs

from commercekit.domain.errors import GatewayError
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Indexed
from commercekit.domain.payments import GatewayEvent
from commercekit.ports.payments import PaymentGateway, PaymentRequest
from commercekit.ports.storage import (
    CartRepository,
    CatalogRepository,
    CheckoutRepository,
    CustomerRepository,
    InventoryRepository,
    NoticeRepository,
    OrderRepository,
    PaymentRepository,
    RecordRepository,
    ShipmentRepository,
    Storage,
    UnitOfWork,
)
from commercekit.store import Store

__all__ = ["GATEWAY_OPERATIONS", "Armed", "Crash", "Fault", "InjectedTimeout", "Point", "inject"]

T = TypeVar("T")
R = TypeVar("R", bound=Indexed)

#: The gateway calls a fault can be aimed at (``parse_webhook`` is local work, not a
#: call, and is never failed).
GATEWAY_OPERATIONS: Final = ("authorize", "capture", "void", "refund", "confirm", "find")


class Point(enum.Enum):
    """Where a fault strikes."""

    BEFORE_GATEWAY = "before_gateway"
    AFTER_GATEWAY = "after_gateway"
    COMMIT = "commit"
    AFTER_COMMIT = "after_commit"
    DELIVERY = "delivery"

    @property
    def at_gateway(self) -> bool:
        """Whether the point is a gateway call."""
        return self in (Point.BEFORE_GATEWAY, Point.AFTER_GATEWAY)

    @property
    def at_commit(self) -> bool:
        """Whether the point is a unit of work's commit."""
        return self in (Point.COMMIT, Point.AFTER_COMMIT)


def _operations(value: Iterable[str]) -> frozenset[str]:
    found = frozenset([value] if isinstance(value, str) else value)
    unknown = sorted(found - set(GATEWAY_OPERATIONS))
    if unknown:
        raise ValueError(f"no gateway operation {unknown[0]!r}: one of {GATEWAY_OPERATIONS}")
    return found


@attrs.frozen(kw_only=True)
class Fault:
    """One failure, at the ``nth`` moment that matches it after it is armed; then it
    is spent."""

    point: Point
    nth: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """Which matching moment fails: the first, the second..."""
    operations: frozenset[str] = attrs.field(factory=frozenset, converter=_operations)
    """The gateway calls that match (any when empty). At a commit point with
    ``after_gateway``, the calls whose answer opens the window."""
    after_gateway: bool = False
    """At a commit point: count only commits after a gateway call answered (since
    the fault was armed), such as the commit that settles the answer."""
    timeout: bool = False
    """At a gateway point: raise :class:`InjectedTimeout` (a retryable
    ``GatewayError``) instead of a :class:`Crash`."""

    def __attrs_post_init__(self) -> None:
        if self.timeout and not self.point.at_gateway:
            raise ValueError("only a gateway call times out")
        if self.after_gateway and not self.point.at_commit:
            raise ValueError("after_gateway counts commits only")
        if self.operations and not (self.point.at_gateway or self.after_gateway):
            raise ValueError("operations name gateway calls: aim at a gateway point")

    @classmethod
    def commit_fails_after_gateway(cls, *operations: str, nth: int = 1) -> Fault:
        """The process dies as it commits what the gateway answered: the gateway did
        it, the store never recorded it."""
        return cls(point=Point.COMMIT, nth=nth, operations=operations, after_gateway=True)

    @classmethod
    def gateway_times_out_after_charging(cls, *operations: str, nth: int = 1) -> Fault:
        """The gateway does what it was asked, and the caller sees a timeout."""
        return cls(point=Point.AFTER_GATEWAY, nth=nth, operations=operations, timeout=True)

    @classmethod
    def crash_before_delivery(cls, *operations: str, nth: int = 1) -> Fault:
        """The process dies right after committing what the gateway answered, before
        the unit of work's events are delivered."""
        return cls(point=Point.AFTER_COMMIT, nth=nth, operations=operations, after_gateway=True)

    def __str__(self) -> str:
        effect = "timeout" if self.timeout else "crash"
        where = self.point.value
        if self.operations:
            where += f"[{','.join(sorted(self.operations))}]"
        after = " after gateway" if self.after_gateway else ""
        return f"{effect}@{where}#{self.nth}{after}"


class Crash(BaseException):
    """The process died at an injected fault. Not an ``Exception`` (nor a
    ``CommerceError``), so that nothing on the way catches it."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"injected {fault}")
        self.fault = fault


class InjectedTimeout(GatewayError):
    """A gateway call whose answer was lost to an injected fault: to the library, a
    retryable ``GatewayError`` like any timeout."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"injected {fault}", retryable=True)
        self.fault = fault


@attrs.define
class _Pending:
    fault: Fault
    seen: int = 0
    window_open: bool = False


@attrs.define
class Armed:
    """The faults armed on a store, and those that fired."""

    _pending: list[_Pending] = attrs.field(factory=list)
    fired: list[Fault] = attrs.field(factory=list)
    """The faults that struck, in order."""
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def pending(self) -> tuple[Fault, ...]:
        """The faults armed that have not struck yet."""
        with self._lock:
            return tuple(p.fault for p in self._pending)

    def arm(self, *faults: Fault) -> None:
        """Arm more faults; each counts its moments from now."""
        with self._lock:
            self._pending.extend(_Pending(fault) for fault in faults)

    def disarm(self) -> tuple[Fault, ...]:
        """Disarm every fault that has not struck.

        :returns: the faults disarmed.
        """
        with self._lock:
            left, self._pending = tuple(p.fault for p in self._pending), []
        return left

    def _strike(self, point: Point, operation: str = "") -> Fault | None:
        """Count a moment at ``point``; the fault whose ``nth`` moment it is, spent."""
        with self._lock:
            for pending in self._pending:
                fault = pending.fault
                if fault.point is not point:
                    continue
                if fault.after_gateway and not pending.window_open:
                    continue
                if point.at_gateway and fault.operations and operation not in fault.operations:
                    continue
                pending.seen += 1
                if pending.seen == fault.nth:
                    self._pending.remove(pending)
                    self.fired.append(fault)
                    return fault
        return None

    def _answered(self, operation: str) -> None:
        """A gateway call answered: commits after it now count for ``after_gateway``."""
        with self._lock:
            for pending in self._pending:
                operations = pending.fault.operations
                if not operations or operation in operations:
                    pending.window_open = True

    def gateway_call(self, operation: str, call: Callable[[], T]) -> T:
        """Make a gateway call through the armed faults."""
        self._fail(self._strike(Point.BEFORE_GATEWAY, operation))
        answer = call()
        self._fail(self._strike(Point.AFTER_GATEWAY, operation))
        self._answered(operation)
        return answer

    def moment(self, point: Point) -> None:
        """A commit or a delivery is happening: fail it if a fault says so."""
        self._fail(self._strike(point))

    @staticmethod
    def _fail(fault: Fault | None) -> None:
        if fault is None:
            return
        if fault.timeout:
            raise InjectedTimeout(fault)
        raise Crash(fault)


class _FaultyGateway:
    """A gateway whose calls pass the armed faults."""

    def __init__(self, inner: PaymentGateway, armed: Armed) -> None:
        self._inner = inner
        self._armed = armed

    @property
    def name(self) -> str:
        return self._inner.name

    def authorize(self, request: PaymentRequest) -> GatewayEvent:
        return self._armed.gateway_call("authorize", lambda: self._inner.authorize(request))

    def capture(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        return self._armed.gateway_call(
            "capture",
            lambda: self._inner.capture(reference, amount_units, currency, idempotency_key),
        )

    def void(self, reference: str, idempotency_key: str) -> GatewayEvent:
        return self._armed.gateway_call(
            "void", lambda: self._inner.void(reference, idempotency_key)
        )

    def refund(
        self, reference: str, amount_units: int, currency: str, idempotency_key: str
    ) -> GatewayEvent:
        return self._armed.gateway_call(
            "refund",
            lambda: self._inner.refund(reference, amount_units, currency, idempotency_key),
        )

    def confirm(self, reference: str, idempotency_key: str) -> GatewayEvent:
        return self._armed.gateway_call(
            "confirm", lambda: self._inner.confirm(reference, idempotency_key)
        )

    def find(self, idempotency_key: str) -> GatewayEvent | None:
        return self._armed.gateway_call("find", lambda: self._inner.find(idempotency_key))

    def parse_webhook(
        self, payload: bytes, signature: str, now: datetime
    ) -> Sequence[GatewayEvent]:
        return self._inner.parse_webhook(payload, signature, now)


class _FaultyUnitOfWork:
    """A unit of work whose commit passes the armed faults."""

    def __init__(self, inner: UnitOfWork, armed: Armed) -> None:
        self._inner = inner
        self._armed = armed

    @property
    def carts(self) -> CartRepository:
        return self._inner.carts

    @property
    def checkouts(self) -> CheckoutRepository:
        return self._inner.checkouts

    @property
    def customers(self) -> CustomerRepository:
        return self._inner.customers

    @property
    def orders(self) -> OrderRepository:
        return self._inner.orders

    @property
    def payments(self) -> PaymentRepository:
        return self._inner.payments

    @property
    def catalog(self) -> CatalogRepository:
        return self._inner.catalog

    @property
    def inventory(self) -> InventoryRepository:
        return self._inner.inventory

    @property
    def shipments(self) -> ShipmentRepository:
        return self._inner.shipments

    @property
    def notices(self) -> NoticeRepository:
        return self._inner.notices

    def records(self, kind: type[R]) -> RecordRepository[R]:
        return self._inner.records(kind)

    def __enter__(self) -> Self:
        self._inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._inner.__exit__(exc_type, exc, traceback)

    def commit(self) -> Sequence[DomainEvent]:
        self._armed.moment(Point.COMMIT)
        committed = self._inner.commit()
        self._armed.moment(Point.AFTER_COMMIT)
        return committed

    def rollback(self) -> None:
        self._inner.rollback()

    def record_events(self, events: Sequence[DomainEvent]) -> None:
        self._inner.record_events(events)


class _FaultyStorage:
    """A storage whose units of work pass the armed faults."""

    def __init__(self, inner: Storage, armed: Armed) -> None:
        self._inner = inner
        self._armed = armed

    def unit_of_work(self) -> UnitOfWork:
        return _FaultyUnitOfWork(self._inner.unit_of_work(), self._armed)

    def undelivered_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        return self._inner.undelivered_events(limit)

    def mark_delivered(self, event_ids: Sequence[int], *, at: datetime) -> None:
        self._inner.mark_delivered(event_ids, at=at)

    def take_relay_lease(self, name: str, holder: str, *, now: datetime, until: datetime) -> bool:
        return self._inner.take_relay_lease(name, holder, now=now, until=until)

    def unrelayed_events(self, limit: int = 100) -> list[tuple[int, DomainEvent]]:
        return self._inner.unrelayed_events(limit)

    def mark_relayed(
        self, event_ids: Sequence[int], *, name: str, holder: str, at: datetime
    ) -> bool:
        return self._inner.mark_relayed(event_ids, name=name, holder=holder, at=at)

    def release_relay_lease(self, name: str, holder: str) -> None:
        self._inner.release_relay_lease(name, holder)

    def close(self) -> None:
        self._inner.close()


def _gateways(gateways: Mapping[str, PaymentGateway], armed: Armed) -> Mapping[str, PaymentGateway]:
    return {name: _FaultyGateway(gateway, armed) for name, gateway in gateways.items()}


@contextlib.contextmanager
def inject(store: Store, *faults: Fault) -> Iterator[Armed]:
    """Arm ``faults`` on ``store`` for the ``with`` block: its services see storage,
    gateways and event delivery through proxies that fail at the armed points. The
    store is as it was afterwards; faults may be armed and disarmed meanwhile
    through the :class:`Armed` it yields.

    Nothing of the store's own code changes: the proxies take the places of the
    store runtime's storage, gateways and subscribers, which every service shares.
    """
    runtime = store.runtime
    armed = Armed()
    armed.arm(*faults)
    storage, gateways, subscribers = runtime.storage, runtime.gateways, runtime.subscribers

    def deliver(events: Sequence[DomainEvent]) -> None:
        armed.moment(Point.DELIVERY)
        subscribers(events)

    runtime.storage = _FaultyStorage(storage, armed)
    runtime.gateways = _gateways(gateways, armed)
    runtime.subscribers = deliver
    try:
        yield armed
    finally:
        runtime.storage, runtime.gateways, runtime.subscribers = storage, gateways, subscribers
