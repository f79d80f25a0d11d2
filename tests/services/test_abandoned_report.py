"""The ``abandoned_carts`` report on a small shop whose figures are worked out by hand,
on memory, a SQLite file and PostgreSQL (when there is one).

The shop of ``tests/services/test_abandoned_carts.py`` (mugs at 12.00 without tax,
German VAT 19%, shipping 4.90 untaxed, the recovery coupon KITCHEN: 10% off
kitchen goods), reminding after an hour of idleness, at most twice, a day apart. The
period is Friday 27 and Saturday 28 November 2026 (UTC); on Friday at 9:00:

- Zoë leaves two mugs behind. Reminded at 10:00, she opens her cart through the
  link at 13:00 (the coupon goes on) and orders it, paid: 24.00 - 2.40 = 21.60, VAT
  4.10, with shipping 30.60, recovered in EUR.
- Ada leaves two mugs behind too: reminded at 10:00 and again on Saturday at 10:00,
  she never comes back.
- Bob gives his email and orders at once: watched, never reminded (his order was
  not brought back by a reminder, so it does not count).
- Cleo has no email on her cart: nobody can be reminded, nothing is watched.
- On Sunday, outside the period, Max leaves a cart behind.

So the carts whose recovery is not an order (``""``) are Ada's and Bob's: 2 carts,
1 reminded, 2 reminders, none restored; in EUR, Zoë's: 1 cart, reminded once,
restored, 1 order, 30.60. Of the 3 carts watched, 2 were reminded (a third in each
row), and of those 2, 1 was recovered (half, in EUR).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

import pytest

from commercekit.adapters.clock import FixedClock
from commercekit.store import Store
from tests.services.bringing_back import Outbox, backends, opened, token_in
from tests.services.conftest import START
from tests.services.test_abandoned_carts import carts_config, check_out, left_behind, stocked

SINCE: Final = datetime(2026, 11, 27, tzinfo=UTC)
UNTIL: Final = datetime(2026, 11, 29, tzinfo=UTC)
ZOE, ADA, BOB, MAX = "zoe@example.com", "ada@example.com", "bob@example.com", "max@example.com"
D = Decimal


def reminded_shop(shop: Store, clock: FixedClock, outbox: Outbox) -> None:
    """The shop of the module's docstring, from Friday 9:00 on ``clock``."""
    stocked(shop)
    left_behind(shop, ZOE)
    left_behind(shop, ADA)
    bob = left_behind(shop, BOB)
    check_out(shop, bob.token, "bob-at-once")
    cleo = shop.carts.create("EUR")
    shop.carts.add(cleo.token, "RETRO-MUG", 1)

    clock.advance(timedelta(hours=1))
    assert shop.abandoned_carts.sweep() == 2
    clock.advance(timedelta(hours=3))
    (reminder,) = outbox.to(ZOE)
    restored = shop.abandoned_carts.restore(token_in(reminder))
    check_out(shop, restored.token, "zoe-came-back")

    clock.advance(timedelta(hours=21))
    assert shop.abandoned_carts.sweep() == 1  # Ada's second; Zoë's cart is an order
    clock.advance(timedelta(days=1))
    left_behind(shop, MAX)


@pytest.fixture(scope="module", params=backends())
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    clock, outbox = FixedClock(START), Outbox()
    directory = tmp_path_factory.mktemp("abandoned")
    with opened(request.param, directory, outbox, clock=clock, config=carts_config()) as shop:
        reminded_shop(shop, clock, outbox)
        yield shop


def test_the_carts_of_the_period_by_the_currency_they_were_recovered_in(store: Store) -> None:
    table = store.reports.run("abandoned_carts", since=SINCE, until=UNTIL)
    assert table.names == [
        "currency",
        "carts",
        "carts_reminded",
        "reminders",
        "carts_restored",
        "orders_recovered",
        "revenue",
        "reminded_share",
        "recovered_share",
    ]
    assert table.rows == (
        ("", 2, 1, 2, 0, 0, None, D("0.3333"), D("0.0000")),
        ("EUR", 1, 1, 1, 1, 1, D("30.60"), D("0.3333"), D("0.5000")),
    )


def test_the_report_agrees_with_the_running_totals_of_reminders(store: Store) -> None:
    # Every cart reminded so far was watched in the period.
    table = store.reports.run("abandoned_carts", since=SINCE, until=UNTIL)
    totals = store.abandoned_carts.report()

    def total(column: str) -> int:
        return sum(value for value in table.column(column) if isinstance(value, int))

    assert (total("carts_reminded"), total("reminders"), total("carts_restored")) == (
        totals.carts_reminded,
        totals.reminders,
        totals.carts_restored,
    )
    assert total("orders_recovered") == totals.orders_recovered
    assert totals.revenue == {"EUR": 3060}


def test_a_cart_counts_in_the_period_its_recovery_began(store: Store) -> None:
    sunday = store.reports.run("abandoned_carts", since=UNTIL, until=UNTIL + timedelta(days=1))
    assert sunday.rows == (("", 1, 0, 0, 0, 0, None, D("0.0000"), None),)
    before = store.reports.run("abandoned_carts", since=SINCE - timedelta(days=7), until=SINCE)
    assert before.rows == ()
