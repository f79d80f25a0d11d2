"""Carts and checkouts: their mappings and repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._driver import Prepared
from commercekit.adapters.storage.sql.mapping import AggregateMapping, Part, Row
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.cart import Cart, CartLine
from commercekit.domain.checkout import Address, Checkout, ShippingChoice
from commercekit.domain.errors import NotFound

__all__ = [
    "CARTS",
    "CHECKOUTS",
    "SqlCartRepository",
    "SqlCheckoutRepository",
    "address_column",
    "shipping_column",
    "to_address",
    "to_shipping",
]


def address_column(value: Address | None) -> codec.Json | None:
    """An address as its JSON column holds it."""
    return None if value is None else codec.encode_address(value)


def to_address(value: Any) -> Address | None:
    """The address a JSON column holds."""
    return None if value is None else codec.decode_address(value)


def shipping_column(value: ShippingChoice | None) -> codec.Json | None:
    """A shipping choice as its JSON column holds it."""
    return None if value is None else codec.encode_shipping_choice(value)


def to_shipping(value: Any) -> ShippingChoice | None:
    """The shipping choice a JSON column holds."""
    return None if value is None else codec.decode_shipping_choice(value)


def _cart_row(cart: Cart) -> dict[str, Any]:
    return {
        "id": cart.id,
        "token": cart.token,
        "currency": cart.currency,
        "customer_id": cart.customer_id,
        "channel": cart.channel,
        "max_quantity_per_line": cart.max_quantity_per_line,
        "coupon_codes": list(cart.coupon_codes),
        "version": cart.version,
    }


def _cart_lines(cart: Cart, start: int) -> list[dict[str, Any]]:
    return [
        {"cart_id": cart.id, "sku": sku, "position": position, "quantity": quantity}
        for position, (sku, quantity) in enumerate(cart.items())
    ]


def _cart(row: Row, parts: Sequence[Sequence[Row]]) -> Cart:
    (lines,) = parts
    return Cart(
        id=row["id"],
        currency=row["currency"],
        token=row["token"],
        customer_id=row["customer_id"],
        channel=row["channel"],
        max_quantity_per_line=row["max_quantity_per_line"],
        lines={line["sku"]: CartLine(sku=line["sku"], quantity=line["quantity"]) for line in lines},
        coupon_codes=tuple(row["coupon_codes"]),
        version=row["version"],
    )


CARTS: Final = AggregateMapping(
    kind="cart",
    cls=Cart,
    root=t.carts,
    row=_cart_row,
    parts=(Part(table=t.cart_lines, parent="cart_id", rows=_cart_lines),),
    build=_cart,
)


def _checkout_row(checkout: Checkout) -> dict[str, Any]:
    return {
        "id": checkout.id,
        "email": checkout.email,
        "shipping_address": address_column(checkout.shipping_address),
        "billing_address": address_column(checkout.billing_address),
        "shipping": shipping_column(checkout.shipping),
        "payment_gateway": checkout.payment_gateway,
        "payment_token": checkout.payment_token,
        "quoted_total_units": checkout.quoted_total_units,
        "with_tenders": checkout.with_tenders,
        "version": checkout.version,
    }


def _checkout(row: Row, parts: Sequence[Sequence[Row]]) -> Checkout:
    return Checkout(
        id=row["id"],
        email=row["email"],
        shipping_address=to_address(row["shipping_address"]),
        billing_address=to_address(row["billing_address"]),
        shipping=to_shipping(row["shipping"]),
        payment_gateway=row["payment_gateway"],
        payment_token=row["payment_token"],
        quoted_total_units=row["quoted_total_units"],
        with_tenders=row["with_tenders"],
        version=row["version"],
    )


CHECKOUTS: Final = AggregateMapping(
    kind="checkout",
    cls=Checkout,
    root=t.checkouts,
    row=_checkout_row,
    build=_checkout,
    # A checkout is saved without being found first when it is new; one saved
    # blindly over a stored one replaces it, as in the memory storage.
    replace_unseen=True,
)


@final
class SqlCartRepository:
    """Carts: a row in ``carts`` and one per line in ``cart_lines`` (two statements
    to load a cart, however many lines it has)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, cart_id: str) -> Cart:
        """:raises NotFound: for an unknown id."""
        found = self._session.get(CARTS, cart_id)
        if found is None:
            raise NotFound("cart", cart_id, field="cart_id")
        return found

    def find_by_token(self, token: str) -> Cart | None:
        """The cart whose token this is; an empty token finds nothing."""
        if not token:
            return None
        found = self._session.load(CARTS, _BY_TOKEN, params={"token": token})
        return found[0] if found else None

    def for_customer(self, customer_id: str) -> list[Cart]:
        """The customer's carts, by id."""
        return self._session.load(CARTS, t.carts.c.customer_id == customer_id)

    def add(self, cart: Cart) -> None:
        """Stage a new cart; a taken id or token is a conflict on commit."""
        self._session.stage(CARTS, cart)

    def save(self, cart: Cart) -> None:
        """Stage a changed cart (nothing is written if its version did not change)."""
        self._session.stage(CARTS, cart)

    def remove(self, cart: Cart) -> None:
        """Stage the deletion of a cart, with its lines."""
        self._session.stage_removal(CARTS, cart)

    def discard(self, cart_id: str) -> None:
        """Stage deleting the cart with this id and its lines (by cascade): one
        statement, no read."""
        self._session.queue(lambda connection: _discard(connection, cart_id))


def _discard(connection: Connection, cart_id: str) -> None:
    _DISCARD.run(connection, {"cart_id": cart_id})


_BY_TOKEN: Final = t.carts.c.token == sa.bindparam("token")
_DISCARD: Final = Prepared(t.carts.delete().where(t.carts.c.id == sa.bindparam("cart_id")))


@final
class SqlCheckoutRepository:
    """Checkouts, one row each; addresses and shipping as JSON."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, checkout_id: str) -> Checkout | None:
        """The checkout with this id, if one was started."""
        return self._session.get(CHECKOUTS, checkout_id)

    def save(self, checkout: Checkout) -> None:
        """Stage a new or changed checkout."""
        self._session.stage(CHECKOUTS, checkout)
