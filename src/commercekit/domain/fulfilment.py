"""Fulfilment: shipments, the units each carries from one location, its label and its
tracking; and the plan that splits an order's units between the locations holding
them.

A shipment carries order lines (what the customer sees: 2 x MUG) and stock items
(what leaves the shelf at its location: the units of the SKUs it consumes, a
bundle's components rather than the bundle). Dispatching it consumes exactly those
items, so partial and split fulfilment never take more than they carry.

Its state follows its own actions (a label bought or given back, dispatched,
cancelled) and then its carrier's tracking, applied in any order and any number of
times: the latest event by time decides, and an event already known is ignored.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final

import attrs

from commercekit.domain.errors import InvalidInput, InvalidTransition, shown
from commercekit.domain.events import (
    DomainEvent,
    ShipmentDelivered,
    ShipmentDispatched,
    ShipmentException,
)
from commercekit.domain.shipping import Label, Parcel, TrackingEvent, TrackingStatus

__all__ = [
    "LineToShip",
    "Shipment",
    "ShipmentStatus",
    "plan_shipments",
]


class ShipmentStatus(enum.Enum):
    """Where a shipment stands."""

    PENDING = "pending"
    """Planned: its units are earmarked at its location, nothing has left."""
    BUYING_LABEL = "buying_label"
    """A label is being bought from its carrier: asked again, by the same key, until
    the answer is recorded."""
    LABEL_BOUGHT = "label_bought"
    VOIDING_LABEL = "voiding_label"
    """Its label is being given back: it cannot leave meanwhile."""
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"

    @property
    def dispatched(self) -> bool:
        """Whether its goods left the shelf."""
        return self in _DISPATCHED

    @property
    def tracked(self) -> bool:
        """Whether its carrier may still report something new."""
        return self in (ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.EXCEPTION)


_S = ShipmentStatus
_DISPATCHED: Final = frozenset(
    {_S.SHIPPED, _S.IN_TRANSIT, _S.DELIVERED, _S.EXCEPTION, _S.RETURNED_TO_SENDER}
)
_T = TrackingStatus
#: What each tracking status makes of a dispatched shipment.
_FROM_TRACKING: Final[Mapping[TrackingStatus, ShipmentStatus]] = {
    _T.LABEL_CREATED: _S.SHIPPED,
    _T.PICKED_UP: _S.SHIPPED,
    _T.IN_TRANSIT: _S.IN_TRANSIT,
    _T.OUT_FOR_DELIVERY: _S.IN_TRANSIT,
    _T.DELAYED: _S.IN_TRANSIT,
    _T.DELIVERED: _S.DELIVERED,
    _T.EXCEPTION: _S.EXCEPTION,
    _T.RETURNED_TO_SENDER: _S.RETURNED_TO_SENDER,
}
#: Of two events at the same instant, the one further along the journey is later.
_STEP: Final = {status: n for n, status in enumerate(TrackingStatus)}
_PROBLEMS: Final = frozenset({_S.EXCEPTION, _S.RETURNED_TO_SENDER})


def _units(value: Mapping[str, int]) -> Mapping[str, int]:
    return {sku: units for sku, units in value.items() if units}


@attrs.define(kw_only=True, eq=False)
class Shipment:
    """Units of one order leaving one location together."""

    id: str
    order_id: str
    location_id: str | None
    """Where it leaves from; ``None`` for goods no stock location keeps."""
    lines: Mapping[str, int] = attrs.field(converter=_units)
    """Units per order-line SKU."""
    parts_of: Mapping[str, int] = attrs.field(factory=dict, converter=_units)
    """Units of order lines (bundles) it carries only some parts of: the shipment
    carrying the line has them shipped once this one has left too."""
    items: Mapping[str, int] = attrs.field(factory=dict, converter=_units)
    """Units per stocked SKU it takes from its location's shelf."""
    created_at: datetime
    status: ShipmentStatus = ShipmentStatus.PENDING
    parcels: tuple[Parcel, ...] = ()
    carrier: str = ""
    service: str = ""
    label: Label | None = None
    voided_labels: tuple[Label, ...] = ()
    """Labels bought for it and given back: kept, never overwritten."""
    timeline: tuple[TrackingEvent, ...] = ()
    """Its tracking events, in the order they happened."""
    dispatched_at: datetime | None = None
    delivered_at: datetime | None = None
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.lines and not self.items:
            raise InvalidInput("a shipment carries at least one unit", field="quantities")

    @property
    def label_key(self) -> str:
        """The idempotency key its next (or current) label is bought with: the same
        until that label is given back."""
        return f"label:{self.id}:{len(self.voided_labels)}"

    @property
    def tracking_number(self) -> str:
        return "" if self.label is None else self.label.tracking_number

    @property
    def tracking_url(self) -> str:
        return "" if self.label is None else self.label.tracking_url

    def _refuse(self, action: str) -> InvalidTransition:
        return InvalidTransition("shipment", self.status.value, action)

    def begin_label(self, carrier: str, service: str, parcels: Sequence[Parcel]) -> None:
        """A label is about to be bought from ``carrier`` for these parcels: recorded
        first, so that a label the carrier sold is never lost (asked again by
        :attr:`label_key`, it is the same label).

        :raises InvalidTransition: unless it is pending (a label it has is given back
            first, so that none is ever overwritten).
        """
        if self.status is not ShipmentStatus.PENDING:
            raise self._refuse("buy a label")
        self.carrier, self.service = carrier, service
        self.parcels = tuple(parcels)
        self.status = ShipmentStatus.BUYING_LABEL
        self.version += 1

    def label_bought(self, label: Label) -> None:
        """Record the label its carrier sold.

        :raises InvalidTransition: unless a label is being bought.
        """
        if self.status is not ShipmentStatus.BUYING_LABEL:
            raise self._refuse("record a label")
        self.label = label
        self.status = ShipmentStatus.LABEL_BOUGHT
        self.version += 1

    def label_refused(self) -> None:
        """Its carrier sold no label: it is pending again."""
        if self.status is not ShipmentStatus.BUYING_LABEL:
            raise self._refuse("give up a label")
        self.status = ShipmentStatus.PENDING
        self.version += 1

    def begin_void(self) -> Label:
        """Its label is about to be given back: it cannot leave meanwhile.

        :raises InvalidTransition: unless it has a label and has not left.
        """
        if self.status is ShipmentStatus.VOIDING_LABEL and self.label is not None:
            return self.label  # given back before, and not yet recorded
        if self.status is not ShipmentStatus.LABEL_BOUGHT or self.label is None:
            raise self._refuse("give back its label")
        self.status = ShipmentStatus.VOIDING_LABEL
        self.version += 1
        return self.label

    def label_voided(self) -> Label:
        """The carrier took its label back: it is pending again, the label kept.

        :raises InvalidTransition: unless its label is being given back.
        """
        if self.status is not ShipmentStatus.VOIDING_LABEL or self.label is None:
            raise self._refuse("give back its label")
        voided, self.label = self.label, None
        self.voided_labels = (*self.voided_labels, voided)
        self.status = ShipmentStatus.PENDING
        self.version += 1
        return voided

    def void_refused(self) -> None:
        """The carrier kept its label (the parcel was picked up): it has it again."""
        if self.status is not ShipmentStatus.VOIDING_LABEL:
            raise self._refuse("keep its label")
        self.status = ShipmentStatus.LABEL_BOUGHT
        self.version += 1

    def dispatch(self, *, at: datetime, carrier: str = "") -> None:
        """Its goods left the shelf (the caller consumes its items in the same unit of
        work); its carrier's tracking applies from here.

        :raises InvalidTransition: unless it is pending or has its label.
        """
        if self.status not in (ShipmentStatus.PENDING, ShipmentStatus.LABEL_BOUGHT):
            raise self._refuse("dispatch")
        if carrier and not self.carrier:
            self.carrier = carrier
        self.status = ShipmentStatus.SHIPPED
        self.dispatched_at = at
        self.version += 1
        self.events.append(
            ShipmentDispatched(
                occurred_at=at,
                order_id=self.order_id,
                shipment_id=self.id,
                carrier=self.carrier,
                tracking_number=self.tracking_number,
                tracking_url=self.tracking_url,
            )
        )

    def cancel(self) -> None:
        """Nothing of it will leave: its units are free for another shipment (or the
        order's cancellation).

        :raises InvalidTransition: unless it is pending (a label is given back first).
        """
        if self.status is not ShipmentStatus.PENDING:
            raise self._refuse("cancel")
        self.status = ShipmentStatus.CANCELLED
        self.version += 1

    def track(self, events: Iterable[TrackingEvent], *, at: datetime) -> bool:
        """Take its carrier's tracking events, in any order, each once (by id); events
        of another tracking number are ignored.

        :returns: whether anything new was learnt.
        :raises InvalidTransition: unless it has left (its stock was consumed).
        """
        if not self.status.dispatched:
            raise self._refuse("track")
        known = {event.id for event in self.timeline}
        mine = self.tracking_number
        new = {
            event.id: event
            for event in events
            if event.id not in known and (not mine or event.tracking_number == mine)
        }
        if not new:
            return False
        self.timeline = tuple(
            sorted((*self.timeline, *new.values()), key=lambda e: (e.at, _STEP[e.status], e.id))
        )
        self.version += 1
        self._follow_timeline(at)
        return True

    def _follow_timeline(self, at: datetime) -> None:
        if not self.status.dispatched or not self.timeline:
            return
        latest = self.timeline[-1]
        status = _FROM_TRACKING[latest.status]
        if status is self.status:
            return
        before, self.status = self.status, status
        if status is ShipmentStatus.DELIVERED and self.delivered_at is None:
            self.delivered_at = latest.at
            self.events.append(
                ShipmentDelivered(occurred_at=at, order_id=self.order_id, shipment_id=self.id)
            )
        elif status in _PROBLEMS and before is not status:
            self.events.append(
                ShipmentException(
                    occurred_at=at,
                    order_id=self.order_id,
                    shipment_id=self.id,
                    status=latest.status.value,
                    detail=latest.detail,
                )
            )


@attrs.frozen
class LineToShip:
    """An order line as fulfilment sees it."""

    sku: str
    quantity: int
    track_stock: bool = True


def _check_wanted(lines: Sequence[LineToShip], wanted: Mapping[str, int]) -> None:
    ordered = {line.sku for line in lines}
    for sku in wanted:
        if sku not in ordered:
            raise InvalidInput(f"the order has no SKU {shown(sku)}", field="quantities")


def plan_shipments(
    order_id: str,
    lines: Sequence[LineToShip],
    wanted: Mapping[str, int],
    *,
    held: Mapping[tuple[str, str], int],
    locations: Sequence[str],
    components: Mapping[str, Mapping[str, int]],
    new_id: Callable[[], str],
    at: datetime,
) -> list[Shipment]:
    """Shipments for ``wanted`` units (per order-line SKU), one per location, from
    what the order still holds there (``held`` per ``(stocked SKU, location)``, less
    what pending shipments earmarked), trying ``locations`` in order.

    A line's units go whole where a location holds every part of them; a bundle
    whose parts are held in several places goes with the location holding its first
    part, and the other locations send their parts in shipments of their own, which
    say whose parts they carry (:attr:`Shipment.parts_of`). Units
    of goods that keep no stock (or that no location holds for the order: stock was
    not in use when it was placed) leave from no location, taking nothing.

    :raises InvalidInput: naming ``quantities``, for a SKU the order does not have.
    """
    _check_wanted(lines, wanted)
    left = dict(held)
    order = [*locations, *sorted({loc for _, loc in held} - set(locations))]
    line_units: dict[str | None, dict[str, int]] = {}
    item_units: dict[str | None, dict[str, int]] = {}
    part_units: dict[str | None, dict[str, int]] = {}

    def put(place: str | None, table: dict[str | None, dict[str, int]], sku: str, n: int) -> None:
        if n:
            units = table.setdefault(place, {})
            units[sku] = units.get(sku, 0) + n

    for line in lines:
        remaining = wanted.get(line.sku, 0)
        parts = dict(components.get(line.sku) or ({line.sku: 1} if line.track_stock else {}))
        if not remaining:
            continue
        if not parts:
            put(None, line_units, line.sku, remaining)
            continue
        for place in order:
            whole = min(left.get((sku, place), 0) // per for sku, per in parts.items())
            taken = min(whole, remaining)
            if taken:
                put(place, line_units, line.sku, taken)
                for sku, per in parts.items():
                    left[(sku, place)] -= taken * per
                    put(place, item_units, sku, taken * per)
                remaining -= taken
        if not remaining:
            continue
        # Parts spread over locations: each location sends what it holds, and the
        # line goes with the first; the others carry parts of it.
        home: str | None = None
        senders: set[str] = set()
        for sku, per in parts.items():
            need = remaining * per
            for place in order:
                taken = min(left.get((sku, place), 0), need)
                if taken:
                    left[(sku, place)] -= taken
                    put(place, item_units, sku, taken)
                    need -= taken
                    home = place if home is None else home
                    senders.add(place)
        put(home, line_units, line.sku, remaining)
        for place in senders - {home}:
            put(place, part_units, line.sku, remaining)
    places: list[str | None] = [p for p in order if p in line_units or p in item_units]
    if None in line_units or None in item_units:
        places.append(None)
    return [
        Shipment(
            id=new_id(),
            order_id=order_id,
            location_id=place,
            lines=line_units.get(place, {}),
            items=item_units.get(place, {}),
            parts_of=part_units.get(place, {}),
            created_at=at,
        )
        for place in places
    ]
