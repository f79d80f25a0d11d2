"""Abandoned carts on a real store (memory, a SQLite file, and PostgreSQL when there
is one): a cart left idle is reminded once its idle time has passed, at most once
per interval, never after it became an order; its link opens it again (with the
store's coupon), and the order that follows counts as recovered with its revenue.
A reminder the notifier could not take is sent later, once, unless the shopper said
no meanwhile; two sweeps at once write each reminder once, and a crowd opening their
links at once all get their carts. A guest's address answers for a customer's word,
and every reminder carries a link that says no at its address."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from commercekit import StockLocation
from commercekit.adapters.clock import FixedClock
from commercekit.domain.access import Permission
from commercekit.domain.cart import Cart
from commercekit.domain.errors import (
    AccessDenied,
    CartAlreadyOrdered,
    ConfigurationError,
    InvalidInput,
    LinkRejected,
    NotFound,
)
from commercekit.domain.marketing.abandoned import (
    CartRecovery,
    RecoveryStatus,
    RecoveryTotals,
    restore_token,
)
from commercekit.domain.notifications import NoticeStatus
from commercekit.domain.orders import Order
from commercekit.ports.notifications import Message
from commercekit.services.abandoned_carts import NO_CONSENT
from commercekit.store import Store, StoreConfig
from tests.services.bringing_back import (
    LINK_SECRET,
    Outbox,
    backends,
    configured,
    opened,
    token_in,
)
from tests.services.conftest import ADDRESS, START, seed

IDLE = timedelta(minutes=60)
ZOE = "zoe@example.com"
RESTORE = "https://shop.example/cart/restore?token={token}"
UNSUBSCRIBE = "https://shop.example/unsubscribe?token={token}"


def carts_config(**extra: Any) -> dict[str, Any]:
    return configured(
        abandoned_carts={
            "idle_minutes": 60,
            "interval_hours": 24,
            "most_reminders": 2,
            "restore_url": RESTORE,
            "coupon": "kitchen",
            **extra,
        },
        campaigns={"unsubscribe_url": UNSUBSCRIBE},
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


@pytest.fixture(params=backends())
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, outbox: Outbox
) -> Iterator[Store]:
    with opened(request.param, tmp_path, outbox, clock=clock, config=carts_config()) as shop:
        stocked(shop)
        yield shop


def stocked(shop: Store) -> None:
    seed(shop)
    shop.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    shop.inventory.receive("RETRO-MUG", "berlin", 100)
    shop.inventory.receive("RETRO-CLOCK", "berlin", 100)


def left_behind(shop: Store, email: str = ZOE) -> Cart:
    """A cart of two mugs whose shopper gave their email, then went away."""
    cart = shop.carts.create("EUR")
    shop.carts.add(cart.token, "RETRO-MUG", 2)
    shop.checkout.set_contact(cart.token, {"email": email})
    return cart


def check_out(shop: Store, token: str, key: str) -> Order:
    shop.checkout.set_shipping_address(token, ADDRESS)
    shop.checkout.choose_shipping(token, {"method_id": "post"})
    shop.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
    shop.checkout.summary(token)
    return shop.checkout.place_order(token, idempotency_key=key)


def reminders(outbox: Outbox) -> list[str]:
    """The keys of the reminders handed over."""
    return [m.key for m in outbox.sent if m.template == "cart_recovery"]


def recovery_of(shop: Store, cart: Cart) -> CartRecovery:
    with shop.storage.unit_of_work() as uow:
        return uow.records(CartRecovery).get(CartRecovery.key(cart.id))


def unsubscribe_link(message: Message) -> str:
    """The token of the unsubscribe link in a reminder."""
    text = message.text.split("https://shop.example/unsubscribe?token=", 1)
    assert len(text) == 2, message.text
    return text[1].split()[0]


# --- reminded, restored, recovered ---------------------------------------------------------


def test_an_abandoned_cart_is_recovered_through_its_link_and_its_order_counted(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    cart = left_behind(store)
    clock.advance(IDLE)

    assert store.abandoned_carts.sweep() == 1
    (reminder,) = outbox.to(ZOE)
    assert reminder.template == "cart_recovery"
    assert "2 \N{MULTIPLICATION SIGN} Retro mug" in reminder.text
    assert "https://shop.example/cart/restore?token=" in reminder.text
    assert "KITCHEN" in reminder.text

    clock.advance(timedelta(hours=3))
    restored = store.abandoned_carts.restore(token_in(reminder))
    assert (restored.id, restored.token) == (cart.id, cart.token)
    assert restored.coupon_codes == ("KITCHEN",)

    order = check_out(store, restored.token, "recovered-1")
    assert order.coupon_codes == ("KITCHEN",)
    recovery = recovery_of(store, cart)
    assert (recovery.status, recovery.order_id, recovery.revenue_units) == (
        RecoveryStatus.RECOVERED,
        order.id,
        order.totals.grand_total_units,
    )
    report = store.abandoned_carts.report()
    assert (report.carts_reminded, report.reminders, report.carts_restored) == (1, 1, 1)
    assert report.orders_recovered == 1
    assert report.revenue == {"EUR": order.totals.grand_total_units}


def test_no_reminder_before_the_idle_time_and_at_most_one_per_interval(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    cart = left_behind(store)
    clock.advance(IDLE - timedelta(minutes=1))
    assert store.abandoned_carts.sweep() == 0

    clock.advance(timedelta(minutes=1))
    assert store.abandoned_carts.sweep() == 1
    assert store.abandoned_carts.sweep() == 0
    clock.advance(timedelta(hours=23))
    assert store.abandoned_carts.sweep() == 0
    clock.advance(timedelta(hours=1))
    assert store.abandoned_carts.sweep() == 1
    clock.advance(timedelta(days=3))
    assert store.abandoned_carts.sweep() == 0  # two reminders are all a cart gets

    assert len(outbox.to(ZOE)) == 2
    recovery = recovery_of(store, cart)
    assert [n.number for n in recovery.notices] == [1, 2]
    assert (recovery.status, recovery.closed_reason) == (RecoveryStatus.CLOSED, "reminded")


def test_a_shopper_still_busy_with_their_cart_is_not_reminded(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    cart = left_behind(store)
    clock.advance(timedelta(minutes=50))
    assert store.abandoned_carts.sweep() == 0
    store.carts.add(cart.token, "RETRO-CLOCK", 1)
    clock.advance(timedelta(minutes=20))
    assert store.abandoned_carts.sweep() == 0  # the change was seen only now

    clock.advance(IDLE)
    assert store.abandoned_carts.sweep() == 1
    assert "Retro clock" in outbox.to(ZOE)[0].text


def test_a_cart_that_became_an_order_is_never_reminded(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    paid = left_behind(store)
    check_out(store, paid.token, "paid-1")
    waiting = left_behind(store, "ada@example.com")
    store.checkout.set_shipping_address(waiting.token, ADDRESS)
    store.checkout.choose_shipping(waiting.token, {"method_id": "post"})
    store.checkout.set_payment_method(
        waiting.token, {"gateway": "test", "token": "tok_requires_action"}
    )
    store.checkout.summary(waiting.token)
    store.checkout.place_order(waiting.token, idempotency_key="waits-1")

    clock.advance(timedelta(days=2))

    assert store.abandoned_carts.sweep() == 0
    assert reminders(outbox) == []
    assert recovery_of(store, paid).status is RecoveryStatus.CLOSED
    assert recovery_of(store, waiting).status is RecoveryStatus.WATCHING


def test_a_reminder_written_before_the_order_is_withdrawn_when_the_order_comes_first(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    cart = left_behind(store)
    clock.advance(IDLE)
    outbox.failures = 1  # the mail server is away when the reminder is written
    assert store.abandoned_carts.sweep() == 1
    key = recovery_of(store, cart).notices[0].key
    assert store.notifications.find(key).status is NoticeStatus.FAILED  # type: ignore[union-attr]

    check_out(store, cart.token, "before-the-mail")
    store.notifications.send_due()

    notice = store.notifications.find(key)
    assert notice is not None
    assert notice.status is NoticeStatus.ABANDONED
    assert reminders(outbox) == []


def test_a_reminder_the_notifier_could_not_take_is_sent_later_once(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    cart = left_behind(store)
    clock.advance(IDLE)
    outbox.failures = 1

    assert store.abandoned_carts.sweep() == 1
    assert outbox.to(ZOE) == []
    assert store.abandoned_carts.sweep() == 0  # written: not written again

    assert store.notifications.send_due() == 1
    assert store.notifications.send_due() == 0
    (reminder,) = outbox.to(ZOE)
    assert reminder.key == recovery_of(store, cart).notices[0].key


def test_a_customer_who_said_no_to_marketing_is_not_reminded(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    store.customers.register("ada", {"email": "ada@example.com"})
    store.customers.record_consent("ada", {"granted": False, "source": "account"})
    cart = store.carts.create("EUR", customer_id="ada")
    store.carts.add(cart.token, "RETRO-MUG", 1)
    store.customers.register("bo", {"email": "bo@example.com"})
    theirs = store.carts.create("EUR", customer_id="bo")
    store.carts.add(theirs.token, "RETRO-MUG", 1)

    clock.advance(IDLE)

    assert store.abandoned_carts.sweep() == 1
    assert outbox.to("ada@example.com") == []
    assert len(outbox.to("bo@example.com")) == 1  # a signed-in customer's cart is watched


def test_a_reminder_not_handed_over_before_the_order_recovers_nothing(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    cart = left_behind(store)
    clock.advance(IDLE)
    outbox.failures = 1  # the mail server is away: the reminder waits for send_due
    assert store.abandoned_carts.sweep() == 1
    clock.advance(timedelta(minutes=5))

    check_out(store, cart.token, "came-back-alone")  # the shopper came back by themselves
    store.notifications.send_due()

    assert reminders(outbox) == []
    assert recovery_of(store, cart).status is RecoveryStatus.NOTIFIED
    report = store.abandoned_carts.report()
    assert (report.reminders, report.orders_recovered, report.revenue) == (1, 0, {})


def test_a_reminder_waiting_when_the_shopper_says_no_is_given_up(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    store.customers.register("zoe", {"email": ZOE})
    cart = left_behind(store)
    clock.advance(IDLE)
    outbox.failures = 1
    assert store.abandoned_carts.sweep() == 1

    store.customers.record_consent("zoe", {"granted": False, "source": "account"})

    assert store.notifications.send_due() == 0
    key = recovery_of(store, cart).notices[0].key
    given_up = store.notifications.find(key)
    assert given_up is not None
    assert (given_up.status, given_up.last_error) == (NoticeStatus.ABANDONED, NO_CONSENT)
    assert reminders(outbox) == []


# --- consent at the address -----------------------------------------------------------------


def test_a_guest_is_not_reminded_at_an_address_whose_customer_said_no(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    store.customers.register("zoe", {"email": "Zoe+shop@Example.com"})
    store.customers.record_consent("zoe", {"granted": False, "source": "unsubscribe link"})
    left_behind(store)  # a guest cart, to the same address
    left_behind(store, "bo@example.com")
    clock.advance(IDLE)

    assert store.abandoned_carts.sweep() == 1
    assert outbox.to(ZOE) == []
    assert len(outbox.to("bo@example.com")) == 1
    # Back to yes: the next look reminds her.
    store.customers.record_consent("zoe", {"granted": True, "source": "account"})
    clock.advance(timedelta(hours=24))
    assert store.abandoned_carts.sweep() == 2  # and Bo's second
    assert len(outbox.to(ZOE)) == 1


def test_where_consent_is_required_a_guest_is_reminded_at_an_address_that_said_yes(
    tmp_path: Path, clock: FixedClock, outbox: Outbox
) -> None:
    config = carts_config(require_consent=True)
    with opened("sqlite", tmp_path, outbox, clock=clock, config=config) as shop:
        stocked(shop)
        shop.customers.register("zoe", {"email": ZOE})
        shop.customers.record_consent("zoe", {"granted": True, "source": "checkout"})
        left_behind(shop)
        left_behind(shop, "bo@example.com")
        clock.advance(IDLE)

        assert shop.abandoned_carts.sweep() == 1
        assert len(outbox.to(ZOE)) == 1
        assert outbox.to("bo@example.com") == []


def test_a_reminders_unsubscribe_link_stops_reminders_at_its_address(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    first = left_behind(store)
    clock.advance(IDLE)
    assert store.abandoned_carts.sweep() == 1
    (reminder,) = outbox.to(ZOE)
    assert "Unsubscribe" in reminder.text
    assert 'href="https://shop.example/unsubscribe?token=' in reminder.html
    assert token_in(reminder) != unsubscribe_link(reminder)  # the restore link comes first

    consent = store.as_shopper().campaigns.unsubscribe(unsubscribe_link(reminder))
    assert (consent.granted, consent.source) == (False, "unsubscribe link")
    assert store.campaigns.unsubscribe(unsubscribe_link(reminder)) == consent  # once

    left_behind(store)  # another cart, another day, the same address
    clock.advance(timedelta(days=2))
    assert store.abandoned_carts.sweep() == 0
    assert len(outbox.to(ZOE)) == 1
    assert recovery_of(store, first).notices[-1].number == 1
    # A customer who registers at the address later has its no on record already.
    store.customers.register("zoe", {"email": ZOE})
    assert store.customers.get("zoe").accepts_marketing is False


def test_a_reminders_unsubscribe_link_withdraws_the_customers_consent(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    store.customers.register("ada", {"email": "ada@example.com"})
    store.customers.record_consent("ada", {"granted": True, "source": "checkout"})
    cart = store.carts.create("EUR", customer_id="ada")
    store.carts.add(cart.token, "RETRO-MUG", 1)
    clock.advance(IDLE)
    assert store.abandoned_carts.sweep() == 1
    (reminder,) = outbox.to("ada@example.com")

    store.campaigns.unsubscribe(unsubscribe_link(reminder))

    ada = store.customers.get("ada")
    assert not ada.accepts_marketing
    assert ada.consents[-1].source == "unsubscribe link"


# --- links that do not open -----------------------------------------------------------------


def test_a_forged_or_expired_link_opens_nothing(
    store: Store, clock: FixedClock, outbox: Outbox
) -> None:
    cart = left_behind(store)
    clock.advance(IDLE)
    store.abandoned_carts.sweep()
    token = token_in(outbox.to(ZOE)[0])
    forged = restore_token("an-attackers-own-secret-of-32-characters", cart.id, expires_at=START)

    with pytest.raises(LinkRejected) as wrong:
        store.abandoned_carts.restore(forged)
    with pytest.raises(LinkRejected) as broken:
        store.abandoned_carts.restore(token[:-2] + "xx")
    clock.advance(timedelta(days=8))
    with pytest.raises(LinkRejected) as late:
        store.abandoned_carts.restore(token)

    assert (wrong.value.reason, broken.value.reason, late.value.reason) == (
        "invalid",
        "invalid",
        "expired",
    )
    assert wrong.value.field == "token"


def test_a_link_to_a_cart_that_became_an_order_opens_nothing(
    store: Store, clock: FixedClock
) -> None:
    pending = left_behind(store)
    store.checkout.set_shipping_address(pending.token, ADDRESS)
    store.checkout.choose_shipping(pending.token, {"method_id": "post"})
    store.checkout.set_payment_method(
        pending.token, {"gateway": "test", "token": "tok_requires_action"}
    )
    store.checkout.summary(pending.token)
    store.checkout.place_order(pending.token, idempotency_key="pending")
    paid = left_behind(store)
    check_out(store, paid.token, "paid")
    link = START + timedelta(days=1)

    with pytest.raises(CartAlreadyOrdered):
        store.abandoned_carts.restore(restore_token(LINK_SECRET, pending.id, expires_at=link))
    with pytest.raises(NotFound) as gone:
        store.abandoned_carts.restore(restore_token(LINK_SECRET, paid.id, expires_at=link))
    assert gone.value.field == "token"


def test_anyone_holding_the_link_opens_the_cart_and_only_staff_see_the_report(
    store: Store, clock: FixedClock
) -> None:
    cart = left_behind(store)
    token = restore_token(LINK_SECRET, cart.id, expires_at=START + timedelta(days=1))

    assert store.as_shopper().abandoned_carts.restore(token).id == cart.id
    with pytest.raises(AccessDenied):
        store.as_shopper().abandoned_carts.report()
    with pytest.raises(AccessDenied):
        store.as_shopper().abandoned_carts.sweep()
    assert store.as_staff("mo", [Permission.MARKETING]).abandoned_carts.report().reminders == 0


# --- configuration --------------------------------------------------------------------------


def test_a_database_store_without_a_secret_makes_no_links(tmp_path: Path) -> None:
    config = {**carts_config()}
    del config["link_signing_secret"]
    outbox = Outbox()
    with opened("sqlite", tmp_path, outbox, config=config) as shop:
        with pytest.raises(ConfigurationError) as caught:
            shop.abandoned_carts.sweep()
        assert caught.value.field == "link_signing_secret"
    with opened("memory", tmp_path, outbox, config=config) as dev:
        assert dev.abandoned_carts.sweep() == 0  # a store in memory makes its own


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"link_signing_secret": "too-short"}, "link_signing_secret"),
        ({"abandoned_carts": {"restore_url": "https://shop.example/cart"}}, "restore_url"),
        ({"abandoned_carts": {"idle_minutes": 1}}, "idle_minutes"),
        ({"abandoned_carts": {"coupon": "no spaces"}}, "coupon"),
    ],
)
def test_the_configuration_is_checked_when_the_store_opens(
    extra: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        Store.open("memory://", config={**configured(), **extra})
    assert field in str(caught.value.field)


def test_the_signing_secret_is_never_shown() -> None:
    shown = StoreConfig.model_validate(configured())
    with pytest.raises(InvalidInput) as caught:
        Store.open("memory://", config={**configured(), "link_signing_secret": "hunter2-too-short"})

    assert LINK_SECRET not in repr(shown) + str(shown)
    assert "hunter2" not in str(caught.value)


# --- two sweeps at once ---------------------------------------------------------------------


@pytest.fixture(params=backends(memory=False))
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Outbox]]:
    outbox = Outbox()
    clock = FixedClock(START)
    with opened(request.param, tmp_path, outbox, clock=clock, config=carts_config()) as shop:
        stocked(shop)
        for n in range(12):
            left_behind(shop, f"shopper{n}@example.com")
        clock.advance(IDLE)
        yield shop, outbox


def test_two_sweeps_at_once_write_and_send_each_reminder_once(
    shared: tuple[Store, Outbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, outbox = shared
    # Each sweep's first look waits until both have read a cart: they then race for
    # every cart from the first on.
    both_read = threading.Barrier(2, timeout=10)
    waited = threading.local()
    decide = CartRecovery.decide

    def decide_together(self: CartRecovery, *args: Any, **kwargs: Any) -> Any:
        if not getattr(waited, "done", False):
            waited.done = True
            both_read.wait()
        return decide(self, *args, **kwargs)

    monkeypatch.setattr(CartRecovery, "decide", decide_together)
    written: list[int] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            written.append(shop.abandoned_carts.sweep())
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    # A cart whose every try lost a race is left due, not lost: the next sweep has it.
    written.append(shop.abandoned_carts.sweep())

    assert sum(written) == 12
    keys = outbox.keys()
    assert len(keys) == len(set(keys)) == 12
    assert shop.abandoned_carts.report().reminders == 12


def test_a_crowd_opening_their_links_at_once_all_get_their_carts(
    shared: tuple[Store, Outbox],
) -> None:
    shop, outbox = shared
    assert shop.abandoned_carts.sweep() == 12
    tokens = [token_in(m) for m in outbox.sent]
    start = threading.Barrier(len(tokens), timeout=10)
    opened_carts: list[str] = []
    failures: list[BaseException] = []

    def click(token: str) -> None:
        try:
            start.wait()
            opened_carts.append(shop.abandoned_carts.restore(token).id)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=click, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    assert len(set(opened_carts)) == 12
    report = shop.abandoned_carts.report()
    assert (report.carts_reminded, report.reminders, report.carts_restored) == (12, 12, 12)
    with shop.storage.unit_of_work() as uow:
        # Summed from the carts' records: no store-wide record for every click to write.
        assert uow.records(RecoveryTotals).find(RecoveryTotals.ID) is None
