"""Reading the store for the checks after a step: which orders exist (placed with the
keys tried, even by a caller that never heard back), each order with its payment,
the stock it holds and what the gateway knows of it, and the stock ledger.

Reading every order after every step costs more than the steps, so only what a step
may have changed is read again (see :meth:`Observer.observe`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import StockItem, StockMovement
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.payments import GatewayEvent, Payment
from commercekit.hookspecs import hookimpl
from commercekit.ports.storage import UnitOfWork
from commercekit.services.payments import authorization_key
from commercekit.store import Store
from commercekit.testing.simulation._tally import tally
from commercekit.testing.simulation.books import Account, gateway_books
from commercekit.testing.simulation.invariants import OrderState, Snapshot
from commercekit.testing.simulation.world import CATALOGUE

#: The statuses in which an order may hold stock.
_HOLDING_STATUSES: Final = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.OPEN})
#: Every how many steps every order is read again, touched by the step or not.
_READ_ALL_EVERY: Final = 10


class Subscriber:
    """Records the events delivered, per order."""

    def __init__(self) -> None:
        self.delivered: dict[str, list[str]] = {}

    @hookimpl
    def on_domain_event(self, event: DomainEvent) -> None:
        order_id = getattr(event, "order_id", None)
        if isinstance(order_id, str):
            self.delivered.setdefault(order_id, []).append(event.name)


@attrs.frozen
class _Read:
    """What was read of one order."""

    order: Order
    payment: Payment | None
    holds: Mapping[tuple[str, str], int]


class Observer:
    """What a run knows of its store's orders, and reads again after each step."""

    def __init__(self, store: Store, clock: FixedClock, gateway: TestPaymentGateway) -> None:
        self.store, self.clock, self.gateway = store, clock, gateway
        self.subscriber = Subscriber()
        self.keys: dict[str, list[str]] = {}
        """The orders each idempotency key was answered with."""
        self.tried: list[str] = []
        """Idempotency keys checked out with since the last look."""
        self.order_ids: list[str] = []
        self.payment_ids: dict[str, str] = {}
        self.done: set[str] = set()
        """Orders that hold no stock and never will again."""
        self.sweep_problems: list[str] = []
        """What the sweeps since the last look did and did not report."""
        self.ledgers: dict[tuple[str, str], tuple[int, tuple[StockMovement, ...]]] = {}
        """Each item's ledger, with the item's version when it was read."""
        self.reads: dict[str, _Read] = {}
        """What was read of each order at the last look."""
        self.touched: set[str] | None = None
        """The orders the current step may change; ``None`` when it may change any."""

    def touch(self, order_id: str) -> None:
        """Note that the current step may change the order."""
        if self.touched is not None:
            self.touched.add(order_id)

    def touch_all(self) -> None:
        """Note that the current step may change any order."""
        self.touched = None

    def versions(self) -> dict[str, int]:
        """The version of every order known."""
        with self.store.storage.unit_of_work() as uow:
            return {order_id: uow.orders.get(order_id).version for order_id in self.order_ids}

    def observe(
        self,
        step: int,
        *,
        completed: Iterable[GatewayEvent],
        received: Mapping[str, int],
        webhooks_waiting: int,
    ) -> Snapshot:
        """Read the store for the checks, in one unit of work (a consistent view).

        Orders the step could not have changed are not read again, except on every
        :data:`_READ_ALL_EVERY` th step, when all are.

        :param completed: what the gateway reported on its own (actions completed on
            its page).
        :param received: what the simulation received of each SKU, in all.
        :param webhooks_waiting: how many gateway facts the store has not taken yet.
        """
        books = gateway_books(self.gateway, completed)
        with self.store.storage.unit_of_work() as uow:
            self._discover(uow)
            touched = None if step % _READ_ALL_EVERY == 0 else self.touched
            for order_id in self.order_ids:
                if touched is None or order_id in touched or order_id not in self.reads:
                    self.reads[order_id] = self._read(uow, order_id)
            states = tuple(self._state(self.reads[order_id], books) for order_id in self.order_ids)
            self.touched = set()
            skus = list(CATALOGUE)
            items = tuple(uow.inventory.items(skus))
            ledger = {item.key: self._movements(uow, item) for item in items}
            rules = uow.inventory.rules(skus)
        now = self.clock.now()
        sweep_problems, self.sweep_problems = tuple(self.sweep_problems), []
        return Snapshot(
            step=step,
            orders=states,
            items=items,
            ledger=ledger,
            floors={sku: rule.floor(now) for sku, rule in rules.items()},
            received=dict(received),
            keys={key: tuple(ids) for key, ids in self.keys.items()},
            undelivered=len(self.store.storage.undelivered_events(1)),
            webhooks_waiting=webhooks_waiting,
            sweep_problems=sweep_problems,
        )

    def _movements(self, uow: UnitOfWork, item: StockItem) -> tuple[StockMovement, ...]:
        """The item's ledger; read again only when the item changed (its version)."""
        cached = self.ledgers.get(item.key)
        if cached is None or cached[0] != item.version:
            cached = (item.version, tuple(uow.inventory.movements(*item.key)))
            self.ledgers[item.key] = cached
        return cached[1]

    def _discover(self, uow: UnitOfWork) -> None:
        """Learn the orders placed with the keys tried since the last look (a crash or
        a timeout may have left one that the caller never heard of)."""
        for key in self.tried:
            answered = self.keys.get(key)
            order = uow.orders.find_by_idempotency_key(key) if answered is None else None
            order_id = answered[-1] if answered else order.id if order else None
            if order_id is None:
                continue
            self.touch(order_id)
            if order_id not in self.payment_ids:
                payment = uow.payments.for_order(order_id)
                self.order_ids.append(order_id)
                self.payment_ids[order_id] = "" if payment is None else payment.id
        self.tried.clear()

    def _read(self, uow: UnitOfWork, order_id: str) -> _Read:
        order = uow.orders.get(order_id)
        payment_id = self.payment_ids[order_id]
        payment = uow.payments.get(payment_id) if payment_id else None
        holds: dict[tuple[str, str], int] = {}
        # An order that ended, is being cancelled or shipped and holds nothing never
        # holds stock again: only placing an order takes stock for it.
        if order_id not in self.done:
            holds = tally(
                ((reservation.sku, reservation.location_id), reservation.quantity)
                for reservation in uow.inventory.reservations_for_order(order_id)
                if reservation.holds
            )
            over = order.shipped or order.status not in _HOLDING_STATUSES
            if over and not holds:
                self.done.add(order_id)
        return _Read(order, payment, holds)

    def _state(self, read: _Read, books: Mapping[str, Account]) -> OrderState:
        order = read.order
        authorization = self.gateway.find(authorization_key(order.id))
        reference = authorization.payment_reference if authorization else None
        return OrderState(
            order=order,
            payment=read.payment,
            holds=read.holds,
            authorization=authorization,
            account=books.get(reference) if reference else None,
            delivered=tuple(self.subscriber.delivered.get(order.id, ())),
        )
