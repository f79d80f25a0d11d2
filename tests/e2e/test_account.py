"""The storefront after the order, driven through its pages against a real SQLite
file: customer accounts, the address book and consent, the parcel's journey on the
order page, returns, refunds and support messages, and what one visitor may not see
of another's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from commercekit import Money, Store
from commercekit.adapters.clock import FixedClock
from commercekit.examples.storefront import create_app
from commercekit.examples.storefront.account import CONSENT_WORDING, SIGN_IN_REFUSED
from commercekit.examples.storefront.accounts import Account, Accounts
from commercekit.examples.storefront.demo import CATEGORIES, config, seed

from .storefront_pages import ADDRESS, SECRET, Page, assert_accessible, csrf
from .test_storefront import checkout_to_payment, post

PASSWORD = "correct horse battery"
ADA = ("Ada Lovelace", "ada@example.com")
BOB = ("Bob Dylan", "bob@example.com")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(tmp_path: Path, clock: FixedClock) -> Iterator[Store]:
    with Store.open(
        f"sqlite:///{tmp_path / 'shop.db'}", config=config("http://testserver"), clock=clock
    ) as opened:
        seed(opened)
        yield opened


@pytest.fixture
def accounts() -> Iterator[Accounts]:
    kept = Accounts()
    yield kept
    kept.close()


def visitor(store: Store, accounts: Accounts) -> TestClient:
    """One browser: its own cookies, the same shop and accounts as every other."""
    app = create_app(store, secret_key=SECRET, navigation=CATEGORIES, accounts=accounts)
    return TestClient(app)


def register(client: TestClient, who: tuple[str, str], password: str = PASSWORD) -> str:
    name, email = who
    return post(
        client,
        "/account/register",
        {"name": name, "email": email, "password": password},
        "/account/register",
    )


def registered(client: TestClient, accounts: Accounts, who: tuple[str, str]) -> Account:
    """Register ``who`` through the page; the account it made."""
    register(client, who)
    account = accounts.get_by_email(who[1])
    assert account is not None
    return account


def sign_in(client: TestClient, email: str, password: str) -> str:
    return post(client, "/account/login", {"email": email, "password": password}, "/account/login")


def buy(client: TestClient, sku: str = "ASSAM-250G", quantity: int = 1) -> str:
    """Buy ``quantity`` of ``sku`` with a card that goes through; the order's number."""
    post(client, "/cart/add", {"sku": sku, "quantity": str(quantity)}, "/products/assam")
    checkout_to_payment(client)
    page = client.get("/checkout/payment")
    done = client.post(
        "/checkout/payment", data={"card": "tok_success", "csrf_token": csrf(page.text)}
    )
    number = re.search(r'class="order-number">([^<]+)<', done.text)
    assert number is not None, done.text
    return number[1]


def deliver(store: Store, clock: FixedClock, number: str) -> None:
    """Ship the order with the sandbox carrier and follow it until it is delivered."""
    order = store.orders.by_number(number)
    (shipment,) = store.fulfilment.create_shipments(order.id)
    store.fulfilment.buy_label(shipment.id, carrier="sandbox")
    store.fulfilment.dispatch(shipment.id)
    for _ in range(4):
        clock.advance(timedelta(hours=12))
        store.fulfilment.refresh_tracking()


def error_of(html: str, name: str) -> str:
    """The field ``name`` and the error shown with it."""
    field = re.search(rf'<[a-z]+ id="f-{name}".*?</p>', html, re.S)
    assert field is not None, html
    return field[0]


def main_of(html: str) -> str:
    found = re.search(r"<main>.*</main>", html, re.S)
    assert found is not None
    return found[0]


def case_id_of(response_url: object) -> str:
    found = re.search(r"/support/([^/?#]+)$", str(response_url))
    assert found is not None, response_url
    return found[1]


def test_a_customer_signs_up_signs_in_and_finds_their_order_in_the_history(
    store: Store, accounts: Accounts
) -> None:
    client = visitor(store, accounts)
    post(client, "/cart/add", {"sku": "SENCHA-100G"}, "/products/sencha")
    before = csrf(client.get("/cart").text)

    home = register(client, ADA)
    assert "Signed in as Ada Lovelace (ada@example.com)" in home
    assert 'href="/account">Your account<' in home
    assert 'id="cart-count">1<' in home, "the cart made before signing up stays"
    assert csrf(home) != before
    assert client.post("/account/logout", data={"csrf_token": before}).status_code == 403
    ada = accounts.get_by_email(ADA[1])
    assert ada is not None
    assert store.customers.get(ada.subject).name == "Ada Lovelace"

    taken = register(visitor(store, accounts), ("Another Ada", "ADA@example.com"))
    assert "An account with that e-mail address exists." in error_of(taken, "email")

    out = post(client, "/account/logout", {}, "/account")
    assert "You are signed out." in out
    assert 'href="/account/login">Sign in<' in out
    assert client.get("/account", follow_redirects=False).headers["location"] == "/account/login"

    wrong_password = sign_in(client, ADA[1], "not the password at all")
    unknown_email = sign_in(client, "nobody@example.com", PASSWORD)
    assert SIGN_IN_REFUSED in wrong_password
    # Alike but for the address typed back into the form: which was wrong is not told.
    assert main_of(wrong_password).replace(ADA[1], "") == main_of(unknown_email).replace(
        "nobody@example.com", ""
    )
    assert client.get("/account", follow_redirects=False).status_code == 303

    assert "You are signed in." in sign_in(client, "Ada@Example.com", PASSWORD)
    number = buy(client)
    assert store.orders.by_number(number).customer_id == ada.subject

    history = client.get("/account")
    assert f'href="/account/orders/{number}"' in history.text
    order = client.get(f"/account/orders/{number}")
    assert order.status_code == 200
    assert "Assam Breakfast" in order.text
    assert "Sencha Kyoto" in order.text


def test_the_address_book_shows_a_country_s_error_at_its_field(
    store: Store, accounts: Accounts
) -> None:
    client = visitor(store, accounts)
    ada = registered(client, accounts, ADA)

    wrong = client.post(
        "/account/addresses",
        data={
            **ADDRESS,
            "label": "Home",
            "postal_code": "1011",
            "csrf_token": csrf(client.get("/account/addresses").text),
        },
    )
    assert wrong.status_code == 422
    field = error_of(wrong.text, "postal_code")
    assert 'aria-invalid="true"' in field
    assert 'id="e-postal_code"' in field
    assert "is not a postal code of DE" in field
    assert 'value="Weinbergsweg 12"' in wrong.text
    assert store.customers.get(ada.subject).addresses == ()

    saved = post(
        client,
        "/account/addresses",
        {**ADDRESS, "label": "Home", "default_shipping": "yes"},
        "/account/addresses",
    )
    assert "Address Home saved." in saved
    assert "Weinbergsweg 12" in saved
    (kept,) = store.customers.get(ada.subject).addresses
    assert (kept.label, kept.address.postal_code, kept.default_shipping) == ("Home", "10119", True)
    assert client.get("/account/addresses/Home").status_code == 200

    removed = post(client, "/account/addresses/remove", {"label": "Home"}, "/account/addresses")
    assert "Address Home removed." in removed
    assert store.customers.get(ada.subject).addresses == ()
    assert client.get("/account/addresses/Home").status_code == 404


def test_marketing_consent_is_recorded_given_and_withdrawn(
    store: Store, accounts: Accounts
) -> None:
    client = visitor(store, accounts)
    ada = registered(client, accounts, ADA)
    assert "You do not receive our news and offers." in client.get("/account/consent").text

    given = post(client, "/account/consent", {"marketing": "yes"}, "/account/consent")
    assert "You receive our news and offers by e-mail." in given
    assert 'value="yes" checked' in given
    record = store.customers.get(ada.subject)
    assert record.accepts_marketing
    assert (record.consents[-1].source, record.consents[-1].wording) == (
        "storefront account",
        CONSENT_WORDING,
    )
    assert CONSENT_WORDING.replace("'", "&#39;") in given

    withdrawn = post(client, "/account/consent", {}, "/account/consent")
    assert "You do not receive our news and offers." in withdrawn
    record = store.customers.get(ada.subject)
    assert not record.accepts_marketing
    assert [consent.granted for consent in record.consents] == [True, False]


def test_another_customer_gets_the_404_of_what_does_not_exist(
    store: Store, accounts: Accounts
) -> None:
    ada, bob, guest = (visitor(store, accounts) for _ in range(3))
    register(ada, ADA)
    number = buy(ada)
    post(ada, "/account/addresses", {**ADDRESS, "label": "Home"}, "/account/addresses")
    written = ada.post(
        "/account/support",
        data={
            "subject": "Gift wrap?",
            "body": "Could you wrap it?",
            "csrf_token": csrf(ada.get("/account/support").text),
        },
    )
    case_id = case_id_of(written.url)
    assert "Could you wrap it?" in written.text
    assert "Gift wrap?" in ada.get("/account/support").text
    register(bob, BOB)
    guest.get("/")

    pairs = (
        (f"/account/orders/{number}", "/account/orders/WEB-00000000"),
        ("/account/addresses/Home", "/account/addresses/Nowhere"),
        (f"/support/{case_id}", "/support/case_0000000000000000"),
    )
    for theirs, unknown in pairs:
        assert ada.get(theirs).status_code == 200, theirs
        refused, missing = bob.get(theirs), bob.get(unknown)
        assert (refused.status_code, missing.status_code) == (404, 404), theirs
        assert main_of(refused.text) == main_of(missing.text)
    assert guest.get(f"/support/{case_id}").status_code == 404
    assert guest.get(f"/orders/{number}").status_code == 404

    removed = post(bob, "/account/addresses/remove", {"label": "Home"}, "/account/addresses")
    assert "We could not find that page." in removed
    replied = post(bob, f"/support/{case_id}/reply", {"body": "Mine now"}, "/account/support")
    assert "We could not find that page." in replied
    ada_id = accounts.get_by_email(ADA[1])
    assert ada_id is not None
    assert [each.label for each in store.customers.get(ada_id.subject).addresses] == ["Home"]
    assert len(store.support.get(case_id).messages) == 1


def test_a_guest_follows_the_parcel_then_asks_to_send_it_back_and_writes_to_us(
    store: Store, accounts: Accounts, clock: FixedClock
) -> None:
    client = visitor(store, accounts)
    number = buy(client, quantity=2)
    url = f"/orders/{number}"
    assert "Where your parcels are" not in client.get(url).text

    order = store.orders.by_number(number)
    (shipment,) = store.fulfilment.create_shipments(order.id)
    label = store.fulfilment.buy_label(shipment.id, carrier="sandbox")
    store.fulfilment.dispatch(shipment.id)
    clock.advance(timedelta(hours=12))
    store.fulfilment.refresh_tracking()
    on_its_way = client.get(url).text
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', on_its_way, re.S)
    assert timeline is not None
    events = re.findall(r'<span class="event">([^<]+)</span>', timeline[1])
    assert events == ["label created", "picked up"]
    assert "01 Dec 2026, 21:00 UTC" in timeline[1]
    assert label.tracking_number in on_its_way
    assert f'href="https://sandbox-carrier.test/track/{label.tracking_number}"' in on_its_way
    assert "Send something back" not in on_its_way

    for _ in range(3):
        clock.advance(timedelta(hours=12))
        store.fulfilment.refresh_tracking()
    delivered = client.get(url).text
    assert re.findall(r'<span class="event">([^<]+)</span>', delivered)[-1] == "delivered"
    assert "Send something back" in delivered
    tracked = post(client, "/track", {"number": number, "email": "zoe@example.com"}, "/track")
    assert "out for delivery" in tracked

    no_reason = post(client, f"{url}/return", {"qty-0": "1", "reason": ""}, url)
    assert "Tell us why it is coming back." in error_of(no_reason, "reason")
    too_many = post(client, f"{url}/return", {"qty-0": "3", "reason": "damaged"}, url)
    assert "Enter a whole number from 0 to 2." in error_of(too_many, "qty-0")
    assert store.returns.for_order(order.id) == []

    asked = post(
        client, f"{url}/return", {"qty-0": "2", "reason": "damaged", "note": "Dented"}, url
    )
    assert "We have your return request" in asked
    assert "2 x Assam Breakfast, asked for on 03 Dec 2026" in asked
    # Both units are coming back: the form no longer offers them.
    assert "Everything in this order is on its way back to us" in asked
    assert 'name="qty-0"' not in asked
    (made,) = store.returns.for_order(order.id)
    assert (made.unit_count, made.lines[0].reason.value, made.note) == (2, "damaged", "Dented")
    again = post(client, f"{url}/return", {"qty-0": "1", "reason": "other"}, url)
    assert "That is more than was delivered, less what is already coming back." in again

    store.refunds.goodwill(order.id, Money("2.00", "EUR"), reason="for the wait")
    assert "Refunded €2.00 on 03 Dec 2026" in client.get(url).text

    response = client.post(
        f"{url}/support",
        data={
            "subject": "Dented tin",
            "body": "The tin arrived dented.",
            "csrf_token": csrf(client.get(url).text),
        },
    )
    case_id = case_id_of(response.url)
    assert "The tin arrived dented." in response.text
    case = store.support.get(case_id)
    assert (case.order_id, case.email, case.customer_id) == (order.id, "zoe@example.com", None)
    assert f'href="/support/{case_id}">Dented tin<' in client.get(url).text
    post(client, f"/support/{case_id}/reply", {"body": "A photo follows."}, f"/support/{case_id}")
    assert [m.body for m in store.support.get(case_id).messages][-1] == "A photo follows."

    stranger = visitor(store, accounts)
    stranger.get("/")
    assert stranger.get(f"/support/{case_id}").status_code == 404


def test_a_signed_in_customer_sends_back_and_writes_from_their_order_page(
    store: Store, accounts: Accounts, clock: FixedClock
) -> None:
    client = visitor(store, accounts)
    ada = registered(client, accounts, ADA)
    number = buy(client)
    deliver(store, clock, number)
    url = f"/account/orders/{number}"

    asked = post(client, f"{url}/return", {"qty-0": "1", "reason": "changed_mind"}, url)
    assert "asked for on 03 Dec 2026" in asked
    (made,) = store.returns.for_order(store.orders.by_number(number).id)
    assert made.owner == ada.subject
    assert made.steps[0].actor == f"customer:{ada.subject}"

    written = client.post(
        f"{url}/support",
        data={"subject": "Late", "body": "Thanks!", "csrf_token": csrf(client.get(url).text)},
    )
    case = store.support.get(case_id_of(written.url))
    assert case.customer_id == ada.subject
    assert "Late" in client.get("/account/support").text


def test_every_new_form_refuses_a_post_without_the_csrf_token(
    store: Store, accounts: Accounts, clock: FixedClock
) -> None:
    guest = visitor(store, accounts)
    number = buy(guest)
    deliver(store, clock, number)
    response = guest.post(
        f"/orders/{number}/support",
        data={
            "subject": "Hi",
            "body": "Hello",
            "csrf_token": csrf(guest.get(f"/orders/{number}").text),
        },
    )
    case_id = case_id_of(response.url)
    for url in (
        f"/orders/{number}/return",
        f"/orders/{number}/support",
        f"/support/{case_id}/reply",
    ):
        assert guest.post(url, data={"subject": "x", "body": "x"}).status_code == 403, url

    client = visitor(store, accounts)
    client.get("/")
    for url in ("/account/register", "/account/login"):
        refused = client.post(url, data={"email": ADA[1], "password": PASSWORD, "name": "Ada"})
        assert refused.status_code == 403, url
    assert accounts.get_by_email(ADA[1]) is None
    register(client, ADA)
    mine = buy(client)
    deliver(store, clock, mine)
    for url in (
        "/account/addresses",
        "/account/addresses/remove",
        "/account/consent",
        "/account/support",
        f"/account/orders/{mine}/return",
        f"/account/orders/{mine}/support",
        "/account/logout",
    ):
        forged = client.post(url, data={"marketing": "yes", "label": "Home", "csrf_token": "x"})
        assert forged.status_code == 403, url
    ada = accounts.get_by_email(ADA[1])
    assert ada is not None
    assert store.customers.get(ada.subject).consents == ()
    assert "Your account" in client.get("/account").text


def test_every_input_of_the_new_pages_is_labelled(
    store: Store, accounts: Accounts, clock: FixedClock
) -> None:
    client = visitor(store, accounts)
    pages = ["/account/register", "/account/login"]
    for url in pages:
        assert client.get(url).status_code == 200, url
    register(client, ADA)
    number = buy(client)
    deliver(store, clock, number)
    post(client, "/account/addresses", {**ADDRESS, "label": "Home"}, "/account/addresses")
    written = client.post(
        "/account/support",
        data={
            "subject": "Hi",
            "body": "Hello",
            "csrf_token": csrf(client.get("/account/support").text),
        },
    )
    pages += [
        "/account",
        f"/account/orders/{number}",
        "/account/addresses",
        "/account/addresses/Home",
        "/account/consent",
        "/account/support",
        f"/support/{case_id_of(written.url)}",
    ]
    for url in pages:
        assert Page(assert_accessible(client, url)).fields, url
