"""Orders changed after placement, before anything of them ships: lines added,
removed or changed, and the address they go to.

The order is priced again as it was placed: its lines at the unit prices it was
bought at (new SKUs at today's), the promotions and coupons it was placed with, the
shipping it was charged, taxed where it now goes; with ``current_prices`` at today's
prices and promotions instead. Its stock is held or released to match, and the
difference in what it costs is charged (more authorized on its payment, captured
too when the payment was captured) or given back (what is due lowered on an
authorization; refunded, on the order's refund ledger, from a capture).

More is authorized before anything else changes, so a refusal leaves the order as
it was; an edit that loses a race after its payment grew leaves the payment holding
more than is due, which capturing everything releases.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from commercekit.domain.cart import Cart
from commercekit.domain.checkout import Address
from commercekit.domain.errors import (
    ConcurrencyConflict,
    InvalidInput,
    InvalidTransition,
    OperationInProgress,
    UnsupportedByGateway,
)
from commercekit.domain.fulfilment import ShipmentStatus
from commercekit.domain.identifiers import check_flag, check_key, check_quantities
from commercekit.domain.inventory import (
    HoldPlan,
    ReservationStatus,
    StockLine,
    plan_holds,
    stock_wanted,
)
from commercekit.domain.money import from_minor_units
from commercekit.domain.orders import Order, line_names
from commercekit.domain.payments import PaymentStatus
from commercekit.domain.pricing import (
    PriceBook,
    PriceBreakdown,
    PriceList,
    PricingContext,
    PricingEngine,
    TaxAddress,
)
from commercekit.domain.promotions import PromotionEngine
from commercekit.domain.returns import Refund, RefundKind, RefundLedger, RefundPlan, RefundStatus
from commercekit.ports.payments import IncrementalAuthorization
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, store_taxes, tax_provider_name
from commercekit.services.payments import PaymentService
from commercekit.services.refunds import RefundService, ledger_for
from commercekit.services.schemas import AddressIn, parse

__all__ = ["OrderEdit", "OrderEditService"]

#: The customer group under which an order's own unit prices are looked up first.
_AS_PLACED = "as-placed"


@attrs.frozen(kw_only=True)
class OrderEdit:
    """What an edit came to."""

    order: Order
    before_units: int
    """The order's total before, in minor units."""
    after_units: int
    charged_units: int = 0
    """Authorized more on its payment (and captured, for a captured payment)."""
    refund: Refund | None = None
    """What was given back from a captured payment."""

    @property
    def difference_units(self) -> int:
        """What the edit costs the customer (negative: what it gives back)."""
        return self.after_units - self.before_units


@attrs.frozen
class _Priced:
    breakdown: PriceBreakdown
    names: dict[str, tuple[str, str, bool, bool]]
    address: Address | None
    tax_address: TaxAddress | None
    revision: int


class OrderEditService(Service):
    """Changes to a placed order before it ships."""

    def __init__(self, runtime: Runtime, payments: PaymentService, refunds: RefundService):
        super().__init__(runtime)
        self._payments = payments
        self._refunds = refunds

    # --- pricing the order as it would be -----------------------------------------------

    def _price(
        self,
        uow: UnitOfWork,
        order: Order,
        quantities: Mapping[str, int],
        address: Address | None,
        current_prices: bool,
    ) -> _Priced:
        wanted = {line.sku: line.quantity for line in order.lines}
        wanted.update(quantities)
        wanted = {sku: n for sku, n in wanted.items() if n > 0}
        if not wanted:
            raise InvalidInput("an order keeps at least one line", field="quantities")
        settings = self._rt.settings
        cart = Cart(
            id=order.cart_id,
            currency=order.currency,
            channel=order.channel,
            customer_id=order.customer_id,
            max_quantity_per_line=settings.max_quantity_per_line,
        )
        for sku, count in wanted.items():
            cart.add(sku, count)
        snapshot = self._rt.catalog.get(uow)
        skus = list(wanted)
        catalog = snapshot.catalog(uow, skus)
        groups: tuple[str, ...] = ()
        if order.customer_id is not None:
            customer = uow.customers.find(order.customer_id)
            groups = () if customer is None else customer.groups
        book = snapshot.price_book(uow, order.currency, skus)
        if current_prices:
            promotions = snapshot.promotion_engine(uow.catalog.coupons(order.coupon_codes))
            when = self.now
        else:
            # Its own unit prices first (under a group only this pricing names), the
            # store's lists for SKUs it did not have; its own promotions, as they
            # stood when it was placed.
            placed = PriceList(
                f"{_AS_PLACED}:{order.id}",
                order.currency,
                customer_group=_AS_PLACED,
                channel=order.channel,
            )
            for line in order.lines:
                placed.set_price(line.sku, from_minor_units(line.unit_price_units, order.currency))
            book = PriceBook([placed, *book.chain(order.currency, order.channel, groups)])
            groups = (_AS_PLACED, *groups)
            kept = [p for p in uow.catalog.promotions() if p.id in order.promotion_ids]
            promotions = PromotionEngine(kept, uow.catalog.coupons(order.coupon_codes))
            when = order.placed_at
        engine = PricingEngine(
            catalog=catalog,
            prices=book,
            taxes=store_taxes(self._rt, snapshot),
            tax_settings=settings.tax_for(order.channel),
            promotions=promotions,
            rounding=settings.rounding,
        )
        goes_to = address if address is not None else order.shipping_address
        tax_address = goes_to.for_tax() if address is not None and goes_to else order.tax_address
        context = PricingContext(
            now=when,
            channel=order.channel,
            customer_id=order.customer_id,
            customer_groups=groups,
            address=tax_address,
            shipping=from_minor_units(order.totals.shipping_units, order.currency),
        )
        for code in order.coupon_codes:
            cart.apply_coupon(code)
        breakdown = engine.price(cart, context)
        products = [
            catalog.product(pid)
            for pid in dict.fromkeys(catalog.variant(sku).product_id for sku in skus)
        ]
        return _Priced(breakdown, line_names(products), goes_to, tax_address, order.revision)

    # --- the edit -----------------------------------------------------------------------

    def _check(self, uow: UnitOfWork, order: Order, *, refund_id: str = "") -> None:
        """:raises InvalidTransition: unless the order may be edited: open, nothing
        planned to ship, no units or shipping refunded (an amount given back, a
        goodwill or an earlier edit's, is no matter), no refund under way (but
        ``refund_id``, the edit's own)."""
        order.check_editable()
        if any(s.status is not ShipmentStatus.CANCELLED for s in uow.shipments.for_order(order.id)):
            raise InvalidTransition("order", "planned to ship", "edit")
        ledger, _ = ledger_for(uow, order)
        others = [r for r in ledger.refunds if r.counts and r.id != refund_id]
        if any(
            r.plan.lines or r.plan.shipping_units or r.status is RefundStatus.PENDING
            for r in others
        ):
            raise InvalidTransition("order", "refunded", "edit")
        payment = uow.payments.for_order(order.id)
        if payment is not None and payment.intents:
            raise OperationInProgress("payment", "another operation")

    def edit(
        self,
        order_id: str,
        quantities: Mapping[str, int],
        *,
        shipping_address: Mapping[str, Any] | AddressIn | None = None,
        current_prices: bool = False,
        actor: str = "staff",
    ) -> OrderEdit:
        """Change an order before anything of it ships: ``quantities`` gives the new
        quantity of each SKU named (0 removes it; a SKU the order lacks is added),
        ``shipping_address`` where it goes now. See the module's description.

        :raises InvalidTransition: once a shipment is planned or left, for an order
            refunded in part, or not open.
        :raises InsufficientStock: when more cannot be held.
        :raises UnsupportedByGateway: when it would cost more and its gateway cannot
            authorize more (nothing changed).
        :raises PaymentDeclined: when the gateway refuses to (nothing changed).
        """
        check_key(order_id, "order_id")
        wanted = check_quantities(quantities, "quantities")
        if any(n < 0 for n in wanted.values()):
            raise InvalidInput("a quantity cannot be negative", field="quantities")
        address = (
            None
            if shipping_address is None
            else parse(AddressIn, shipping_address, field="shipping_address").to_domain()
        )
        check_flag(current_prices, "current_prices")
        check_key(actor, "actor")

        def plan(uow: UnitOfWork) -> tuple[Order, _Priced]:
            order = uow.orders.get(order_id)
            self._check(uow, order)
            priced = self._price(uow, order, wanted, address, current_prices)
            self._holds(uow, order, priced)  # stock that is not there refuses it now
            return order, priced

        order, priced = self._read(plan)
        before = order.totals.grand_total_units
        difference = priced.breakdown.grand_total_units - before
        payment = self._payments.find_for_order(order_id)
        charged = 0
        if difference > 0 and order.due_units > 0:
            if payment is None or payment.status not in (
                PaymentStatus.AUTHORIZED,
                PaymentStatus.CAPTURED,
            ):
                raise InvalidTransition("payment", "not authorized", "authorize more on")
            gateway = self._rt.gateway(payment.gateway)
            if not isinstance(gateway, IncrementalAuthorization):
                raise UnsupportedByGateway(gateway.name, "authorizing more on a payment")
            self._payments._authorize_more(
                order_id,
                from_minor_units(difference, order.currency),
                idempotency_key=f"edit:{order_id}:{priced.revision + 1}",
                actor=actor,
            )
            charged = difference
        elif difference > 0:
            raise InvalidTransition("order", "paid by gift cards and store credit", "charge")

        def apply(uow: UnitOfWork, current: Order | None = None, refund_id: str = "") -> Order:
            edited = current or uow.orders.get(order_id)
            if edited.revision != priced.revision:
                raise ConcurrencyConflict(f"order {order_id!r} was edited meanwhile")
            self._check(uow, edited, refund_id=refund_id)
            again = self._price(uow, edited, wanted, address, current_prices)
            if again.breakdown.grand_total_units != priced.breakdown.grand_total_units:
                raise ConcurrencyConflict("the order's prices changed meanwhile; edit again")
            self._hold(uow, edited, again)
            edited.amend(
                again.breakdown,
                again.names,
                shipping_address=again.address,
                tax_address=again.tax_address,
                tax_provider=tax_provider_name(self._rt),
                at=self.now,
                actor=actor,
            )
            held = uow.payments.for_order(edited.id)
            if held is not None:
                held.set_due(edited.due_units)
                uow.payments.save(held)
            uow.orders.save(edited)
            return edited

        refund: Refund | None = None
        captured = payment is not None and payment.captured_units > 0
        if difference < 0 and captured:

            def give(
                uow: UnitOfWork, current: Order, ledger: RefundLedger, paid: int
            ) -> RefundPlan:
                return ledger.plan(
                    current, {}, paid_units=paid, goodwill_units=-difference, kind=RefundKind.EDIT
                )

            def edited_with(uow: UnitOfWork, current: Order, made: Refund) -> None:
                apply(uow, current, made.id)

            refund = self._refunds._make(
                order_id, give, reason="order edited", actor=actor, on_record=edited_with
            )
            edited = self._read(lambda uow: uow.orders.get(order_id))
        else:
            edited = self._run(apply)
            if charged and payment is not None and payment.status is PaymentStatus.CAPTURED:
                self._payments.capture(
                    order_id,
                    from_minor_units(charged, order.currency),
                    idempotency_key=f"edit-capture:{order_id}:{priced.revision + 1}",
                    actor=actor,
                )
                edited = self._read(lambda uow: uow.orders.get(order_id))
        return OrderEdit(
            order=edited,
            before_units=before,
            after_units=edited.totals.grand_total_units,
            charged_units=charged,
            refund=refund,
        )

    def _hold(self, uow: UnitOfWork, order: Order, priced: _Priced) -> None:
        """Hold what the edited order needs: the SKUs whose units changed are released
        and held again at their new count (a paid order's holds, allocated)."""
        letting_go, plan = self._holds(uow, order, priced)
        if letting_go:
            uow.inventory.release(letting_go, ReservationStatus.RELEASED, at=self.now)
        if plan is not None:
            uow.inventory.add_reservations(plan.reservations)
            uow.inventory.apply(plan.changes)
            uow.inventory.allocate([r.id for r in plan.reservations])

    def _holds(
        self, uow: UnitOfWork, order: Order, priced: _Priced
    ) -> tuple[list[str], HoldPlan | None]:
        """The holds to let go of and the plan of those to take for the edited order,
        decided without writing anything.

        :raises InsufficientStock: when the new count cannot be held.
        """
        snapshot = self._rt.catalog.get(uow)
        lines = priced.breakdown.lines
        catalog = snapshot.catalog(uow, [line.sku for line in lines])
        components = {
            line.sku: variant.components
            for line in lines
            if (variant := catalog.find_variant(line.sku)) is not None and variant.components
        }
        tracked = {sku: names[3] for sku, names in priced.names.items()}
        after = stock_wanted(
            [StockLine(x.sku, x.quantity, tracked.get(x.sku, True)) for x in lines], components
        )
        holds = [r for r in uow.inventory.reservations_for_order(order.id) if r.holds]
        before: dict[str, int] = {}
        for reservation in holds:
            before[reservation.sku] = before.get(reservation.sku, 0) + reservation.quantity
        changed = {sku for sku in {*before, *after} if before.get(sku, 0) != after.get(sku, 0)}
        letting_go = [r for r in holds if r.sku in changed]
        freed: dict[tuple[str, str], int] = {}
        for reservation in letting_go:
            key = (reservation.sku, reservation.location_id)
            freed[key] = freed.get(key, 0) + reservation.quantity
        again = {sku: after[sku] for sku in changed if after.get(sku)}
        if not again:
            return [r.id for r in letting_go], None
        # Planned on the shelves as they will be once the holds let go of are (the
        # release is applied before the new holds, in the order staged).
        items = [
            attrs.evolve(item, reserved=item.reserved - freed.get(item.key, 0))
            for item in uow.inventory.items(again)
        ]
        country = None if order.shipping_address is None else order.shipping_address.country
        plan = plan_holds(
            order.id,
            again,
            locations=snapshot.locations,
            rules=uow.inventory.rules(again),
            items=items,
            now=self.now,
            expires_at=self.now,
            new_id=lambda: self._rt.ids.new_id("reservation"),
            country=country,
            strategy=self._rt.settings.allocation,
        )
        return [r.id for r in letting_go], plan
