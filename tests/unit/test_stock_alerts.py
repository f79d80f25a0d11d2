"""Back-in-stock alerts, as the domain decides them: first come first served, never
more shoppers told than there are units no one was promised (unless the store says
everyone), each alert told once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.marketing.stock_alerts import (
    MAX_WAITING,
    AlertPolicy,
    AlertQueue,
    AlertStatus,
    StockAlert,
    choose,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CAPPED = AlertPolicy(hold=timedelta(hours=24))
EVERYONE = AlertPolicy(everyone=True)


def alert(number: int, email: str | None = None) -> StockAlert:
    address = email or f"shopper{number}@example.com"
    return StockAlert(
        id=f"alert-{number}",
        sku="RETRO-CLOCK",
        number=number,
        email=address,
        email_key=address,
        subscribed_at=NOW,
    )


def test_the_earliest_are_told_as_many_as_there_are_units() -> None:
    waiting = [alert(3), alert(1), alert(2), alert(4)]

    told = choose(waiting, available=2, promised=0, policy=CAPPED)

    assert [a.number for a in told] == [1, 2]


def test_units_promised_to_those_told_before_are_not_offered_again() -> None:
    waiting = [alert(3), alert(4), alert(5)]

    assert choose(waiting, available=3, promised=2, policy=CAPPED) == [waiting[0]]
    assert choose(waiting, available=2, promised=2, policy=CAPPED) == []
    assert choose(waiting, available=1, promised=5, policy=CAPPED) == []


def test_a_store_may_tell_everyone_at_once_but_never_without_stock() -> None:
    waiting = [alert(2), alert(1)]

    assert [a.number for a in choose(waiting, available=1, promised=9, policy=EVERYONE)] == [1, 2]
    assert choose(waiting, available=0, promised=0, policy=EVERYONE) == []
    assert choose(waiting, available=-3, promised=0, policy=CAPPED) == []


def test_an_alert_is_told_once_and_its_promise_lapses_or_is_bought() -> None:
    first, second = alert(1), alert(2)
    first.notify(key="back_in_stock:alert-1", at=NOW, policy=CAPPED)
    second.notify(key="back_in_stock:alert-2", at=NOW, policy=CAPPED)

    with pytest.raises(InvalidTransition):
        first.notify(key="again", at=NOW, policy=CAPPED)
    assert first.promising(NOW + timedelta(hours=23))
    assert not first.lapse(NOW + timedelta(hours=23))
    assert first.lapse(NOW + timedelta(hours=24))
    assert second.bought(at=NOW + timedelta(hours=1))
    assert (first.status, second.status) == (AlertStatus.LAPSED, AlertStatus.BOUGHT)
    assert not second.bought(at=NOW)
    assert not first.cancel(at=NOW)


def test_the_index_finds_an_alert_by_sku_address_and_state() -> None:
    waiting = alert(1, "zoe@example.com")
    index = waiting.index()

    assert (index.ref, index.owner, index.state, index.due) == (
        "RETRO-CLOCK",
        "zoe@example.com",
        "waiting",
        None,
    )
    waiting.notify(key="k", at=NOW, policy=CAPPED)
    assert waiting.index().due == NOW + timedelta(hours=24)


def test_a_queue_numbers_shoppers_in_order_and_counts_those_waiting() -> None:
    queue = AlertQueue.open("RETRO-CLOCK", at=NOW)

    assert [queue.join() for _ in range(3)] == [1, 2, 3]
    queue.left(2)
    assert (queue.waiting, queue.index().state) == (1, "waiting")
    queue.left(5)
    assert (queue.waiting, queue.index().state) == (0, "idle")


def test_a_queue_holds_so_many_at_most() -> None:
    queue = AlertQueue.open("RETRO-CLOCK", at=NOW)
    queue.waiting = MAX_WAITING

    with pytest.raises(InvalidInput) as caught:
        queue.join()
    assert caught.value.field == "sku"


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


@given(operations=operations, everyone=st.booleans())
def test_told_shoppers_never_outnumber_the_units_and_come_in_order(
    operations: list[tuple[str, int]], everyone: bool
) -> None:
    """A store's life: shoppers subscribe, stock arrives, those told buy (each one
    unit) or not, hours pass; after every change the store tells whom it may."""
    policy = AlertPolicy(everyone=everyone, hold=timedelta(hours=24))
    now, stock, numbers = NOW, 0, 0
    alerts: list[StockAlert] = []
    told_order: list[int] = []
    for kind, amount in operations:
        if kind == "subscribe":
            for _ in range(amount):
                numbers += 1
                alerts.append(alert(numbers))
        elif kind == "receive":
            stock += amount
        elif kind == "wait":
            now += timedelta(hours=amount)
        else:
            buyers = [a for a in alerts if a.promising(now)][:amount]
            for buyer in buyers:
                if stock > 0:
                    stock -= 1
                    buyer.bought(at=now)
        for each in alerts:
            each.lapse(now)
        promised = sum(1 for each in alerts if each.promising(now))
        waiting = [a for a in alerts if a.status is AlertStatus.WAITING]
        chosen = choose(waiting, available=stock, promised=promised, policy=policy)
        for each in chosen:
            each.notify(key=each.id, at=now, policy=policy)
            told_order.append(each.number)
        if not everyone:
            assert sum(1 for each in alerts if each.promising(now)) <= max(stock, promised)
            assert len(chosen) <= max(0, stock - promised)
    assert told_order == sorted(told_order)
    assert len(told_order) == len(set(told_order))
