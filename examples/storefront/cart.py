"""The cart: add, change, remove, coupons, and the cart page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit import PriceBreakdown
from commercekit.errors import CommerceError, CouponRejected, NotFound

from .security import checked_form
from .web import (
    cart_token,
    customer_of,
    page,
    see,
    shop_of,
    shopper,
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


def _quantity(form: FormData, default: int = 1) -> int:
    try:
        return int(str(form.get("quantity", default)))
    except ValueError:
        return -1


async def cart_add(request: Request) -> Response:
    form = await checked_form(request)
    sku = str(form.get("sku", ""))
    token = cart_token(request)
    try:
        if token is None:
            # A signed-in customer's cart is theirs from the start, so the order it
            # becomes is in their history.
            account = customer_of(request)
            created = shopper(request).carts.create(
                customer_id=None if account is None else account.subject
            )
            token = created.token
            request.session["cart"] = token
        shopper(request).carts.add(token, sku, _quantity(form))
        request.session["notice"] = "Added to your cart."
    except CommerceError as refused:
        request.session["notice"] = f"We could not add that: {refused.message}."
    return see("/cart")


async def cart_update(request: Request) -> Response:
    form = await checked_form(request)
    token = cart_token(request)
    if token is not None:
        sku = str(form.get("sku", ""))
        try:
            if "remove" in form or _quantity(form) == 0:
                shopper(request).carts.remove(token, sku)
                request.session["notice"] = "Removed from your cart."
            else:
                shopper(request).carts.change_quantity(token, sku, _quantity(form))
                request.session["notice"] = "Quantity changed."
        except CommerceError as refused:
            request.session["notice"] = f"We could not change that: {refused.message}."
    return see("/cart")


async def cart_coupon(request: Request) -> Response:
    form = await checked_form(request)
    token = cart_token(request)
    code = str(form.get("code", "")).strip()
    if token is None:
        request.session["notice"] = "Add something to your cart before a code."
        return see("/cart")
    try:
        if "remove" in form:
            shopper(request).carts.remove_coupon(token, code)
            request.session["notice"] = "Code removed."
        else:
            shopper(request).carts.apply_coupon(token, code)
            request.session["notice"] = f"Code {code.upper()} applied."
    except CouponRejected as refused:
        request.session["notice"] = COUPON_REFUSALS.get(refused.reason, refused.message)
    except CommerceError as refused:
        request.session["notice"] = f"We could not use that code: {refused.message}."
    return see("/cart")


def priced_lines(
    request: Request, token: str, breakdown: PriceBreakdown | None = None
) -> dict[str, Any]:
    """What the cart's lines and totals show: the cart's own price, or the
    checkout's ``breakdown`` (shipping included) once there is one."""
    shop, view = shop_of(request), shopper(request)
    breakdown = breakdown or view.carts.price(token)
    cart = view.carts.get(token)
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
    token = cart_token(request)
    context: dict[str, Any] = {"lines": []}
    if token is not None:
        try:
            context = priced_lines(request, token)
        except NotFound:
            request.session.pop("cart", None)
    return page(request, "cart.html", context)


ROUTES: Final = [
    Route("/cart", cart_page),
    Route("/cart/add", cart_add, methods=["POST"]),
    Route("/cart/update", cart_update, methods=["POST"]),
    Route("/cart/coupon", cart_coupon, methods=["POST"]),
]
