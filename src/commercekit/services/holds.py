"""What an order holds (stock reservations and coupon uses), taken, kept and given
back in the unit of work of the use case that decides it. Every use case that
places, pays, cancels or ships an order goes through these, so that what an order
holds is taken and released in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from commercekit.domain.inventory import (
    AllocationStrategy,
    ReservationStatus,
    StockLine,
    StockLocation,
    plan_holds,
    stock_wanted,
    unservable,
)
from commercekit.domain.orders import Order, OrderStatus
from commercekit.ports.storage import UnitOfWork
from commercekit.services.credit import restore_tenders, withdraw_sold_cards
from commercekit.services.replacements import complete_exchange

__all__ = [
    "cancel_unpaid",
    "hold_for_order",
    "keep_until_shipped",
    "release_holds",
    "ship_holds",
    "unservable_lines",
    "wait_for_action",
]


def hold_for_order(
    uow: UnitOfWork,
    order: Order,
    *,
    now: datetime,
    hold: timedelta,
    new_id: Callable[[], str],
    locations: Sequence[StockLocation],
    country: str | None,
    strategy: AllocationStrategy,
    components: Mapping[str, Mapping[str, int]],
) -> None:
    """Reserve the stock an order needs, in the order's own unit of work, before any
    payment is asked for: "paid but not allocated" cannot happen. The plan comes from
    a snapshot (``locations`` from the store's catalogue snapshot); storage re-checks
    each hold in the database as it writes.

    :raises InsufficientStock: naming the SKU that cannot be covered.
    """
    lines = [StockLine(line.sku, line.quantity, line.track_stock) for line in order.lines]
    wanted = stock_wanted(lines, components)
    if not wanted:
        return
    plan = plan_holds(
        order.id,
        wanted,
        locations=locations,
        rules=uow.inventory.rules(wanted),
        items=uow.inventory.items(wanted),
        now=now,
        expires_at=now + hold,
        new_id=new_id,
        country=country,
        strategy=strategy,
    )
    uow.inventory.add_reservations(plan.reservations)
    uow.inventory.apply(plan.changes)


def unservable_lines(
    uow: UnitOfWork,
    lines: Sequence[StockLine],
    *,
    now: datetime,
    locations: Sequence[StockLocation],
    country: str | None,
    strategy: AllocationStrategy,
    components: Mapping[str, Mapping[str, int]],
) -> tuple[str, ...]:
    """The SKUs no location shipping to ``country`` can cover although stock
    elsewhere could (the domain's :func:`unservable`)."""
    wanted = stock_wanted(lines, components)
    if not wanted or country is None:
        return ()
    return unservable(
        wanted,
        locations=locations,
        rules=uow.inventory.rules(wanted),
        items=uow.inventory.items(wanted),
        now=now,
        country=country,
        strategy=strategy,
    )


def _holding(uow: UnitOfWork, order: Order) -> list[str]:
    return [r.id for r in uow.inventory.reservations_for_order(order.id) if r.holds]


def release_holds(uow: UnitOfWork, order: Order, *, at: datetime) -> int:
    """Give back what an order holds: its stock, and unless it completed (its stock
    left over, say, after its goods went) its coupon uses and what its gift cards and
    store credit paid (once); the gift cards it bought are taken back.

    :returns: how many reservations were released.
    :raises RefundRefused: for an order one of whose gift cards bought has been spent.
    """
    if order.status is not OrderStatus.COMPLETED:
        withdraw_sold_cards(uow, order)
        uow.catalog.release_coupon_uses(order.id)
        restore_tenders(uow, order, at=at)
    held = _holding(uow, order)
    return uow.inventory.release(held, ReservationStatus.RELEASED, at=at) if held else 0


def ship_holds(uow: UnitOfWork, order: Order, *, at: datetime) -> int:
    """The order's goods left: what it holds becomes sales in the ledger at ``at``.

    :returns: how many reservations were consumed.
    """
    held = _holding(uow, order)
    return uow.inventory.release(held, ReservationStatus.CONSUMED, at=at) if held else 0


def keep_until_shipped(uow: UnitOfWork, order: Order) -> None:
    """The order was paid: its stock is held until it ships or is cancelled (and, a
    replacement, its exchange is done)."""
    uow.inventory.allocate_order(order.id)
    complete_exchange(uow, order)


def wait_for_action(uow: UnitOfWork, order: Order, *, until: datetime) -> None:
    """The customer must act on the payment: the stock waits as long as they may."""
    uow.inventory.extend_order(order.id, until)


def cancel_unpaid(uow: UnitOfWork, order: Order, reason: str, *, actor: str, at: datetime) -> int:
    """Cancel an order still awaiting payment and give back what it holds; an order
    whose payment's outcome came first is left as it is.

    :returns: how many reservations were released.
    """
    if order.status is not OrderStatus.PENDING_PAYMENT:
        return 0
    order.cancel(reason, at=at, actor=actor)
    released = release_holds(uow, order, at=at)
    uow.orders.save(order)
    return released
