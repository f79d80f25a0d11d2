"""Signed links: the token a store puts in a message's link (restore this cart, stop
these emails), by which it knows later that it made the link, for what, about whom
and until when, without keeping the link anywhere.

A token is ``<payload>.<signature>``, both base64url without padding. The payload is
a small JSON array, the link's purpose, subject (a cart's id, a customer's id),
reference (what sent it, such as a campaign) and expiry in unix seconds; the
signature is HMAC-SHA256 of the payload's text under the store's secret. The
purpose is signed with the rest, so a token made for one purpose never passes for
another; digests are compared in constant time against every secret in use (the
current one and any being retired), without stopping at a match.

A token that is malformed, forged or altered is told apart from a genuine one that
ran out only after its signature holds: :class:`~commercekit.domain.errors.LinkRejected`
with ``invalid`` or ``expired``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import attrs

from commercekit.domain._validators import aware, text
from commercekit.domain.errors import ConfigurationError, LinkRejected

__all__ = ["MAX_TOKEN_LENGTH", "MIN_SECRET_LENGTH", "SignedLink", "sign", "verify"]

#: A token a store makes is under 400 characters; a longer one is refused unread.
MAX_TOKEN_LENGTH: Final = 1024
#: A shorter secret is one that can be guessed.
MIN_SECRET_LENGTH: Final = 32
#: The latest expiry a token may carry (the year 2255): bounded, so that reading it
#: back into a datetime cannot overflow.
_LATEST: Final = 2**33
_PART: Final = re.compile(r"[A-Za-z0-9_-]{1,1000}", re.ASCII)


@attrs.frozen(kw_only=True)
class SignedLink:
    """What a token says."""

    purpose: str = attrs.field(validator=text(64))
    """What the link does (``restore_cart``, ``unsubscribe``)."""
    subject: str = attrs.field(validator=text(255))
    """What it is about: a cart's id, a customer's id."""
    reference: str = attrs.field(default="", validator=text(255, blank=True))
    """What sent it (a campaign's id); empty for nothing in particular."""
    expires_at: datetime = attrs.field(validator=aware)
    """From then on the link is refused (to the second)."""


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _digest(secret: str, payload: str) -> bytes:
    return hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest()


def _checked(secrets: str | Sequence[str]) -> tuple[str, ...]:
    listed = (secrets,) if isinstance(secrets, str) else tuple(secrets)
    if not listed or not all(isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH for s in listed):
        raise ConfigurationError(
            f"links are signed with a secret of at least {MIN_SECRET_LENGTH} characters",
            field="link_signing_secret",
        )
    return listed


def sign(secret: str, link: SignedLink) -> str:
    """The token for ``link``, signed with ``secret``.

    :raises ConfigurationError: naming ``link_signing_secret``, for a secret too
        short to keep a link from being forged.
    """
    (key,) = _checked(secret)
    expires = int(link.expires_at.timestamp())
    if not 0 < expires < _LATEST:
        raise LinkRejected("invalid", field="expires_at")
    body = json.dumps(
        [link.purpose, link.subject, link.reference, expires],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    payload = _encode(body.encode("ascii"))
    return f"{payload}.{_encode(_digest(key, payload))}"


def _matches(secrets: Sequence[str], payload: str, given: str) -> bool:
    """Whether ``given`` spells the digest under any secret: every secret is tried, so
    the time taken says nothing about which matched. The spelling is compared, not
    the bytes it decodes to: base64's spare bits would let another spelling pass."""
    expected = [_encode(_digest(secret, payload)).encode("ascii") for secret in secrets]
    results = [hmac.compare_digest(each, given.encode("ascii")) for each in expected]
    return any(results)


def verify(
    secrets: str | Sequence[str],
    token: object,
    *,
    purpose: str,
    now: datetime,
    field: str = "token",
) -> SignedLink:
    """What ``token`` says, if one of ``secrets`` signed it for ``purpose`` and it has
    not run out at ``now``.

    :raises LinkRejected: naming ``field``: ``invalid`` for anything but such a token
        (not text, too long, malformed, signed with another secret, altered, made for
        another purpose), ``expired`` for one that ran out.
    :raises ConfigurationError: naming ``link_signing_secret``, for no usable secret.
    """
    keys = _checked(secrets)
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise LinkRejected("invalid", field=field)
    payload, dot, signature = token.partition(".")
    if not dot or not _PART.fullmatch(payload) or not _PART.fullmatch(signature):
        raise LinkRejected("invalid", field=field)
    if not _matches(keys, payload, signature):
        raise LinkRejected("invalid", field=field)
    # Signed by the store: what it holds is what the store wrote.
    try:
        said, subject, reference, expires = json.loads(_decode(payload))
    except (ValueError, TypeError):
        raise LinkRejected("invalid", field=field) from None
    if said != purpose or not isinstance(expires, int) or not 0 < expires < _LATEST:
        raise LinkRejected("invalid", field=field)
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        raise LinkRejected("expired", field=field)
    return SignedLink(purpose=said, subject=subject, reference=reference, expires_at=expires_at)
