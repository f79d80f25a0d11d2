"""The rules of the door: what each public method asks before it lets a principal in.

A rule looks at who is asking (a :class:`Door` holds the principal and how to find
out whose something is) and at the call's arguments, and opens or not. The rules
are small and compose (:func:`both`, :func:`either`); :mod:`.access` names one for
every public method, and :func:`decide` evaluates it, noting the permissions it
asked about so that staff can be told what they lack.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from commercekit.domain.access import Permission, Principal, Shopper, Staff
from commercekit.domain.catalog import PublicationState
from commercekit.domain.errors import NotFound
from commercekit.domain.identifiers import check_key
from commercekit.domain.returns import Return
from commercekit.domain.support import SupportCase
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, check_product_ids
from commercekit.services.invoicing import document_order
from commercekit.services.orders import order_number_typed


@attrs.frozen
class Door:
    """What a rule knows: who is asking, and how to look up whose something is."""

    principal: Principal
    runtime: Runtime

    def staff_may(self, permissions: tuple[Permission, ...]) -> bool:
        asked = _ASKED.get()
        if asked is not None:
            asked.update(permissions)
        return isinstance(self.principal, Staff) and any(self.principal.may(p) for p in permissions)

    def owns_customer(self, customer_id: object) -> bool:
        return isinstance(self.principal, Shopper) and self.principal.owns(
            customer_id if isinstance(customer_id, str) else None
        )

    def sees_product(self, *, product_id: object = None, sku: object = None) -> bool:
        """Whether the product (by id, or the one a SKU belongs to) is out of draft:
        what is not yet released is the catalogue staff's alone."""
        with self.runtime.storage.unit_of_work() as uow:
            if product_id is not None:
                try:
                    product = uow.catalog.product(check_key(product_id, "product_id"))
                except NotFound:
                    return True  # the call itself says NotFound, to everyone alike
            else:
                found = uow.catalog.products_for_skus([check_key(sku, "sku")])
                if not found:
                    return True
                product = found[0]
        return product.state is not PublicationState.DRAFT

    def sees_products(self, product_ids: object) -> bool:
        """Whether every product named is out of draft (unknown ids are left out by
        the call itself)."""
        ids = check_product_ids(product_ids)
        if not ids:
            return True
        with self.runtime.storage.unit_of_work() as uow:
            found = uow.catalog.products(ids)
        return all(product.state is not PublicationState.DRAFT for product in found)

    def owns_order(self, order_id: object) -> bool:
        if not isinstance(self.principal, Shopper) or not self.principal.may_own:
            return False
        key = check_key(order_id, "order_id")
        with self.runtime.storage.unit_of_work() as uow:
            return _claims(self.principal, uow, key)

    def owns_document(self, document_id: object) -> bool:
        if not isinstance(self.principal, Shopper) or not self.principal.may_own:
            return False
        key = check_key(document_id, "document_id")
        with self.runtime.storage.unit_of_work() as uow:
            order_id = document_order(uow, key)
            return order_id is not None and _claims(self.principal, uow, order_id)

    def owns_order_number(self, number: object) -> bool:
        if not isinstance(self.principal, Shopper) or not self.principal.may_own:
            return False
        wanted = order_number_typed(number)
        with self.runtime.storage.unit_of_work() as uow:
            order = uow.orders.find_by_number(wanted)
            return order is not None and self.principal.owns_order(order.customer_id, order.token)

    def owns_return(self, return_id: object) -> bool:
        if not isinstance(self.principal, Shopper) or not self.principal.may_own:
            return False
        key = check_key(return_id, "return_id")
        with self.runtime.storage.unit_of_work() as uow:
            found = uow.records(Return).find(key)
            return found is not None and _claims(self.principal, uow, found.order_id)

    def owns_case(self, case_id: object) -> bool:
        """A signed-in customer's own case, or a guest's case about an order whose
        token the shopper holds."""
        if not isinstance(self.principal, Shopper) or not self.principal.may_own:
            return False
        key = check_key(case_id, "case_id")
        with self.runtime.storage.unit_of_work() as uow:
            found = uow.records(SupportCase).find(key)
            if found is None:
                return False
            if found.customer_id is not None:
                return self.principal.owns(found.customer_id)
            return found.order_id is not None and _claims(self.principal, uow, found.order_id)


def _cart_owner(door: Door, token: object) -> bool:
    """Whether the shopper is signed in as the customer whose cart ``token`` opens."""
    if not isinstance(door.principal, Shopper) or door.principal.customer_id is None:
        return False
    key = check_key(token, "token")
    with door.runtime.storage.unit_of_work() as uow:
        cart = uow.carts.find_by_token(key) if key else None
        return cart is not None and door.principal.owns(cart.customer_id)


def _claims(shopper: Shopper, uow: UnitOfWork, order_id: str) -> bool:
    """Whether the order is the shopper's: placed under their id, or held by token."""
    try:
        order = uow.orders.get(order_id)
    except NotFound:
        return False
    return shopper.owns_order(order.customer_id, order.token)


#: The permissions a rule consulted while it decided one call (what staff are told
#: they lack when it refuses).
_ASKED: contextvars.ContextVar[set[Permission] | None] = contextvars.ContextVar(
    "commercekit_permissions_asked", default=None
)

Rule = Callable[[Door, Mapping[str, Any]], bool]
"""Whether the door opens for these arguments."""


def anyone(door: Door, arguments: Mapping[str, Any]) -> bool:
    """Open to every principal: the call is reached by a token (the token is the
    permission), or reveals nothing that is not public."""
    return True


def staff(*permissions: Permission) -> Rule:
    """Open to staff with any of ``permissions``."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions)

    return rule


def system(door: Door, arguments: Mapping[str, Any]) -> bool:
    """Open only to staff with every permission (the application's own jobs): the
    steps other use cases take on the way, and the sweep."""
    asked = _ASKED.get()
    if asked is not None:
        asked.update(Permission)
    return isinstance(door.principal, Staff) and door.principal.permissions >= set(Permission)


def own_customer(argument: str, *permissions: Permission, optional: bool = False) -> Rule:
    """Open to the shopper signed in as the customer ``argument`` names (or to any
    shopper when ``optional`` and it names none), and to staff with ``permissions``."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        named = arguments.get(argument)
        if optional and named is None:
            return True
        return door.owns_customer(named) or door.staff_may(permissions)

    return rule


def released(argument: str, *permissions: Permission) -> Rule:
    """Open for a product out of draft (named by ``argument``: ``product_id`` or
    ``sku``), and to staff with ``permissions`` for any."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions) or door.sees_product(
            **{argument: arguments.get(argument)}
        )

    return rule


def own_order_number(argument: str) -> Rule:
    """Open to the shopper whose order the number ``argument`` names (see
    :meth:`Shopper.owns_order`)."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.owns_order_number(arguments.get(argument))

    return rule


def all_released(argument: str, *permissions: Permission) -> Rule:
    """Open for products (their ids named by ``argument``) all out of draft, and to
    staff with ``permissions`` for any."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions) or door.sees_products(arguments.get(argument))

    return rule


def own_order(argument: str, *permissions: Permission) -> Rule:
    """Open to the shopper whose order ``argument`` names, and to staff with
    ``permissions``."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions) or door.owns_order(arguments.get(argument))

    return rule


def own_return(argument: str, *permissions: Permission) -> Rule:
    """Open to the shopper whose order the return ``argument`` names is for, and to
    staff with ``permissions``."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions) or door.owns_return(arguments.get(argument))

    return rule


def own_case(argument: str, *permissions: Permission) -> Rule:
    """Open to the signed-in shopper whose support case ``argument`` names, and to
    staff with ``permissions``."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions) or door.owns_case(arguments.get(argument))

    return rule


def unless_given(names: tuple[str, ...], *permissions: Permission) -> Rule:
    """Open when none of the arguments ``names`` is given (they keep their
    defaults), and to staff with ``permissions`` whatever is given: what only staff
    may choose (a support case's priority)."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions) or not any(name in arguments for name in names)

    return rule


def own_cart(argument: str, *permissions: Permission) -> Rule:
    """Open to the shopper signed in as the customer whose cart the token ``argument``
    opens (what spends the customer's own money, not the cart's), and to staff with
    ``permissions``."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions) or _cart_owner(door, arguments.get(argument))

    return rule


def own_document(argument: str, *permissions: Permission) -> Rule:
    """Open to the shopper whose order the invoice or credit note ``argument`` names
    is of, and to staff with ``permissions``."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        return door.staff_may(permissions) or door.owns_document(arguments.get(argument))

    return rule


def both(first: Rule, second: Rule) -> Rule:
    """Open when both are."""
    return lambda door, arguments: first(door, arguments) and second(door, arguments)


def either(first: Rule, second: Rule) -> Rule:
    """Open when either is."""
    return lambda door, arguments: first(door, arguments) or second(door, arguments)


def guest_about_own_order(argument: str, *, case: bool = False) -> Rule:
    """Open to a shopper acting without a customer id (``customer_id`` not given) on
    an order that is theirs (see :meth:`Shopper.owns_order`), named by ``argument``:
    the order's id, or with ``case`` a support case about it."""

    def rule(door: Door, arguments: Mapping[str, Any]) -> bool:
        if arguments.get("customer_id") is not None:
            return False
        named = arguments.get(argument)
        if named is None:
            return False
        return door.owns_case(named) if case else door.owns_order(named)

    return rule


def decide(rule: Rule, door: Door, arguments: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """Whether ``rule`` opens for ``arguments``, and, when it does not and a member
    of staff asked, the permissions (any one of them) that would have opened it."""
    asked: set[Permission] = set()
    reset = _ASKED.set(asked)
    try:
        allowed = rule(door, arguments)
    finally:
        _ASKED.reset(reset)
    if allowed or not isinstance(door.principal, Staff):
        return allowed, []
    return False, sorted(p.value for p in asked)
