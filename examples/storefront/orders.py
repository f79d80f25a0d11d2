"""After the order: its page, and where-is-my-order by number and e-mail."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit.errors import CommerceError

from .security import checked_form
from .web import (
    own_order,
    page,
    shop_of,
    shopper,
)


async def order_page(request: Request) -> Response:
    shop = shop_of(request)
    order = own_order(request)
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
    found = None
    error = ""
    values = {"number": "", "email": ""}
    if request.method == "POST":
        form = await checked_form(request)
        values = {name: str(form.get(name, "")).strip() for name in values}
        try:
            found = shopper(request).orders.where_is_my_order(values["number"], values["email"])
        except CommerceError:
            # The same words whatever was wrong: whether an order exists is not told.
            error = "We found no order with that number and e-mail address."
    return page(
        request,
        "track.html",
        {"values": values, "found": found, "error": error},
        404 if error else 200,
    )


ROUTES: Final = [
    Route("/orders/{number}", order_page),
    Route("/track", track, methods=["GET", "POST"]),
]
