"""Shoppers of the example storefront, for Locust (``bench/storefront_load.py`` runs it).

Each Locust user is one visitor with a cookie jar of its own, so it holds its own
signed session cookie, cart and CSRF token. It lands on the home page, learns the
product links from it, then mostly browses: product pages and searches, now and then
an add to cart, and sometimes a whole checkout (contact, address, shipping, then
payment with the test card ``tok_success``).

Every request is one HTTP exchange: a form's POST is not followed to the page it
redirects to; the shopper fetches that page next, as its own request, so that a
POST's figures are its own. Requests are named so that alike pages group together
(``/products/[slug]``). Anything but the answer a browser would expect (a page, or
the redirect to the next step) is recorded as a failure, with what the page said.
"""

from __future__ import annotations

import random
import re
from typing import Final

from locust import FastHttpUser, events, task
from locust.argument_parser import LocustArgumentParser
from locust.contrib.fasthttp import FastResponse

from commercekit.examples.storefront.demo import ADDRESS

#: What shoppers type into the search box: names, kinds and words of the descriptions.
SEARCHES: Final = ("tea", "green tea", "sencha", "assam", "kettle", "cups", "stoneware", "malty")
CSRF: Final = re.compile(r'name="csrf_token" value="([^"]+)"')
ATTEMPT: Final = re.compile(r'name="attempt" value="([^"]+)"')
SKU: Final = re.compile(r'name="sku" value="([^"]+)"')
PRODUCT_LINK: Final = re.compile(r'href="/products/([^"/?#]+)"')
ALERT: Final = re.compile(r'role="alert">([^<]*)<')


def _options(parser: LocustArgumentParser) -> None:
    parser.add_argument(
        "--think-ms",
        default="100-500",
        help="how long a shopper waits between two tasks, LOW-HIGH milliseconds",
    )


# Locust's event hooks carry no annotations.
events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]


class Refused(Exception):
    """The shop answered other than a browser would expect; the message says how."""


def found(pattern: re.Pattern[str], text: str, what: str) -> str:
    match = pattern.search(text)
    if match is None:
        raise Refused(f"no {what} on the page")
    return match.group(1)


class Shopper(FastHttpUser):
    """One visitor: browses mostly, adds to the cart now and then, sometimes buys."""

    def on_start(self) -> None:
        self.slugs = sorted(set(PRODUCT_LINK.findall(self.page("/"))))
        if not self.slugs:
            raise Refused("the home page links no product")
        self.cart_lines = 0
        low, _, high = str(self.environment.parsed_options.think_ms).partition("-")
        self.think = (int(low) / 1000, int(high or low) / 1000)

    def wait_time(self) -> float:
        return random.uniform(*self.think)

    @task(10)
    def view_product(self) -> None:
        self.product_page()

    @task(5)
    def search(self) -> None:
        self.page(f"/search?q={random.choice(SEARCHES)}", "/search?q=[words]")

    @task(3)
    def add_to_cart(self) -> None:
        product = self.product_page()
        sku = found(SKU, product, "variant to add")
        self.submit("/cart/add", {"sku": sku, "quantity": "1"}, product, "/cart")
        cart = self.page("/cart")
        if "Added to your cart." not in cart:
            raise Refused(f"/cart/add: the cart does not say it was added ({self.alert(cart)})")
        self.cart_lines += 1

    @task(1)
    def check_out(self) -> None:
        if not self.cart_lines:
            self.add_to_cart()
        contact = self.page("/checkout/contact")
        self.submit("/checkout/contact", {"email": "zoe@example.com"}, contact, "/checkout/address")
        address = self.page("/checkout/address")
        self.submit("/checkout/address", ADDRESS, address, "/checkout/shipping")
        shipping = self.page("/checkout/shipping")
        self.submit("/checkout/shipping", {"method_id": "standard"}, shipping, "/checkout/payment")
        payment = self.page("/checkout/payment")
        paid = {"card": "tok_success", "attempt": found(ATTEMPT, payment, "payment attempt")}
        done = self.submit("/checkout/payment", paid, payment, "/checkout/done/")
        self.cart_lines = 0
        self.page(done, "/checkout/done/[number]")

    def product_page(self) -> str:
        return self.page(f"/products/{random.choice(self.slugs)}", "/products/[slug]")

    def page(self, path: str, name: str | None = None) -> str:
        """The HTML of the page at ``path``; anything but a 200 is a failure."""
        with self.client.get(path, name=name or path, catch_response=True) as response:
            text = response.text or ""
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {self.alert(text)}")
                raise Refused(f"GET {path} answered {response.status_code}")
            return text

    def submit(self, path: str, fields: dict[str, str], form_page: str, next_path: str) -> str:
        """POST a form with the CSRF token of the page that shows it; the redirect's
        target, which must start with ``next_path``."""
        data = {**fields, "csrf_token": found(CSRF, form_page, "CSRF token")}
        with self.client.post(
            path, data=data, name=path, allow_redirects=False, catch_response=True
        ) as response:
            location = location_of(response)
            if response.status_code != 303 or not location.startswith(next_path):
                said = self.alert(response.text or "")
                response.failure(f"{response.status_code} to {location!r}: {said}")
                raise Refused(f"POST {path} answered {response.status_code}")
            return location

    @staticmethod
    def alert(text: str) -> str:
        """What the page told the shopper went wrong, if it says so."""
        return " ".join(match.strip() for match in ALERT.findall(text)) or "no message"


def location_of(response: FastResponse) -> str:
    headers = response.headers
    return str(headers.get("location", "")) if headers is not None else ""
