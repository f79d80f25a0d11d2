"""Taking a run's steps: each chosen and carried out, its outcome a line of the
trace, the checks after it; then everything settled and checked once more. What a
run did is its :class:`Report`; a check that fails, or a step that fails with
anything but a refusal or an injected crash, raises :class:`InvariantBroken`."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import attrs

from commercekit.adapters.storage.urls import shown_url
from commercekit.domain.errors import CommerceError
from commercekit.store import Store
from commercekit.testing.faults import Crash, inject
from commercekit.testing.simulation.actions import choose
from commercekit.testing.simulation.books import gateway_books
from commercekit.testing.simulation.invariants import SETTLED_CHECKS, STEP_CHECKS, Check
from commercekit.testing.simulation.state import Plan, RunState
from commercekit.testing.simulation.world import seed_catalogue, simulation_store


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


class Simulation:
    """One seeded run over one store (see :func:`simulate`).

    :param url: the store's URL as the report and the replay command show it.
    """

    def __init__(
        self, store: Store, seed: int, steps: int, url: str, checks: Sequence[Check] = ()
    ) -> None:
        self.state = RunState(store, seed)
        self.seed, self.steps, self.url = seed, steps, url
        self.checks = (*STEP_CHECKS, *checks)
        self.trace: list[str] = []
        self.refusals: Counter[str] = Counter()
        self.crashes = 0

    def run(self) -> Report:
        """Seed the store, take the steps, settle, and report."""
        started = time.perf_counter()
        state = self.state
        manager = state.store.plugins.manager
        manager.register(state.observer.subscriber)
        try:
            state.received = seed_catalogue(state.store)
            with inject(state.store) as armed:
                state.armed = armed
                state.observe(0)
                for step in range(1, self.steps + 1):
                    name, plan = choose(state)
                    self._carry_out(step, plan)
                    settled = SETTLED_CHECKS if name == "quiesce" else ()
                    self._check(step, (*self.checks, *settled))
                # Let everything finish: faults disarmed, the clock past every
                # timeout, every webhook delivered, the sweep run until it has
                # nothing left to do.
                armed.disarm()
                self._carry_out(self.steps + 1, ("settle", state.settle_everything))
                self._check(self.steps + 1, (*self.checks, *SETTLED_CHECKS))
        finally:
            manager.unregister(state.observer.subscriber)
        return self._report(time.perf_counter() - started)

    def _carry_out(self, step: int, plan: Plan) -> None:
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
            self.state.collect_webhooks()
        self.trace.append(f"{step:5d} {description} -> {outcome}")

    def _check(self, step: int, checks: Iterable[Check]) -> None:
        snapshot = self.state.observe(step)
        for check in checks:
            problems = list(check(snapshot))
            if problems:
                name = getattr(check, "__name__", "check")
                raise self._broken(step, f"{name}: {'; '.join(problems)}")

    def _broken(self, step: int, problem: str) -> InvariantBroken:
        return InvariantBroken(
            seed=self.seed,
            step=step,
            steps=self.steps,
            url=self.url,
            problem=problem,
            trace=self.trace,
        )

    def _report(self, seconds: float) -> Report:
        state = self.state
        books = gateway_books(state.gateway, state.completed)
        return Report(
            seed=self.seed,
            steps=self.steps,
            url=self.url,
            orders=0 if state.snapshot is None else len(state.snapshot.orders),
            captured_units=sum(a.captured for a in books.values()),
            refunded_units=sum(a.refunded for a in books.values()),
            faults_armed=state.faults_armed,
            crashes=self.crashes,
            timeouts=state.timeouts,
            refusals=dict(sorted(self.refusals.items())),
            seconds=seconds,
            trace=tuple(self.trace),
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
        return Simulation(target, seed, steps, shown_url(target.config.url), checks).run()
    with simulation_store(target, seed) as store:
        return Simulation(store, seed, steps, shown_url(target), checks).run()
