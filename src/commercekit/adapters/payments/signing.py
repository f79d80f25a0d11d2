"""Webhook signatures: HMAC-SHA256 over a timestamp and the raw body.

The header reads ``t=<unix seconds>,v1=<hex digest>``. Signing the timestamp with the
body, and refusing timestamps outside a tolerance window, stops a captured webhook
from being replayed later; comparing digests in constant time stops the signature
from being guessed byte by byte.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Final

from commercekit.domain.errors import (
    WebhookRejected,
)

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "sign", "verify"]

DEFAULT_TOLERANCE_SECONDS: Final = 300


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a signature header against the raw body.

    :raises WebhookRejected: if the header is malformed, the timestamp is outside the
        tolerance window (either way: a clock far ahead is as suspect as a replay), or
        no ``v1`` digest matches.
    """
    if not secret:
        raise WebhookRejected("no webhook secret is configured")
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key and value:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise WebhookRejected("the signature header has no valid timestamp") from None
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise WebhookRejected("the webhook is outside the tolerance window (stale or replayed)")
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise WebhookRejected("the webhook signature does not match")
