"""Checkout in steps: contact, address, shipping, payment, the customer-action page
and the confirmation."""

from __future__ import annotations

import secrets
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit import OrderStatus
from commercekit.errors import CommerceError, PriceChanged

from .cart import priced_lines
from .security import checked_form
from .web import (
    Redirect,
    cart_count,
    cart_token,
    own_order,
    page,
    remember,
    remembered,
    see,
    shop_of,
    shopper,
    status_for,
)

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


def _checkout_token(request: Request) -> str:
    token = cart_token(request)
    if token is None or cart_count(request) == 0:
        raise Redirect("/cart")
    return token


async def checkout_contact(request: Request) -> Response:
    token = _checkout_token(request)
    errors: dict[str, str] = {}
    email = shopper(request).checkout.summary(token).checkout.email or ""
    if request.method == "POST":
        form = await checked_form(request)
        email = str(form.get("email", ""))
        try:
            shopper(request).checkout.set_contact(token, {"email": email})
            return see("/checkout/address")
        except CommerceError as refused:
            errors[refused.field or "email"] = refused.message
    return page(
        request, "checkout_contact.html", {"email": email, "errors": errors}, status_for(errors)
    )


async def checkout_address(request: Request) -> Response:
    token = _checkout_token(request)
    errors: dict[str, str] = {}
    kept = shopper(request).checkout.summary(token).checkout.shipping_address
    values = {name: str(getattr(kept, name, "") or "") for name, _, _ in ADDRESS_FIELDS}
    if request.method == "POST":
        form = await checked_form(request)
        values = {name: str(form.get(name, "")).strip() for name, _, _ in ADDRESS_FIELDS}
        try:
            shopper(request).checkout.set_shipping_address(token, values)
            return see("/checkout/shipping")
        except CommerceError as refused:
            field = refused.field if refused.field in values else "form"
            errors[field or "form"] = refused.message
    return page(
        request,
        "checkout_address.html",
        {"fields": ADDRESS_FIELDS, "values": values, "errors": errors},
        status_for(errors),
    )


async def checkout_shipping(request: Request) -> Response:
    shop = shop_of(request)
    token = _checkout_token(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await checked_form(request)
        try:
            shopper(request).checkout.choose_shipping(
                token, {"method_id": str(form.get("method_id", ""))}
            )
            return see("/checkout/payment")
        except CommerceError as refused:
            errors["method_id"] = refused.message
    try:
        rates = shopper(request).checkout.rates(token)
    except CommerceError as refused:
        rates = []
        errors["method_id"] = refused.message
    chosen = shopper(request).checkout.summary(token).checkout.shipping
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
        request,
        "checkout_shipping.html",
        {"options": options, "errors": errors},
        status_for(errors),
    )


async def checkout_payment(request: Request) -> Response:
    shop = shop_of(request)
    token = _checkout_token(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await checked_form(request)
        card = str(form.get("card", ""))
        key = str(form.get("attempt", "")) or secrets.token_urlsafe(16)
        try:
            shopper(request).checkout.set_payment_method(token, {"gateway": "test", "token": card})
            order = shopper(request).checkout.place_order(token, idempotency_key=key)
        except PriceChanged as changed:
            # Nothing was charged. The page below shows the new total (and records it
            # as shown), so paying again accepts it; a further change is told again.
            was = shop.money(changed.quoted_units, changed.currency)
            now = shop.money(changed.current_units, changed.currency)
            errors["total"] = (
                f"The total changed from {was} to {now} while you were paying: a price or"
                " an offer changed. Nothing was charged. Check the new total and pay again."
            )
        except CommerceError as refused:
            errors["card"] = refused.message
        else:
            remember(request, order)
            if order.status is OrderStatus.CANCELLED:
                errors["card"] = "Your bank declined the payment: nothing was charged."
            elif order.status is OrderStatus.PENDING_PAYMENT:
                request.session["pending"] = order.number
                return see("/checkout/action")
            else:
                request.session.pop("cart", None)
                return see(f"/checkout/done/{order.number}")
    summary = shopper(request).checkout.summary(token)
    missing = [step for step in summary.missing if step != "payment_method"]
    return page(
        request,
        "checkout_payment.html",
        {
            **priced_lines(request, token, summary.breakdown),
            "cards": CARD_TOKENS,
            "attempt": secrets.token_urlsafe(16),
            "errors": errors,
            "missing": missing,
            "checkout": summary.checkout,
        },
        409 if "total" in errors else status_for(errors),
    )


async def checkout_action(request: Request) -> Response:
    shop = shop_of(request)
    number = request.session.get("pending")
    order_token = remembered(request, number) if isinstance(number, str) else None
    if order_token is None:
        return see("/cart")
    if request.method == "POST":
        await checked_form(request)
        try:
            order = shopper(request).payments.confirm(order_token)
        except CommerceError as refused:
            request.session["notice"] = f"The payment was not confirmed: {refused.message}."
            return see("/checkout/payment")
        request.session.pop("pending", None)
        if order.status is OrderStatus.OPEN:
            request.session.pop("cart", None)
            return see(f"/checkout/done/{order.number}")
        request.session["notice"] = "The payment was not confirmed: nothing was charged."
        return see("/checkout/payment")
    order = shopper(request).orders.by_token(order_token)
    return page(
        request,
        "checkout_action.html",
        {
            "number": order.number,
            "total": shop.money(order.totals.grand_total_units, order.currency),
        },
    )


async def checkout_done(request: Request) -> Response:
    order = own_order(request)
    return page(request, "confirmation.html", {"order": order})


ROUTES: Final = [
    Route("/checkout", lambda request: see("/checkout/contact")),
    Route("/checkout/contact", checkout_contact, methods=["GET", "POST"]),
    Route("/checkout/address", checkout_address, methods=["GET", "POST"]),
    Route("/checkout/shipping", checkout_shipping, methods=["GET", "POST"]),
    Route("/checkout/payment", checkout_payment, methods=["GET", "POST"]),
    Route("/checkout/action", checkout_action, methods=["GET", "POST"]),
    Route("/checkout/done/{number}", checkout_done),
]
