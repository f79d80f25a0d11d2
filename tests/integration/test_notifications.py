"""Customer notices end to end, real parts only: a store on a SQLite file (the race
between two senders on PostgreSQL too, where one is configured), the test gateway,
the sandbox carrier, and a real SMTP server (aiosmtpd) on the loopback interface.

Each notice a store sends reaches the server whole, its amounts formatted for the
channel's locale from the order's own figures; the same events delivered again send
nothing more; a mail server that is down never undoes an order, and what it missed
goes once it is back; two senders at once send each notice once. Every wait on the
network is bounded.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from commercekit import Money, StockLocation
from commercekit.adapters.clock import FixedClock
from commercekit.domain.events import DomainEvent, PaymentRefunded
from commercekit.domain.fulfilment import ShipmentStatus
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.orders import Order, OrderPaymentStatus, OrderStatus
from commercekit.store import Store
from tests.conftest import fresh_postgres_schema
from tests.services.conftest import ADDRESS, CONFIG, START, seed

#: Every wait on the network ends: the server's start, and each client exchange.
WAIT_SECONDS = 5.0
#: How long a race between two senders may take, all told.
DEADLINE = 30.0
STEP = timedelta(hours=12)
SHOP = "Retro Clocks"
ZOE = "zoe@example.com"
#: The multiplication sign the templates put between a quantity and a name.
TIMES = "\N{MULTIPLICATION SIGN}"


# --- a mail server ---------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps every email it is handed; with a ``pause``, it
    takes a moment over each (as a real server does), so that two senders overlap."""

    pause = 0.0
    #: Recipients it refuses, as a server refuses a mailbox that is full.
    refused: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self._lock = threading.Lock()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return "452 4.2.2 Mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.pause:
            time.sleep(self.pause)  # holds the server's loop: one message at a time
        with self._lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def emails(self) -> list[EmailMessage]:
        with self._lock:
            contents = [envelope.content for envelope in self.envelopes]
        found = []
        for content in contents:
            assert isinstance(content, bytes)
            message = email.message_from_bytes(content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found

    def about(self, order_id: str) -> list[EmailMessage]:
        return [m for m in self.emails() if order_id in str(m["Subject"])]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def mail_server_on(port: int, mailbox: Mailbox | None = None) -> Iterator[Mailbox]:
    mailbox = mailbox or Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ready_timeout=WAIT_SECONDS)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mailbox(port: int) -> Iterator[Mailbox]:
    with mail_server_on(port) as started:
        yield started


def parts(received: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML of an email, lines ended as the template ends them."""
    plain, html = received.get_body(("plain",)), received.get_body(("html",))
    assert isinstance(plain, EmailMessage)
    assert isinstance(html, EmailMessage)
    # SMTP carries lines ended by CRLF, and the parser keeps them as they came.
    return (
        plain.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


# --- a shop ----------------------------------------------------------------------------


def config(port: int) -> dict[str, Any]:
    return {
        **CONFIG,
        "carriers": {"sandbox": {"plugin": "sandbox", "secrets": {"webhook_secret": "whsec_x"}}},
        "notifier": {
            "plugin": "smtp",
            "options": {
                "host": "127.0.0.1",
                "port": port,
                "sender": "shop@example.com",
                "timeout": WAIT_SECONDS,
            },
        },
        "store_name": SHOP,
        "channels": [
            {"id": "de", "name": "Deutschland", "currencies": ["EUR"], "locale": "de"},
            {"id": "ie", "name": "Ireland", "currencies": ["EUR"], "locale": "en_IE"},
        ],
    }


def open_store(url: str, port: int, clock: FixedClock) -> Store:
    return Store.open(url, config=config(port), clock=clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.db'}"


def stocked(store: Store) -> Store:
    seed(store)
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin", priority=0))
    store.inventory.receive("RETRO-MUG", "berlin", 100)
    store.inventory.receive("RETRO-CLOCK", "berlin", 100)
    return store


@pytest.fixture
def store(url: str, port: int, clock: FixedClock, mailbox: Mailbox) -> Iterator[Store]:
    with open_store(url, port, clock) as opened:
        yield stocked(opened)


def order_of(
    store: Store,
    *,
    channel: str = "de",
    token: str = "tok_success",
    postal_code: str = "10119",
    email_address: str = ZOE,
    lines: dict[str, int] | None = None,
) -> Order:
    cart = store.carts.create(channel=channel)
    for sku, quantity in (lines or {"RETRO-MUG": 2, "RETRO-CLOCK": 1}).items():
        store.carts.add(cart.token, sku, quantity)
    store.checkout.set_contact(cart.token, {"email": email_address})
    store.checkout.set_shipping_address(cart.token, {**ADDRESS, "postal_code": postal_code})
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": token})
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key=f"k-{cart.id}")


def dispatched(store: Store, order_id: str) -> str:
    (shipment,) = store.fulfilment.create_shipments(order_id)
    store.fulfilment.buy_label(shipment.id, carrier="sandbox", service="standard")
    store.fulfilment.dispatch(shipment.id)
    return shipment.id


def euros(units: int, locale: str) -> str:
    """``units`` cents as Babel writes euros in ``locale``: worked out here, apart from
    the templates, so that a template showing another figure is caught."""
    return str(format_currency(Decimal(units).scaleb(-2), "EUR", locale=locale))


def notice(store: Store, key: str) -> Notice:
    found = store.notifications.find(key)
    assert found is not None, key
    return found


def mark_undelivered(url: str) -> None:
    """Leave every outbox event undelivered, as a process that stopped between a
    commit and the hand-over does."""
    database = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        with database:
            database.execute("UPDATE outbox SET delivered_at = NULL")
    finally:
        database.close()


def all_committed_events(store: Store) -> list[DomainEvent]:
    # No relay runs here, so every event ever committed is still unrelayed.
    return [event for _, event in store.storage.unrelayed_events(10_000)]


# --- each notice, through a real mail server -------------------------------------------


@pytest.mark.parametrize(
    ("channel", "locale", "total"),
    [("de", "de", "81,06\xa0€"), ("ie", "en_IE", "€81.06")],
)
def test_a_paid_order_is_confirmed_by_mail_with_every_figure_in_the_channels_format(
    store: Store, mailbox: Mailbox, channel: str, locale: str, total: str
) -> None:
    order = order_of(store, channel=channel)

    assert order.status is OrderStatus.OPEN
    (received,) = mailbox.emails()
    assert received["To"] == ZOE
    assert received["From"] == "shop@example.com"
    assert received["Subject"] == f"Your order {order.id} is confirmed"
    text, html = parts(received)
    totals = order.totals
    # 2 x 12.00 + 1 x 40.00, Post 4.90, 19 % VAT on the goods: 64.00 + 4.90 + 12.16.
    assert euros(totals.grand_total_units, locale) == total
    assert f"Subtotal: {euros(totals.subtotal_units, locale)}\n" in text
    assert f"Shipping (Post): {euros(totals.shipping_units, locale)}\n" in text
    assert f"Tax: {euros(totals.tax_units, locale)}\n" in text
    assert f"Total: {euros(totals.grand_total_units, locale)}\n" in text
    assert f"<strong>{euros(totals.grand_total_units, locale)}</strong>" in html
    assert f'<html lang="{locale.replace("_", "-")}">' in html
    assert text.endswith(f"Best wishes,\n{SHOP}\n")
    # Each line shows its unit price and what its units come to, and the lines add
    # up to the subtotal shown beneath them.
    for line in order.lines:
        shown = (
            f"- {line.quantity} {TIMES} {line.name} ({line.sku}), "
            f"{euros(line.unit_price_units, locale)} each: "
            f"{euros(line.unit_price_units * line.quantity, locale)}\n"
        )
        assert shown in text
        assert f"{euros(line.unit_price_units, locale)} each" in html
    assert sum(line.unit_price_units * line.quantity for line in order.lines) == (
        totals.subtotal_units
    )
    confirmation = notice(store, f"order_confirmation:{order.id}:{ZOE}")
    assert (confirmation.status, confirmation.attempts) == (NoticeStatus.SENT, 1)
    assert confirmation.sent_at == START


def test_the_confirmation_amounts_are_the_seeded_shops_in_german(
    store: Store, mailbox: Mailbox
) -> None:
    order = order_of(store, lines={"RETRO-MUG": 2})

    text, html = parts(mailbox.emails()[0])
    for figure in ("12,00\xa0€ each: 24,00\xa0€", "Subtotal: 24,00\xa0€", "Tax: 4,56\xa0€"):
        assert figure in text
    assert "Total: 33,46\xa0€" in text
    assert "<strong>33,46\xa0€</strong>" in html
    assert order.totals.grand_total_units == 3346


def test_a_declined_payment_tells_the_customer_the_amount_it_could_not_take(
    store: Store, mailbox: Mailbox
) -> None:
    order = order_of(store, token="tok_declined")

    assert order.payment_status is not OrderPaymentStatus.AUTHORIZED
    (received,) = mailbox.emails()
    assert received["To"] == ZOE
    assert received["Subject"] == f"Payment for your order {order.id} did not go through"
    text, html = parts(received)
    amount = euros(order.totals.grand_total_units, "de")
    assert amount == "81,06\xa0€"
    assert f"We could not take the payment of {amount} for your order {order.id}." in text
    assert f"<strong>{amount}</strong>" in html
    assert "card_declined" in text
    assert store.notifications.find(f"order_confirmation:{order.id}:{ZOE}") is None


def test_a_dispatched_parcel_is_announced_with_its_tracking_number_and_link(
    store: Store, mailbox: Mailbox
) -> None:
    order = order_of(store, lines={"RETRO-CLOCK": 1})

    shipment_id = dispatched(store, order.id)

    shipment = store.fulfilment.get(shipment_id)
    assert shipment.tracking_number
    assert shipment.tracking_url.startswith("https://")
    confirmation, announced = mailbox.about(order.id)
    assert confirmation["Subject"] == f"Your order {order.id} is confirmed"
    assert announced["To"] == ZOE
    assert announced["Subject"] == f"Your order {order.id} is on its way"
    text, html = parts(announced)
    assert f"Tracking number: {shipment.tracking_number}\n" in text
    assert f"Track it: {shipment.tracking_url}\n" in text
    assert f"- 1 {TIMES} Retro clock (RETRO-CLOCK)\n" in text
    assert f"Tracking number: {shipment.tracking_number}</p>" in html
    assert f'<a href="{shipment.tracking_url}"' in html


def test_a_delivered_parcel_is_told_once_as_the_tracking_reaches_the_door(
    store: Store, mailbox: Mailbox, clock: FixedClock
) -> None:
    order = order_of(store, lines={"RETRO-MUG": 1})
    shipment_id = dispatched(store, order.id)

    for _ in range(6):  # two more than the sandbox takes: nothing is told twice
        clock.advance(STEP)
        store.fulfilment.refresh_tracking()

    shipment = store.fulfilment.get(shipment_id)
    assert shipment.status is ShipmentStatus.DELIVERED
    assert shipment.delivered_at is not None
    subjects = [m["Subject"] for m in mailbox.about(order.id)]
    assert subjects == [
        f"Your order {order.id} is confirmed",
        f"Your order {order.id} is on its way",
        f"Your order {order.id} has been delivered",
    ]
    delivered = mailbox.about(order.id)[-1]
    assert delivered["To"] == ZOE
    text, html = parts(delivered)
    when = format_datetime(shipment.delivered_at, format="medium", locale="de")
    assert f"Your shipment {shipment_id} of order {order.id} was delivered on {when}." in text
    assert f"was delivered on {when}." in html
    assert f"- 1 {TIMES} Retro mug (RETRO-MUG)\n" in text


def test_a_lost_parcel_is_told_as_a_delivery_problem(
    store: Store, mailbox: Mailbox, clock: FixedClock
) -> None:
    order = order_of(store, lines={"RETRO-MUG": 1}, postal_code="99903")  # the sandbox loses it
    shipment_id = dispatched(store, order.id)

    for _ in range(8):
        clock.advance(STEP)
        store.fulfilment.refresh_tracking()

    shipment = store.fulfilment.get(shipment_id)
    assert shipment.status is ShipmentStatus.EXCEPTION
    problem = mailbox.about(order.id)[-1]
    assert len(mailbox.about(order.id)) == 3
    assert problem["To"] == ZOE
    assert problem["Subject"] == f"A problem with the delivery of your order {order.id}"
    text, html = parts(problem)
    assert f"shipment {shipment_id} of your order {order.id}: exception." in text
    assert "lost: the parcel cannot be found" in text
    assert f"Follow it here: {shipment.tracking_url}\n" in text
    assert f'<a href="{shipment.tracking_url}"' in html
    assert "lost: the parcel cannot be found" in html


def test_each_refund_is_told_with_the_amount_given_back(store: Store, mailbox: Mailbox) -> None:
    order = order_of(store)
    store.payments.capture(order.id)

    store.payments.refund(order.id, Money("12.34", "EUR"))
    store.payments.refund(order.id, Money("12.34", "EUR"))  # a second one, told too

    refunds = [m for m in mailbox.about(order.id) if "refund" in str(m["Subject"])]
    assert len(refunds) == 2
    told = [e for e in all_committed_events(store) if isinstance(e, PaymentRefunded)]
    assert [e.amount_units for e in told] == [1234, 1234]
    for received, event in zip(refunds, told, strict=True):
        # The day the gateway gave the money back (the test gateway keeps its own time).
        day = format_date(event.occurred_at, format="long", locale="de")
        assert received["To"] == ZOE
        assert received["Subject"] == f"Your refund for order {order.id}"
        text, html = parts(received)
        assert f"We have refunded 12,34\xa0€ for your order {order.id} on {day}." in text
        assert "<strong>12,34\xa0€</strong>" in html
    assert refunds[0]["Message-ID"] != refunds[1]["Message-ID"]


# --- at most once ----------------------------------------------------------------------


def a_whole_story(store: Store, clock: FixedClock) -> list[Order]:
    """Orders that call for every notice: a confirmation, a declined payment, a
    parcel dispatched and delivered, a lost one, a refund; and a second customer."""
    delivered = order_of(store, lines={"RETRO-MUG": 1})
    lost = order_of(store, lines={"RETRO-CLOCK": 1}, postal_code="99903")
    declined = order_of(store, token="tok_declined")
    other = order_of(store, email_address="yusuf@example.com", channel="ie")
    for order in (delivered, lost):
        dispatched(store, order.id)
    for _ in range(8):
        clock.advance(STEP)
        store.fulfilment.refresh_tracking()
    store.payments.capture(other.id)
    store.payments.refund(other.id, Money("5.00", "EUR"))
    return [delivered, lost, declined, other]


def test_the_same_events_delivered_again_send_nothing_more(
    store: Store, mailbox: Mailbox, clock: FixedClock, url: str, port: int
) -> None:
    a_whole_story(store, clock)
    sent = mailbox.emails()
    assert len(sent) == 9  # 3 confirmations, 1 declined, 2 dispatched, delivered, lost, refund
    events = all_committed_events(store)

    # Handed to the notifications again, as a subscriber would be.
    assert store.notifications.on_events(events) == 0
    # The process stopped before it marked them delivered: delivered again.
    mark_undelivered(url)
    assert store.deliver_events() == len(events)
    # And by another process on the same database.
    mark_undelivered(url)
    with open_store(url, port, clock) as other:
        assert other.deliver_events() == len(events)
        assert other.notifications.send_due() == 0

    again = mailbox.emails()
    assert [m["Message-ID"] for m in again] == [m["Message-ID"] for m in sent]
    assert len({m["Message-ID"] for m in again}) == len(again)
    assert Counter(m["To"] for m in again) == {ZOE: 7, "yusuf@example.com": 2}


# --- a mail server that is down ----------------------------------------------------------


def test_a_mail_server_that_is_down_never_undoes_an_order_and_what_it_missed_goes_later(
    url: str, clock: FixedClock
) -> None:
    port = free_port()  # nothing listens there yet
    with open_store(url, port, clock) as store:
        stocked(store)

        order = order_of(store)

        assert order.status is OrderStatus.OPEN
        assert store.orders.get(order.id).payment_status is OrderPaymentStatus.AUTHORIZED
        key = f"order_confirmation:{order.id}:{ZOE}"
        failed = notice(store, key)
        assert (failed.status, failed.attempts) == (NoticeStatus.FAILED, 1)
        assert "did not take the 'order_confirmation' message" in failed.last_error
        assert f"127.0.0.1:{port}" in failed.last_error

        # The store goes on while the server is down; a failed notice waits for
        # send_due and is not tried again on every change others commit.
        second = order_of(store, email_address="yusuf@example.com")
        assert second.status is OrderStatus.OPEN
        assert notice(store, key).attempts == 1
        assert store.notifications.send_due() == 0
        assert notice(store, key).attempts == 2

        with mail_server_on(port) as mailbox:
            assert store.notifications.send_due() == 2
            assert store.notifications.send_due() == 0
            store.deliver_events()  # nothing left to deliver, nothing sent twice

            received = mailbox.emails()

        assert sorted(m["To"] for m in received) == ["yusuf@example.com", ZOE]
        assert {m["Subject"] for m in received} == {
            f"Your order {order.id} is confirmed",
            f"Your order {second.id} is confirmed",
        }
        sent = notice(store, key)
        assert (sent.status, sent.attempts, sent.last_error) == (NoticeStatus.SENT, 3, "")
        assert sent.sent_at == START


def test_notices_that_keep_failing_do_not_hold_back_those_behind_them(
    url: str, clock: FixedClock
) -> None:
    port = free_port()  # nothing listens there yet
    full = "full@example.com"
    with open_store(url, port, clock) as store:
        stocked(store)
        order = order_of(store)
        key = f"order_confirmation:{order.id}:{ZOE}"
        assert notice(store, key).status is NoticeStatus.FAILED
        # Older notices, more than the sender reads at a time, to a mailbox that is
        # full: each try fails, and each is tried again later.
        with store.storage.unit_of_work() as uow:
            for number in range(120):
                uow.notices.add(
                    Notice(
                        id=f"order_confirmation:ord_{number:03}:{full}",
                        recipient=full,
                        template="order_confirmation",
                        subject=f"Your order ord_{number:03} is confirmed",
                        text="Thank you.\n",
                        html="<p>Thank you.</p>\n",
                        created_at=START - timedelta(days=1),
                    )
                )
            uow.commit()
        mailbox = Mailbox()
        mailbox.refused = frozenset({full})

        with mail_server_on(port, mailbox):
            assert store.notifications.send_due() == 1

        (received,) = mailbox.emails()
        assert received["Subject"] == f"Your order {order.id} is confirmed"
        assert notice(store, key).status is NoticeStatus.SENT
        for number in (0, 99, 100, 119):  # each tried once, and due again
            waiting = notice(store, f"order_confirmation:ord_{number:03}:{full}")
            assert (waiting.status, waiting.attempts) == (NoticeStatus.FAILED, 1)
            assert "refused the recipient" in waiting.last_error


# --- two senders at once ---------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def race_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'race.db'}"
    else:
        with fresh_postgres_schema() as scoped:
            yield scoped


@pytest.mark.parametrize("shared", [True, False], ids=["one store", "a store each"])
def test_two_senders_at_once_send_each_notice_once(
    race_url: str, clock: FixedClock, shared: bool
) -> None:
    port = free_port()
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(open_store(race_url, port, clock))
        stocked(first)
        orders = [order_of(first, email_address=f"buyer{n}@example.com") for n in range(5)]
        keys = [f"order_confirmation:{o.id}:buyer{n}@example.com" for n, o in enumerate(orders)]
        assert {notice(first, key).status for key in keys} == {NoticeStatus.FAILED}
        second = first if shared else stack.enter_context(open_store(race_url, port, clock))
        mailbox = Mailbox()
        mailbox.pause = 0.02
        stack.enter_context(mail_server_on(port, mailbox))

        start = threading.Barrier(2, timeout=WAIT_SECONDS)
        sent: list[int] = []
        errors: list[BaseException] = []

        def send(store: Store) -> None:
            try:
                start.wait()
                sent.append(store.notifications.send_due())
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)

        threads = [threading.Thread(target=send, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + DEADLINE
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(thread.is_alive() for thread in threads), "the senders did not finish"

        assert errors == []
        assert sum(sent) == len(keys)
        received = mailbox.emails()
        assert sorted(m["To"] for m in received) == sorted(
            f"buyer{n}@example.com" for n in range(5)
        )
        assert len({m["Message-ID"] for m in received}) == len(keys)
        for key in keys:
            settled = notice(first, key)
            assert (settled.status, settled.attempts) == (NoticeStatus.SENT, 2)
