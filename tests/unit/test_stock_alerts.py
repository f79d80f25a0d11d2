"""Back-in-stock alerts, as the domain decides them: first come first served (by the
time asked, then the id), never more addresses told than there are units no one was
promised (unless the store says everyone), each alert told once and an address once
for all its requests; a SKU's queue sleeps only once found empty twice, a settling
time apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.errors import InvalidTransition
from commercekit.domain.marketing.stock_alerts import (
    SETTLE,
    AlertPolicy,
    AlertQueue,
    AlertStatus,
    StockAlert,
    choose,
    in_line,
    kept,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CAPPED = AlertPolicy(hold=timedelta(hours=24))
EVERYONE = AlertPolicy(everyone=True)


def alert(
    number: int, email: str | None = None, *, customer_id: str | None = None, minute: int = 0
) -> StockAlert:
    """The ``number``-th request of its minute (ids sort in the order asked)."""
    address = email or f"shopper{number}@example.com"
    return StockAlert(
        id=f"alert-{number:03d}",
        sku="RETRO-CLOCK",
        email=address,
        email_key=address,
        customer_id=customer_id,
        subscribed_at=NOW + timedelta(minutes=minute),
    )


def ids(alerts: list[StockAlert]) -> list[str]:
    return [a.id for a in alerts]


def test_the_earliest_are_told_as_many_as_there_are_units() -> None:
    waiting = [alert(3), alert(1), alert(2), alert(4)]

    told = choose(waiting, available=2, promised=0, policy=CAPPED)

    assert ids(told) == ["alert-001", "alert-002"]


def test_the_line_is_by_time_asked_then_by_id() -> None:
    late, early, second = alert(1, minute=5), alert(9, minute=0), alert(10, minute=0)

    assert ids(in_line([late, second, early])) == ["alert-009", "alert-010", "alert-001"]
    early.cancel(at=NOW)
    assert ids(in_line([late, second, early])) == ["alert-010", "alert-001"]


def test_units_promised_to_those_told_before_are_not_offered_again() -> None:
    waiting = [alert(3), alert(4), alert(5)]

    assert choose(waiting, available=3, promised=2, policy=CAPPED) == [waiting[0]]
    assert choose(waiting, available=2, promised=2, policy=CAPPED) == []
    assert choose(waiting, available=1, promised=5, policy=CAPPED) == []


def test_an_address_stands_at_its_earliest_request_and_takes_one_unit_for_all() -> None:
    zoe_first, bo, zoe_again = alert(1, "zoe@x.test"), alert(2, "bo@x.test"), alert(3, "zoe@x.test")

    told = choose([zoe_again, bo, zoe_first], available=1, promised=0, policy=CAPPED)

    assert ids(told) == ["alert-001", "alert-003"]
    for each in told:
        each.notify(key="back_in_stock:alert-001", at=NOW, policy=CAPPED)
    assert kept([zoe_first, bo, zoe_again], NOW) == 1
    assert choose([bo], available=2, promised=1, policy=CAPPED) == [bo]


def test_a_store_may_tell_everyone_at_once_but_never_without_stock() -> None:
    waiting = [alert(2), alert(1)]

    assert ids(choose(waiting, available=1, promised=9, policy=EVERYONE)) == [
        "alert-001",
        "alert-002",
    ]
    assert choose(waiting, available=0, promised=0, policy=EVERYONE) == []
    assert choose(waiting, available=-3, promised=0, policy=CAPPED) == []


def test_an_alert_is_told_once_and_its_promise_lapses_or_is_bought() -> None:
    first, second = alert(1), alert(2)
    first.notify(key="back_in_stock:alert-1", at=NOW, policy=CAPPED)
    second.notify(key="back_in_stock:alert-2", at=NOW, policy=CAPPED)

    with pytest.raises(InvalidTransition):
        first.notify(key="again", at=NOW, policy=CAPPED)
    assert first.promising(NOW + timedelta(hours=23))
    assert kept([first, second], NOW + timedelta(hours=23)) == 2
    assert not first.lapse(NOW + timedelta(hours=23))
    assert first.lapse(NOW + timedelta(hours=24))
    assert second.bought(at=NOW + timedelta(hours=1))
    assert (first.status, second.status) == (AlertStatus.LAPSED, AlertStatus.BOUGHT)
    assert kept([first, second], NOW + timedelta(hours=1)) == 0
    assert not second.bought(at=NOW)
    assert not first.cancel(at=NOW)


def test_the_index_finds_an_alert_by_sku_owner_and_state() -> None:
    waiting = alert(1, "zoe@example.com")
    index = waiting.index()

    assert (index.ref, index.owner, index.state, index.due) == (
        "RETRO-CLOCK",
        "email:zoe@example.com",
        "waiting",
        None,
    )
    waiting.notify(key="k", at=NOW, policy=CAPPED)
    assert waiting.index().due == NOW + timedelta(hours=24)


def test_a_customers_alert_is_keyed_apart_from_a_guests_with_the_same_address() -> None:
    guests = alert(1, "ada@example.com")
    adas = alert(2, "ada@example.com", customer_id="ada")

    assert guests.index().owner == StockAlert.guest_owner("ada@example.com")
    assert adas.index().owner == StockAlert.customer_owner("ada")
    assert guests.index().owner != adas.index().owner


def test_a_queue_is_awake_until_found_empty_twice_a_settling_time_apart() -> None:
    queue = AlertQueue.open("RETRO-CLOCK", at=NOW)
    assert (queue.awake, queue.wake()) == (True, False)

    assert queue.found_empty(NOW)
    assert (queue.awake, queue.asleep, queue.index().state) == (False, False, "waiting")
    assert not queue.found_empty(NOW + SETTLE - timedelta(seconds=1))
    assert queue.found_empty(NOW + SETTLE)
    assert (queue.asleep, queue.index().state) == (True, "idle")
    assert not queue.found_empty(NOW + 2 * SETTLE)


def test_one_who_waits_wakes_a_queue_found_empty_and_the_settling_starts_again() -> None:
    queue = AlertQueue.open("RETRO-CLOCK", at=NOW)
    queue.found_empty(NOW)
    version = queue.version

    assert queue.wake()
    assert (queue.awake, queue.version) == (True, version + 1)
    assert queue.found_empty(NOW + SETTLE)
    assert not queue.asleep
    queue.found_empty(NOW + 2 * SETTLE)
    assert queue.asleep
    assert queue.wake()
    assert queue.index().state == "waiting"


def test_a_decision_that_tells_bumps_the_queue_and_ends_its_settling() -> None:
    queue = AlertQueue.open("RETRO-CLOCK", at=NOW)
    queue.found_empty(NOW)
    version = queue.version

    queue.decided()

    assert (queue.awake, queue.version) == (True, version + 1)


# --- receipts, purchases and time, in any order ---------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("subscribe"), st.integers(1, 3)),
        st.tuples(st.just("receive"), st.integers(1, 5)),
        st.tuples(st.just("buy"), st.integers(1, 3)),
        st.tuples(st.just("wait"), st.integers(1, 30)),
    ),
    max_size=40,
)


@given(operations=operations, everyone=st.booleans(), addresses=st.integers(1, 4))
def test_told_shoppers_never_outnumber_the_units_and_come_in_order(
    operations: list[tuple[str, int]], everyone: bool, addresses: int
) -> None:
    """A store's life: shoppers subscribe (a few addresses, some asking more than
    once), stock arrives, those told buy (each one unit) or not, hours pass; after
    every change the store tells whom it may."""
    policy = AlertPolicy(everyone=everyone, hold=timedelta(hours=24))
    now, stock, numbers = NOW, 0, 0
    alerts: list[StockAlert] = []
    told_order: list[tuple[datetime, str]] = []
    for kind, amount in operations:
        if kind == "subscribe":
            for _ in range(amount):
                numbers += 1
                email = f"shopper{numbers % addresses}@example.com"
                alerts.append(alert(numbers, email, minute=int((now - NOW).total_seconds()) // 60))
        elif kind == "receive":
            stock += amount
        elif kind == "wait":
            now += timedelta(hours=amount)
        else:
            buyers = list({a.notice_key: a for a in alerts if a.promising(now)}.values())
            for buyer in buyers[:amount]:
                if stock > 0:
                    stock -= 1
                    for each in alerts:
                        if each.notice_key == buyer.notice_key:
                            each.bought(at=now)
        for each in alerts:
            each.lapse(now)
        promised = kept(alerts, now)
        waiting = [a for a in alerts if a.status is AlertStatus.WAITING]
        chosen = choose(waiting, available=stock, promised=promised, policy=policy)
        notices = {a.email_key: f"back_in_stock:{a.id}" for a in reversed(chosen)}
        for each in chosen:
            each.notify(key=notices[each.email_key], at=now, policy=policy)
        told_order.extend(a.place for a in chosen if notices[a.email_key].endswith(a.id))
        if not everyone:
            assert kept(alerts, now) <= max(stock, promised)
            assert len(notices) <= max(0, stock - promised)
    assert told_order == sorted(told_order)
    assert len(told_order) == len(set(told_order))
