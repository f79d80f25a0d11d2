"""The whole-store simulation: a bounded number of seeds on memory, a SQLite file
and PostgreSQL, each checked after every step; the same seed replays the same trace
(on every storage); and a broken invariant names its seed and replays to the same
failure.

More seeds, longer: ``python -m commercekit.testing.simulate --seeds 1000 --steps 200``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.store import Store
from commercekit.testing.simulate import (
    InvariantBroken,
    Report,
    Snapshot,
    main,
    simulate,
    simulation_store,
)
from tests.conftest import fresh_postgres_schema

STEPS = 60


def assert_ran(report: Report, seed: int) -> None:
    assert report.seed == seed
    assert len(report.trace) == STEPS + 1  # and the settling at the end
    assert report.trace[-1].split()[1] == "settle"


@pytest.mark.parametrize("seed", range(20))
def test_memory_holds_every_invariant(seed: int) -> None:
    assert_ran(simulate("memory://", seed, STEPS), seed)


# A SQLite file commits durably: a seed takes some seconds, so fewer run here.
@pytest.mark.parametrize("seed", range(10))
def test_a_sqlite_file_holds_every_invariant_and_agrees_with_memory(
    seed: int, tmp_path: Path
) -> None:
    report = simulate(f"sqlite:///{tmp_path / 'shop.db'}", seed, STEPS)
    assert_ran(report, seed)
    # The domain decides, storage only stores: the same steps come out the same.
    assert report.trace == simulate("memory://", seed, STEPS).trace


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_schema() as url:
        yield url


@pytest.mark.parametrize("seed", range(3))
def test_postgresql_holds_every_invariant_and_agrees_with_memory(
    seed: int, postgres_url: str
) -> None:
    report = simulate(postgres_url, seed, STEPS)
    assert_ran(report, seed)
    assert report.trace == simulate("memory://", seed, STEPS).trace


def test_the_same_seed_gives_the_same_trace() -> None:
    first, second = simulate("memory://", 11, STEPS), simulate("memory://", 11, STEPS)
    assert first.trace == second.trace
    assert (first.orders, first.captured_units, first.refusals) == (
        second.orders,
        second.captured_units,
        second.refusals,
    )
    assert first.trace != simulate("memory://", 12, STEPS).trace


def test_a_run_does_what_a_shop_does() -> None:
    reports = [simulate("memory://", seed, STEPS) for seed in range(5)]
    trace = "\n".join(line for report in reports for line in report.trace)
    for happening in ("checkout", "capture", "refund", "webhook", "sweep", "crash (", "clock +"):
        assert happening in trace
    assert sum(r.orders for r in reports) >= 10
    assert sum(r.captured_units for r in reports) > 0
    assert sum(r.crashes for r in reports) > 0


# --- a failure is reported with what replays it -----------------------------------


def never_refund(snapshot: Snapshot) -> Iterator[str]:
    """A deliberately wrong invariant: no payment is ever refunded."""
    for state in snapshot.orders:
        if state.payment is not None and state.payment.refunded_units:
            yield f"order {state.order.id} was refunded"


def test_a_broken_invariant_replays_to_the_same_failure() -> None:
    with pytest.raises(InvariantBroken) as caught:
        simulate("memory://", 4, 200, checks=[never_refund])
    broken = caught.value
    assert broken.seed == 4
    assert broken.problem.startswith("never_refund: order ")
    assert len(broken.trace) == broken.step  # one line a step, up to the failure
    assert f"--seed 4 --steps {broken.step} --url memory://" in str(broken)
    with pytest.raises(InvariantBroken) as replayed:
        simulate("memory://", 4, broken.step, checks=[never_refund])
    assert (replayed.value.step, replayed.value.problem) == (broken.step, broken.problem)
    assert replayed.value.trace == broken.trace


def test_an_unexpected_error_is_a_failure_with_its_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_capture(*args: object) -> None:
        raise RuntimeError("the adapter has a bug")

    monkeypatch.setattr(TestPaymentGateway, "capture", broken_capture)
    with simulation_store("memory://", 1) as store, pytest.raises(InvariantBroken) as caught:
        simulate(store, 1, 200)
    assert "unexpected RuntimeError: the adapter has a bug" in caught.value.problem
    assert caught.value.trace[-1].endswith("-> unexpected RuntimeError")


def test_only_a_store_it_can_drive_is_simulated() -> None:
    with Store.open("memory://") as store, pytest.raises(ValueError, match="FixedClock"):
        simulate(store, 1, 10)


# --- the command ------------------------------------------------------------------


def test_the_command_replays_one_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "3", "--steps", "20"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == simulate("memory://", 3, 20).trace[0]
    assert "per seed" in printed


def test_the_command_runs_many_seeds_into_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "3", "--steps", "15", "--first", "7"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["storage", "seeds", "failed"]
    assert row.split()[:3] == ["memory://", "3", "0"]
