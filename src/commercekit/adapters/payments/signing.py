"""Webhook signatures: HMAC-SHA256 over a timestamp and the raw body.

The header reads ``t=<unix seconds>,v1=<hex digest>``. Signing the timestamp with the
body, and refusing timestamps outside a tolerance window, stops a captured webhook
from being replayed later; comparing digests in constant time stops the signature
from being guessed byte by byte.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Final

from commercekit.domain.errors import (
    WebhookRejected,
)

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "MAX_HEADER_LENGTH", "sign", "verify"]

DEFAULT_TOLERANCE_SECONDS: Final = 300

#: A real header is under 200 characters; this leaves room for several digests while
#: refusing to split a megabyte of text.
MAX_HEADER_LENGTH: Final = 4096

# Unix seconds in ASCII digits: twelve reach the year 33658, and a bounded number is
# one that arithmetic and datetime can take. int() would also read "1_700", " 17"
# and digits of other scripts.
_TIMESTAMP: Final = re.compile(r"[0-9]{1,12}", re.ASCII)
_DIGEST: Final = re.compile(r"[0-9a-f]{64}", re.ASCII)


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

    :raises WebhookRejected: if the header is malformed (not text, too long, a
        timestamp that is not a plain number of seconds), the timestamp is outside the
        tolerance window (either way: a clock far ahead is as suspect as a replay), or
        no ``v1`` digest matches. Nothing else, whatever the header holds.
    """
    if not secret:
        raise WebhookRejected("no webhook secret is configured")
    if not isinstance(body, bytes | bytearray | memoryview):
        raise WebhookRejected("the webhook body must be the raw bytes received")
    if header is None:
        header = ""
    if not isinstance(header, str):
        raise WebhookRejected("the signature header must be text")
    if len(header) > MAX_HEADER_LENGTH:
        raise WebhookRejected(f"the signature header is longer than {MAX_HEADER_LENGTH} characters")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key and value:
            parts.setdefault(key, []).append(value)
    stamps = parts.get("t", [])
    if not stamps or not _TIMESTAMP.fullmatch(stamps[0]):
        raise WebhookRejected("the signature header has no valid timestamp")
    timestamp = int(stamps[0])
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise WebhookRejected("the webhook is outside the tolerance window (stale or replayed)")
    expected = _digest(secret, timestamp, bytes(body)).encode("ascii")
    # Only well-formed digests are compared, as bytes: compare_digest refuses a str
    # that is not ASCII, and the format says nothing about the secret.
    given = [value.encode("ascii") for value in parts.get("v1", []) if _DIGEST.fullmatch(value)]
    if not any(hmac.compare_digest(expected, digest) for digest in given):
        raise WebhookRejected("the webhook signature does not match")
