"""The back office's orders: finding one, and its page with what can be done to it
(capture the payment, refund lines or an amount, ship with a carrier's label).

Each action is a POST form of its own. Done, it leads back to the order's page with
a notice; refused, the page is shown again with the store's words beside the form.
"""

from __future__ import annotations

import secrets
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit import Order, OrderStatus
from commercekit.domain.access import Permission
from commercekit.domain.fulfilment import Shipment, ShipmentStatus
from commercekit.errors import InvalidInput

from .backoffice_web import (
    Staffer,
    amount_of,
    attempt,
    count_of,
    detail_page,
    staff_only,
    staff_page,
    text_of,
)
from .security import checked_form
from .web import Shop, see, shop_of

ORDERS, PAYMENTS, REFUNDS = Permission.ORDERS, Permission.PAYMENTS, Permission.REFUNDS
#: The carrier the back office buys labels from.
CARRIER: Final = "sandbox"
#: Shipments on their way out: planned, or labelled, and not yet gone.
UNSENT: Final = frozenset(
    {ShipmentStatus.PENDING, ShipmentStatus.BUYING_LABEL, ShipmentStatus.LABEL_BOUGHT}
)
#: The most orders one search lists.
SEARCH_LIMIT: Final = 50
UNITS_PREFIX: Final = "units:"


@staff_only(ORDERS)
async def orders_page(request: Request, staffer: Staffer) -> Response:
    shop = shop_of(request)
    values = {"text": text_of(request.query_params, "text")}
    values["status"] = text_of(request.query_params, "status")
    errors: dict[str, str] = {}
    found = attempt(
        ORDERS,
        lambda: staffer.view.orders.search(
            values["text"], status=values["status"] or None, limit=SEARCH_LIMIT
        ),
        errors,
        "search",
        ("text", "status"),
    )
    rows = [
        {
            "order": order,
            "total": shop.money(order.totals.grand_total_units, order.currency),
        }
        for order in found or []
    ]
    return staff_page(
        request,
        staffer,
        "staff_orders.html",
        {
            "values": values,
            "rows": rows,
            "statuses": [(status.value, status.value.replace("_", " ")) for status in OrderStatus],
            "errors": errors,
            "limit": SEARCH_LIMIT,
        },
        422 if errors else 200,
    )


def order_context(shop: Shop, staffer: Staffer, order_id: str) -> dict[str, Any]:
    """What the order's page shows: the order, its payment, shipments, refunds and
    returns, each read through the member of staff's view.

    :raises NotFound: for no such order.
    """
    view = staffer.view
    order = view.orders.get(order_id)
    payment = view.payments.find_for_order(order.id)
    ledger = view.refunds.for_order(order.id)
    refunded = ledger.returned()
    money = order.currency

    def price(units: int) -> str:
        return shop.money(units, money)

    lines = [
        {
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": price(line.unit_price_units),
            "total": price(line.total_units),
            "shipped": order.fulfilled.get(line.sku, 0),
            "refunded": refunded.get(line.sku, 0),
            "refundable": line.quantity - refunded.get(line.sku, 0),
        }
        for line in order.lines
    ]
    totals = order.totals
    shipments = view.fulfilment.for_order(order.id)
    may_ship = order.status is OrderStatus.OPEN and (
        not order.fulfilment_status.all_shipped or any(s.status in UNSENT for s in shipments)
    )
    return {
        "order": order,
        "lines": lines,
        "totals": [
            ("Subtotal", price(totals.subtotal_units)),
            ("Discounts", price(totals.discount_units)),
            ("Shipping", price(totals.shipping_units)),
            ("Tax", price(totals.tax_units)),
            ("Total", price(totals.grand_total_units)),
        ],
        "payment": payment,
        "transactions": [] if payment is None else payment.transactions,
        "shipments": shipments,
        "refunds": [
            {"refund": refund, "total": price(refund.plan.total_units)} for refund in ledger.refunds
        ],
        "refunded_total": price(ledger.refunded_units),
        "returns": view.returns.for_order(order.id),
        "price": price,
        "may_capture": payment is not None
        and payment.capturable_units > 0
        and order.status is OrderStatus.OPEN,
        "may_refund": (0 if payment is None else payment.captured_units) + order.tendered_units
        > ledger.refunded_units,
        "may_ship": may_ship,
        "service": order.shipping.method_id if order.shipping else "standard",
        "attempt": secrets.token_urlsafe(16),
        "can": {p.value for p in Permission if staffer.may(p)},
    }


def _order_page(
    request: Request, staffer: Staffer, errors: dict[str, str], values: dict[str, str]
) -> Response:
    order_id = request.path_params["order_id"]
    return detail_page(
        request,
        staffer,
        "order",
        "staff_order.html",
        lambda: order_context(shop_of(request), staffer, order_id),
        errors,
        values,
    )


@staff_only(ORDERS)
async def order_page(request: Request, staffer: Staffer) -> Response:
    return _order_page(request, staffer, {}, {})


def _done(request: Request, notice: str) -> Response:
    request.session["notice"] = notice
    return see(f"/staff/orders/{request.path_params['order_id']}")


def _order(staffer: Staffer, request: Request) -> Order:
    return staffer.view.orders.get(request.path_params["order_id"])


@staff_only(ORDERS)
async def capture(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    values = {"capture_amount": text_of(form, "amount")}
    errors: dict[str, str] = {}
    order = attempt(ORDERS, lambda: _order(staffer, request), errors, "capture")
    if order is None:
        return _order_page(request, staffer, errors, values)

    def take() -> str:
        wanted = values["capture_amount"]
        amount = amount_of(wanted, order.currency) if wanted else None
        key = text_of(form, "attempt") or None
        payment = staffer.view.payments.capture(order.id, amount, idempotency_key=key)
        return shop_of(request).money(payment.captured_units, payment.currency)

    taken = attempt(PAYMENTS, take, errors, "capture", ("amount",))
    if taken is None:
        return _order_page(request, staffer, errors, values)
    return _done(request, f"Payment captured: {taken} taken in all.")


def _units(form: Any) -> dict[str, int]:
    """The units per SKU a refund form asks for (the SKUs left at nought dropped)."""
    units: dict[str, int] = {}
    for name in form:
        if name.startswith(UNITS_PREFIX):
            count = count_of(text_of(form, name), "units")
            if count:
                units[name.removeprefix(UNITS_PREFIX)] = count
    return units


@staff_only(ORDERS)
async def refund_lines(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    values = {"lines_reason": text_of(form, "reason")}
    errors: dict[str, str] = {}

    def give() -> str:
        units = _units(form)
        shipping = form.get("shipping") == "yes"
        if not units and not shipping:
            raise InvalidInput("Choose at least one unit, or the shipping.", field="units")
        refund = staffer.view.refunds.refund_units(
            request.path_params["order_id"],
            units,
            reason=values["lines_reason"],
            shipping=shipping,
        )
        return shop_of(request).money(refund.plan.total_units, refund.plan.currency)

    given = attempt(REFUNDS, give, errors, "lines", ("reason", "units"))
    if given is None:
        return _order_page(request, staffer, errors, values)
    return _done(request, f"Refunded {given}.")


@staff_only(ORDERS)
async def refund_amount(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    values = {
        "goodwill_amount": text_of(form, "amount"),
        "goodwill_reason": text_of(form, "reason"),
    }
    errors: dict[str, str] = {}
    order = attempt(ORDERS, lambda: _order(staffer, request), errors, "goodwill")
    if order is None:
        return _order_page(request, staffer, errors, values)

    def give() -> str:
        amount = amount_of(values["goodwill_amount"], order.currency)
        refund = staffer.view.refunds.goodwill(order.id, amount, reason=values["goodwill_reason"])
        return shop_of(request).money(refund.plan.total_units, refund.plan.currency)

    given = attempt(REFUNDS, give, errors, "goodwill", ("amount", "reason"))
    if given is None:
        return _order_page(request, staffer, errors, values)
    return _done(request, f"Refunded {given}.")


def ship_everything(staffer: Staffer, order_id: str, service: str) -> list[Shipment]:
    """Send what is left of the order: the shipments already planned and not yet
    gone (finishing a label purchase an earlier try left open), or new ones for
    everything left; each labelled by the carrier, then dispatched.

    :raises CommerceError: the first refusal; what was done before it stays done.
    """
    fulfilment = staffer.view.fulfilment
    waiting = [s for s in fulfilment.for_order(order_id) if s.status in UNSENT]
    if not waiting:
        waiting = fulfilment.create_shipments(order_id)
    sent = []
    for shipment in waiting:
        if shipment.status is not ShipmentStatus.LABEL_BOUGHT:
            shipment = fulfilment.buy_label(shipment.id, carrier=CARRIER, service=service)
        sent.append(fulfilment.dispatch(shipment.id))
    return sent


@staff_only(ORDERS)
async def ship(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    values = {"ship_service": text_of(form, "service") or "standard"}
    errors: dict[str, str] = {}
    order_id = request.path_params["order_id"]
    sent = attempt(
        ORDERS,
        lambda: ship_everything(staffer, order_id, values["ship_service"]),
        errors,
        "ship",
        ("service",),
    )
    if sent is None:
        return _order_page(request, staffer, errors, values)
    numbers = ", ".join(shipment.tracking_number for shipment in sent)
    return _done(request, f"Shipped with {CARRIER}: tracking {numbers}.")


ROUTES: Final = [
    Route("/staff/orders", orders_page),
    Route("/staff/orders/{order_id}", order_page),
    Route("/staff/orders/{order_id}/capture", capture, methods=["POST"]),
    Route("/staff/orders/{order_id}/refund-lines", refund_lines, methods=["POST"]),
    Route("/staff/orders/{order_id}/refund-amount", refund_amount, methods=["POST"]),
    Route("/staff/orders/{order_id}/ship", ship, methods=["POST"]),
]
