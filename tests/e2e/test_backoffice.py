"""The storefront's back office, driven through its pages as a browser without
JavaScript would, against a real SQLite file and a clock the test moves."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from commercekit import Money, Store, format_money, from_minor_units
from commercekit.adapters.clock import FixedClock
from commercekit.domain.access import Permission
from commercekit.examples.storefront import create_app
from commercekit.examples.storefront.accounts import Accounts
from commercekit.examples.storefront.demo import CATEGORIES, config, seed
from tests.e2e.storefront_pages import ADDRESS, SECRET, assert_accessible, csrf, submit

START = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
LOCALE = "en_IE"
BOSS = ("boss@teehaus.example", "a long boss password")
CLERK = ("clerk@teehaus.example", "a long clerk password")
STAFF_PAGES = (
    "/staff",
    "/staff/orders",
    "/staff/returns",
    "/staff/stock",
    "/staff/cases",
    "/staff/reports",
    "/staff/reports/sales.svg",
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def open_store(path: Path, clock: FixedClock, **changes: object) -> Store:
    store = Store.open(
        f"sqlite:///{path}", config={**config("http://testserver"), **changes}, clock=clock
    )
    seed(store)
    return store


@pytest.fixture
def store(tmp_path: Path, clock: FixedClock) -> Iterator[Store]:
    with open_store(tmp_path / "shop.db", clock) as opened:
        yield opened


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[Accounts]:
    kept = Accounts(str(tmp_path / "shop.db.accounts"))
    kept.create(*BOSS, kind="staff", permissions=tuple(Permission))
    kept.create(*CLERK, kind="staff", permissions=(Permission.ORDERS,))
    yield kept
    kept.close()


def browser(store: Store, accounts: Accounts) -> TestClient:
    app = create_app(store, secret_key=SECRET, navigation=CATEGORIES, accounts=accounts)
    return TestClient(app, follow_redirects=True)


def sign_in(client: TestClient, email: str, password: str) -> str:
    login = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf_token": csrf(login.text)},
    )
    return response.text


def buy(client: TestClient) -> str:
    """Two bags of sencha bought through the shop's pages; the order's number."""
    submit(client, "/products/sencha", "/cart/add", {"sku": "SENCHA-100G", "quantity": "2"})
    submit(client, "/checkout/contact", "/checkout/contact", {"email": "zoe@example.com"})
    submit(client, "/checkout/address", "/checkout/address", ADDRESS)
    submit(client, "/checkout/shipping", "/checkout/shipping", {"method_id": "standard"})
    done = submit(client, "/checkout/payment", "/checkout/payment", {"card": "tok_success"})
    number = re.search(r'class="order-number">([^<]+)<', done)
    assert number is not None, done
    return number[1]


def euros(units: int) -> str:
    return format_money(from_minor_units(units, "EUR"), LOCALE)


def test_a_wrong_password_and_an_unknown_address_are_refused_alike(
    store: Store, accounts: Accounts
) -> None:
    client = browser(store, accounts)

    wrong = sign_in(client, BOSS[0], "not the password at all")
    unknown = sign_in(client, "nobody@teehaus.example", BOSS[1])

    refusal = "That e-mail address and password do not open a staff account."
    assert refusal in wrong
    assert refusal in unknown
    assert 'value="nobody@teehaus.example"' in unknown
    assert client.get("/staff/orders", follow_redirects=False).headers["location"] == (
        "/staff/login"
    )
    # A customer's account is not a staff account, whatever its password.
    accounts.create("zoe@example.com", "zoe's long password", kind="customer")
    assert refusal in sign_in(client, "zoe@example.com", "zoe's long password")


def test_staff_pages_lead_to_the_sign_in_page_when_signed_out(
    store: Store, accounts: Accounts
) -> None:
    client = browser(store, accounts)
    client.get("/")
    for url in (*STAFF_PAGES, "/staff/orders/order_x", "/staff/returns/return_x"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"] == "/staff/login"
    token = csrf(client.get("/staff/login").text)
    shipped = client.post(
        "/staff/orders/order_x/ship", data={"csrf_token": token}, follow_redirects=False
    )
    assert shipped.headers["location"] == "/staff/login"


def test_signing_in_keeps_the_cart_and_signing_out_ends_the_staff_session(
    store: Store, accounts: Accounts
) -> None:
    client = browser(store, accounts)
    submit(client, "/products/sencha", "/cart/add", {"sku": "SENCHA-100G", "quantity": "1"})
    before = csrf(client.get("/staff/login").text)

    home = sign_in(client, *BOSS)

    assert "Signed in as boss@teehaus.example" in home
    assert csrf(home) != before  # a fresh session, a fresh token
    assert 'id="cart-count">1<' in client.get("/").text
    for url, name in (("/staff/orders", "Orders"), ("/staff/reports", "Reports")):
        assert f'<a href="{url}">{name}</a>' in home
    out = client.post("/staff/logout", data={"csrf_token": csrf(home)})
    assert "Signed out." in out.text
    assert client.get("/staff", follow_redirects=False).status_code == 303


def test_an_account_with_orders_only_is_refused_stock_and_refunds(
    store: Store, accounts: Accounts
) -> None:
    shopper = browser(store, accounts)
    number = buy(shopper)
    order = store.orders.by_number(number)
    client = browser(store, accounts)
    home = sign_in(client, *CLERK)

    assert '<a href="/staff/orders">Orders</a>' in home
    assert 'href="/staff/stock"' not in home
    assert 'href="/staff/reports"' not in home
    stock = client.get("/staff/stock")
    assert stock.status_code == 403
    assert "This needs the “stock” permission" in stock.text
    assert client.get("/staff/reports/sales.svg").status_code == 403
    page = client.get(f"/staff/orders/{order.id}")
    assert page.status_code == 200
    assert "Refund an amount" not in page.text  # not offered ...
    refused = client.post(  # ... and refused by the store when sent anyway
        f"/staff/orders/{order.id}/refund-amount",
        data={"amount": "5.00", "reason": "goodwill", "csrf_token": csrf(page.text)},
    )
    assert refused.status_code == 403
    assert "This needs the “refunds” permission" in refused.text
    assert store.refunds.for_order(order.id).refunds == ()


def test_staff_find_ship_take_back_and_refund_an_order(
    store: Store, accounts: Accounts, clock: FixedClock
) -> None:
    shopper = browser(store, accounts)
    number = buy(shopper)
    order = store.orders.by_number(number)
    client = browser(store, accounts)
    sign_in(client, *BOSS)

    by_number = client.get("/staff/orders", params={"text": number.lower()})
    by_email = client.get("/staff/orders", params={"text": "ZOE@example.com", "status": "open"})
    none_cancelled = client.get("/staff/orders", params={"text": number, "status": "cancelled"})
    for found in (by_number, by_email):
        assert f'<a href="/staff/orders/{order.id}">{number}</a>' in found.text
    assert order.id not in none_cancelled.text
    wrong = client.get("/staff/orders", params={"status": "lost"})
    assert wrong.status_code == 422
    assert 'id="e-search_status"' in wrong.text

    page = client.get(f"/staff/orders/{order.id}").text
    assert "Sencha Kyoto" in page
    assert euros(order.totals.grand_total_units) in page
    shipped = client.post(
        f"/staff/orders/{order.id}/ship", data={"service": "standard", "csrf_token": csrf(page)}
    ).text
    (shipment,) = store.fulfilment.for_order(order.id)
    assert shipment.tracking_number.startswith("SBX")
    assert f"Shipped with sandbox: tracking {shipment.tracking_number}." in shipped
    assert f"{shipment.tracking_number}</a>" in shipped
    again = client.post(f"/staff/orders/{order.id}/ship", data={"csrf_token": csrf(shipped)})
    assert again.status_code == 422  # nothing is left to ship: told in words
    assert 'class="error" role="alert"' in again.text

    for _ in range(4):  # the sandbox parcel arrives four steps of 12 hours on
        clock.advance(timedelta(hours=12))
        store.fulfilment.refresh_tracking()
    delivered = client.get(f"/staff/orders/{order.id}").text
    assert "out for delivery" in delivered
    assert "Delivery</dt><dd>delivered" in delivered

    made = store.returns.request(
        order.id, [{"sku": "SENCHA-100G", "quantity": 1, "reason": "damaged"}]
    )
    queue = client.get("/staff/returns").text
    assert f'href="/staff/returns/{made.id}"' in queue.split('id="queue-approved"')[0]
    url = f"/staff/returns/{made.id}"
    approved = submit(client, url, f"{url}/approve", {})
    assert "Return approved" in approved
    assert 'class="return-status">approved<' in approved
    received = submit(client, url, f"{url}/receive", {"received:SENCHA-100G": "1"})
    assert 'class="return-status">received<' in received
    before = sum(item.on_hand for item in store.inventory.stock("SENCHA-100G"))
    inspected = submit(
        client,
        url,
        f"{url}/inspect",
        {"outcome:SENCHA-100G": "restock", "quantity:SENCHA-100G": "1"},
    )
    assert 'class="return-status">inspected<' in inspected
    assert sum(item.on_hand for item in store.inventory.stock("SENCHA-100G")) == before + 1
    plan = store.returns.plan_refund(made.id)
    assert f"would give back <strong>{euros(plan.total_units)}</strong>" in inspected

    refunded = submit(client, url, f"{url}/refund", {})

    ledger = store.refunds.for_order(order.id)
    (refund,) = ledger.refunds
    assert refund.plan.total_units == plan.total_units > 0
    assert f"Refunded {euros(refund.plan.total_units)}." in refunded
    order_page = client.get(f"/staff/orders/{order.id}").text
    assert f'class="refunded-total">{euros(ledger.refunded_units)}<' in order_page
    row = re.search(r'<tr class="refund">(.*?)</tr>', order_page, re.S)
    assert row is not None
    assert "<td>return</td>" in row[1]
    assert euros(refund.plan.total_units) in row[1]


def test_payments_are_captured_in_parts_when_the_store_captures_by_hand(
    tmp_path: Path, accounts: Accounts, clock: FixedClock
) -> None:
    with open_store(tmp_path / "manual.db", clock, capture="manual") as manual:
        number = buy(browser(manual, accounts))
        order = manual.orders.by_number(number)
        client = browser(manual, accounts)
        sign_in(client, *BOSS)
        url = f"/staff/orders/{order.id}"

        too_much = submit(client, url, f"{url}/capture", {"amount": "9999"})
        assert 'id="e-capture_amount"' in too_much or 'role="alert"' in too_much
        nonsense = submit(client, url, f"{url}/capture", {"amount": "ten"})
        assert "Enter an amount above zero" in nonsense
        part = submit(client, url, f"{url}/capture", {"amount": "5.00"})
        assert f"Payment captured: {euros(500)} taken in all." in part
        rest = submit(client, url, f"{url}/capture", {"amount": ""})

        payment = manual.payments.for_order(order.id)
        assert payment.captured_units == order.totals.grand_total_units
        assert f"{euros(payment.captured_units)} taken in all." in rest
        assert "Capture the payment" not in rest


def test_stock_is_received_and_corrected_with_a_reason(store: Store, accounts: Accounts) -> None:
    client = browser(store, accounts)
    sign_in(client, *BOSS)
    received = submit(
        client,
        "/staff/stock",
        "/staff/stock/receive",
        {"sku": "CUPS-GREY", "location_id": "berlin", "quantity": "6", "reference": "DN-1"},
    )
    assert "Received 6 unit(s) of CUPS-GREY at berlin." in received
    unexplained = client.post(
        "/staff/stock/adjust",
        data={
            "sku": "CUPS-GREY",
            "location_id": "berlin",
            "change": "-2",
            "reason": "",
            "csrf_token": csrf(received),
        },
    )
    assert unexplained.status_code == 422
    field = re.search(r'<input id="f-adjust_reason".*?</p>', unexplained.text, re.S)
    assert field is not None
    assert "Say why the stock changes" in field[0]
    corrected = submit(
        client,
        "/staff/stock",
        "/staff/stock/adjust",
        {"sku": "CUPS-GREY", "location_id": "berlin", "change": "-2", "reason": "two broke"},
    )
    (item,) = store.inventory.stock("CUPS-GREY")
    assert item.on_hand == 4
    row = re.search(r'<th scope="row">CUPS-GREY</th>(.*?)</tr>', corrected, re.S)
    assert row is not None
    assert "<td>Stoneware cups (set of two) (grey)</td><td>berlin</td>" in row[1]
    assert f'<td class="number">{item.on_hand}</td>' in row[1]


def test_a_stock_clerk_sees_the_published_catalogue_s_stock_and_nothing_else(
    store: Store, accounts: Accounts
) -> None:
    accounts.create(
        "stock@teehaus.example",
        "a long stock password",
        kind="staff",
        permissions=(Permission.STOCK,),
    )
    client = browser(store, accounts)
    home = sign_in(client, "stock@teehaus.example", "a long stock password")

    assert '<a href="/staff/stock">Stock</a>' in home
    assert 'href="/staff/orders"' not in home
    stock = client.get("/staff/stock").text
    for sku in ("SENCHA-100G", "ASSAM-250G", "KETTLE-BLACK", "CUPS-GREY"):
        assert f'<th scope="row">{sku}</th>' in stock
    (sencha,) = store.inventory.stock("SENCHA-100G")
    assert f'<td class="number">{sencha.on_hand}</td>' in stock
    orders = client.get("/staff/orders")
    assert orders.status_code == 403
    assert "This needs the “orders” or “support” permission" in orders.text


def test_an_agent_answers_an_overdue_case_and_resolves_it(
    store: Store, accounts: Accounts, clock: FixedClock
) -> None:
    case = store.support.open_case(
        "Where is my kettle?", "It has been a week.", email="zoe@example.com"
    )
    clock.advance(timedelta(days=3))
    client = browser(store, accounts)
    sign_in(client, *BOSS)

    cases = client.get("/staff/cases").text
    overdue = cases.split("Cases by status")[0]
    assert f'<a href="/staff/cases/{case.id}">Where is my kettle?</a>' in overdue
    url = f"/staff/cases/{case.id}"
    replied = submit(client, url, f"{url}/reply", {"body": "It left Berlin this morning."})
    assert "It left Berlin this morning." in replied
    empty = submit(client, url, f"{url}/reply", {"body": ""})
    assert 'id="e-reply_body"' in empty
    resolved = submit(client, url, f"{url}/status", {"status": "resolved"})
    assert 'class="case-status">resolved<' in resolved
    assert store.support.get(case.id).status.value == "resolved"
    assert case.id not in client.get("/staff/cases").text.split("Cases by status")[1]


def test_reports_show_the_sales_as_a_chart_and_a_table(store: Store, accounts: Accounts) -> None:
    number = buy(browser(store, accounts))
    client = browser(store, accounts)
    sign_in(client, *BOSS)
    until = datetime.combine(START.date() + timedelta(days=1), time(), tzinfo=UTC)
    sales = store.reports.run("sales", since=until - timedelta(days=30), until=until)
    (today,) = [row for row in sales.records() if row["orders"]]
    revenue = today["revenue"]
    assert isinstance(revenue, Decimal)
    shown = format_money(Money(revenue, "EUR"), LOCALE)

    page = client.get("/staff/reports")
    chart = client.get("/staff/reports/sales.svg")

    assert page.status_code == 200
    assert '<img src="/staff/reports/sales.svg?days=30"' in page.text
    assert shown in page.text.split("<h2>Top products</h2>")[0]
    assert "Sencha Kyoto" in page.text.split("<h2>Top products</h2>")[1]
    assert chart.headers["content-type"].startswith("image/svg+xml")
    assert "style=" not in chart.text
    root = ET.fromstring(chart.text)
    svg = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{svg}svg"
    bars = root.findall(f".//{svg}rect")
    assert len(bars) == 30
    tips = [bar.findtext(f"{svg}title") for bar in bars]
    assert f"{START.date().isoformat()}: {shown}" in tips
    texts = {element.text for element in root.iter(f"{svg}text")}
    assert "Day (UTC)" in texts
    assert "Revenue (EUR)" in texts
    assert number not in chart.text


def test_staff_forms_refuse_a_post_without_the_csrf_token(store: Store, accounts: Accounts) -> None:
    client = browser(store, accounts)
    assert (
        client.post(
            "/staff/login", data=dict(zip(("email", "password"), BOSS, strict=True))
        ).status_code
        == 403
    )
    sign_in(client, *BOSS)
    for url, data in (
        ("/staff/stock/receive", {"sku": "ASSAM-250G", "location_id": "berlin", "quantity": "3"}),
        ("/staff/orders/order_x/ship", {}),
        ("/staff/logout", {}),
    ):
        assert client.post(url, data=data).status_code == 403, url
        assert client.post(url, data={**data, "csrf_token": "forged"}).status_code == 403, url
    (item,) = store.inventory.stock("ASSAM-250G")
    assert item.on_hand == 25
    assert "Signed in as" in client.get("/staff").text


def test_every_staff_page_labels_its_fields_and_describes_its_images(
    store: Store, accounts: Accounts, clock: FixedClock
) -> None:
    number = buy(browser(store, accounts))
    order = store.orders.by_number(number)
    (shipment,) = store.fulfilment.create_shipments(order.id)
    store.fulfilment.buy_label(shipment.id, carrier="sandbox", service="standard")
    store.fulfilment.dispatch(shipment.id)
    clock.advance(timedelta(days=3))
    store.fulfilment.refresh_tracking()
    lines = [{"sku": "SENCHA-100G", "quantity": 1, "reason": "changed_mind"}]
    asked = store.returns.request(order.id, lines)
    case = store.support.open_case("A question", "Is the kettle heavy?", email="zoe@example.com")
    client = browser(store, accounts)
    assert_accessible(client, "/staff/login")
    sign_in(client, *BOSS)
    pages = [url for url in STAFF_PAGES if not url.endswith(".svg")]
    pages += [f"/staff/orders/{order.id}", f"/staff/cases/{case.id}", "/staff/orders?text=zoe"]
    for url in pages:
        assert_accessible(client, url)
    for step in (store.returns.approve, store.returns.receive, None):
        # the return's page in each state, with the form that state shows
        assert_accessible(client, f"/staff/returns/{asked.id}")
        if step is not None:
            step(asked.id)
    assert "<select" in client.get(f"/staff/returns/{asked.id}").text
    assert_accessible(client, "/staff/orders/order_nothing", 404)
    for kind in ("orders", "returns", "cases"):  # ids that cannot be one: no such page
        assert client.get(f"/staff/{kind}/{'x' * 300}").status_code == 404, kind
