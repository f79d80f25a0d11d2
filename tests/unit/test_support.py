"""Support cases: the statuses a case may move between, when a reply is owed, and the
order numbers a customer quotes; and the order's note of what was done from a case."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from commercekit.adapters.notifications.templates import JinjaTemplates
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import CaseOpened, CaseResolved, event_from_dict, event_to_dict
from commercekit.domain.indexed import Index
from commercekit.domain.orders import (
    NUMBER_ALPHABET,
    NUMBER_LENGTH,
    Order,
    OrderTotals,
    order_number,
)
from commercekit.domain.support import (
    MAX_ENTRIES,
    RESPONSE_TARGETS,
    TRANSITIONS,
    ActionKind,
    AuthorKind,
    CaseChannel,
    CasePriority,
    CaseStatus,
    SupportCase,
)

OPENED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
_S = CaseStatus


def opened(
    *,
    priority: CasePriority = CasePriority.NORMAL,
    customer_id: str | None = "cust-ada",
    email_key: str = "",
) -> SupportCase:
    return SupportCase.open(
        id="case-1",
        subject="Where is my retro clock?",
        body="It was due on Monday.",
        channel=CaseChannel.EMAIL,
        at=OPENED,
        actor="customer:cust-ada",
        customer_id=customer_id,
        email="ada@example.com",
        email_key=email_key,
        order_id="order-1",
        priority=priority,
    )


def in_status(status: CaseStatus) -> SupportCase:
    """A case moved to ``status`` by the shortest way the table allows."""
    case = opened()
    if status is not _S.OPEN:
        case.set_status(status, at=OPENED + HOUR)
    assert case.status is status
    return case


# --- opening ---------------------------------------------------------------------------


def test_a_new_case_holds_the_customers_message_and_owes_a_reply() -> None:
    case = opened()

    assert case.status is _S.OPEN
    (message,) = case.messages
    assert (message.author_kind, message.author, message.at) == (
        AuthorKind.CUSTOMER,
        "customer:cust-ada",
        OPENED,
    )
    # Normal priority: a reply within 24 hours.
    assert case.response_due == OPENED + 24 * HOUR
    assert case.events == [
        CaseOpened(
            occurred_at=OPENED,
            case_id="case-1",
            customer_id="cust-ada",
            email="ada@example.com",
            order_id="order-1",
            subject="Where is my retro clock?",
        )
    ]
    assert case.index() == Index(
        at=OPENED, ref="order-1", owner="customer:cust-ada", state="open", due=case.response_due
    )


def test_a_guests_case_is_found_by_their_email_never_as_a_customer_id() -> None:
    case = opened(customer_id=None, email_key="ada@example.com")

    assert case.index().owner == "email:ada@example.com"
    assert case.belongs_to(email_key="ada@example.com")
    assert not case.belongs_to(email_key="bob@example.com")
    assert not case.belongs_to(email_key="")
    assert not case.belongs_to(customer_id="ada@example.com")
    assert opened().belongs_to(customer_id="cust-ada")
    assert not opened().belongs_to(email_key="ada@example.com")


def test_a_case_belongs_to_someone() -> None:
    with pytest.raises(InvalidInput) as refused:
        opened(customer_id=None, email_key="")
    assert refused.value.field == "email"


def test_a_body_longer_than_ten_thousand_characters_is_refused() -> None:
    case = opened()
    with pytest.raises(InvalidInput) as refused:
        case.reply("x" * 10_001, at=OPENED, actor="staff:grace")
    assert refused.value.field == "body"
    assert len(case.messages) == 1


@pytest.mark.parametrize(
    ("priority", "hours"),
    [
        (CasePriority.URGENT, 1),
        (CasePriority.HIGH, 4),
        (CasePriority.NORMAL, 24),
        (CasePriority.LOW, 72),
    ],
)
def test_each_priority_owes_its_reply_by_its_target(priority: CasePriority, hours: int) -> None:
    assert opened(priority=priority).response_due == OPENED + hours * HOUR
    assert RESPONSE_TARGETS[priority] == hours * HOUR


# --- the thread and the reply owed -------------------------------------------------------


def test_an_agents_reply_answers_every_message_before_it() -> None:
    case = opened()
    case.customer_message("Any news?", at=OPENED + 2 * HOUR, actor="customer:cust-ada")
    # The first unanswered message sets the clock: the second does not push it out.
    assert case.response_due == OPENED + 24 * HOUR

    case.reply("It left Berlin today.", at=OPENED + 3 * HOUR, actor="staff:grace")

    assert case.response_due is None
    assert case.index().due is None
    assert case.status is _S.OPEN  # a reply answers; it does not move the case on
    assert [m.author_kind for m in case.messages] == [
        AuthorKind.CUSTOMER,
        AuthorKind.CUSTOMER,
        AuthorKind.AGENT,
    ]

    case.customer_message("Thanks, it came.", at=OPENED + 30 * HOUR, actor="customer:cust-ada")
    assert case.response_due == OPENED + 54 * HOUR  # 30 h + 24 h


@pytest.mark.parametrize("status", [_S.WAITING_ON_CUSTOMER, _S.RESOLVED])
def test_a_customers_message_reopens_a_case_waiting_or_resolved(status: CaseStatus) -> None:
    case = in_status(status)
    assert case.index().due is None

    case.customer_message("Still broken.", at=OPENED + 5 * HOUR, actor="customer:cust-ada")

    assert case.status is _S.OPEN
    assert case.index() == Index(
        at=OPENED,
        ref="order-1",
        owner="customer:cust-ada",
        state="open",
        due=OPENED + 29 * HOUR,  # 5 h + 24 h
    )


def test_a_closed_case_is_final() -> None:
    case = in_status(_S.CLOSED)
    before = (case.version, case.messages, case.actions, case.status)

    for change in (
        lambda: case.customer_message("Hello?", at=OPENED, actor="customer:cust-ada"),
        lambda: case.reply("Hello.", at=OPENED, actor="staff:grace"),
        lambda: case.record(ActionKind.REFUND, "12.00 EUR", at=OPENED, actor="staff:grace"),
        lambda: case.set_priority(CasePriority.HIGH),
        lambda: case.assign("staff:grace"),
        *(lambda s=s: case.set_status(s, at=OPENED) for s in CaseStatus if s is not _S.CLOSED),
    ):
        with pytest.raises(InvalidTransition) as refused:
            change()
        assert refused.value.state == "closed"
    assert (case.version, case.messages, case.actions, case.status) == before


@pytest.mark.parametrize("start", list(CaseStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("target", list(CaseStatus), ids=lambda s: s.value)
def test_only_the_moves_in_the_table_are_allowed(start: CaseStatus, target: CaseStatus) -> None:
    case = in_status(start)
    version = case.version
    if target is start:
        assert case.set_status(target, at=OPENED + 2 * HOUR) is False
        assert case.version == version
    elif target in TRANSITIONS[start]:
        assert case.set_status(target, at=OPENED + 2 * HOUR) is True
        assert case.status is target
        assert case.version > version
    else:
        with pytest.raises(InvalidTransition):
            case.set_status(target, at=OPENED + 2 * HOUR)
        assert (case.status, case.version) == (start, version)


def test_resolving_tells_it_once_and_owes_nothing() -> None:
    case = opened()
    case.events.clear()

    case.set_status(_S.RESOLVED, at=OPENED + HOUR)
    case.set_status(_S.RESOLVED, at=OPENED + 2 * HOUR)

    assert [type(event) for event in case.events] == [CaseResolved]
    assert case.events[0].occurred_at == OPENED + HOUR
    assert case.index().due is None
    assert case.index().state == "resolved"


def test_staff_reopening_a_case_owe_a_reply_from_then() -> None:
    case = in_status(_S.WAITING_ON_CUSTOMER)
    case.set_status(_S.OPEN, at=OPENED + 10 * HOUR)
    assert case.response_due == OPENED + 34 * HOUR  # 10 h + 24 h


def test_a_new_priority_counts_from_the_message_still_unanswered() -> None:
    case = opened()
    assert case.set_priority(CasePriority.URGENT) is True
    assert case.response_due == OPENED + HOUR
    assert case.set_priority(CasePriority.URGENT) is False

    case.reply("On it.", at=OPENED + HOUR / 2, actor="staff:grace")
    case.set_priority(CasePriority.LOW)
    assert case.response_due is None  # nothing is owed, whatever the priority


def test_a_store_sets_its_own_targets() -> None:
    targets = {**RESPONSE_TARGETS, CasePriority.NORMAL: 2 * HOUR}
    case = opened()
    case.reply("Hello.", at=OPENED, actor="staff:grace")
    case.customer_message("Hi.", at=OPENED + HOUR, actor="customer:cust-ada", targets=targets)
    assert case.response_due == OPENED + 3 * HOUR


def test_a_thread_holds_a_bounded_number_of_messages() -> None:
    case = opened()
    for n in range(MAX_ENTRIES - 1):
        case.reply(f"reply {n}", at=OPENED, actor="staff:grace")
    with pytest.raises(InvalidTransition):
        case.customer_message("one more", at=OPENED, actor="customer:cust-ada")
    assert len(case.messages) == MAX_ENTRIES


def test_the_case_events_carry_plain_values_through_the_outbox() -> None:
    case = opened()
    case.set_status(_S.RESOLVED, at=OPENED + HOUR)
    for event in case.events:
        assert event_from_dict(event_to_dict(event)) == event


@pytest.mark.parametrize("name", ["case_opened", "case_resolved"])
@pytest.mark.parametrize(
    ("locale", "day"), [("en", "December 1, 2026"), ("de", "1. Dezember 2026")]
)
def test_the_case_notices_render_the_customers_words_safely(
    name: str, locale: str, day: str
) -> None:
    data = {
        "order_id": "order-1",
        "email": "ada@example.com",
        "currency": "EUR",
        "case_id": "case-1",
        "subject": "Broken <b>handle</b> & lid",
        "order_number": "WEB-4K7Q2M9X",
        "at": OPENED,
    }

    rendered = JinjaTemplates(store_name="Retro").render(name, data, locale=locale)

    assert "case-1" in rendered.subject
    assert "\n" not in rendered.subject
    for part in (rendered.text, rendered.html):
        assert "WEB-4K7Q2M9X" in part
        assert day in part
    assert "Broken <b>handle</b> & lid" in rendered.text
    assert "Broken &lt;b&gt;handle&lt;/b&gt; &amp; lid" in rendered.html
    assert "<b>handle" not in rendered.html


# --- what was done -------------------------------------------------------------------------


def test_an_action_is_recorded_with_who_and_when() -> None:
    case = opened()
    version = case.version
    action = case.record(ActionKind.RESHIPMENT, "sent a new clock", at=OPENED, actor="staff:grace")

    assert case.actions == (action,)
    assert (action.kind, action.detail, action.at, action.actor) == (
        ActionKind.RESHIPMENT,
        "sent a new clock",
        OPENED,
        "staff:grace",
    )
    assert case.version == version + 1
    with pytest.raises(InvalidInput) as refused:
        case.record(ActionKind.OTHER, "x" * 1001, at=OPENED, actor="staff:grace")
    assert refused.value.field == "detail"


def test_an_order_notes_what_was_done_elsewhere_in_its_history() -> None:
    order = Order(
        id="order-1",
        token="t" * 43,
        cart_id="cart-1",
        email="ada@example.com",
        currency="EUR",
        lines=(),
        totals=OrderTotals(
            subtotal_units=0,
            discount_units=0,
            shipping_units=0,
            shipping_discount_units=0,
            shipping_tax_units=0,
            tax_units=0,
            grand_total_units=0,
            prices_include_tax=False,
        ),
        payment_gateway="test",
        idempotency_key="idem-1",
        fingerprint="fp",
        placed_at=OPENED,
    )

    order.note("support:refund", "case case-1: 12.00 EUR", at=OPENED, actor="staff:grace")

    entry = order.history[-1]
    assert (entry.action, entry.detail, entry.actor) == (
        "support:refund",
        "case case-1: 12.00 EUR",
        "staff:grace",
    )
    assert order.version == 1
    # An order built without a number has the one its id gives.
    assert order.number == order_number(None, "order-1")
    with pytest.raises(InvalidInput) as refused:
        order.note("x" * 65, "", at=OPENED, actor="staff:grace")
    assert refused.value.field == "action"


# --- order numbers ------------------------------------------------------------------------

CODE = re.compile(f"[{NUMBER_ALPHABET}]{{{NUMBER_LENGTH}}}")


def test_the_alphabet_leaves_out_the_characters_read_as_one_another() -> None:
    assert not set("0O1IL") & set(NUMBER_ALPHABET)
    assert len(set(NUMBER_ALPHABET)) == len(NUMBER_ALPHABET) == 31  # 8 digits, 23 letters


@given(seed=st.text(max_size=40), channel=st.none() | st.sampled_from(["web", "pos", "b2b-eu"]))
def test_a_number_names_its_channel_and_draws_a_code_from_its_seed(
    seed: str, channel: str | None
) -> None:
    number = order_number(channel, seed)
    prefix, _, code = number.rpartition("-")
    assert prefix == (channel.upper() if channel else "ORD")
    assert CODE.fullmatch(code)
    assert order_number(channel, seed) == number


def test_different_seeds_draw_different_codes() -> None:
    numbers = {order_number("web", f"seed-{n}") for n in range(10_000)}
    # 10,000 draws from 31**8 codes: a repeat has odds of about 6 in 100 million.
    assert len(numbers) == 10_000


# --- any sequence of changes ---------------------------------------------------------------


class CaseMachine(RuleBasedStateMachine):
    """Random messages, replies and moves: a reply is owed exactly while the case is
    open and a customer's message is unanswered, by the target of its priority."""

    def __init__(self) -> None:
        super().__init__()
        self.case = opened()
        self.now = OPENED
        self.closed_version: int | None = None

    def _tick(self, minutes: int) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    @rule(minutes=st.integers(0, 600))
    def customer_writes(self, minutes: int) -> None:
        at = self._tick(minutes)
        try:
            self.case.customer_message("hello", at=at, actor="customer:cust-ada")
        except InvalidTransition:
            assert self.case.status is _S.CLOSED
            return
        assert self.case.status is _S.OPEN

    @rule(minutes=st.integers(0, 600))
    def agent_replies(self, minutes: int) -> None:
        try:
            self.case.reply("hello", at=self._tick(minutes), actor="staff:grace")
        except InvalidTransition:
            assert self.case.status is _S.CLOSED

    @rule(status=st.sampled_from(CaseStatus), minutes=st.integers(0, 600))
    def move(self, status: CaseStatus, minutes: int) -> None:
        before = self.case.status
        try:
            self.case.set_status(status, at=self._tick(minutes))
        except InvalidTransition:
            assert status not in TRANSITIONS[before]
            assert status is not before
            return
        if status is _S.CLOSED and self.closed_version is None:
            self.closed_version = self.case.version

    @rule(priority=st.sampled_from(CasePriority))
    def reprioritise(self, priority: CasePriority) -> None:
        try:
            self.case.set_priority(priority)
        except InvalidTransition:
            assert self.case.status is _S.CLOSED

    @invariant()
    def a_reply_is_owed_exactly_while_open_and_unanswered(self) -> None:
        case = self.case
        owed = case.status is _S.OPEN and case.awaiting_since is not None
        assert (case.index().due is not None) is owed
        if owed:
            assert case.awaiting_since is not None
            assert case.response_due == case.awaiting_since + RESPONSE_TARGETS[case.priority]
            assert case.awaiting_since <= self.now

    @invariant()
    def closed_stays_closed(self) -> None:
        if self.closed_version is not None:
            assert self.case.status is _S.CLOSED
            assert self.case.version == self.closed_version


CaseMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
TestCaseMachine = CaseMachine.TestCase
