"""Unguessable tokens, by which carts and orders are reached from outside."""

from __future__ import annotations

import hmac
import secrets

__all__ = ["new_token", "token_matches"]


def new_token() -> str:
    """A fresh token: 256 bits from the operating system's secure source."""
    return secrets.token_urlsafe(32)


def token_matches(secret: str, candidate: object) -> bool:
    """Whether ``candidate`` is ``secret``, compared in constant time.

    An empty or missing token never matches, whatever it is compared with.
    """
    if not isinstance(candidate, str) or not candidate or not secret:
        return False
    return hmac.compare_digest(candidate.encode(), secret.encode())
