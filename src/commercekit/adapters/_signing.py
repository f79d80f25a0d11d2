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
from collections.abc import Sequence
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
    """The signature header for ``body`` sent at ``timestamp`` (unix seconds).

    During a rotation, sign with the current secret only: the receiver accepts it,
    and the previous ones too until they are retired.
    """
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def _candidates(secrets: str | Sequence[str]) -> tuple[str, ...]:
    """The secrets a signature may be made with: one, or the current and previous ones.

    :raises WebhookRejected: if there is none, or one is empty or not text (an empty
        key is one anyone can sign with).
    """
    listed: Sequence[object] = [secrets] if isinstance(secrets, str) else secrets
    if not isinstance(listed, Sequence):
        listed = []
    candidates = tuple(secret for secret in listed if isinstance(secret, str) and secret)
    if not candidates or len(candidates) != len(listed):
        raise WebhookRejected("no webhook secret is configured")
    return candidates


def _matches(expected: Sequence[bytes], given: Sequence[bytes]) -> bool:
    """Whether any given digest is one of the expected ones.

    Every pair is compared, in constant time, without stopping at a match: how long
    the check takes says neither which digest nor which secret matched.
    """
    results = [hmac.compare_digest(e, g) for e in expected for g in given]
    return any(results)


def verify(
    secrets: str | Sequence[str],
    body: bytes,
    header: str,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a signature header against the raw body.

    :param secrets: the webhook secret, or during a rotation the current secret and
        the previous ones: a signature made with any of them is valid.
    :raises WebhookRejected: if no secret is given (or one is empty), the header is
        malformed (not text, too long, a timestamp that is not a plain number of
        seconds), the timestamp is outside the tolerance window (either way: a clock
        far ahead is as suspect as a replay), or no ``v1`` digest matches any secret.
        Nothing else, whatever the header holds.
    """
    candidates = _candidates(secrets)
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
    raw = bytes(body)
    expected = [_digest(secret, timestamp, raw).encode("ascii") for secret in candidates]
    # Only well-formed digests are compared, as bytes: compare_digest refuses a str
    # that is not ASCII, and the format says nothing about the secret.
    given = [value.encode("ascii") for value in parts.get("v1", []) if _DIGEST.fullmatch(value)]
    if not _matches(expected, given):
        raise WebhookRejected("the webhook signature does not match")
