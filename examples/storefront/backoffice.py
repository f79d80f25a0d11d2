"""The back office under ``/staff``: signing in and out, the home page, stock and
support cases; orders, returns and reports have modules of their own, whose routes
:data:`ROUTES` gathers.

Staff sign in with the storefront's own accounts (:mod:`.accounts`). Signing in
starts a fresh session (keeping only the visitor's cart and remembered orders), so
a session's CSRF token and anything else it held before do not outlive it. Every
page after that asks the store as the member of staff (see :mod:`.backoffice_web`),
so what the store refuses them is refused whatever the page shows.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit import Product
from commercekit.domain.access import Permission
from commercekit.domain.support import CaseStatus
from commercekit.errors import InvalidInput, NotFound
from commercekit.ports.search import MAX_LIMIT, SearchQuery

from . import backoffice_orders, backoffice_reports, backoffice_returns
from .backoffice_web import (
    LOGIN,
    SESSION_KEY,
    Staffer,
    attempt,
    count_of,
    not_found,
    signed_in,
    staff_only,
    staff_page,
    text_of,
)
from .security import CSRF_FIELD, checked_form
from .web import see, shop_of

ORDERS, STOCK, SUPPORT = Permission.ORDERS, Permission.STOCK, Permission.SUPPORT
CATALOGUE = Permission.CATALOGUE
#: What a session keeps across signing in: the visitor's cart and orders.
KEPT_ON_SIGN_IN: Final = ("cart", "orders")
#: The same words for an unknown address and a wrong password: which it was is not
#: for whoever is trying.
REFUSED: Final = "That e-mail address and password do not open a staff account."
#: The most SKUs the stock page lists.
MOST_SKUS: Final = 500
#: The most cases each list of the support page shows.
CASE_LIMIT: Final = 50


# --- signing in and out --------------------------------------------------------------


async def login(request: Request) -> Response:
    shop = shop_of(request)
    errors: dict[str, str] = {}
    email = ""
    if request.method == "POST":
        form = await checked_form(request)
        email = text_of(form, "email")
        typed = form.get("password", "")
        password = typed if isinstance(typed, str) else ""
        # scrypt is slow on purpose: keep it off the event loop.
        account = await run_in_threadpool(shop.accounts.sign_in, email, password, kind="staff")
        if account is not None:
            kept: dict[str, Any] = {
                key: request.session[key] for key in KEPT_ON_SIGN_IN if key in request.session
            }
            request.session.clear()
            request.session.update(kept)
            request.session[SESSION_KEY] = account.subject
            return see("/staff")
        errors["form"] = REFUSED
    return staff_page(
        request,
        None,
        "staff_login.html",
        {"email": email, "errors": errors},
        422 if errors else 200,
    )


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.pop(SESSION_KEY, None)
    request.session.pop(CSRF_FIELD, None)
    request.session["notice"] = "Signed out."
    return see(LOGIN)


async def home(request: Request) -> Response:
    staffer = signed_in(request)
    granted = sorted(permission.value for permission in staffer.account.permissions)
    return staff_page(request, staffer, "staff_home.html", {"permissions": granted})


# --- stock ---------------------------------------------------------------------------


def _published(staffer: Staffer) -> list[Product]:
    """The products any shopper sees, a page of search at a time."""
    products: list[Product] = []
    offset = 0
    while len(products) < MOST_SKUS:
        found = staffer.view.search.search(SearchQuery(limit=MAX_LIMIT, offset=offset))
        for product_id in found.product_ids:
            try:
                products.append(staffer.view.catalog.product(product_id))
            except NotFound:
                continue  # unpublished since it was indexed
        offset += MAX_LIMIT
        if offset >= found.total:
            break
    return products


def _every_product(staffer: Staffer) -> list[Product]:
    """Every product, drafts too (for catalogue staff)."""
    products: list[Product] = []
    after = None
    while len(products) < MOST_SKUS:
        page = staffer.view.catalog.list_products(after=after, limit=100)
        products.extend(page.products)
        if page.next_after is None:
            break
        after = page.next_after
    return products


def catalogue_skus(staffer: Staffer) -> list[tuple[str, str]]:
    """Each SKU of the catalogue and what it is: every product's for an account that
    may see the whole catalogue, else the published products' (as shoppers see
    them: stock staff need not see drafts)."""
    products = _every_product(staffer) if staffer.may(CATALOGUE) else _published(staffer)
    skus = []
    for product in products:
        for variant in product.variants:
            options = ", ".join(variant.options.values())
            skus.append((variant.sku, f"{product.name} ({options})" if options else product.name))
    return skus[:MOST_SKUS]


def stock_context(staffer: Staffer) -> dict[str, Any]:
    rows = []
    for sku, name in catalogue_skus(staffer):
        items = staffer.view.inventory.stock(sku)
        rows.append(
            {
                "sku": sku,
                "name": name,
                "items": items,
                "available": sum(item.available for item in items),
            }
        )
    return {
        "rows": rows,
        "skus": [(row["sku"], f"{row['sku']}: {row['name']}") for row in rows],
        "locations": [(each.id, each.name) for each in staffer.view.inventory.locations()],
    }


def _stock_page(
    request: Request, staffer: Staffer, errors: dict[str, str], values: dict[str, str]
) -> Response:
    context = stock_context(staffer)
    context.update(errors=errors, values=values)
    return staff_page(request, staffer, "staff_stock.html", context, 422 if errors else 200)


@staff_only(STOCK)
async def stock_page(request: Request, staffer: Staffer) -> Response:
    return _stock_page(request, staffer, {}, {})


@staff_only(STOCK)
async def stock_receive(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    values = {f"receive_{name}": text_of(form, name) for name in ("sku", "location_id", "quantity")}
    values["receive_reference"] = text_of(form, "reference")
    errors: dict[str, str] = {}

    def receive() -> None:
        quantity = count_of(values["receive_quantity"], "quantity")
        staffer.view.inventory.receive(
            values["receive_sku"],
            values["receive_location_id"],
            quantity,
            reference=values["receive_reference"],
        )

    fields = ("sku", "location_id", "quantity", "reference")
    attempt(STOCK, receive, errors, "receive", fields)
    if errors:
        return _stock_page(request, staffer, errors, values)
    request.session["notice"] = (
        f"Received {values['receive_quantity']} unit(s) of {values['receive_sku']}"
        f" at {values['receive_location_id']}."
    )
    return see("/staff/stock")


@staff_only(STOCK)
async def stock_adjust(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    values = {
        f"adjust_{name}": text_of(form, name) for name in ("sku", "location_id", "change", "reason")
    }
    errors: dict[str, str] = {}

    def adjust() -> None:
        change = count_of(values["adjust_change"], "change", signed=True)
        if not values["adjust_reason"]:
            raise InvalidInput("Say why the stock changes (damaged, lost, found).", field="reason")
        staffer.view.inventory.adjust(
            values["adjust_sku"],
            values["adjust_location_id"],
            change,
            reason=values["adjust_reason"],
        )

    attempt(STOCK, adjust, errors, "adjust", ("sku", "location_id", "change", "reason"))
    if errors:
        return _stock_page(request, staffer, errors, values)
    request.session["notice"] = (
        f"Corrected {values['adjust_sku']} at {values['adjust_location_id']}"
        f" by {values['adjust_change']}."
    )
    return see("/staff/stock")


# --- support cases -------------------------------------------------------------------

STATUSES: Final = [(status.value, status.value.replace("_", " ")) for status in CaseStatus]


@staff_only(SUPPORT)
async def cases_page(request: Request, staffer: Staffer) -> Response:
    wanted = text_of(request.query_params, "status") or CaseStatus.OPEN.value
    errors: dict[str, str] = {}
    support = staffer.view.support
    cases = attempt(
        SUPPORT,
        lambda: support.in_status(wanted, limit=CASE_LIMIT),
        errors,
        "cases",
        ("status",),
    )
    return staff_page(
        request,
        staffer,
        "staff_cases.html",
        {
            "overdue": support.overdue(limit=CASE_LIMIT),
            "cases": cases or [],
            "status": wanted,
            "statuses": STATUSES,
            "errors": errors,
        },
        422 if errors else 200,
    )


def _case_page(
    request: Request, staffer: Staffer, errors: dict[str, str], values: dict[str, str]
) -> Response:
    try:
        case = staffer.view.support.get(request.path_params["case_id"])
    except (NotFound, InvalidInput):  # no such id, or none that could be one
        return not_found(request, staffer, "support case")
    context = {
        "case": case,
        "statuses": STATUSES,
        "errors": errors,
        "values": values,
        "may_see_orders": staffer.may(ORDERS),
    }
    return staff_page(request, staffer, "staff_case.html", context, 422 if errors else 200)


@staff_only(SUPPORT)
async def case_page(request: Request, staffer: Staffer) -> Response:
    return _case_page(request, staffer, {}, {})


@staff_only(SUPPORT)
async def case_reply(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    values = {"reply_body": text_of(form, "body")}
    errors: dict[str, str] = {}
    case_id = request.path_params["case_id"]
    attempt(
        SUPPORT,
        lambda: staffer.view.support.reply(case_id, values["reply_body"]),
        errors,
        "reply",
        ("body",),
    )
    if errors:
        return _case_page(request, staffer, errors, values)
    request.session["notice"] = "Reply sent."
    return see(f"/staff/cases/{case_id}")


@staff_only(SUPPORT)
async def case_status(request: Request, staffer: Staffer) -> Response:
    form = await checked_form(request)
    wanted = text_of(form, "status")
    errors: dict[str, str] = {}
    case_id = request.path_params["case_id"]
    attempt(
        SUPPORT,
        lambda: staffer.view.support.set_status(case_id, wanted),
        errors,
        "status",
        ("status",),
    )
    if errors:
        return _case_page(request, staffer, errors, {"status_status": wanted})
    request.session["notice"] = f"The case is {wanted.replace('_', ' ')}."
    return see(f"/staff/cases/{case_id}")


ROUTES: Final = [
    Route("/staff", home),
    Route(LOGIN, login, methods=["GET", "POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
    *backoffice_orders.ROUTES,
    *backoffice_returns.ROUTES,
    Route("/staff/stock", stock_page),
    Route("/staff/stock/receive", stock_receive, methods=["POST"]),
    Route("/staff/stock/adjust", stock_adjust, methods=["POST"]),
    Route("/staff/cases", cases_page),
    Route("/staff/cases/{case_id}", case_page),
    Route("/staff/cases/{case_id}/reply", case_reply, methods=["POST"]),
    Route("/staff/cases/{case_id}/status", case_status, methods=["POST"]),
    *backoffice_reports.ROUTES,
]
