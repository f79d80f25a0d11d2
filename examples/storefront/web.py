"""What every page of the storefront shares: the shop, the page renderer, the
session's cart and remembered orders.

Every page is rendered on the server and works without JavaScript. The pages reach
the store as a guest shopper (``store.as_shopper()``), or as the signed-in customer,
so every call is checked at the store's door as a shopper's would be: carts and
orders are reached by their tokens, which live only in the visitor's signed session
cookie (see :mod:`.security`), never in a URL. An order page's address names the
order's number, but the page is shown only to the session that placed the order
(or confirmed it): another visitor, whatever they type, is told the page does not
exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from commercekit import (
    Order,
    Product,
    Store,
    View,
    format_money,
    from_minor_units,
)
from commercekit.errors import CommerceError, NotFound

from .accounts import Account, Accounts
from .security import csrf_token, nonce

HERE: Final = Path(__file__).resolve().parent
#: How many orders a session remembers (each a number and its token).
REMEMBERED_ORDERS: Final = 10


class Shop:
    """What every page needs: the store as a guest reaches it, and the channel."""

    def __init__(
        self,
        store: Store,
        navigation: Sequence[tuple[str, str]] | None,
        accounts: Accounts | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts or Accounts()
        self.shopper = store.as_shopper()
        config = store.config
        if not config.channels:
            raise ValueError("the storefront sells in a channel: configure one")
        wanted = config.default_channel or config.channels[0].id
        channel = next(each for each in config.channels if each.id == wanted)
        self.channel = channel.id
        self.currency = channel.currencies[0]
        self.locale = channel.locale
        #: How the channel states its prices: with tax in them, or tax added at checkout.
        included = channel.prices_include_tax
        self.tax_note = (
            "incl. VAT"
            if (config.prices_include_tax if included is None else included)
            else "plus VAT"
        )
        self.name = store.config.store_name or "Shop"
        if navigation is None:
            # The top of the store's own category tree.
            navigation = [
                (each.id, each.name)
                for each in self.shopper.catalog.categories()
                if each.parent_id is None
            ]
        self.navigation = tuple(navigation)

    def money(self, units: int, currency: str | None = None) -> str:
        return format_money(from_minor_units(units, currency or self.currency), self.locale)

    def price_of(self, product: Product) -> dict[str, str]:
        """The price of each variant in the channel, as the page shows it (a sale's
        price while it runs); a variant without a price is left out."""
        try:
            offers = self.shopper.seo.offers(product.id, self.currency, channel=self.channel)
        except CommerceError:
            return {}
        now = self.store.now()
        return {offer.sku: self.money(offer.price_units(now)) for offer in offers}

    def product_for_sku(self, sku: str) -> Product | None:
        """The product a cart line's SKU belongs to (``None`` once it is gone)."""
        try:
            return self.shopper.catalog.product_for_sku(sku)
        except NotFound:
            return None


def shop_of(request: Request) -> Shop:
    shop = request.app.state.shop
    assert isinstance(shop, Shop)
    return shop


def templates_of(request: Request) -> Jinja2Templates:
    templates = request.app.state.templates
    assert isinstance(templates, Jinja2Templates)
    return templates


def cart_token(request: Request) -> str | None:
    token = request.session.get("cart")
    return token if isinstance(token, str) else None


def cart_count(request: Request) -> int:
    token = cart_token(request)
    if token is None:
        return 0
    try:
        cart = shop_of(request).shopper.carts.get(token)
    except NotFound:
        request.session.pop("cart", None)
        return 0
    return sum(line.quantity for line in cart.lines)


def page(
    request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> Response:
    """``template`` rendered with what every page shows (header, notice, tokens)."""
    shop = shop_of(request)
    full = {
        "shop": shop,
        "csrf": csrf_token(request),
        "nonce": nonce(request),
        "cart_count": cart_count(request),
        "customer": customer_of(request),
        "notice": request.session.pop("notice", None),
        **(context or {}),
    }
    return templates_of(request).TemplateResponse(request, template, full, status_code=status)


def customer_of(request: Request) -> Account | None:
    """The customer signed in on this session, if any: read afresh for each request
    (an account closed meanwhile counts at once), once however often a page asks."""
    subject = request.session.get("customer")
    if not isinstance(subject, str):
        return None
    kept = getattr(request.state, "customer", None)
    if kept is not None and kept[0] == subject:
        found: Account | None = kept[1]
        return found
    found = shop_of(request).accounts.get(subject, kind="customer")
    request.state.customer = (subject, found)
    return found


def shopper(request: Request) -> View:
    """The store as this visitor reaches it: the signed-in customer or a guest,
    holding the tokens of the orders this session placed (each of those orders is
    theirs to ask a return for or write to support about)."""
    shop = shop_of(request)
    account = customer_of(request)
    held = held_orders(request)
    if account is None and not held:
        return shop.shopper
    return shop.store.as_shopper(None if account is None else account.subject, order_tokens=held)


def held_orders(request: Request) -> list[str]:
    """The tokens of the orders this session placed (or confirmed)."""
    orders = request.session.get("orders")
    if not isinstance(orders, dict):
        return []
    return [token for token in orders.values() if isinstance(token, str) and token]


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def cards(shop: Shop, products: Sequence[Product]) -> list[dict[str, Any]]:
    """A listing's cards: each product's page, first image and lowest price now,
    all of them priced in one read (``seo.listing_offers``)."""
    try:
        offers = shop.shopper.seo.listing_offers(
            [product.id for product in products], shop.currency, channel=shop.channel
        )
    except CommerceError:
        offers = {}
    now = shop.store.now()
    made = []
    for product in products:
        units = [offer.price_units(now) for offer in offers.get(product.id, ())]
        made.append(
            {
                "product": product,
                "url": f"/products/{product.slug}",
                "image": product.media[0] if product.media else None,
                "price": shop.money(min(units)) if units else "",
            }
        )
    return made


class Redirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def status_for(errors: Mapping[str, str]) -> int:
    return 422 if errors else 200


def remember(request: Request, order: Order) -> None:
    orders = request.session.get("orders")
    kept = dict(orders) if isinstance(orders, dict) else {}
    kept.pop(order.number, None)
    kept[order.number] = order.token
    request.session["orders"] = dict(list(kept.items())[-REMEMBERED_ORDERS:])


def remembered(request: Request, number: str) -> str | None:
    orders = request.session.get("orders")
    token = orders.get(number) if isinstance(orders, dict) else None
    return token if isinstance(token, str) else None


def own_order(request: Request) -> Order:
    token = remembered(request, request.path_params["number"])
    if token is None:
        raise HTTPException(404)
    try:
        return shop_of(request).shopper.orders.by_token(token)
    except CommerceError:
        raise HTTPException(404) from None
