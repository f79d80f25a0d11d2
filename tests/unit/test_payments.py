"""The payment ledger: every gateway fact enters through ``Payment.apply``, once, and the
ledger never takes or gives back more money than it may."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from commercekit.domain.errors import (
    CommerceError,
    CurrencyMismatch,
    IdempotencyConflict,
    InvalidInput,
    InvalidTransition,
    OperationInProgress,
    RequestInProgress,
)
from commercekit.domain.events import (
    DomainEvent,
    NeedsAttention,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentFailed,
    PaymentRefunded,
    PaymentRequiresAction,
    PaymentVoided,
)
from commercekit.domain.payments import (
    GatewayEvent,
    Payment,
    PaymentStatus,
    TransactionKind,
    TransactionStatus,
)
from commercekit.errors import (
    EventOutOfOrder,
    PaymentLimitExceeded,
)

from .builders import NOW

AUTHORIZE, CAPTURE, VOID, REFUND = (
    TransactionKind.AUTHORIZE,
    TransactionKind.CAPTURE,
    TransactionKind.VOID,
    TransactionKind.REFUND,
)
SUCCEEDED, FAILED, REQUIRES_ACTION = (
    TransactionStatus.SUCCEEDED,
    TransactionStatus.FAILED,
    TransactionStatus.REQUIRES_ACTION,
)

DUE = 12_990
"""129.90 EUR in cents: the amount the order owes. Every other amount derives from it."""
LATER = NOW + timedelta(minutes=5)

_transaction_ids = itertools.count(1)


def payment(amount_units: int = DUE) -> Payment:
    return Payment(
        id="pay-retro-clock",
        order_id="order-retro-clock",
        gateway="test",
        currency="EUR",
        amount_units=amount_units,
    )


def gateway_event(
    kind: TransactionKind,
    amount_units: int = DUE,
    *,
    status: TransactionStatus = SUCCEEDED,
    transaction_id: str | None = None,
    currency: str = "EUR",
    detail: str = "",
    at: datetime = NOW,
) -> GatewayEvent:
    return GatewayEvent(
        transaction_id=transaction_id or f"txn-{next(_transaction_ids)}",
        payment_reference="pi_retro_clock",
        kind=kind,
        status=status,
        amount_units=amount_units,
        currency=currency,
        occurred_at=at,
        detail=detail,
    )


def authorized(amount_units: int = DUE) -> Payment:
    result = payment()
    result.apply(gateway_event(AUTHORIZE, amount_units))
    return result


def captured(amount_units: int = DUE) -> Payment:
    result = authorized()
    result.apply(gateway_event(CAPTURE, amount_units))
    return result


def snapshot(p: Payment) -> tuple[list[object], list[DomainEvent], int]:
    return list(p.transactions), list(p.events), p.version


def payment_event(cls: type[DomainEvent], amount_units: int, at: datetime = NOW) -> DomainEvent:
    return cls(  # type: ignore[call-arg]
        occurred_at=at,
        payment_id="pay-retro-clock",
        order_id="order-retro-clock",
        currency="EUR",
        amount_units=amount_units,
    )


# --- authorization -------------------------------------------------------------------


def test_a_successful_authorization_reserves_the_amount_due():
    p = payment()

    changed = p.apply(gateway_event(AUTHORIZE, DUE, transaction_id="auth-1"))

    assert changed is True
    assert p.status is PaymentStatus.AUTHORIZED
    assert (p.authorized_units, p.captured_units, p.refunded_units) == (DUE, 0, 0)
    assert (p.capturable_units, p.refundable_units) == (DUE, 0)
    assert p.reference == "pi_retro_clock"
    assert [t.id for t in p.transactions] == ["auth-1"]
    assert p.events == [payment_event(PaymentAuthorized, DUE)]
    assert p.version == 1


def test_an_authorization_of_part_of_the_amount_due_limits_what_may_be_captured():
    part = DUE // 2
    p = authorized(part)

    assert p.status is PaymentStatus.AUTHORIZED
    assert p.capturable_units == part
    with pytest.raises(PaymentLimitExceeded):
        p.check_capture(part + 1)


def test_a_declined_authorization_fails_the_payment_and_says_why():
    p = payment()

    changed = p.apply(gateway_event(AUTHORIZE, status=FAILED, detail="card declined"))

    assert changed is True
    assert p.status is PaymentStatus.FAILED
    assert p.authorized_units == 0
    assert [(t.kind, t.status, t.detail) for t in p.transactions] == [
        (AUTHORIZE, FAILED, "card declined")
    ]
    assert len(p.events) == 1
    failure = p.events[0]
    assert isinstance(failure, PaymentFailed)
    assert (failure.amount_units, failure.reason) == (DUE, "card declined")


def test_a_decline_without_detail_is_reported_as_declined():
    p = payment()

    p.apply(gateway_event(AUTHORIZE, status=FAILED))

    assert isinstance(p.events[0], PaymentFailed)
    assert p.events[0].reason == "declined"


def test_an_authorization_that_requires_action_waits_for_the_customer():
    p = payment()

    changed = p.apply(gateway_event(AUTHORIZE, status=REQUIRES_ACTION))

    assert changed is True
    assert p.status is PaymentStatus.REQUIRES_ACTION
    assert p.authorized_units == 0
    assert p.capturable_units == 0
    assert p.events == [payment_event(PaymentRequiresAction, DUE)]


def test_an_authorization_that_requires_action_then_succeeds_is_authorized():
    p = payment()

    p.apply(gateway_event(AUTHORIZE, status=REQUIRES_ACTION))
    p.apply(gateway_event(AUTHORIZE, at=LATER))

    assert p.status is PaymentStatus.AUTHORIZED
    assert p.authorized_units == DUE
    assert p.events == [
        payment_event(PaymentRequiresAction, DUE),
        payment_event(PaymentAuthorized, DUE, LATER),
    ]


def test_a_late_requires_action_report_after_the_success_changes_nothing():
    p = authorized()
    before = snapshot(p)

    assert p.apply(gateway_event(AUTHORIZE, status=REQUIRES_ACTION)) is False
    assert snapshot(p) == before
    assert p.status is PaymentStatus.AUTHORIZED


def test_an_authorization_may_succeed_after_a_decline():
    p = payment()

    p.apply(gateway_event(AUTHORIZE, status=FAILED))
    p.apply(gateway_event(AUTHORIZE))

    assert p.status is PaymentStatus.AUTHORIZED
    assert p.authorized_units == DUE


def test_a_second_successful_authorization_changes_nothing():
    p = authorized()
    before = snapshot(p)

    assert p.apply(gateway_event(AUTHORIZE)) is False
    assert snapshot(p) == before
    assert p.authorized_units == DUE


def flagged_only(p: Payment, before: tuple[list[object], list[DomainEvent], int]) -> None:
    """Nothing of the fact was recorded; the payment asks staff to look at it."""
    transactions, events, _ = before
    assert p.transactions == transactions
    assert [type(e) for e in p.events[len(events) :]] == [NeedsAttention]
    assert p.attention


def test_an_authorization_beyond_the_amount_due_is_recorded_nowhere_and_flagged():
    p = payment()
    before = snapshot(p)

    assert p.apply(gateway_event(AUTHORIZE, DUE + 1, transaction_id="auth-big")) is True

    flagged_only(p, before)
    assert "auth-big" in p.attention
    assert p.status is PaymentStatus.PENDING
    assert p.apply(gateway_event(AUTHORIZE, DUE + 1, transaction_id="auth-big")) is False


def test_a_payment_cannot_be_for_a_negative_amount():
    with pytest.raises(InvalidInput) as refused:
        payment(-1)
    assert refused.value.field == "amount"


# --- capture -------------------------------------------------------------------------


def test_capturing_part_then_the_rest_captures_the_whole_authorization():
    first = DUE // 3
    rest = DUE - first
    p = authorized()

    p.check_capture(first)
    p.apply(gateway_event(CAPTURE, first))

    assert p.status is PaymentStatus.PARTIALLY_CAPTURED
    assert (p.captured_units, p.capturable_units, p.refundable_units) == (first, rest, first)

    p.check_capture(rest)
    p.apply(gateway_event(CAPTURE, rest, at=LATER))

    assert p.status is PaymentStatus.CAPTURED
    assert (p.captured_units, p.capturable_units, p.refundable_units) == (DUE, 0, DUE)
    assert p.events[1:] == [
        payment_event(PaymentCaptured, first),
        payment_event(PaymentCaptured, rest, LATER),
    ]


def test_checking_a_capture_beyond_what_is_authorized_is_refused():
    first = DUE // 3
    p = authorized()
    p.apply(gateway_event(CAPTURE, first))

    with pytest.raises(PaymentLimitExceeded) as refused:
        p.check_capture(DUE - first + 1)

    error = refused.value
    assert error.code == "payment_limit_exceeded"
    assert error.field == "amount"
    assert (error.requested, error.available) == (DUE - first + 1, DUE - first)
    assert isinstance(error, InvalidInput)


def test_a_capture_beyond_what_is_authorized_is_recorded_nowhere_and_flagged():
    p = authorized()
    before = snapshot(p)

    assert p.apply(gateway_event(CAPTURE, DUE + 1)) is True

    flagged_only(p, before)
    assert p.captured_units == 0


def test_checking_a_capture_of_an_unauthorized_payment_is_an_invalid_transition():
    with pytest.raises(InvalidTransition) as refused:
        payment().check_capture(DUE)
    assert refused.value.code == "invalid_transition"
    assert refused.value.state == PaymentStatus.PENDING.value


@pytest.mark.parametrize("amount", [0, -1, True, 1.5], ids=repr)
@pytest.mark.parametrize("check", ["check_capture", "check_refund"])
def test_checks_refuse_anything_but_a_positive_whole_number_of_units(check, amount):
    p = captured(DUE // 2)

    with pytest.raises(InvalidInput) as refused:
        getattr(p, check)(amount)

    assert refused.value.field == "amount"
    assert not isinstance(refused.value, PaymentLimitExceeded)


def test_a_failed_capture_is_recorded_but_takes_nothing():
    p = authorized()
    events_before = list(p.events)

    changed = p.apply(gateway_event(CAPTURE, DUE, status=FAILED, detail="expired"))

    assert changed is True
    assert p.transactions[-1].status is FAILED
    assert p.captured_units == 0
    assert p.status is PaymentStatus.AUTHORIZED
    assert p.events == events_before


def test_a_capture_before_its_authorization_implies_the_authorization_of_the_amount_due():
    part = DUE // 2
    p = payment()

    changed = p.apply(gateway_event(CAPTURE, part, transaction_id="cap-1"))

    assert changed is True
    assert (p.authorized_units, p.captured_units, p.capturable_units) == (DUE, part, DUE - part)
    assert p.status is PaymentStatus.PARTIALLY_CAPTURED
    assert [(t.id, t.kind, t.amount_units) for t in p.transactions] == [
        ("cap-1:authorization", AUTHORIZE, DUE),
        ("cap-1", CAPTURE, part),
    ]
    assert p.events == [
        payment_event(PaymentAuthorized, DUE),
        payment_event(PaymentCaptured, part),
    ]


def test_the_authorization_report_arriving_after_an_implied_one_changes_nothing():
    p = payment()
    p.apply(gateway_event(CAPTURE, DUE // 2))
    before = snapshot(p)

    assert p.apply(gateway_event(AUTHORIZE, DUE, transaction_id="auth-late")) is False
    assert snapshot(p) == before
    assert not p.has("auth-late")
    assert p.authorized_units == DUE


def test_a_too_large_capture_before_its_authorization_leaves_the_ledger_unchanged():
    p = payment()
    before = snapshot(p)

    p.apply(gateway_event(CAPTURE, DUE + 1))

    flagged_only(p, before)
    assert p.status is PaymentStatus.PENDING


def test_a_gateway_event_with_a_negative_amount_is_refused():
    p = authorized()
    before = snapshot(p)

    with pytest.raises(InvalidInput):
        p.apply(gateway_event(CAPTURE, -(DUE // 2)))

    assert snapshot(p) == before
    assert p.capturable_units == DUE


# --- void ----------------------------------------------------------------------------


def test_voiding_an_authorization_with_nothing_captured_releases_it():
    p = authorized()
    p.check_void()

    changed = p.apply(gateway_event(VOID, at=LATER))

    assert changed is True
    assert p.voided
    assert p.status is PaymentStatus.VOIDED
    assert p.capturable_units == 0
    assert p.transactions[-1].amount_units == DUE
    assert p.events[-1] == payment_event(PaymentVoided, DUE, LATER)


def test_a_void_after_a_partial_capture_releases_the_rest():
    p = captured(DUE // 2)
    p.check_void()

    assert p.apply(gateway_event(VOID, 0, at=LATER))

    assert p.voided
    assert p.capturable_units == 0
    assert p.captured_units == DUE // 2
    assert p.status is PaymentStatus.CAPTURED
    assert p.transactions[-1].amount_units == DUE - DUE // 2
    assert p.events[-1] == payment_event(PaymentVoided, DUE - DUE // 2, LATER)
    with pytest.raises(InvalidTransition):
        p.check_capture(1)


def test_a_void_after_a_full_capture_is_refused_before_the_gateway_and_releases_nothing():
    p = captured(DUE)

    with pytest.raises(InvalidTransition) as checked:
        p.check_void()
    # Should the gateway say it voided anyway, the ledger records that nothing was
    # left to release, and staff are asked to look.
    assert p.apply(gateway_event(VOID, DUE)) is True

    assert checked.value.code == "invalid_transition"
    assert p.transactions[-1].amount_units == 0
    assert p.status is PaymentStatus.CAPTURED
    assert (p.captured_units, p.refundable_units) == (DUE, DUE)
    assert p.attention


def test_a_void_before_any_authorization_is_refused_or_waits_for_it():
    p = payment()

    with pytest.raises(InvalidTransition):
        p.check_void()
    with pytest.raises(EventOutOfOrder):
        p.apply(gateway_event(VOID))
    assert p.transactions == []


def test_a_second_void_changes_nothing():
    p = authorized()
    p.apply(gateway_event(VOID))
    before = snapshot(p)

    assert p.apply(gateway_event(VOID)) is False
    assert snapshot(p) == before
    with pytest.raises(InvalidTransition):
        p.check_void()


def test_nothing_can_be_captured_after_a_void_but_a_capture_the_gateway_made_first_counts():
    p = captured(DUE // 4)
    p.apply(gateway_event(VOID, DUE - DUE // 4))

    with pytest.raises(InvalidTransition):
        p.check_capture(1)
    # The gateway captured part before the void reached it: the money was taken.
    assert p.apply(gateway_event(CAPTURE, DUE // 2, transaction_id="late-capture")) is True

    assert p.captured_units == DUE // 4 + DUE // 2
    assert p.status is PaymentStatus.CAPTURED
    assert p.refundable_units == p.captured_units
    assert "late-capture" in p.attention
    assert [type(e) for e in p.events[-2:]] == [PaymentCaptured, NeedsAttention]


def test_a_failed_void_leaves_the_authorization_standing():
    p = authorized()

    assert p.apply(gateway_event(VOID, status=FAILED)) is True

    assert not p.voided
    assert p.status is PaymentStatus.AUTHORIZED
    assert p.capturable_units == DUE


# --- refund --------------------------------------------------------------------------


def test_a_partial_refund_gives_back_part_of_the_capture():
    part = DUE // 4
    p = captured()
    p.check_refund(part)

    refund = gateway_event(REFUND, part, at=LATER)
    p.apply(refund)

    assert p.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (p.refunded_units, p.refundable_units) == (part, DUE - part)
    told = payment_event(PaymentRefunded, part, LATER)
    assert p.events[-1] == attrs.evolve(told, transaction_id=refund.transaction_id)


def test_several_refunds_add_up_to_a_full_refund():
    first, second = DUE // 4, DUE // 3
    rest = DUE - first - second
    p = captured()

    for amount in (first, second):
        p.apply(gateway_event(REFUND, amount))
        assert p.status is PaymentStatus.PARTIALLY_REFUNDED
    p.apply(gateway_event(REFUND, rest))

    assert p.status is PaymentStatus.REFUNDED
    assert (p.refunded_units, p.refundable_units) == (DUE, 0)
    assert [e.amount_units for e in p.events if isinstance(e, PaymentRefunded)] == [
        first,
        second,
        rest,
    ]


def test_a_refund_beyond_what_was_captured_is_refused():
    part = DUE // 2
    p = captured(part)
    before = snapshot(p)

    with pytest.raises(PaymentLimitExceeded) as checked:
        p.check_refund(part + 1)
    # What is still authorized may yet be captured: a refund of more than was
    # captured may have overtaken its capture, so it waits for it.
    with pytest.raises(EventOutOfOrder):
        p.apply(gateway_event(REFUND, part + 1))

    error = checked.value
    assert (error.code, error.field) == ("payment_limit_exceeded", "amount")
    assert (error.requested, error.available) == (part + 1, part)
    assert snapshot(p) == before


def test_a_refund_beyond_what_is_left_after_earlier_refunds_is_refused():
    first = DUE // 3
    p = captured()
    p.apply(gateway_event(REFUND, first))

    before = snapshot(p)
    p.apply(gateway_event(REFUND, DUE - first + 1))

    flagged_only(p, before)
    assert p.refunded_units == first


def test_a_refund_before_any_capture_is_out_of_order_and_applies_once_the_capture_is_known():
    p = authorized()
    before = snapshot(p)
    refund = gateway_event(REFUND, DUE // 2, transaction_id="refund-early")

    with pytest.raises(EventOutOfOrder) as refused:
        p.apply(refund)

    assert refused.value.code == "event_out_of_order"
    assert refused.value.retryable is True
    assert isinstance(refused.value, CommerceError)
    assert snapshot(p) == before

    p.apply(gateway_event(CAPTURE, DUE))
    assert p.apply(refund) is True
    assert p.refunded_units == DUE // 2


def test_checking_a_refund_before_any_capture_finds_nothing_to_refund():
    with pytest.raises(PaymentLimitExceeded) as refused:
        authorized().check_refund(1)
    assert refused.value.available == 0


def test_a_failed_refund_gives_nothing_back():
    p = captured()
    events_before = list(p.events)

    assert p.apply(gateway_event(REFUND, DUE, status=FAILED)) is True

    assert p.refunded_units == 0
    assert p.status is PaymentStatus.CAPTURED
    assert p.events == events_before


# --- idempotency, currency -----------------------------------------------------------

_DELIVERIES: dict[str, tuple[Callable[[], Payment], GatewayEvent]] = {
    "authorization": (payment, gateway_event(AUTHORIZE, transaction_id="same")),
    "requires action": (
        payment,
        gateway_event(AUTHORIZE, status=REQUIRES_ACTION, transaction_id="same"),
    ),
    "decline": (payment, gateway_event(AUTHORIZE, status=FAILED, transaction_id="same")),
    "capture": (authorized, gateway_event(CAPTURE, DUE // 2, transaction_id="same")),
    "void": (authorized, gateway_event(VOID, transaction_id="same")),
    "refund": (captured, gateway_event(REFUND, DUE // 2, transaction_id="same")),
    "failed refund": (captured, gateway_event(REFUND, status=FAILED, transaction_id="same")),
}


@pytest.mark.parametrize("name", list(_DELIVERIES))
def test_the_same_transaction_delivered_twice_is_applied_once(name):
    start, event = _DELIVERIES[name]
    p = start()
    assert p.apply(event) is True
    after_first = snapshot(p)
    status = p.status

    assert p.apply(event) is False

    assert snapshot(p) == after_first
    assert [t.id for t in p.transactions].count("same") == 1
    assert p.status is status


def test_an_event_in_another_currency_is_refused():
    p = payment()

    with pytest.raises(CurrencyMismatch) as refused:
        p.apply(gateway_event(AUTHORIZE, currency="USD"))

    assert (refused.value.code, refused.value.field) == ("currency_mismatch", "currency")
    assert p.transactions == []
    assert p.events == []
    assert p.reference is None


# --- status --------------------------------------------------------------------------

_HISTORIES: dict[PaymentStatus, Sequence[GatewayEvent]] = {
    PaymentStatus.PENDING: (),
    PaymentStatus.REQUIRES_ACTION: (gateway_event(AUTHORIZE, status=REQUIRES_ACTION),),
    PaymentStatus.FAILED: (
        gateway_event(AUTHORIZE, status=REQUIRES_ACTION),
        gateway_event(AUTHORIZE, status=FAILED),
    ),
    PaymentStatus.AUTHORIZED: (gateway_event(AUTHORIZE),),
    PaymentStatus.PARTIALLY_CAPTURED: (
        gateway_event(AUTHORIZE),
        gateway_event(CAPTURE, DUE - 1),
    ),
    PaymentStatus.CAPTURED: (gateway_event(AUTHORIZE), gateway_event(CAPTURE)),
    PaymentStatus.PARTIALLY_REFUNDED: (
        gateway_event(AUTHORIZE),
        gateway_event(CAPTURE),
        gateway_event(REFUND, 1),
    ),
    PaymentStatus.REFUNDED: (
        gateway_event(AUTHORIZE),
        gateway_event(CAPTURE, DUE // 2),
        gateway_event(REFUND, DUE // 2),
    ),
    PaymentStatus.VOIDED: (gateway_event(AUTHORIZE), gateway_event(VOID)),
}


def test_every_payment_status_has_a_history_below():
    assert set(_HISTORIES) == set(PaymentStatus)


@pytest.mark.parametrize("expected", list(_HISTORIES), ids=lambda s: s.value)
def test_the_status_is_derived_from_the_ledger(expected):
    p = payment()
    for event in _HISTORIES[expected]:
        p.apply(event)

    assert p.status is expected


# --- the ledger as a state machine ---------------------------------------------------


@attrs.define
class Expected:
    """What the model says one delivery does: refused with ``error``, or not."""

    error: type[CommerceError] | None = None
    changed: bool = False
    new_transactions: int = 0
    events: list[tuple[type[DomainEvent], int]] = attrs.field(factory=list)


@attrs.define
class LedgerModel:
    """The ledger's rules restated over plain integers."""

    due: int
    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    voided: bool = False
    seen: set[str] = attrs.field(factory=set)
    flagged: set[str] = attrs.field(factory=set)
    last_attempt: TransactionStatus | None = None

    @property
    def status(self) -> PaymentStatus:
        if self.voided and not self.captured:
            return PaymentStatus.VOIDED
        if self.refunded:
            if self.refunded == self.captured:
                return PaymentStatus.REFUNDED
            return PaymentStatus.PARTIALLY_REFUNDED
        if self.captured:
            if self.captured == self.authorized or self.voided:
                return PaymentStatus.CAPTURED
            return PaymentStatus.PARTIALLY_CAPTURED
        if self.authorized:
            return PaymentStatus.AUTHORIZED
        return {
            None: PaymentStatus.PENDING,
            REQUIRES_ACTION: PaymentStatus.REQUIRES_ACTION,
            FAILED: PaymentStatus.FAILED,
        }[self.last_attempt]

    def deliver(self, event: GatewayEvent) -> Expected:
        """Predict the outcome, and follow it unless the event is refused."""
        if event.transaction_id in self.seen:
            return Expected()
        outcome = self._outcome(event)
        if outcome.changed and outcome.new_transactions:
            self.seen.add(event.transaction_id)
        return outcome

    def _flag(self, event: GatewayEvent) -> Expected:
        """A fact the ledger cannot take: recorded nowhere, flagged once for staff."""
        if event.transaction_id in self.flagged:
            return Expected()
        self.flagged.add(event.transaction_id)
        return Expected(None, True, 0, [(NeedsAttention, 0)])

    def _outcome(self, event: GatewayEvent) -> Expected:
        amount = event.amount_units
        if event.kind is AUTHORIZE:
            if self.authorized or self.voided:
                return Expected()
            if event.status is SUCCEEDED:
                if amount > self.due:
                    return self._flag(event)
                self.authorized, self.last_attempt = amount, SUCCEEDED
                return Expected(None, True, 1, [(PaymentAuthorized, amount)])
            if event.status is REQUIRES_ACTION:
                if self.status is not PaymentStatus.PENDING:
                    return Expected()
                self.last_attempt = REQUIRES_ACTION
                return Expected(None, True, 1, [(PaymentRequiresAction, amount)])
            self.last_attempt = FAILED
            return Expected(None, True, 1, [(PaymentFailed, amount)])
        if event.status is not SUCCEEDED:
            return Expected(None, True, 1)
        if event.kind is CAPTURE:
            if not self.authorized:
                if amount > self.due:
                    return self._flag(event)
                self.authorized, self.captured = self.due, amount
                return Expected(
                    None, True, 2, [(PaymentAuthorized, self.due), (PaymentCaptured, amount)]
                )
            if amount > self.authorized - self.captured:
                return self._flag(event)
            self.captured += amount
            if self.voided:
                # Captured before the void reached the gateway: its word stands.
                return Expected(None, True, 1, [(PaymentCaptured, amount), (NeedsAttention, 0)])
            return Expected(None, True, 1, [(PaymentCaptured, amount)])
        if event.kind is VOID:
            if self.voided:
                return Expected()
            if not self.authorized:
                return Expected(EventOutOfOrder)
            left = self.authorized - self.captured
            self.voided = True
            if amount > left:
                return Expected(None, True, 1, [(NeedsAttention, 0), (PaymentVoided, left)])
            return Expected(None, True, 1, [(PaymentVoided, amount or left)])
        if amount > self.captured - self.refunded:
            could_come = amount <= self.authorized - self.refunded or (
                not self.authorized and amount <= self.due
            )
            return Expected(EventOutOfOrder) if could_come else self._flag(event)
        self.refunded += amount
        return Expected(None, True, 1, [(PaymentRefunded, amount)])


def _amounts(limit: int, spread: int) -> st.SearchStrategy[int]:
    """Amounts up to ``limit``, exactly it, and beyond it."""
    beyond = st.integers(limit + 1, limit + spread)
    if limit < 1:
        return beyond
    return st.one_of(st.just(limit), st.integers(1, limit), st.just(limit + 1), beyond)


class PaymentLedgerMachine(RuleBasedStateMachine):
    """Random gateway reports, in any order and any number of times."""

    delivered = Bundle("delivered")

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1)
        self.payment = payment()
        self.model = LedgerModel(due=DUE)

    @initialize(due=st.integers(1, 100_000))
    def open_payment(self, due: int) -> None:
        self.payment = payment(due)
        self.model = LedgerModel(due=due)

    def _event(
        self, kind: TransactionKind, amount: int, status: TransactionStatus = SUCCEEDED
    ) -> GatewayEvent:
        return gateway_event(
            kind, amount, status=status, transaction_id=f"{kind.value}-{next(self.ids)}"
        )

    def _deliver(self, event: GatewayEvent) -> GatewayEvent:
        p = self.payment
        before = snapshot(p)
        expected = self.model.deliver(event)
        refused: CommerceError | None = None
        try:
            changed = p.apply(event)
        except (PaymentLimitExceeded, InvalidTransition, EventOutOfOrder) as error:
            refused = error
        if refused is not None:
            assert type(refused) is expected.error, f"refused with {refused!r}"
            assert snapshot(p) == before, "a refused event changed the ledger"
            return event
        assert expected.error is None, f"accepted, expected {expected.error}"
        assert changed is expected.changed
        transactions, events, version = before
        if not changed:
            assert snapshot(p) == before, "an event that changed nothing changed the ledger"
            return event
        assert p.transactions[: len(transactions)] == transactions, "history was rewritten"
        assert len(p.transactions) == len(transactions) + expected.new_transactions
        if expected.new_transactions:
            assert p.transactions[-1].id == event.transaction_id
        else:
            assert event.transaction_id in p.attention, "a fact not taken is not flagged"
        assert p.version == version + 1
        added = p.events[len(events) :]
        assert [(type(e), getattr(e, "amount_units", 0)) for e in added] == expected.events
        return event

    @rule(target=delivered)
    def authorize_the_amount_due(self) -> GatewayEvent:
        return self._deliver(self._event(AUTHORIZE, self.model.due))

    @rule(target=delivered, data=st.data())
    def authorize(self, data: st.DataObject) -> GatewayEvent:
        amount = data.draw(_amounts(self.model.due, self.model.due), label="authorize")
        return self._deliver(self._event(AUTHORIZE, amount))

    @rule(target=delivered)
    def require_action(self) -> GatewayEvent:
        return self._deliver(self._event(AUTHORIZE, self.model.due, REQUIRES_ACTION))

    @rule(target=delivered, data=st.data())
    def capture(self, data: st.DataObject) -> GatewayEvent:
        m = self.model
        if not m.authorized and not m.voided:
            amount = data.draw(_amounts(m.due, m.due), label="capture before authorization")
        else:
            amount = data.draw(_amounts(m.authorized - m.captured, m.due), label="capture")
        return self._deliver(self._event(CAPTURE, amount))

    @rule(target=delivered)
    def void(self) -> GatewayEvent:
        return self._deliver(self._event(VOID, self.model.authorized or self.model.due))

    @rule(target=delivered, data=st.data())
    def refund(self, data: st.DataObject) -> GatewayEvent:
        m = self.model
        amount = data.draw(_amounts(m.captured - m.refunded, m.due), label="refund")
        return self._deliver(self._event(REFUND, amount))

    @rule(target=delivered, kind=st.sampled_from(TransactionKind), data=st.data())
    def gateway_fails(self, kind: TransactionKind, data: st.DataObject) -> GatewayEvent:
        amount = data.draw(st.integers(1, self.model.due), label="failed amount")
        return self._deliver(self._event(kind, amount, FAILED))

    @rule(event=delivered)
    def deliver_again(self, event: GatewayEvent) -> None:
        self._deliver(event)

    @invariant()
    def amounts_stay_within_their_limits(self) -> None:
        p = self.payment
        assert 0 <= p.captured_units <= p.authorized_units <= p.amount_units
        assert 0 <= p.refunded_units <= p.captured_units
        assert p.capturable_units >= 0
        assert p.refundable_units >= 0
        if p.voided:
            assert p.capturable_units == 0

    @invariant()
    def totals_are_the_sums_of_successful_transactions(self) -> None:
        p = self.payment
        succeeded = [t for t in p.transactions if t.status is SUCCEEDED]

        def total(kind: TransactionKind) -> int:
            return sum(t.amount_units for t in succeeded if t.kind is kind)

        assert p.authorized_units == total(AUTHORIZE)
        assert p.captured_units == total(CAPTURE)
        assert p.refunded_units == total(REFUND)
        assert p.voided == any(t.kind is VOID for t in succeeded)
        assert sum(t.kind is AUTHORIZE for t in succeeded) <= 1
        assert len({t.id for t in p.transactions}) == len(p.transactions)

    @invariant()
    def status_agrees_with_the_totals(self) -> None:
        p = self.payment
        authorized_, captured_, refunded_ = p.authorized_units, p.captured_units, p.refunded_units
        status = p.status
        assert (status is PaymentStatus.VOIDED) == (p.voided and captured_ == 0)
        if status is PaymentStatus.REFUNDED:
            assert 0 < refunded_ == captured_
        elif status is PaymentStatus.PARTIALLY_REFUNDED:
            assert 0 < refunded_ < captured_
        elif status is PaymentStatus.CAPTURED:
            assert refunded_ == 0
            assert 0 < captured_ == authorized_ or (captured_ > 0 and p.voided)
        elif status is PaymentStatus.PARTIALLY_CAPTURED:
            assert refunded_ == 0
            assert 0 < captured_ < authorized_
        elif status is PaymentStatus.AUTHORIZED:
            assert authorized_ > 0
            assert captured_ == 0
        elif status is PaymentStatus.VOIDED:
            assert authorized_ > 0
            assert captured_ == refunded_ == 0
        else:
            assert authorized_ == captured_ == refunded_ == 0

    @invariant()
    def the_ledger_agrees_with_the_model(self) -> None:
        p, m = self.payment, self.model
        assert (p.authorized_units, p.captured_units, p.refunded_units) == (
            m.authorized,
            m.captured,
            m.refunded,
        )
        assert p.voided == m.voided
        assert p.status is m.status
        assert {t.id for t in p.transactions} >= m.seen


PaymentLedgerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40)
TestPaymentLedger = PaymentLedgerMachine.TestCase


# --- operations under way ------------------------------------------------------------


def test_a_capture_under_way_counts_against_the_next_one():
    p = authorized()
    first = p.begin(CAPTURE, 9_000, id="op-1", at=NOW)
    with pytest.raises(PaymentLimitExceeded):
        p.begin(CAPTURE, 4_000, id="op-2", at=NOW)
    second = p.begin(CAPTURE, None, id="op-2", at=NOW)  # all that is left
    assert (first.amount_units, second.amount_units) == (9_000, DUE - 9_000)
    assert first.key != second.key  # one gateway key per operation, never a count


def test_a_refund_under_way_counts_against_the_next_one():
    p = captured()
    p.begin(REFUND, 10_000, id="op-1", at=NOW)
    with pytest.raises(PaymentLimitExceeded):
        p.begin(REFUND, 3_000, id="op-2", at=NOW)
    p.finish("op-1")  # never reached the gateway
    assert p.begin(REFUND, 3_000, id="op-2", at=NOW).amount_units == 3_000


def test_a_void_and_a_capture_never_run_at_once():
    p = authorized()
    p.begin(CAPTURE, 1_000, id="op-1", at=NOW)
    with pytest.raises(OperationInProgress):
        p.begin(VOID, id="op-2", at=NOW)
    p.finish("op-1")
    p.begin(VOID, id="op-2", at=NOW)
    with pytest.raises(OperationInProgress):
        p.begin(CAPTURE, 1_000, id="op-3", at=NOW)


def test_an_operation_asked_again_is_the_same_one_and_another_under_its_id_is_refused():
    p = authorized()
    first = p.begin(CAPTURE, 1_000, id="op-1", at=NOW)
    version = p.version
    assert p.begin(CAPTURE, 1_000, id="op-1", at=LATER) is first
    assert p.version == version
    for kind, units in ((REFUND, 1_000), (CAPTURE, 2_000)):
        with pytest.raises(IdempotencyConflict):
            p.begin(kind, units, id="op-1", at=NOW)


def test_an_answered_operation_is_found_by_its_id_and_kind():
    p = authorized()
    intent = p.begin(CAPTURE, 1_000, id="op-1", at=NOW)
    p.apply(gateway_event(CAPTURE, 1_000), intent_id=intent.id)
    assert p.intents == []
    assert p.answered("op-1", CAPTURE, 1_000) is not None
    assert p.answered("op-2", CAPTURE) is None
    with pytest.raises(IdempotencyConflict):
        p.answered("op-1", REFUND)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["capture", "refund", "answer", "drop"]),
            st.one_of(st.none(), st.integers(1, DUE)),
        ),
        max_size=30,
    )
)
@example([("capture", None), ("capture", None)])  # all of nothing: refused as a state
def test_operations_under_way_never_promise_more_than_the_ledger_allows(steps):
    p = authorized()
    for n, (step, units) in enumerate(steps):
        if step in ("capture", "refund"):
            kind = CAPTURE if step == "capture" else REFUND
            with contextlib.suppress(PaymentLimitExceeded, InvalidTransition):
                p.begin(kind, units, id=f"op-{n}", at=NOW)
        elif p.intents:
            intent = p.intents[0]
            if step == "answer":  # the gateway did what it was asked
                p.apply(gateway_event(intent.kind, intent.amount_units), intent_id=intent.id)
            else:  # it never heard of it
                p.finish(intent.id)
        pending = {
            kind: sum(i.amount_units for i in p.intents if i.kind is kind)
            for kind in (CAPTURE, REFUND)
        }
        assert p.captured_units + pending[CAPTURE] <= p.authorized_units
        assert p.refunded_units + pending[REFUND] <= p.captured_units
        assert not p.attention  # nothing asked for was beyond what the ledger takes


# --- one caller at a time asks the gateway ----------------------------------------------

LEASE = timedelta(minutes=2)


def test_the_authorization_is_asked_by_one_caller_until_its_claim_runs_out():
    p = payment()
    first = p.ask_authorization(at=NOW, holder="call-a", lease=LEASE)
    assert (first.kind, first.amount_units, first.holder) == (AUTHORIZE, DUE, "call-a")
    assert first.key == "order-retro-clock:authorize"
    version = p.version
    assert p.ask_authorization(at=NOW, holder="call-a", lease=LEASE) == first
    assert p.version == version  # asking again while holding it writes nothing
    with pytest.raises(RequestInProgress):
        p.ask_authorization(at=NOW + LEASE - timedelta(seconds=1), holder="call-b", lease=LEASE)
    taken = p.ask_authorization(at=NOW + LEASE, holder="call-b", lease=LEASE)
    assert (taken.holder, taken.key, len(p.intents)) == ("call-b", first.key, 1)


def test_a_caller_that_lets_go_frees_the_operation_at_once():
    p = authorized()
    intent = p.begin(CAPTURE, 1_000, id="op-1", at=NOW, holder="call-a", lease=LEASE)
    with pytest.raises(RequestInProgress):
        p.begin(CAPTURE, 1_000, id="op-1", at=NOW, holder="call-b", lease=LEASE)
    assert not p.let_go("op-1", "call-b")  # only the holder lets go
    assert p.let_go("op-1", "call-a")
    assert p.claim("op-1", "call-b", at=NOW, lease=LEASE).holder == "call-b"
    assert p.intent("op-1") is not None
    assert p.intent("op-1").key == intent.key


def test_once_answered_the_authorization_is_no_longer_asked():
    p = payment()
    p.ask_authorization(at=NOW, holder="call-a", lease=LEASE)
    p.apply(gateway_event(AUTHORIZE), intent_id="order-retro-clock:authorize")
    assert p.authorizing is None
    assert not p.intents
    with pytest.raises(InvalidTransition):
        p.ask_authorization(at=LATER, holder="call-b", lease=LEASE)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["claim", "let_go"]),
            st.sampled_from(["call-a", "call-b", "call-c"]),
            st.integers(min_value=0, max_value=300),
        ),
        max_size=30,
    )
)
def test_at_most_one_caller_holds_an_operation_at_any_moment(steps):
    p = authorized()
    p.begin(CAPTURE, 1_000, id="op-1", at=NOW)
    at = NOW
    holders: dict[str, datetime] = {}  # who was told it holds the operation, until when
    for action, caller, seconds in steps:
        at += timedelta(seconds=seconds)
        if action == "let_go":
            if p.let_go("op-1", caller):
                holders.pop(caller, None)
            continue
        with contextlib.suppress(RequestInProgress):
            claimed = p.claim("op-1", caller, at=at, lease=LEASE)
            assert claimed.leased_until is not None
            holders[caller] = claimed.leased_until
        live = [c for c, until in holders.items() if until > at]
        assert len(live) <= 1, (live, holders)
