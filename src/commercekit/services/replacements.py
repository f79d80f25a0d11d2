"""What a replacement order (see :class:`~commercekit.domain.returns.Exchange`) does to
its exchange, in the unit of work of whatever moves the order along: the exchange is
done as the replacement opens paid, undone as it fails unpaid, and, once done, what
the returned units paid for it goes back to the original order's ledger as the
replacement gives it back (cancelled, or its goods refunded).

These run from :mod:`~commercekit.services.holds` and
:mod:`~commercekit.services.credit`, where an order's holds and tenders are kept and
given back, so that every path that opens or cancels an order (checkout, payments,
the sweep, staff) takes its exchange along without knowing of it.
"""

from __future__ import annotations

from datetime import datetime

from commercekit.domain.credit import TenderKind
from commercekit.domain.money import from_minor_units
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.returns import (
    Exchange,
    ExchangeStatus,
    RefundLedger,
    Return,
)
from commercekit.ports.storage import UnitOfWork

__all__ = ["complete_exchange", "is_replacement", "release_exchange", "undo_exchange"]


def is_replacement(order: Order) -> bool:
    """Whether ``order`` was paid (in part) by units returned from another order."""
    return any(tender.kind is TenderKind.EXCHANGE for tender in order.tenders)


def _exchange_of(uow: UnitOfWork, order: Order) -> Exchange | None:
    # Read only for an order an exchange paid: every other order costs no query.
    if not is_replacement(order):
        return None
    return uow.records(Exchange).find(Exchange.key(order.id))


def _opened_at(order: Order) -> datetime:
    """When the order opened: its latest ``opened`` entry, as it was just written."""
    return next(
        (entry.at for entry in reversed(order.history) if entry.action == "opened"),
        order.placed_at,
    )


def complete_exchange(uow: UnitOfWork, order: Order) -> None:
    """The replacement ``order`` opened, paid for: its exchange is done, and the
    refund carrying the returned units counts for good."""
    found = _exchange_of(uow, order)
    if found is None:
        return
    at = _opened_at(order)
    if not found.complete(at=at):
        return
    ledger = uow.records(RefundLedger).get(RefundLedger.key(found.order_id))
    if ledger.settle(found.refund_id, done=True, at=at):
        uow.records(RefundLedger).save(ledger)
    uow.records(Exchange).save(found)


def undo_exchange(uow: UnitOfWork, order: Order, *, at: datetime, actor: str) -> None:
    """The replacement ``order`` is cancelled. Unpaid, its exchange is undone: the
    refund that carried the returned units no longer counts, and the return may be
    refunded or exchanged again. Paid, what the units paid for it is owed to the
    customer on the original order again (see :func:`release_exchange`)."""
    found = _exchange_of(uow, order)
    if found is None:
        return
    if found.status is ExchangeStatus.PENDING:
        found.undo(at=at)
        ledger = uow.records(RefundLedger).get(RefundLedger.key(found.order_id))
        if ledger.settle(found.refund_id, done=False, at=at):
            uow.records(RefundLedger).save(ledger)
        returned = uow.records(Return).get(found.return_id)
        if returned.exchange_undone(found.id, found.refund_id, at=at, actor=actor):
            uow.records(Return).save(returned)
        original = uow.orders.get(found.order_id)
        detail = f"{found.id}: replacement {order.number} was not paid for"
        original.note("exchange undone", detail, at=at, actor=actor)
        uow.orders.save(original)
        uow.records(Exchange).save(found)
    elif order.status in (OrderStatus.CANCELLING, OrderStatus.CANCELLED) and found.cancel(at=at):
        uow.records(Exchange).save(found)
        _release(uow, found, found.exchanged_units, at=at, actor=actor, why="was cancelled")


def release_exchange(uow: UnitOfWork, order: Order, units: int, *, at: datetime, actor: str) -> int:
    """The replacement ``order`` gives back ``units`` of what returned units paid for
    it (a refund of its goods): that much is owed to the customer on the original
    order again, and staff are asked to give it back there.

    :returns: the minor units released (fewer when less was left to release).
    """
    found = _exchange_of(uow, order)
    if found is None:
        return 0
    return _release(uow, found, units, at=at, actor=actor, why="gave it back")


def _release(
    uow: UnitOfWork, found: Exchange, units: int, *, at: datetime, actor: str, why: str
) -> int:
    if units <= 0:
        return 0
    ledger = uow.records(RefundLedger).get(RefundLedger.key(found.order_id))
    taken = ledger.release(found.refund_id, units)
    if not taken:
        return 0
    uow.records(RefundLedger).save(ledger)
    original = uow.orders.get(found.order_id)
    amount = from_minor_units(taken, found.currency).amount
    released = ledger.refund(found.refund_id).released_units
    original.flag(
        f"{found.id}: the replacement {why}; {amount} {found.currency} of the exchange "
        f"({released} minor units in all) is owed to the customer: give it back with a "
        "goodwill refund",
        at=at,
        actor=actor,
    )
    uow.orders.save(original)
    return taken
