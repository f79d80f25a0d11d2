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

import sys

from commercekit.testing.simulation.books import Account, gateway_books
from commercekit.testing.simulation.cli import main
from commercekit.testing.simulation.invariants import (
    SETTLED_CHECKS,
    STEP_CHECKS,
    Check,
    OrderState,
    Snapshot,
)
from commercekit.testing.simulation.run import InvariantBroken, Report, simulate
from commercekit.testing.simulation.world import (
    SequentialIds,
    simulation_config,
    simulation_store,
)

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

if __name__ == "__main__":
    sys.exit(main())
