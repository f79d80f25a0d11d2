"""The order aggregate: lines frozen at the price paid, and three separate states.

- ``status``: pending payment, open, cancelled, completed;
- ``payment_status``: unpaid, authorized, partially captured, captured, partially
  refunded, refunded, voided (mirrors the payment's ledger);
- ``fulfilment_status``: unfulfilled, partially shipped, shipped, partially
  delivered, delivered: derived from its shipments (:meth:`Order.follow_shipments`).

Every change is checked here and lands in the order's history with its time and its
actor; an illegal one raises :class:`InvalidTransition`.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

import attrs

from commercekit.domain._validators import ACTOR, text
from commercekit.domain.catalog import Product
from commercekit.domain.checkout import Address, ShippingChoice
from commercekit.domain.credit import Tender, TenderKind
from commercekit.domain.customers import canonical_email
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import (
    DomainEvent,
    NeedsAttention,
    OrderCancelled,
    OrderPaid,
    OrderPlaced,
    with_note,
)
from commercekit.domain.identifiers import check_text
from commercekit.domain.money import Money, from_minor_units
from commercekit.domain.payments import Payment, PaymentStatus
from commercekit.domain.pricing import PriceBreakdown, TaxAddress
from commercekit.domain.tokens import token_matches

__all__ = [
    "FulfilmentStatus",
    "HistoryEntry",
    "Order",
    "OrderLine",
    "OrderPaymentStatus",
    "OrderStatus",
    "OrderTotals",
    "bundle_components",
    "line_names",
    "order_number",
]


class OrderStatus(enum.Enum):
    """The order's life as a whole."""

    PENDING_PAYMENT = "pending_payment"
    OPEN = "open"
    CANCELLING = "cancelling"
    """Cancelled and giving its money back: nothing ships, nothing more is taken."""
    CANCELLED = "cancelled"
    COMPLETED = "completed"

    @property
    def ended(self) -> bool:
        """Whether nothing more happens to the order: it may hold no stock nor money."""
        return self in (OrderStatus.CANCELLED, OrderStatus.COMPLETED)


class OrderPaymentStatus(enum.Enum):
    """How far the order has been paid (and paid back)."""

    UNPAID = "unpaid"
    AUTHORIZED = "authorized"
    PARTIALLY_CAPTURED = "partially_captured"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"


class FulfilmentStatus(enum.Enum):
    """How far the order's goods have gone: derived from its shipments."""

    UNFULFILLED = "unfulfilled"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    """Every unit has left; none has arrived yet."""
    PARTIALLY_DELIVERED = "partially_delivered"
    DELIVERED = "delivered"

    @property
    def all_shipped(self) -> bool:
        """Whether every unit of the order has left."""
        return self in (
            FulfilmentStatus.SHIPPED,
            FulfilmentStatus.PARTIALLY_DELIVERED,
            FulfilmentStatus.DELIVERED,
        )


#: The characters of an order number's code: digits and capitals, without those
#: that are read as one another (0 and O; 1, I and L), so that a number read out on
#: the phone or typed from a printed slip is the number meant.
NUMBER_ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: 31**8 codes (about 8.5 * 10**11) per channel: two orders of a store drawing the
#: same one is rare, and the unique index makes the second draw again.
NUMBER_LENGTH: Final = 8


def order_number(channel: str | None, seed: str) -> str:
    """The number a customer knows an order by: its channel's id in capitals (``ORD``
    without a channel), a dash, and a code of :data:`NUMBER_LENGTH` characters of
    :data:`NUMBER_ALPHABET` drawn from ``seed`` (``WEB-4K7Q2M9X``).

    Drawn rather than counted, so that orders placed at once never wait on one
    shared counter; the same seed always gives the same number.
    """
    prefix = channel.upper() if channel else "ORD"
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    value = int.from_bytes(digest[:8], "big")
    code = []
    for _ in range(NUMBER_LENGTH):
        value, digit = divmod(value, len(NUMBER_ALPHABET))
        code.append(NUMBER_ALPHABET[digit])
    return f"{prefix}-{''.join(code)}"


def _number_from_id(order: Order) -> str:
    return order_number(order.channel, order.id)


_P = OrderPaymentStatus
#: Which payment status may follow which. A status may always stay as it is.
PAYMENT_TRANSITIONS: Final[Mapping[OrderPaymentStatus, frozenset[OrderPaymentStatus]]] = {
    # VOIDED: an authorization too small to pay for the order is released at once.
    _P.UNPAID: frozenset({_P.AUTHORIZED, _P.CAPTURED, _P.PARTIALLY_CAPTURED, _P.VOIDED}),
    _P.AUTHORIZED: frozenset({_P.PARTIALLY_CAPTURED, _P.CAPTURED, _P.VOIDED}),
    _P.PARTIALLY_CAPTURED: frozenset({_P.CAPTURED, _P.PARTIALLY_REFUNDED, _P.REFUNDED}),
    _P.CAPTURED: frozenset({_P.PARTIALLY_REFUNDED, _P.REFUNDED}),
    _P.PARTIALLY_REFUNDED: frozenset({_P.REFUNDED}),
    # A later capture of what was still authorized leaves part of the money kept.
    _P.REFUNDED: frozenset({_P.PARTIALLY_REFUNDED}),
    # A capture the gateway made before the void reached it: the gateway's word is
    # the ledger's, and a cancelled order holding money is given it back.
    _P.VOIDED: frozenset({_P.PARTIALLY_CAPTURED, _P.CAPTURED}),
}

_FROM_PAYMENT: Final[Mapping[PaymentStatus, OrderPaymentStatus]] = {
    PaymentStatus.PENDING: _P.UNPAID,
    PaymentStatus.REQUIRES_ACTION: _P.UNPAID,
    PaymentStatus.FAILED: _P.UNPAID,
    PaymentStatus.AUTHORIZED: _P.AUTHORIZED,
    PaymentStatus.PARTIALLY_CAPTURED: _P.PARTIALLY_CAPTURED,
    PaymentStatus.CAPTURED: _P.CAPTURED,
    PaymentStatus.PARTIALLY_REFUNDED: _P.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED: _P.REFUNDED,
    PaymentStatus.VOIDED: _P.VOIDED,
}


@attrs.frozen(kw_only=True)
class OrderLine:
    """A line as bought: every figure frozen at the price paid, in minor units."""

    sku: str
    product_id: str
    name: str
    quantity: int
    unit_price_units: int
    subtotal_units: int
    discount_units: int
    tax_units: int
    total_units: int
    requires_shipping: bool = True
    track_stock: bool = True
    adjustments: tuple[tuple[str, int], ...] = ()
    """``(promotion id, minor units)`` per discount."""
    taxes: tuple[tuple[str, str, int], ...] = ()
    """``(name, rate, minor units)`` per tax; the rate as a decimal string."""


@attrs.frozen(kw_only=True)
class OrderTotals:
    """The order's totals in minor units, frozen at placement."""

    subtotal_units: int
    discount_units: int
    shipping_units: int
    shipping_discount_units: int
    shipping_tax_units: int
    tax_units: int
    grand_total_units: int
    prices_include_tax: bool


@attrs.frozen(kw_only=True)
class HistoryEntry:
    """One change of the order: when, by whom, what."""

    at: datetime
    actor: str = attrs.field(validator=ACTOR)
    action: str = attrs.field(validator=text(64))
    detail: str = attrs.field(default="", validator=text(2000, blank=True))
    """Why, in words (a cancellation's reason, a refusal's): at most 2,000 characters."""


def line_names(products: Iterable[Product]) -> dict[str, tuple[str, str, bool, bool]]:
    """Per SKU of these products: ``(product id, display name, requires shipping,
    tracks stock)``, as :meth:`Order.place` freezes a line."""
    names: dict[str, tuple[str, str, bool, bool]] = {}
    for product in products:
        for variant in product.variants:
            options = ", ".join(variant.options.values())
            name = f"{product.name} ({options})" if options else product.name
            tracked = variant.track_stock and not variant.digital
            names[variant.sku] = (product.id, name, variant.requires_shipping, tracked)
    return names


def bundle_components(products: Iterable[Product]) -> dict[str, Mapping[str, int]]:
    """The bundles among these products' variants, with their components."""
    return {v.sku: v.components for p in products for v in p.variants if v.components}


def _frozen(
    breakdown: PriceBreakdown, names: Mapping[str, tuple[str, str, bool, bool]]
) -> tuple[tuple[OrderLine, ...], OrderTotals]:
    """The lines and totals of a priced cart, frozen at the price paid."""
    lines = tuple(
        OrderLine(
            sku=line.sku,
            product_id=names[line.sku][0],
            name=names[line.sku][1],
            quantity=line.quantity,
            unit_price_units=line.unit_units,
            subtotal_units=line.subtotal_units,
            discount_units=line.discount_units,
            tax_units=line.tax_units,
            total_units=line.total_units,
            requires_shipping=names[line.sku][2],
            track_stock=names[line.sku][3],
            adjustments=tuple((a.promotion_id, a.units) for a in line.adjustments),
            taxes=tuple((t.name, str(t.rate), t.units) for t in line.taxes),
        )
        for line in breakdown.lines
    )
    totals = OrderTotals(
        subtotal_units=breakdown.subtotal_units,
        discount_units=breakdown.discount_units,
        shipping_units=breakdown.shipping_units,
        shipping_discount_units=breakdown.shipping_discount_units,
        shipping_tax_units=breakdown.shipping_tax_units,
        tax_units=breakdown.tax_units,
        grand_total_units=breakdown.grand_total_units,
        prices_include_tax=breakdown.prices_include_tax,
    )
    return lines, totals


@attrs.define(kw_only=True, eq=False)
class Order:
    """A placed order."""

    id: str
    token: str = attrs.field(repr=False)
    """The unguessable token by which the customer reaches the order."""
    cart_id: str
    customer_id: str | None = None
    channel: str | None = None
    number: str = attrs.field(default=attrs.Factory(_number_from_id, takes_self=True))
    """What the customer knows it by (``WEB-4K7Q2M9X``, see :func:`order_number`),
    unique in the store; drawn at placement, or derived from the id when not given."""
    email: str
    email_key: str = ""
    """The email as one spelling (:func:`canonical_email`): how a guest is told apart."""
    currency: str
    lines: tuple[OrderLine, ...]
    totals: OrderTotals
    shipping_address: Address | None = None
    billing_address: Address | None = None
    shipping: ShippingChoice | None = None
    coupon_codes: tuple[str, ...] = ()
    promotion_ids: tuple[str, ...] = ()
    tenders: tuple[Tender, ...] = ()
    """What gift cards and store credit paid of it (taken as it was placed); the
    payment is for the rest (:attr:`due_units`)."""
    payment_gateway: str
    idempotency_key: str
    fingerprint: str
    """A digest of the request that placed the order, to tell a retry from a conflict."""
    placed_at: datetime
    status: OrderStatus = OrderStatus.PENDING_PAYMENT
    payment_status: OrderPaymentStatus = OrderPaymentStatus.UNPAID
    fulfilment_status: FulfilmentStatus = FulfilmentStatus.UNFULFILLED
    fulfilled: Mapping[str, int] = attrs.field(factory=dict)
    """Units shipped per SKU (by its dispatched shipments)."""
    shipped: bool = False
    """Whether any of its goods left the shelf (a shipment was dispatched): it can no
    longer be cancelled, only returned."""
    payment_capturable_units: int = 0
    """What its payment has authorized and not captured (an authorization standing)."""
    payment_refundable_units: int = 0
    """What its payment has captured and not refunded."""
    tax_address: TaxAddress | None = None
    """The address its tax was reckoned at."""
    tax_provider: str = ""
    """The tax provider that said what its lines pay (``zones``: the store's own);
    the rates are on each line."""
    attention: str = ""
    """What staff must look at (a sweep could not settle it, money not given back)."""
    history: list[HistoryEntry] = attrs.field(factory=list)
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @classmethod
    def place(
        cls,
        *,
        id: str,
        token: str,
        cart_id: str,
        customer_id: str | None,
        email: str,
        email_key: str | None = None,
        breakdown: PriceBreakdown,
        channel: str | None = None,
        number: str | None = None,
        tax_address: TaxAddress | None = None,
        tax_provider: str = "",
        names: Mapping[str, tuple[str, str, bool, bool]],
        shipping_address: Address | None,
        billing_address: Address | None,
        shipping: ShippingChoice | None,
        coupon_codes: Sequence[str],
        payment_gateway: str,
        idempotency_key: str,
        fingerprint: str,
        at: datetime,
        actor: str = "customer",
    ) -> Order:
        """Freeze a priced cart into an order awaiting payment.

        :param names: per SKU, ``(product id, display name, requires shipping,
            tracks stock)``.
        :param email_key: the email as one spelling, as the store reads addresses
            (``canonical_email`` with sub-addressing folded, if not given).
        :param number: its order number (see :func:`order_number`); derived from
            ``id`` if not given.
        """
        if not breakdown.lines:
            raise InvalidInput("an order needs at least one line", field="cart")
        lines, totals = _frozen(breakdown, names)
        order = cls(
            id=id,
            token=token,
            cart_id=cart_id,
            customer_id=customer_id,
            channel=channel,
            tax_address=tax_address,
            tax_provider=tax_provider,
            email=email,
            email_key=canonical_email(email) if email_key is None else email_key,
            currency=breakdown.currency,
            lines=lines,
            totals=totals,
            shipping_address=shipping_address,
            billing_address=billing_address,
            shipping=shipping,
            coupon_codes=tuple(coupon_codes),
            promotion_ids=breakdown.applied_promotions,
            payment_gateway=payment_gateway,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            placed_at=at,
        )
        if number is not None:
            order.number = number
        order._log(at, actor, "placed", f"total {order.grand_total.amount} {order.currency}")
        order.events.append(
            OrderPlaced(
                occurred_at=at,
                order_id=id,
                currency=order.currency,
                total_units=totals.grand_total_units,
                email=email,
            )
        )
        return order

    @property
    def grand_total(self) -> Money:
        """What the customer pays for the order."""
        return from_minor_units(self.totals.grand_total_units, self.currency)

    @property
    def tendered_units(self) -> int:
        """What gift cards and store credit paid of it, in minor units."""
        return sum(tender.units for tender in self.tenders)

    @property
    def due_units(self) -> int:
        """What its payment through the gateway is for: the total less its tenders."""
        return self.totals.grand_total_units - self.tendered_units

    def pay_with(self, tenders: Sequence[Tender], *, at: datetime, actor: str) -> None:
        """Record what gift cards and store credit pay of the order, as it is placed
        (the caller takes it from their balances in the same unit of work).

        :raises InvalidTransition: unless it awaits payment and has no tenders yet.
        :raises InvalidInput: naming ``tenders``, for a part that is not positive or
            parts beyond the total.
        """
        if self.status is not OrderStatus.PENDING_PAYMENT or self.tenders:
            raise InvalidTransition("order", self.status.value, "record tenders of")
        found = tuple(tenders)
        if any(t.units <= 0 for t in found) or sum(t.units for t in found) > (
            self.totals.grand_total_units
        ):
            raise InvalidInput("each part positive, all within the total", field="tenders")
        if not found:
            return
        self.tenders = found
        words = {
            TenderKind.GIFT_CARD: "gift card",
            TenderKind.STORE_CREDIT: "store credit",
            TenderKind.EXCHANGE: "units returned from order",
        }
        detail = "; ".join(
            f"{from_minor_units(t.units, self.currency).amount} {self.currency} "
            f"by {words[t.kind]} {t.reference}"
            for t in found
        )
        self._log(at, actor, "tendered", detail)

    @property
    def requires_shipping(self) -> bool:
        """Whether any line is a physical good."""
        return any(line.requires_shipping for line in self.lines)

    def owned_by(self, token: object) -> bool:
        """Whether ``token`` is this order's token (constant time; empty never matches)."""
        return token_matches(self.token, token)

    def _log(self, at: datetime, actor: str, action: str, detail: str = "") -> None:
        self.history.append(HistoryEntry(at=at, actor=actor, action=action, detail=detail))
        self.version += 1

    def note(self, action: str, detail: str, *, at: datetime, actor: str) -> None:
        """Record in its history something done about the order elsewhere (an action
        taken from a support case), whatever state it is in.

        :raises InvalidInput: naming ``action`` (at most 64 characters), ``detail``
            (at most 2,000) or ``actor``.
        """
        self._log(at, actor, action, detail)

    # --- payment ---------------------------------------------------------------------

    def follow(self, payment: Payment, *, at: datetime, actor: str) -> bool:
        """Follow the payment: its status, and the money it holds. The order opens only
        once the payment is authorized for the whole amount due; a short authorization
        leaves it awaiting payment (the caller voids it and fails the order).

        :returns: whether anything changed.
        :raises InvalidTransition: for a payment status that may not follow the
            current one (a refund of an unpaid order, say).
        """
        held = (payment.capturable_units, payment.refundable_units)
        moved = held != (self.payment_capturable_units, self.payment_refundable_units)
        if moved:
            self.payment_capturable_units, self.payment_refundable_units = held
            self.version += 1
        if payment.authorized_short:
            return moved
        return self.payment_changed(payment.status, at=at, actor=actor) or moved

    def payment_changed(self, payment: PaymentStatus, *, at: datetime, actor: str) -> bool:
        """Follow the payment's status; open the order once it is paid for.

        :returns: whether anything changed.
        :raises InvalidTransition: for a payment status that may not follow the
            current one (a refund of an unpaid order, say).
        """
        new = _FROM_PAYMENT[payment]
        if new is self.payment_status:
            return False
        if new not in PAYMENT_TRANSITIONS[self.payment_status]:
            raise InvalidTransition(
                "order", f"payment {self.payment_status.value}", f"mark {new.value}"
            )
        old, self.payment_status = self.payment_status, new
        self._log(at, actor, "payment", f"{old.value} -> {new.value}")
        if self.status is OrderStatus.PENDING_PAYMENT and new in (
            _P.AUTHORIZED,
            _P.CAPTURED,
            _P.PARTIALLY_CAPTURED,
        ):
            self.status = OrderStatus.OPEN
            self._log(at, actor, "opened")
            self.events.append(OrderPaid(occurred_at=at, order_id=self.id))
        return True

    def settle_free(self, *, at: datetime, actor: str) -> None:
        """Open an order that leaves nothing for the gateway: it costs nothing (a 100%
        promotion), or its tenders (gift cards, store credit) paid all of it.

        :raises InvalidTransition: for an order that leaves something due, or is not
            pending.
        """
        if self.due_units != 0 or self.status is not OrderStatus.PENDING_PAYMENT:
            raise InvalidTransition("order", self.status.value, "settle as free")
        self.payment_status = OrderPaymentStatus.CAPTURED
        self.status = OrderStatus.OPEN
        self._log(at, actor, "opened", "paid by its tenders" if self.tenders else "nothing to pay")
        self.events.append(OrderPaid(occurred_at=at, order_id=self.id))

    # --- the order's life ------------------------------------------------------------

    def _check_cancellable(self, action: str) -> None:
        if self.status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED):
            raise InvalidTransition("order", self.status.value, action)
        if self.shipped:
            raise InvalidTransition("order", "shipped", action)
        if self.fulfilment_status is not FulfilmentStatus.UNFULFILLED:
            raise InvalidTransition("order", self.fulfilment_status.value, action)

    def begin_cancel(self, reason: str, *, at: datetime, actor: str) -> None:
        """Start cancelling an order whose money must be given back first: from now on
        nothing of it ships and nothing more is taken, while the gateway is asked to
        release and refund.

        :raises InvalidTransition: for an order cancelled, completed, shipped or (partly)
            fulfilled, or one being cancelled already.
        """
        self._check_cancellable("cancel")
        if self.status is OrderStatus.CANCELLING:
            raise InvalidTransition("order", self.status.value, "cancel")
        self.status = OrderStatus.CANCELLING
        self._log(at, actor, "cancelling", reason)

    def cancel(self, reason: str, *, at: datetime, actor: str) -> None:
        """Cancel an order that has not shipped nor been fulfilled (or finish cancelling
        one whose money was being given back).

        The caller releases what the order held (payment, stock, coupon uses).

        :raises InvalidTransition: for an order already cancelled or completed, or one
            that has shipped or been (partly) fulfilled.
        """
        self._check_cancellable("cancel")
        self.status = OrderStatus.CANCELLED
        self._log(at, actor, "cancelled", reason)
        self.events.append(OrderCancelled(occurred_at=at, order_id=self.id, reason=reason))

    @property
    def revision(self) -> int:
        """How many times its lines were changed after placement (see :meth:`amend`)."""
        return sum(1 for entry in self.history if entry.action == "edited")

    def check_editable(self) -> None:
        """:raises InvalidTransition: unless it is open (paid, not being cancelled)
        and nothing of it has been planned to ship or has left."""
        if self.status is not OrderStatus.OPEN:
            raise InvalidTransition("order", self.status.value, "edit")
        if self.shipped or self.fulfilment_status is not FulfilmentStatus.UNFULFILLED:
            raise InvalidTransition("order", "shipped", "edit")

    def amend(
        self,
        breakdown: PriceBreakdown,
        names: Mapping[str, tuple[str, str, bool, bool]],
        *,
        shipping_address: Address | None,
        tax_address: TaxAddress | None,
        tax_provider: str | None = None,
        at: datetime,
        actor: str,
    ) -> int:
        """Change its lines (and where it goes) to ``breakdown``, priced by the caller
        as the order was placed: the difference in what it costs is the caller's to
        charge or give back, and its stock to hold or release.

        :param names: per SKU, as :meth:`place` takes them.
        :returns: the difference in its total, in minor units (positive: it costs more).
        :raises InvalidTransition: unless :meth:`check_editable` passes.
        :raises InvalidInput: for no lines, another currency, or a total below what
            its gift cards and store credit paid.
        """
        self.check_editable()
        if not breakdown.lines:
            raise InvalidInput("an order needs at least one line", field="quantities")
        if breakdown.currency != self.currency:
            raise InvalidInput(f"the order is in {self.currency}", field="currency")
        if breakdown.grand_total_units < self.tendered_units:
            raise InvalidInput(
                "the order would cost less than its gift cards and store credit paid",
                field="quantities",
            )
        before = self.totals.grand_total_units
        self.lines, self.totals = _frozen(breakdown, names)
        self.shipping_address = shipping_address
        self.tax_address = tax_address
        if tax_provider is not None:
            self.tax_provider = tax_provider
        self.promotion_ids = breakdown.applied_promotions
        after = self.totals.grand_total_units
        units = ", ".join(f"{line.quantity} x {line.sku}" for line in self.lines)
        self._log(at, actor, "edited", f"{units}; total {before} -> {after} minor units"[:2000])
        return after - before

    def touch(self) -> None:
        """Mark it changed (its shipments were planned or cancelled): whatever else
        changes it at the same time is told apart by its version."""
        self.version += 1

    def check_can_ship(self) -> None:
        """:raises InvalidTransition: unless it is open (paid, not being cancelled)."""
        if self.status is not OrderStatus.OPEN:
            raise InvalidTransition("order", self.status.value, "ship")

    def left_to_ship(self, planned: Mapping[str, int]) -> dict[str, int]:
        """Units per SKU of goods that ship that no shipment carries yet, given the
        units ``planned`` (carried by its shipments that are not cancelled)."""
        left: dict[str, int] = {}
        for line in self.lines:
            if not line.requires_shipping:
                continue
            units = line.quantity - planned.get(line.sku, 0)
            if units > 0:
                left[line.sku] = units
        return left

    def follow_shipments(
        self,
        shipped: Mapping[str, int],
        delivered: Mapping[str, int],
        *,
        at: datetime,
        actor: str,
        left: bool = False,
    ) -> bool:
        """Follow its shipments: units shipped and delivered per SKU of goods that ship
        decide its fulfilment status (what does not ship, a download, is no part of
        it); the first dispatch means it can no longer be cancelled. Until every unit
        has shipped it is partially shipped, whatever has arrived.

        :param left: whether any of its goods left the shelf (parts of a bundle may
            leave before the bundle counts as shipped).
        :returns: whether anything changed.
        """
        ordered = {line.sku: line.quantity for line in self.lines if line.requires_shipping}
        done = {
            sku: min(units, ordered[sku])
            for sku, units in shipped.items()
            if units > 0 and sku in ordered
        }
        arrived = sum(min(units, ordered.get(sku, 0)) for sku, units in delivered.items())
        total = sum(ordered.values())
        if not done:
            status = FulfilmentStatus.UNFULFILLED
        elif sum(done.values()) < total:
            status = FulfilmentStatus.PARTIALLY_SHIPPED
        elif arrived >= total:
            status = FulfilmentStatus.DELIVERED
        elif arrived:
            status = FulfilmentStatus.PARTIALLY_DELIVERED
        else:
            status = FulfilmentStatus.SHIPPED
        gone = self.shipped or left or bool(done)
        unchanged = done == dict(self.fulfilled) and status is self.fulfilment_status
        if unchanged and gone == self.shipped:
            return False
        self.shipped = gone
        self.fulfilled = done
        if status is not self.fulfilment_status:
            self.fulfilment_status = status
            self._log(at, actor, status.value)
        else:
            self.version += 1
        return True

    def answers_key(self, *, now: datetime, retention: timedelta) -> bool:
        """Whether its idempotency key still answers with this order: for
        ``retention`` after it was placed. After that, the key is free to place
        another order (see :meth:`retire_key`)."""
        return now < self.placed_at + retention

    def retire_key(self) -> None:
        """Free the idempotency key for another order; the order keeps one derived
        from its id."""
        self.idempotency_key = f"retired:{self.id}"
        self.version += 1

    def flag(self, detail: str, *, at: datetime, actor: str) -> bool:
        """Ask staff to look at the order (a sweep could not settle it, say); the same
        concern is recorded once.

        :returns: whether it was new.
        """
        check_text(detail, "detail", max_length=2000)
        attention = with_note(self.attention, detail)
        if attention is None:
            return False
        self.attention = attention
        self._log(at, actor, "attention", detail)
        self.events.append(NeedsAttention(occurred_at=at, order_id=self.id, detail=detail))
        return True

    def complete(self, *, at: datetime, actor: str) -> None:
        """Close an open order whose every unit has shipped and whose payment is settled.

        :raises InvalidTransition: otherwise.
        """
        settled = self.payment_status in (_P.CAPTURED, _P.PARTIALLY_REFUNDED, _P.REFUNDED)
        if (
            self.status is not OrderStatus.OPEN
            or (self.requires_shipping and not self.fulfilment_status.all_shipped)
            or not settled
        ):
            raise InvalidTransition("order", self.status.value, "complete")
        if self.payment_capturable_units:
            # An order ends with no authorization standing: capture or void the rest.
            raise InvalidTransition("order", "authorized beyond what was captured", "complete")
        self.status = OrderStatus.COMPLETED
        self._log(at, actor, "completed")
