"""The steps a run chooses from (:data:`ACTIONS`: a weight, and a function that plans
one step): customers fill carts and check out, staff take and give back money and
fulfil orders, webhooks arrive, the clock moves, the sweep runs, stock arrives, and
faults are injected into other steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Final

from commercekit.testing.faults import Fault, Point
from commercekit.testing.simulation import customers, staff
from commercekit.testing.simulation.state import Plan, RunState, swept
from commercekit.testing.simulation.world import CATALOGUE, GATEWAY, LOCATIONS


def _webhook(run: RunState) -> Plan | None:
    """Deliver some waiting gateway facts: now and then one twice in a delivery, or
    kept to be delivered again later, or stale."""
    if not run.outbox:
        return None
    count = min(len(run.outbox), run.random.randint(1, 3))
    batch = run.random.sample(run.outbox, count)
    if run.random.random() < 0.3:
        batch.append(run.random.choice(batch))  # the same fact twice in one delivery
    stale = run.random.random() < 0.05
    keep = run.random.random() < 0.3  # delivered again later: a duplicate

    def act() -> str:
        run.observer.touch_all()
        sent_at = run.clock.now() - (timedelta(minutes=10) if stale else timedelta())
        body, signature = run.gateway.webhook(batch, sent_at=sent_at)
        result = run.store.payments.handle_webhook(GATEWAY, body, signature)
        if not keep:
            for event in batch:
                if event in run.outbox:
                    run.outbox.remove(event)
        return f"applied {result.applied}, duplicates {result.duplicates}"

    names = " ".join(f"{e.kind.value}:{e.status.value}:{e.transaction_id}" for e in batch)
    return f"webhook{' (stale)' if stale else ''} {names}", act


def _advance(run: RunState) -> Plan:
    minutes = run.random.choice([1, 2, 5, 10, 16, 30])

    def act() -> str:
        run.clock.advance(timedelta(minutes=minutes))
        return run.clock.now().strftime("%H:%M")

    return f"clock +{minutes} min", act


def _sweep(run: RunState) -> Plan:
    def act() -> str:
        run.observer.touch_all()
        parts = swept(run.sweep_once()).items()
        return ", ".join(f"{name} {len(ids)}" for name, ids in parts if ids) or "nothing"

    return "sweep", act


def _receive(run: RunState) -> Plan:
    sku = run.random.choice([sku for sku, spec in CATALOGUE.items() if not spec[3]])
    location = run.random.choice(LOCATIONS)
    quantity = run.random.randint(2, 8)

    def act() -> str:
        run.store.inventory.receive(sku, location, quantity, reference="restock")
        run.received[sku] = run.received.get(sku, 0) + quantity
        return str(run.store.inventory.available(sku))

    return f"receive {sku} {location} {quantity}", act


def _fault(run: RunState) -> Plan | None:
    """Another step (one of :data:`_FAULTED`) with a fault armed for its length."""
    point = run.random.choice(list(Point))
    fault = Fault(
        point=point,
        nth=run.random.choice([1, 1, 1, 1, 2, 3]),
        after_gateway=point.at_commit and run.random.random() < 0.6,
        timeout=point.at_gateway and run.random.random() < 0.5,
    )
    inner = ACTIONS[run.random.choice(_FAULTED)][1](run)
    if inner is None:
        return None
    description, act = inner
    run.faults_armed += 1

    def armed_act() -> str:
        armed = run.armed
        assert armed is not None
        armed.arm(fault)
        try:
            outcome = act()
        finally:
            if fault in armed.fired and fault.timeout:
                run.timeouts += 1
            armed.disarm()
        return outcome if fault in armed.fired else f"{outcome} (fault not reached)"

    return f"with {fault}: {description}", armed_act


def _quiesce(run: RunState) -> Plan:
    return "settle", run.settle_everything


#: A function that plans one step, or finds nothing to do (``None``).
Action = Callable[[RunState], Plan | None]
#: Each action's weight (how often it is chosen) and how it plans a step.
ACTIONS: Final[dict[str, tuple[int, Action]]] = {
    "cart": (10, customers.cart),
    "checkout": (12, customers.checkout),
    "retry": (5, customers.retry),
    "confirm": (5, staff.confirm),
    "action_at_gateway": (3, staff.action_at_gateway),
    "capture": (10, lambda run: staff.money(run, "capture")),
    "refund": (6, lambda run: staff.money(run, "refund")),
    "void": (3, staff.void),
    "cancel": (5, staff.cancel),
    "ship": (6, staff.ship),
    "complete": (3, staff.complete),
    "webhook": (8, _webhook),
    "clock": (6, _advance),
    "sweep": (5, _sweep),
    "fault": (10, _fault),
    "receive": (5, _receive),
    "quiesce": (1, _quiesce),
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


def choose(run: RunState) -> tuple[str, Plan]:
    """The next step: an action chosen by weight, and its plan (a new cart when the
    action finds nothing to do)."""
    names = list(ACTIONS)
    weights = [weight for weight, _ in ACTIONS.values()]
    name = run.random.choices(names, weights)[0]
    return name, ACTIONS[name][1](run) or customers.cart(run)
