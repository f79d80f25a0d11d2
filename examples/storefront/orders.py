"""After the order: its page, and where-is-my-order by number and e-mail.

An order's page shows its parcels' journeys, what was refunded, the returns asked
for, and forms to send something back or to write to us. A signed-in customer's own
order is reached through their view of the store. A guest reaches an order only by
the token kept in their signed session, and the store's door, which knows a guest by
no id, keeps returns, refunds and support cases closed to them: for an order the
guest proved theirs by its token, the page asks through the storefront's own member
of staff (orders and support only), and what the guest does is recorded as the
customer's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit import Order, View
from commercekit.domain.returns import RefundStatus, ReturnReason, ReturnStatus
from commercekit.domain.support import SupportCase
from commercekit.errors import CommerceError, ReturnRefused
from commercekit.services.orders import ShipmentTracking

from .security import checked_form
from .web import (
    customer_of,
    own_order,
    page,
    see,
    shop_of,
    shopper,
    status_for,
)

#: How many support cases a guest's session remembers (each with its order's number).
REMEMBERED_CASES: Final = 10
REASONS: Final[Mapping[str, str]] = {
    ReturnReason.CHANGED_MIND.value: "I changed my mind",
    ReturnReason.DOES_NOT_FIT.value: "It does not fit",
    ReturnReason.NOT_AS_DESCRIBED.value: "It is not as described",
    ReturnReason.DAMAGED.value: "It arrived damaged",
    ReturnReason.WRONG_ITEM.value: "It is not what I ordered",
    ReturnReason.LOST_IN_TRANSIT.value: "It never arrived",
    ReturnReason.OTHER.value: "Another reason",
}
RETURN_REFUSALS: Final[Mapping[str, str]] = {
    "not_delivered": "Only what has been delivered can be sent back.",
    "not_shipped": "Only what has been delivered can be sent back.",
    "outside_window": "The time for sending this back has passed.",
    "not_returnable": "We cannot take this item back.",
    "too_many": "That is more than was delivered, less what is already coming back.",
}
RETURN_STATES: Final[Mapping[str, str]] = {
    "requested": "asked for: we will answer soon",
    "approved": "approved: send it back",
    "rejected": "declined",
    "label_issued": "approved: the return label is ready",
    "received": "received: we are checking it",
    "inspected": "checked",
    "closed": "done",
    "cancelled": "cancelled",
}


class Acting(NamedTuple):
    """How the page acts on one order: through which view, and as whom."""

    view: View
    customer_id: str | None
    """The signed-in customer whose order it is; ``None`` for a guest."""

    def writer(self, email: str) -> dict[str, str]:
        """Who writes to support: the customer by id, a guest by their ``email``."""
        if self.customer_id is not None:
            return {"customer_id": self.customer_id}
        return {"email": email}


def acting_for(request: Request, order: Order) -> Acting:
    """How this visitor acts on ``order``: always through their own view (see
    :func:`.web.shopper`), as its customer when it is the signed-in customer's order,
    else as the guest whose session holds its token; the store's door decides."""
    account = customer_of(request)
    if account is not None and order.customer_id == account.subject:
        return Acting(shopper(request), account.subject)
    return Acting(shopper(request), None)


def remember_case(request: Request, case_id: str, number: str) -> None:
    """Keep a guest's case in their session, with the number of its order."""
    cases = request.session.get("cases")
    kept = dict(cases) if isinstance(cases, dict) else {}
    kept.pop(case_id, None)
    kept[case_id] = number
    request.session["cases"] = dict(list(kept.items())[-REMEMBERED_CASES:])


def remembered_cases(request: Request) -> dict[str, str]:
    """The guest's cases this session opened: case id to order number."""
    cases = request.session.get("cases")
    if not isinstance(cases, dict):
        return {}
    return {key: value for key, value in cases.items() if isinstance(value, str)}


def _cases_about(request: Request, order: Order, acting: Acting) -> list[SupportCase]:
    if acting.customer_id is not None:
        mine = acting.view.support.for_customer(acting.customer_id)
        return [case for case in mine if case.order_id == order.id]
    found = []
    for case_id, number in remembered_cases(request).items():
        if number == order.number:
            try:
                case = acting.view.support.get(case_id)
            except CommerceError:
                continue
            if case.order_id == order.id:
                found.append(case)
    return found


def _journeys(request: Request, order: Order) -> tuple[ShipmentTracking, ...]:
    try:
        tracking = shopper(request).orders.where_is_my_order(order.number, order.email)
    except CommerceError:
        return ()
    return tracking.shipments


def show_order(
    request: Request,
    order: Order,
    url: str,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    """The page of ``order``, whose address is ``url``, with the errors of a form
    sent from it shown next to their fields."""
    shop = shop_of(request)
    acting = acting_for(request, order)
    names = {line.sku: line.name for line in order.lines}
    journeys = _journeys(request, order)
    refunds = [
        {
            "amount": shop.money(refund.plan.total_units, order.currency),
            "at": refund.at,
            "done": refund.status is RefundStatus.DONE,
        }
        for refund in acting.view.refunds.for_order(order.id).refunds
        if refund.counts
    ]
    asked = acting.view.returns.for_order(order.id)
    back: dict[str, int] = {}
    for made in asked:
        if made.status not in (ReturnStatus.REJECTED, ReturnStatus.CANCELLED):
            for line in made.lines:
                back[line.sku] = back.get(line.sku, 0) + line.quantity
    # What the return form offers: each line with units not already coming back.
    returnable = [
        {
            "index": index,
            "name": line.name,
            "quantity": line.quantity,
            "back": back.get(line.sku, 0),
        }
        for index, line in enumerate(order.lines)
        if line.quantity > back.get(line.sku, 0)
    ]
    returns = [
        {
            "at": made.created_at,
            "state": RETURN_STATES.get(made.status.value, made.status.value),
            "rejection": made.rejection,
            "lines": ", ".join(
                f"{line.quantity} x {names.get(line.sku, line.sku)}" for line in made.lines
            ),
        }
        for made in asked
    ]
    lines = [
        {
            "name": line.name,
            "quantity": line.quantity,
            "total": shop.money(line.total_units, order.currency),
        }
        for line in order.lines
    ]
    errors = errors or {}
    return page(
        request,
        "order.html",
        {
            "order": order,
            "url": url,
            "lines": lines,
            "shipping": shop.money(order.totals.shipping_units, order.currency),
            "total": shop.money(order.totals.grand_total_units, order.currency),
            "journeys": journeys,
            "delivered": any(parcel.delivered_at is not None for parcel in journeys),
            "refunds": refunds,
            "returns": returns,
            "returnable": returnable,
            "cases": _cases_about(request, order, acting),
            "reasons": REASONS,
            "errors": errors,
            "values": values or {},
        },
        status_for(errors),
    )


def _count(form: FormData, name: str, most: int) -> int | None:
    """The whole number from 0 to ``most`` typed into ``name``, else ``None``."""
    typed = str(form.get(name, "") or "0").strip()
    whole = typed.isascii() and typed.isdigit()
    return int(typed) if whole and int(typed) <= most else None


async def ask_return(request: Request, order: Order, url: str) -> Response:
    """Ask to send back what the form picks, or show why not next to the form."""
    form = await checked_form(request)
    errors: dict[str, str] = {}
    values = {name: str(value) for name, value in form.items() if name != "csrf_token"}
    reason = values.get("reason", "")
    lines = []
    for index, line in enumerate(order.lines):
        count = _count(form, f"qty-{index}", line.quantity)
        if count is None:
            errors[f"qty-{index}"] = f"Enter a whole number from 0 to {line.quantity}."
        elif count:
            lines.append({"sku": line.sku, "quantity": count, "reason": reason})
    if reason not in REASONS:
        errors["reason"] = "Tell us why it is coming back."
    elif not lines and not errors:
        errors["return"] = "Choose how many of which item to send back."
    if not errors:
        acting = acting_for(request, order)
        note = values.get("note", "").strip()
        try:
            acting.view.returns.request(order.id, lines, note=note)
        except ReturnRefused as refused:
            errors["return"] = RETURN_REFUSALS.get(refused.reason, refused.message)
        except CommerceError as refused:
            errors["return"] = f"We could not take that return: {refused.message}."
        else:
            request.session["notice"] = "We have your return request and will answer by e-mail."
            return see(url)
    return show_order(request, order, url, errors=errors, values=values)


async def write_to_us(request: Request, order: Order, url: str) -> Response:
    """Open a support case about ``order``, or show what is missing."""
    form = await checked_form(request)
    values = {name: str(form.get(name, "")).strip() for name in ("subject", "body")}
    errors: dict[str, str] = {}
    if not values["subject"]:
        errors["subject"] = "Give your message a subject."
    if not values["body"]:
        errors["body"] = "Write your message."
    if not errors:
        acting = acting_for(request, order)
        try:
            case = acting.view.support.open_case(
                values["subject"], values["body"], order_id=order.id, **acting.writer(order.email)
            )
        except CommerceError as refused:
            errors[refused.field if refused.field == "subject" else "body"] = refused.message
        else:
            if acting.customer_id is None:
                remember_case(request, case.id, order.number)
            request.session["notice"] = "Thank you: we have your message and will answer soon."
            return see(f"/support/{case.id}")
    return show_order(request, order, url, errors=errors, values=values)


def order_routes(prefix: str, find: Callable[[Request], Order]) -> list[Route]:
    """An order's page under ``prefix`` (``{prefix}/{number}``) and the forms it posts
    (a return request, a message to us), for the order ``find`` reaches for this
    visitor: the guest's by their session, the customer's through their account."""

    async def show(request: Request) -> Response:
        order = find(request)
        return show_order(request, order, f"{prefix}/{order.number}")

    async def send_back(request: Request) -> Response:
        order = find(request)
        return await ask_return(request, order, f"{prefix}/{order.number}")

    async def write(request: Request) -> Response:
        order = find(request)
        return await write_to_us(request, order, f"{prefix}/{order.number}")

    return [
        Route(prefix + "/{number}", show),
        Route(prefix + "/{number}/return", send_back, methods=["POST"]),
        Route(prefix + "/{number}/support", write, methods=["POST"]),
    ]


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
    *order_routes("/orders", own_order),
    Route("/track", track, methods=["GET", "POST"]),
]
