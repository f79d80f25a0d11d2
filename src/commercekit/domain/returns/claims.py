"""A claim on a shipment the carrier lost or damaged: the customer is made whole by
sending the goods again or by refunding them, once per shipment."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import attrs

from commercekit.domain.errors import InvalidTransition
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index

__all__ = ["Claim", "ClaimKind", "ClaimResolution"]


class ClaimKind(enum.Enum):
    """What happened to the parcel."""

    LOST = "lost"
    DAMAGED = "damaged"


class ClaimResolution(enum.Enum):
    """How the customer is made whole."""

    RESHIP = "reship"
    REFUND = "refund"


@attrs.define(kw_only=True, eq=False)
class Claim:
    """One shipment's claim: its kind, how it was settled, and what settled it."""

    KIND: ClassVar[str] = "claim"

    id: str
    order_id: str
    shipment_id: str
    carrier: str
    kind: ClaimKind
    resolution: ClaimResolution
    note: str = ""
    created_at: datetime
    actor: str
    replacement_id: str = ""
    """The shipment sending the goods again."""
    refund_id: str = ""
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(shipment_id: str) -> str:
        """A shipment has one claim: its id is the shipment's."""
        return f"claim:{shipment_id}"

    def index(self) -> Index:
        settled = bool(self.replacement_id or self.refund_id)
        return Index(
            at=self.created_at,
            ref=self.order_id,
            state="settled" if settled else "open",
        )

    def settled_by_shipment(self, shipment_id: str) -> None:
        """:raises InvalidTransition: once settled, or for a refund claim."""
        if self.resolution is not ClaimResolution.RESHIP or self.replacement_id:
            raise InvalidTransition("claim", self.resolution.value, "settle by a shipment")
        self.replacement_id = shipment_id
        self.version += 1

    def settled_by_refund(self, refund_id: str) -> None:
        """:raises InvalidTransition: once settled, or for a reshipment claim."""
        if self.resolution is not ClaimResolution.REFUND or self.refund_id:
            raise InvalidTransition("claim", self.resolution.value, "settle by a refund")
        self.refund_id = refund_id
        self.version += 1
