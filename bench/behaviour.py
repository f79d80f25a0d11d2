"""What recording behaviour costs, and how fast the funnel counts, on SQLite and
PostgreSQL.

- record one: a storefront recording one product view a page, ``product_viewed``
  through the store, one after another (the median and 95th percentile);
- record batches: 100 events a call straight to the log (a worker forwarding a
  queue);
- funnel: ``store.behaviour.funnel`` over all of them (N visitors' events over a
  month), one aggregate query.

PostgreSQL runs when ``COMMERCEKIT_TEST_POSTGRES_URL`` is set (in a schema of its
own, dropped afterwards).

Run: ``python bench/behaviour.py`` (``--events N``, default 100000).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from commercekit.adapters.clock import FixedClock
from commercekit.domain.marketing.behaviour import BehaviourEvent, BehaviourKind
from commercekit.store import Store
from databases import backends, database

START = datetime(2026, 11, 1, tzinfo=UTC)
KINDS = (
    [BehaviourKind.PRODUCT_VIEWED] * 70
    + [BehaviourKind.SEARCHED] * 15
    + [BehaviourKind.ADDED_TO_CART] * 10
    + [BehaviourKind.CHECKOUT_STARTED] * 3
    + [BehaviourKind.ORDER_PLACED] * 2
)


def events(count: int, seed: int = 7) -> list[BehaviourEvent]:
    """``count`` events of ``count // 20`` visitors over 30 days."""
    draw = random.Random(seed)
    visitors = max(1, count // 20)
    return [
        BehaviourEvent(
            kind=draw.choice(KINDS),
            at=START + timedelta(seconds=draw.randrange(30 * 86_400)),
            visitor_id=f"v{draw.randrange(visitors)}",
            product_id=f"p{draw.randrange(500)}",
        )
        for _ in range(count)
    ]


def run(backend: str, folder: Path, count: int) -> dict[str, float]:
    with (
        database(backend, folder) as url,
        Store.open(
            url,
            config={"track_behaviour": True, "entry_point_plugins": False},
            clock=FixedClock(START),
        ) as store,
    ):
        single: list[float] = []
        for n in range(500):
            began = time.perf_counter()
            store.behaviour.product_viewed(f"single-{n % 50}", "p1")
            single.append(time.perf_counter() - began)
        log = store.behaviour._log  # the log itself, as a forwarding worker holds it
        assert log is not None
        batch = events(count)
        began = time.perf_counter()
        for at in range(0, len(batch), 100):
            log.record(batch[at : at + 100])
        batched = time.perf_counter() - began
        counts = []
        for _ in range(3):
            began = time.perf_counter()
            store.behaviour.funnel(since=START, until=START + timedelta(days=31))
            counts.append(time.perf_counter() - began)
        return {
            "one median ms": statistics.median(single) * 1000,
            "one p95 ms": statistics.quantiles(single, n=20)[-1] * 1000,
            "batched events/s": count / batched,
            "funnel ms": min(counts) * 1000,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    arguments = parser.parse_args()
    print(f"{arguments.events:,} events, batches of 100; 500 single views")
    print(f"{'backend':<11} {'one: median':>12} {'p95':>8} {'batched/s':>11} {'funnel':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends():
            found = run(backend, Path(folder), arguments.events)
            print(
                f"{backend:<11} {found['one median ms']:>9.2f} ms {found['one p95 ms']:>5.2f} ms"
                f" {found['batched events/s']:>11,.0f} {found['funnel ms']:>6.0f} ms"
            )


if __name__ == "__main__":
    main()
