"""Storage URLs as they may be printed or logged: never with a password.

A storage URL may carry the database's password (``postgresql://shop:pa55@db/shop``).
Everything that shows one (a configuration's ``repr``, an error, the command line)
shows it through :func:`shown_url`, and a driver's message that might repeat the
password passes through :func:`without_password` first.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["shown_url", "without_password"]

# Everything between "://" and "@": a user, and perhaps a password.
_CREDENTIALS: Final = re.compile(r"(?<=://)[^/?#]*@")


def _password(url: str) -> str | None:
    # Imported here: a store on memory:// need not load SQLAlchemy to show its URL.
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return None
    return None if password is None else str(password)


def shown_url(url: object) -> str:
    """``url`` with its password masked; one that does not parse as a URL loses all of
    its credentials (user and password alike)."""
    if not isinstance(url, str):
        return f"(a {type(url).__name__}, not a URL)"
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _CREDENTIALS.sub("***@", url)


def without_password(text: str, url: str) -> str:
    """``text`` on one line, with ``url``'s password (if it has one) masked wherever it
    appears."""
    line = " ".join(text.split())
    password = _password(url)
    return line.replace(password, "***") if password else line
