"""Customer accounts: signing up, in and out, the order history, the address book,
marketing consent, and support cases.

The storefront's :class:`~.accounts.Accounts` proves who a customer is and the store
takes its word (``store.as_shopper(subject)``): every page here asks the store as
that customer, so its door refuses whatever is not theirs. What is not theirs (an
order's number, an address's label, a case's id) gets the very 404 that something
which does not exist gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commercekit import Order
from commercekit.domain.customers import Customer
from commercekit.domain.support import CaseStatus, SupportCase
from commercekit.errors import CommerceError, NotFound
from commercekit.services.schemas import CustomerIn, parse

from .accounts import Account, AccountError
from .checkout import ADDRESS_FIELDS
from .orders import (
    Acting,
    order_routes,
    remembered_cases,
)
from .security import checked_form
from .web import (
    Redirect,
    cart_token,
    customer_of,
    page,
    remembered,
    see,
    shop_of,
    shopper,
    status_for,
)

#: What the consent form shows beside its checkbox, kept with each consent recorded.
CONSENT_WORDING: Final = (
    "Send me the tea shop's news and offers by e-mail, at most twice a month."
    " I can stop them here at any time."
)
#: The same words for an unknown e-mail and a wrong password: which it was is not told.
SIGN_IN_REFUSED: Final = "That e-mail address and password do not open an account."
#: What a session keeps when someone signs in: all else (the CSRF token too) is new.
KEPT_ON_SIGN_IN: Final[tuple[str, ...]] = ("cart", "orders")


def signed_in(request: Request) -> Account:
    """The signed-in customer; anyone else is sent to sign in."""
    account = customer_of(request)
    if account is None:
        raise Redirect("/account/login")
    return account


def start_session(request: Request, account: Account) -> None:
    """Sign ``account`` in on this session. Everything but the cart and the orders
    placed is forgotten, so that a CSRF token seen before signing in is of no use
    after it."""
    kept = {key: request.session[key] for key in KEPT_ON_SIGN_IN if key in request.session}
    request.session.clear()
    request.session.update(kept)
    request.session["customer"] = account.subject
    _take_cart(request, account.subject)


def _take_cart(request: Request, subject: str) -> None:
    """Give the customer one cart of their own, so that what they order is theirs:
    the one filled as a guest (folded into the one they left last time, if any),
    else the one they left, else a new one."""
    shop, view = shop_of(request), shopper(request)
    token = cart_token(request)
    try:
        if token is not None:
            cart = view.carts.sign_in(token, subject)
        else:
            left = [
                each for each in view.carts.for_customer(subject) if each.channel == shop.channel
            ]
            cart = left[0] if left else view.carts.create(customer_id=subject)
    except CommerceError:
        request.session.pop("cart", None)
        return
    request.session["cart"] = cart.token


def _open_account(request: Request, details: Mapping[str, str], password: str) -> Account:
    """A new customer's account and the store's record of them. The details are
    checked by the store's rules before the account is made, so that no account is
    left without its record.

    :raises AccountError: for an e-mail taken, or a password too short or too long.
    :raises CommerceError: for details the store refuses, naming the field.
    """
    checked = parse(CustomerIn, details, field="email")
    shop = shop_of(request)
    account = shop.accounts.create(checked.email, password, kind="customer")
    own_view = shop.store.as_shopper(account.subject)
    own_view.customers.register(account.subject, {"email": checked.email, "name": checked.name})
    return account


async def register(request: Request) -> Response:
    values = {"name": "", "email": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await checked_form(request)
        values = {name: str(form.get(name, "")).strip() for name in values}
        if not values["name"]:
            errors["name"] = "Tell us your name."
        else:
            try:
                account = _open_account(request, values, str(form.get("password", "")))
            except AccountError as refused:
                errors[refused.field] = refused.message
            except CommerceError as refused:
                errors[refused.field if refused.field in values else "email"] = refused.message
            else:
                start_session(request, account)
                request.session["notice"] = f"Welcome, {values['name']}: your account is open."
                return see("/account")
    return page(
        request, "account_register.html", {"values": values, "errors": errors}, status_for(errors)
    )


async def login(request: Request) -> Response:
    if customer_of(request) is not None:
        return see("/account")
    email = ""
    error = ""
    if request.method == "POST":
        form = await checked_form(request)
        email = str(form.get("email", "")).strip()
        password = str(form.get("password", ""))
        account = shop_of(request).accounts.sign_in(email, password, kind="customer")
        if account is None:
            error = SIGN_IN_REFUSED
        else:
            start_session(request, account)
            request.session["notice"] = "You are signed in."
            return see("/account")
    return page(
        request,
        "account_login.html",
        {"values": {"email": email}, "error": error, "errors": {}},
        422 if error else 200,
    )


async def logout(request: Request) -> Response:
    await checked_form(request)
    # All of it: on a shared computer, the next visitor sees nothing of theirs.
    request.session.clear()
    request.session["notice"] = "You are signed out."
    return see("/")


def record_of(request: Request, account: Account) -> Customer:
    """The store's record of the customer, made from the account if it has none."""
    view = shopper(request)
    try:
        return view.customers.get(account.subject)
    except NotFound:
        return view.customers.register(account.subject, {"email": account.email})


async def account_home(request: Request) -> Response:
    shop = shop_of(request)
    account = signed_in(request)
    orders = [
        {
            "number": order.number,
            "placed": order.placed_at,
            "status": order.status.value.replace("_", " "),
            "delivery": order.fulfilment_status.value.replace("_", " "),
            "total": shop.money(order.totals.grand_total_units, order.currency),
        }
        for order in shopper(request).orders.for_customer(account.subject)
    ]
    return page(
        request, "account_home.html", {"record": record_of(request, account), "orders": orders}
    )


def customer_order(request: Request) -> Order:
    """The signed-in customer's order whose number the address names (404 for any
    other number, theirs to see or not)."""
    account = signed_in(request)
    try:
        order = shopper(request).orders.by_number(str(request.path_params["number"]))
    except CommerceError:
        raise HTTPException(404) from None
    # A guest order this session also holds is theirs to see, but not on this page.
    if order.customer_id != account.subject:
        raise HTTPException(404)
    return order


def _address_form(
    request: Request, values: Mapping[str, str], errors: Mapping[str, str], default: bool
) -> Response:
    record = record_of(request, signed_in(request))
    return page(
        request,
        "account_addresses.html",
        {
            "saved": record.addresses,
            "fields": ADDRESS_FIELDS,
            "values": values,
            "errors": errors,
            "default": default,
        },
        status_for(errors),
    )


async def addresses(request: Request) -> Response:
    """The address book, and a new address (or a changed one, by its label)."""
    account = signed_in(request)
    names = ["label", *(name for name, _, _ in ADDRESS_FIELDS)]
    values = dict.fromkeys(names, "")
    errors: dict[str, str] = {}
    default = False
    if request.method == "POST":
        form = await checked_form(request)
        values = {name: str(form.get(name, "")).strip() for name in names}
        default = form.get("default_shipping") == "yes"
        address = {name: value for name, value in values.items() if name != "label"}
        try:
            shopper(request).customers.save_address(
                account.subject, values["label"], address, default_shipping=default
            )
        except CommerceError as refused:
            errors[refused.field if refused.field in values else "form"] = refused.message
        else:
            request.session["notice"] = f"Address {values['label']} saved."
            return see("/account/addresses")
    return _address_form(request, values, errors, default)


async def address(request: Request) -> Response:
    """One address of the book, to change or remove."""
    record = record_of(request, signed_in(request))
    label = str(request.path_params["label"])
    saved = next((each for each in record.addresses if each.label == label), None)
    if saved is None:
        raise HTTPException(404)
    values = {name: str(getattr(saved.address, name, "")) for name, _, _ in ADDRESS_FIELDS}
    return page(
        request,
        "account_address.html",
        {
            "saved": saved,
            "fields": ADDRESS_FIELDS,
            "values": {"label": label, **values},
            "errors": {},
        },
    )


async def remove_address(request: Request) -> Response:
    account = signed_in(request)
    form = await checked_form(request)
    label = str(form.get("label", ""))
    try:
        shopper(request).customers.remove_address(account.subject, label)
    except CommerceError:
        raise HTTPException(404) from None
    request.session["notice"] = f"Address {label} removed."
    return see("/account/addresses")


async def consent(request: Request) -> Response:
    """Marketing consent: what holds now, and a form to give or withdraw it."""
    account = signed_in(request)
    if request.method == "POST":
        form = await checked_form(request)
        granted = form.get("marketing") == "yes"
        shopper(request).customers.record_consent(
            account.subject,
            {"granted": granted, "source": "storefront account", "wording": CONSENT_WORDING},
        )
        request.session["notice"] = (
            "You will hear from us." if granted else "You will get no more news and offers."
        )
        return see("/account/consent")
    record = record_of(request, account)
    return page(
        request,
        "account_consent.html",
        {
            "granted": record.accepts_marketing,
            "latest": record.consents[-1] if record.consents else None,
            "wording": CONSENT_WORDING,
        },
    )


async def support_cases(request: Request) -> Response:
    """The customer's support cases, and a form to write to us about anything."""
    account = signed_in(request)
    view = shopper(request)
    values = {"subject": "", "body": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await checked_form(request)
        values = {name: str(form.get(name, "")).strip() for name in values}
        errors = _message_errors(values)
        if not errors:
            try:
                case = view.support.open_case(
                    values["subject"], values["body"], customer_id=account.subject
                )
            except CommerceError as refused:
                errors[refused.field if refused.field == "subject" else "body"] = refused.message
            else:
                request.session["notice"] = "Thank you: we have your message and will answer soon."
                return see(f"/support/{case.id}")
    return page(
        request,
        "account_support.html",
        {"cases": view.support.for_customer(account.subject), "values": values, "errors": errors},
        status_for(errors),
    )


def _message_errors(values: Mapping[str, str]) -> dict[str, str]:
    errors = {}
    if "subject" in values and not values["subject"]:
        errors["subject"] = "Give your message a subject."
    if not values["body"]:
        errors["body"] = "Write your message."
    return errors


def own_case(request: Request) -> tuple[SupportCase, Acting]:
    """The case the address names, if it is this visitor's: the signed-in
    customer's own, or a guest's that this session opened about an order it holds.
    Any other, existing or not, is a 404."""
    case_id = str(request.path_params["case_id"])
    account = customer_of(request)
    if account is not None:
        try:
            return shopper(request).support.get(case_id), Acting(shopper(request), account.subject)
        except CommerceError:
            pass
    number = remembered_cases(request).get(case_id)
    token = remembered(request, number) if number is not None else None
    if token is not None:
        view = shopper(request)
        try:
            order = shop_of(request).shopper.orders.by_token(token)
            case = view.support.get(case_id)
        except CommerceError:
            raise HTTPException(404) from None
        if case.order_id == order.id and case.customer_id is None:
            return case, Acting(view, None)
    raise HTTPException(404)


def _order_url(request: Request, case: SupportCase, acting: Acting) -> str:
    """Where the order the case is about is shown to this visitor ("" for none)."""
    if case.order_id is None:
        return ""
    if acting.customer_id is None:
        return f"/orders/{remembered_cases(request).get(case.id, '')}"
    try:
        return f"/account/orders/{acting.view.orders.get(case.order_id).number}"
    except CommerceError:
        return ""


def _show_case(
    request: Request,
    case: SupportCase,
    acting: Acting,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Response:
    context: dict[str, Any] = {
        "case": case,
        "order_url": _order_url(request, case, acting),
        "closed": case.status is CaseStatus.CLOSED,
        "values": values or {"body": ""},
        "errors": errors or {},
    }
    return page(request, "account_case.html", context, status_for(errors or {}))


async def case_page(request: Request) -> Response:
    case, acting = own_case(request)
    return _show_case(request, case, acting)


async def case_reply(request: Request) -> Response:
    case, acting = own_case(request)
    form = await checked_form(request)
    values = {"body": str(form.get("body", "")).strip()}
    errors = _message_errors(values)
    if not errors:
        try:
            acting.view.support.customer_message(
                case.id, values["body"], **acting.writer(case.email)
            )
        except CommerceError as refused:
            errors["body"] = f"We could not add that: {refused.message}."
        else:
            request.session["notice"] = "Your message is sent."
            return see(f"/support/{case.id}")
    return _show_case(request, case, acting, values, errors)


ROUTES: Final = [
    Route("/account", account_home),
    Route("/account/register", register, methods=["GET", "POST"]),
    Route("/account/login", login, methods=["GET", "POST"]),
    Route("/account/logout", logout, methods=["POST"]),
    *order_routes("/account/orders", customer_order),
    Route("/account/addresses", addresses, methods=["GET", "POST"]),
    Route("/account/addresses/remove", remove_address, methods=["POST"]),
    Route("/account/addresses/{label:path}", address),
    Route("/account/consent", consent, methods=["GET", "POST"]),
    Route("/account/support", support_cases, methods=["GET", "POST"]),
    Route("/support/{case_id}", case_page),
    Route("/support/{case_id}/reply", case_reply, methods=["POST"]),
]
