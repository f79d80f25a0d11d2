"""A return (RMA): units of an order coming back, from the request to the close.

requested -> approved or rejected; approved -> label issued -> received (or received
without a label the store issued); received -> inspected -> closed. A request not yet
received may be cancelled. Receiving does not refund: refunds are made when the
store decides, as often as it likes, each computed from what was paid (see
:mod:`~commercekit.domain.returns.refunds`). Inspection decides each received unit
once: back on a shelf at a chosen location, or written off.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar, Final

import attrs

from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.events import DomainEvent, ReturnReceived, ReturnRequested
from commercekit.domain.indexed import Index
from commercekit.domain.returns.policy import ReturnReason

__all__ = [
    "Inspection",
    "InspectionOutcome",
    "Return",
    "ReturnLabel",
    "ReturnLine",
    "ReturnStatus",
    "ReturnStep",
]


class ReturnStatus(enum.Enum):
    """Where a return stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    LABEL_ISSUED = "label_issued"
    RECEIVED = "received"
    INSPECTED = "inspected"
    CLOSED = "closed"
    CANCELLED = "cancelled"


_S = ReturnStatus
_NEXT: Final[Mapping[ReturnStatus, frozenset[ReturnStatus]]] = {
    _S.REQUESTED: frozenset({_S.APPROVED, _S.REJECTED, _S.CANCELLED}),
    _S.APPROVED: frozenset({_S.LABEL_ISSUED, _S.RECEIVED, _S.CANCELLED}),
    _S.LABEL_ISSUED: frozenset({_S.RECEIVED, _S.CANCELLED}),
    _S.RECEIVED: frozenset({_S.INSPECTED, _S.CLOSED}),
    _S.INSPECTED: frozenset({_S.CLOSED}),
    _S.REJECTED: frozenset(),
    _S.CLOSED: frozenset(),
    _S.CANCELLED: frozenset(),
}
#: Where a refund for the return's units may be made: once the store said yes.
_REFUNDABLE: Final = frozenset({_S.APPROVED, _S.LABEL_ISSUED, _S.RECEIVED, _S.INSPECTED})


class InspectionOutcome(enum.Enum):
    """What becomes of a unit that came back."""

    RESTOCK = "restock"
    WRITE_OFF = "write_off"


@attrs.frozen(kw_only=True)
class ReturnLine:
    """Units of one SKU coming back, and why."""

    sku: str
    quantity: int
    reason: ReturnReason
    note: str = ""


@attrs.frozen(kw_only=True)
class Inspection:
    """A decision on received units of one SKU."""

    sku: str
    quantity: int
    outcome: InspectionOutcome
    location_id: str = ""
    """Where restocked units go back on the shelf."""
    shipment_id: str = ""
    """The shipment they had left in."""


@attrs.frozen(kw_only=True)
class ReturnLabel:
    """The label a carrier sold for sending the return back."""

    carrier: str
    tracking_number: str
    tracking_url: str = ""
    price_units: int = 0
    paid_by_customer: bool = True


@attrs.frozen(kw_only=True)
class ReturnStep:
    """One change of the return."""

    at: datetime
    actor: str
    action: str
    detail: str = ""


@attrs.define(kw_only=True, eq=False)
class Return:
    """Units of one order coming back."""

    KIND: ClassVar[str] = "return"

    id: str
    order_id: str
    owner: str
    """The customer's id, or a guest's e-mail key: whose return it is."""
    currency: str
    created_at: datetime
    lines: tuple[ReturnLine, ...]
    note: str = ""
    status: ReturnStatus = ReturnStatus.REQUESTED
    rejection: str = ""
    label: ReturnLabel | None = None
    received: Mapping[str, int] = attrs.field(factory=dict)
    inspections: tuple[Inspection, ...] = ()
    refund_ids: tuple[str, ...] = ()
    exchange_id: str = ""
    """The exchange its units went to (a replacement order), if they were exchanged."""
    steps: tuple[ReturnStep, ...] = ()
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @classmethod
    def request(
        cls,
        *,
        id: str,
        order_id: str,
        owner: str,
        currency: str,
        lines: Sequence[ReturnLine],
        note: str,
        at: datetime,
        actor: str,
    ) -> Return:
        """A new request for ``lines`` (one per SKU, each at least one unit).

        :raises InvalidInput: for no lines, a SKU twice or a unit count below one.
        """
        if not lines:
            raise InvalidInput("a return needs at least one line", field="lines")
        skus = [line.sku for line in lines]
        if len(set(skus)) != len(skus):
            raise InvalidInput("each SKU once", field="lines")
        if any(line.quantity < 1 for line in lines):
            raise InvalidInput("each line returns at least one unit", field="lines")
        made = cls(
            id=id,
            order_id=order_id,
            owner=owner,
            currency=currency,
            created_at=at,
            lines=tuple(lines),
            note=note,
        )
        made._step(at, actor, "requested", note)
        made.events.append(
            ReturnRequested(occurred_at=at, return_id=id, order_id=order_id, units=made.unit_count)
        )
        return made

    def index(self) -> Index:
        return Index(
            at=self.created_at, ref=self.order_id, owner=self.owner, state=self.status.value
        )

    @property
    def units(self) -> dict[str, int]:
        """Units asked for, per SKU."""
        return {line.sku: line.quantity for line in self.lines}

    @property
    def unit_count(self) -> int:
        """Units asked for, all lines together."""
        return sum(line.quantity for line in self.lines)

    @property
    def reasons(self) -> dict[str, ReturnReason]:
        """Each SKU's reason."""
        return {line.sku: line.reason for line in self.lines}

    @property
    def open(self) -> bool:
        """Whether its units still count as on their way back (not rejected, not
        cancelled)."""
        return self.status not in (ReturnStatus.REJECTED, ReturnStatus.CANCELLED)

    @property
    def refundable(self) -> bool:
        """Whether a refund for its units may be made now."""
        return self.status in _REFUNDABLE

    def _step(self, at: datetime, actor: str, action: str, detail: str = "") -> None:
        self.steps = (*self.steps, ReturnStep(at=at, actor=actor, action=action, detail=detail))
        self.version += 1

    def _move(self, to: ReturnStatus, action: str) -> None:
        if to not in _NEXT[self.status]:
            raise InvalidTransition("return", self.status.value, action)
        self.status = to

    def approve(self, *, at: datetime, actor: str) -> None:
        """:raises InvalidTransition: unless requested."""
        self._move(ReturnStatus.APPROVED, "approve")
        self._step(at, actor, "approved")

    def reject(self, reason: str, *, at: datetime, actor: str) -> None:
        """:raises InvalidTransition: unless requested."""
        self._move(ReturnStatus.REJECTED, "reject")
        self.rejection = reason
        self._step(at, actor, "rejected", reason)

    def cancel(self, *, at: datetime, actor: str) -> None:
        """:raises InvalidTransition: once received, once decided otherwise, or once
        exchanged (the replacement stands on the units coming back)."""
        if self.exchange_id:
            raise InvalidTransition("return", "exchanged", "cancel")
        self._move(ReturnStatus.CANCELLED, "cancel")
        self._step(at, actor, "cancelled")

    def check_label(self) -> None:
        """:raises InvalidTransition: unless approved (and without a label yet)."""
        if self.status is not ReturnStatus.APPROVED:
            raise InvalidTransition("return", self.status.value, "issue a label for")

    def label_issued(self, label: ReturnLabel, *, at: datetime, actor: str) -> None:
        """:raises InvalidTransition: unless approved."""
        self.check_label()
        self._move(ReturnStatus.LABEL_ISSUED, "issue a label for")
        self.label = label
        self._step(at, actor, "label issued", f"{label.carrier} {label.tracking_number}")

    def receive(self, units: Mapping[str, int] | None, *, at: datetime, actor: str) -> None:
        """The parcel arrived with ``units`` per SKU (all that were asked for when
        ``None``).

        :raises InvalidTransition: unless approved (with or without a label).
        :raises InvalidInput: for a SKU not asked for, or more units than asked.
        """
        asked = self.units
        arrived = dict(asked) if units is None else {k: v for k, v in units.items() if v}
        for sku, count in arrived.items():
            if sku not in asked or not 0 < count <= asked[sku]:
                raise InvalidInput(
                    f"{sku}: at most the {asked.get(sku, 0)} asked for", field="units"
                )
        if not arrived:
            raise InvalidInput("at least one unit arrives", field="units")
        self._move(ReturnStatus.RECEIVED, "receive")
        self.received = arrived
        total = sum(arrived.values())
        self._step(at, actor, "received", f"{total} unit(s)")
        self.events.append(
            ReturnReceived(occurred_at=at, return_id=self.id, order_id=self.order_id)
        )

    def inspected(self) -> dict[str, int]:
        """Units per SKU decided on so far."""
        done: dict[str, int] = {}
        for inspection in self.inspections:
            done[inspection.sku] = done.get(inspection.sku, 0) + inspection.quantity
        return done

    def inspect(self, decisions: Sequence[Inspection], *, at: datetime, actor: str) -> None:
        """Decide received units: each once, restocked (to a location) or written off.
        Once every received unit is decided, the return is inspected.

        :raises InvalidTransition: unless received (and not fully inspected).
        :raises InvalidInput: for units not received or decided already, or a restock
            without a location.
        """
        if self.status is not ReturnStatus.RECEIVED:
            raise InvalidTransition("return", self.status.value, "inspect")
        done = self.inspected()
        for decision in decisions:
            if decision.quantity < 1:
                raise InvalidInput("each decision is for at least one unit", field="decisions")
            if decision.outcome is InspectionOutcome.RESTOCK and not decision.location_id:
                raise InvalidInput("a restocked unit needs a location", field="decisions")
            done[decision.sku] = done.get(decision.sku, 0) + decision.quantity
            if done[decision.sku] > self.received.get(decision.sku, 0):
                raise InvalidInput(
                    f"{decision.sku}: more units than were received and not yet decided",
                    field="decisions",
                )
        if not decisions:
            raise InvalidInput("at least one decision", field="decisions")
        self.inspections = (*self.inspections, *decisions)
        summary = ", ".join(f"{d.quantity} {d.sku} {d.outcome.value}" for d in decisions)
        if done == dict(self.received):
            self._move(ReturnStatus.INSPECTED, "inspect")
        self._step(at, actor, "inspected", summary)

    def add_refund(self, refund_id: str, *, at: datetime, actor: str) -> None:
        """Note a refund made for its units.

        :raises InvalidTransition: unless the store accepted it and has not closed it.
        """
        if not self.refundable:
            raise InvalidTransition("return", self.status.value, "refund")
        self.refund_ids = (*self.refund_ids, refund_id)
        self._step(at, actor, "refunded", refund_id)

    def exchanged(self, exchange_id: str, refund_id: str, *, at: datetime, actor: str) -> None:
        """Its units are exchanged for a replacement order (``exchange_id``), paid
        for by the refund ``refund_id``: it is refunded and exchanged no more.

        :raises InvalidTransition: unless the store accepted it and has not closed it,
            or once refunded or exchanged.
        """
        if not self.refundable:
            raise InvalidTransition("return", self.status.value, "exchange")
        if self.exchange_id or self.refund_ids:
            raise InvalidTransition(
                "return", "exchanged" if self.exchange_id else "refunded", "exchange"
            )
        self.exchange_id = exchange_id
        self.refund_ids = (*self.refund_ids, refund_id)
        self._step(at, actor, "exchanged", exchange_id)

    def exchange_undone(
        self, exchange_id: str, refund_id: str, *, at: datetime, actor: str
    ) -> bool:
        """The exchange ``exchange_id`` failed (its replacement was never paid for):
        the return is as it was before, to be refunded or exchanged again.

        :returns: whether it was that exchange's.
        """
        if self.exchange_id != exchange_id:
            return False
        self.exchange_id = ""
        self.refund_ids = tuple(r for r in self.refund_ids if r != refund_id)
        self._step(at, actor, "exchange undone", exchange_id)
        return True

    def close(self, *, at: datetime, actor: str) -> None:
        """Close it: nothing more happens to it.

        :raises InvalidTransition: before it was received (cancel or reject instead),
            or with received units not yet inspected.
        """
        if self.status is ReturnStatus.RECEIVED and self.inspected() != dict(self.received):
            raise InvalidTransition("return", "not fully inspected", "close")
        self._move(ReturnStatus.CLOSED, "close")
        self._step(at, actor, "closed")
