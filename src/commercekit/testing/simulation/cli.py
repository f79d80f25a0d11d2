"""The command: ``--seed N`` replays one seed and prints its trace; ``--seeds N``
runs many (in processes, with ``--jobs``) into a summary table."""

from __future__ import annotations

import argparse
import contextlib
import functools
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from typing import Final

import attrs

from commercekit.adapters.storage.urls import shown_url
from commercekit.testing.simulation.databases import fresh_url
from commercekit.testing.simulation.run import InvariantBroken, Report, Simulation
from commercekit.testing.simulation.world import simulation_store

#: What the command says it does.
DESCRIPTION: Final = (
    "A whole store, simulated: many customers and staff, a flaky gateway, webhooks "
    "duplicated and out of order, the clock moving, crashes injected, and the sweep, "
    "with the store's invariants checked after every step."
)


def _run_one(url: str, seed: int, steps: int) -> Report:
    with fresh_url(url) as fresh, simulation_store(fresh, seed) as store:
        return Simulation(store, seed, steps, url).run()


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
        prog="python -m commercekit.testing.simulate", description=DESCRIPTION
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
