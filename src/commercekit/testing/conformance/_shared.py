"""What the suites share: unique keys, refusals and webhook rejections."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from commercekit.domain.errors import CommerceError, WebhookRejected
from commercekit.testing.conformance import rule, typed

__all__ = ["fresh_key", "rejects_webhook", "tampered_signature"]


def fresh_key(label: str) -> str:
    """An idempotency key no earlier run used (adapters may keep state between runs)."""
    return f"ck-conformance-{uuid.uuid4().hex[:16]}-{label}"


def rejects_webhook(name: str, call: Callable[[], object]) -> None:
    """Check that ``call`` raises :class:`WebhookRejected`.

    :raises AssertionError: naming the rule ``name``, when it returns, or raises
        anything else.
    """
    try:
        typed(call)
    except WebhookRejected:
        return
    except CommerceError as error:
        rule(name, False, f"raised {type(error).__name__}, not WebhookRejected: {error}")
    rule(name, False, "it was accepted")


def tampered_signature(signature: str) -> str:
    """``signature`` with its last character changed (a digest no secret made)."""
    if not signature:
        return "0"
    return signature[:-1] + ("1" if signature[-1] == "0" else "0")
