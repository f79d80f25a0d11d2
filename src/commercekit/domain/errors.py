"""The exceptions a caller can act on.

Every error has a stable, machine-readable ``code`` (safe to switch on, to log and to
send to a client) and carries the facts that explain it as attributes, not only in
its message. Where a builtin says the same thing, the error inherits it too, so that
``except ValueError`` keeps working for callers who do not know commercekit.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyExists",
    "CategoryCycle",
    "CommerceError",
    "CouponRejected",
    "CurrencyMismatch",
    "DuplicateSku",
    "InsufficientStock",
    "InvalidInput",
    "InvalidQuantity",
    "InvalidTransition",
    "NotFound",
    "UnknownCurrency",
    "UnknownSku",
]


class CommerceError(Exception):
    """Root of every error commercekit raises on purpose.

    :param message: what went wrong, for a human.
    :param field: the name of the input that caused it, where one did.
    """

    code: ClassVar[str] = "commerce_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_dict(self) -> dict[str, str | None]:
        """The error as plain data, for an API response or a log line."""
        return {"code": self.code, "field": self.field, "message": self.message}


class InvalidInput(CommerceError, ValueError):
    """A value handed in breaks a rule: wrong type, out of range, malformed."""

    code: ClassVar[str] = "invalid_input"


class InvalidQuantity(InvalidInput):
    """A quantity that is not a whole number within the allowed range."""

    code: ClassVar[str] = "invalid_quantity"


class UnknownCurrency(InvalidInput):
    """A currency code that is not an ISO 4217 currency known to CLDR."""

    code: ClassVar[str] = "unknown_currency"

    def __init__(self, currency: object, *, field: str | None = "currency") -> None:
        super().__init__(f"unknown currency code {currency!r}", field=field)
        self.currency = currency


class CurrencyMismatch(CommerceError, TypeError):
    """Two amounts, or an amount and a cart, in different currencies were combined."""

    code: ClassVar[str] = "currency_mismatch"

    def __init__(self, expected: str, got: str, *, field: str | None = None) -> None:
        super().__init__(f"expected an amount in {expected}, got {got}", field=field)
        self.expected = expected
        self.got = got


class InvalidTransition(CommerceError):
    """An aggregate was asked for a change its current state does not allow."""

    code: ClassVar[str] = "invalid_transition"

    def __init__(self, what: str, state: str, action: str) -> None:
        super().__init__(f"cannot {action} a {what} that is {state}", field="status")
        self.what = what
        self.state = state
        self.action = action


class AlreadyExists(InvalidInput):
    """Something was added under a key that is taken."""

    code: ClassVar[str] = "already_exists"

    def __init__(self, kind: str, key: object, *, field: str | None = "id") -> None:
        super().__init__(f"{kind} {key!r} already exists", field=field)
        self.kind = kind
        self.key = key


class CategoryCycle(InvalidInput):
    """Moving a category under itself or one of its descendants."""

    code: ClassVar[str] = "category_cycle"


class DuplicateSku(InvalidInput):
    """A SKU that another variant already uses."""

    code: ClassVar[str] = "duplicate_sku"

    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {sku!r} is already used by another variant", field="sku")
        self.sku = sku


class NotFound(CommerceError, LookupError):
    """Something looked up by its key does not exist."""

    code: ClassVar[str] = "not_found"

    def __init__(self, kind: str, key: object, *, field: str | None = None) -> None:
        super().__init__(f"no {kind} {key!r}", field=field)
        self.kind = kind
        self.key = key


class UnknownSku(NotFound):
    """A SKU that no variant in the catalogue (or no price list) carries."""

    code: ClassVar[str] = "unknown_sku"

    def __init__(self, sku: str, *, field: str | None = "sku") -> None:
        super().__init__("variant with SKU", sku, field=field)
        self.sku = sku


class CouponRejected(CommerceError):
    """A coupon code that cannot be used on this cart now.

    ``reason`` is one of :attr:`REASONS` and is as stable as ``code``;
    ``not_combinable`` means the coupon is good but its promotion is kept out by the
    stacking rule (an exclusive promotion applies alone).
    """

    code: ClassVar[str] = "coupon_rejected"

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {
            "unknown",
            "expired",
            "not_yet_valid",
            "minimum_not_met",
            "limit_reached",
            "not_applicable",
            "not_combinable",
        }
    )

    def __init__(self, coupon_code: str, reason: str, detail: str = "") -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown coupon rejection reason {reason!r}")
        message = f"coupon {coupon_code!r} rejected: {reason.replace('_', ' ')}"
        super().__init__(f"{message} ({detail})" if detail else message, field="coupon_code")
        self.coupon_code = coupon_code
        self.reason = reason


class InsufficientStock(CommerceError):
    """Not enough stock to sell this quantity (all locations together)."""

    code: ClassVar[str] = "insufficient_stock"

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(
            f"only {max(available, 0)} of {sku} can be sold, {requested} requested",
            field="quantity",
        )
        self.sku = sku
        self.requested = requested
        self.available = available
