"""Customer service on a real store (memory, and a SQLite file): order numbers per
channel, "where is my order" for whoever holds a number and its email, support cases
with their threads, the replies owed and overdue as the clock moves, the actions
recorded on a case and its order, and the notices a customer is sent."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from commercekit import StockLocation
from commercekit.adapters.clock import FixedClock, RandomIds
from commercekit.adapters.storage.sql._database import SCRIPT_LOCATION
from commercekit.domain.access import Permission
from commercekit.domain.errors import (
    AccessDenied,
    CommerceError,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from commercekit.domain.fulfilment import ShipmentStatus
from commercekit.domain.notifications import NoticeStatus
from commercekit.domain.orders import NUMBER_ALPHABET, Order, order_number
from commercekit.domain.shipping import TrackingStatus
from commercekit.domain.support import (
    ActionKind,
    AuthorKind,
    CaseChannel,
    CasePriority,
    CaseStatus,
    SupportCase,
)
from commercekit.store import Store
from tests.conftest import fresh_postgres_schema
from tests.services.conftest import ADDRESS, CONFIG, START, seed

HOUR = timedelta(hours=1)
ADA = "customer-ada"
WEB_NUMBER = re.compile(f"WEB-[{NUMBER_ALPHABET}]{{8}}")


class ScriptedIds(RandomIds):
    """Random ids and tokens, except the tokens a test scripts next."""

    def __init__(self) -> None:
        self.script: list[str] = []

    def new_token(self) -> str:
        return self.script.pop(0) if self.script else super().new_token()


def support_config(outbox: Path) -> dict[str, Any]:
    return {
        **CONFIG,
        "carriers": {"sandbox": {"plugin": "sandbox", "secrets": {"webhook_secret": "whsec_s"}}},
        "notifier": {"plugin": "file", "options": {"directory": str(outbox)}},
        "channels": [{"id": "web", "name": "Web shop", "currencies": ["EUR"]}],
    }


@pytest.fixture
def ids() -> ScriptedIds:
    return ScriptedIds()


@pytest.fixture
def store(store_url: str, clock: FixedClock, ids: ScriptedIds, tmp_path: Path) -> Iterator[Store]:
    with Store.open(
        store_url, config=support_config(tmp_path / "outbox"), clock=clock, ids=ids
    ) as opened:
        seed(opened)
        opened.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        opened.inventory.receive("RETRO-MUG", "berlin", 100)
        opened.customers.register(ADA, {"email": "ada@example.com", "name": "Ada"})
        yield opened


def ready(store: Store, *, email: str, customer_id: str | None) -> str:
    """The token of a cart holding a mug, its checkout complete."""
    cart = store.carts.create("EUR", customer_id=customer_id)
    store.carts.add(cart.token, "RETRO-MUG", 1)
    store.checkout.set_contact(cart.token, {"email": email})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return cart.token


def place(store: Store, *, email: str = "zoe@example.com", customer_id: str | None = None) -> Order:
    token = ready(store, email=email, customer_id=customer_id)
    return store.checkout.place_order(token, idempotency_key=f"key-{token[:12]}")


def refusal(call: Callable[[], object]) -> CommerceError:
    with pytest.raises(CommerceError) as caught:
        call()
    return caught.value


# --- order numbers ------------------------------------------------------------------------


def test_an_order_gets_a_number_of_its_channel_that_staff_find_it_by(store: Store) -> None:
    first, second = place(store), place(store)

    assert WEB_NUMBER.fullmatch(first.number)
    assert WEB_NUMBER.fullmatch(second.number)
    assert first.number != second.number
    assert store.orders.get(first.id).number == first.number
    # As a customer reads it out: any case, spaces around.
    assert store.orders.by_number(f" {first.number.lower()} ").id == first.id
    unknown = refusal(lambda: store.orders.by_number("WEB-22222222"))
    assert (type(unknown), unknown.field) == (NotFound, "number")


def test_staff_search_orders_by_number_start_email_and_status(
    store: Store, clock: FixedClock
) -> None:
    placed = []
    for email in ("Zoe@Example.com", "bob@example.com", "zoe@example.com"):
        placed.append(place(store, email=email))
        clock.advance(timedelta(minutes=1))
    cancelled = store.orders.cancel(placed[1].id, "changed their mind")

    def numbers(text: str = "", **filters: Any) -> list[str]:
        return [order.number for order in store.orders.search(text, **filters)]

    newest_first = [order.number for order in reversed(placed)]
    assert numbers() == newest_first
    # Any spelling of the email, as the store keys emails.
    assert numbers(" ZOE@example.COM ") == [placed[2].number, placed[0].number]
    # The start of a number, in any case.
    assert numbers(placed[0].number[:9].lower()) == [
        n for n in newest_first if n.startswith(placed[0].number[:9])
    ]
    assert numbers(placed[0].number) == [placed[0].number]
    assert numbers("WEB-%") == []
    assert numbers(status="cancelled") == [cancelled.number]
    assert numbers("bob@example.com", status="open") == []
    assert numbers(limit="1") == newest_first[:1]
    for bad, field in (("\x00", "text"), ("x" * 321, "text")):
        error = refusal(lambda bad=bad: store.orders.search(bad))
        assert (type(error), error.field) == (InvalidInput, field)
    error = refusal(lambda: store.orders.search(status="lost"))
    assert (type(error), error.field) == (InvalidInput, "status")


def test_staff_see_the_cases_of_a_status_oldest_first(store: Store, clock: FixedClock) -> None:
    first = store.support.open_case("Parcel late", "Still waiting.", email="zoe@example.com")
    clock.advance(HOUR)
    second = store.support.open_case("Wrong size", "Too small.", email="bob@example.com")
    store.support.set_status(first.id, "resolved")

    assert [c.id for c in store.support.in_status("open")] == [second.id]
    assert [c.id for c in store.support.in_status(CaseStatus.RESOLVED)] == [first.id]
    error = refusal(lambda: store.support.in_status("lost"))
    assert (type(error), error.field) == (InvalidInput, "status")


def test_a_store_without_channels_numbers_its_orders_ord(tmp_path: Path) -> None:
    with Store.open("memory://", config=CONFIG, clock=FixedClock(START)) as plain:
        seed(plain)
        plain.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        plain.inventory.receive("RETRO-MUG", "berlin", 5)
        assert place(plain).number.startswith("ORD-")


def test_a_number_drawn_twice_is_drawn_again(store: Store, ids: ScriptedIds) -> None:
    # Each placement draws the order's token, then the seed of its number.
    carts = [ready(store, email="zoe@example.com", customer_id=None) for _ in range(2)]
    ids.script = ["token-1", "seed-1"]
    first = store.checkout.place_order(carts[0], idempotency_key="first")
    ids.script = ["token-2", "seed-1", "token-3", "seed-2"]
    second = store.checkout.place_order(carts[1], idempotency_key="second")

    assert first.number == order_number("web", "seed-1")
    # The unique index refused the first draw; the retry drew again.
    assert second.number == order_number("web", "seed-2")
    assert store.orders.by_number(second.number).id == second.id


# --- where is my order --------------------------------------------------------------------


def test_where_is_my_order_shows_the_journey_of_each_shipment(
    store: Store, clock: FixedClock
) -> None:
    order = place(store)
    (shipment,) = store.fulfilment.create_shipments(order.id)
    store.fulfilment.buy_label(shipment.id, carrier="sandbox", service="standard")
    store.fulfilment.dispatch(shipment.id)
    for _ in range(2):
        clock.advance(12 * HOUR)
        store.fulfilment.refresh_tracking()

    # The email in another spelling is the same address.
    seen = store.as_shopper().orders.where_is_my_order(order.number, " ZOE+parcel@Example.com")

    labelled = store.fulfilment.get(shipment.id)
    assert (seen.number, seen.status.value, seen.payment_status.value) == (
        order.number,
        "open",
        "authorized",
    )
    assert seen.fulfilment_status.value == "shipped"
    assert seen.placed_at == order.placed_at
    (tracked,) = seen.shipments
    assert tracked.status is ShipmentStatus.IN_TRANSIT
    assert tracked.carrier == "sandbox"
    assert tracked.tracking_number == labelled.tracking_number != ""
    assert tracked.tracking_url == labelled.tracking_url != ""
    assert [event.status for event in tracked.timeline] == [
        TrackingStatus.LABEL_CREATED,
        TrackingStatus.PICKED_UP,
        TrackingStatus.IN_TRANSIT,
    ]
    assert tracked.dispatched_at == START


def test_a_wrong_number_a_wrong_email_and_both_are_told_alike(store: Store) -> None:
    order = place(store)
    place(store, email="bob@example.com")
    guest = store.as_shopper()
    wrong_pairs = [
        ("WEB-22222222", "zoe@example.com"),  # no such number
        (order.number, "bob@example.com"),  # another customer's email
        (order.number, "zoe@example.org"),
        ("WEB-22222222", "nobody@example.com"),
    ]

    answers = set()
    for number, email in wrong_pairs:
        error = refusal(lambda n=number, e=email: guest.orders.where_is_my_order(n, e))
        assert isinstance(error, NotFound)
        answers.add((error.code, str(error), error.field))
    assert answers == {("not_found", "number: no order 'for this number and email'", "number")}
    assert guest.orders.where_is_my_order(order.number, "zoe@example.com").number == order.number


@pytest.mark.parametrize(
    ("number", "email", "field"),
    [
        ("WEB-\x00", "zoe@example.com", "number"),
        ("", "zoe@example.com", "number"),
        ("W" * 256, "zoe@example.com", "number"),
        ("WEB-22222222", "zoe\ud800@example.com", "email"),
        ("WEB-22222222", "z" * 321, "email"),
        ("WEB-22222222", None, "email"),
    ],
)
def test_where_is_my_order_checks_both_at_its_door(
    store: Store, number: Any, email: Any, field: str
) -> None:
    error = refusal(lambda: store.orders.where_is_my_order(number, email))
    assert (type(error), error.field) == (InvalidInput, field)


# --- cases --------------------------------------------------------------------------------


def test_a_customer_opens_a_case_about_their_order(store: Store) -> None:
    order = place(store, customer_id=ADA, email="ada.orders@example.com")

    case = store.support.open_case(
        "Where is my mug?",
        "It was due on Monday.",
        customer_id=ADA,
        channel="email",
        order_id=order.id,
    )

    stored = store.support.get(case.id)
    assert (stored.customer_id, stored.order_id, stored.channel) == (
        ADA,
        order.id,
        CaseChannel.EMAIL,
    )
    assert stored.email == "ada@example.com"  # the customer's record, not the order's
    assert stored.response_due == START + 24 * HOUR
    assert [c.id for c in store.support.for_customer(ADA)] == [case.id]
    assert [c.id for c in store.support.for_order(order.id)] == [case.id]


def test_a_guests_case_is_theirs_by_email_in_any_spelling(store: Store) -> None:
    order = place(store)
    case = store.support.open_case(
        "Broken handle", "The handle came off.", email="Zoe@Example.com", order_id=order.id
    )

    assert [c.id for c in store.support.for_email("zoe+mugs@example.com")] == [case.id]
    store.support.customer_message(case.id, "Photo attached.", email="ZOE@example.com")
    assert [m.body for m in store.support.get(case.id).messages][-1] == "Photo attached."
    stranger = refusal(
        lambda: store.support.customer_message(case.id, "Mine?", email="bob@example.com")
    )
    missing = refusal(
        lambda: store.support.customer_message("case_none", "Mine?", email="zoe@example.com")
    )
    assert type(stranger) is type(missing) is NotFound
    assert stranger.field == missing.field == "case_id"


def test_a_case_about_someone_elses_order_is_refused_as_a_missing_one(store: Store) -> None:
    theirs = place(store, email="bob@example.com")

    for order_id in (theirs.id, "order_none"):
        error = refusal(
            lambda o=order_id: store.support.open_case(
                "Where?", "Hello", email="zoe@example.com", order_id=o
            )
        )
        assert (type(error), error.field, error.message) == (
            NotFound,
            "order_id",
            f"no order {order_id!r}",
        )
    assert store.support.for_email("zoe@example.com") == []


def test_a_case_about_a_shipment_is_about_its_order(store: Store) -> None:
    order = place(store)
    other = place(store)
    (shipment,) = store.fulfilment.create_shipments(order.id)

    case = store.support.open_case(
        "Damaged", "Box crushed.", email="zoe@example.com", shipment_id=shipment.id
    )
    assert (case.order_id, case.shipment_id) == (order.id, shipment.id)

    mismatch = refusal(
        lambda: store.support.open_case(
            "Damaged",
            "Box crushed.",
            email="zoe@example.com",
            order_id=other.id,
            shipment_id=shipment.id,
        )
    )
    assert (type(mismatch), mismatch.field) == (NotFound, "shipment_id")


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({}, "customer_id"),
        ({"customer_id": ADA, "email": "ada@example.com"}, "email"),
        ({"email": "not an address"}, "email"),
        ({"email": "zoe@example.com", "channel": "fax"}, "channel"),
        ({"email": "zoe@example.com", "priority": "whenever"}, "priority"),
        ({"email": "zoe@example.com", "order_id": ""}, "order_id"),
        ({"email": "zoe@example.com", "return_id": "\x00"}, "return_id"),
    ],
)
def test_opening_a_case_checks_each_argument(
    store: Store, arguments: dict[str, Any], field: str
) -> None:
    error = refusal(lambda: store.support.open_case("Hello", "Hi", **arguments))
    assert (type(error), error.field) == (InvalidInput, field)
    long_body = refusal(lambda: store.support.open_case("Hi", "x" * 10_001, customer_id=ADA))
    assert long_body.field == "body"


def test_statuses_move_as_the_case_allows_and_closed_is_final(store: Store) -> None:
    case = store.support.open_case("Hello", "Hi", customer_id=ADA)

    store.support.set_status(case.id, "waiting_on_customer")
    assert store.support.get(case.id).response_due is None
    store.support.customer_message(case.id, "Here is the photo.", customer_id=ADA)
    assert store.support.get(case.id).status is CaseStatus.OPEN
    store.support.set_status(case.id, CaseStatus.RESOLVED)
    store.support.set_status(case.id, "closed")

    for call in (
        lambda: store.support.set_status(case.id, "open"),
        lambda: store.support.reply(case.id, "Hello again"),
        lambda: store.support.customer_message(case.id, "Hello?", customer_id=ADA),
    ):
        assert isinstance(refusal(call), InvalidTransition)
    assert store.support.get(case.id).status is CaseStatus.CLOSED


def test_priority_and_agent_are_kept(store: Store) -> None:
    case = store.support.open_case("Hello", "Hi", customer_id=ADA)

    store.support.set_priority(case.id, "high")
    store.support.assign(case.id, "grace")

    stored = store.support.get(case.id)
    assert (stored.priority, stored.assignee) == (CasePriority.HIGH, "grace")
    assert stored.response_due == START + 4 * HOUR


# --- overdue ------------------------------------------------------------------------------


def test_the_overdue_list_follows_the_clock_most_overdue_first(
    store: Store, clock: FixedClock
) -> None:
    def opened(priority: str) -> str:
        return store.support.open_case(priority, "Hi", customer_id=ADA, priority=priority).id

    normal, high, urgent = opened("normal"), opened("high"), opened("urgent")

    def overdue() -> list[str]:
        return [case.id for case in store.support.overdue()]

    assert overdue() == []
    clock.advance(2 * HOUR)  # 11:00: urgent was owed at 10:00
    assert overdue() == [urgent]
    clock.advance(3 * HOUR)  # 14:00: high was owed at 13:00
    assert overdue() == [urgent, high]
    store.support.reply(urgent, "On it.")
    assert overdue() == [high]
    clock.advance(20 * HOUR)  # the next day 10:00: normal was owed at 09:00
    assert overdue() == [high, normal]
    store.support.set_status(high, "resolved")
    store.support.customer_message(urgent, "Still nothing.", customer_id=ADA)
    assert overdue() == [normal]
    clock.advance(HOUR + timedelta(seconds=1))  # a reply to urgent was owed an hour on
    assert overdue() == [normal, urgent]
    assert [case.id for case in store.support.overdue(limit=1)] == [normal]


def test_the_reply_of_one_agent_clears_what_was_owed(store: Store) -> None:
    case = store.support.open_case("Hello", "Hi", customer_id=ADA)

    replied = store.as_staff("grace", [Permission.SUPPORT]).support.reply(case.id, "Hello Ada")

    assert replied.response_due is None
    assert [(m.author_kind, m.author) for m in replied.messages] == [
        (AuthorKind.CUSTOMER, "customer"),
        (AuthorKind.AGENT, "staff:grace"),
    ]


# --- actions ------------------------------------------------------------------------------


def test_an_action_is_recorded_on_the_case_and_in_its_orders_history(store: Store) -> None:
    order = place(store)
    case = store.support.open_case("Broken", "Broken.", email="zoe@example.com", order_id=order.id)
    store.payments.capture(order.id)

    grace = store.as_staff("grace", [Permission.SUPPORT])
    grace.support.record_action(case.id, "refund", "refunded 12.00 EUR")

    (action,) = store.support.get(case.id).actions
    assert (action.kind, action.detail, action.actor) == (
        ActionKind.REFUND,
        "refunded 12.00 EUR",
        "staff:grace",
    )
    entry = store.orders.get(order.id).history[-1]
    assert (entry.action, entry.detail, entry.actor) == (
        "support:refund",
        f"case {case.id}: refunded 12.00 EUR",
        "staff:grace",
    )


def test_an_action_on_a_case_without_an_order_stays_on_the_case(store: Store) -> None:
    case = store.support.open_case("Question", "Do you ship to Norway?", customer_id=ADA)
    store.support.record_action(case.id, ActionKind.OTHER, "pointed to the shipping page")
    assert [a.kind for a in store.support.get(case.id).actions] == [ActionKind.OTHER]


# --- notices ------------------------------------------------------------------------------


def test_the_customer_is_told_a_case_was_opened_and_resolved(
    store: Store, clock: FixedClock
) -> None:
    order = place(store)
    case = store.support.open_case(
        "Broken", "Broken.", email="zoe+shop@example.com", order_id=order.id
    )
    store.support.set_status(case.id, "resolved")

    opened = store.notifications.find(f"case_opened:{case.id}:zoe@example.com")
    resolved = store.notifications.find(
        f"case_resolved:{case.id}:{START.isoformat()}:zoe@example.com"
    )
    assert opened is not None
    assert resolved is not None
    assert (opened.status, resolved.status) == (NoticeStatus.SENT, NoticeStatus.SENT)
    assert opened.recipient == "zoe+shop@example.com"
    assert opened.subject == f"We have your message: Broken (case {case.id})"
    assert order.number in opened.text
    assert f"Your case {case.id} is resolved" in resolved.subject

    # Reopened by the customer and resolved again: told again.
    store.support.customer_message(case.id, "It broke again.", email="zoe@example.com")
    clock.advance(HOUR)
    store.support.set_status(case.id, "resolved")
    again = f"case_resolved:{case.id}:{(START + HOUR).isoformat()}:zoe@example.com"
    assert store.notifications.find(again) is not None


def test_a_notice_resent_from_a_case_goes_again_and_is_recorded(store: Store) -> None:
    order = place(store)
    case = store.support.open_case("No email", "Nothing came.", email="zoe@example.com")
    key = f"order_confirmation:{order.id}:zoe@example.com"
    sent = store.notifications.find(key)
    assert sent is not None

    copy = store.as_staff("grace", [Permission.SUPPORT]).support.resend_notification(case.id, key)
    again = store.support.resend_notification(case.id, key)

    assert copy.id != again.id
    assert (copy.status, copy.subject, copy.text) == (NoticeStatus.SENT, sent.subject, sent.text)
    actions = store.support.get(case.id).actions
    assert [(a.kind, a.detail, a.actor) for a in actions] == [
        (ActionKind.NOTIFICATION_RESENT, f"notice {key}", "staff:grace"),
        (ActionKind.NOTIFICATION_RESENT, f"notice {key}", "staff"),
    ]
    # A notice to another address is not this case's to send.
    other = place(store, email="bob@example.com")
    theirs = refusal(
        lambda: store.support.resend_notification(
            case.id, f"order_confirmation:{other.id}:bob@example.com"
        )
    )
    assert (type(theirs), theirs.field) == (NotFound, "key")
    assert len(store.support.get(case.id).actions) == 2


# --- who may ------------------------------------------------------------------------------


def test_a_shopper_opens_and_writes_to_their_own_cases_only(store: Store) -> None:
    order = place(store, customer_id=ADA, email="ada@example.com")
    ada, bob = store.as_shopper(ADA), store.as_shopper("customer-bob")

    case = ada.support.open_case("Late", "Where is it?", customer_id=ADA, order_id=order.id)
    ada.support.customer_message(case.id, "Any news?", customer_id=ADA)

    assert ada.support.get(case.id).messages[-1].author == f"customer:{ADA}"
    for call in (
        lambda: bob.support.get(case.id),
        lambda: bob.support.customer_message(case.id, "Hi", customer_id=ADA),
        lambda: bob.support.open_case("Late", "Hi", customer_id=ADA),
        lambda: ada.support.open_case("Now!", "Hi", customer_id=ADA, priority="urgent"),
        lambda: ada.support.reply(case.id, "I answer myself"),
        lambda: ada.support.overdue(),
        lambda: store.as_shopper().support.open_case("Hi", "Hi", email="ada@example.com"),
        lambda: store.as_staff("sam", [Permission.ORDERS]).support.reply(case.id, "Hi"),
    ):
        assert isinstance(refusal(call), AccessDenied)
    bobs_order = refusal(
        lambda: bob.support.open_case("Mine", "Hi", customer_id="customer-bob", order_id=order.id)
    )
    assert (type(bobs_order), bobs_order.field) == (NotFound, "order_id")
    assert len(store.support.get(case.id).messages) == 2


def test_support_targets_come_from_the_configuration(tmp_path: Path) -> None:
    config = {**CONFIG, "support_response_hours": {"normal": 2, "low": 100}}
    with Store.open("memory://", config=config, clock=FixedClock(START)) as configured:
        case = configured.support.open_case("Hi", "Hi", email="zoe@example.com")
        assert case.response_due == START + 2 * HOUR
        urgent = configured.support.open_case(
            "Hi", "Hi", email="zoe@example.com", priority="urgent"
        )
        assert urgent.response_due == START + HOUR  # the default stands
    for wrong in ({"normal": 0}, {"soon": 2}):
        with pytest.raises(InvalidInput):
            Store.open("memory://", config={**CONFIG, "support_response_hours": wrong})


# --- the migration ------------------------------------------------------------------------


def test_orders_placed_before_numbers_get_one_from_their_id(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with Store.open(url, config=support_config(tmp_path / "outbox"), clock=FixedClock(START)) as s:
        seed(s)
        s.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        s.inventory.receive("RETRO-MUG", "berlin", 10)
        ids = [place(s).id for _ in range(3)]
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", url)
    command.downgrade(config, "0013")
    command.upgrade(config, "0014")

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = dict(connection.execute(sa.text("SELECT id, number FROM orders")).all())
    finally:
        engine.dispose()
    assert rows == {order_id: order_number("web", order_id) for order_id in ids}
    with Store.open(url, config=support_config(tmp_path / "outbox")) as reopened:
        assert reopened.orders.by_number(rows[ids[0]]).id == ids[0]


# --- two agents at once -------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        with Store.open(f"sqlite:///{tmp_path / 'race.db'}", config=CONFIG) as opened:
            yield opened
        return
    with fresh_postgres_schema() as url, Store.open(url, config=CONFIG) as opened:
        yield opened


def test_two_agents_replying_at_once_both_land(
    shared_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = shared_store.support.open_case("Hello", "Anyone there?", email="zoe@example.com")
    # Each agent's first try waits until both have read the case: one of them then
    # loses the version check and tries again on the case as the other left it.
    both_read = threading.Barrier(2, timeout=10)
    tries: list[str] = []
    waited = threading.local()
    reply = SupportCase.reply

    def reply_together(self: SupportCase, body: str, **kwargs: Any) -> None:
        tries.append(body)
        if not getattr(waited, "done", False):
            waited.done = True
            both_read.wait()
        reply(self, body, **kwargs)

    monkeypatch.setattr(SupportCase, "reply", reply_together)
    failures: list[BaseException] = []

    def agent(name: str) -> None:
        try:
            shared_store.as_staff(name, [Permission.SUPPORT]).support.reply(case.id, f"from {name}")
        except BaseException as error:  # reported below, with the thread's name
            failures.append(error)

    threads = [threading.Thread(target=agent, args=(name,)) for name in ("grace", "kim")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    thread_ = shared_store.support.get(case.id).messages
    assert sorted((m.author, m.body) for m in thread_[1:]) == [
        ("staff:grace", "from grace"),
        ("staff:kim", "from kim"),
    ]
    assert len(tries) == 3  # two first tries, and the loser's second
