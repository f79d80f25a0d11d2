"""Carts as a shopper drives them. A cart is reached only through its token."""

from __future__ import annotations

from collections.abc import Callable

from commercekit.domain.cart import Cart
from commercekit.domain.customers import check_customer_id
from commercekit.domain.errors import (
    InvalidInput,
)
from commercekit.domain.identifiers import check_key, check_whole_number
from commercekit.domain.pricing import (
    PriceBreakdown,
)
from commercekit.domain.promotions import normalize_coupon_code
from commercekit.ports.storage import UnitOfWork
from commercekit.services.abandoned_carts import watch_cart
from commercekit.services.base import (
    Service,
    check_sellable,
    find_cart,
    load_pricing,
    price_cart,
)

__all__ = ["CartService"]


class CartService(Service):
    """Create, fill, price and merge carts."""

    def create(
        self,
        currency: str | None = None,
        *,
        channel: str | None = None,
        customer_id: str | None = None,
    ) -> Cart:
        """Open an empty cart in a sales channel, for a guest or for a signed-in
        customer (the application's id for them); hand ``cart.token`` to the shopper.

        :param currency: one the channel sells in; its default when left out.
        :param channel: the store's default channel when left out.
        :raises UnknownCurrency: for a currency CLDR does not know.
        :raises InvalidInput: for a currency the channel does not sell in, or none
            given where the store has no channels.
        :raises NotFound: for a channel the store does not have.
        """
        found = self._rt.settings.channel(channel)
        if found is not None:
            currency = found.currency_for(currency)
        elif currency is None:
            raise InvalidInput("name the cart's currency", field="currency")
        if customer_id is not None:
            check_customer_id(check_key(customer_id, "customer_id"))
        cart = Cart.open(
            id=self._rt.ids.new_id("cart"),
            currency=currency,
            customer_id=customer_id,
            channel=None if found is None else found.id,
            max_quantity_per_line=self._rt.settings.max_quantity_per_line,
            token_factory=self._rt.ids.new_token,
        )
        self._run(lambda uow: uow.carts.add(cart))
        return cart

    def get(self, token: str) -> Cart:
        """The cart this token opens.

        :raises NotFound: for an unknown, empty or missing token.
        :raises InvalidInput: for a token that cannot be one (too long, say).
        """
        check_key(token, "token")
        return self._read(lambda uow: find_cart(uow, token))

    def add(self, token: str, sku: str, quantity: int = 1) -> Cart:
        """Add units of a SKU that is on sale and priced in the cart's currency.

        :param quantity: a whole number, or its digits as a form sends them (``"2"``).
        :raises UnknownSku, Unavailable, MissingPrice, InvalidQuantity: nothing changes.
        """
        check_key(sku, "sku")
        quantity = check_whole_number(quantity, "quantity")

        def add(uow: UnitOfWork, cart: Cart) -> None:
            cart.add(sku, quantity)
            check_sellable(uow, self._rt, cart, sku, cart.quantity_of(sku), now=self.now)

        return self._change(token, add)

    def change_quantity(self, token: str, sku: str, quantity: int) -> Cart:
        """Set a line's quantity.

        :param quantity: a whole number, or its digits as a form sends them (``"2"``).
        :raises NotFound: if the cart has no such line.
        :raises InvalidQuantity: for a quantity out of range; nothing changes.
        """
        check_key(sku, "sku")
        quantity = check_whole_number(quantity, "quantity")
        return self._change(token, lambda uow, cart: cart.change_quantity(sku, quantity))

    def remove(self, token: str, sku: str) -> Cart:
        """Remove a line."""
        check_key(sku, "sku")
        return self._change(token, lambda uow, cart: cart.remove(sku))

    def _change(self, token: str, change: Callable[[UnitOfWork, Cart], object]) -> Cart:
        check_key(token, "token")

        def work(uow: UnitOfWork) -> Cart:
            cart = find_cart(uow, token)
            change(uow, cart)
            uow.carts.save(cart)
            if cart.customer_id is not None and self._rt.settings.watch_carts:
                # A signed-in customer can be written to: watched for abandonment.
                watch_cart(uow, cart, at=self.now)
            return cart

        return self._run(work)

    def apply_coupon(self, token: str, code: str) -> Cart:
        """Put a coupon code on the cart, if it can be used on it now.

        :raises CouponRejected: saying why (unknown, expired, limit reached...).
        :raises InvalidInput: naming ``coupon_code``, for what cannot be a code.
        """
        normal = normalize_coupon_code(code)

        def apply(uow: UnitOfWork, cart: Cart) -> None:
            engine, context = load_pricing(
                uow,
                cart,
                self._rt,
                now=self.now,
                customer=cart.customer_id,
                extra_codes=[normal],
            )
            engine.check_coupon(cart, normal, context)
            cart.apply_coupon(normal)

        return self._change(token, apply)

    def remove_coupon(self, token: str, code: str) -> Cart:
        """Take a coupon code off the cart.

        :raises InvalidInput: naming ``coupon_code``, for what cannot be a code.
        """
        normal = normalize_coupon_code(code)
        return self._change(token, lambda uow, cart: cart.remove_coupon(normal))

    def price(self, token: str) -> PriceBreakdown:
        """The cart's price breakdown, computed on the server (without shipping or
        an address; the checkout's summary adds those)."""
        check_key(token, "token")

        def work(uow: UnitOfWork) -> PriceBreakdown:
            cart = find_cart(uow, token)
            return price_cart(uow, cart, self._rt, now=self.now, customer=cart.customer_id)

        return self._read(work)

    def sign_in(self, guest_token: str, customer_id: str) -> Cart:
        """The shopper holding ``guest_token`` signed in as ``customer_id``: their
        guest cart is folded into the customer's own cart in the same channel and
        currency (and deleted), or, when they have none, becomes theirs.

        :returns: the cart the customer shops with now.
        :raises InvalidInput: for a guest cart that belongs to another customer.
        """
        check_key(guest_token, "guest_token")
        check_customer_id(check_key(customer_id, "customer_id"))

        def work(uow: UnitOfWork) -> Cart:
            guest = find_cart(uow, guest_token)
            if guest.customer_id is not None and guest.customer_id != customer_id:
                raise InvalidInput("the cart belongs to another customer", field="customer_id")
            theirs = [
                cart
                for cart in uow.carts.for_customer(customer_id)
                if cart.id != guest.id
                and (cart.currency, cart.channel) == (guest.currency, guest.channel)
            ]
            if not theirs:
                guest.belong_to(customer_id)
                uow.carts.save(guest)
                return guest
            mine = theirs[0]
            mine.merge(guest)
            uow.carts.save(mine)
            uow.carts.remove(guest)
            return mine

        return self._run(work)

    def for_customer(self, customer_id: str) -> list[Cart]:
        """The carts a signed-in customer has open."""
        check_customer_id(check_key(customer_id, "customer_id"))
        return self._read(lambda uow: uow.carts.for_customer(customer_id))

    def merge(self, guest_token: str, customer_token: str) -> Cart:
        """Fold a guest's cart into a signed-in customer's, and delete the guest's.

        :raises CurrencyMismatch: for carts in different currencies.
        :raises InvalidInput: naming ``guest_token``, for one cart given twice; nothing
            changes.
        """
        check_key(guest_token, "guest_token")
        check_key(customer_token, "customer_token")

        def work(uow: UnitOfWork) -> Cart:
            guest = find_cart(uow, guest_token)
            mine = find_cart(uow, customer_token)
            mine.merge(guest)
            uow.carts.save(mine)
            uow.carts.remove(guest)
            return mine

        return self._run(work)
