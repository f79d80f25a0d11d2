"""What keeps the storefront's visitors apart and its pages hard to abuse.

Three small ASGI pieces, kept out of the pages so that no page can forget them:

- :class:`Sessions` keeps each visitor's session (their cart token, the orders they
  placed, their CSRF token) in one signed cookie: HTTP-only, ``SameSite=Lax``, and
  ``Secure`` whenever the request came over https. Nothing of it ever goes into a URL.
- :func:`checked_form` reads a POSTed form and refuses it (403) unless it carries the
  session's CSRF token, compared in constant time.
- :class:`SecurityHeaders` sends a Content-Security-Policy that allows no script but
  the page's JSON-LD block and the search box's own file (both by a per-request
  nonce), requests only to the shop itself, and the headers
  that stop framing, MIME sniffing and leaking the page's address to other sites.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from typing import Any, Final

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE: Final = "storefront_session"
#: A session unused this long is forgotten (the cart stays in the store).
MAX_AGE_SECONDS: Final = 14 * 24 * 3600
CSRF_FIELD: Final = "csrf_token"


class Sessions:
    """A signed-cookie session as ``request.session`` (a dict of JSON values)."""

    def __init__(self, app: ASGIApp, *, secret_key: str) -> None:
        if len(secret_key) < 32:
            raise ValueError("the session secret must be at least 32 characters")
        self._app = app
        self._signer = URLSafeTimedSerializer(secret_key, salt="commercekit-storefront")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        raw = connection.cookies.get(COOKIE, "")
        loaded: dict[str, Any] = {}
        if raw:
            try:
                value = self._signer.loads(raw, max_age=MAX_AGE_SECONDS)
            except BadSignature:
                value = {}
            if isinstance(value, dict):
                loaded = value
        scope["session"] = dict(loaded)
        secure = connection.url.scheme == "https"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["session"] != loaded:
                headers = MutableHeaders(scope=message)
                value = self._signer.dumps(scope["session"])
                flags = f"Path=/; Max-Age={MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax"
                if secure:
                    flags += "; Secure"
                headers.append("Set-Cookie", f"{COOKIE}={value}; {flags}")
            await send(message)

        await self._app(scope, receive, sending)


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token matches the session's.

    :raises HTTPException: 403, for a form without the session's token.
    """
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    kept = request.session.get(CSRF_FIELD)
    if not (
        isinstance(sent, str)
        and isinstance(kept, str)
        and hmac.compare_digest(sent.encode(), kept.encode())
    ):
        raise HTTPException(403, "This form has expired: go back, reload the page, try again.")
    return form


def nonce(request: Request) -> str:
    """This response's script nonce (the JSON-LD block carries it)."""
    return str(request.scope["csp_nonce"])


class SecurityHeaders:
    """Adds the security headers to every response, with a fresh nonce each time."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        made = base64.b64encode(secrets.token_bytes(16)).decode()
        scope["csp_nonce"] = made
        policy = "; ".join(
            (
                "default-src 'none'",
                "img-src 'self'",
                "style-src 'self'",
                f"script-src 'nonce-{made}'",
                "connect-src 'self'",
                "form-action 'self'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            )
        )

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self._app(scope, receive, sending)
