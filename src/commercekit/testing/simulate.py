"""A whole store, simulated: many customers and staff, a flaky gateway, webhooks
duplicated and out of order, the clock moving, crashes injected, and the sweep,
with the store's invariants checked after every step.

The simulation is seeded and deterministic: every choice comes from one
``random.Random(seed)``, the clock is a :class:`FixedClock` the simulation moves,
and identifiers are drawn in sequence. The same seed replays the same steps, so a
failing seed is a bug report::

    report = simulate("memory://", seed=7, steps=200)

A broken invariant raises :class:`InvariantBroken` with the seed, the step, what
broke, and the whole trace (one line per step), and the command that replays it::

    python -m commercekit.testing.simulate --seed 7 --steps 200 [--url URL]
    python -m commercekit.testing.simulate --seeds 1000 --steps 200

Refusals (any ``CommerceError``: a decline, a limit, a state that refuses an
operation) are outcomes of a step, counted in the report; an injected
:class:`~commercekit.testing.faults.Crash` is one too. Any other exception is a
failure.

The invariants checked after every step (:data:`STEP_CHECKS`):

- money: per payment, amount due >= authorized >= captured >= refunded >= 0, the
  amount due is the order's total, the order follows what its payment holds, and the
  ledger records no more than the gateway did;
- charged once: one order per idempotency key, one live order per cart, one
  authorization per order at the gateway;
- orders: an open order is paid, nothing ships from a cancelled order, an order
  holds stock exactly while it awaits payment or is paid and not shipped;
- stock: on hand is the sum of the ledger, reserved is what live holds hold,
  nothing goes below its floor (zero, or a backorder limit), and what was sold is
  what shipped;
- sweeps: every order a sweep changed is in its report, and no sweep failed on an
  order unexpectedly.

And once everything is settled (faults disarmed, the clock past every timeout,
every webhook delivered, the sweep run; :data:`SETTLED_CHECKS`): all or nothing.
Every order is open and paid (its gateway authorization is the amount due), or
cancelled with nothing held at the gateway, or completed with nothing left
authorized; nothing is under way; the ledger is the gateway's books; every event
was delivered.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import random
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.adapters.storage.urls import shown_url
from commercekit.domain.catalog import Product, Variant
from commercekit.domain.errors import CommerceError
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import (
    MovementKind,
    StockItem,
    StockLocation,
    StockMovement,
    StockPolicy,
    StockRule,
)
from commercekit.domain.money import Money, from_minor_units
from commercekit.domain.orders import FulfilmentStatus, Order, OrderStatus
from commercekit.domain.payments import (
    GatewayEvent,
    Payment,
    PaymentStatus,
    TransactionKind,
    TransactionStatus,
)
from commercekit.domain.pricing import TaxRate, TaxZone
from commercekit.hookspecs import GatewayFactory, hookimpl
from commercekit.ports.storage import UnitOfWork
from commercekit.services.payments import authorization_key
from commercekit.services.recovery import SweepReport
from commercekit.store import Store, StoreConfig
from commercekit.testing.faults import Armed, Crash, Fault, Point, inject

__all__ = [
    "SETTLED_CHECKS",
    "STEP_CHECKS",
    "Account",
    "Check",
    "InvariantBroken",
    "OrderState",
    "Report",
    "SequentialIds",
    "Snapshot",
    "gateway_books",
    "main",
    "simulate",
    "simulation_config",
    "simulation_store",
]

START: Final = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CURRENCY: Final = "EUR"
GATEWAY: Final = "test"
CONFIG: Final[Mapping[str, Any]] = {
    "entry_point_plugins": False,
    "gateways": {
        GATEWAY: {"plugin": "simulation", "secrets": {"webhook_secret": "whsec_simulation"}}
    },
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {CURRENCY: "4.90"}}],
}
CUSTOMERS: Final = tuple(f"sim-customer-{n}" for n in range(1, 7))
ADDRESS: Final = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}
#: SKU: (price, stock policy, backorder limit, digital).
CATALOGUE: Final = {
    "SIM-MUG": ("12.00", StockPolicy.DENY, None, False),
    "SIM-CLOCK": ("40.00", StockPolicy.DENY, None, False),
    "SIM-TEE": ("19.90", StockPolicy.BACKORDER, 4, False),
    "SIM-EBOOK": ("5.00", StockPolicy.DENY, None, True),
}
LOCATIONS: Final = ("berlin", "hamburg")
#: Payment tokens and how often customers pay with each (the test gateway's tokens).
PAYMENT_TOKENS: Final = {
    "tok_success": 55,
    "tok_requires_action": 12,
    "tok_flaky": 10,
    "tok_declined": 8,
    "tok_insufficient_funds": 5,
    "tok_gateway_error": 5,
}
#: Longer than every timeout of the store's (pending payment, action, hold).
PAST_EVERY_TIMEOUT: Final = timedelta(hours=1)
#: The statuses of an order that is not cancelled.
_LIVE: Final = frozenset(set(OrderStatus) - {OrderStatus.CANCELLED})
#: The statuses in which an order may hold stock.
_HOLDING_STATUSES: Final = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.OPEN})
#: Every how many steps every order is read again, touched by the step or not.
_READ_ALL_EVERY: Final = 10
#: How many rounds of webhooks and sweeps settling may take at most.
_SETTLING_ROUNDS: Final = 5


# --- what the gateway did ----------------------------------------------------------


@attrs.define
class Account:
    """What the gateway did for one payment, from its own answers."""

    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    voided: bool = False

    @property
    def held(self) -> int:
        """What the gateway still holds: authorized and not captured (unless voided),
        and captured and not refunded."""
        standing = 0 if self.voided else self.authorized - self.captured
        return standing + self.captured - self.refunded

    def take(self, operation: str, event: GatewayEvent) -> None:
        """Book one answer of the gateway's (of ``operation``, the call it answered)."""
        if event.status is not TransactionStatus.SUCCEEDED:
            return
        units = event.amount_units
        if event.kind is TransactionKind.AUTHORIZE:
            self.authorized = units
        elif event.kind is TransactionKind.CAPTURE:
            if operation in ("authorize", "confirm", "complete"):
                self.authorized = units  # a sale: authorized and captured at once
            self.captured += units
        elif event.kind is TransactionKind.VOID:
            self.voided = True
        else:
            self.refunded += units


def gateway_books(
    gateway: TestPaymentGateway, also: Iterable[GatewayEvent] = ()
) -> dict[str, Account]:
    """The test gateway's books per payment reference, rebuilt from its public record:
    every call it received (``calls``), what it answered each (``find``), and facts
    it reported on its own (``also``: actions completed on its page). Each fact
    counts once, by its transaction id.
    """
    answers: list[tuple[str, GatewayEvent | None]] = [
        (operation, gateway.find(key)) for operation, key in dict.fromkeys(gateway.calls)
    ]
    answers.extend(("complete", event) for event in also)
    seen: set[str] = set()
    books: dict[str, Account] = {}
    for operation, event in answers:
        if event is None or event.transaction_id in seen:
            continue
        seen.add(event.transaction_id)
        books.setdefault(event.payment_reference, Account()).take(operation, event)
    return books


# --- what the checks see --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OrderState:
    """An order, its payment, what it holds, and what the gateway knows of it."""

    order: Order
    payment: Payment | None
    holds: Mapping[tuple[str, str], int]
    """Stock the order still holds, per ``(sku, location)``."""
    authorization: GatewayEvent | None
    """The gateway's answer to the order's authorization, if it received it."""
    account: Account | None
    """The gateway's books for the order's payment, if the gateway knows it."""
    delivered: tuple[str, ...]
    """The names of the events about this order delivered to subscribers so far."""


@attrs.frozen(kw_only=True)
class Snapshot:
    """The store as the checks see it after a step."""

    step: int
    orders: tuple[OrderState, ...]
    items: tuple[StockItem, ...]
    ledger: Mapping[tuple[str, str], tuple[StockMovement, ...]]
    """The movements of each ``(sku, location)``."""

    @property
    def held(self) -> dict[tuple[str, str], int]:
        """What the orders' live reservations hold at each ``(sku, location)``."""
        held: dict[tuple[str, str], int] = {}
        for state in self.orders:
            for key, quantity in state.holds.items():
                held[key] = held.get(key, 0) + quantity
        return held

    floors: Mapping[str, int]
    """The lowest available stock each SKU may reach."""
    received: Mapping[str, int]
    """What the simulation received of each SKU, in all."""
    keys: Mapping[str, tuple[str, ...]]
    """The orders each idempotency key was answered with."""
    undelivered: int
    """Committed events not yet delivered."""
    webhooks_waiting: int = 0
    """Gateway facts sent as webhooks that the store has not taken yet."""
    sweep_problems: tuple[str, ...] = ()
    """What the step's sweeps did and did not report, or failed at unexpectedly."""


#: A check: the problems it finds in a snapshot, in words (none when all is well).
Check = Callable[[Snapshot], Iterable[str]]


def money_conserved(snapshot: Snapshot) -> Iterator[str]:
    """Per payment: due >= authorized >= captured >= refunded >= 0, due is the order's
    total, the order follows what the payment holds, and the ledger has no more than
    the gateway did."""
    for state in snapshot.orders:
        order, payment = state.order, state.payment
        if payment is None:
            yield f"order {order.id} has no payment"
            continue
        due, authorized = payment.amount_units, payment.authorized_units
        captured, refunded = payment.captured_units, payment.refunded_units
        if not due >= authorized >= captured >= refunded >= 0:
            yield (
                f"payment {payment.id}: due {due}, authorized {authorized}, "
                f"captured {captured}, refunded {refunded}"
            )
        if due != order.totals.grand_total_units or payment.currency != order.currency:
            total = f"{order.totals.grand_total_units} {order.currency}"
            yield f"payment {payment.id} is for {due} {payment.currency}, its order {total}"
        held = (payment.capturable_units, payment.refundable_units)
        said = (order.payment_capturable_units, order.payment_refundable_units)
        if held != said:
            yield f"order {order.id} says its payment holds {said}, the payment {held}"
        yield from _within_gateway(state, payment)


def _within_gateway(state: OrderState, payment: Payment) -> Iterator[str]:
    account = state.account
    if account is None:
        if payment.authorized_units or payment.captured_units:
            yield f"payment {payment.id} records money the gateway never took"
        return
    if not account.authorized >= account.captured >= account.refunded:
        yield f"the gateway's books for payment {payment.id} break its own limits: {account}"
    ledger = (payment.authorized_units, payment.captured_units, payment.refunded_units)
    books = (account.authorized, account.captured, account.refunded)
    if any(mine > theirs for mine, theirs in zip(ledger, books, strict=True)) or (
        payment.voided and not account.voided
    ):
        mine = f"{ledger} voided {payment.voided}"
        yield f"payment {payment.id} records more than the gateway did: {mine}, {account}"


def charged_once(snapshot: Snapshot) -> Iterator[str]:
    """One order per idempotency key, one live order per cart, and the payment's
    reference is the gateway's for the order's authorization."""
    for key, order_ids in snapshot.keys.items():
        if len(set(order_ids)) > 1:
            yield f"idempotency key {key} was answered with orders {sorted(set(order_ids))}"
    live: dict[str, list[str]] = {}  # cart id: its orders not cancelled
    for state in snapshot.orders:
        order = state.order
        if order.status is not OrderStatus.CANCELLED:
            live.setdefault(order.cart_id, []).append(order.id)
        reference = state.payment.reference if state.payment else None
        answered = state.authorization
        if reference and answered and answered.payment_reference != reference:
            theirs = answered.payment_reference
            yield f"order {order.id} is paid through {reference}, the gateway's is {theirs}"
    for cart_id, live_ids in live.items():
        if len(live_ids) > 1:
            yield f"cart {cart_id} became {len(live_ids)} live orders: {live_ids}"


def _tracked(order: Order) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for line in order.lines:
        if line.track_stock:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    return wanted


def orders_consistent(snapshot: Snapshot) -> Iterator[str]:
    """An open order is paid; nothing ships from a cancelled order; an order holds its
    stock exactly while it awaits payment or is paid and not shipped."""
    for state in snapshot.orders:
        order, payment = state.order, state.payment
        status = order.status
        paid = payment is not None and payment.covers_amount_due
        if status in (OrderStatus.OPEN, OrderStatus.COMPLETED) and not (
            paid or not order.totals.grand_total_units
        ):
            yield f"order {order.id} is {status.value} and not paid for"
        if order.shipped and status not in (OrderStatus.OPEN, OrderStatus.COMPLETED):
            yield f"order {order.id} shipped and is {status.value}"
        if status in (OrderStatus.CANCELLING, OrderStatus.CANCELLED) and (
            order.fulfilment_status is not FulfilmentStatus.UNFULFILLED
        ):
            yield f"order {order.id} is {status.value} and {order.fulfilment_status.value}"
        holding = status is OrderStatus.PENDING_PAYMENT or (
            status is OrderStatus.OPEN and not order.shipped
        )
        expected = _tracked(order) if holding else {}
        held: dict[str, int] = {}
        for (sku, _), quantity in state.holds.items():
            held[sku] = held.get(sku, 0) + quantity
        if held != expected:
            name = f"order {order.id} ({status.value}, shipped {order.shipped})"
            yield f"{name} holds {held}, should hold {expected}"
        if status is OrderStatus.COMPLETED and order.fulfilment_status is not (
            FulfilmentStatus.FULFILLED
        ):
            yield f"order {order.id} completed {order.fulfilment_status.value}"


def stock_conserved(snapshot: Snapshot) -> Iterator[str]:
    """On hand is the ledger's sum, reserved is what live holds hold, nothing is below
    its floor, what was received is in the ledger and what was sold shipped."""
    sold: dict[str, int] = {}
    received: dict[str, int] = {}
    holds = snapshot.held
    for item in snapshot.items:
        moves = snapshot.ledger.get(item.key, ())
        total, held = sum(m.quantity for m in moves), holds.get(item.key, 0)
        if item.on_hand != total:
            yield f"{item.key}: on hand {item.on_hand}, the ledger says {total}"
        if item.reserved != held:
            yield f"{item.key}: reserved {item.reserved}, live holds hold {held}"
        floor = snapshot.floors.get(item.sku, 0)
        if item.reserved < 0 or item.available < floor or item.on_hand < min(floor, 0):
            yield f"{item.key}: on hand {item.on_hand}, reserved {item.reserved}, floor {floor}"
        for move in moves:
            if move.kind is MovementKind.SALE:
                sold[item.sku] = sold.get(item.sku, 0) - move.quantity
            elif move.kind is MovementKind.RECEIPT:
                received[item.sku] = received.get(item.sku, 0) + move.quantity
    shipped: dict[str, int] = {}
    for state in snapshot.orders:
        if state.order.shipped:
            for sku, quantity in _tracked(state.order).items():
                shipped[sku] = shipped.get(sku, 0) + quantity
    if sold != shipped:
        yield f"sold {sold} by the ledger, shipped {shipped} by the orders"
    expected = {sku: units for sku, units in snapshot.received.items() if units}
    if received != expected:
        yield f"received {received} by the ledger, {expected} by the simulation"


def all_or_nothing(snapshot: Snapshot) -> Iterator[str]:
    """Once everything is settled: every order open and paid, cancelled with nothing
    held, or completed with nothing left authorized; nothing under way or flagged;
    the ledger is the gateway's books; every event delivered."""
    if snapshot.undelivered:
        yield f"{snapshot.undelivered} committed events were never delivered"
    if snapshot.webhooks_waiting:
        yield f"{snapshot.webhooks_waiting} webhooks were never taken"
    for state in snapshot.orders:
        yield from _settled(state)


def _settled(state: OrderState) -> Iterator[str]:
    order, payment, account = state.order, state.payment, state.account
    status, name = order.status, f"order {order.id} ({order.status.value})"
    if payment is None:
        return
    if status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLING):
        yield f"{name} was left half-done"
    if payment.intents or order.attention or payment.attention:
        flags = f"{order.attention!r} {payment.attention!r}"
        yield f"{name} was left with operations under way or flagged: {payment.intents} {flags}"
    ledger = (
        payment.authorized_units,
        payment.captured_units,
        payment.refunded_units,
        payment.voided,
    )
    books = (0, 0, 0, False) if account is None else attrs.astuple(account)
    if ledger != books:
        yield f"{name}: the ledger {ledger} is not the gateway's books {books}"
    held = 0 if account is None else account.held
    if status is OrderStatus.CANCELLED and held:
        yield f"{name}: the gateway still holds {held} of it"
    if status is OrderStatus.OPEN and (
        account is None or account.authorized != payment.amount_units
    ):
        yield f"{name}: the gateway did not authorize the amount due ({account})"
    standing = account is not None and not account.voided and account.authorized > account.captured
    if status is OrderStatus.COMPLETED and standing:
        yield f"{name}: an authorization still stands at the gateway"
    expected = {
        OrderStatus.OPEN: "OrderPaid",
        OrderStatus.COMPLETED: "OrderPaid",
        OrderStatus.CANCELLED: "OrderCancelled",
    }.get(status)
    if expected and expected not in state.delivered:
        yield f"{name}: {expected} was never delivered"


def sweeps_say_what_they_did(snapshot: Snapshot) -> Iterator[str]:
    """Every order a sweep changed is in its report, and no sweep failed on an order
    for an unexpected reason (a bug rather than a refusal)."""
    yield from snapshot.sweep_problems


#: What must hold after every step.
STEP_CHECKS: Final[tuple[Check, ...]] = (
    money_conserved,
    sweeps_say_what_they_did,
    charged_once,
    orders_consistent,
    stock_conserved,
)
#: What must hold once everything is settled.
SETTLED_CHECKS: Final[tuple[Check, ...]] = (all_or_nothing,)


# --- the store the simulation drives ---------------------------------------------


class SequentialIds:
    """Identifiers in sequence (``order_000012``) and tokens from a seeded generator:
    the same run draws the same ones."""

    def __init__(self, seed: int) -> None:
        self._count = 0
        self._random = random.Random(f"ids:{seed}")

    def new_id(self, kind: str) -> str:
        """The next id for ``kind``."""
        self._count += 1
        return f"{kind}_{self._count:06d}"

    def new_token(self) -> str:
        """A token no other run of the same seed tells apart (not a secret)."""
        return f"simtok_{self._random.getrandbits(128):032x}"


class _GatewayOnTheClock:
    """The ``simulation`` gateway kind: the test gateway on the simulation's clock."""

    def __init__(self, clock: FixedClock) -> None:
        self._clock = clock

    @hookimpl
    def register_payment_gateways(self, register: Callable[[str, GatewayFactory], None]) -> None:
        def build(name: str, options: Mapping[str, Any]) -> TestPaymentGateway:
            secret = str(options["webhook_secret"])
            return TestPaymentGateway(name, webhook_secret=secret, clock=self._clock.now)

        register("simulation", build)


class _Subscriber:
    """Records the events delivered, per order."""

    def __init__(self) -> None:
        self.delivered: dict[str, list[str]] = {}
        self.count = 0

    @hookimpl
    def on_domain_event(self, event: DomainEvent) -> None:
        self.count += 1
        order_id = getattr(event, "order_id", None)
        if isinstance(order_id, str):
            self.delivered.setdefault(order_id, []).append(event.name)


def simulation_config() -> dict[str, Any]:
    """The configuration of a simulated store."""
    config = dict(CONFIG)
    if "request_wait_seconds" in StoreConfig.model_fields:
        # One process drives the store: a caller waiting on the wall clock for another
        # that holds a gateway call waits for one that crashed, and only wastes time.
        config["request_wait_seconds"] = 0
    return config


def simulation_store(url: str, seed: int = 0, *, plugins: Sequence[object] = ()) -> Store:
    """A store the simulation (or a test) can drive: on a :class:`FixedClock` (its
    ``store.runtime.clock``), with sequential ids and the test gateway (named
    ``test``) on the same clock.

    :param plugins: more plugins, such as an event subscriber.
    """
    clock = FixedClock(START)
    return Store.open(
        url,
        config=simulation_config(),
        clock=clock,
        ids=SequentialIds(seed),
        plugins=[_GatewayOnTheClock(clock), *plugins],
    )


def _seed_catalogue(store: Store) -> dict[str, int]:
    """Products, prices, tax, locations, stock rules and opening stock.

    :returns: what was received, per SKU.
    """
    catalog, inventory = store.catalog, store.inventory
    catalog.add_price_list("sim", CURRENCY)
    for sku, (price, policy, limit, digital) in CATALOGUE.items():
        product_id = sku.lower()
        catalog.add_product(
            Product(id=product_id, name=sku.title(), variants=[Variant(sku=sku, digital=digital)])
        )
        catalog.publish(product_id)
        catalog.set_price("sim", sku, Money(price, CURRENCY))
        if policy is not StockPolicy.DENY:
            inventory.set_rule(StockRule(sku=sku, policy=policy, backorder_limit=limit))
    catalog.add_tax_zone(
        TaxZone(id="sim-de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
    )
    for priority, location in enumerate(LOCATIONS):
        inventory.add_location(StockLocation(id=location, name=location.title(), priority=priority))
    opening = {("SIM-MUG", "berlin"): 10, ("SIM-MUG", "hamburg"): 6, ("SIM-CLOCK", "berlin"): 5}
    opening[("SIM-TEE", "hamburg")] = 3
    for (sku, location), quantity in opening.items():
        inventory.receive(sku, location, quantity, reference="opening stock")
    received: dict[str, int] = {}
    for (sku, _), quantity in opening.items():
        received[sku] = received.get(sku, 0) + quantity
    return received


# --- the report and the failure ---------------------------------------------------


@attrs.frozen(kw_only=True)
class Report:
    """What one simulated run did."""

    seed: int
    steps: int
    url: str
    orders: int
    """Orders placed."""
    captured_units: int
    """Minor units captured at the gateway, in all."""
    refunded_units: int
    faults_armed: int
    crashes: int
    """Injected crashes that struck."""
    timeouts: int
    """Injected gateway timeouts that struck."""
    refusals: Mapping[str, int]
    """Refused steps, per error code."""
    seconds: float
    trace: tuple[str, ...] = attrs.field(repr=False)

    @property
    def money_moved(self) -> Money:
        """What the gateway captured, in all."""
        return from_minor_units(self.captured_units, CURRENCY)


class InvariantBroken(AssertionError):
    """An invariant did not hold (or a step failed unexpectedly): the seed, the step,
    what broke, and the trace that replays it."""

    def __init__(
        self, *, seed: int, step: int, steps: int, url: str, problem: str, trace: Sequence[str]
    ) -> None:
        self.seed, self.step, self.url, self.problem = seed, step, url, problem
        self.trace = tuple(trace)
        # A SQLite file holds the failed run: the replay takes a new one.
        where = "sqlite" if url.startswith("sqlite") else url
        self.replay = (
            f"python -m commercekit.testing.simulate --seed {seed} --steps {min(step, steps)} "
            f"--url {where}"
        )
        lines = "\n".join(self.trace)
        super().__init__(
            f"seed {seed}, step {step}: {problem}\nreplay: {self.replay}\ntrace:\n{lines}"
        )


# --- the simulation ----------------------------------------------------------------


@attrs.define
class _Cart:
    token: str
    cart_id: str
    customer: str
    payment_token: str = ""
    key: str = ""
    """The idempotency key its checkout was placed with, once it was."""


@attrs.define
class _Operation:
    """A capture or refund asked with an idempotency key, to ask again."""

    kind: str
    order_id: str
    units: int | None
    key: str


_Plan = tuple[str, Callable[[], str]]


@attrs.frozen
class _Read:
    """What was read of one order."""

    order: Order
    payment: Payment | None
    holds: Mapping[tuple[str, str], int]


class _Simulation:
    """One seeded run over one store."""

    def __init__(
        self, store: Store, seed: int, steps: int, url: str, checks: Sequence[Check]
    ) -> None:
        clock = store.runtime.clock
        gateway = store.runtime.gateways.get(GATEWAY)
        if not isinstance(clock, FixedClock) or not isinstance(gateway, TestPaymentGateway):
            raise ValueError(
                "simulate a store on a FixedClock with a TestPaymentGateway named 'test' "
                "(see simulation_store)"
            )
        self.store, self.clock, self.gateway = store, clock, gateway
        self.seed, self.steps, self.url = seed, steps, url
        self.random = random.Random(seed)
        self.checks = (*STEP_CHECKS, *checks)
        self.subscriber = _Subscriber()
        self.trace: list[str] = []
        self.carts: list[_Cart] = []
        self.keys: dict[str, list[str]] = {}
        self.operations: list[_Operation] = []
        self.outbox: list[GatewayEvent] = []
        """Gateway facts waiting to be delivered as webhooks (the gateway resends
        until one is taken)."""
        self.sent: set[str] = set()
        self.completed: list[GatewayEvent] = []
        self.received: dict[str, int] = {}
        self.refusals: Counter[str] = Counter()
        self.crashes = self.timeouts = self.faults_armed = 0
        self.counter = 0
        self.snapshot: Snapshot | None = None
        self.order_ids: list[str] = []
        self.payment_ids: dict[str, str] = {}
        self.tried: list[str] = []
        """Idempotency keys checked out with since the last look."""
        self.done: set[str] = set()
        """Orders that hold no stock and never will again."""
        self.sweep_problems: list[str] = []
        self.ledgers: dict[tuple[str, str], tuple[int, tuple[StockMovement, ...]]] = {}
        """Each item's ledger, with the item's version when it was read."""
        self.reads: dict[str, _Read] = {}
        """What was read of each order at the last look."""
        self.touched: set[str] | None = None
        """The orders the current step may change; ``None`` when it may change any."""
        self.armed: Armed | None = None

    # --- running ---------------------------------------------------------------------

    def run(self) -> Report:
        """Seed the store, take the steps, settle, and report."""
        started = time.perf_counter()
        manager = self.store.plugins.manager
        manager.register(self.subscriber)
        try:
            self.received = _seed_catalogue(self.store)
            with inject(self.store) as armed:
                self.armed = armed
                self.snapshot = self._observe(0)
                for step in range(1, self.steps + 1):
                    self._step(step)
                self._settle(self.steps + 1)
        finally:
            manager.unregister(self.subscriber)
        return self._report(time.perf_counter() - started)

    def _report(self, seconds: float) -> Report:
        books = gateway_books(self.gateway, self.completed)
        snapshot = self.snapshot
        return Report(
            seed=self.seed,
            steps=self.steps,
            url=self.url,
            orders=0 if snapshot is None else len(snapshot.orders),
            captured_units=sum(a.captured for a in books.values()),
            refunded_units=sum(a.refunded for a in books.values()),
            faults_armed=self.faults_armed,
            crashes=self.crashes,
            timeouts=self.timeouts,
            refusals=dict(sorted(self.refusals.items())),
            seconds=seconds,
            trace=tuple(self.trace),
        )

    def _broken(self, step: int, problem: str) -> InvariantBroken:
        return InvariantBroken(
            seed=self.seed,
            step=step,
            steps=self.steps,
            url=self.url,
            problem=problem,
            trace=self.trace,
        )

    def _step(self, step: int) -> None:
        names = list(_ACTIONS)
        weights = [weight for weight, _ in _ACTIONS.values()]
        name = self.random.choices(names, weights)[0]
        plan = _ACTIONS[name][1](self) or self._cart()
        self._carry_out(step, plan)
        settled = SETTLED_CHECKS if name == "quiesce" else ()
        self._check(step, (*self.checks, *settled))

    def _carry_out(self, step: int, plan: _Plan) -> None:
        """Run a step's plan; its outcome is a line of the trace."""
        description, act = plan
        try:
            outcome = act() or "ok"
        except Crash as crash:
            self.crashes += 1
            outcome = f"crash ({crash.fault})"
        except CommerceError as error:
            self.refusals[error.code] += 1
            outcome = f"refused {error.code}"
        except Exception as error:
            self.trace.append(f"{step:5d} {description} -> unexpected {type(error).__name__}")
            raise self._broken(step, f"unexpected {type(error).__name__}: {error}") from error
        finally:
            self._collect_webhooks()
        self.trace.append(f"{step:5d} {description} -> {outcome}")

    def _check(self, step: int, checks: Iterable[Check]) -> None:
        self.snapshot = self._observe(step)
        for check in checks:
            problems = list(check(self.snapshot))
            if problems:
                name = getattr(check, "__name__", "check")
                raise self._broken(step, f"{name}: {'; '.join(problems)}")

    def _settle(self, step: int) -> None:
        """Let everything finish: faults disarmed, the clock past every timeout, every
        webhook delivered, the sweep run until it has nothing left to do."""
        assert self.armed is not None
        self.armed.disarm()
        self._carry_out(step, ("settle", self._settle_everything))
        self._check(step, (*self.checks, *SETTLED_CHECKS))

    def _settle_everything(self) -> str:
        self._touch_all()
        self.clock.advance(PAST_EVERY_TIMEOUT)
        rounds = 0
        while rounds < _SETTLING_ROUNDS:
            rounds += 1
            delivered = self._deliver_all()
            swept = _lists(self._sweep_once())
            if not delivered and not any(swept.values()) and not self.outbox:
                break
        self.store.deliver_events()
        return f"settled in {rounds} rounds"

    def _deliver_all(self) -> int:
        """Deliver every waiting webhook, oldest first; one out of order waits for the
        next round."""
        self._collect_webhooks()
        delivered = 0
        for event in list(self.outbox):
            body, signature = self.gateway.webhook([event], sent_at=self.clock.now())
            with contextlib.suppress(CommerceError):
                self.store.payments.handle_webhook(GATEWAY, body, signature)
                self.outbox.remove(event)
                delivered += 1
        return delivered

    def _sweep_once(self) -> SweepReport:
        """Release expired holds and sweep, as a periodic job does; note what the sweep
        changed and did not report, and what failed unexpectedly."""
        self.store.inventory.release_expired_reservations()
        before = self._versions()
        report = self.store.recovery.sweep()
        reported = {order_id for order_id, _ in report.failed}
        reported.update(*_lists(report).values())
        for order_id, version in self._versions().items():
            if before.get(order_id) != version and order_id not in reported:
                self.sweep_problems.append(f"the sweep changed order {order_id} and never said")
        self.sweep_problems.extend(
            f"the sweep failed on order {order_id}: {what}"
            for order_id, what in report.failed
            if what.startswith("unexpected")
        )
        return report

    def _versions(self) -> dict[str, int]:
        with self.store.storage.unit_of_work() as uow:
            return {order_id: uow.orders.get(order_id).version for order_id in self.order_ids}

    # --- what the checks see -----------------------------------------------------------

    def _touch(self, order_id: str) -> None:
        if self.touched is not None:
            self.touched.add(order_id)

    def _touch_all(self) -> None:
        self.touched = None

    def _observe(self, step: int) -> Snapshot:
        """Read the store for the checks, in one unit of work (a consistent view).

        Orders the step could not have changed are not read again (reading every
        order after every step costs more than the steps), except on every
        :data:`_READ_ALL_EVERY` th step, when all are.
        """
        books = gateway_books(self.gateway, self.completed)
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
            received=dict(self.received),
            keys={key: tuple(ids) for key, ids in self.keys.items()},
            undelivered=len(self.store.storage.undelivered_events(1)),
            webhooks_waiting=len(self.outbox),
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
            self._touch(order_id)
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
            for reservation in uow.inventory.reservations_for_order(order_id):
                if reservation.holds:
                    key = (reservation.sku, reservation.location_id)
                    holds[key] = holds.get(key, 0) + reservation.quantity
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

    # --- choosing -------------------------------------------------------------------

    def _pick(self, wanted: Callable[[OrderState], bool]) -> OrderState | None:
        """An order the step makes sense for mostly, now and then any (to be refused)."""
        states = [] if self.snapshot is None else list(self.snapshot.orders)
        fitting = [state for state in states if wanted(state)]
        choices = states if self.random.random() < 0.15 else fitting
        return self.random.choice(choices) if choices else None

    def _amount(self, left: int) -> int | None:
        """All (``None``), part of ``left``, or now and then more than ``left``."""
        roll = self.random.random()
        if roll < 0.4 or left <= 0:
            return None
        if roll < 0.85:
            return self.random.randint(1, left)
        return left + self.random.randint(1, 2000)

    # --- the actions -----------------------------------------------------------------

    def _payment_token(self) -> str:
        return self.random.choices(list(PAYMENT_TOKENS), list(PAYMENT_TOKENS.values()))[0]

    def _cart(self) -> _Plan:
        customer = self.random.choice(CUSTOMERS)
        lines = self.random.sample(list(CATALOGUE), self.random.randint(1, 2))
        quantities = {sku: self.random.randint(1, 3) for sku in lines}
        payment_token = self._payment_token()

        def act() -> str:
            store = self.store
            cart = store.carts.create(CURRENCY, customer_id=customer)
            self.carts.append(_Cart(cart.token, cart.id, customer, payment_token))
            for sku, quantity in quantities.items():
                store.carts.add(cart.token, sku, quantity)
            return cart.id

        wanted = " ".join(f"{sku}x{quantity}" for sku, quantity in quantities.items())
        return f"cart {customer} {wanted} paying {payment_token}", act

    def _checkout(self) -> _Plan | None:
        """Check a cart out: mostly one never checked out, now and then one again
        (after a decline, with another card; or a second order for one cart)."""
        waiting = [cart for cart in self.carts if not cart.key]
        if not waiting or self.random.random() < 0.2:
            waiting = self._carts_again()
        if not waiting:
            return None
        cart = self.random.choice(waiting)
        self.counter += 1
        key = f"checkout-{self.counter}"
        if cart.key:
            cart.payment_token = self._payment_token()

        def act() -> str:
            store, token = self.store, cart.token
            store.checkout.set_contact(token, {"email": f"{cart.customer}@example.com"})
            store.checkout.set_shipping_address(token, ADDRESS)
            store.checkout.choose_shipping(token, {"method_id": "post"})
            store.checkout.set_payment_method(
                token, {"gateway": GATEWAY, "token": cart.payment_token}
            )
            store.checkout.summary(token)
            cart.key = key
            return self._place(cart)

        return f"checkout {cart.cart_id} key {key} paying {cart.payment_token}", act

    def _carts_again(self) -> list[_Cart]:
        """Carts checked out before whose orders were all cancelled (a decline, say),
        and now and then any (for a second order of one cart, to be refused)."""
        if self.random.random() < 0.2 or self.snapshot is None:
            return [cart for cart in self.carts if cart.key]
        live = {s.order.cart_id for s in self.snapshot.orders if s.order.status in _LIVE}
        ended = {s.order.cart_id for s in self.snapshot.orders} - live
        return [cart for cart in self.carts if cart.cart_id in ended]

    def _place(self, cart: _Cart) -> str:
        self.tried.append(cart.key)
        order = self.store.checkout.place_order(cart.token, idempotency_key=cart.key)
        self.keys.setdefault(cart.key, []).append(order.id)
        return f"{order.id} {order.status.value}"

    def _retry(self) -> _Plan | None:
        placed = [cart for cart in self.carts if cart.key]
        if self.operations and (not placed or self.random.random() < 0.4):
            operation = self.random.choice(self.operations)
            return self._operation_again(operation)
        if not placed:
            return None
        cart = self.random.choice(placed)
        return f"retry checkout {cart.cart_id} key {cart.key}", lambda: self._place(cart)

    def _operation_again(self, operation: _Operation) -> _Plan:
        payments = self.store.payments
        amount = None if operation.units is None else from_minor_units(operation.units, CURRENCY)
        call = payments.capture if operation.kind == "capture" else payments.refund

        def act() -> str:
            self._touch(operation.order_id)
            payment = call(operation.order_id, amount, idempotency_key=operation.key)
            return payment.status.value

        units = "all" if operation.units is None else operation.units
        return f"retry {operation.kind} {operation.order_id} {units} key {operation.key}", act

    def _confirm(self) -> _Plan | None:
        state = self._pick(_awaits_action)
        if state is None:
            return None
        order = state.order

        def act() -> str:
            self._touch(order.id)
            return self.store.payments.confirm(order.token).status.value

        return f"confirm {order.id}", act

    def _action_at_gateway(self) -> _Plan | None:
        state = self._pick(_awaits_action)
        if state is None or not _awaits_action(state):
            return None
        order, reference = state.order, str(state.payment and state.payment.reference)

        def act() -> str:
            self._touch(order.id)
            event = self.gateway.complete_action_at_gateway(reference)
            self.completed.append(event)
            return event.status.value

        return f"action completed at the gateway for {order.id}", act

    def _money(self, kind: str) -> _Plan | None:
        state = self._pick(_capturable if kind == "capture" else _refundable)
        if state is None or state.payment is None:
            return None
        order, payment = state.order, state.payment
        left = payment.capturable_units if kind == "capture" else payment.refundable_units
        units = self._amount(left)
        key = None
        if self.random.random() < 0.3:
            self.counter += 1
            key = f"{kind}-{self.counter}"
            self.operations.append(_Operation(kind, order.id, units, key))
        call = self.store.payments.capture if kind == "capture" else self.store.payments.refund
        amount = None if units is None else from_minor_units(units, CURRENCY)

        def act() -> str:
            self._touch(order.id)
            return call(order.id, amount, idempotency_key=key).status.value

        shown = "all" if units is None else units
        return f"{kind} {order.id} {shown}" + (f" key {key}" if key else ""), act

    def _capture(self) -> _Plan | None:
        return self._money("capture")

    def _refund(self) -> _Plan | None:
        return self._money("refund")

    def _void(self) -> _Plan | None:
        state = self._pick(_capturable)
        if state is None:
            return None
        order = state.order

        def act() -> str:
            self._touch(order.id)
            return self.store.payments.void(order.id).status.value

        return f"void {order.id}", act

    def _cancel(self) -> _Plan | None:
        state = self._pick(_cancellable)
        if state is None:
            return None
        order = state.order

        def act() -> str:
            self._touch(order.id)
            return self.store.orders.cancel(order.id, "changed their mind").status.value

        return f"cancel {order.id}", act

    def _ship(self) -> _Plan | None:
        state = self._pick(lambda s: s.order.status is OrderStatus.OPEN and not s.order.shipped)
        if state is None:
            return None
        order = state.order
        quantities = {line.sku: line.quantity for line in order.lines}

        def act() -> str:
            self._touch(order.id)
            self.store.inventory.consume(order.id)
            return self.store.orders.record_fulfilment(order.id, quantities).status.value

        return f"ship {order.id}", act

    def _complete(self) -> _Plan | None:
        state = self._pick(lambda s: s.order.status is OrderStatus.OPEN and s.order.shipped)
        if state is None:
            return None
        order = state.order

        def act() -> str:
            self._touch(order.id)
            return self.store.orders.complete(order.id).status.value

        return f"complete {order.id}", act

    def _webhook(self) -> _Plan | None:
        if not self.outbox:
            return None
        count = min(len(self.outbox), self.random.randint(1, 3))
        batch = self.random.sample(self.outbox, count)
        if self.random.random() < 0.3:
            batch.append(self.random.choice(batch))  # the same fact twice in one delivery
        stale = self.random.random() < 0.05
        keep = self.random.random() < 0.3  # delivered again later: a duplicate

        def act() -> str:
            self._touch_all()
            sent_at = self.clock.now() - (timedelta(minutes=10) if stale else timedelta())
            body, signature = self.gateway.webhook(batch, sent_at=sent_at)
            result = self.store.payments.handle_webhook(GATEWAY, body, signature)
            if not keep:
                for event in batch:
                    if event in self.outbox:
                        self.outbox.remove(event)
            return f"applied {result.applied}, duplicates {result.duplicates}"

        names = " ".join(f"{e.kind.value}:{e.status.value}:{e.transaction_id}" for e in batch)
        return f"webhook{' (stale)' if stale else ''} {names}", act

    def _collect_webhooks(self) -> None:
        """Every fact the gateway answered is also sent as a webhook, later."""
        answers = [self.gateway.find(key) for _, key in dict.fromkeys(self.gateway.calls)]
        for event in [*answers, *self.completed]:
            if event is not None and event.transaction_id not in self.sent:
                self.sent.add(event.transaction_id)
                self.outbox.append(event)

    def _advance(self) -> _Plan:
        minutes = self.random.choice([1, 2, 5, 10, 16, 30])

        def act() -> str:
            self.clock.advance(timedelta(minutes=minutes))
            return self.clock.now().strftime("%H:%M")

        return f"clock +{minutes} min", act

    def _sweep(self) -> _Plan:
        def act() -> str:
            self._touch_all()
            return _summary(self._sweep_once())

        return "sweep", act

    def _receive(self) -> _Plan:
        sku = self.random.choice([sku for sku, spec in CATALOGUE.items() if not spec[3]])
        location = self.random.choice(LOCATIONS)
        quantity = self.random.randint(2, 8)

        def act() -> str:
            self.store.inventory.receive(sku, location, quantity, reference="restock")
            self.received[sku] = self.received.get(sku, 0) + quantity
            return str(self.store.inventory.available(sku))

        return f"receive {sku} {location} {quantity}", act

    def _fault(self) -> _Plan | None:
        point = self.random.choice(list(Point))
        fault = Fault(
            point=point,
            nth=self.random.choice([1, 1, 1, 1, 2, 3]),
            after_gateway=point.at_commit and self.random.random() < 0.6,
            timeout=point.at_gateway and self.random.random() < 0.5,
        )
        inner_name = self.random.choice(_FAULTED)
        inner = _ACTIONS[inner_name][1](self)
        if inner is None:
            return None
        description, act = inner
        self.faults_armed += 1

        def armed_act() -> str:
            armed = self.armed
            assert armed is not None
            armed.arm(fault)
            try:
                outcome = act()
            finally:
                if fault in armed.fired and fault.timeout:
                    self.timeouts += 1
                armed.disarm()
            return outcome if fault in armed.fired else f"{outcome} (fault not reached)"

        return f"with {fault}: {description}", armed_act

    def _quiesce(self) -> _Plan:
        return "settle", self._settle_everything


def _awaits_action(state: OrderState) -> bool:
    payment = state.payment
    return payment is not None and payment.status is PaymentStatus.REQUIRES_ACTION


def _capturable(state: OrderState) -> bool:
    payment = state.payment
    return state.order.status is OrderStatus.OPEN and bool(payment and payment.capturable_units)


def _refundable(state: OrderState) -> bool:
    return bool(state.payment and state.payment.refundable_units)


def _cancellable(state: OrderState) -> bool:
    order = state.order
    if order.status is OrderStatus.PENDING_PAYMENT:
        return True
    return order.status is OrderStatus.OPEN and not order.shipped and not order.fulfilled


def _lists(report: SweepReport) -> dict[str, tuple[str, ...]]:
    """The orders a sweep reports, by what it did to them."""
    return {
        "settled": report.settled,
        "cancelled": report.cancelled,
        "given back": report.given_back,
        "resolved": report.resolved,
        "released": report.released,
        "failed": tuple(order_id for order_id, _ in report.failed),
    }


def _summary(report: SweepReport) -> str:
    parts = _lists(report).items()
    return ", ".join(f"{name} {len(ids)}" for name, ids in parts if ids) or "nothing"


_Action = Callable[[_Simulation], _Plan | None]
#: Each action's weight (how often it is chosen) and how it plans a step.
_ACTIONS: Final[dict[str, tuple[int, _Action]]] = {
    "cart": (10, _Simulation._cart),
    "checkout": (12, _Simulation._checkout),
    "retry": (5, _Simulation._retry),
    "confirm": (5, _Simulation._confirm),
    "action_at_gateway": (3, _Simulation._action_at_gateway),
    "capture": (10, _Simulation._capture),
    "refund": (6, _Simulation._refund),
    "void": (3, _Simulation._void),
    "cancel": (5, _Simulation._cancel),
    "ship": (6, _Simulation._ship),
    "complete": (3, _Simulation._complete),
    "webhook": (8, _Simulation._webhook),
    "clock": (6, _Simulation._advance),
    "sweep": (5, _Simulation._sweep),
    "fault": (10, _Simulation._fault),
    "receive": (5, _Simulation._receive),
    "quiesce": (1, _Simulation._quiesce),
}
#: The actions a fault is injected into.
_FAULTED: Final = (
    "checkout",
    "retry",
    "confirm",
    "capture",
    "refund",
    "void",
    "cancel",
    "ship",
    "sweep",
    "webhook",
)


def simulate(
    target: str | Store,
    seed: int,
    steps: int,
    *,
    checks: Sequence[Check] = (),
) -> Report:
    """Drive a store through ``steps`` random steps chosen by ``seed``, checking the
    invariants after each, then settle everything and check that all is all or
    nothing.

    :param target: a storage URL (a fresh store is opened on it and closed after;
        the database must be empty), or a store from :func:`simulation_store` (or
        any store on a :class:`FixedClock` with a :class:`TestPaymentGateway` named
        ``test`` and no catalogue yet).
    :param checks: more checks to run after every step, besides :data:`STEP_CHECKS`.
    :raises InvariantBroken: with the trace, when a check finds a problem or a step
        fails with anything but a refusal or an injected crash.
    """
    if isinstance(target, Store):
        url = shown_url(target.config.url)
        return _Simulation(target, seed, steps, url, checks).run()
    with simulation_store(target, seed) as store:
        return _Simulation(store, seed, steps, shown_url(target), checks).run()


# --- the command line --------------------------------------------------------------


@contextlib.contextmanager
def fresh_url(url: str) -> Iterator[str]:
    """A URL to an empty database for one run: ``memory://`` as it is, ``sqlite`` a
    new file in a temporary folder, a PostgreSQL URL a new schema (dropped after);
    any other URL as it is (it must be empty)."""
    if url == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'simulation.db'}"
    elif url.startswith("postgresql"):
        with _fresh_schema(url) as scoped:
            yield scoped
    else:
        yield url


@contextlib.contextmanager
def _fresh_schema(url: str) -> Iterator[str]:
    import sqlalchemy as sa

    schema = f"ck_sim_{secrets.token_hex(6)}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()


def _run_one(url: str, seed: int, steps: int) -> Report:
    with fresh_url(url) as fresh, simulation_store(fresh, seed) as store:
        return _Simulation(store, seed, steps, url, ()).run()


@attrs.frozen
class _Failure:
    """A failed seed, as a worker process hands it back."""

    seed: int
    step: int
    problem: str
    replay: str
    text: str


def _outcome(url: str, steps: int, seed: int) -> Report | _Failure:
    try:
        return _run_one(url, seed, steps)
    except InvariantBroken as broken:
        return _Failure(broken.seed, broken.step, broken.problem, broken.replay, str(broken))


def _euros(units: int) -> str:
    return f"{Decimal(units) / 100:,.2f}"


def _table(url: str, reports: Sequence[Report], failures: int, seconds: float) -> str:
    seeds = len(reports) + failures
    header = ["storage", "seeds", "failed", "steps", "orders", "captured", "refunded"]
    header += ["faults", "crashes", "timeouts", "refusals", "time", "per seed"]
    row = [
        shown_url(url),
        str(seeds),
        str(failures),
        str(sum(r.steps for r in reports)),
        str(sum(r.orders for r in reports)),
        _euros(sum(r.captured_units for r in reports)),
        _euros(sum(r.refunded_units for r in reports)),
        str(sum(r.faults_armed for r in reports)),
        str(sum(r.crashes for r in reports)),
        str(sum(r.timeouts for r in reports)),
        str(sum(sum(r.refusals.values()) for r in reports)),
        f"{seconds:.1f}s",
        f"{seconds / max(seeds, 1):.3f}s",
    ]
    widths = [max(len(a), len(b)) for a, b in zip(header, row, strict=True)]
    lines = [
        "  ".join(cell.rjust(width) for cell, width in zip(cells, widths, strict=True))
        for cells in (header, row)
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``--seed N`` replays one seed and prints its trace; ``--seeds N`` runs seeds
    ``first .. first + N - 1`` and prints a summary table. Exit status 1 when an
    invariant broke."""
    parser = argparse.ArgumentParser(
        prog="python -m commercekit.testing.simulate", description=__doc__.split("\n\n")[0]
    )
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--seed", type=int, help="replay one seed, printing its trace")
    chosen.add_argument("--seeds", type=int, help="run this many seeds")
    parser.add_argument("--first", type=int, default=0, help="the first seed of --seeds")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=1, help="run seeds in this many processes")
    parser.add_argument(
        "--url",
        default="memory://",
        help="memory:// (default), 'sqlite' (a new file per seed), or a PostgreSQL URL "
        "(a new schema per seed)",
    )
    args = parser.parse_args(argv)
    if args.seed is not None:
        return _replay(args.url, args.seed, args.steps)
    seeds = range(args.first, args.first + args.seeds)
    return _many(args.url, seeds, args.steps, jobs=args.jobs)


def _replay(url: str, seed: int, steps: int) -> int:
    try:
        report = _run_one(url, seed, steps)
    except InvariantBroken as broken:
        print(broken)
        return 1
    print("\n".join(report.trace))
    print(_table(url, [report], 0, report.seconds))
    print("refusals:", ", ".join(f"{code} {n}" for code, n in report.refusals.items()))
    return 0


def _many(url: str, seeds: Sequence[int], steps: int, *, jobs: int = 1) -> int:
    started = time.perf_counter()
    run = functools.partial(_outcome, url, steps)
    reports: list[Report] = []
    failed: list[_Failure] = []
    with contextlib.ExitStack() as stack:
        if jobs > 1:
            outcomes = stack.enter_context(ProcessPoolExecutor(jobs)).map(run, seeds)
        else:
            outcomes = map(run, seeds)
        for outcome in outcomes:
            if isinstance(outcome, Report):
                reports.append(outcome)
                continue
            failed.append(outcome)
            print(f"seed {outcome.seed} FAILED at step {outcome.step}: {outcome.problem}")
            print(f"  replay: {outcome.replay}")
    print(_table(url, reports, len(failed), time.perf_counter() - started))
    if failed:
        print(f"\nthe first failure in full:\n{failed[0].text}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
