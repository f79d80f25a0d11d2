"""Returns (RMA): asked for by the customer within the store's policy, decided by
staff, sent back with a label the carrier sells, received, inspected unit by unit
(back on a shelf, or written off), and refunded from what was paid, or exchanged
for other goods (see :mod:`~commercekit.services.exchanges`).

Every step is checked by the :class:`~commercekit.domain.returns.Return` aggregate
and written to the order's history in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import moneyed

from commercekit.domain.errors import (
    CarrierError,
    CommerceError,
    InvalidInput,
    InvalidTransition,
    RefundRefused,
    ReturnRefused,
)
from commercekit.domain.events import StockChanged
from commercekit.domain.identifiers import check_flag, check_key, check_text, check_whole_number
from commercekit.domain.inventory import MovementKind, StockChange, StockMovement
from commercekit.domain.orders import Order
from commercekit.domain.returns import (
    Claim,
    Exchange,
    Inspection,
    InspectionOutcome,
    Refund,
    RefundLedger,
    RefundPlan,
    Return,
    ReturnLabel,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
)
from commercekit.ports.carriers import LabelRequest
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_choice, check_page_size
from commercekit.services.claims import Claims
from commercekit.services.exchanges import Exchanges
from commercekit.services.fulfilment import FulfilmentService
from commercekit.services.refunds import (
    RefundService,
    check_credit_choice,
    ledger_for,
    paid_units,
)
from commercekit.services.shipped import delivered_units, return_parcels, shipped_from, units_back

__all__ = ["ReturnService"]

_NOTE = 2000


def _owner(order: Order) -> str:
    return order.customer_id or order.email_key


def _lines(lines: object) -> list[ReturnLine]:
    """The lines a return asks for, checked at the door: a list of mappings with a
    ``sku``, a ``quantity``, a ``reason`` and optionally a ``note``."""
    if not isinstance(lines, Sequence) or isinstance(lines, str | bytes):
        raise InvalidInput("expected a list of lines", field="lines")
    if not 0 < len(lines) <= 500:
        raise InvalidInput("from 1 to 500 lines", field="lines")
    checked: list[ReturnLine] = []
    for line in lines:
        if not isinstance(line, Mapping):
            raise InvalidInput("each line is a mapping", field="lines")
        unknown = set(line) - {"sku", "quantity", "reason", "note"}
        if unknown:
            raise InvalidInput(f"unknown keys {sorted(map(str, unknown))}", field="lines")
        reason = line.get("reason", ReturnReason.OTHER.value)
        try:
            why = reason if isinstance(reason, ReturnReason) else ReturnReason(reason)
        except ValueError:
            raise InvalidInput(
                f"reason must be one of {[r.value for r in ReturnReason]}", field="lines"
            ) from None
        checked.append(
            ReturnLine(
                sku=check_key(line.get("sku"), "lines"),
                quantity=check_whole_number(line.get("quantity"), "lines"),
                reason=why,
                note=check_text(line.get("note", ""), "lines", max_length=_NOTE, blank=True),
            )
        )
    return checked


def _decisions(decisions: object) -> list[Inspection]:
    if not isinstance(decisions, Sequence) or isinstance(decisions, str | bytes):
        raise InvalidInput("expected a list of decisions", field="decisions")
    if not 0 < len(decisions) <= 500:
        raise InvalidInput("from 1 to 500 decisions", field="decisions")
    checked: list[Inspection] = []
    for decision in decisions:
        if not isinstance(decision, Mapping):
            raise InvalidInput("each decision is a mapping", field="decisions")
        unknown = set(decision) - {"sku", "quantity", "outcome", "location_id"}
        if unknown:
            raise InvalidInput(f"unknown keys {sorted(map(str, unknown))}", field="decisions")
        outcome = decision.get("outcome")
        try:
            chosen = (
                outcome if isinstance(outcome, InspectionOutcome) else InspectionOutcome(outcome)
            )
        except ValueError:
            raise InvalidInput("outcome is restock or write_off", field="decisions") from None
        location = decision.get("location_id", "")
        checked.append(
            Inspection(
                sku=check_key(decision.get("sku"), "decisions"),
                quantity=check_whole_number(decision.get("quantity"), "decisions"),
                outcome=chosen,
                location_id="" if location == "" else check_key(location, "decisions"),
            )
        )
    return checked


class ReturnService(Service):
    """Returns of an order's units, from the request to the refund."""

    def __init__(
        self, runtime: Runtime, refunds: RefundService, fulfilment: FulfilmentService
    ) -> None:
        super().__init__(runtime)
        self._refunds = refunds
        self._fulfilment = fulfilment
        self._exchanges = Exchanges(runtime, refunds)
        self._claims = Claims(runtime, refunds, fulfilment)

    # --- reading ----------------------------------------------------------------------

    def get(self, return_id: str) -> Return:
        """:raises NotFound: for an unknown return."""
        check_key(return_id, "return_id")
        return self._read(lambda uow: uow.records(Return).get(return_id))

    def for_order(self, order_id: str, *, limit: int = 100) -> list[Return]:
        """The order's returns, oldest first."""
        check_key(order_id, "order_id")
        check_page_size(limit)
        return self._read(lambda uow: uow.records(Return).where(ref=order_id, limit=limit))

    def in_state(self, status: ReturnStatus | str, *, limit: int = 50) -> list[Return]:
        """The returns in ``status``, oldest first: the warehouse's queue (``received``
        awaits inspection, ``approved`` and ``label_issued`` are on their way).

        :param status: a :class:`~commercekit.domain.returns.ReturnStatus` or its value.
        """
        state = check_choice(status, ReturnStatus, "status").value
        most = check_page_size(check_whole_number(limit, "limit"))
        return self._read(lambda uow: uow.records(Return).where(state=state, limit=most))

    # --- the customer asks ------------------------------------------------------------

    def request(
        self,
        order_id: str,
        lines: Sequence[Mapping[str, Any]],
        *,
        note: str = "",
        actor: str = "customer",
    ) -> Return:
        """Ask to send units back: ``lines`` is a list of ``{"sku", "quantity",
        "reason", "note"}``, the reason one of
        :class:`~commercekit.domain.returns.ReturnReason`'s values.

        :raises ReturnRefused: ``not_delivered`` for units not delivered yet,
            ``outside_window`` past the policy's window, ``not_returnable`` for a
            product the store does not take back, ``too_many`` beyond the units
            delivered less those already on their way back.
        :raises NotFound: for an unknown order.
        """
        check_key(order_id, "order_id")
        wanted = _lines(lines)
        why = check_text(note, "note", max_length=_NOTE, blank=True)
        check_key(actor, "actor")
        policy = self._rt.settings.returns

        def work(uow: UnitOfWork) -> Return:
            order = uow.orders.get(order_id)
            shipments = uow.shipments.for_order(order.id)
            delivered, when = delivered_units(shipments)
            products = {
                variant.sku: product
                for product in uow.catalog.products_for_skus([line.sku for line in wanted])
                for variant in product.variants
            }
            on_the_way: dict[str, int] = {}
            for earlier in uow.records(Return).where(ref=order.id, limit=500):
                if earlier.open:
                    for sku, count in earlier.units.items():
                        on_the_way[sku] = on_the_way.get(sku, 0) + count
            bought = {line.sku: line for line in order.lines}
            for line in wanted:
                if line.sku not in bought:
                    raise InvalidInput(f"{line.sku} is not on the order", field="lines")
                policy.check_window(when.get(line.sku), self.now)
                product = products.get(line.sku)
                policy.check_returnable(
                    line.sku,
                    bought[line.sku].product_id,
                    () if product is None else product.category_ids,
                )
                left = delivered.get(line.sku, 0) - on_the_way.get(line.sku, 0)
                if line.quantity > left:
                    raise ReturnRefused(
                        "too_many", f"{line.sku}: {max(left, 0)} unit(s) can come back"
                    )
            made = Return.request(
                id=self._rt.ids.new_id("return"),
                order_id=order.id,
                owner=_owner(order),
                currency=order.currency,
                lines=wanted,
                note=why,
                at=self.now,
                actor=actor,
            )
            uow.records(Return).add(made)
            self._note(uow, order, "return requested", made, actor)
            return made

        return self._run(work)

    # --- staff decides ----------------------------------------------------------------

    def approve(self, return_id: str, *, actor: str = "staff") -> Return:
        """Accept a requested return. :raises InvalidTransition: unless requested."""
        return self._change(return_id, actor, lambda r: r.approve(at=self.now, actor=actor))

    def reject(self, return_id: str, reason: str, *, actor: str = "staff") -> Return:
        """Refuse a requested return, saying why. :raises InvalidTransition: unless
        requested."""
        why = check_text(reason, "reason", max_length=_NOTE)
        return self._change(
            return_id, actor, lambda r: r.reject(why, at=self.now, actor=actor), detail=why
        )

    def cancel(self, return_id: str, *, actor: str = "staff") -> Return:
        """Withdraw a return not yet received. :raises InvalidTransition: otherwise."""
        return self._change(return_id, actor, lambda r: r.cancel(at=self.now, actor=actor))

    def receive(
        self,
        return_id: str,
        units: Mapping[str, int] | None = None,
        *,
        actor: str = "staff",
    ) -> Return:
        """The parcel arrived with ``units`` per SKU (everything asked for when
        ``None``). Nothing is refunded by this: see :meth:`refund`.

        :raises InvalidTransition: unless approved.
        """
        arrived = None if units is None else _units(units)
        return self._change(
            return_id, actor, lambda r: r.receive(arrived, at=self.now, actor=actor)
        )

    def close(self, return_id: str, *, actor: str = "staff") -> Return:
        """Close a received return whose units are all decided.

        :raises InvalidTransition: otherwise.
        """
        return self._change(return_id, actor, lambda r: r.close(at=self.now, actor=actor))

    def _change(self, return_id: str, actor: str, change: Any, *, detail: str = "") -> Return:
        check_key(return_id, "return_id")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> Return:
            found = uow.records(Return).get(return_id)
            change(found)
            uow.records(Return).save(found)
            order = uow.orders.get(found.order_id)
            self._note(uow, order, f"return {found.status.value}", found, actor, detail)
            return found

        return self._run(work)

    def _note(
        self,
        uow: UnitOfWork,
        order: Order,
        action: str,
        made: Return,
        actor: str,
        detail: str = "",
    ) -> None:
        text = f"{made.id}: {made.unit_count} unit(s)" + (f"; {detail}" if detail else "")
        order.note(action, text[:_NOTE], at=self.now, actor=actor)
        uow.orders.save(order)

    # --- the label --------------------------------------------------------------------

    def issue_label(self, return_id: str, *, carrier: str, actor: str = "staff") -> Return:
        """Buy a label from ``carrier`` for sending an approved return back to the
        location its units left from; its price is the customer's to pay unless the
        policy or the return's reasons put it on the store. Asking again after a
        lost answer gets the same label (the carrier is asked by a key derived from
        the return).

        :raises InvalidTransition: unless approved.
        :raises CarrierError: when the carrier sold no label.
        """
        check_key(return_id, "return_id")
        chosen = self._rt.carrier(carrier)
        check_key(actor, "actor")

        def begin(uow: UnitOfWork) -> LabelRequest:
            found = uow.records(Return).get(return_id)
            found.check_label()
            order = uow.orders.get(found.order_id)
            if order.shipping_address is None:
                raise InvalidInput("the order has no shipping address", field="shipping_address")
            shipments = uow.shipments.for_order(order.id)
            parcels = return_parcels(shipments, found.units)
            first = shipped_from(shipments, found.lines[0].sku)
            snapshot = self._rt.catalog.get(uow)
            origin = next(
                (p for p in snapshot.locations if first and p.id == first.location_id), None
            )
            if origin is None:
                raise InvalidInput("the units left from no known location", field="location")
            return LabelRequest(
                shipment_id=found.id,
                order_id=order.id,
                origin=origin,
                destination=order.shipping_address,
                parcels=tuple(parcels),
                service="return",
                currency=order.currency,
                idempotency_key=f"return-label:{found.id}",
                now=self.now,
                inbound=True,
            )

        request = self._run(begin)
        try:
            label = chosen.buy_label(request)
        except CommerceError:
            raise
        except Exception as error:  # a carrier plugin's own failure
            raise CarrierError(f"carrier {chosen.name!r} failed: {error!r}") from error
        policy = self._rt.settings.returns

        def record(uow: UnitOfWork) -> Return:
            found = uow.records(Return).get(return_id)
            found.label_issued(
                ReturnLabel(
                    carrier=chosen.name,
                    tracking_number=label.tracking_number,
                    tracking_url=label.tracking_url,
                    price_units=label.price_units,
                    paid_by_customer=policy.customer_pays_label(found.reasons.values()),
                ),
                at=self.now,
                actor=actor,
            )
            uow.records(Return).save(found)
            order = uow.orders.get(found.order_id)
            self._note(uow, order, "return label issued", found, actor, label.tracking_number)
            return found

        return self._run(record)

    # --- inspection -------------------------------------------------------------------

    def inspect(
        self,
        return_id: str,
        decisions: Sequence[Mapping[str, Any]],
        *,
        actor: str = "staff",
    ) -> Return:
        """Decide received units: ``decisions`` is a list of ``{"sku", "quantity",
        "outcome", "location_id"}`` with ``outcome`` ``restock`` (back on the shelf
        at ``location_id``, by default the location they shipped from: a RETURN
        movement naming the shipment they left in) or ``write_off`` (damaged: no
        stock moves). Each received unit is decided once.

        :raises InvalidTransition: unless received.
        :raises InvalidInput: for units not received or decided already.
        """
        check_key(return_id, "return_id")
        wanted = _decisions(decisions)
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> Return:
            found = uow.records(Return).get(return_id)
            order = uow.orders.get(found.order_id)
            shipments = uow.shipments.for_order(order.id)
            placed: list[Inspection] = []
            for decision in wanted:
                shipment = shipped_from(shipments, decision.sku)
                if shipment is None:
                    raise InvalidInput(f"{decision.sku} was never shipped", field="decisions")
                location = decision.location_id
                if decision.outcome is InspectionOutcome.RESTOCK and not location:
                    location = shipment.location_id or ""
                placed.append(
                    Inspection(
                        sku=decision.sku,
                        quantity=decision.quantity,
                        outcome=decision.outcome,
                        location_id=location,
                        shipment_id=shipment.id,
                    )
                )
            found.inspect(placed, at=self.now, actor=actor)
            known = {location.id for location in uow.inventory.locations()}
            changes = []
            for decision in placed:
                if decision.outcome is not InspectionOutcome.RESTOCK:
                    continue
                if decision.location_id not in known:
                    raise InvalidInput("no such stock location", field="decisions")
                movement = StockMovement(
                    id=self._rt.ids.new_id("movement"),
                    sku=decision.sku,
                    location_id=decision.location_id,
                    kind=MovementKind.RETURN,
                    quantity=decision.quantity,
                    at=self.now,
                    reason=f"return {found.id}",
                    reference=decision.shipment_id,
                )
                changes.append(StockChange.move(movement, floor=movement.floor))
            restocked: dict[str, int] = {}
            for change in changes:
                restocked[change.sku] = restocked.get(change.sku, 0) + change.on_hand
            for sku, count in restocked.items():
                shipped = order.fulfilled.get(sku, 0)
                if units_back(uow, order, sku) + count > shipped:
                    raise InvalidInput(
                        f"{sku}: more would be back on a shelf than the order shipped",
                        field="decisions",
                    )
            if changes:
                uow.inventory.apply(changes)
                skus = tuple(dict.fromkeys(change.sku for change in changes))
                uow.record_events([StockChanged(occurred_at=self.now, skus=skus)])
            uow.records(Return).save(found)
            summary = ", ".join(f"{d.quantity} {d.sku} {d.outcome.value}" for d in placed)
            self._note(uow, order, "return inspected", found, actor, summary)
            return found

        return self._run(work)

    # --- claims -----------------------------------------------------------------------

    def claim(
        self,
        shipment_id: str,
        *,
        kind: str,
        resolution: str,
        note: str = "",
        location_id: str | None = None,
        actor: str = "staff",
        order_id: str | None = None,
    ) -> Claim:
        """A dispatched shipment was lost or arrived damaged: make the customer whole,
        by sending its units again or refunding them (see
        :meth:`commercekit.services.claims.Claims.claim`, which this is)."""
        return self._claims.claim(
            shipment_id,
            kind=kind,
            resolution=resolution,
            note=note,
            location_id=location_id,
            actor=actor,
            order_id=order_id,
        )

    def claims_for(self, order_id: str) -> list[Claim]:
        """The order's claims, oldest first."""
        return self._claims.for_order(order_id)

    # --- refunds ----------------------------------------------------------------------

    def plan_refund(self, return_id: str, *, shipping: bool = False) -> RefundPlan:
        """What refunding the return would give back now (nothing is recorded): its
        units (those received, once it was received), less the restocking fee on the
        units whose reason is not waived and, when the customer pays the return
        label, its price; with the order's shipping if asked.

        :raises RefundRefused: for units refunded already.
        """
        check_key(return_id, "return_id")
        check_flag(shipping, "shipping")

        def read(uow: UnitOfWork) -> RefundPlan:
            found = uow.records(Return).get(return_id)
            order = uow.orders.get(found.order_id)
            ledger, _ = ledger_for(uow, order)
            return self._plan(found, order, ledger, paid_units(uow, order), shipping)

        return self._read(read)

    def _plan(
        self, found: Return, order: Order, ledger: RefundLedger, paid: int, shipping: bool
    ) -> RefundPlan:
        policy = self._rt.settings.returns
        units = dict(found.received) if found.received else found.units
        charged = frozenset(
            sku for sku, reason in found.reasons.items() if policy.charges_fee(reason)
        )
        label = found.label
        label_units = label.price_units if label is not None and label.paid_by_customer else 0
        return ledger.plan(
            order,
            units,
            paid_units=paid,
            shipping=shipping,
            fee_percent=policy.restocking_fee_percent if charged else None,
            fee_fixed_units=(policy.fixed_fee_units(order.currency) if charged else 0)
            + label_units,
            fee_skus=charged if not label_units else None,
        )

    def refund(
        self,
        return_id: str,
        *,
        shipping: bool = False,
        to_store_credit: moneyed.Money | bool = False,
        actor: str = "staff",
    ) -> Refund:
        """Give back what was paid for the return's units (see :meth:`plan_refund`),
        back where it came from (the gateway, then the gift cards and store credit
        that paid), or all (``True``) or part of it as store credit with
        ``to_store_credit``. A return is refunded once; an order's units never twice.

        :raises InvalidTransition: for a return not approved, or closed.
        :raises RefundRefused: for units refunded already.
        :raises PaymentDeclined: if the gateway refuses (nothing of it counts then).
        """
        check_key(return_id, "return_id")
        check_flag(shipping, "shipping")
        check_key(actor, "actor")
        order_id = self.get(return_id).order_id

        def plan(uow: UnitOfWork, order: Order, ledger: RefundLedger, paid: int) -> RefundPlan:
            found = uow.records(Return).get(return_id)
            if not found.refundable:
                raise InvalidTransition("return", found.status.value, "refund")
            if found.exchange_id:
                raise RefundRefused("this return was exchanged", field="return_id")
            if found.refund_ids:
                raise RefundRefused("this return has been refunded", field="return_id")
            return self._plan(found, order, ledger, paid, shipping)

        def noted(uow: UnitOfWork, order: Order, refund: Refund) -> None:
            found = uow.records(Return).get(return_id)
            found.add_refund(refund.id, at=self.now, actor=actor)
            uow.records(Return).save(found)

        return self._refunds._make(
            order_id,
            plan,
            reason=f"return {return_id}",
            actor=actor,
            return_id=return_id,
            on_record=noted,
            to_store_credit=check_credit_choice(to_store_credit),
        )

    # --- exchanges --------------------------------------------------------------------

    def exchange(
        self,
        return_id: str,
        replacements: Mapping[str, str],
        *,
        payment_token: str | None = None,
        gateway: str | None = None,
        actor: str = "staff",
    ) -> Exchange:
        """Send other goods in place of the return's units: ``replacements`` maps each
        SKU coming back (those received, once it was received) to the SKU sent
        instead, as many units of it. The replacement is a new order for the original
        order's customer, addresses and shipping method, priced at today's prices
        (no coupon, shipping free) and paid first by what the returned units were
        worth, with no restocking fee. Costing that much, it opens paid; costing
        less, the difference is refunded on the original order; costing more, the
        difference is charged on the replacement's own payment with
        ``payment_token`` through ``gateway`` (the original order's by default).
        Its stock is held at once, and it ships as any order does.

        :raises InvalidTransition: unless the return was approved (and not closed),
            or once it was exchanged.
        :raises RefundRefused: once the return was refunded.
        :raises InvalidInput: naming ``replacements`` when a SKU coming back has no
            replacement or a SKU named is not coming back, or ``payment_token`` when
            the difference is to be charged without one.
        :raises UnknownSku: naming ``replacements``, for a SKU the catalogue does not
            sell.
        :raises InsufficientStock: when the replacement's stock cannot be held.
        :raises PaymentDeclined: when the gateway refuses the difference: the
            replacement is cancelled, its stock released, and the return is as it was.
        :raises GatewayError: when the gateway's answer is unknown; the exchange is
            pending until the sweep settles its replacement's payment.
        """
        return self._exchanges.make(
            return_id,
            replacements,
            payment_token=payment_token,
            gateway=gateway,
            actor=actor,
        )

    def exchanges_for(self, order_id: str) -> list[Exchange]:
        """The exchanges an order took part in: those of its returned units (oldest
        first), and the one it is the replacement order of."""
        check_key(order_id, "order_id")
        return self._exchanges.for_order(order_id)


def _units(units: object) -> dict[str, int]:
    if not isinstance(units, Mapping):
        raise InvalidInput("expected a mapping of SKU to units", field="units")
    return {
        check_key(sku, "units"): check_whole_number(count, "units") for sku, count in units.items()
    }
