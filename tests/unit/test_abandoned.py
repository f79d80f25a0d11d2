"""Abandoned carts, as the domain decides them: which carts are reminded and when,
at most once per interval and never past the limits; which orders count as
recovered; and the signed link that opens a cart again."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.errors import ConfigurationError, InvalidTransition, LinkRejected
from commercekit.domain.marketing.abandoned import (
    CartRecovery,
    CartView,
    RecoveryPolicy,
    RecoveryStatus,
    RecoveryTotals,
    Step,
    read_restore_token,
    restore_token,
)
from commercekit.domain.marketing.campaigns import unsubscribe_token

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SECRET = "a-restore-secret-long-enough-to-be-safe"
OTHER = "another-secret-that-is-long-enough-too"
POLICY = RecoveryPolicy(
    idle=timedelta(hours=1),
    interval=timedelta(hours=24),
    most_notices=2,
    stale_after=timedelta(days=14),
)


def watched() -> CartRecovery:
    return CartRecovery.watch("cart-1", cart_version=3, checkout_version=1, at=START)


def view(**changes: object) -> CartView:
    fields: dict[str, object] = {
        "exists": True,
        "items": 1,
        "cart_version": 3,
        "checkout_version": 1,
        "email": "zoe@example.com",
    }
    fields.update(changes)
    return CartView(**fields)  # type: ignore[arg-type]


# --- when a reminder goes ---------------------------------------------------------------


def test_a_cart_is_reminded_once_idle_for_the_whole_idle_time() -> None:
    recovery = watched()

    early = recovery.decide(view(), now=START + timedelta(minutes=59), policy=POLICY)
    due = recovery.decide(view(), now=START + timedelta(hours=1), policy=POLICY)

    assert (early.step, early.look_again) == (Step.WAIT, START + timedelta(hours=1))
    assert due.step is Step.SEND


def test_a_change_seen_now_starts_the_idle_time_again() -> None:
    recovery = watched()
    now = START + timedelta(hours=5)
    changed = view(cart_version=4)

    decision = recovery.decide(changed, now=now, policy=POLICY)
    recovery.look(changed, decision, now=now)

    assert decision.look_again == now + timedelta(hours=1)
    assert (recovery.seen_at, recovery.cart_version) == (now, 4)
    assert recovery.decide(changed, now=now + timedelta(hours=1), policy=POLICY).step is Step.SEND


def test_reminders_are_at_least_an_interval_apart_and_at_most_so_many() -> None:
    recovery = watched()
    first_at = START + timedelta(hours=2)
    recovery.notify(view(), key="r1", now=first_at, policy=POLICY)

    soon = recovery.decide(view(), now=first_at + timedelta(hours=23), policy=POLICY)
    assert (soon.step, soon.look_again) == (Step.WAIT, first_at + timedelta(hours=24))
    second_at = first_at + timedelta(hours=24)
    recovery.notify(view(), key="r2", now=second_at, policy=POLICY)

    enough = recovery.decide(view(), now=second_at + timedelta(days=3), policy=POLICY)
    assert (enough.step, enough.reason) == (Step.STOP, "reminded")
    assert [n.number for n in recovery.notices] == [1, 2]


def test_a_reminder_not_due_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        watched().notify(view(), key="r1", now=START, policy=POLICY)


@pytest.mark.parametrize(
    ("seen", "step", "reason"),
    [
        (view(exists=False), Step.STOP, "gone"),
        (view(ordered=True), Step.WAIT, "ordered"),
        (view(items=0), Step.WAIT, "empty"),
        (view(email=""), Step.WAIT, "no_email"),
        (view(consent=False), Step.WAIT, "no_consent"),
    ],
)
def test_what_keeps_a_cart_from_its_reminder(seen: CartView, step: Step, reason: str) -> None:
    decision = watched().decide(seen, now=START + timedelta(days=1), policy=POLICY)

    assert (decision.step, decision.reason) == (step, reason)


def test_a_store_that_requires_consent_reminds_only_a_yes() -> None:
    strict = RecoveryPolicy(require_consent=True)
    later = START + timedelta(days=1)

    assert watched().decide(view(), now=later, policy=strict).reason == "no_consent"
    assert watched().decide(view(consent=True), now=later, policy=strict).step is Step.SEND


def test_a_stale_cart_is_let_go_and_watched_again_when_its_shopper_is_back() -> None:
    recovery = watched()
    late = START + timedelta(days=15)
    decision = recovery.decide(view(), now=late, policy=POLICY)
    recovery.look(view(), decision, now=late)

    assert (recovery.status, recovery.closed_reason, recovery.due) == (
        RecoveryStatus.CLOSED,
        "stale",
        None,
    )
    assert recovery.rewatch(cart_version=9, checkout_version=1, at=late)
    assert (recovery.status, recovery.due, recovery.cart_version) == (
        RecoveryStatus.WATCHING,
        late,
        9,
    )


def test_opening_the_cart_from_its_link_is_activity() -> None:
    recovery = watched()
    recovery.notify(view(), key="r1", now=START + timedelta(hours=2), policy=POLICY)
    opened = START + timedelta(hours=3)

    assert recovery.restored(at=opened, policy=POLICY)
    assert not recovery.restored(at=opened, policy=POLICY)
    assert recovery.seen_at == opened


# --- what counts as recovered -----------------------------------------------------------


def paid(recovery: CartRecovery, placed_at: datetime, handed_over: dict[str, datetime]) -> bool:
    """Whether an order of 30.60 placed at ``placed_at`` counts as recovering the cart."""
    return recovery.recover(
        order_id="order-1",
        currency="EUR",
        total_units=3060,
        placed_at=placed_at,
        at=placed_at + timedelta(minutes=1),
        handed_over=handed_over,
    )


def test_an_order_counts_as_recovered_once_and_only_after_a_reminder() -> None:
    recovery = watched()
    reminded = START + timedelta(hours=2)
    went = {"r1": reminded}

    assert not paid(recovery, reminded, went)
    recovery.notify(view(), key="r1", now=reminded, policy=POLICY)
    assert not paid(recovery, reminded - timedelta(minutes=1), went)
    assert paid(recovery, reminded, went)
    assert not paid(recovery, reminded, went)
    assert (recovery.status, recovery.revenue_units, recovery.due) == (
        RecoveryStatus.RECOVERED,
        3060,
        None,
    )


def test_a_reminder_written_but_not_handed_over_before_the_order_recovers_nothing() -> None:
    recovery = watched()
    written = START + timedelta(hours=1)
    placed = written + timedelta(minutes=5)
    recovery.notify(view(), key="r1", now=written, policy=POLICY)

    # Still waiting for the mail server, withdrawn, or given up: it brought nobody back.
    assert not paid(recovery, placed, {})
    # Handed over only after the order was placed: the order came first.
    assert not paid(recovery, placed, {"r1": placed + timedelta(minutes=1)})
    assert recovery.status is RecoveryStatus.NOTIFIED
    assert paid(recovery, placed, {"r1": written + timedelta(minutes=2)})


def test_the_totals_count_carts_reminders_restores_and_revenue_per_currency() -> None:
    totals = RecoveryTotals(started_at=START)
    recovery = watched()
    first = recovery.notify(view(), key="r1", now=START + timedelta(hours=1), policy=POLICY)
    second = recovery.notify(view(), key="r2", now=START + timedelta(days=2), policy=POLICY)
    for notice in (first, second):
        totals.reminded(notice)
    totals.restored()
    totals.recovered(currency="EUR", total_units=1000)
    totals.recovered(currency="EUR", total_units=500)
    totals.recovered(currency="JPY", total_units=800)

    report = totals.report()

    assert (report.carts_reminded, report.reminders, report.carts_restored) == (1, 2, 1)
    assert report.orders_recovered == 3
    assert report.revenue == {"EUR": 1500, "JPY": 800}


# --- a sweep at any times, with any activity ---------------------------------------------

#: ``("wait", minutes)``, ``("touch", 0)`` (the shopper changes the cart) or
#: ``("sweep", 0)``.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.integers(1, 60 * 30)),
        st.tuples(st.sampled_from(["touch", "sweep", "order"]), st.just(0)),
    ),
    max_size=60,
)


@given(steps=steps)
def test_whatever_the_sweeps_see_no_reminder_breaks_the_rules(
    steps: list[tuple[str, int]],
) -> None:
    recovery = watched()
    now, version, ordered = START, 3, False
    touched = [START]
    sent: list[datetime] = []
    for kind, minutes in steps:
        if kind == "wait":
            now += timedelta(minutes=minutes)
        elif kind == "touch":
            version += 1
            touched.append(now)
        elif kind == "order":
            ordered = True
        else:
            seen = view(cart_version=version, ordered=ordered)
            if recovery.watched and recovery.due is not None and recovery.due <= now:
                decision = recovery.decide(seen, now=now, policy=POLICY)
                assert not (ordered and decision.step is Step.SEND)
                if decision.step is Step.SEND:
                    recovery.notify(seen, key=f"r{len(sent) + 1}", now=now, policy=POLICY)
                    # Idle since the last change, whenever a sweep saw it.
                    assert now - touched[-1] >= POLICY.idle
                    sent.append(now)
                else:
                    recovery.look(seen, decision, now=now)
    assert len(sent) <= POLICY.most_notices
    for earlier, later in itertools.pairwise(sent):
        assert later - earlier >= POLICY.interval


# --- the restore link ----------------------------------------------------------------------


def test_a_restore_link_names_its_cart_until_it_runs_out() -> None:
    token = restore_token(SECRET, "cart-1", expires_at=START + timedelta(days=7))

    assert read_restore_token(SECRET, token, now=START) == "cart-1"
    with pytest.raises(LinkRejected) as caught:
        read_restore_token(SECRET, token, now=START + timedelta(days=7))
    assert (caught.value.reason, caught.value.field, caught.value.code) == (
        "expired",
        "token",
        "link_rejected",
    )


def test_a_link_signed_with_a_retired_secret_still_opens() -> None:
    token = restore_token(OTHER, "cart-1", expires_at=START + timedelta(days=7))

    assert read_restore_token((SECRET, OTHER), token, now=START) == "cart-1"
    with pytest.raises(LinkRejected):
        read_restore_token(SECRET, token, now=START)


def test_an_unsubscribe_token_does_not_open_a_cart() -> None:
    token = unsubscribe_token(SECRET, "cart-1", expires_at=START + timedelta(days=7))

    with pytest.raises(LinkRejected) as caught:
        read_restore_token(SECRET, token, now=START)
    assert caught.value.reason == "invalid"


@pytest.mark.parametrize(
    "token",
    [None, 42, b"abc.def", "", ".", "abc", "abc.", ".abc", "a.b.c", "é.é", "x" * 2000, "\x00.a"],
)
def test_what_is_not_a_token_is_refused_as_invalid(token: object) -> None:
    with pytest.raises(LinkRejected) as caught:
        read_restore_token(SECRET, token, now=START)
    assert caught.value.reason == "invalid"


@given(position=st.integers(0, 10_000), replacement=st.sampled_from("AbZz09-_."))
def test_a_token_changed_anywhere_is_refused(position: int, replacement: str) -> None:
    token = restore_token(SECRET, "cart-1", expires_at=START + timedelta(days=7))
    at = position % len(token)
    forged = token[:at] + replacement + token[at + 1 :]
    if forged == token:
        return
    with pytest.raises(LinkRejected) as caught:
        read_restore_token(SECRET, forged, now=START)
    assert caught.value.reason == "invalid"


def test_a_short_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        restore_token("short", "cart-1", expires_at=START)
    assert caught.value.field == "link_signing_secret"
