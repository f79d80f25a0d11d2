"""Refunds: computed from what was paid, recorded on the order's ledger, then given
back through the gateway.

A refund is made in three steps, as a payment is taken: it is planned and recorded
on the order's :class:`~commercekit.domain.returns.RefundLedger` (one record,
version-checked: two refunds of the same units at once cannot both be recorded);
the gateway is asked for its part under a key derived from the refund, so asking
again never refunds twice; its answer settles the refund. A refusal frees what the
refund had counted; an answer that never came leaves it pending, and
:meth:`RefundService.retry` asks again with the same key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import moneyed

from commercekit.domain.credit import TenderKind
from commercekit.domain.errors import (
    CommerceError,
    GatewayError,
    InvalidInput,
    PaymentDeclined,
    PaymentLimitExceeded,
    RefundRefused,
)
from commercekit.domain.identifiers import check_key, check_quantities, check_text
from commercekit.domain.money import from_minor_units, minor_units
from commercekit.domain.orders import Order
from commercekit.domain.returns import Refund, RefundKind, RefundLedger, RefundPlan
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service
from commercekit.services.credit import (
    credit_for_refund,
    reinstate_sold_cards,
    take_back_sold_cards,
)
from commercekit.services.payments import PaymentService
from commercekit.services.replacements import release_exchange

__all__ = [
    "Planner",
    "RefundService",
    "check_credit_choice",
    "ledger_for",
    "ledger_paid_units",
    "paid_units",
]

Planner = Callable[[UnitOfWork, Order, RefundLedger, int], RefundPlan]
"""Works out a refund from the order, its ledger and what it was paid."""

#: The longest reason a refund keeps.
MAX_REASON: int = 2000

#: How often recording a refund is tried again after losing a race for the order's
#: ledger: each loss means another refund of the order landed, and the next try
#: prices what is left after it, so the bound is reached only under a pile-up.
_RECORD_ATTEMPTS: Final = 20


def paid_units(uow: UnitOfWork, order: Order) -> int:
    """What the customer paid for ``order``: captured through the gateway, and what
    its gift cards and store credit paid."""
    payment = uow.payments.for_order(order.id)
    captured = 0 if payment is None else payment.captured_units
    return captured + order.tendered_units


def ledger_paid_units(uow: UnitOfWork, order: Order, ledger: RefundLedger) -> int:
    """What ``ledger`` may give back of ``order`` in all: what was paid, less what
    the payment gave back that no refund on the ledger accounts for."""
    return paid_units(uow, order) - _outside(uow, order, ledger)


def _gateway_room(uow: UnitOfWork, order: Order, ledger: RefundLedger) -> int:
    """What the gateway can still give back of what it took: captured, less what
    the ledger's refunds ask of it and what was refunded on the payment directly."""
    payment = uow.payments.for_order(order.id)
    if payment is None:
        return 0
    return max(0, payment.captured_units - max(ledger.gateway_units, payment.refunded_units))


def _to_credit(wanted: moneyed.Money | bool, order: Order, total: int) -> int:
    """The part of a refund of ``total`` the merchant asked to give as store credit."""
    if wanted is False:
        return 0
    if wanted is True:
        units = total
    else:
        if wanted.currency.code != order.currency:
            raise InvalidInput(f"must be in {order.currency}", field="to_store_credit")
        units = minor_units(wanted, field="to_store_credit")
        if not 0 <= units <= total:
            raise InvalidInput(
                f"must be from 0 to {from_minor_units(total, order.currency).amount}",
                field="to_store_credit",
            )
    if units and order.customer_id is None:
        raise InvalidInput("a guest has no store credit", field="to_store_credit")
    return units


def check_credit_choice(value: object) -> moneyed.Money | bool:
    """``to_store_credit`` as the door takes it: a flag, or an amount.

    :raises InvalidInput: naming ``to_store_credit``.
    """
    if isinstance(value, bool | moneyed.Money):
        return value
    raise InvalidInput("must be True, False or an amount of Money", field="to_store_credit")


def ledger_for(uow: UnitOfWork, order: Order) -> tuple[RefundLedger, bool]:
    """The order's ledger and whether it is stored yet."""
    found = uow.records(RefundLedger).find(RefundLedger.key(order.id))
    if found is not None:
        return found, True
    return RefundLedger.open(order, at=order.placed_at), False


def _outside(uow: UnitOfWork, order: Order, ledger: RefundLedger) -> int:
    """Money the payment gave back that no refund on the ledger accounts for."""
    payment = uow.payments.for_order(order.id)
    if payment is None:
        return 0
    return max(0, payment.refunded_units - ledger.gateway_units)


class RefundService(Service):
    """Refunds of an order's units, its shipping, or an amount with a reason."""

    def __init__(self, runtime: Runtime, payments: PaymentService) -> None:
        super().__init__(runtime)
        self._payments = payments

    # --- reading ----------------------------------------------------------------------

    def for_order(self, order_id: str) -> RefundLedger:
        """The order's refund ledger (empty if nothing went back).

        :raises NotFound: for an unknown order.
        """
        check_key(order_id, "order_id")

        def read(uow: UnitOfWork) -> RefundLedger:
            return ledger_for(uow, uow.orders.get(order_id))[0]

        return self._read(read)

    def plan(
        self, order_id: str, units: Mapping[str, int], *, shipping: bool = False
    ) -> RefundPlan:
        """What refunding ``units`` (per SKU) of the order would give back now, with
        the shipping if asked: nothing is recorded.

        :raises RefundRefused: when nothing is left to give back.
        """
        check_key(order_id, "order_id")
        wanted = check_quantities(units, "units")
        _flag(shipping, "shipping")

        def read(uow: UnitOfWork) -> RefundPlan:
            order = uow.orders.get(order_id)
            ledger, _ = ledger_for(uow, order)
            paid = paid_units(uow, order) - _outside(uow, order, ledger)
            return ledger.plan(order, wanted, paid_units=paid, shipping=shipping)

        return self._read(read)

    # --- refunding --------------------------------------------------------------------

    def refund_units(
        self,
        order_id: str,
        units: Mapping[str, int],
        *,
        reason: str,
        shipping: bool = False,
        to_store_credit: moneyed.Money | bool = False,
        actor: str = "staff",
    ) -> Refund:
        """Give back what was paid for ``units`` (per SKU) of the order, without a
        return (a parcel lost by the carrier, say), and the shipping if asked.
        ``to_store_credit`` gives all (``True``) or that much of it as store credit
        rather than through the gateway.

        :raises RefundRefused: for units refunded already, or nothing left to give.
        :raises PaymentDeclined: if the gateway refuses (nothing of it counts then).
        """
        check_key(order_id, "order_id")
        wanted = check_quantities(units, "units")
        _flag(shipping, "shipping")
        return self._make(
            order_id,
            lambda uow, order, ledger, paid: ledger.plan(
                order, wanted, paid_units=paid, shipping=shipping
            ),
            reason=_reason(reason),
            actor=check_key(actor, "actor"),
            to_store_credit=check_credit_choice(to_store_credit),
        )

    def goodwill(
        self,
        order_id: str,
        amount: moneyed.Money,
        *,
        reason: str,
        to_store_credit: moneyed.Money | bool = False,
        actor: str = "staff",
    ) -> Refund:
        """Give back ``amount`` with no goods coming back (a gesture, a price
        adjustment), within what the order has left to give; all or part of it as
        store credit with ``to_store_credit``.

        :raises RefundRefused: beyond what is left.
        :raises PaymentDeclined: if the gateway refuses.
        """
        check_key(order_id, "order_id")
        why = _reason(reason)
        check_key(actor, "actor")
        credit = check_credit_choice(to_store_credit)
        if not isinstance(amount, moneyed.Money):
            raise InvalidInput("must be Money", field="amount")

        def plan(uow: UnitOfWork, order: Order, ledger: RefundLedger, paid: int) -> RefundPlan:
            if amount.currency.code != order.currency:
                raise InvalidInput(f"must be in {order.currency}", field="amount")
            units = minor_units(amount)
            if units <= 0:
                raise InvalidInput("must be more than zero", field="amount")
            planned = ledger.plan(
                order, {}, paid_units=paid, goodwill_units=units, kind=RefundKind.GOODWILL
            )
            if planned.capped_units:
                raise RefundRefused(
                    f"only {from_minor_units(planned.total_units, order.currency).amount} "
                    "is left to give back",
                    field="amount",
                )
            return planned

        return self._make(order_id, plan, reason=why, actor=actor, to_store_credit=credit)

    def _make(
        self,
        order_id: str,
        planner: Planner,
        *,
        reason: str,
        actor: str,
        return_id: str = "",
        on_record: Callable[[UnitOfWork, Order, Refund], None] | None = None,
        to_store_credit: moneyed.Money | bool = False,
    ) -> Refund:
        """Plan, record and give back one refund (the steps every refund takes).

        The money goes back where it came from: through the gateway as far as it
        took it, the rest onto the gift cards and store credit that paid (latest
        first); ``to_store_credit`` gives all or part as store credit instead.

        :param on_record: told of the refund in the unit of work that records it
            (a return notes it).
        """
        refund_id = self._rt.ids.new_id("refund")

        def record(uow: UnitOfWork) -> Refund:
            order = uow.orders.get(order_id)
            ledger, stored = ledger_for(uow, order)
            refund = self._record(
                uow,
                order,
                ledger,
                planner,
                refund_id=refund_id,
                reason=reason,
                actor=actor,
                return_id=return_id,
                to_store_credit=to_store_credit,
            )
            (uow.records(RefundLedger).save if stored else uow.records(RefundLedger).add)(ledger)
            uow.orders.save(order)
            if on_record is not None:
                on_record(uow, order, refund)
            return refund

        refund = self._run(record, attempts=_RECORD_ATTEMPTS)
        if refund.to_gateway_units:
            return self._give_back(order_id, refund, actor=actor)
        return refund

    def _record(
        self,
        uow: UnitOfWork,
        order: Order,
        ledger: RefundLedger,
        planner: Planner,
        *,
        refund_id: str,
        reason: str,
        actor: str,
        return_id: str = "",
        to_store_credit: moneyed.Money | bool = False,
    ) -> Refund:
        """Plan and record one refund on ``ledger`` in ``uow``, paying its credit now
        when the gateway has no part in it, and note it on ``order``; the caller keeps
        both, and asks the gateway for its part once committed
        (:meth:`_give_back`)."""
        paid = ledger_paid_units(uow, order, ledger)
        plan = planner(uow, order, ledger, paid)
        # Gift cards the refunded units bought are disabled with it, or it is refused.
        take_back_sold_cards(
            uow,
            order,
            {line.sku: line.units for line in plan.lines},
            refund_id=refund_id,
            skus=self._rt.settings.gift_card_skus,
            at=self.now,
        )
        credit = _to_credit(to_store_credit, order, plan.total_units)
        gateway = min(plan.total_units - credit, _gateway_room(uow, order, ledger))
        refund = ledger.record(
            plan,
            refund_id=refund_id,
            to_gateway_units=gateway,
            reason=reason,
            at=self.now,
            actor=actor,
            return_id=return_id,
            paid_units=paid,
            store_credit_units=credit,
        )
        if not refund.to_gateway_units:
            self._credit(uow, order, refund)
        order.note("refund", _describe(refund, order.currency), at=self.now, actor=actor)
        return refund

    def _credit(self, uow: UnitOfWork, order: Order, refund: Refund) -> None:
        """Pay the credit parts of ``refund``: what the merchant chose as the
        customer's store credit, the rest onto the tenders that paid the order,
        latest first. Paid once the refund is done (its gateway part given back)."""
        at, actor = self.now, refund.actor
        asked = refund.store_credit_units
        back = refund.to_credit_units - asked
        if asked:
            credit_for_refund(
                uow,
                customer_id=order.customer_id,
                gift_card_id=None,
                currency=order.currency,
                units=asked,
                reference=refund.id,
                at=at,
                actor=actor,
            )
        for tender in reversed(order.tenders):
            if back <= 0:
                break
            units = min(back, tender.units)
            if tender.kind is TenderKind.EXCHANGE:
                # Returned units of another order paid it: that order owes it again.
                back -= release_exchange(uow, order, units, at=at, actor=actor)
                continue
            card = tender.source_id if tender.kind is TenderKind.GIFT_CARD else None
            credit_for_refund(
                uow,
                customer_id=order.customer_id,
                gift_card_id=card,
                currency=order.currency,
                units=units,
                reference=order.id,
                at=at,
                actor=actor,
            )
            back -= units
        if back > 0:
            raise RefundRefused("nothing is left to give it back through", field="order_id")

    def retry(self, order_id: str, *, actor: str = "staff") -> list[Refund]:
        """Ask the gateway again for every pending refund of the order (its answer
        was lost), each under its own key.

        :returns: the refunds as they stand after.
        """
        check_key(order_id, "order_id")
        check_key(actor, "actor")
        pending = self.for_order(order_id).pending()
        return [self._give_back(order_id, refund, actor=actor) for refund in pending]

    def _give_back(self, order_id: str, refund: Refund, *, actor: str) -> Refund:
        if not refund.to_gateway_units:
            return refund
        currency = refund.plan.currency
        amount = from_minor_units(refund.to_gateway_units, currency)
        try:
            self._payments.refund(
                order_id, amount, idempotency_key=f"refund:{refund.id}", actor=actor
            )
        except (PaymentDeclined, PaymentLimitExceeded):
            self._settle(order_id, refund.id, done=False)
            raise
        except GatewayError:
            raise  # unknown: it stays pending, to be asked again under the same key
        except CommerceError:
            self._settle(order_id, refund.id, done=False)
            raise
        return self._settle(order_id, refund.id, done=True)

    def _settle(self, order_id: str, refund_id: str, *, done: bool) -> Refund:
        def work(uow: UnitOfWork) -> Refund:
            ledger = uow.records(RefundLedger).get(RefundLedger.key(order_id))
            if ledger.settle(refund_id, done=done, at=self.now):
                uow.records(RefundLedger).save(ledger)
                settled = ledger.refund(refund_id)
                if done and settled.to_credit_units:
                    self._credit(uow, uow.orders.get(order_id), settled)
                if not done:
                    reinstate_sold_cards(uow, order_id, refund_id)
            return ledger.refund(refund_id)

        return self._run(work, attempts=_RECORD_ATTEMPTS)


def _describe(refund: Refund, currency: str) -> str:
    amount = from_minor_units(refund.plan.total_units, currency).amount
    units = ", ".join(f"{line.units} x {line.sku}" for line in refund.plan.lines)
    parts = [f"{refund.id}: {amount} {currency}", units]
    if refund.plan.shipping_units:
        parts.append("shipping")
    if refund.plan.fee_units:
        parts.append(f"less fee {from_minor_units(refund.plan.fee_units, currency).amount}")
    parts.append(refund.reason)
    return "; ".join(part for part in parts if part)[:2000]


def _reason(reason: object) -> str:
    return check_text(reason, "reason", max_length=MAX_REASON)


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput("must be true or false", field=field)
    return value
