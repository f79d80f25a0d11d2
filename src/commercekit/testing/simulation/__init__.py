"""The whole-store simulation, one concern a module; its public API is
:mod:`commercekit.testing.simulate`.

- :mod:`.world`: the simulated store, its catalogue and its deterministic ids;
- :mod:`.books`: what the test gateway did, from its own record;
- :mod:`.invariants`: what the checks see (:class:`~.invariants.Snapshot`) and the
  checks;
- :mod:`.observe`: reading the store into a snapshot after each step;
- :mod:`.state`: one run's state, and what its steps share (picking an order,
  webhooks, the sweep, settling);
- :mod:`.actions`: the steps a run chooses from, and how often;
- :mod:`.run`: taking the steps, checking, the report and the failure;
- :mod:`.databases` and :mod:`.cli`: the command line.
"""

from __future__ import annotations
