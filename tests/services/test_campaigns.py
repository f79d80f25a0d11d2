"""Campaigns on a real store (memory, a SQLite file, and PostgreSQL when there is
one): a segment picks customers by what they bought, spent, when, and their groups;
a campaign reaches only those whose consent is on record, each once, in batches
that a second sender or a restart takes up where they stopped; its unsubscribe link
withdraws the consent, recorded on the customer. Consent is read again when a
message is handed over: one that waited (for a notifier, or for ``send_due``) never
reaches someone who withdrew it meanwhile. A crowd unsubscribing at once all land,
for an unsubscribe writes nothing the others write."""

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
from commercekit.domain.errors import AccessDenied, InvalidInput, LinkRejected, NotFound
from commercekit.domain.marketing.campaigns import (
    UNSUBSCRIBE_SOURCE,
    Campaign,
    CampaignSend,
    CampaignStatus,
    unsubscribe_token,
)
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.services.campaigns import NO_CONSENT
from commercekit.store import Store
from tests.services.bringing_back import (
    LINK_SECRET,
    TOKEN,
    Outbox,
    OutboxPlugin,
    backends,
    configured,
    opened,
    token_in,
)
from tests.services.conftest import ADDRESS, START, seed

UNSUBSCRIBE = "https://shop.example/unsubscribe?token={token}"
#: The customers: who said yes, what they bought, when.
ADA, BEA, CY, DEE = "ada", "bea", "cy", "dee"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


def campaign_config() -> dict[str, Any]:
    return configured(campaigns={"unsubscribe_url": UNSUBSCRIBE})


@pytest.fixture(params=backends())
def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, outbox: Outbox
) -> Iterator[Store]:
    with opened(request.param, tmp_path, outbox, clock=clock, config=campaign_config()) as shop:
        seed(shop)
        shop.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        shop.inventory.receive("RETRO-MUG", "berlin", 100)
        shop.inventory.receive("RETRO-CLOCK", "berlin", 100)
        customers(shop, clock)
        yield shop


def buy(shop: Store, customer_id: str, sku: str, quantity: int = 1) -> None:
    cart = shop.carts.create("EUR", customer_id=customer_id)
    shop.carts.add(cart.token, sku, quantity)
    shop.checkout.set_contact(cart.token, {"email": f"{customer_id}@example.com"})
    shop.checkout.set_shipping_address(cart.token, ADDRESS)
    shop.checkout.choose_shipping(cart.token, {"method_id": "post"})
    shop.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    shop.checkout.summary(cart.token)
    shop.checkout.place_order(cart.token, idempotency_key=f"{customer_id}-{cart.id}")


def customers(shop: Store, clock: FixedClock) -> None:
    """Ada said yes and bought a mug long ago; Bea said yes and bought clocks lately;
    Cy bought a mug and never said yes; Dee said yes, then no."""
    for customer_id in (ADA, BEA, CY, DEE):
        shop.customers.register(customer_id, {"email": f"{customer_id}@example.com"})
    for customer_id in (ADA, BEA, DEE):
        shop.customers.record_consent(customer_id, {"granted": True, "source": "checkout"})
    shop.customers.record_consent(DEE, {"granted": False, "source": "account"})
    shop.customers.join_group(BEA, "vip")
    buy(shop, ADA, "RETRO-MUG")
    buy(shop, CY, "RETRO-MUG")
    clock.advance(timedelta(days=90))
    buy(shop, BEA, "RETRO-CLOCK", 2)
    clock.advance(timedelta(days=1))


def campaign_mail(outbox: Outbox) -> dict[str, str]:
    """Who got which campaign's message: address by message key."""
    return {m.key: m.to for m in outbox.sent if m.template == "campaign"}


def message(shop: Store, campaign_id: str, address: str) -> Notice:
    """The campaign's message to ``address``, as the store keeps it."""
    found = shop.notifications.find(f"campaign:{campaign_id}:{address}")
    assert found is not None
    return found


def link_in(notice: Notice) -> str:
    """The token of the unsubscribe link in a message the store keeps."""
    found = TOKEN.search(notice.text)
    assert found is not None, notice.text
    return found.group(1)


# --- who is picked ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "matched", "reachable"),
    [
        ({}, 4, 2),
        ({"consent": True}, 2, 2),
        ({"consent": False}, 2, 0),
        ({"bought_products": ["mug"]}, 2, 1),
        ({"bought_categories": ["kitchen"]}, 2, 1),
        ({"spent_at_least": "50.00", "currency": "EUR"}, 1, 1),
        ({"inactive_days": 60}, 3, 1),
        ({"groups": ["vip"]}, 1, 1),
    ],
)
def test_a_segment_picks_by_what_customers_bought_spent_and_when(
    store: Store, segment: dict[str, Any], matched: int, reachable: int
) -> None:
    preview = store.campaigns.preview(segment)

    assert (preview.matched, preview.reachable) == (matched, reachable)
    assert len(preview.sample) == reachable


@pytest.mark.parametrize(
    ("segment", "field"),
    [
        ({"spent_at_least": "10.00"}, "currency"),
        ({"spent_at_least": 10.5, "currency": "EUR"}, "spent_at_least"),
        ({"spent_at_least": "10.001", "currency": "EUR"}, "spent_at_least"),
        ({"spent_at_least": "10", "currency": "ZZZ"}, "currency"),
        ({"inactive_days": 0}, "inactive_days"),
        ({"colour": "red"}, "colour"),
        ("everyone", "segment"),
    ],
)
def test_a_segment_that_breaks_a_rule_is_refused_naming_its_field(
    store: Store, segment: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        store.campaigns.create("Spring", "News", "Hello", segment)
    assert caught.value.field == field


# --- sent only with consent, each once ------------------------------------------------------


def test_no_campaign_mail_reaches_a_customer_without_consent(store: Store, outbox: Outbox) -> None:
    spring = store.campaigns.create(
        "Spring", "Spring clocks", "New clocks are in.\n\nCome and see.", {}
    )

    sent = store.campaigns.send(spring.id)

    assert (sent.status, sent.scanned, sent.sent) == (CampaignStatus.SENT, 4, 2)
    assert sorted(campaign_mail(outbox).values()) == ["ada@example.com", "bea@example.com"]
    message = outbox.to("ada@example.com")[-1]
    assert message.subject == "Spring clocks"
    assert "Come and see." in message.text
    assert "https://shop.example/unsubscribe?token=" in message.text
    with store.storage.unit_of_work() as uow:
        assert uow.records(CampaignSend).find(CampaignSend.key(spring.id, CY)) is None
        assert uow.records(CampaignSend).find(CampaignSend.key(spring.id, DEE)) is None


def test_sending_again_sends_nothing_more(store: Store, outbox: Outbox) -> None:
    spring = store.campaigns.create("Spring", "Spring clocks", "Hello", {"consent": True})
    store.campaigns.send(spring.id)

    again = store.campaigns.send(spring.id)

    assert again.sent == 2
    assert len(campaign_mail(outbox)) == 2


def test_a_campaign_goes_out_in_batches_taken_up_where_the_last_stopped(
    store: Store, outbox: Outbox
) -> None:
    spring = store.campaigns.create("Spring", "Spring clocks", "Hello", {})

    first = store.campaigns.send(spring.id, limit=2)
    assert (first.status, first.scanned, first.cursor) == (CampaignStatus.SENDING, 2, BEA)
    assert sorted(campaign_mail(outbox).values()) == ["ada@example.com", "bea@example.com"]
    rest = store.campaigns.send(spring.id, limit=2)
    assert rest.status is CampaignStatus.SENDING  # two more looked at, none left to tell
    done = store.campaigns.send(spring.id, limit=2)

    assert (done.status, done.scanned, done.sent) == (CampaignStatus.SENT, 4, 2)
    assert len(campaign_mail(outbox)) == 2


def test_a_message_the_notifier_could_not_take_is_sent_later_once(
    store: Store, outbox: Outbox
) -> None:
    spring = store.campaigns.create("Spring", "Spring clocks", "Hello", {"groups": ["vip"]})
    outbox.failures = 1

    store.campaigns.send(spring.id)
    assert campaign_mail(outbox) == {}
    assert store.notifications.send_due() == 1
    assert store.notifications.send_due() == 0

    assert list(campaign_mail(outbox).values()) == ["bea@example.com"]


def test_a_message_waiting_when_consent_is_withdrawn_is_given_up_not_sent(
    store: Store, outbox: Outbox
) -> None:
    spring = store.campaigns.create("Spring", "Spring clocks", "Hello", {})
    outbox.failures = 2  # the mail server is away: both messages wait for send_due
    store.campaigns.send(spring.id)
    assert campaign_mail(outbox) == {}

    store.customers.record_consent(ADA, {"granted": False, "source": "account"})

    assert store.notifications.send_due() == 1
    assert list(campaign_mail(outbox).values()) == ["bea@example.com"]
    given_up = message(store, spring.id, "ada@example.com")
    assert (given_up.status, given_up.last_error) == (NoticeStatus.ABANDONED, NO_CONSENT)
    assert store.notifications.send_due() == 0
    # Said yes again later: what was given up stays given up, the next campaign goes.
    store.customers.record_consent(ADA, {"granted": True, "source": "account"})
    assert store.notifications.send_due() == 0
    assert "ada@example.com" not in campaign_mail(outbox).values()


def test_a_message_written_without_a_notifier_is_checked_when_one_comes(
    tmp_path: Path, clock: FixedClock
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    silent = {key: value for key, value in campaign_config().items() if key != "notifier"}
    with Store.open(url, config=silent, clock=clock) as before:
        for customer_id in (ADA, BEA):
            before.customers.register(customer_id, {"email": f"{customer_id}@example.com"})
            before.customers.record_consent(customer_id, {"granted": True, "source": "signup"})
        spring = before.campaigns.create("Spring", "Spring clocks", "Hello", {})
        assert before.campaigns.send(spring.id).sent == 2
        before.customers.record_consent(ADA, {"granted": False, "source": "account"})
    outbox = Outbox()
    with Store.open(
        url, config=campaign_config(), clock=clock, plugins=[OutboxPlugin(outbox)]
    ) as after:
        assert after.notifications.send_due() == 1
        assert message(after, spring.id, "ada@example.com").status is NoticeStatus.ABANDONED
    assert list(campaign_mail(outbox).values()) == ["bea@example.com"]


def test_a_sample_of_none_is_refused_naming_sample(store: Store) -> None:
    with pytest.raises(InvalidInput) as caught:
        store.campaigns.preview({}, sample=0)
    assert caught.value.field == "sample"


# --- unsubscribing ---------------------------------------------------------------------------


def test_the_unsubscribe_link_withdraws_consent_and_it_is_recorded(
    store: Store, outbox: Outbox, clock: FixedClock
) -> None:
    spring = store.campaigns.create("Spring", "Spring clocks", "Hello", {})
    store.campaigns.send(spring.id)
    token = token_in(outbox.to("ada@example.com")[-1])
    clock.advance(timedelta(days=3))

    consent = store.as_shopper().campaigns.unsubscribe(token)

    assert (consent.granted, consent.source, consent.at) == (False, UNSUBSCRIBE_SOURCE, clock.now())
    assert spring.id in consent.wording
    ada = store.customers.get(ADA)
    assert not ada.accepts_marketing
    assert ada.consents[-1] == consent
    assert store.campaigns.get(spring.id).unsubscribed == 1
    # Clicked again: nothing new is recorded.
    assert store.campaigns.unsubscribe(token) == consent
    assert len(store.customers.get(ADA).consents) == 2

    summer = store.campaigns.create("Summer", "Summer clocks", "Hello", {})
    store.campaigns.send(summer.id)
    assert [to for key, to in campaign_mail(outbox).items() if summer.id in key] == [
        "bea@example.com"
    ]


def test_unsubscribing_gives_up_the_customers_messages_still_waiting(
    store: Store, outbox: Outbox
) -> None:
    spring = store.campaigns.create("Spring", "Spring clocks", "Hello", {})
    store.campaigns.send(spring.id)
    token = token_in(outbox.to("ada@example.com")[-1])
    summer = store.campaigns.create("Summer", "Summer clocks", "Hello", {})
    outbox.failures = 2
    store.campaigns.send(summer.id)

    store.campaigns.unsubscribe(token)

    waiting = message(store, summer.id, "ada@example.com")
    assert (waiting.status, waiting.last_error) == (NoticeStatus.ABANDONED, NO_CONSENT)
    assert store.notifications.send_due() == 1
    assert [to for key, to in campaign_mail(outbox).items() if summer.id in key] == [
        "bea@example.com"
    ]


def test_a_forged_or_expired_unsubscribe_link_changes_nothing(
    store: Store, clock: FixedClock
) -> None:
    forged = unsubscribe_token(
        "an-attackers-own-secret-of-32-characters", ADA, expires_at=START + timedelta(days=400)
    )
    stale = unsubscribe_token(LINK_SECRET, ADA, expires_at=clock.now())
    unknown = unsubscribe_token(LINK_SECRET, "nobody", expires_at=START + timedelta(days=400))

    with pytest.raises(LinkRejected) as wrong:
        store.campaigns.unsubscribe(forged)
    with pytest.raises(LinkRejected) as late:
        store.campaigns.unsubscribe(stale)
    with pytest.raises(NotFound) as missing:
        store.campaigns.unsubscribe(unknown)

    assert (wrong.value.reason, late.value.reason, missing.value.field) == (
        "invalid",
        "expired",
        "token",
    )
    assert store.customers.get(ADA).accepts_marketing


def test_only_marketing_staff_run_campaigns(store: Store) -> None:
    with pytest.raises(AccessDenied):
        store.as_shopper(ADA).campaigns.create("Spring", "News", "Hello", {})
    with pytest.raises(AccessDenied):
        store.as_staff("sam", [Permission.ORDERS]).campaigns.preview({})
    marketer = store.as_staff("mo", [Permission.MARKETING])
    created = marketer.campaigns.create("Spring", "News", "Hello", {})
    assert created.created_by == "staff:mo"


# --- two senders at once ---------------------------------------------------------------------


@pytest.fixture(params=backends(memory=False))
def crowd(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Outbox]]:
    outbox = Outbox()
    with opened(
        request.param, tmp_path, outbox, clock=FixedClock(START), config=campaign_config()
    ) as shop:
        for n in range(30):
            customer_id = f"c{n:02}"
            shop.customers.register(customer_id, {"email": f"{customer_id}@example.com"})
            shop.customers.record_consent(customer_id, {"granted": True, "source": "import"})
        yield shop, outbox


def test_two_senders_at_once_send_each_recipient_once(crowd: tuple[Store, Outbox]) -> None:
    shop, outbox = crowd
    spring = shop.campaigns.create("Spring", "Spring clocks", "Hello", {"consent": True})
    start = threading.Barrier(2, timeout=10)
    failures: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait()
            shop.campaigns.send(spring.id)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    done = shop.campaigns.get(spring.id)
    assert (done.status, done.sent) == (CampaignStatus.SENT, 30)
    addresses = [m.to for m in outbox.sent if m.template == "campaign"]
    assert sorted(addresses) == sorted(f"c{n:02}@example.com" for n in range(30))


def test_a_crowd_unsubscribing_at_once_all_land(crowd: tuple[Store, Outbox]) -> None:
    shop, outbox = crowd
    spring = shop.campaigns.create("Spring", "Spring clocks", "Hello", {"consent": True})
    shop.campaigns.send(spring.id)
    tokens = [token_in(m) for m in outbox.sent if m.template == "campaign"]
    assert len(tokens) == 30
    with shop.storage.unit_of_work() as uow:
        before = uow.records(Campaign).get(spring.id).version
    start = threading.Barrier(len(tokens), timeout=10)
    failures: list[BaseException] = []

    def unsubscriber(token: str) -> None:
        try:
            start.wait()
            shop.campaigns.unsubscribe(token)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=unsubscriber, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    assert not any(shop.customers.get(f"c{n:02}").accepts_marketing for n in range(30))
    assert shop.campaigns.get(spring.id).unsubscribed == 30
    with shop.storage.unit_of_work() as uow:
        # Counted from the sends: nobody wrote the campaign they all came from.
        assert uow.records(Campaign).get(spring.id).version == before
