"""The storefront's pages: a Starlette application over a commercekit store.

Every page is rendered on the server and works without JavaScript. The pages reach
the store as a guest shopper (``store.as_shopper()``), so every call is checked at
the store's door as a shopper's would be: carts and orders are reached by their
tokens, which live only in the visitor's signed session cookie (see
:mod:`.security`), never in a URL. An order page's address names the order's number,
but the page is shown only to the session that placed the order (or confirmed it):
another visitor, whatever they type, is told the page does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from commercekit import (
    Money,
    Order,
    OrderStatus,
    Product,
    PublicationState,
    Store,
    format_money,
    from_minor_units,
)
from commercekit.domain.marketing.seo import json_ld_text
from commercekit.errors import CommerceError, CouponRejected, NotFound
from commercekit.ports.search import FacetRequest, PriceBuckets, PriceRange, SearchQuery

from .security import SecurityHeaders, Sessions, checked_form, csrf_token, nonce

HERE: Final = Path(__file__).resolve().parent
#: Where the price facet splits, in minor units of the shop's currency.
PRICE_BOUNDS: Final = (1000, 5000)
#: How many orders a session remembers (each a number and its token).
REMEMBERED_ORDERS: Final = 10
CARD_TOKENS: Final = (
    ("tok_success", "Test card: the payment goes through"),
    ("tok_declined", "Test card: the bank declines"),
    ("tok_requires_action", "Test card: the bank asks you to confirm"),
)
ADDRESS_FIELDS: Final = (
    ("name", "Full name", "name"),
    ("company", "Company (optional)", "organization"),
    ("line1", "Street and number", "address-line1"),
    ("line2", "Address line 2 (optional)", "address-line2"),
    ("postal_code", "Postal code", "postal-code"),
    ("city", "City", "address-level2"),
    ("country", "Country code (such as DE)", "country"),
)
COUPON_REFUSALS: Final[Mapping[str, str]] = {
    "not_valid": "We do not know that code, or it can no longer be used.",
    "unknown": "We do not know that code.",
    "expired": "That code has expired.",
    "not_yet_valid": "That code cannot be used yet.",
    "minimum_not_met": "Your cart does not reach that code's minimum yet.",
    "limit_reached": "That code has been used as often as it may.",
    "not_applicable": "That code does not apply to anything in your cart.",
    "not_combinable": "That code cannot be combined with an offer already applied.",
}


class Shop:
    """What every page needs: the store as a guest reaches it, and the channel."""

    def __init__(self, store: Store, navigation: Sequence[tuple[str, str]] | None) -> None:
        self.store = store
        self.shopper = store.as_shopper()
        config = store.config
        if not config.channels:
            raise ValueError("the storefront sells in a channel: configure one")
        wanted = config.default_channel or config.channels[0].id
        channel = next(each for each in config.channels if each.id == wanted)
        self.channel = channel.id
        self.currency = channel.currencies[0]
        self.locale = channel.locale
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
        """The price of each variant in the channel, as the page shows it."""
        try:
            data = self.shopper.seo.product_json_ld(product.id, self.currency, channel=self.channel)
        except CommerceError:
            return {}
        offers = data.get("offers", [])
        if isinstance(offers, dict):
            offers = [offers]
        if isinstance(offers, dict) or not isinstance(offers, list):
            return {}
        prices: dict[str, str] = {}
        for offer in offers:
            if isinstance(offer, dict) and "price" in offer:
                amount = Money(str(offer["price"]), str(offer["priceCurrency"]))
                prices[str(offer.get("sku", ""))] = format_money(amount, self.locale)
        return prices

    def product_for_sku(self, sku: str) -> Product | None:
        """The product a cart line's SKU belongs to (``None`` once it is gone)."""
        try:
            return self.shopper.catalog.product_for_sku(sku)
        except NotFound:
            return None


def _shop(request: Request) -> Shop:
    shop = request.app.state.shop
    assert isinstance(shop, Shop)
    return shop


def _templates(request: Request) -> Jinja2Templates:
    templates = request.app.state.templates
    assert isinstance(templates, Jinja2Templates)
    return templates


def _cart_token(request: Request) -> str | None:
    token = request.session.get("cart")
    return token if isinstance(token, str) else None


def _cart_count(request: Request) -> int:
    token = _cart_token(request)
    if token is None:
        return 0
    try:
        cart = _shop(request).shopper.carts.get(token)
    except NotFound:
        request.session.pop("cart", None)
        return 0
    return sum(line.quantity for line in cart.lines)


def page(
    request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> Response:
    """``template`` rendered with what every page shows (header, notice, tokens)."""
    shop = _shop(request)
    full = {
        "shop": shop,
        "csrf": csrf_token(request),
        "nonce": nonce(request),
        "cart_count": _cart_count(request),
        "notice": request.session.pop("notice", None),
        **(context or {}),
    }
    return _templates(request).TemplateResponse(request, template, full, status_code=status)


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _card(shop: Shop, product: Product) -> dict[str, Any]:
    prices = shop.price_of(product)
    return {
        "product": product,
        "url": f"/products/{product.slug}",
        "image": product.media[0] if product.media else None,
        "price": min(prices.values(), default=""),
    }


# --- browsing -------------------------------------------------------------------------


async def home(request: Request) -> Response:
    shop = _shop(request)
    found = shop.shopper.search.search(SearchQuery(facets=FacetRequest(categories=True), limit=12))
    counts = {facet.value: facet.count for facet in found.facets.get("category", ())}
    categories = [(cid, name, counts.get(cid, 0)) for cid, name in shop.navigation]
    products = [shop.shopper.catalog.product(pid) for pid in found.product_ids]
    return page(
        request,
        "home.html",
        {"categories": categories, "cards": [_card(shop, p) for p in products]},
    )


def _query_args(request: Request) -> dict[str, str]:
    wanted = ("q", "category", "origin", "price")
    return {k: v for k in wanted if (v := request.query_params.get(k, "").strip())}


def _price_range(value: str, currency: str) -> PriceRange | None:
    low, _, high = value.partition("-")
    try:
        return PriceRange(
            currency=currency,
            min_units=None if low in ("", "*") else int(low),
            max_units=None if high in ("", "*") else int(high) - 1,
        )
    except (ValueError, CommerceError):
        return None


async def search(request: Request) -> Response:
    shop = _shop(request)
    args = _query_args(request)
    buckets = PriceBuckets(currency=shop.currency, bounds=PRICE_BOUNDS)
    error = ""
    try:
        query = SearchQuery(
            text=args.get("q", ""),
            prefix=True,
            category_id=args.get("category"),
            attributes={"origin": [args["origin"]]} if "origin" in args else {},
            price=_price_range(args["price"], shop.currency) if "price" in args else None,
            facets=FacetRequest(categories=True, attributes=("origin",), prices=buckets),
            limit=24,
        )
        found = shop.shopper.search.search(query)
    except CommerceError as refused:
        error = f"We could not search for that: {refused.message}."
        found = shop.shopper.search.search(SearchQuery(limit=24))
    names = dict(shop.navigation)

    def link(**change: str) -> str:
        merged = {**args, **change}
        return "/search?" + urlencode({k: v for k, v in merged.items() if v})

    def label(name: str, value: str) -> str:
        if name == "category":
            return names.get(value, value)
        if name == "price":
            low, _, high = value.partition("-")
            if low == "*":
                return f"under {shop.money(int(high))}"
            if high == "*":
                return f"{shop.money(int(low))} and over"
            return f"{shop.money(int(low))} to {shop.money(int(high))}"
        return value

    facets = [
        (
            title,
            key,
            [
                (label(key, f.value), f.count, link(**{key: f.value}), args.get(key) == f.value)
                for f in found.facets.get(facet, ())
                if f.count
            ],
        )
        for title, key, facet in (
            ("Category", "category", "category"),
            ("Origin", "origin", "attributes.origin"),
            ("Price", "price", "price"),
        )
    ]
    products = [shop.shopper.catalog.product(pid) for pid in found.product_ids]
    return page(
        request,
        "search.html",
        {
            "q": args.get("q", ""),
            "total": found.total,
            "cards": [_card(shop, p) for p in products],
            "facets": facets,
            "clear": {key: link(**{key: ""}) for key in args if key != "q"},
            "error": error,
        },
    )


async def category(request: Request) -> Response:
    category_id = request.path_params["category_id"]
    if category_id not in dict(_shop(request).navigation):
        raise HTTPException(404)
    return _see(f"/search?{urlencode({'category': category_id})}")


async def product_page(request: Request) -> Response:
    shop = _shop(request)
    slug = request.path_params["slug"]
    try:
        match = shop.shopper.catalog.by_slug(slug)
    except CommerceError:
        raise HTTPException(404) from None
    if match.redirect:
        return RedirectResponse(f"/products/{match.slug}", status_code=301)
    product = match.product
    if product.state is not PublicationState.ACTIVE:
        raise HTTPException(404)
    prices = shop.price_of(product)
    variants = []
    for variant in product.variants:
        available = (
            None if not variant.track_stock else shop.shopper.inventory.available(variant.sku)
        )
        if available is None:
            stock = "In stock"
        elif available <= 0:
            stock = "Out of stock"
        elif available <= 5:
            stock = f"Only {available} left"
        else:
            stock = "In stock"
        options = ", ".join(f"{k}: {v}" for k, v in variant.options.items())
        variants.append(
            {
                "sku": variant.sku,
                "label": options or product.name,
                "price": prices.get(variant.sku, ""),
                "stock": stock,
                "buyable": available is None or available > 0,
            }
        )
    try:
        json_ld = json_ld_text(
            shop.shopper.seo.product_json_ld(product.id, shop.currency, channel=shop.channel)
        )
    except CommerceError:
        json_ld = ""
    return page(
        request,
        "product.html",
        {"product": product, "variants": variants, "json_ld": json_ld},
    )


# --- the cart -------------------------------------------------------------------------


def _quantity(form: FormData, default: int = 1) -> int:
    try:
        return int(str(form.get("quantity", default)))
    except ValueError:
        return -1


async def cart_add(request: Request) -> Response:
    shop = _shop(request)
    form = await checked_form(request)
    sku = str(form.get("sku", ""))
    token = _cart_token(request)
    try:
        if token is None:
            token = shop.shopper.carts.create().token
            request.session["cart"] = token
        shop.shopper.carts.add(token, sku, _quantity(form))
        request.session["notice"] = "Added to your cart."
    except CommerceError as refused:
        request.session["notice"] = f"We could not add that: {refused.message}."
    return _see("/cart")


async def cart_update(request: Request) -> Response:
    shop = _shop(request)
    form = await checked_form(request)
    token = _cart_token(request)
    if token is not None:
        sku = str(form.get("sku", ""))
        try:
            if "remove" in form or _quantity(form) == 0:
                shop.shopper.carts.remove(token, sku)
                request.session["notice"] = "Removed from your cart."
            else:
                shop.shopper.carts.change_quantity(token, sku, _quantity(form))
                request.session["notice"] = "Quantity changed."
        except CommerceError as refused:
            request.session["notice"] = f"We could not change that: {refused.message}."
    return _see("/cart")


async def cart_coupon(request: Request) -> Response:
    shop = _shop(request)
    form = await checked_form(request)
    token = _cart_token(request)
    code = str(form.get("code", "")).strip()
    if token is None:
        request.session["notice"] = "Add something to your cart before a code."
        return _see("/cart")
    try:
        if "remove" in form:
            shop.shopper.carts.remove_coupon(token, code)
            request.session["notice"] = "Code removed."
        else:
            shop.shopper.carts.apply_coupon(token, code)
            request.session["notice"] = f"Code {code.upper()} applied."
    except CouponRejected as refused:
        request.session["notice"] = COUPON_REFUSALS.get(refused.reason, refused.message)
    except CommerceError as refused:
        request.session["notice"] = f"We could not use that code: {refused.message}."
    return _see("/cart")


def _lines(shop: Shop, token: str) -> dict[str, Any]:
    breakdown = shop.shopper.carts.price(token)
    cart = shop.shopper.carts.get(token)
    lines = []
    for line in breakdown.lines:
        product = shop.product_for_sku(line.sku)
        lines.append(
            {
                "sku": line.sku,
                "name": product.name if product else line.sku,
                "quantity": line.quantity,
                "total": shop.money(line.total_units, line.currency),
                "discount": shop.money(line.discount_units, line.currency)
                if line.discount_units
                else "",
            }
        )
    currency = breakdown.currency
    return {
        "lines": lines,
        "coupons": cart.coupon_codes,
        "rejected": [
            f"{code}: {COUPON_REFUSALS.get(reason, reason)}"
            for code, reason in breakdown.rejected_coupons
        ],
        "subtotal": shop.money(breakdown.subtotal_units, currency),
        "discount": shop.money(breakdown.discount_units, currency)
        if breakdown.discount_units
        else "",
        "shipping": shop.money(breakdown.shipping_total_units, currency),
        "tax": shop.money(breakdown.tax_units, currency),
        "total": shop.money(breakdown.grand_total_units, currency),
        "prices_include_tax": breakdown.prices_include_tax,
    }


async def cart_page(request: Request) -> Response:
    shop = _shop(request)
    token = _cart_token(request)
    context: dict[str, Any] = {"lines": []}
    if token is not None:
        try:
            context = _lines(shop, token)
        except NotFound:
            request.session.pop("cart", None)
    return page(request, "cart.html", context)


# --- checkout -------------------------------------------------------------------------


def _checkout_token(request: Request) -> str:
    token = _cart_token(request)
    if token is None or _cart_count(request) == 0:
        raise _Redirect("/cart")
    return token


class _Redirect(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


async def checkout_contact(request: Request) -> Response:
    shop = _shop(request)
    token = _checkout_token(request)
    errors: dict[str, str] = {}
    email = shop.shopper.checkout.summary(token).checkout.email or ""
    if request.method == "POST":
        form = await checked_form(request)
        email = str(form.get("email", ""))
        try:
            shop.shopper.checkout.set_contact(token, {"email": email})
            return _see("/checkout/address")
        except CommerceError as refused:
            errors[refused.field or "email"] = refused.message
    return page(
        request, "checkout_contact.html", {"email": email, "errors": errors}, _status(errors)
    )


def _status(errors: Mapping[str, str]) -> int:
    return 422 if errors else 200


async def checkout_address(request: Request) -> Response:
    shop = _shop(request)
    token = _checkout_token(request)
    errors: dict[str, str] = {}
    kept = shop.shopper.checkout.summary(token).checkout.shipping_address
    values = {name: str(getattr(kept, name, "") or "") for name, _, _ in ADDRESS_FIELDS}
    if request.method == "POST":
        form = await checked_form(request)
        values = {name: str(form.get(name, "")).strip() for name, _, _ in ADDRESS_FIELDS}
        try:
            shop.shopper.checkout.set_shipping_address(token, values)
            return _see("/checkout/shipping")
        except CommerceError as refused:
            field = refused.field if refused.field in values else "form"
            errors[field or "form"] = refused.message
    return page(
        request,
        "checkout_address.html",
        {"fields": ADDRESS_FIELDS, "values": values, "errors": errors},
        _status(errors),
    )


async def checkout_shipping(request: Request) -> Response:
    shop = _shop(request)
    token = _checkout_token(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await checked_form(request)
        try:
            shop.shopper.checkout.choose_shipping(
                token, {"method_id": str(form.get("method_id", ""))}
            )
            return _see("/checkout/payment")
        except CommerceError as refused:
            errors["method_id"] = refused.message
    try:
        rates = shop.shopper.checkout.rates(token)
    except CommerceError as refused:
        rates = []
        errors["method_id"] = refused.message
    chosen = shop.shopper.checkout.summary(token).checkout.shipping
    options = [
        {
            "id": rate.method_id,
            "label": f"{rate.name}: {shop.money(rate.price_units, rate.currency)},"
            f" arrives {rate.earliest:%d %b} to {rate.latest:%d %b}",
            "checked": chosen is not None and chosen.method_id == rate.method_id,
        }
        for rate in rates
    ]
    return page(
        request, "checkout_shipping.html", {"options": options, "errors": errors}, _status(errors)
    )


def _remember(request: Request, order: Order) -> None:
    orders = request.session.get("orders")
    kept = dict(orders) if isinstance(orders, dict) else {}
    kept.pop(order.number, None)
    kept[order.number] = order.token
    request.session["orders"] = dict(list(kept.items())[-REMEMBERED_ORDERS:])


def _remembered(request: Request, number: str) -> str | None:
    orders = request.session.get("orders")
    token = orders.get(number) if isinstance(orders, dict) else None
    return token if isinstance(token, str) else None


async def checkout_payment(request: Request) -> Response:
    shop = _shop(request)
    token = _checkout_token(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await checked_form(request)
        card = str(form.get("card", ""))
        key = str(form.get("attempt", "")) or secrets.token_urlsafe(16)
        try:
            shop.shopper.checkout.set_payment_method(token, {"gateway": "test", "token": card})
            order = shop.shopper.checkout.place_order(token, idempotency_key=key)
        except CommerceError as refused:
            errors["card"] = refused.message
        else:
            _remember(request, order)
            if order.status is OrderStatus.CANCELLED:
                errors["card"] = "Your bank declined the payment: nothing was charged."
            elif order.status is OrderStatus.PENDING_PAYMENT:
                request.session["pending"] = order.number
                return _see("/checkout/action")
            else:
                request.session.pop("cart", None)
                return _see(f"/checkout/done/{order.number}")
    summary = shop.shopper.checkout.summary(token)
    missing = [step for step in summary.missing if step != "payment_method"]
    return page(
        request,
        "checkout_payment.html",
        {
            **_lines(shop, token),
            "cards": CARD_TOKENS,
            "attempt": secrets.token_urlsafe(16),
            "errors": errors,
            "missing": missing,
            "checkout": summary.checkout,
        },
        _status(errors),
    )


async def checkout_action(request: Request) -> Response:
    shop = _shop(request)
    number = request.session.get("pending")
    order_token = _remembered(request, number) if isinstance(number, str) else None
    if order_token is None:
        return _see("/cart")
    if request.method == "POST":
        await checked_form(request)
        try:
            order = shop.shopper.payments.confirm(order_token)
        except CommerceError as refused:
            request.session["notice"] = f"The payment was not confirmed: {refused.message}."
            return _see("/checkout/payment")
        request.session.pop("pending", None)
        if order.status is OrderStatus.OPEN:
            request.session.pop("cart", None)
            return _see(f"/checkout/done/{order.number}")
        request.session["notice"] = "The payment was not confirmed: nothing was charged."
        return _see("/checkout/payment")
    order = shop.shopper.orders.by_token(order_token)
    return page(
        request,
        "checkout_action.html",
        {
            "number": order.number,
            "total": shop.money(order.totals.grand_total_units, order.currency),
        },
    )


def _own_order(request: Request) -> Order:
    token = _remembered(request, request.path_params["number"])
    if token is None:
        raise HTTPException(404)
    try:
        return _shop(request).shopper.orders.by_token(token)
    except CommerceError:
        raise HTTPException(404) from None


async def checkout_done(request: Request) -> Response:
    order = _own_order(request)
    return page(request, "confirmation.html", {"order": order})


async def order_page(request: Request) -> Response:
    shop = _shop(request)
    order = _own_order(request)
    lines = [
        {
            "name": line.name,
            "quantity": line.quantity,
            "total": shop.money(line.total_units, order.currency),
        }
        for line in order.lines
    ]
    return page(
        request,
        "order.html",
        {
            "order": order,
            "lines": lines,
            "shipping": shop.money(order.totals.shipping_units, order.currency),
            "total": shop.money(order.totals.grand_total_units, order.currency),
        },
    )


async def track(request: Request) -> Response:
    shop = _shop(request)
    found = None
    error = ""
    values = {"number": "", "email": ""}
    if request.method == "POST":
        form = await checked_form(request)
        values = {name: str(form.get(name, "")).strip() for name in values}
        try:
            found = shop.shopper.orders.where_is_my_order(values["number"], values["email"])
        except CommerceError:
            # The same words whatever was wrong: whether an order exists is not told.
            error = "We found no order with that number and e-mail address."
    return page(
        request,
        "track.html",
        {"values": values, "found": found, "error": error},
        404 if error else 200,
    )


# --- the application ------------------------------------------------------------------


async def _redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Redirect)
    return _see(exc.url)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "We could not find that page.", 403: str(exc.detail)}
    message = messages.get(exc.status_code, "Something went wrong.")
    return page(request, "error.html", {"message": message}, exc.status_code)


def create_app(
    store: Store, *, secret_key: str, navigation: Sequence[tuple[str, str]] | None = None
) -> Starlette:
    """The storefront of ``store``.

    :param secret_key: signs the session cookie: at least 32 random characters,
        the same for every process that serves the shop.
    :param navigation: the categories the header lists, as ``(id, name)``; by
        default the top of the store's category tree.
    """
    routes = [
        Route("/", home),
        Route("/search", search),
        Route("/categories/{category_id}", category),
        Route("/products/{slug}", product_page),
        Route("/cart", cart_page),
        Route("/cart/add", cart_add, methods=["POST"]),
        Route("/cart/update", cart_update, methods=["POST"]),
        Route("/cart/coupon", cart_coupon, methods=["POST"]),
        Route("/checkout", lambda request: _see("/checkout/contact")),
        Route("/checkout/contact", checkout_contact, methods=["GET", "POST"]),
        Route("/checkout/address", checkout_address, methods=["GET", "POST"]),
        Route("/checkout/shipping", checkout_shipping, methods=["GET", "POST"]),
        Route("/checkout/payment", checkout_payment, methods=["GET", "POST"]),
        Route("/checkout/action", checkout_action, methods=["GET", "POST"]),
        Route("/checkout/done/{number}", checkout_done),
        Route("/orders/{number}", order_page),
        Route("/track", track, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, _Redirect: _redirect},
    )
    app.state.shop = Shop(store, navigation)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    # Added last, run first: the headers wrap every response, the session every page.
    app.add_middleware(Sessions, secret_key=secret_key)
    app.add_middleware(SecurityHeaders)
    return app
