"""Fulfilment: shipments planned from where an order's stock is held, labels bought
from carriers, dispatch that consumes exactly a shipment's units, and tracking.

Whatever moves goods follows the order's rule of one change at a time: planning,
dispatching and following tracking each write the order too (its fulfilment status
moves, or its version does), so a cancellation racing any of them either comes first
(and nothing ships) or finds the goods gone. A label is bought in three steps like a
payment: the shipment is read, the carrier is asked with a key derived from the
shipment, and the answer is recorded only if the shipment still waits for it
(otherwise the label is given back).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Final

from commercekit.domain.errors import (
    CarrierError,
    CommerceError,
    ConcurrencyConflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    WebhookRejected,
    shown,
)
from commercekit.domain.fulfilment import LineToShip, Shipment, ShipmentStatus, plan_shipments
from commercekit.domain.identifiers import (
    check_key,
    check_quantities,
    check_text,
)
from commercekit.domain.inventory import plan_holds
from commercekit.domain.orders import Order
from commercekit.domain.shipping import (
    Label,
    PackedUnit,
    Parcel,
    ParcelLimits,
    TrackingEvent,
    pack,
)
from commercekit.ports.carriers import LabelRequest
from commercekit.ports.notifications import Rendered, Templates
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_page_size
from commercekit.services.documents import packing_slip_data, pick_list_data

__all__ = ["FulfilmentService"]

log = logging.getLogger(__name__)

#: How many shipments one pass of :meth:`FulfilmentService.refresh_tracking` reads at once.
_PAGE: Final = 100
#: The most tracking events one call applies to a shipment.
MOST_EVENTS: Final = 1000


def _earmarked(shipments: Iterable[Shipment]) -> dict[tuple[str, str], int]:
    """Units per ``(SKU, location)`` that shipments not yet gone have taken for
    themselves."""
    taken: dict[tuple[str, str], int] = {}
    for shipment in shipments:
        waiting = shipment.status in (ShipmentStatus.PENDING, ShipmentStatus.LABEL_BOUGHT)
        if waiting and shipment.location_id is not None:
            for sku, units in shipment.items.items():
                key = (sku, shipment.location_id)
                taken[key] = taken.get(key, 0) + units
    return taken


def _planned(shipments: Iterable[Shipment]) -> dict[str, int]:
    """Units per order-line SKU carried by shipments that are not cancelled."""
    units: dict[str, int] = {}
    for shipment in shipments:
        if shipment.status is not ShipmentStatus.CANCELLED:
            for sku, n in shipment.lines.items():
                units[sku] = units.get(sku, 0) + n
    return units


def _follow(order: Order, shipments: Sequence[Shipment], *, at: datetime, actor: str) -> None:
    """The order follows its shipments: a line's units count as shipped (delivered)
    once the shipment carrying them has, and every shipment carrying parts of them
    too."""
    shipped: dict[str, int] = {}
    delivered: dict[str, int] = {}
    for shipment in shipments:
        if shipment.status is ShipmentStatus.CANCELLED:
            continue
        gone = shipment.status.dispatched
        arrived = shipment.status is ShipmentStatus.DELIVERED
        for sku, n in shipment.lines.items():
            shipped[sku] = shipped.get(sku, 0) + (n if gone else 0)
            delivered[sku] = delivered.get(sku, 0) + (n if arrived else 0)
        for sku, n in shipment.parts_of.items():
            if not gone:
                shipped[sku] = shipped.get(sku, 0) - n
            if not arrived:
                delivered[sku] = delivered.get(sku, 0) - n
    left = any(shipment.status.dispatched for shipment in shipments)
    order.follow_shipments(
        {sku: max(n, 0) for sku, n in shipped.items()},
        {sku: max(n, 0) for sku, n in delivered.items()},
        at=at,
        actor=actor,
        left=left,
    )


def _units_to_ship(quantities: object) -> dict[str, int] | None:
    """``quantities`` as SKU to units, each at least 1; ``None`` for everything left.

    :raises InvalidInput: naming ``quantities``.
    """
    if quantities is None:
        return None
    checked = check_quantities(quantities, "quantities")
    if not checked:
        raise InvalidInput("name at least one SKU to ship", field="quantities")
    if any(units < 1 for units in checked.values()):
        raise InvalidInput("must be whole numbers of at least 1", field="quantities")
    return checked


def _check_events(events: object) -> list[TrackingEvent]:
    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        raise InvalidInput("expected a list of TrackingEvent", field="events")
    if len(events) > MOST_EVENTS:
        raise InvalidInput(f"at most {MOST_EVENTS} events at once", field="events")
    if not all(isinstance(event, TrackingEvent) for event in events):
        raise InvalidInput("expected TrackingEvent values", field="events")
    return list(events)


def _tracked(uow: UnitOfWork, *, after: str) -> list[Shipment]:
    return uow.shipments.tracked(after=after, limit=_PAGE)


def _by_number(uow: UnitOfWork, *, number: str) -> list[Shipment]:
    return uow.shipments.by_tracking_number(number)


class FulfilmentService(Service):
    """Shipments of placed orders: plan, label, dispatch, track, cancel."""

    def __init__(self, runtime: Runtime, templates: Templates) -> None:
        super().__init__(runtime)
        self._templates = templates

    # --- reading -------------------------------------------------------------------

    def get(self, shipment_id: str) -> Shipment:
        """A shipment by id.

        :raises NotFound: for an unknown id.
        """
        check_key(shipment_id, "shipment_id")
        return self._read(lambda uow: uow.shipments.get(shipment_id))

    def for_order(self, order_id: str) -> list[Shipment]:
        """An order's shipments, oldest first."""
        check_key(order_id, "order_id")
        return self._read(lambda uow: uow.shipments.for_order(order_id))

    # --- planning ------------------------------------------------------------------

    def _plan(
        self, uow: UnitOfWork, order: Order, quantities: Mapping[str, int] | None
    ) -> tuple[list[Shipment], list[Shipment]]:
        """New shipments for ``quantities`` (everything left by default), and the
        order's shipments before them."""
        order.check_can_ship()
        existing = uow.shipments.for_order(order.id)
        left = order.left_to_ship(_planned(existing))
        wanted = dict(left) if quantities is None else dict(quantities)
        ships = {line.sku for line in order.lines if line.requires_shipping}
        for sku, units in wanted.items():
            if sku not in ships and any(line.sku == sku for line in order.lines):
                raise InvalidInput(f"{shown(sku)} does not ship", field="quantities")
            if units > left.get(sku, 0) and sku in ships:
                raise InvalidInput(
                    f"only {left.get(sku, 0)} of {shown(sku)} left to ship", field="quantities"
                )
        if not any(wanted.values()):
            raise InvalidTransition("order", order.fulfilment_status.value, "ship")
        held: dict[tuple[str, str], int] = {}
        for reservation in uow.inventory.reservations_for_order(order.id):
            if reservation.holds:
                key = (reservation.sku, reservation.location_id)
                held[key] = held.get(key, 0) + reservation.quantity
        for key, units in _earmarked(existing).items():
            held[key] = held.get(key, 0) - units
        snapshot = self._rt.catalog.get(uow)
        catalog = snapshot.catalog(uow, [line.sku for line in order.lines])
        components = {
            line.sku: variant.components
            for line in order.lines
            if (variant := catalog.find_variant(line.sku)) is not None and variant.components
        }
        planned = plan_shipments(
            order.id,
            [
                LineToShip(line.sku, line.quantity, line.track_stock)
                for line in order.lines
                if line.requires_shipping
            ],
            wanted,
            held=held,
            locations=[place.id for place in snapshot.locations],
            components=components,
            new_id=lambda: self._rt.ids.new_id("shp"),
            at=self.now,
        )
        return planned, existing

    def create_shipments(
        self, order_id: str, quantities: Mapping[str, int] | None = None
    ) -> list[Shipment]:
        """Plan shipments for ``quantities`` (SKU to units; everything not yet in a
        shipment by default): one per location holding the units, pending until
        dispatched. Their units are earmarked: another shipment does not take them.

        :raises InvalidTransition: unless the order is open (paid, not being
            cancelled), or when nothing is left to ship.
        :raises InvalidInput: naming ``quantities``, for a SKU the order does not
            have or more units than are left.
        """
        check_key(order_id, "order_id")
        wanted = _units_to_ship(quantities)

        def work(uow: UnitOfWork) -> list[Shipment]:
            order = uow.orders.get(order_id)
            planned, _ = self._plan(uow, order, wanted)
            for shipment in planned:
                uow.shipments.add(shipment)
            order.touch()
            uow.orders.save(order)
            return planned

        return self._run(work)

    def ship(
        self, order_id: str, quantities: Mapping[str, int] | None = None, *, actor: str = "staff"
    ) -> list[Shipment]:
        """Plan and dispatch at once, without labels (goods handed over, or sent by a
        carrier the store does not ask for labels): ``quantities`` (everything left by
        default) leave now, each shipment consuming exactly its units.

        :raises InvalidTransition: unless the order is open, or when nothing is left.
        :raises InvalidInput: naming ``quantities``, as :meth:`create_shipments`.
        """
        check_key(order_id, "order_id")
        check_key(actor, "actor")
        wanted = _units_to_ship(quantities)

        def work(uow: UnitOfWork) -> list[Shipment]:
            order = uow.orders.get(order_id)
            planned, existing = self._plan(uow, order, wanted)
            for shipment in planned:
                uow.shipments.add(shipment)
                self._dispatch(uow, shipment)
            _follow(order, [*existing, *planned], at=self.now, actor=actor)
            uow.orders.save(order)
            return planned

        return self._run(work)

    # --- labels --------------------------------------------------------------------

    def buy_label(
        self,
        shipment_id: str,
        *,
        carrier: str,
        service: str = "",
        tracking_number: str = "",
    ) -> Shipment:
        """Buy a label from ``carrier`` for a pending shipment: its units packed into
        the carrier's parcels (first-fit decreasing by weight), its tracking number
        and document kept with it. A label is never overwritten: give it back first
        (:meth:`void_label`) to buy another.

        Three steps, as a payment is taken: the purchase is recorded (the shipment is
        *buying a label*, and cannot be cancelled meanwhile), the carrier is asked by
        a key derived from the shipment, and its label is recorded. A purchase whose
        answer was lost (a crash, an unreachable carrier) is finished by calling this
        again: the same key gets the same label.

        :param tracking_number: for the manual carrier, the number the merchant typed.
        :raises InvalidTransition: unless the shipment is pending (or its purchase
            from this carrier unfinished) and its order open.
        :raises CarrierError: when the carrier sold no label (or cannot say whether:
            ``retryable``, and the purchase stays open to be finished).
        """
        check_key(shipment_id, "shipment_id")
        chosen = self._rt.carrier(carrier)
        check_text(service, "service", max_length=64, blank=True)
        check_text(tracking_number, "tracking_number", max_length=128, blank=True)

        def begin(uow: UnitOfWork) -> LabelRequest:
            shipment = uow.shipments.get(shipment_id)
            order = uow.orders.get(shipment.order_id)
            order.check_can_ship()
            resuming = shipment.status is ShipmentStatus.BUYING_LABEL
            if resuming and shipment.carrier != chosen.name:
                raise InvalidTransition("shipment", "buying a label elsewhere", "buy a label")
            if order.shipping_address is None:
                raise InvalidInput("the order has no shipping address", field="shipping_address")
            snapshot = self._rt.catalog.get(uow)
            origin = next((p for p in snapshot.locations if p.id == shipment.location_id), None)
            if origin is None:
                raise InvalidInput("the shipment leaves from no stock location", field="location")
            if not resuming:
                chosen_service = service or (order.shipping.method_id if order.shipping else "")
                parcels = self._parcels(uow, shipment, chosen.limits)
                shipment.begin_label(chosen.name, chosen_service, parcels)
                uow.shipments.save(shipment)
            return LabelRequest(
                shipment_id=shipment.id,
                order_id=order.id,
                origin=origin,
                destination=order.shipping_address,
                parcels=shipment.parcels,
                service=shipment.service,
                currency=order.currency,
                idempotency_key=shipment.label_key,
                now=self.now,
                tracking_number=tracking_number,
            )

        request = self._run(begin)
        try:
            label = chosen.buy_label(request)
        except CommerceError as error:
            if not error.retryable:  # no label was sold: the shipment is pending again
                self._settle_label(shipment_id, request.idempotency_key, None)
            raise
        except Exception as error:  # a carrier plugin's own failure: not known to be sold
            raise CarrierError(f"carrier {chosen.name!r} failed: {error!r}") from error
        recorded = self._settle_label(shipment_id, request.idempotency_key, label)
        if recorded is None:
            # Given back or changed meanwhile: the label is not wanted.
            self._give_back(chosen.name, label, request.idempotency_key)
            raise InvalidTransition("shipment", "changed meanwhile", "buy a label")
        return recorded

    def _settle_label(self, shipment_id: str, key: str, label: Label | None) -> Shipment | None:
        """Record the answer to the label purchase made by ``key``: the label, or
        (``None``) that none was sold. ``None`` when the shipment no longer waits for
        that purchase."""

        def work(uow: UnitOfWork) -> Shipment | None:
            shipment = uow.shipments.get(shipment_id)
            if label is not None and shipment.label == label:
                return shipment  # recorded by a retry of this very purchase
            if shipment.status is not ShipmentStatus.BUYING_LABEL or shipment.label_key != key:
                return None
            if label is None:
                shipment.label_refused()
            else:
                shipment.label_bought(label)
            uow.shipments.save(shipment)
            return shipment

        return self._run(work)

    def _parcels(self, uow: UnitOfWork, shipment: Shipment, limits: ParcelLimits) -> list[Parcel]:
        snapshot = self._rt.catalog.get(uow)
        catalog = snapshot.catalog(uow, [*shipment.items, *shipment.lines])
        units: list[PackedUnit] = []
        goods = shipment.items or shipment.lines
        for sku, count in goods.items():
            variant = catalog.find_variant(sku)
            grams = 0 if variant is None else variant.weight_grams or 0
            size = None if variant is None else variant.dimensions
            sides = None if size is None else (size.length_mm, size.width_mm, size.height_mm)
            unit = PackedUnit(sku=sku, weight_grams=grams, sides_mm=sides)
            units.extend(unit for _ in range(count))
        return pack(units, limits)

    def _give_back(self, carrier: str, label: Label, key: str) -> None:
        try:
            chosen = self._rt.carrier(carrier)
            chosen.cancel_label(label, idempotency_key=f"void:{key}", now=self.now)
        except Exception:  # logged for staff: the label stays sold at the carrier
            log.exception("could not give back label %s of %s", label.tracking_number, carrier)

    def void_label(self, shipment_id: str) -> Shipment:
        """Give a shipment's label back to its carrier: the shipment is pending again,
        and the label is kept in its record. Recorded first (the shipment is *voiding
        its label* and cannot leave meanwhile), then the carrier is asked; a carrier
        that refuses leaves the label in place.

        :raises InvalidTransition: unless it has a label and has not left.
        :raises CarrierError: when the carrier refuses (the parcel was picked up).
        """
        check_key(shipment_id, "shipment_id")

        def begin(uow: UnitOfWork) -> tuple[str, Label, str]:
            shipment = uow.shipments.get(shipment_id)
            label = shipment.begin_void()
            uow.shipments.save(shipment)
            return shipment.carrier, label, f"void:{shipment.label_key}"

        carrier, label, key = self._run(begin)

        def settle(change: Callable[[Shipment], object]) -> Shipment:
            def work(uow: UnitOfWork) -> Shipment:
                shipment = uow.shipments.get(shipment_id)
                if shipment.status is ShipmentStatus.VOIDING_LABEL and shipment.label == label:
                    change(shipment)
                    uow.shipments.save(shipment)
                return shipment

            return self._run(work)

        try:
            self._rt.carrier(carrier).cancel_label(label, idempotency_key=key, now=self.now)
        except CommerceError as error:
            if not error.retryable:
                settle(Shipment.void_refused)
            raise
        except Exception as error:  # a carrier plugin's own failure
            raise CarrierError(f"carrier {carrier!r} failed: {error!r}") from error
        return settle(Shipment.label_voided)

    # --- dispatch ------------------------------------------------------------------

    def _dispatch(self, uow: UnitOfWork, shipment: Shipment) -> None:
        """Dispatch ``shipment`` and consume its items from the order's holds at its
        location, exactly."""
        shipment.dispatch(at=self.now)
        if shipment.location_id is None:
            return
        holds = [
            r
            for r in uow.inventory.reservations_for_order(shipment.order_id)
            if r.holds and r.location_id == shipment.location_id
        ]
        for sku, units in shipment.items.items():
            for reservation in (r for r in holds if r.sku == sku):
                if not units:
                    break
                taken = min(units, reservation.quantity)
                uow.inventory.consume(
                    reservation,
                    taken,
                    at=self.now,
                    movement_id=f"{reservation.id}:{shipment.id}",
                )
                units -= taken
            if units:
                # Another shipment of the order took these holds after they were read:
                # plan and dispatch again from what is held now.
                raise ConcurrencyConflict(f"the order's holds of {sku} changed meanwhile")

    def dispatch(self, shipment_id: str, *, actor: str = "staff") -> Shipment:
        """The shipment left: its units are consumed from its location's stock (a
        sale each in the ledger), the order can no longer be cancelled, and
        ``ShipmentDispatched`` is told.

        :raises InvalidTransition: unless the shipment is pending or labelled and its
            order open.
        """
        check_key(shipment_id, "shipment_id")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> Shipment:
            shipment = uow.shipments.get(shipment_id)
            order = uow.orders.get(shipment.order_id)
            order.check_can_ship()
            self._dispatch(uow, shipment)
            uow.shipments.save(shipment)
            others = [s for s in uow.shipments.for_order(order.id) if s.id != shipment.id]
            _follow(order, [*others, shipment], at=self.now, actor=actor)
            uow.orders.save(order)
            return shipment

        return self._run(work)

    def reship(
        self, shipment_id: str, *, location_id: str | None = None, actor: str = "staff"
    ) -> Shipment:
        """Send again what a dispatched shipment carried (lost or damaged on the way):
        a new pending shipment of the same units, from ``location_id`` or the location
        the store's allocation picks, whose stock is held for the order at once (so
        its dispatch takes it as any other shipment's). The lost one stays as it was.

        :raises InvalidTransition: for a shipment that has not left, or an order not
            open.
        :raises InsufficientStock: when the location cannot spare the units.
        :raises InvalidInput: naming ``location_id``, for an unknown location, or when
            no one location holds every unit (name one).
        """
        check_key(shipment_id, "shipment_id")
        chosen = None if location_id is None else check_key(location_id, "location_id")
        check_key(actor, "actor")
        return self._run(
            lambda uow: self._send_again(uow, uow.shipments.get(shipment_id), chosen, actor)
        )

    def _send_again(
        self, uow: UnitOfWork, lost: Shipment, chosen: str | None, actor: str
    ) -> Shipment:
        """:meth:`reship` in the caller's unit of work (a claim settled by it)."""
        if not lost.status.dispatched:
            raise InvalidTransition("shipment", lost.status.value, "send again")
        order = uow.orders.get(lost.order_id)
        order.check_can_ship()
        snapshot = self._rt.catalog.get(uow)
        places = [p for p in snapshot.locations if chosen is None or p.id == chosen]
        if chosen is not None and not places:
            raise InvalidInput("no such stock location", field="location_id")
        wanted = dict(lost.items)
        plan = plan_holds(
            order.id,
            wanted,
            locations=places,
            rules=uow.inventory.rules(wanted),
            items=uow.inventory.items(wanted),
            now=self.now,
            expires_at=self.now,
            new_id=lambda: self._rt.ids.new_id("reservation"),
            country=None if order.shipping_address is None else order.shipping_address.country,
            strategy=self._rt.settings.allocation,
        )
        sites = {reservation.location_id for reservation in plan.reservations}
        if len(sites) > 1:
            raise InvalidInput(
                "no one location holds every unit: name the location", field="location_id"
            )
        if plan.reservations:
            uow.inventory.add_reservations(plan.reservations)
            uow.inventory.apply(plan.changes)
            uow.inventory.allocate([r.id for r in plan.reservations])
        replacement = Shipment(
            id=self._rt.ids.new_id("shipment"),
            order_id=order.id,
            location_id=next(iter(sites), lost.location_id),
            lines=lost.lines,
            parts_of=lost.parts_of,
            items=lost.items,
            created_at=self.now,
        )
        uow.shipments.add(replacement)
        order.note(
            "reshipped",
            f"{replacement.id} sends again what {lost.id} carried",
            at=self.now,
            actor=actor,
        )
        uow.orders.save(order)
        return replacement

    def cancel_shipment(self, shipment_id: str) -> Shipment:
        """Nothing of a shipment will leave: its label (if any) is given back first,
        and its units are free again for another shipment. The shipments carrying
        parts of its lines (a bundle's, from other locations) are cancelled with it; a
        shipment of parts only is cancelled with the one carrying its line.

        :raises InvalidTransition: once it (or a shipment of parts with it) has left,
            or for a shipment of parts only.
        :raises CarrierError: when its carrier will not take the label back.
        """
        shipment = self.get(shipment_id)
        if shipment.parts_of and not shipment.lines:
            raise InvalidTransition("shipment", "parts of another's lines", "cancel")
        if shipment.status in (ShipmentStatus.LABEL_BOUGHT, ShipmentStatus.VOIDING_LABEL):
            shipment = self.void_label(shipment_id)
        for part in self._parts_with(shipment):
            if part.status in (ShipmentStatus.LABEL_BOUGHT, ShipmentStatus.VOIDING_LABEL):
                self.void_label(part.id)

        def work(uow: UnitOfWork) -> Shipment:
            current = uow.shipments.get(shipment_id)
            current.cancel()
            uow.shipments.save(current)
            for part in self._parts_with(current, uow.shipments.for_order(current.order_id)):
                part.cancel()
                uow.shipments.save(part)
            order = uow.orders.get(current.order_id)
            order.touch()
            uow.orders.save(order)
            return current

        return self._run(work)

    def _parts_with(
        self, shipment: Shipment, others: Sequence[Shipment] | None = None
    ) -> list[Shipment]:
        """The order's shipments, not cancelled, that carry parts of ``shipment``'s
        lines."""
        if others is None:
            others = self.for_order(shipment.order_id)
        return [
            other
            for other in others
            if other.id != shipment.id
            and other.status is not ShipmentStatus.CANCELLED
            and set(other.parts_of) & set(shipment.lines)
        ]

    def release_for_cancellation(self, order_id: str) -> None:
        """Before an order is cancelled: finish any label purchase of its shipments
        and give back every label of those not yet gone (through their carriers), so
        that the cancellation can cancel them.

        :raises CarrierError: when a carrier will not take a label back, or cannot be
            reached to finish a purchase.
        """
        check_key(order_id, "order_id")
        for shipment in self.for_order(order_id):
            if shipment.status is ShipmentStatus.BUYING_LABEL:
                shipment = self.buy_label(shipment.id, carrier=shipment.carrier)
            if shipment.status in (ShipmentStatus.LABEL_BOUGHT, ShipmentStatus.VOIDING_LABEL):
                self.void_label(shipment.id)

    # --- tracking ------------------------------------------------------------------

    def _apply(
        self, shipment_id: str, events: Sequence[TrackingEvent], actor: str, *, told: bool = False
    ) -> bool:
        """Apply tracking events to a shipment and its order.

        :param told: the carrier told them unasked (a webhook): a shipment not yet
            dispatched ignores them (its next refresh hears them again), rather than
            refusing.
        """

        def work(uow: UnitOfWork) -> bool:
            shipment = uow.shipments.get(shipment_id)
            if told and not shipment.status.dispatched:
                return False
            if not shipment.track(events, at=self.now):
                return False
            uow.shipments.save(shipment)
            order = uow.orders.get(shipment.order_id)
            others = [s for s in uow.shipments.for_order(order.id) if s.id != shipment.id]
            _follow(order, [*others, shipment], at=self.now, actor=actor)
            uow.orders.save(order)
            return True

        return self._run(work)

    def record_tracking(
        self, shipment_id: str, events: Sequence[TrackingEvent], *, actor: str = "staff"
    ) -> Shipment:
        """Apply tracking events typed by staff (a manual carrier's), each once.

        :raises InvalidInput: naming ``events``, for anything but a list of
            :class:`TrackingEvent`.
        :raises InvalidTransition: for a shipment that has not left.
        """
        check_key(shipment_id, "shipment_id")
        check_key(actor, "actor")
        self._apply(shipment_id, _check_events(events), actor)
        return self.get(shipment_id)

    def refresh_tracking(self, *, limit: int = 500) -> int:
        """Ask carriers for news of dispatched shipments not yet delivered (or returned),
        and apply it. A carrier that cannot be reached is skipped until the next pass.

        :returns: how many shipments learnt something.
        """
        most = check_page_size(limit, most=100_000)
        changed = 0
        after = ""
        seen = 0
        while seen < most:
            page = self._read(partial(_tracked, after=after))
            for shipment in page[: most - seen]:
                carrier = self._rt.carriers.get(shipment.carrier)
                if carrier is None or shipment.label is None:
                    continue
                try:
                    events = list(carrier.track(shipment.label, now=self.now))
                    if events and self._apply(shipment.id, events[:MOST_EVENTS], "carrier"):
                        changed += 1
                except Exception:  # one carrier or shipment failing stops no other
                    log.exception("tracking %s failed", shipment.id)
            seen += len(page)
            if len(page) < _PAGE:
                break
            after = page[-1].id
        return changed

    def handle_carrier_webhook(self, carrier: str, body: bytes, headers: Mapping[str, str]) -> int:
        """Apply what a carrier's webhook tells, once its signature is checked: each
        event once, in any order and however often it is sent. Events of tracking
        numbers the store does not know are ignored.

        :returns: how many shipments learnt something.
        :raises WebhookRejected: for a bad signature or body; nothing is applied.
        """
        chosen = self._rt.carrier(carrier)
        if not isinstance(body, bytes | bytearray):
            raise WebhookRejected("the webhook body must be the raw bytes received")
        if not isinstance(headers, Mapping):
            raise WebhookRejected("the webhook headers must be a mapping")
        events = list(chosen.verify_webhook(bytes(body), headers, now=self.now))[:MOST_EVENTS]
        by_number: dict[str, list[TrackingEvent]] = {}
        for event in events:
            by_number.setdefault(event.tracking_number, []).append(event)
        changed = 0
        for number, told in sorted(by_number.items()):
            found = self._read(partial(_by_number, number=number))
            for shipment in found:
                if shipment.carrier != chosen.name:
                    continue
                if self._apply(shipment.id, told, "carrier", told=True):
                    changed += 1
        return changed

    # --- documents -----------------------------------------------------------------

    def _locale(self, order: Order | None = None) -> str:
        channel = None if order is None else self._rt.settings.channels.get(order.channel or "")
        return "en" if channel is None else channel.locale

    def pick_list(self, location_id: str) -> Rendered:
        """What to take from a location's shelves for the shipments waiting to leave
        it, per SKU and per shipment, as text and HTML (templates ``pick_list``).

        :raises NotFound: naming ``location_id``, for a location the store has not.
        """
        check_key(location_id, "location_id")

        def read(uow: UnitOfWork) -> dict[str, Any]:
            place = next((p for p in uow.inventory.locations() if p.id == location_id), None)
            if place is None:
                raise NotFound("stock location", location_id, field="location_id")
            waiting = uow.shipments.waiting_at(location_id)
            skus = sorted({sku for shipment in waiting for sku in shipment.items})
            catalog = self._rt.catalog.get(uow).catalog(uow, skus)
            return pick_list_data(place, waiting, catalog, now=self.now)

        return self._templates.render("pick_list", self._read(read), locale=self._locale())

    def packing_slip(self, shipment_id: str) -> Rendered:
        """The slip that goes in a shipment's parcel: where it goes, what it holds
        (the order's lines), its parcels and tracking number, as text and HTML
        (templates ``packing_slip``).

        :raises NotFound: for an unknown shipment.
        """
        check_key(shipment_id, "shipment_id")

        def read(uow: UnitOfWork) -> tuple[Order, Shipment]:
            shipment = uow.shipments.get(shipment_id)
            return uow.orders.get(shipment.order_id), shipment

        order, shipment = self._read(read)
        data = packing_slip_data(order, shipment)
        return self._templates.render("packing_slip", data, locale=self._locale(order))
