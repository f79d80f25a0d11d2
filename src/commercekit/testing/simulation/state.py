"""One run's state over one store, and what its steps share: choosing an order and
an amount, placing an order, the gateway's webhooks, the sweep, and settling."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from typing import Final

import attrs

from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.errors import CommerceError
from commercekit.domain.payments import GatewayEvent
from commercekit.services.recovery import SweepReport
from commercekit.store import Store
from commercekit.testing.faults import Armed
from commercekit.testing.simulation.books import gateway_answers
from commercekit.testing.simulation.invariants import OrderState, Snapshot
from commercekit.testing.simulation.observe import Observer
from commercekit.testing.simulation.world import GATEWAY, PAST_EVERY_TIMEOUT, PAYMENT_TOKENS

#: How many rounds of webhooks and sweeps settling may take at most.
_SETTLING_ROUNDS: Final = 5

#: A planned step: what it does, in words, and doing it (its outcome, in words).
Plan = tuple[str, Callable[[], str]]


@attrs.define
class Cart:
    token: str
    cart_id: str
    customer: str
    payment_token: str = ""
    key: str = ""
    """The idempotency key its checkout was placed with, once it was."""


@attrs.define
class Operation:
    """A capture or refund asked with an idempotency key, to ask again."""

    kind: str
    order_id: str
    units: int | None
    key: str


class RunState:
    """One seeded run over one store: what it did so far and what it knows."""

    def __init__(self, store: Store, seed: int) -> None:
        clock = store.runtime.clock
        gateway = store.runtime.gateways.get(GATEWAY)
        if not isinstance(clock, FixedClock) or not isinstance(gateway, TestPaymentGateway):
            raise ValueError(
                "simulate a store on a FixedClock with a TestPaymentGateway named 'test' "
                "(see simulation_store)"
            )
        self.store, self.clock, self.gateway = store, clock, gateway
        self.random = random.Random(seed)
        self.observer = Observer(store, clock, gateway)
        self.carts: list[Cart] = []
        self.operations: list[Operation] = []
        self.outbox: list[GatewayEvent] = []
        """Gateway facts waiting to be delivered as webhooks (the gateway resends
        until one is taken)."""
        self.sent: set[str] = set()
        self.completed: list[GatewayEvent] = []
        """Actions completed on the gateway's page, as the gateway reported them."""
        self.received: dict[str, int] = {}
        self.timeouts = self.faults_armed = 0
        self.counter = 0
        self.snapshot: Snapshot | None = None
        self.armed: Armed | None = None

    def observe(self, step: int) -> Snapshot:
        """Read the store after ``step`` (see :meth:`Observer.observe`)."""
        self.snapshot = self.observer.observe(
            step,
            completed=self.completed,
            received=self.received,
            webhooks_waiting=len(self.outbox),
        )
        return self.snapshot

    # --- choosing -------------------------------------------------------------------

    def pick(self, wanted: Callable[[OrderState], bool]) -> OrderState | None:
        """An order the step makes sense for mostly, now and then any (to be refused)."""
        states = [] if self.snapshot is None else list(self.snapshot.orders)
        fitting = [state for state in states if wanted(state)]
        choices = states if self.random.random() < 0.15 else fitting
        return self.random.choice(choices) if choices else None

    def amount(self, left: int) -> int | None:
        """All (``None``), part of ``left``, or now and then more than ``left``."""
        roll = self.random.random()
        if roll < 0.4 or left <= 0:
            return None
        if roll < 0.85:
            return self.random.randint(1, left)
        return left + self.random.randint(1, 2000)

    def payment_token(self) -> str:
        """One of the test gateway's tokens, as often as customers pay with it."""
        return self.random.choices(list(PAYMENT_TOKENS), list(PAYMENT_TOKENS.values()))[0]

    def new_key(self, kind: str) -> str:
        """A new idempotency key for ``kind`` (``checkout-12``)."""
        self.counter += 1
        return f"{kind}-{self.counter}"

    # --- doing ----------------------------------------------------------------------

    def place(self, cart: Cart) -> str:
        """Place the cart's order with its idempotency key."""
        self.observer.tried.append(cart.key)
        order = self.store.checkout.place_order(cart.token, idempotency_key=cart.key)
        self.observer.keys.setdefault(cart.key, []).append(order.id)
        return f"{order.id} {order.status.value}"

    def collect_webhooks(self) -> None:
        """Every fact the gateway answered is also sent as a webhook, later."""
        answers = [event for _, event in gateway_answers(self.gateway)]
        for event in [*answers, *self.completed]:
            if event is not None and event.transaction_id not in self.sent:
                self.sent.add(event.transaction_id)
                self.outbox.append(event)

    def sweep_once(self) -> SweepReport:
        """Release expired holds and sweep, as a periodic job does; note what the sweep
        changed and did not report, and what failed unexpectedly."""
        self.store.inventory.release_expired_reservations()
        observer = self.observer
        before = observer.versions()
        report = self.store.recovery.sweep()
        reported = {order_id for order_id, _ in report.failed}
        reported.update(*swept(report).values())
        for order_id, version in observer.versions().items():
            if before.get(order_id) != version and order_id not in reported:
                observer.sweep_problems.append(f"the sweep changed order {order_id} and never said")
        observer.sweep_problems.extend(
            f"the sweep failed on order {order_id}: {what}"
            for order_id, what in report.failed
            if what.startswith("unexpected")
        )
        return report

    def settle_everything(self) -> str:
        """Move the clock past every timeout, then deliver every webhook and sweep
        until nothing is left to do."""
        self.observer.touch_all()
        self.clock.advance(PAST_EVERY_TIMEOUT)
        rounds = 0
        while rounds < _SETTLING_ROUNDS:
            rounds += 1
            delivered = self._deliver_all()
            report = swept(self.sweep_once())
            if not delivered and not any(report.values()) and not self.outbox:
                break
        self.store.deliver_events()
        return f"settled in {rounds} rounds"

    def _deliver_all(self) -> int:
        """Deliver every waiting webhook, oldest first; one out of order waits for the
        next round."""
        self.collect_webhooks()
        delivered = 0
        for event in list(self.outbox):
            body, signature = self.gateway.webhook([event], sent_at=self.clock.now())
            with contextlib.suppress(CommerceError):
                self.store.payments.handle_webhook(GATEWAY, body, signature)
                self.outbox.remove(event)
                delivered += 1
        return delivered


def swept(report: SweepReport) -> dict[str, tuple[str, ...]]:
    """The orders a sweep reports, by what it did to them."""
    return {
        "settled": report.settled,
        "cancelled": report.cancelled,
        "given back": report.given_back,
        "resolved": report.resolved,
        "released": report.released,
        "failed": tuple(order_id for order_id, _ in report.failed),
    }
