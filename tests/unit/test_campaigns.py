"""Campaigns, as the domain decides them: the rules of a segment, who of a batch gets
the message (only with consent, each customer and each address once), the
campaign's course, the latest word on record for an address, and the signed links
that withdraw consent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.customers import Consent
from commercekit.domain.errors import InvalidInput, InvalidTransition, LinkRejected
from commercekit.domain.marketing.abandoned import read_restore_token, restore_token
from commercekit.domain.marketing.campaigns import (
    MAX_MAILBOX_CUSTOMERS,
    REMINDERS,
    Campaign,
    CampaignSend,
    CampaignStatus,
    Mailbox,
    Profile,
    Purchase,
    Segment,
    latest_word,
    read_unsubscribe_token,
    recipients,
    reminder_unsubscribe_token,
    unsubscribe_token,
    with_ancestors,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SECRET = "an-unsubscribe-secret-long-enough-to-be-safe"


def bought(days_ago: int, units: int, *products: str, currency: str = "EUR") -> Purchase:
    return Purchase(
        placed_at=NOW - timedelta(days=days_ago),
        currency=currency,
        total_units=units,
        product_ids=frozenset(products),
    )


def ada(**changes: object) -> Profile:
    fields: dict[str, object] = {
        "customer_id": "ada",
        "email": "ada@example.com",
        "email_key": "ada@example.com",
        "groups": frozenset({"newsletter"}),
        "accepts_marketing": True,
        "since": NOW - timedelta(days=400),
        "purchases": (bought(100, 4000, "clock"), bought(10, 1200, "mug")),
        "categories": frozenset({"kitchen", "home"}),
    }
    fields.update(changes)
    return Profile(**fields)  # type: ignore[arg-type]


# --- the rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("segment", "picked"),
    [
        (Segment(), True),
        (Segment(bought_products=("clock", "lamp")), True),
        (Segment(bought_products="lamp"), False),
        (Segment(bought_categories=("home",)), True),
        (Segment(bought_categories=("garden",)), False),
        (Segment(spent_at_least_units=5200, spent_currency="eur"), True),
        (Segment(spent_at_least_units=5201, spent_currency="EUR"), False),
        (Segment(spent_at_least_units=1, spent_currency="JPY"), False),
        (Segment(inactive_days=10), True),
        (Segment(inactive_days=11), False),
        (Segment(groups=("vip", "newsletter")), True),
        (Segment(groups=("vip",)), False),
        (Segment(consent=True), True),
        (Segment(consent=False), False),
        (Segment(bought_products=("clock",), groups=("vip",)), False),
    ],
)
def test_a_customer_meets_every_rule_or_is_not_picked(segment: Segment, picked: bool) -> None:
    assert segment.matches(ada(), now=NOW) is picked


def test_a_customer_who_never_bought_is_inactive_since_they_joined() -> None:
    newcomer = ada(purchases=(), since=NOW - timedelta(days=30))

    assert Segment(inactive_days=30).matches(newcomer, now=NOW)
    assert not Segment(inactive_days=31).matches(newcomer, now=NOW)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"spent_at_least_units": 100}, "spent_currency"),
        ({"spent_currency": "EUR"}, "spent_currency"),
        ({"spent_at_least_units": 0, "spent_currency": "EUR"}, "spent_at_least_units"),
        ({"spent_at_least_units": 5, "spent_currency": "XYZ"}, "spent_currency"),
        ({"inactive_days": 0}, "inactive_days"),
        ({"groups": ["x"] * 0 + [f"g{n}" for n in range(101)]}, "groups"),
        ({"bought_products": ["\x00"]}, "bought_products"),
        ({"consent": "yes"}, "consent"),
    ],
)
def test_a_segment_that_breaks_a_rule_is_refused_naming_it(
    fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        Segment(**fields)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_category_counts_with_every_category_above_it() -> None:
    parents = {"kettles": "kitchen", "kitchen": "home", "home": None, "loop": "loop"}

    assert with_ancestors(["kettles"], parents) == {"kettles", "kitchen", "home"}
    assert with_ancestors(["loop"], parents) == {"loop"}


# --- who gets it ---------------------------------------------------------------------------


def test_only_those_with_consent_and_an_email_get_it_each_address_once() -> None:
    profiles = [
        ada(),
        ada(customer_id="bob", email="bob@example.com", email_key="bob@example.com"),
        ada(customer_id="ada-2", email="Ada+news@example.com", email_key="ada@example.com"),
        ada(customer_id="cy", email="cy@example.com", email_key="cy", accepts_marketing=False),
        ada(customer_id="di", email="", email_key=""),
        ada(customer_id="ed", email="ed@example.com", email_key="ed@example.com"),
    ]

    chosen = recipients(profiles, Segment(), now=NOW, sent={"bob"}, emails_taken={"ed@example.com"})

    assert [p.customer_id for p in chosen] == ["ada"]


profiles = st.lists(
    st.builds(
        ada,
        customer_id=st.sampled_from([f"c{n}" for n in range(8)]),
        email_key=st.sampled_from(["a@x", "b@x", "c@x", ""]),
        email=st.sampled_from(["a@x", ""]),
        accepts_marketing=st.booleans(),
        groups=st.frozensets(st.sampled_from(["newsletter", "vip"])),
    ),
    max_size=20,
)


@given(
    batches=st.lists(profiles, max_size=5),
    segment=st.builds(
        Segment,
        groups=st.lists(st.sampled_from(["newsletter", "vip"]), max_size=2),
        consent=st.none() | st.booleans(),
    ),
)
def test_whatever_the_batches_each_recipient_gets_it_at_most_once(
    batches: list[list[Profile]], segment: Segment
) -> None:
    sent: set[str] = set()
    emails: set[str] = set()
    for batch in batches:
        chosen = recipients(batch, segment, now=NOW, sent=sent, emails_taken=emails)
        for profile in chosen:
            assert profile.accepts_marketing
            assert profile.email
            assert segment.matches(profile, now=NOW)
            assert profile.customer_id not in sent
            assert profile.email_key not in emails
            sent.add(profile.customer_id)
            emails.add(profile.email_key)


# --- the campaign's course -------------------------------------------------------------------


def campaign() -> Campaign:
    return Campaign(
        id="campaign-1",
        name="Spring",
        subject="New clocks",
        body="Hello.",
        segment=Segment(consent=True),
        created_at=NOW,
    )


def test_a_campaign_goes_from_draft_to_sending_to_sent() -> None:
    spring = campaign()

    assert spring.start(at=NOW)
    assert not spring.start(at=NOW)  # taken up again where it was
    spring.advance(cursor="c100", scanned=100, sent=40)
    spring.advance(cursor="c150", scanned=50, sent=10)
    spring.finish(at=NOW)

    assert (spring.status, spring.scanned, spring.sent, spring.cursor) == (
        CampaignStatus.SENT,
        150,
        50,
        "c150",
    )
    with pytest.raises(InvalidTransition):
        spring.start(at=NOW)
    with pytest.raises(InvalidTransition):
        spring.advance(cursor="c200", scanned=1, sent=0)


def test_a_campaign_needs_a_subject_and_a_body() -> None:
    with pytest.raises(InvalidInput) as caught:
        Campaign(id="c", name="n", subject=" ", body="b", segment=Segment(), created_at=NOW)
    assert caught.value.field == "subject"


def test_a_send_is_unsubscribed_once() -> None:
    send = CampaignSend(
        id=CampaignSend.key("campaign-1", "ada"),
        campaign_id="campaign-1",
        customer_id="ada",
        email="ada@example.com",
        notice_key="campaign:campaign-1:ada@example.com",
        at=NOW,
    )

    assert send.index().state == "sent"
    assert send.unsubscribed(at=NOW)
    assert not send.unsubscribed(at=NOW)
    assert send.index().state == "unsubscribed"


def test_a_campaign_read_counts_its_unsubscribes_without_changing() -> None:
    spring = campaign()

    counted = spring.counted(unsubscribed=3)

    assert (counted.unsubscribed, counted.version) == (3, spring.version)
    assert spring.unsubscribed == 0


# --- the latest word at an address -----------------------------------------------------------


def said(granted: bool, minutes: int) -> Consent:
    return Consent(granted=granted, at=NOW + timedelta(minutes=minutes), source="account")


def test_the_latest_word_holds_whoever_said_it_and_a_no_wins_a_tie() -> None:
    assert latest_word([]) is None
    assert latest_word([said(True, 0), said(False, 5)]) is False
    assert latest_word([said(False, 5), said(True, 0)]) is False  # by time, not by order
    assert latest_word([said(False, 0), said(True, 5)]) is True
    assert latest_word([said(True, 5), said(False, 5)]) is False
    assert latest_word([said(False, 5), said(True, 5)]) is False


def test_a_mailbox_keeps_its_latest_customers_and_what_was_said_there() -> None:
    mailbox = Mailbox.of("zoe@example.com", at=NOW)

    assert mailbox.note("zoe")
    assert not mailbox.note("zoe")
    for n in range(MAX_MAILBOX_CUSTOMERS):
        mailbox.note(f"c{n}")
    consent = mailbox.record_consent(False, at=NOW, source="unsubscribe link")

    assert mailbox.id == Mailbox.key("zoe@example.com")
    assert len(mailbox.customer_ids) == MAX_MAILBOX_CUSTOMERS
    assert "zoe" not in mailbox.customer_ids
    assert mailbox.consents == (consent,)
    with pytest.raises(InvalidInput):
        mailbox.record_consent("no", at=NOW, source="x")  # type: ignore[arg-type]


# --- the unsubscribe link -------------------------------------------------------------------


def test_an_unsubscribe_link_names_the_customer_and_the_campaign() -> None:
    token = unsubscribe_token(
        SECRET, "ada", campaign_id="campaign-1", expires_at=NOW + timedelta(1)
    )

    link = read_unsubscribe_token(SECRET, token, now=NOW)

    assert (link.subject, link.reference) == ("ada", "campaign-1")


def test_a_restore_link_does_not_unsubscribe_and_an_old_link_has_expired() -> None:
    cart_link = restore_token(SECRET, "ada", expires_at=NOW + timedelta(days=1))
    old = unsubscribe_token(SECRET, "ada", expires_at=NOW)

    with pytest.raises(LinkRejected) as forged:
        read_unsubscribe_token(SECRET, cart_link, now=NOW)
    with pytest.raises(LinkRejected) as expired:
        read_unsubscribe_token(SECRET, old, now=NOW)
    assert (forged.value.reason, expired.value.reason) == ("invalid", "expired")


def test_a_reminders_unsubscribe_link_names_its_cart_and_opens_nothing() -> None:
    token = reminder_unsubscribe_token(SECRET, "cart-1", expires_at=NOW + timedelta(days=1))

    link = read_unsubscribe_token(SECRET, token, now=NOW)

    assert (link.subject, link.reference) == ("cart-1", REMINDERS)
    with pytest.raises(LinkRejected):
        read_restore_token(SECRET, token, now=NOW)
