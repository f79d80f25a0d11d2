"""Claims on shipments a carrier lost or damaged: the customer is made whole by
sending the goods again or by refunding what was paid for them, once per shipment,
the claim written in the unit of work that settles it."""

from __future__ import annotations

from commercekit.domain.errors import InvalidTransition, NotFound
from commercekit.domain.fulfilment import Shipment
from commercekit.domain.identifiers import check_key, check_text
from commercekit.domain.orders import Order
from commercekit.domain.returns import (
    Claim,
    ClaimKind,
    ClaimResolution,
    Refund,
    RefundLedger,
    RefundPlan,
)
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_choice
from commercekit.services.fulfilment import FulfilmentService
from commercekit.services.refunds import RefundService

__all__ = ["Claims"]

_NOTE = 2000


class Claims(Service):
    """Claims on shipments (reached through
    :class:`~commercekit.services.returns.ReturnService`)."""

    def __init__(
        self, runtime: Runtime, refunds: RefundService, fulfilment: FulfilmentService
    ) -> None:
        super().__init__(runtime)
        self._refunds = refunds
        self._fulfilment = fulfilment

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
        """A dispatched shipment was lost or arrived damaged (``kind``): make the
        customer whole by sending its units again (``resolution`` ``reship``, from
        ``location_id`` or where allocation picks) or by refunding what was paid for
        them (``refund``). One claim per shipment; with ``order_id``, only a shipment
        of that order.

        :raises InvalidTransition: for a shipment that has not left, or one claimed
            already.
        :raises RefundRefused: for units refunded already (a refund claim).
        """
        check_key(shipment_id, "shipment_id")
        what = check_choice(kind, ClaimKind, "kind")
        how = check_choice(resolution, ClaimResolution, "resolution")
        why = check_text(note, "note", max_length=_NOTE, blank=True)
        chosen = None if location_id is None else check_key(location_id, "location_id")
        check_key(actor, "actor")
        if order_id is not None:
            check_key(order_id, "order_id")

        def open_claim(uow: UnitOfWork) -> tuple[Claim, Shipment]:
            shipment = uow.shipments.get(shipment_id)
            if order_id is not None and shipment.order_id != order_id:
                raise NotFound("shipment", shipment_id, field="shipment_id")
            if not shipment.status.dispatched:
                raise InvalidTransition("shipment", shipment.status.value, "claim")
            if uow.records(Claim).find(Claim.key(shipment_id)) is not None:
                raise InvalidTransition("shipment", "claimed", "claim")
            made = Claim(
                id=Claim.key(shipment_id),
                order_id=shipment.order_id,
                shipment_id=shipment_id,
                carrier=shipment.carrier,
                kind=what,
                resolution=how,
                note=why,
                created_at=self.now,
                actor=actor,
            )
            return made, shipment

        def file(uow: UnitOfWork, made: Claim) -> None:
            uow.records(Claim).add(made)
            order = uow.orders.get(made.order_id)
            detail = f"{shipment_id}: {how.value}"
            order.note(f"claim: {what.value}", detail, at=self.now, actor=actor)
            uow.orders.save(order)

        if how is ClaimResolution.RESHIP:

            def reship(uow: UnitOfWork) -> Claim:
                made, shipment = open_claim(uow)
                replacement = self._fulfilment._send_again(uow, shipment, chosen, actor)
                made.settled_by_shipment(replacement.id)
                file(uow, made)
                return made

            return self._run(reship)
        opened: list[Claim] = []

        def plan(uow: UnitOfWork, order: Order, ledger: RefundLedger, paid: int) -> RefundPlan:
            made, shipment = open_claim(uow)
            opened[:] = [made]
            return ledger.plan(order, dict(shipment.lines), paid_units=paid)

        def settle(uow: UnitOfWork, order: Order, refund: Refund) -> None:
            made = opened[0]
            made.settled_by_refund(refund.id)
            file(uow, made)

        order_of = self._read(lambda uow: uow.shipments.get(shipment_id).order_id)
        self._refunds._make(
            order_of,
            plan,
            reason=f"{what.value} in transit: {shipment_id}",
            actor=actor,
            on_record=settle,
        )
        return self._read(lambda uow: uow.records(Claim).get(Claim.key(shipment_id)))

    def for_order(self, order_id: str) -> list[Claim]:
        """The order's claims, oldest first."""
        check_key(order_id, "order_id")
        return self._read(lambda uow: uow.records(Claim).where(ref=order_id, limit=500))
