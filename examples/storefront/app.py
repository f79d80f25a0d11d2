"""The storefront as one Starlette application: its routes, error pages and the
middleware that wraps every response."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from commercekit import Store

from . import account, backoffice, cart, catalogue, checkout, orders
from .accounts import Accounts
from .security import SecurityHeaders, Sessions
from .web import (
    HERE,
    Redirect,
    Shop,
    page,
    see,
)


async def _redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Redirect)
    return see(exc.url)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "We could not find that page.", 403: str(exc.detail)}
    message = messages.get(exc.status_code, "Something went wrong.")
    return page(request, "error.html", {"message": message}, exc.status_code)


def create_app(
    store: Store,
    *,
    secret_key: str,
    navigation: Sequence[tuple[str, str]] | None = None,
    accounts: Accounts | None = None,
) -> Starlette:
    """The storefront of ``store``.

    :param secret_key: signs the session cookie: at least 32 random characters,
        the same for every process that serves the shop.
    :param navigation: the categories the header lists, as ``(id, name)``; by
        default the top of the store's category tree.
    :param accounts: who may sign in, customers and staff; by default an empty set
        kept in memory.
    """
    routes = [
        *catalogue.ROUTES,
        *cart.ROUTES,
        *checkout.ROUTES,
        *orders.ROUTES,
        *account.ROUTES,
        *backoffice.ROUTES,
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Redirect: _redirect},
    )
    app.state.shop = Shop(store, navigation, accounts)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    # Added last, run first: the headers wrap every response, the session every page.
    app.add_middleware(Sessions, secret_key=secret_key)
    app.add_middleware(SecurityHeaders)
    return app
