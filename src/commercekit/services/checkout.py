"""Checkout: contact, addresses, shipping and payment method, then the order.

A checkout belongs to a cart and is reached with the cart's token. Everything a
client sends passes through the input models of :mod:`commercekit.services.schemas`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import attrs
import moneyed

from commercekit.domain.cart import Cart
from commercekit.domain.catalog import Product
from commercekit.domain.checkout import (
    Address,
    Checkout,
    ShippingChoice,
    ShippingMethod,
)
from commercekit.domain.credit import CheckoutTenders, Tender, check_quote
from commercekit.domain.customers import canonical_email
from commercekit.domain.errors import (
    CartAlreadyOrdered,
    CheckoutIncomplete,
    CouponRejected,
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientBalance,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PriceChanged,
    RateExpired,
    TooManyUnpaidOrders,
    Unservable,
)
from commercekit.domain.identifiers import check_flag, check_key
from commercekit.domain.inventory import StockLine, StockLocation
from commercekit.domain.money import currency_precision
from commercekit.domain.orders import (
    Order,
    OrderStatus,
    bundle_components,
    line_names,
    order_number,
)
from commercekit.domain.payments import Payment, PaymentStatus
from commercekit.domain.pricing import PriceBreakdown, PricingContext, PricingEngine, TaxAddress
from commercekit.domain.shipping import Rate
from commercekit.ports.storage import UnitOfWork
from commercekit.services.abandoned_carts import watch_cart
from commercekit.services.base import Runtime, Service, find_cart, load_pricing, tax_provider_name
from commercekit.services.credit import (
    PlannedTenders,
    apply_card,
    change_tenders,
    check_amount,
    plan_order_tenders,
    quote_tenders,
    use_credit,
)
from commercekit.services.holds import hold_for_order, keep_until_shipped, unservable_lines
from commercekit.services.payments import PaymentService
from commercekit.services.schemas import (
    AddressIn,
    ContactIn,
    PaymentMethodIn,
    ShippingChoiceIn,
    parse,
)
from commercekit.services.shipping import current_choice, quote
from commercekit.services.snapshot import CatalogSnapshot

__all__ = ["CheckoutService", "CheckoutSummary"]


@attrs.frozen
class _Priced:
    breakdown: PriceBreakdown
    products: list[Product]
    requires_shipping: bool
    tax_address: TaxAddress | None
    locations: tuple[StockLocation, ...]
    shipping: ShippingChoice | None
    """The chosen shipping at its current price (``None`` when none is chosen)."""


@attrs.frozen
class CheckoutSummary:
    """What a checkout page shows: the details so far, the price, what is missing."""

    checkout: Checkout
    breakdown: PriceBreakdown
    missing: tuple[str, ...]
    requires_shipping: bool
    unservable: tuple[str, ...] = ()
    """SKUs no stock location that ships to the address holds, although others do:
    :meth:`CheckoutService.place_order` would refuse the cart with
    :class:`~commercekit.domain.errors.Unservable`."""
    tenders: tuple[Tender, ...] = ()
    """What gift cards and store credit would pay of the total now."""

    @property
    def due_units(self) -> int:
        """What the payment gateway would be asked for: the total less the tenders."""
        return self.breakdown.grand_total_units - sum(t.units for t in self.tenders)


class CheckoutService(Service):
    """Collect what an order needs, then place it."""

    def __init__(self, runtime: Runtime, payments: PaymentService) -> None:
        super().__init__(runtime)
        self._payments = payments

    # --- details -----------------------------------------------------------------------

    def _update(self, token: str, change: Callable[[UnitOfWork, Cart, Checkout], None]) -> Checkout:
        def work(uow: UnitOfWork) -> Checkout:
            cart = find_cart(uow, token)
            checkout = uow.checkouts.find(cart.id) or Checkout(id=cart.id)
            change(uow, cart, checkout)
            checkout.version += 1
            uow.checkouts.save(checkout)
            return checkout

        return self._run(work)

    def set_contact(self, token: str, contact: Mapping[str, Any] | ContactIn) -> Checkout:
        """Set the customer's email.

        :raises InvalidInput: naming the field.
        """
        email = parse(ContactIn, contact, field="contact").email

        def change(uow: UnitOfWork, cart: Cart, checkout: Checkout) -> None:
            checkout.email = email
            if self._rt.settings.watch_carts:
                # The shopper can be written to now: the cart is watched for abandonment,
                # as of the checkout's version this change writes.
                watch_cart(uow, cart, at=self.now, checkout_version=checkout.version + 1)

        return self._update(token, change)

    def set_shipping_address(self, token: str, address: Mapping[str, Any] | AddressIn) -> Checkout:
        """Set where the order goes.

        :raises InvalidInput: naming the field (unknown country, missing region...).
        """
        checked = parse(AddressIn, address, field="address").to_domain()

        def change(uow: UnitOfWork, cart: Cart, checkout: Checkout) -> None:
            checkout.shipping_address = checked

        return self._update(token, change)

    def set_billing_address(
        self, token: str, address: Mapping[str, Any] | AddressIn | None
    ) -> Checkout:
        """Set where to bill; ``None`` bills the shipping address."""
        checked: Address | None = (
            None if address is None else parse(AddressIn, address, field="address").to_domain()
        )

        def change(uow: UnitOfWork, cart: Cart, checkout: Checkout) -> None:
            checkout.billing_address = checked

        return self._update(token, change)

    def shipping_methods(self, token: str) -> list[ShippingMethod]:
        """The shipping methods offered in the cart's currency."""
        cart = self._cart(token)
        return [
            m for m in self._rt.settings.shipping_methods if m.price_in(cart.currency) is not None
        ]

    def _cart(self, token: str) -> Cart:
        return self._read(lambda uow: find_cart(uow, token))

    def choose_shipping(self, token: str, choice: Mapping[str, Any] | ShippingChoiceIn) -> Checkout:
        """Choose a shipping method, at its current price: one of the store's
        configuration, or a stored delivery method (see :meth:`rates`) as it quotes
        this cart to its shipping address.

        :raises InvalidInput: for a method the store does not offer in this currency.
        :raises ShippingUnavailable: for a delivery method that does not serve this
            cart at its shipping address (or no address is set yet).
        """
        method_id = parse(ShippingChoiceIn, choice, field="choice").method_id

        def change(uow: UnitOfWork, cart: Cart, checkout: Checkout) -> None:
            snapshot, engine, context = self._pricing(uow, cart, checkout)
            checkout.shipping = self._choice(method_id, snapshot, engine, context, cart, checkout)

        return self._update(token, change)

    def set_payment_method(
        self, token: str, method: Mapping[str, Any] | PaymentMethodIn
    ) -> Checkout:
        """Choose a configured gateway and give its payment token.

        :raises InvalidInput: for a gateway the store does not use.
        """
        checked = parse(PaymentMethodIn, method, field="method")
        self._rt.gateway(checked.gateway)

        def change(uow: UnitOfWork, cart: Cart, checkout: Checkout) -> None:
            checkout.payment_gateway = checked.gateway
            checkout.payment_token = checked.token

        return self._update(token, change)

    # --- gift cards and store credit ---------------------------------------------------

    def _tenders(
        self, token: str, change: Callable[[UnitOfWork, Cart], CheckoutTenders]
    ) -> CheckoutSummary:
        def work(uow: UnitOfWork) -> None:
            cart = find_cart(uow, token)
            used = not change(uow, cart).empty
            checkout = uow.checkouts.find(cart.id) or Checkout(id=cart.id)
            if checkout.with_tenders != used:
                checkout.with_tenders = used
                checkout.version += 1
                uow.checkouts.save(checkout)

        self._run(work)
        return self.summary(token)

    def apply_gift_card(self, token: str, code: str) -> CheckoutSummary:
        """Pay with a gift card too: cards pay first, in the order applied, each as much
        as it holds; the gateway is asked for what they leave. Nothing is taken from
        the card until the order is placed.

        :raises GiftCardRefused: for a code that opens no card (``unknown``), or a card
            disabled, expired, in another currency or used up.
        """
        check_key(token, "token")
        check_key(code, "code")
        return self._tenders(token, lambda uow, cart: apply_card(uow, cart, code, at=self.now))

    def remove_gift_card(self, token: str, gift_card_id: str) -> CheckoutSummary:
        """Pay without this gift card (by its id, as the summary's tenders name it)."""
        check_key(token, "token")
        check_key(gift_card_id, "gift_card_id")
        return self._tenders(
            token,
            lambda uow, cart: change_tenders(
                uow, cart, lambda choice: choice.remove_card(gift_card_id), at=self.now
            ),
        )

    def use_store_credit(self, token: str, amount: moneyed.Money | None = None) -> CheckoutSummary:
        """Pay with the signed-in customer's store credit: at most ``amount``, or as
        much as the order needs (``None``); it pays after gift cards.

        :raises InvalidInput: naming ``token`` for a guest's cart, or ``amount``.
        :raises InsufficientBalance: naming ``store_credit``, for less credit than
            ``amount`` (or none).
        """
        check_key(token, "token")
        checked = None if amount is None else check_amount(amount)

        def change(uow: UnitOfWork, cart: Cart) -> CheckoutTenders:
            if checked is not None and checked[0] != cart.currency:
                raise CurrencyMismatch(cart.currency, checked[0], field="amount")
            return use_credit(uow, cart, None if checked is None else checked[1], at=self.now)

        return self._tenders(token, change)

    def remove_store_credit(self, token: str) -> CheckoutSummary:
        """Pay without store credit."""
        check_key(token, "token")
        return self._tenders(
            token,
            lambda uow, cart: change_tenders(
                uow, cart, CheckoutTenders.stop_store_credit, at=self.now
            ),
        )

    # --- price and completeness -----------------------------------------------------------

    def _coupon_customer(self, cart: Cart, checkout: Checkout) -> str | None:
        """Who a coupon's limit per customer counts: the signed-in customer, or a guest
        by the one spelling of their email."""
        if cart.customer_id is not None:
            return cart.customer_id
        return self._email_key(checkout)

    def _email_key(self, checkout: Checkout) -> str | None:
        """The checkout's email as one spelling, as this store reads addresses."""
        if not checkout.email:
            return None
        return canonical_email(checkout.email, subaddressing=self._rt.settings.email_subaddressing)

    def _pricing(
        self, uow: UnitOfWork, cart: Cart, checkout: Checkout
    ) -> tuple[CatalogSnapshot, PricingEngine, PricingContext]:
        """The store's catalogue snapshot, and a pricing engine and context for the
        cart with no shipping chosen yet."""
        snapshot = self._rt.catalog.get(uow)
        engine, context = load_pricing(
            uow,
            cart,
            self._rt,
            snapshot=snapshot,
            now=self.now,
            customer=self._coupon_customer(cart, checkout),
        )
        return snapshot, engine, context

    def _price(self, uow: UnitOfWork, cart: Cart, checkout: Checkout) -> _Priced:
        snapshot, engine, context = self._pricing(uow, cart, checkout)
        # The catalogue is the store's shared one: the cart's products, each once.
        catalog = engine.catalog
        owners = dict.fromkeys(catalog.variant(sku).product_id for sku, _ in cart.items())
        products = [catalog.product(product_id) for product_id in owners]
        ships = any(
            v.requires_shipping for p in products for v in p.variants if cart.quantity_of(v.sku)
        )
        # Goods that ship are taxed where they go; what does not ship (a download, a
        # gift card) is taxed where the buyer is billed, whatever address is given.
        source = (checkout.shipping_address or checkout.billing) if ships else checkout.billing
        if source is not None:
            context = attrs.evolve(context, address=source.for_tax())
        tax_address = context.address or engine.tax_settings.default_address
        # The shipping price is the store's current one, never the one saved earlier:
        # what the customer was shown is checked against the total instead.
        shipping = None
        if checkout.shipping is not None:
            shipping = self._choice(
                checkout.shipping.method_id, snapshot, engine, context, cart, checkout
            )
            context = attrs.evolve(context, shipping=shipping.price)
        return _Priced(
            engine.price(cart, context), products, ships, tax_address, snapshot.locations, shipping
        )

    def _choice(
        self,
        method_id: str,
        snapshot: CatalogSnapshot,
        engine: PricingEngine,
        context: PricingContext,
        cart: Cart,
        checkout: Checkout,
    ) -> ShippingChoice:
        return current_choice(
            method_id,
            self._rt.settings.shipping_methods,
            snapshot,
            engine,
            context,
            cart,
            checkout.shipping_address,
            now=self.now,
            carriers=self._rt.carriers,
        )

    def rates(self, token: str) -> list[Rate]:
        """The delivery methods stored in the store that serve this cart at its
        shipping address, each at its price and with its delivery estimate, cheapest
        first (none until a shipping address is set). A rate holds for
        :data:`~commercekit.domain.shipping.RATE_VALID_FOR`; the order is priced
        again when placed.
        """
        check_key(token, "token")

        def work(uow: UnitOfWork) -> list[Rate]:
            cart = find_cart(uow, token)
            checkout = uow.checkouts.find(cart.id) or Checkout(id=cart.id)
            snapshot, engine, context = self._pricing(uow, cart, checkout)
            return quote(
                snapshot.delivery_methods,
                snapshot,
                engine,
                context,
                cart,
                checkout.shipping_address,
                now=self.now,
                carriers=self._rt.carriers,
            )

        return self._read(work)

    def _unservable(
        self, uow: UnitOfWork, cart: Cart, priced: _Priced, address: Address | None
    ) -> tuple[str, ...]:
        if address is None or cart.is_empty:
            return ()
        variants = {v.sku: v for p in priced.products for v in p.variants}
        lines = [
            StockLine(sku, quantity, variants[sku].track_stock and not variants[sku].digital)
            for sku, quantity in cart.items()
            if sku in variants
        ]
        return unservable_lines(
            uow,
            lines,
            now=self.now,
            locations=priced.locations,
            country=address.country,
            strategy=self._rt.settings.allocation,
            components=bundle_components(priced.products),
        )

    def summary(self, token: str) -> CheckoutSummary:
        """Price the checkout on the server and say what is still missing.

        The total shown here is remembered: an order at another total is refused with
        :class:`PriceChanged` unless the caller accepts the new price.
        """

        def work(uow: UnitOfWork) -> CheckoutSummary:
            cart = find_cart(uow, token)
            checkout = uow.checkouts.find(cart.id) or Checkout(id=cart.id)
            priced = self._price(uow, cart, checkout)
            breakdown, requires_shipping = priced.breakdown, priced.requires_shipping
            if checkout.quoted_total_units != breakdown.grand_total_units:
                checkout.quoted_total_units = breakdown.grand_total_units
                checkout.version += 1
                uow.checkouts.save(checkout)
            total = breakdown.grand_total_units
            tenders = quote_tenders(uow, cart, total, at=self.now) if checkout.with_tenders else ()
            missing = checkout.missing(
                requires_shipping=requires_shipping,
                # Without gift cards or store credit a means of payment is always
                # asked for; with them, only for what they leave to pay.
                requires_payment=not tenders or total > sum(t.units for t in tenders),
            )
            if cart.is_empty:
                missing.insert(0, "cart")
            address = checkout.shipping_address if requires_shipping else None
            unservable = self._unservable(uow, cart, priced, address)
            return CheckoutSummary(
                checkout, breakdown, tuple(missing), requires_shipping, unservable, tenders
            )

        return self._run(work)

    # --- the order ---------------------------------------------------------------------

    def place_order(
        self, token: str, *, idempotency_key: str, accept_price_change: bool = False
    ) -> Order:
        """Turn the checkout into an order and pay for it.

        The cart is priced again on the server. The order is written awaiting payment,
        then the gateway is called outside any transaction, then the outcome is
        settled: the order opens (paid), waits (the customer must act; see
        :meth:`PaymentService.confirm`), or is cancelled with what it held released
        (declined; the order's history says why).

        The same ``idempotency_key`` again returns the same order and never charges
        twice, even when both calls run at once; a retry after a gateway error picks
        up where the first call stopped.

        :raises IdempotencyConflict: the key was used for another request.
        :raises CheckoutIncomplete: listing what is missing.
        :raises PriceChanged: the total is not the one last shown.
        :raises InsufficientStock: the stock cannot cover the cart; nothing is written.
        :raises Unservable: the stock is there, but no location that ships to the
            address holds it (the summary names the SKUs first); nothing is written.
        :raises CouponRejected: a coupon's last use went to another order meanwhile.
        :raises GatewayError: the gateway's answer is unknown; retry with the same key.
        """
        check_key(token, "token")
        if not check_key(idempotency_key, "idempotency_key").strip():
            raise InvalidInput("must be 1 to 255 characters", field="idempotency_key")
        check_flag(accept_price_change, "accept_price_change")
        fingerprint = hashlib.sha256(
            json.dumps(
                {
                    "cart": hashlib.sha256(str(token).encode()).hexdigest(),
                    "accept": accept_price_change,
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()

        # This call's own name: it holds the authorization of an order it writes, so
        # that callers racing it with the same key wait for its outcome.
        holder = self._rt.ids.new_id("call")
        retention = timedelta(seconds=self._rt.settings.idempotency_retention_seconds)

        def write(uow: UnitOfWork) -> tuple[Order, Payment, str]:
            existing = uow.orders.find_by_idempotency_key(idempotency_key)
            if existing is not None and not existing.answers_key(now=self.now, retention=retention):
                existing.retire_key()
                uow.orders.save(existing)
                existing = None
            if existing is None:
                try:
                    return self._write_order(
                        uow, token, idempotency_key, fingerprint, accept_price_change, holder
                    )
                except (CartAlreadyOrdered, InsufficientBalance, NotFound):
                    # The cart's order may be this very request's, written by a caller
                    # with the same key since this one looked (it may have spent the
                    # cart's gift card, or been paid by it and taken the cart).
                    existing = uow.orders.find_by_idempotency_key(idempotency_key)
                    if existing is None:
                        raise
            if existing.fingerprint != fingerprint:
                raise IdempotencyConflict(idempotency_key)
            payment = uow.payments.for_order(existing.id)
            checkout = uow.checkouts.find(existing.cart_id)
            if payment is None:
                raise NotFound("payment for order", existing.id)
            return existing, payment, (checkout.payment_token if checkout else "") or ""

        # A hold refused as the order is written was planned from a snapshot that
        # another order overtook: plan again on fresh stock (which may route to
        # another location or to a backorder). Stock that is truly gone fails in
        # planning.
        order, payment, payment_token = self._run(
            write, attempts=self._rt.settings.placement_retries, lost_races=(InsufficientStock,)
        )
        if (
            order.status is not OrderStatus.PENDING_PAYMENT
            or payment.status is not PaymentStatus.PENDING
        ):
            return order
        if payment.amount_units == 0:
            return self._settle_free(order.id)
        # The call that wrote the order holds its authorization already.
        asking = payment.authorizing
        held = payment if asking is not None and asking.holder == holder else None
        return self._payments.authorize(order, payment_token, held=held)

    def _write_order(
        self,
        uow: UnitOfWork,
        token: str,
        idempotency_key: str,
        fingerprint: str,
        accept_price_change: bool,
        holder: str,
    ) -> tuple[Order, Payment, str]:
        cart = find_cart(uow, token)
        checkout = uow.checkouts.find(cart.id) or Checkout(id=cart.id)
        if cart.is_empty:
            raise CheckoutIncomplete(["cart"])
        priced = self._price(uow, cart, checkout)
        breakdown, products = priced.breakdown, priced.products
        names = line_names(products)
        requires_shipping = priced.requires_shipping
        # With gift cards or store credit, whether a means of payment is needed is
        # known once they are weighed (below).
        missing = checkout.missing(
            requires_shipping=requires_shipping, requires_payment=not checkout.with_tenders
        )
        if missing:
            raise CheckoutIncomplete(missing)
        if requires_shipping and checkout.shipping and checkout.shipping.expired(self.now):
            raise RateExpired(checkout.shipping.method_id)
        live = uow.orders.live_for_cart(cart.id)
        if live is not None:
            raise CartAlreadyOrdered(live.id)
        cap = self._rt.settings.max_unpaid_orders
        if cap is not None:
            unpaid = uow.orders.unpaid_count(
                customer_id=cart.customer_id, email_key=self._email_key(checkout)
            )
            if unpaid >= cap:
                raise TooManyUnpaidOrders(cap)
        # Gift cards and store credit pay first; the gateway is asked for the rest.
        planned = (
            plan_order_tenders(uow, cart, breakdown.grand_total_units, at=self.now)
            if checkout.with_tenders
            else PlannedTenders()
        )
        due = breakdown.grand_total_units - planned.units
        if due and "payment_method" in checkout.missing(requires_shipping=False):
            raise CheckoutIncomplete(["payment_method"])
        gateway = (
            self._rt.gateway(str(checkout.payment_gateway)).name
            if due
            else checkout.payment_gateway or ""
        )
        for code, reason in breakdown.rejected_coupons:
            # A coupon that can no longer be used at all (its last use went to another
            # order meanwhile, say) is named, rather than showing as a price change.
            if reason in ("limit_reached", "expired", "unknown"):
                raise CouponRejected(code, reason)
        quoted = checkout.quoted_total_units
        if quoted is not None and quoted != breakdown.grand_total_units and not accept_price_change:
            raise PriceChanged(
                quoted,
                breakdown.grand_total_units,
                breakdown.currency,
                places=currency_precision(breakdown.currency),
            )
        check_quote(
            planned.choice,
            planned.tenders,
            breakdown.grand_total_units,
            breakdown.currency,
            quoted_total_units=quoted,
        )
        now = self.now
        order = Order.place(
            id=self._rt.ids.new_id("order"),
            token=self._rt.ids.new_token(),
            cart_id=cart.id,
            customer_id=cart.customer_id,
            channel=cart.channel,
            # Drawn, not counted: orders placed at once share no counter. A number
            # drawn twice fails the unique index on commit, and the retry draws again.
            number=order_number(cart.channel, self._rt.ids.new_token()),
            email=str(checkout.email),
            email_key=self._email_key(checkout),
            breakdown=breakdown,
            names=names,
            shipping_address=checkout.shipping_address if requires_shipping else None,
            billing_address=checkout.billing,
            shipping=priced.shipping if requires_shipping else None,
            coupon_codes=cart.coupon_codes,
            tax_address=priced.tax_address,
            tax_provider=tax_provider_name(self._rt),
            payment_gateway=gateway,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            at=now,
        )
        if planned.tenders:
            order.pay_with(planned.tenders, at=now, actor="customer")
            planned.spend(uow, reference=order.id, at=now, actor="customer")
        payment = Payment(
            id=self._rt.ids.new_id("payment"),
            order_id=order.id,
            gateway=gateway,
            currency=order.currency,
            amount_units=order.due_units,
        )
        rejected = {code for code, _ in breakdown.rejected_coupons}
        customer = self._coupon_customer(cart, checkout)
        for coupon in uow.catalog.coupons(cart.coupon_codes):
            if coupon.code not in rejected and coupon.promotion_id in breakdown.applied_promotions:
                uow.catalog.record_coupon_use(coupon.code, customer, order.id)
        # Stock is reserved in the order's own transaction, before any payment is
        # asked for: "paid but not allocated" cannot happen.
        address = checkout.shipping_address if requires_shipping else None
        try:
            hold_for_order(
                uow,
                order,
                now=now,
                hold=timedelta(seconds=self._rt.settings.reservation_hold_seconds),
                new_id=lambda: self._rt.ids.new_id("reservation"),
                locations=priced.locations,
                country=None if address is None else address.country,
                strategy=self._rt.settings.allocation,
                components=bundle_components(products),
            )
        except InsufficientStock:
            # Stock there, in the wrong place, is said as such.
            unservable = self._unservable(uow, cart, priced, address)
            if unservable and address is not None:
                raise Unservable(unservable, address.country) from None
            raise
        if planned.tenders and not order.due_units:
            # Paid in full by its tenders: it opens in the unit of work that took them,
            # so no order waits for a payment no gateway will ever be asked for.
            order.settle_free(at=now, actor="system")
            keep_until_shipped(uow, order)
            uow.carts.discard(cart.id)
        if payment.amount_units:
            lease = timedelta(seconds=self._rt.settings.request_lease_seconds)
            payment.ask_authorization(at=now, holder=holder, lease=lease)
        uow.orders.add(order)
        uow.payments.add(payment)
        return order, payment, str(checkout.payment_token)

    def _settle_free(self, order_id: str) -> Order:
        def work(uow: UnitOfWork) -> Order:
            order = uow.orders.get(order_id)
            order.settle_free(at=self.now, actor="system")
            keep_until_shipped(uow, order)
            uow.orders.save(order)
            uow.carts.discard(order.cart_id)
            return order

        return self._run(work)
