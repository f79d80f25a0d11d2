"""The cart aggregate: what a shopper means to buy, before any price is fixed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

import attrs

from commercekit.domain.errors import (
    CurrencyMismatch,
    InvalidInput,
    InvalidQuantity,
    NotFound,
    shown,
)
from commercekit.domain.money import normalize_currency
from commercekit.domain.promotions import normalize_coupon_code
from commercekit.domain.tokens import new_token, token_matches

__all__ = ["DEFAULT_MAX_QUANTITY", "Cart", "CartLine", "check_quantity", "new_token"]

#: A line holds at most this many units unless the store says otherwise.
DEFAULT_MAX_QUANTITY: Final = 999
#: Above this no store setting may go: such a quantity is a typo or an attack.
QUANTITY_CEILING: Final = 1_000_000
MAX_COUPONS: Final = 5
MAX_LINES: Final = 1000
#: No catalogue SKU is longer (see ``commercekit.domain.catalog``); a longer one is
#: refused before the cart stores it.
MAX_SKU_LENGTH: Final = 64


def check_quantity(value: object, *, maximum: int, field: str = "quantity") -> int:
    """Return ``value`` if it is a whole number from 1 to ``maximum``.

    :raises InvalidQuantity: for zero, negative, fractional, non-numeric or too large
        quantities, naming ``field``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"must be a whole number, got {shown(value)}", field=field)
    if value < 1:
        raise InvalidQuantity("must be at least 1", field=field)
    if value > maximum:
        raise InvalidQuantity(f"must be at most {maximum}", field=field)
    return value


@attrs.define(kw_only=True)
class CartLine:
    """A SKU and how many of it."""

    sku: str
    quantity: int


def _cart_id(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a non-empty string", field=attribute.name)


def _max_quantity(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= QUANTITY_CEILING:
        raise InvalidInput(
            f"must be a whole number from 1 to {QUANTITY_CEILING}", field=attribute.name
        )


@attrs.define(kw_only=True, eq=False)
class Cart:
    """Lines by SKU, in one currency fixed at creation, owned through a secret token.

    Quantities are checked on every change; the cart never holds a line of zero.
    Building one with ``lines=`` (as storage does when loading) trusts those lines;
    pricing checks their quantities again.
    """

    id: str = attrs.field(validator=_cart_id, on_setattr=attrs.setters.frozen)
    currency: str = attrs.field(converter=normalize_currency, on_setattr=attrs.setters.frozen)
    token: str = attrs.field(factory=new_token, repr=False, on_setattr=attrs.setters.frozen)
    """The secret that proves ownership; send it to the shopper, never log it."""
    customer_id: str | None = None
    """The application's id for the signed-in shopper; ``None`` for a guest."""
    channel: str | None = attrs.field(default=None, on_setattr=attrs.setters.frozen)
    """The sales channel the cart was opened in (its prices and taxes apply)."""
    max_quantity_per_line: int = attrs.field(default=DEFAULT_MAX_QUANTITY, validator=_max_quantity)
    _lines: dict[str, CartLine] = attrs.field(factory=dict, alias="lines")
    coupon_codes: tuple[str, ...] = ()
    version: int = 0
    """Bumped on every change, for optimistic concurrency in storage."""

    @classmethod
    def open(
        cls,
        *,
        id: str,
        currency: str,
        customer_id: str | None = None,
        channel: str | None = None,
        max_quantity_per_line: int = DEFAULT_MAX_QUANTITY,
        token_factory: Callable[[], str] = new_token,
    ) -> Cart:
        """Start an empty cart with a fresh token."""
        return cls(
            id=id,
            currency=currency,
            token=token_factory(),
            customer_id=customer_id,
            channel=channel,
            max_quantity_per_line=max_quantity_per_line,
        )

    @property
    def lines(self) -> list[CartLine]:
        """The lines, in the order first added."""
        return list(self._lines.values())

    def items(self) -> Iterator[tuple[str, int]]:
        """``(sku, quantity)`` pairs, in the order first added."""
        return ((line.sku, line.quantity) for line in self._lines.values())

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def is_empty(self) -> bool:
        """Whether the cart has no lines."""
        return not self._lines

    def quantity_of(self, sku: str) -> int:
        """Units of ``sku`` in the cart (0 when absent)."""
        line = self._lines.get(sku)
        return 0 if line is None else line.quantity

    def owned_by(self, token: object) -> bool:
        """Whether ``token`` is this cart's token; compared in constant time.

        An empty or missing token never matches.
        """
        return token_matches(self.token, token)

    def _check_sku(self, sku: object) -> str:
        if not isinstance(sku, str) or not sku.strip():
            raise InvalidInput("must be a non-empty SKU", field="sku")
        if len(sku) > MAX_SKU_LENGTH:
            raise InvalidInput(f"a SKU is at most {MAX_SKU_LENGTH} characters", field="sku")
        return sku

    def add(self, sku: str, quantity: int = 1) -> None:
        """Add units of ``sku``, to an existing line if there is one.

        :raises InvalidQuantity: if the quantity, or the line's new total, is out of range.
        """
        sku = self._check_sku(sku)
        check_quantity(quantity, maximum=self.max_quantity_per_line)
        line = self._lines.get(sku)
        if line is None:
            if len(self._lines) >= MAX_LINES:
                raise InvalidInput(f"a cart holds at most {MAX_LINES} lines", field="sku")
            self._lines[sku] = CartLine(sku=sku, quantity=quantity)
        else:
            line.quantity = check_quantity(
                line.quantity + quantity, maximum=self.max_quantity_per_line
            )
        self.version += 1

    def change_quantity(self, sku: str, quantity: int) -> None:
        """Set the quantity of an existing line (use :meth:`remove` to drop it).

        :raises NotFound: if the cart has no line for ``sku``.
        :raises InvalidQuantity: if the quantity is out of range.
        """
        line = self._line(sku)
        line.quantity = check_quantity(quantity, maximum=self.max_quantity_per_line)
        self.version += 1

    def remove(self, sku: str) -> None:
        """Drop the line for ``sku``.

        :raises NotFound: if the cart has no such line.
        """
        self._line(sku)
        del self._lines[sku]
        self.version += 1

    def _line(self, sku: str) -> CartLine:
        try:
            return self._lines[sku]
        except KeyError:
            raise NotFound("cart line for SKU", sku, field="sku") from None

    def apply_coupon(self, code: str) -> str:
        """Hold a coupon code on the cart (normalised); whether it applies is for pricing.

        :returns: the normalised code.
        """
        normal = normalize_coupon_code(code)
        if normal not in self.coupon_codes:
            if len(self.coupon_codes) >= MAX_COUPONS:
                raise InvalidInput(
                    f"a cart holds at most {MAX_COUPONS} coupon codes", field="coupon_code"
                )
            self.coupon_codes = (*self.coupon_codes, normal)
            self.version += 1
        return normal

    def remove_coupon(self, code: str) -> None:
        """Take a coupon code off the cart (nothing happens if it is not there)."""
        normal = normalize_coupon_code(code)
        if normal in self.coupon_codes:
            self.coupon_codes = tuple(c for c in self.coupon_codes if c != normal)
            self.version += 1

    def belong_to(self, customer_id: str) -> None:
        """Give a guest's cart to the customer who signed in with it.

        :raises InvalidInput: for a cart that already belongs to someone else.
        """
        if self.customer_id == customer_id:
            return
        if self.customer_id is not None:
            raise InvalidInput("the cart belongs to another customer", field="customer_id")
        self.customer_id = customer_id
        self.version += 1

    def merge(self, guest: Cart) -> None:
        """Fold a guest's cart into this one, as when a shopper signs in.

        Quantities of the same SKU add up, capped at the line maximum (a sign-in must
        never fail); coupon codes are kept. Lines past :data:`MAX_LINES` and codes past
        :data:`MAX_COUPONS` are dropped for the same reason. The guest cart is emptied, so that the
        same units cannot be merged twice.

        :raises CurrencyMismatch: if the two carts are in different currencies.
        :raises InvalidInput: naming ``guest_token``, for the cart itself (the same
            cart, loaded twice or not): it would double every line.
        """
        if guest is self or guest.id == self.id:
            raise InvalidInput("a cart cannot be merged into itself", field="guest_token")
        if guest.currency != self.currency:
            raise CurrencyMismatch(self.currency, guest.currency, field="currency")
        for sku, quantity in guest.items():
            line = self._lines.get(sku)
            if line is None:
                if len(self._lines) >= MAX_LINES:
                    continue
                self._lines[sku] = CartLine(
                    sku=sku, quantity=min(quantity, self.max_quantity_per_line)
                )
            else:
                line.quantity = min(line.quantity + quantity, self.max_quantity_per_line)
        for code in guest.coupon_codes:
            if code not in self.coupon_codes and len(self.coupon_codes) < MAX_COUPONS:
                self.coupon_codes = (*self.coupon_codes, code)
        guest._lines.clear()
        guest.coupon_codes = ()
        guest.version += 1
        self.version += 1
