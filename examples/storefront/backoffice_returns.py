"""The back office's returns: the warehouse's queue, and each return's page where it
is approved or rejected, received, inspected unit by unit, refunded and closed.

Every step is one POST form on the return's page; the store decides whether the
return's state allows it, and a refusal is shown there in the store's words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit import View
from commercekit.domain.access import Permission
from commercekit.domain.returns import InspectionOutcome, RefundPlan, Return, ReturnStatus
from commercekit.errors import AccessDenied, CommerceError, InvalidInput, NotFound

from .backoffice_web import (
    Staffer,
    attempt,
    count_of,
    detail_page,
    not_found,
    staff_only,
    staff_page,
    text_of,
)
from .security import checked_form
from .web import Shop, see, shop_of

ORDERS, REFUNDS = Permission.ORDERS, Permission.REFUNDS
#: The most returns each part of the queue lists.
QUEUE_LIMIT: Final = 50
#: The parts of the warehouse's queue, in the order a return goes through them.
QUEUE: Final = (
    (ReturnStatus.REQUESTED, "Waiting for a decision"),
    (ReturnStatus.APPROVED, "Approved, on their way back"),
    (ReturnStatus.LABEL_ISSUED, "Labelled, on their way back"),
    (ReturnStatus.RECEIVED, "Arrived, waiting for inspection"),
)
OUTCOMES: Final = [
    (outcome.value, outcome.value.replace("_", " ")) for outcome in InspectionOutcome
]


@staff_only(ORDERS)
async def returns_page(request: Request, staffer: Staffer) -> Response:
    view = staffer.view
    numbers: dict[str, str] = {}

    def number(order_id: str) -> str:
        if order_id not in numbers:
            numbers[order_id] = view.orders.get(order_id).number
        return numbers[order_id]

    queues = [
        {
            "title": title,
            "status": status.value,
            "returns": [
                {"found": found, "number": number(found.order_id)}
                for found in view.returns.in_state(status, limit=QUEUE_LIMIT)
            ],
        }
        for status, title in QUEUE
    ]
    return staff_page(request, staffer, "staff_returns.html", {"queues": queues})


def _plan(view: View, found: Return) -> tuple[RefundPlan | None, str]:
    """What refunding the return would give back now, or why nothing would."""
    if not found.refundable or found.refund_ids:
        return None, ""
    try:
        return view.returns.plan_refund(found.id), ""
    except AccessDenied:
        raise  # a 403 page, not words on this one
    except CommerceError as refused:
        return None, refused.message


def return_context(shop: Shop, staffer: Staffer, return_id: str) -> dict[str, Any]:
    """What the return's page shows.

    :raises NotFound: for no such return.
    """
    view = staffer.view
    found = view.returns.get(return_id)
    order = view.orders.get(found.order_id)
    names = {line.sku: line.name for line in order.lines}
    decided = found.inspected()
    lines = []
    for line in found.lines:
        received = found.received.get(line.sku, 0)
        lines.append(
            {
                "sku": line.sku,
                "name": names.get(line.sku, line.sku),
                "quantity": line.quantity,
                "reason": line.reason.value.replace("_", " "),
                "note": line.note,
                "received": received,
                "decided": decided.get(line.sku, 0),
                "undecided": received - decided.get(line.sku, 0),
            }
        )
    ledger = {refund.id: refund for refund in view.refunds.for_order(order.id).refunds}
    plan, plan_refused = _plan(view, found)
    return {
        "found": found,
        "order": order,
        "lines": lines,
        "refunds": [
            {
                "refund": ledger[refund_id],
                "total": shop.money(ledger[refund_id].plan.total_units, found.currency),
            }
            for refund_id in found.refund_ids
            if refund_id in ledger
        ],
        "plan": plan,
        "plan_refused": plan_refused,
        "price": lambda units: shop.money(units, found.currency),
        "outcomes": OUTCOMES,
        "can": {p.value for p in Permission if staffer.may(p)},
    }


def _return_page(
    request: Request, staffer: Staffer, errors: dict[str, str], values: dict[str, str]
) -> Response:
    return_id = request.path_params["return_id"]
    return detail_page(
        request,
        staffer,
        "return",
        "staff_return.html",
        lambda: return_context(shop_of(request), staffer, return_id),
        errors,
        values,
    )


@staff_only(ORDERS)
async def return_page(request: Request, staffer: Staffer) -> Response:
    return _return_page(request, staffer, {}, {})


Step = Callable[[Shop, View, Return, FormData], str]


def _approve(shop: Shop, view: View, found: Return, form: FormData) -> str:
    view.returns.approve(found.id)
    return "Return approved: the customer may send it back."


def _reject(shop: Shop, view: View, found: Return, form: FormData) -> str:
    view.returns.reject(found.id, text_of(form, "reason"))
    return "Return rejected."


def _receive(shop: Shop, view: View, found: Return, form: FormData) -> str:
    units = {sku: count_of(text_of(form, f"received:{sku}"), "units") for sku in found.units}
    arrived = view.returns.receive(found.id, units)
    return f"Received {sum(arrived.received.values())} unit(s)."


def _inspect(shop: Shop, view: View, found: Return, form: FormData) -> str:
    decisions = []
    for sku in found.received:
        quantity = count_of(text_of(form, f"quantity:{sku}"), "decisions")
        if quantity:
            outcome = text_of(form, f"outcome:{sku}")
            decisions.append({"sku": sku, "quantity": quantity, "outcome": outcome})
    inspected = view.returns.inspect(found.id, decisions)
    return f"Inspected: the return is {inspected.status.value.replace('_', ' ')}."


def _refund(shop: Shop, view: View, found: Return, form: FormData) -> str:
    refund = view.returns.refund(found.id, shipping=form.get("shipping") == "yes")
    return f"Refunded {shop.money(refund.plan.total_units, refund.plan.currency)}."


def _close(shop: Shop, view: View, found: Return, form: FormData) -> str:
    view.returns.close(found.id)
    return "Return closed."


#: Each step: the permission it needs, what it does, and the fields whose refusals
#: are shown beside them.
STEPS: Final[Mapping[str, tuple[Permission, Step, tuple[str, ...]]]] = {
    "approve": (ORDERS, _approve, ()),
    "reject": (ORDERS, _reject, ("reason",)),
    "receive": (ORDERS, _receive, ("units",)),
    "inspect": (ORDERS, _inspect, ("decisions",)),
    "refund": (REFUNDS, _refund, ()),
    "close": (ORDERS, _close, ()),
}


@staff_only(ORDERS)
async def return_step(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    name = request.path_params["step"]
    return_id = request.path_params["return_id"]
    if name not in STEPS:
        return not_found(request, staffer, "such step")
    try:
        found = staffer.view.returns.get(return_id)
    except (NotFound, InvalidInput):  # no such id, or none that could be one
        return not_found(request, staffer, "return")
    permission, step, fields = STEPS[name]
    errors: dict[str, str] = {}
    notice = attempt(
        permission,
        lambda: step(shop_of(request), staffer.view, found, form),
        errors,
        name,
        fields,
    )
    if notice is None:
        return _return_page(request, staffer, errors, {"reject_reason": text_of(form, "reason")})
    request.session["notice"] = notice
    return see(f"/staff/returns/{return_id}")


ROUTES: Final = [
    Route("/staff/returns", returns_page),
    Route("/staff/returns/{return_id}", return_page),
    Route("/staff/returns/{return_id}/{step}", return_step, methods=["POST"]),
]
