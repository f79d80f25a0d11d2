"""Refunds computed, not typed: what the customer paid for the units that come back.

A unit's price is the line's total (its price, less its share of every discount,
plus its tax) divided among the line's units; the first units returned get the floor
of their share and the last unit the remainder, so that returning every unit of a
line, in any number of parts and any order, gives back the line's total exactly.
Shipping (and its tax) is the order's total less its lines': refunded once, whole,
when asked for. A restocking fee comes off; a goodwill refund is an amount with a
reason. Whatever the parts, an order never gives back more than it was paid, and
gives back exactly that when every unit and the shipping have come back.

The order's :class:`RefundLedger` records every refund with its parts; it is one
record, version-checked, so of two refunds of the same units at once one is
recorded and the other finds the units refunded.

Units exchanged for other goods come back like any others, but what they were
worth pays for a replacement order (``to_exchange_units``) rather than going back
to the customer; what they were worth beyond the replacement's price goes back as
a refund of its own, so that a gateway refusing that part never undoes the
exchange. Should the replacement give some of it back (it was cancelled, or its
goods came back), that much is *released*: the order owes it to the customer
again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Final

import attrs

from commercekit.domain.errors import InvalidInput, InvalidTransition, RefundRefused
from commercekit.domain.events import DomainEvent, RefundIssued
from commercekit.domain.indexed import Index
from commercekit.domain.money.splitting import allocate_units
from commercekit.domain.orders import Order, OrderLine

__all__ = [
    "PlannedLine",
    "Refund",
    "RefundKind",
    "RefundLedger",
    "RefundPlan",
    "RefundStatus",
    "fee_units",
    "line_share",
]

_HUNDRED: Final = Decimal(100)


def line_share(line: OrderLine, before: int, units: int) -> tuple[int, int]:
    """``(paid, tax)`` in minor units for ``units`` more units of ``line`` after
    ``before`` came back: the difference of the cumulative shares, each the floor of
    its exact part until the last unit, which takes the rest.

    :raises InvalidInput: for more units than the line has left.
    """
    if units < 0 or before < 0 or before + units > line.quantity:
        raise InvalidInput(
            f"{line.sku}: {units} more after {before} is beyond the {line.quantity} bought",
            field="quantities",
        )

    def upto(count: int, whole: int) -> int:
        return whole if count == line.quantity else whole * count // line.quantity

    after = before + units
    paid = upto(after, line.total_units) - upto(before, line.total_units)
    tax = upto(after, line.tax_units) - upto(before, line.tax_units)
    return paid, tax


def fee_units(merchandise_units: int, *, percent: Decimal | None, fixed_units: int) -> int:
    """A restocking fee on ``merchandise_units`` worth of returned goods: a percentage
    (half up to the minor unit) and a fixed part, never more than the goods."""
    fee = fixed_units
    if percent:
        fee += int((merchandise_units * percent / _HUNDRED).to_integral_value("ROUND_HALF_UP"))
    return max(0, min(fee, merchandise_units))


class RefundKind(enum.Enum):
    """Why money went back."""

    RETURN = "return"
    GOODWILL = "goodwill"
    """No goods came back: a gesture, a price adjustment, a lost parcel."""
    EDIT = "edit"
    """The order was changed after placement and costs less."""
    EXCHANGE = "exchange"
    """Units came back to be exchanged: what they were worth paid for a replacement
    order, and what was left of it went back."""


class RefundStatus(enum.Enum):
    """Where a refund stands with the gateway."""

    PENDING = "pending"
    """Recorded; the gateway's part is being asked for (or its answer is unknown)."""
    DONE = "done"
    FAILED = "failed"
    """The gateway refused: nothing of it counts, its units may be refunded again."""


@attrs.frozen(kw_only=True)
class PlannedLine:
    """What comes back of one line: its units, what was paid for them, their tax
    (and that tax per rate, as the order line names its rates)."""

    sku: str
    units: int
    before: int = 0
    """Units of the line that had come back before: the amounts are theirs to follow."""
    paid_units: int
    tax_units: int
    taxes: tuple[tuple[str, str, int], ...] = ()
    """``(name, rate, minor units)``: the line's taxes, shared as its tax is."""


@attrs.frozen(kw_only=True)
class RefundPlan:
    """A refund worked out before it is made: its parts and its total."""

    order_id: str
    currency: str
    kind: RefundKind
    lines: tuple[PlannedLine, ...] = ()
    shipping_units: int = 0
    shipping_tax_units: int = 0
    fee_units: int = 0
    goodwill_units: int = 0
    capped_units: int = 0
    """Taken off because the order had less left to give back (a goodwill refund
    before, or a payment captured short)."""
    difference_units: int = 0
    """Of an exchange, what the units were worth beyond the replacement's price: not
    in this refund, but in the one that follows it."""
    total_units: int
    """What goes back: lines and shipping and goodwill, less the fee, the cap and
    an exchange's difference."""

    @property
    def units(self) -> dict[str, int]:
        """Units per SKU coming back."""
        return {line.sku: line.units for line in self.lines}

    @property
    def tax_units(self) -> int:
        """The tax inside the total (lines and shipping), before fee and cap."""
        return sum(line.tax_units for line in self.lines) + self.shipping_tax_units


@attrs.frozen(kw_only=True)
class Refund:
    """One refund as recorded: its plan, where the money went, and its state."""

    id: str
    at: datetime
    actor: str
    reason: str
    plan: RefundPlan
    to_gateway_units: int
    to_credit_units: int
    """Credit: onto the customer's store credit and back onto the order's tenders."""
    store_credit_units: int = 0
    """Of the credit, what the merchant chose to give as store credit (the rest goes
    back onto the gift cards and store credit that paid)."""
    to_exchange_units: int = 0
    """What paid for a replacement order (an exchange): neither the gateway's nor
    credit."""
    released_units: int = 0
    """Of ``to_exchange_units``, what the replacement gave back (it was cancelled,
    or its goods came back): owed to the customer on this order again."""
    return_id: str = ""
    status: RefundStatus = RefundStatus.PENDING

    @property
    def counts(self) -> bool:
        """Whether it counts against what the order may give back."""
        return self.status is not RefundStatus.FAILED

    @property
    def counted_units(self) -> int:
        """What it takes of what the order may give back: its total, less what a
        replacement released."""
        return self.plan.total_units - self.released_units if self.counts else 0


@attrs.define(kw_only=True, eq=False)
class RefundLedger:
    """Every refund of one order, in the order made."""

    KIND: ClassVar[str] = "refund_ledger"

    id: str
    order_id: str
    currency: str
    opened_at: datetime
    refunds: tuple[Refund, ...] = ()
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(order_id: str) -> str:
        """The ledger's id for an order."""
        return f"refunds:{order_id}"

    @classmethod
    def open(cls, order: Order, *, at: datetime) -> RefundLedger:
        """An empty ledger for ``order``."""
        return cls(id=cls.key(order.id), order_id=order.id, currency=order.currency, opened_at=at)

    def index(self) -> Index:
        pending = any(r.status is RefundStatus.PENDING for r in self.refunds)
        return Index(at=self.opened_at, ref=self.order_id, state="pending" if pending else "")

    # --- what has gone back -----------------------------------------------------------

    def _counted(self) -> list[Refund]:
        return [refund for refund in self.refunds if refund.counts]

    @property
    def refunded_units(self) -> int:
        """What the refunds that count give back (or gave to a replacement order and
        still stands), in minor units."""
        return sum(refund.counted_units for refund in self._counted())

    @property
    def exchanged_units(self) -> int:
        """What paid for replacement orders and still stands."""
        return sum(r.to_exchange_units - r.released_units for r in self._counted())

    @property
    def gateway_units(self) -> int:
        """What of it goes back through the gateway."""
        return sum(refund.to_gateway_units for refund in self._counted())

    def returned(self) -> dict[str, int]:
        """Units per SKU refunded as returned."""
        units: dict[str, int] = {}
        for refund in self._counted():
            for line in refund.plan.lines:
                units[line.sku] = units.get(line.sku, 0) + line.units
        return units

    @property
    def shipping_refunded(self) -> bool:
        """Whether the shipping has gone back."""
        return any(
            refund.plan.shipping_units or refund.plan.shipping_tax_units
            for refund in self._counted()
        )

    def refund(self, refund_id: str) -> Refund:
        """:raises InvalidInput: for a refund this ledger does not hold."""
        for refund in self.refunds:
            if refund.id == refund_id:
                return refund
        raise InvalidInput("no such refund on this order", field="refund_id")

    # --- planning ---------------------------------------------------------------------

    def plan(
        self,
        order: Order,
        units: Mapping[str, int],
        *,
        paid_units: int,
        shipping: bool = False,
        fee_percent: Decimal | None = None,
        fee_fixed_units: int = 0,
        fee_skus: frozenset[str] | None = None,
        goodwill_units: int = 0,
        kind: RefundKind = RefundKind.RETURN,
    ) -> RefundPlan:
        """What goes back for ``units`` (per SKU) more of ``order``'s units, with the
        shipping if asked and not refunded yet, less a restocking fee on the units of
        ``fee_skus`` (all of them when ``None``), plus ``goodwill_units``; never more
        than ``paid_units`` less what was refunded before.

        :raises InvalidInput: for an unknown SKU, or more units than were bought.
        :raises RefundRefused: for units refunded already, or nothing to give back.
        """
        if order.id != self.order_id:
            raise InvalidInput("this ledger is another order's", field="order_id")
        lines = {line.sku: line for line in order.lines}
        before = self.returned()
        planned: list[PlannedLine] = []
        for sku, count in sorted(units.items()):
            line = lines.get(sku)
            if line is None:
                raise InvalidInput(f"{sku} is not on the order", field="quantities")
            if count <= 0:
                continue
            done = before.get(sku, 0)
            if count <= line.quantity < done + count:
                raise RefundRefused(
                    f"{sku}: {done} of {line.quantity} unit(s) have been refunded already",
                    field="quantities",
                )
            paid, tax = line_share(line, done, count)
            weights = [units_ for _, _, units_ in line.taxes]
            shares = allocate_units(tax, weights) if tax and sum(weights) else [0] * len(weights)
            taxes = tuple(
                (name, rate, share)
                for (name, rate, _), share in zip(line.taxes, shares, strict=True)
            )
            planned.append(
                PlannedLine(
                    sku=sku,
                    units=count,
                    before=done,
                    paid_units=paid,
                    tax_units=tax,
                    taxes=taxes,
                )
            )
        shipping_units = shipping_tax = 0
        if shipping and not self.shipping_refunded:
            shipping_units = order.totals.grand_total_units - sum(
                line.total_units for line in order.lines
            )
            shipping_tax = order.totals.shipping_tax_units
        charged = [p.paid_units for p in planned if fee_skus is None or p.sku in fee_skus]
        fee = fee_units(sum(charged), percent=fee_percent, fixed_units=fee_fixed_units)
        if not any(charged):
            fee = 0
        gross = sum(p.paid_units for p in planned) + shipping_units + goodwill_units - fee
        left = max(0, paid_units - self.refunded_units)
        total = min(gross, left)
        if self._completes(order, planned, shipping_units) and fee == 0 and not goodwill_units:
            # Everything is back: what is left is exactly what goes back.
            total = left
        if total <= 0:
            raise RefundRefused("nothing is left to give back for this order")
        return RefundPlan(
            order_id=order.id,
            currency=order.currency,
            kind=kind,
            lines=tuple(planned),
            shipping_units=shipping_units,
            shipping_tax_units=shipping_tax,
            fee_units=fee,
            goodwill_units=goodwill_units,
            capped_units=max(0, gross - total),
            total_units=total,
        )

    def plan_exchange(
        self, order: Order, units: Mapping[str, int], *, paid_units: int, price_units: int
    ) -> RefundPlan:
        """What ``units`` (per SKU) more of ``order``'s units pay toward a replacement
        costing ``price_units``: their worth as :meth:`plan` prices it (no restocking
        fee: the goods are being swapped, not sent back for money), up to the price;
        what they were worth beyond it is the plan's ``difference_units``, for the
        refund that follows (:meth:`plan_difference`).

        :raises InvalidInput: for an unknown SKU, more units than were bought, or a
            negative price.
        :raises RefundRefused: for units refunded already, or nothing to give back.
        """
        if price_units < 0:
            raise InvalidInput("a replacement costs nothing or more", field="price_units")
        worth = self.plan(order, units, paid_units=paid_units, kind=RefundKind.EXCHANGE)
        exchanged = min(worth.total_units, price_units)
        return attrs.evolve(
            worth, total_units=exchanged, difference_units=worth.total_units - exchanged
        )

    def plan_difference(self, order: Order, exchange: RefundPlan, *, paid_units: int) -> RefundPlan:
        """The refund that follows an exchange's (:meth:`plan_exchange`): what its
        units were worth beyond the replacement's price, never more than is left of
        ``paid_units``.

        :raises RefundRefused: when the exchange leaves no difference, or nothing is
            left to give back.
        """
        if order.id != self.order_id or exchange.order_id != self.order_id:
            raise InvalidInput("this ledger is another order's", field="order_id")
        left = max(0, paid_units - self.refunded_units)
        total = min(exchange.difference_units, left)
        if total <= 0:
            raise RefundRefused("nothing is left to give back for this exchange")
        return RefundPlan(
            order_id=order.id,
            currency=order.currency,
            kind=RefundKind.EXCHANGE,
            capped_units=exchange.difference_units - total,
            total_units=total,
        )

    def _completes(self, order: Order, planned: list[PlannedLine], shipping_units: int) -> bool:
        back = self.returned()
        for line in planned:
            back[line.sku] = back.get(line.sku, 0) + line.units
        every_unit = all(back.get(line.sku, 0) >= line.quantity for line in order.lines)
        has_shipping = order.totals.grand_total_units != sum(x.total_units for x in order.lines)
        shipping_back = self.shipping_refunded or bool(shipping_units) or not has_shipping
        return every_unit and shipping_back

    # --- recording --------------------------------------------------------------------

    def record(
        self,
        plan: RefundPlan,
        *,
        refund_id: str,
        to_gateway_units: int,
        reason: str,
        at: datetime,
        actor: str,
        return_id: str = "",
        paid_units: int,
        store_credit_units: int = 0,
        to_exchange_units: int = 0,
        pending: bool = False,
    ) -> Refund:
        """Record a refund made to ``plan``: ``to_gateway_units`` of it through the
        gateway, ``to_exchange_units`` toward a replacement order, the rest as
        credit. The plan is checked against the ledger as it is now, so one made
        before another refund landed is refused.

        :param pending: keep it pending although the gateway has no part in it (an
            exchange whose replacement is still being paid for): :meth:`settle`
            decides it.
        :raises RefundRefused: if its units or amount are no longer left.
        :raises InvalidInput: for a split outside the plan's total.
        """
        if plan.order_id != self.order_id:
            raise InvalidInput("this plan is another order's", field="order_id")
        if not 0 <= to_exchange_units <= plan.total_units:
            raise InvalidInput(
                f"must be from 0 to {plan.total_units} minor units", field="to_exchange"
            )
        if not 0 <= to_gateway_units <= plan.total_units - store_credit_units - to_exchange_units:
            raise InvalidInput(
                f"must be from 0 to {plan.total_units} minor units", field="to_gateway"
            )
        if store_credit_units < 0:
            raise InvalidInput("must not be negative", field="to_store_credit")
        if any(refund.id == refund_id for refund in self.refunds):
            raise InvalidTransition("refund", "recorded", "record again")
        before = self.returned()
        if any(line.before != before.get(line.sku, 0) for line in plan.lines):
            # Priced as the next units back, and others came back since.
            raise RefundRefused("another refund of these units landed first; plan it again")
        if self.refunded_units + plan.total_units > paid_units:
            raise RefundRefused("that is more than is left to give back for this order")
        if plan.shipping_units and self.shipping_refunded:
            raise RefundRefused("the shipping has been refunded already")
        refund = Refund(
            id=refund_id,
            at=at,
            actor=actor,
            reason=reason,
            plan=plan,
            to_gateway_units=to_gateway_units,
            to_credit_units=plan.total_units - to_gateway_units - to_exchange_units,
            store_credit_units=store_credit_units,
            to_exchange_units=to_exchange_units,
            return_id=return_id,
            status=RefundStatus.PENDING if to_gateway_units or pending else RefundStatus.DONE,
        )
        self.refunds = (*self.refunds, refund)
        self.version += 1
        if refund.status is RefundStatus.DONE:
            self._issued(refund, at)
        return refund

    def _check_not_stale(self, plan: RefundPlan, before: Mapping[str, int]) -> None:
        """A plan's line amounts assume the units refunded before it; any refund
        recorded since makes it stale."""
        if plan.kind is not RefundKind.RETURN:
            return
        planned_before = getattr(plan, "_before", None)
        if planned_before is not None and planned_before != dict(before):
            raise RefundRefused("another refund of these units landed first; plan again")

    def settle(self, refund_id: str, *, done: bool, at: datetime) -> bool:
        """The gateway's answer for a pending refund: done, or refused (then it no
        longer counts).

        :returns: whether anything changed.
        """
        refund = self.refund(refund_id)
        if refund.status is not RefundStatus.PENDING:
            return False
        status = RefundStatus.DONE if done else RefundStatus.FAILED
        settled = attrs.evolve(refund, status=status)
        self.refunds = tuple(settled if r.id == refund_id else r for r in self.refunds)
        self.version += 1
        if done:
            self._issued(settled, at)
        return True

    def release(self, refund_id: str, units: int) -> int:
        """The replacement an exchange paid for gave back ``units`` of what it was
        paid (it was cancelled, or its goods came back): that much is owed to the
        customer on this order again, as much as the exchange has left.

        :returns: the minor units released (fewer than asked when less was left).
        :raises InvalidInput: for a refund that paid no replacement, or a negative
            amount.
        :raises InvalidTransition: for an exchange not done (its replacement not paid
            yet, or undone).
        """
        refund = self.refund(refund_id)
        if units < 0 or not refund.to_exchange_units:
            raise InvalidInput("only what paid for a replacement is released", field="units")
        if refund.status is not RefundStatus.DONE:
            raise InvalidTransition("exchange", refund.status.value, "release")
        taken = min(units, refund.to_exchange_units - refund.released_units)
        if taken:
            released = attrs.evolve(refund, released_units=refund.released_units + taken)
            self.refunds = tuple(released if r.id == refund_id else r for r in self.refunds)
            self.version += 1
        return taken

    def _issued(self, refund: Refund, at: datetime) -> None:
        self.events.append(
            RefundIssued(
                occurred_at=at,
                order_id=self.order_id,
                refund_id=refund.id,
                currency=self.currency,
                total_units=refund.plan.total_units,
                to_gateway_units=refund.to_gateway_units,
                to_credit_units=refund.to_credit_units,
                to_exchange_units=refund.to_exchange_units,
                return_id=refund.return_id,
            )
        )

    def pending(self) -> list[Refund]:
        """Refunds whose gateway part is still being asked for."""
        return [refund for refund in self.refunds if refund.status is RefundStatus.PENDING]
