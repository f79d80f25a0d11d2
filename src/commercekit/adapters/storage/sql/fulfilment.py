"""Shipments and notices: their mappings and repositories. A shipment's parcels,
labels and timeline are JSON, read and written whole with it."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, final

import sqlalchemy as sa

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql.mapping import AggregateMapping, Row
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.errors import NotFound
from commercekit.domain.fulfilment import Shipment, ShipmentStatus
from commercekit.domain.notifications import Notice, NoticeStatus
from commercekit.domain.shipping import Label, PackedUnit, Parcel, TrackingEvent, TrackingStatus

__all__ = ["NOTICES", "SHIPMENTS", "SqlNoticeRepository", "SqlShipmentRepository"]


def _label(label: Label) -> dict[str, Any]:
    return {
        "tracking_number": label.tracking_number,
        "tracking_url": label.tracking_url,
        "document": base64.b64encode(label.document).decode("ascii"),
        "media_type": label.media_type,
        "created_at": codec.encode_datetime(label.created_at),
        "price_units": label.price_units,
    }


def _decode_label(data: Mapping[str, Any]) -> Label:
    return Label(
        tracking_number=data["tracking_number"],
        tracking_url=data["tracking_url"],
        document=base64.b64decode(data["document"]),
        media_type=data["media_type"],
        created_at=datetime.fromisoformat(data["created_at"]),
        price_units=int(data["price_units"]),
    )


def _event(event: TrackingEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "tracking_number": event.tracking_number,
        "status": event.status.value,
        "at": codec.encode_datetime(event.at),
        "detail": event.detail,
        "place": event.place,
    }


def _decode_event(data: Mapping[str, Any]) -> TrackingEvent:
    return TrackingEvent(
        id=data["id"],
        tracking_number=data["tracking_number"],
        status=TrackingStatus(data["status"]),
        at=datetime.fromisoformat(data["at"]),
        detail=data["detail"],
        place=data["place"],
    )


def _parcel(parcel: Parcel) -> list[list[Any]]:
    return [[u.sku, u.weight_grams, list(u.sides_mm or ())] for u in parcel.units]


def _decode_parcel(units: Sequence[Sequence[Any]]) -> Parcel:
    return Parcel(
        tuple(
            PackedUnit(
                sku=str(sku),
                weight_grams=int(grams),
                sides_mm=(int(sides[0]), int(sides[1]), int(sides[2])) if sides else None,
            )
            for sku, grams, sides in units
        )
    )


def _shipment_row(shipment: Shipment) -> dict[str, Any]:
    return {
        "id": shipment.id,
        "order_id": shipment.order_id,
        "location_id": shipment.location_id,
        "status": shipment.status.value,
        "lines": dict(shipment.lines),
        "items": dict(shipment.items),
        "parts_of": dict(shipment.parts_of),
        "parcels": [_parcel(parcel) for parcel in shipment.parcels],
        "carrier": shipment.carrier,
        "service": shipment.service,
        "tracking_number": shipment.tracking_number,
        "label": None if shipment.label is None else _label(shipment.label),
        "voided_labels": [_label(label) for label in shipment.voided_labels],
        "timeline": [_event(event) for event in shipment.timeline],
        "created_at": shipment.created_at,
        "dispatched_at": shipment.dispatched_at,
        "delivered_at": shipment.delivered_at,
        "version": shipment.version,
    }


def _shipment(row: Row, parts: Sequence[Sequence[Row]]) -> Shipment:
    return Shipment(
        id=row["id"],
        order_id=row["order_id"],
        location_id=row["location_id"],
        status=ShipmentStatus(row["status"]),
        lines={str(sku): int(n) for sku, n in row["lines"].items()},
        items={str(sku): int(n) for sku, n in row["items"].items()},
        parts_of={str(sku): int(n) for sku, n in row["parts_of"].items()},
        parcels=tuple(_decode_parcel(units) for units in row["parcels"]),
        carrier=row["carrier"],
        service=row["service"],
        label=None if row["label"] is None else _decode_label(row["label"]),
        voided_labels=tuple(_decode_label(label) for label in row["voided_labels"]),
        timeline=tuple(_decode_event(event) for event in row["timeline"]),
        created_at=row["created_at"],
        dispatched_at=row["dispatched_at"],
        delivered_at=row["delivered_at"],
        version=row["version"],
    )


SHIPMENTS: Final = AggregateMapping(
    kind="shipment",
    cls=Shipment,
    root=t.shipments,
    row=_shipment_row,
    build=_shipment,
    events=lambda shipment: shipment.events,
)

_S = t.shipments.c
_OF_ORDER: Final = _S.order_id == sa.bindparam("order_id")
_BY_NUMBER: Final = _S.tracking_number == sa.bindparam("number")
# Literals, not parameters: the statement is prepared once and run with ``after``.
_WAITING: Final = sa.and_(
    _S.location_id == sa.bindparam("location_id"),
    _S.status.in_(
        [
            sa.literal_column(f"'{s.value}'")
            for s in (ShipmentStatus.PENDING, ShipmentStatus.LABEL_BOUGHT)
        ]
    ),
)
_TRACKED: Final = sa.and_(
    _S.status.in_([sa.literal_column(f"'{s.value}'") for s in ShipmentStatus if s.tracked]),
    _S.tracking_number != sa.literal_column("''"),
    _S.id > sa.bindparam("after"),
)


@final
class SqlShipmentRepository:
    """Shipments, one row each."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, shipment_id: str) -> Shipment:
        found = self._session.get(SHIPMENTS, shipment_id)
        if found is None:
            raise NotFound("shipment", shipment_id, field="shipment_id")
        return found

    def add(self, shipment: Shipment) -> None:
        self._session.stage(SHIPMENTS, shipment)

    def save(self, shipment: Shipment) -> None:
        self._session.stage(SHIPMENTS, shipment)

    def for_order(self, order_id: str) -> list[Shipment]:
        return self._session.load(SHIPMENTS, _OF_ORDER, params={"order_id": order_id})

    def by_tracking_number(self, tracking_number: str) -> list[Shipment]:
        if not tracking_number:
            return []
        return self._session.load(SHIPMENTS, _BY_NUMBER, params={"number": tracking_number})

    def waiting_at(self, location_id: str, *, limit: int = 500) -> list[Shipment]:
        # A location's queue, read whole and put in creation order (ids are random).
        found = self._session.load(SHIPMENTS, _WAITING, params={"location_id": location_id})
        return sorted(found, key=lambda s: (s.created_at, s.id))[:limit]

    def tracked(self, *, after: str = "", limit: int = 100) -> list[Shipment]:
        return self._session.load(SHIPMENTS, _TRACKED, params={"after": after}, limit=limit)


def _notice_row(notice: Notice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "recipient": notice.recipient,
        "template": notice.template,
        "subject": notice.subject,
        "text": notice.text,
        "html": notice.html,
        "status": notice.status.value,
        "attempts": notice.attempts,
        "last_error": notice.last_error,
        "created_at": notice.created_at,
        "sent_at": notice.sent_at,
        "version": notice.version,
    }


def _notice(row: Row, parts: Sequence[Sequence[Row]]) -> Notice:
    return Notice(
        id=row["id"],
        recipient=row["recipient"],
        template=row["template"],
        subject=row["subject"],
        text=row["text"],
        html=row["html"],
        status=NoticeStatus(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        version=row["version"],
    )


NOTICES: Final = AggregateMapping(
    kind="notice",
    cls=Notice,
    root=t.notifications,
    row=_notice_row,
    build=_notice,
    order_by=("created_at", "id"),
)
_DUE: Final = t.notifications.c.status.in_(
    [sa.literal_column(f"'{s.value}'") for s in (NoticeStatus.PENDING, NoticeStatus.FAILED)]
)


@final
class SqlNoticeRepository:
    """Notices, one row each, by key."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, key: str) -> Notice | None:
        return self._session.get(NOTICES, key)

    def add(self, notice: Notice) -> None:
        self._session.stage(NOTICES, notice)

    def save(self, notice: Notice) -> None:
        self._session.stage(NOTICES, notice)

    def due(self, *, limit: int = 100) -> list[Notice]:
        return self._session.load(NOTICES, _DUE, params={}, limit=limit)
