"""The example storefront, driven through its pages as a browser without JavaScript
would, against a real SQLite file."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")

from starlette.testclient import TestClient

from commercekit import Money, Store, Variant
from commercekit.examples import storefront
from commercekit.examples.storefront import create_app
from commercekit.examples.storefront.demo import CATEGORIES, config, seed
from tests.e2e.storefront_pages import ADDRESS, SECRET, assert_accessible, csrf, submit


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(
        f"sqlite:///{tmp_path / 'shop.db'}", config=config("http://testserver")
    ) as opened:
        seed(opened)
        yield opened


def shopper(store: Store) -> TestClient:
    return TestClient(create_app(store, secret_key=SECRET, navigation=CATEGORIES))


def post(client: TestClient, url: str, data: dict[str, str], page: str = "/cart") -> str:
    """POST a form the way ``page``, which shows it, would; the page it leads to."""
    return submit(client, page, url, data)


def checkout_to_payment(client: TestClient) -> None:
    post(client, "/checkout/contact", {"email": "zoe@example.com"}, "/checkout/contact")
    post(client, "/checkout/address", ADDRESS, "/checkout/address")
    post(client, "/checkout/shipping", {"method_id": "standard"}, "/checkout/shipping")


def test_a_guest_searches_fills_a_cart_and_pays_after_confirming(store: Store) -> None:
    client = shopper(store)
    home = client.get("/")
    assert "Tea" in home.text
    assert "Teaware" in home.text

    found = client.get("/search", params={"q": "sencha"})
    assert "Sencha Kyoto" in found.text
    assert "1 product found" in found.text
    by_origin = client.get("/search", params={"origin": "Japan"})
    assert "Sencha Kyoto" in by_origin.text
    assert "Cast-iron kettle" in by_origin.text
    assert "Assam" not in by_origin.text.split("products found")[-1]

    product = client.get("/products/sencha")
    assert "8,90" in product.text or "8.90" in product.text
    assert "In stock" in product.text
    assert '<script type="application/ld+json" nonce="' in product.text
    post(client, "/cart/add", {"sku": "SENCHA-100G", "quantity": "2"}, "/products/sencha")
    cart = post(client, "/cart/add", {"sku": "KETTLE-BLACK", "quantity": "1"}, "/products/kettle")
    assert 'id="cart-count">3<' in cart

    refused = post(client, "/cart/coupon", {"code": "NOSUCHCODE"})
    assert "We do not know that code, or it can no longer be used." in refused
    applied = post(client, "/cart/coupon", {"code": "teaweek"})
    assert "Code TEAWEEK applied." in applied
    assert "you save" in applied

    checkout_to_payment(client)
    page = client.get("/checkout/payment")
    attempt = re.search(r'name="attempt" value="([^"]+)"', page.text)
    assert attempt is not None
    acting = client.post(
        "/checkout/payment",
        data={"card": "tok_requires_action", "attempt": attempt[1], "csrf_token": csrf(page.text)},
    )
    assert "Your bank asks you to confirm" in acting.text
    confirmed = client.post("/checkout/action", data={"csrf_token": csrf(acting.text)})
    assert "Thank you for your order" in confirmed.text
    number = re.search(r'class="order-number">([^<]+)<', confirmed.text)
    assert number is not None
    order = client.get(f"/orders/{number[1]}")
    assert order.status_code == 200
    assert "Sencha Kyoto" in order.text
    assert "open" in order.text
    assert 'id="cart-count">0<' in order.text

    tracked = post(client, "/track", {"number": number[1], "email": "zoe@example.com"}, "/track")
    assert f"Order {number[1]}" in tracked
    wrong = post(client, "/track", {"number": number[1], "email": "eve@example.com"}, "/track")
    assert "We found no order with that number and e-mail address." in wrong


def test_a_declined_card_is_told_in_words(store: Store) -> None:
    client = shopper(store)
    post(client, "/cart/add", {"sku": "ASSAM-250G"}, "/products/assam")
    checkout_to_payment(client)
    page = client.get("/checkout/payment")
    declined = client.post(
        "/checkout/payment", data={"card": "tok_declined", "csrf_token": csrf(page.text)}
    )
    assert declined.status_code == 422
    assert "Your bank declined the payment" in declined.text


def test_a_wrong_address_shows_the_error_next_to_its_field(store: Store) -> None:
    client = shopper(store)
    post(client, "/cart/add", {"sku": "ASSAM-250G"}, "/products/assam")
    post(client, "/checkout/contact", {"email": "zoe@example.com"}, "/checkout/contact")
    page = client.get("/checkout/address")
    wrong = client.post(
        "/checkout/address", data={**ADDRESS, "country": "XX", "csrf_token": csrf(page.text)}
    )
    assert wrong.status_code == 422
    field = re.search(r'<input id="f-country".*?</p>', wrong.text, re.S)
    assert field is not None
    assert 'aria-invalid="true"' in field[0]
    assert 'id="e-country"' in field[0]
    assert "ISO 3166-1" in field[0]
    assert 'value="Weinbergsweg 12"' in wrong.text


def test_a_post_without_the_csrf_token_is_refused(store: Store) -> None:
    client = shopper(store)
    client.get("/")
    assert client.post("/cart/add", data={"sku": "ASSAM-250G"}).status_code == 403
    forged = client.post("/cart/add", data={"sku": "ASSAM-250G", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert 'id="cart-count">0<' in client.get("/").text


def test_one_shoppers_cookie_cannot_open_anothers_order(store: Store) -> None:
    zoe, eve = shopper(store), shopper(store)
    post(zoe, "/cart/add", {"sku": "ASSAM-250G"}, "/products/assam")
    checkout_to_payment(zoe)
    page = zoe.get("/checkout/payment")
    done = zoe.post(
        "/checkout/payment", data={"card": "tok_success", "csrf_token": csrf(page.text)}
    )
    number = re.search(r'class="order-number">([^<]+)<', done.text)
    assert number is not None
    assert zoe.get(f"/orders/{number[1]}").status_code == 200
    eve.get("/")
    for url in (f"/orders/{number[1]}", f"/checkout/done/{number[1]}"):
        refused = eve.get(url)
        assert refused.status_code == 404
        assert "Assam" not in refused.text
    # The session cookie is signed: one edited by hand is a new, empty session.
    eve.cookies.set("storefront_session", zoe.cookies["storefront_session"] + "x")
    assert eve.get(f"/orders/{number[1]}").status_code == 404


def test_the_session_cookie_is_signed_http_only_and_lax(store: Store) -> None:
    client = shopper(store)
    response = client.get("/")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("storefront_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    secure = TestClient(
        create_app(store, secret_key=SECRET, navigation=CATEGORIES),
        base_url="https://testserver",
    )
    assert "Secure" in secure.get("/").headers["set-cookie"]


def test_security_headers_are_sent(store: Store) -> None:
    client = shopper(store)
    for url in ("/", "/products/sencha", "/no-such-page"):
        headers = client.get(url).headers
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'nonce-" in policy
        assert "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
    nonce = re.search(
        r"'nonce-([^']+)'", client.get("/products/sencha").headers["content-security-policy"]
    )
    assert nonce is not None


def test_every_input_has_a_label_and_every_image_an_alt(store: Store) -> None:
    client = shopper(store)
    post(client, "/cart/add", {"sku": "SENCHA-100G"}, "/products/sencha")
    pages = [
        "/",
        "/search?q=tea",
        "/products/sencha",
        "/products/cups",
        "/cart",
        "/checkout/contact",
        "/checkout/address",
        "/track",
    ]
    checkout_to_payment(client)
    pages += ["/checkout/shipping", "/checkout/payment"]
    for url in pages:
        assert_accessible(client, url)


def test_the_navigation_is_the_top_of_the_store_s_category_tree(store: Store) -> None:
    browser = TestClient(create_app(store, secret_key=SECRET))

    home = browser.get("/")

    assert home.status_code == 200
    for category_id, name in CATEGORIES:
        assert f'href="/categories/{category_id}"' in home.text
        assert name in home.text


def test_the_search_box_suggests_products_as_the_shopper_types(store: Store) -> None:
    client = shopper(store)

    typed = client.get("/search/suggest", params={"q": "sen"})

    assert typed.headers["content-type"] == "application/json"
    found = typed.json()
    assert found["query"] == "sen"
    assert [item["name"] for item in found["items"]] == ["Sencha Kyoto"]
    assert found["items"][0]["url"] == "/products/sencha"
    assert "8" in found["items"][0]["price"]
    # Nothing typed, nothing found, and what cannot be searched for: an empty list.
    for text in ("", "   ", "zzzzq", "\x00", "x" * 5000, '"); DROP TABLE products; --'):
        answer = client.get("/search/suggest", params={"q": text})
        assert answer.status_code == 200
        assert answer.json()["items"] == []
    # The page loads the script by the response's nonce, and may ask only the shop.
    home = client.get("/")
    policy = home.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert f'<script nonce="{nonce[1]}" src="/static/suggest.js" defer></script>' in home.text
    assert "connect-src 'self'" in policy
    assert client.get("/static/suggest.js").status_code == 200


def test_a_price_changed_while_paying_is_shown_and_paying_again_accepts_it(
    store: Store,
) -> None:
    client = shopper(store)
    post(client, "/cart/add", {"sku": "ASSAM-250G", "quantity": "2"}, "/products/assam")
    checkout_to_payment(client)
    page = client.get("/checkout/payment")
    shown = re.search(r"Place order and pay ([^<]+)<", page.text)
    assert shown is not None
    store.catalog.set_price("eu", "ASSAM-250G", Money("9.99", "EUR"))

    changed = client.post(
        "/checkout/payment", data={"card": "tok_success", "csrf_token": csrf(page.text)}
    )

    assert changed.status_code == 409
    assert f"The total changed from {shown[1]} to " in changed.text
    assert "Nothing was charged" in changed.text
    assert store.orders.search() == []
    new = re.search(r"Place order and pay ([^<]+)<", changed.text)
    assert new is not None
    assert new[1] != shown[1]
    assert f"to {new[1]} while you were paying" in changed.text
    paid = client.post(
        "/checkout/payment", data={"card": "tok_success", "csrf_token": csrf(changed.text)}
    )
    assert "Thank you for your order" in paid.text
    (order,) = store.orders.search()
    assert order.totals.grand_total_units == int(re.sub(r"\D", "", new[1]))


def test_the_storefront_uses_only_commercekit_s_public_api() -> None:
    """No adapter, plugin machinery, test kit or private module or name: what the
    storefront does, an application can do with what commercekit publishes."""
    folder = Path(storefront.__file__).parent
    forbidden = ("commercekit.adapters", "commercekit.plugins", "commercekit.hookspecs")
    forbidden += ("commercekit.testing",)
    checked = 0
    for source in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                modules, names = [alias.name for alias in node.names], []
            else:
                continue
            for module in modules:
                if not module.startswith("commercekit"):
                    continue
                checked += 1
                assert not module.startswith(forbidden), (source.name, module)
                assert not any(part.startswith("_") for part in module.split(".")), module
                assert not any(name.startswith("_") for name in names), (module, names)
    assert checked > 10


def test_the_home_page_leads_to_each_collection_in_its_own_order(store: Store) -> None:
    client = shopper(store)
    home = client.get("/")
    assert 'href="/collections/first-pot"' in home.text
    assert 'href="/collections/under-10"' in home.text

    picked = client.get("/collections/first-pot")
    assert picked.status_code == 200
    names = re.findall(r'<span class="name">([^<]+)</span>', picked.text)
    assert names == ["Sencha Kyoto", "Cast-iron kettle", "Stoneware cups (set of two)"]
    cheap = client.get("/collections/under-10")
    assert re.findall(r'<span class="name">([^<]+)</span>', cheap.text) == [
        "Assam Breakfast",
        "Sencha Kyoto",
    ]
    # A price rising above the rule's bound takes the product out at once.
    store.catalog.set_price("eu", "SENCHA-100G", Money("10.50", "EUR"))
    cheap = client.get("/collections/under-10")
    assert re.findall(r'<span class="name">([^<]+)</span>', cheap.text) == ["Assam Breakfast"]
    assert client.get("/collections/no-such-collection").status_code == 404
    assert_accessible(client, "/collections/first-pot")


def test_a_price_says_whether_tax_is_in_it_as_the_channel_states_prices(
    store: Store, tmp_path: Path
) -> None:
    assert (
        '€8.90</span> <span class="tax-note">incl. VAT'
        in shopper(store).get("/products/sencha").text
    )
    net = config("http://testserver")
    net["channels"] = [{**net["channels"][0], "prices_include_tax": False}]
    with Store.open(f"sqlite:///{tmp_path / 'net.db'}", config=net) as b2b:
        seed(b2b)
        page = TestClient(create_app(b2b, secret_key=SECRET)).get("/products/sencha")
    assert '<span class="tax-note">plus VAT</span>' in page.text


def test_a_card_shows_the_lowest_price_of_its_variants_by_amount(store: Store) -> None:
    # By amount, not by text: "€10.50" sorts before "€8.90" as a string.
    store.catalog.put_variant("sencha", Variant(sku="SENCHA-250G", options={"size": "250 g"}))
    store.catalog.set_price("eu", "SENCHA-250G", Money("10.50", "EUR"))

    found = shopper(store).get("/search", params={"q": "sencha"}).text

    assert re.findall(r'<span class="price">([^<]+)</span>', found) == ["€8.90"]
