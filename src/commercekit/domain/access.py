"""Who is acting: a shopper or a member of staff, and what each may do.

Every call that changes or reveals something is made on behalf of a principal. A
:class:`Shopper` reaches a cart or an order by its token (knowing the token is the
permission), and, once the application has signed them in, what belongs to their
customer id; never what belongs to another customer, whatever id they send. A
:class:`Staff` member may do what their :class:`Permission` set allows. The
application's own jobs (a worker, the sweep) act as :data:`SYSTEM`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Final

import attrs

from commercekit.domain.customers import check_customer_id
from commercekit.domain.errors import InvalidInput
from commercekit.domain.identifiers import check_key

__all__ = ["SYSTEM", "Permission", "Principal", "Shopper", "Staff"]


class Permission(enum.Enum):
    """What a member of staff may be allowed to do."""

    ORDERS = "orders"
    """See any order; cancel, fulfil and complete orders."""
    PAYMENTS = "payments"
    """See payments; capture and void them."""
    REFUNDS = "refunds"
    """Give money back."""
    CATALOGUE = "catalogue"
    """Change products, prices, taxes, promotions and coupons."""
    STOCK = "stock"
    """See and move stock; locations, rules and purchase orders."""
    CUSTOMERS = "customers"
    """See and change any customer's record, carts and orders list."""
    SUPPORT = "support"
    """Answer support cases: see any case, reply, change its status, priority and
    agent, record what was done from it, resend a customer's notices."""
    MARKETING = "marketing"
    """See what shoppers do, where they came from and the reports; run campaigns."""


def _optional_customer(value: object) -> str | None:
    return None if value is None else check_customer_id(value)


#: The most order tokens one shopper may be said to hold (a session's recent orders).
MAX_HELD_ORDERS: Final = 50


def _held(value: object) -> frozenset[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput("must be a collection of order tokens", field="order_tokens")
    tokens = frozenset(check_key(token, "order_tokens") for token in value)
    if "" in tokens or len(tokens) > MAX_HELD_ORDERS:
        raise InvalidInput(
            f"must be 1 to {MAX_HELD_ORDERS} non-empty order tokens", field="order_tokens"
        )
    return tokens


@attrs.frozen
class Shopper:
    """A shopper: a guest (no ``customer_id``), or signed in as the application's
    customer ``customer_id`` (the application vouches for it)."""

    customer_id: str | None = attrs.field(default=None, converter=_optional_customer)
    order_tokens: frozenset[str] = attrs.field(default=frozenset(), converter=_held)
    """The tokens of orders the application has seen this shopper hold (those their
    own session placed): each such order is theirs to act on, guest or not, as
    knowing a token is the permission to read its order."""

    @property
    def actor(self) -> str:
        """How a change they make is recorded."""
        return "customer" if self.customer_id is None else f"customer:{self.customer_id}"

    def owns(self, customer_id: str | None) -> bool:
        """Whether something belonging to ``customer_id`` is theirs: only when they
        are signed in as that very customer."""
        return self.customer_id is not None and customer_id == self.customer_id

    def owns_order(self, customer_id: str | None, token: str) -> bool:
        """Whether the order of ``customer_id`` with ``token`` is theirs: placed under
        their customer id, or one whose token they hold."""
        return self.owns(customer_id) or (bool(token) and token in self.order_tokens)

    @property
    def may_own(self) -> bool:
        """Whether anything can be theirs: signed in, or holding an order's token."""
        return self.customer_id is not None or bool(self.order_tokens)


def _permissions(value: Iterable[Permission | str]) -> frozenset[Permission]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput("must be a set of permissions", field="permissions")
    try:
        return frozenset(Permission(p) for p in value)
    except ValueError:
        known = ", ".join(p.value for p in Permission)
        raise InvalidInput(f"each must be one of {known}", field="permissions") from None


def _staff_id(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not check_key(value, attribute.name).strip():
        raise InvalidInput("must be a non-empty string", field=attribute.name)


@attrs.frozen
class Staff:
    """A member of staff (or the application itself, :data:`SYSTEM`), with what they
    may do."""

    id: str = attrs.field(validator=_staff_id)
    permissions: frozenset[Permission] = attrs.field(factory=frozenset, converter=_permissions)

    @property
    def actor(self) -> str:
        """How a change they make is recorded."""
        return "system" if self is SYSTEM else f"staff:{self.id}"

    def may(self, permission: Permission) -> bool:
        """Whether they may do what ``permission`` allows."""
        return permission in self.permissions


SYSTEM: Final = Staff("system", frozenset(Permission))
"""The application itself: every permission."""

Principal = Shopper | Staff
