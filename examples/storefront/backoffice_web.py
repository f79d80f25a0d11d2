"""What every back-office page shares: the signed-in member of staff, the store as
they reach it, refusals put next to the field they concern, and the page that says
which permission an account lacks.

The session keeps only the staff account's subject. Each page reads the account
afresh (a permission taken away counts from the next page on) and reaches the store
only through ``store.as_staff(subject, permissions)``, so the store's own door
refuses what the account may not do, whatever a page forgot to hide. A refusal at
the door (:class:`~commercekit.errors.AccessDenied`) becomes a 403 page naming the
permissions the door said the call needed.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

import attrs
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from commercekit import Money, View
from commercekit.domain.access import Permission
from commercekit.errors import AccessDenied, CommerceError, InvalidInput, NotFound

from .accounts import Account
from .web import Redirect, page, shop_of

T = TypeVar("T")

LOGIN: Final = "/staff/login"
#: The session key that holds the signed-in staff account's subject.
SESSION_KEY: Final = "staff"
#: The back office's sections, in the order the navigation lists them: where each
#: is, its name, and the permission its pages need.
SECTIONS: Final = (
    ("/staff/orders", "Orders", Permission.ORDERS),
    ("/staff/returns", "Returns", Permission.ORDERS),
    ("/staff/stock", "Stock", Permission.STOCK),
    ("/staff/cases", "Support cases", Permission.SUPPORT),
    ("/staff/reports", "Reports", Permission.MARKETING),
)


@attrs.frozen
class Staffer:
    """A signed-in member of staff, and the store as their permissions reach it."""

    account: Account
    view: View

    def may(self, permission: Permission) -> bool:
        """Whether the account holds ``permission`` (for what a page offers; the
        store decides what it does)."""
        return permission in self.account.permissions


def signed_in(request: Request) -> Staffer:
    """The member of staff signed in on this session.

    :raises Redirect: to the sign-in page, for a session without a staff account
        (or one whose account is gone).
    """
    shop = shop_of(request)
    subject = request.session.get(SESSION_KEY)
    account = shop.accounts.get(subject, kind="staff") if isinstance(subject, str) else None
    if account is None:
        request.session.pop(SESSION_KEY, None)
        raise Redirect(LOGIN)
    return Staffer(account, shop.store.as_staff(account.subject, account.permissions))


def staff_page(
    request: Request,
    staffer: Staffer | None,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """``template`` with what every back-office page shows: who is signed in and the
    sections their permissions open."""
    sections = (
        []
        if staffer is None
        else [(url, name) for url, name, needed in SECTIONS if staffer.may(needed)]
    )
    full = {
        "staffer": staffer,
        "sections": sections,
        "here": request.url.path,
        "errors": {},
        **(context or {}),
    }
    return page(request, template, full, status)


def denied(request: Request, staffer: Staffer, permissions: Sequence[str]) -> Response:
    """The 403 page for a call the account's permissions do not allow, naming the
    permissions (any one of them) the store said it needed."""
    needed = " or ".join(f"“{name}”" for name in permissions)
    message = (
        f"This needs the {needed} permission, which your account does not have. Ask an"
        " administrator if you need it."
    )
    return staff_page(
        request, staffer, "staff_error.html", {"title": "Not allowed", "message": message}, 403
    )


def not_found(request: Request, staffer: Staffer, what: str) -> Response:
    message = f"There is no {what} at this address."
    return staff_page(
        request, staffer, "staff_error.html", {"title": "Not found", "message": message}, 404
    )


def detail_page(
    request: Request,
    staffer: Staffer,
    what: str,
    template: str,
    context_of: Callable[[], dict[str, Any]],
    errors: Mapping[str, str],
    values: Mapping[str, str],
) -> Response:
    """The page of one thing its address names (an order, a return): a 404 for an id
    that names none, or could not, and a 422 with the errors of a form sent from it.
    """
    try:
        context = context_of()
    except (NotFound, InvalidInput):
        return not_found(request, staffer, what)
    context.update(errors=errors, values=values)
    return staff_page(request, staffer, template, context, 422 if errors else 200)


Page = Callable[[Request, Staffer], Awaitable[Response]]


def staff_only(
    permission: Permission,
) -> Callable[[Page], Callable[[Request], Awaitable[Response]]]:
    """A back-office page whose store calls need ``permission``: only for a
    signed-in member of staff, and a 403 page naming the permissions the store's door
    asked for when it refuses them."""

    def wrap(handler: Page) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            staffer = signed_in(request)
            try:
                return await handler(request, staffer)
            except AccessDenied as refused:
                return denied(request, staffer, refused.permissions or (permission.value,))

        return endpoint

    return wrap


def attempt(
    permission: Permission,
    action: Callable[[], T],
    errors: dict[str, str],
    form: str,
    fields: Collection[str] = (),
) -> T | None:
    """``action()``; or, when the store refuses it, ``None`` with the refusal's words
    in ``errors``: under ``<form>_<field>`` for one of the form's ``fields``, else
    under ``form`` (shown at the top of that form).

    :raises AccessDenied: for a refusal at the door: that is a 403, not words
        beside a field.
    """
    try:
        return action()
    except AccessDenied:
        raise
    except CommerceError as refused:
        key = f"{form}_{refused.field}" if refused.field in fields else form
        errors[key] = refused.message
        return None


def text_of(form: FormData | Mapping[str, Any], name: str) -> str:
    """A form's text field, trimmed (``""`` when missing or a file)."""
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def amount_of(text: str, currency: str, field: str = "amount") -> Money:
    """An amount typed by staff (``12.50``; a decimal comma will do) in ``currency``.

    :raises InvalidInput: naming ``field``, for anything but a positive amount.
    """
    written = text if "." in text else text.replace(",", ".")
    try:
        value = Decimal(written)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise InvalidInput("Enter an amount above zero, such as 12.50.", field=field)
    return Money(value, currency)


def count_of(text: str, field: str, *, signed: bool = False) -> int:
    """A whole number typed by staff (``0`` when left empty).

    :raises InvalidInput: naming ``field``, for anything else (or a negative one,
        unless ``signed``).
    """
    if not text:
        return 0
    try:
        number = int(text)
    except ValueError:
        raise InvalidInput("Enter a whole number.", field=field) from None
    if number < 0 and not signed:
        raise InvalidInput("Enter a whole number of zero or more.", field=field)
    return number


def store_now(request: Request) -> datetime:
    """The store's time (its clock), which reports and deadlines count from."""
    return shop_of(request).store.now()
