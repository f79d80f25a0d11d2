"""Exchanges: returned units swapped for other goods, sent as a replacement order.

What the returned units were worth (what the customer paid for them, as their
refund would be computed, with no restocking fee) pays for the replacement first.
The replacement is priced as a checkout prices a cart, at today's prices for the
original order's channel, currency, customer and tax address, with no coupon and
free shipping. When it costs what the units were worth, nothing is charged; when
less, the difference is refunded on the original order; when more, the difference
is charged on the replacement's own payment, and a refusal undoes the exchange.

The replacement, its payment and stock, the refund carrying the returned units on
the original's ledger (and the difference's), the return and the
:class:`~commercekit.domain.returns.Exchange` are written in one unit of work, so a
refusal leaves nothing behind and of two exchanges of one return at once one is
made. How the replacement then fares (paid, failed, cancelled, refunded) reaches
the exchange through :mod:`~commercekit.services.replacements`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta

from commercekit.domain.cart import Cart
from commercekit.domain.errors import (
    CommerceError,
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    PaymentDeclined,
    RefundRefused,
    UnknownGateway,
    UnknownSku,
    shown,
)
from commercekit.domain.identifiers import check_key, check_text
from commercekit.domain.money import from_minor_units
from commercekit.domain.orders import (
    Order,
    OrderStatus,
    bundle_components,
    line_names,
    order_number,
)
from commercekit.domain.payments import Payment
from commercekit.domain.returns import (
    Exchange,
    ExchangeLine,
    Refund,
    RefundLedger,
    RefundPlan,
    RefundStatus,
    Return,
    replacement_order,
)
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, load_pricing, tax_provider_name
from commercekit.services.holds import hold_for_order, keep_until_shipped
from commercekit.services.refunds import Planner, RefundService, ledger_for, ledger_paid_units

__all__ = ["Exchanges"]

#: The most SKUs one exchange swaps.
_MOST: int = 500


def _replacements(value: object) -> dict[str, str]:
    """``replacements`` as the door takes it: a mapping of a returned SKU to the SKU
    sent in its place."""
    if not isinstance(value, Mapping):
        raise InvalidInput(
            "expected a mapping of a returned SKU to the SKU sent instead", field="replacements"
        )
    if not 0 < len(value) <= _MOST:
        raise InvalidInput(f"from 1 to {_MOST} SKUs", field="replacements")
    return {
        check_text(sku, "replacements"): check_text(other, "replacements")
        for sku, other in value.items()
    }


class Exchanges(Service):
    """Make exchanges of returns, and find them (reached through
    :class:`~commercekit.services.returns.ReturnService`)."""

    def __init__(self, runtime: Runtime, refunds: RefundService) -> None:
        super().__init__(runtime)
        self._refunds = refunds
        self._payments = refunds._payments

    def for_order(self, order_id: str) -> list[Exchange]:
        """The exchanges ``order_id`` took part in: those of its returned units,
        oldest first, and the one it is the replacement of."""

        def read(uow: UnitOfWork) -> list[Exchange]:
            made = uow.records(Exchange).where(ref=order_id, limit=_MOST)
            replaced = uow.records(Exchange).find(Exchange.key(order_id))
            return [*made, *([] if replaced is None else [replaced])]

        return self._read(read)

    def make(
        self,
        return_id: str,
        replacements: object,
        *,
        payment_token: object,
        gateway: object,
        actor: str,
    ) -> Exchange:
        """See :meth:`~commercekit.services.returns.ReturnService.exchange`."""
        check_key(return_id, "return_id")
        wanted = _replacements(replacements)
        token = None if payment_token is None else check_text(payment_token, "payment_token")
        chosen = None
        if gateway is not None:
            chosen = check_key(gateway, "gateway")
            if chosen not in self._rt.gateways:
                raise UnknownGateway(chosen, self._rt.gateways, field="gateway")
        check_key(actor, "actor")
        ids = self._rt.ids
        replacement_id = ids.new_id("order")
        refund_id, difference_id = ids.new_id("refund"), ids.new_id("refund")
        holder = ids.new_id("call")
        fingerprint = hashlib.sha256(
            json.dumps({"return": return_id, "replacements": wanted}, sort_keys=True).encode()
        ).hexdigest()

        def work(uow: UnitOfWork) -> tuple[Exchange, Order, Payment, Refund | None]:
            found = uow.records(Return).get(return_id)
            if not found.refundable:
                raise InvalidTransition("return", found.status.value, "exchange")
            if found.exchange_id:
                raise InvalidTransition("return", "exchanged", "exchange")
            if found.refund_ids:
                raise RefundRefused("this return has been refunded", field="return_id")
            # The units that came back once it was received; those asked for before.
            units = dict(found.received) if found.received else found.units
            strange = sorted(set(wanted) - set(units))
            if strange:
                raise InvalidInput(
                    f"{shown(strange[0])} is not coming back in this return", field="replacements"
                )
            left_out = sorted(set(units) - set(wanted))
            if left_out:
                raise InvalidInput(
                    f"{shown(left_out[0])} comes back too: name what replaces it",
                    field="replacements",
                )
            original = uow.orders.get(found.order_id)
            ledger, stored = ledger_for(uow, original)
            paid = ledger_paid_units(uow, original, ledger)
            now = self.now

            # The replacement, priced as a checkout prices a cart: today's prices for
            # the original's channel, customer and tax address; no coupon, and no
            # shipping charged for goods sent in place of others.
            cart = Cart.open(
                id=f"exchange:{replacement_id}",
                currency=original.currency,
                customer_id=original.customer_id,
                channel=original.channel,
                max_quantity_per_line=self._rt.settings.max_quantity_per_line,
                token_factory=ids.new_token,
            )
            for sku, other in wanted.items():
                cart.add(other, units[sku])
            snapshot = self._rt.catalog.get(uow)
            engine, context = load_pricing(
                uow,
                cart,
                self._rt,
                now=now,
                address=original.tax_address,
                shipping_units=0,
                snapshot=snapshot,
            )
            try:
                breakdown = engine.price(cart, context)
            except UnknownSku as unknown:
                raise UnknownSku(unknown.sku, field="replacements") from None
            catalog = engine.catalog
            owners = dict.fromkeys(catalog.variant(sku).product_id for sku, _ in cart.items())
            products = [catalog.product(product_id) for product_id in owners]
            names = line_names(products)
            if original.shipping_address is None and any(
                names[line.sku][2] for line in breakdown.lines
            ):
                raise InvalidInput(
                    "the original order has no address to send goods to", field="replacements"
                )
            price = breakdown.grand_total_units

            plan = ledger.plan_exchange(original, units, paid_units=paid, price_units=price)
            due = price - plan.total_units
            gateway_name = chosen or original.payment_gateway
            if due:
                if token is None:
                    raise InvalidInput(
                        "the replacement costs more than the units returned were worth: "
                        "a payment token pays the difference",
                        field="payment_token",
                    )
                if not gateway_name:
                    raise InvalidInput(
                        "the original order named no gateway: name one", field="gateway"
                    )
                gateway_name = self._rt.gateway(gateway_name).name
            order = replacement_order(
                id=replacement_id,
                token=ids.new_token(),
                number=order_number(original.channel, ids.new_token()),
                original=original,
                breakdown=breakdown,
                names=names,
                tax_address=context.address or engine.tax_settings.default_address,
                tax_provider=tax_provider_name(self._rt),
                exchanged_units=plan.total_units,
                payment_gateway=gateway_name,
                fingerprint=fingerprint,
                at=now,
                actor=actor,
            )
            exchange = Exchange(
                id=Exchange.key(order.id),
                order_id=original.id,
                return_id=found.id,
                replacement_id=order.id,
                owner=found.owner,
                currency=original.currency,
                created_at=now,
                actor=actor,
                lines=tuple(
                    ExchangeLine(sku=sku, replacement_sku=wanted[sku], quantity=count)
                    for sku, count in sorted(units.items())
                ),
                value_units=plan.total_units + plan.difference_units,
                price_units=price,
                refund_id=refund_id,
            )
            payment = Payment(
                id=ids.new_id("payment"),
                order_id=order.id,
                gateway=gateway_name,
                currency=order.currency,
                amount_units=order.due_units,
            )
            address = order.shipping_address
            # Its stock is held now, before anything is charged, as a checkout's is.
            hold_for_order(
                uow,
                order,
                now=now,
                hold=timedelta(seconds=self._rt.settings.reservation_hold_seconds),
                new_id=lambda: ids.new_id("reservation"),
                locations=snapshot.locations,
                country=None if address is None else address.country,
                strategy=self._rt.settings.allocation,
                components=bundle_components(products),
            )
            carried = ledger.record(
                plan,
                refund_id=refund_id,
                to_gateway_units=0,
                to_exchange_units=plan.total_units,
                reason=f"exchange {exchange.id}",
                at=now,
                actor=actor,
                return_id=found.id,
                paid_units=paid,
                # What pays for a replacement still being charged counts once it is.
                pending=bool(due),
            )
            difference = None
            if plan.difference_units:
                difference = self._refunds._record(
                    uow,
                    original,
                    ledger,
                    _difference(plan),
                    refund_id=difference_id,
                    reason=f"exchange {exchange.id}: what the units were worth beyond "
                    "the replacement's price",
                    actor=actor,
                    return_id=found.id,
                )
                exchange.difference_refund_id = difference.id
            found.exchanged(exchange.id, carried.id, at=now, actor=actor)
            worth = from_minor_units(exchange.value_units, exchange.currency).amount
            original.note(
                "exchange",
                f"{exchange.id}: {found.unit_count} unit(s) of {found.id}, worth {worth} "
                f"{exchange.currency}, for replacement order {order.number}",
                at=now,
                actor=actor,
            )
            order.note(
                "exchange",
                f"{exchange.id}: replaces units of {found.id} returned from order "
                f"{original.number}",
                at=now,
                actor=actor,
            )
            if due:
                lease = timedelta(seconds=self._rt.settings.request_lease_seconds)
                payment.ask_authorization(at=now, holder=holder, lease=lease)
            else:
                # Nothing to charge: it opens paid, in this unit of work.
                order.settle_free(at=now, actor="system")
                exchange.complete(at=now)
            uow.orders.add(order)
            uow.payments.add(payment)
            (uow.records(RefundLedger).save if stored else uow.records(RefundLedger).add)(ledger)
            uow.records(Exchange).add(exchange)
            uow.records(Return).save(found)
            uow.orders.save(original)
            if not due:
                keep_until_shipped(uow, order)
            return exchange, order, payment, difference

        # A hold refused as it is written was planned from a snapshot another order
        # overtook: planned again on fresh stock, as a checkout does.
        exchange, order, payment, difference = self._run(
            work, attempts=self._rt.settings.placement_retries, lost_races=(InsufficientStock,)
        )
        if difference is not None and difference.to_gateway_units:
            self._give_difference_back(exchange, difference, actor)
        if payment.amount_units and token is not None:
            settled = self._payments.authorize(order, token, held=payment)
            if settled.status is OrderStatus.CANCELLED:
                # Declined: cancelling the replacement undid the exchange with it.
                why = next(
                    (e.detail for e in reversed(settled.history) if e.action == "cancelled"), ""
                )
                raise PaymentDeclined("charge the difference of an exchange", why or "declined")
        return self._read(lambda uow: uow.records(Exchange).get(exchange.id))

    def _give_difference_back(self, exchange: Exchange, refund: Refund, actor: str) -> None:
        """Ask the gateway for the difference's refund. The exchange stands whatever
        it answers: a refusal is flagged on the original order for staff (what is
        owed stays on its ledger, to give back with a goodwill refund); an answer
        that never came leaves the refund pending for ``refunds.retry``."""
        with contextlib.suppress(CommerceError):
            self._refunds._give_back(exchange.order_id, refund, actor=actor)
        ledger = self._refunds.for_order(exchange.order_id)
        if ledger.refund(refund.id).status is not RefundStatus.FAILED:
            return

        def flag(uow: UnitOfWork) -> None:
            original = uow.orders.get(exchange.order_id)
            amount = from_minor_units(refund.plan.total_units, exchange.currency).amount
            detail = (
                f"{exchange.id}: the gateway refused the difference's refund ({refund.id}, "
                f"{amount} {exchange.currency}): give it back with a goodwill refund"
            )
            if original.flag(detail, at=self.now, actor=actor):
                uow.orders.save(original)

        self._run(flag)


def _difference(plan: RefundPlan) -> Planner:
    """Plans the refund of what an exchange's units were worth beyond the price."""

    def planner(uow: UnitOfWork, order: Order, ledger: RefundLedger, paid: int) -> RefundPlan:
        return ledger.plan_difference(order, plan, paid_units=paid)

    return planner
