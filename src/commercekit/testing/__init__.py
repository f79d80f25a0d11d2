"""Test utilities for commercekit and the applications built on it.

- :mod:`commercekit.testing.faults`: make the process die, or the gateway time out,
  at a chosen point (around every gateway call, at a unit of work's commit, between
  commit and event delivery), to prove that recovery brings each case to
  all-or-nothing.
- :mod:`commercekit.testing.simulate`: a seeded, deterministic simulation of a whole
  store (customers, staff, a flaky gateway, webhooks, the clock, crashes and the
  sweep) that checks the store's invariants after every step.
- :mod:`commercekit.testing.conformance`: the rules of the gateway, carrier and
  notifier ports, as pytest classes a plugin author subclasses for their adapter.

Nothing in the library imports this package; it imports the store and the adapters.
"""

from __future__ import annotations
