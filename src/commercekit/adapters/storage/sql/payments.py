"""Payments: their mapping and repository."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, final

import sqlalchemy as sa

from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql.mapping import AggregateMapping, Part, Row
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.errors import NotFound
from commercekit.domain.payments import (
    Intent,
    Payment,
    Transaction,
    TransactionKind,
    TransactionStatus,
)

__all__ = ["PAYMENTS", "SqlPaymentRepository"]


def _payment_row(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order_id": payment.order_id,
        "gateway": payment.gateway,
        "currency": payment.currency,
        "amount_units": payment.amount_units,
        "reference": payment.reference,
        "intents": [
            {
                "id": intent.id,
                "kind": intent.kind.value,
                "amount_units": intent.amount_units,
                "key": intent.key,
                "requested_at": intent.requested_at.isoformat(),
                "actor": intent.actor,
                "holder": intent.holder,
                "leased_until": None
                if intent.leased_until is None
                else intent.leased_until.isoformat(),
            }
            for intent in payment.intents
        ],
        "busy_since": payment.busy_since,
        "attention": payment.attention,
        "version": payment.version,
    }


def _transaction_rows(payment: Payment, start: int) -> list[dict[str, Any]]:
    return [
        {
            "payment_id": payment.id,
            "transaction_id": entry.id,
            "position": position,
            "kind": entry.kind.value,
            "status": entry.status.value,
            "amount_units": entry.amount_units,
            "occurred_at": entry.occurred_at,
            "detail": entry.detail,
            "intent_id": entry.intent_id,
        }
        for position, entry in enumerate(payment.transactions[start:], start)
    ]


def _payment(row: Row, parts: Sequence[Sequence[Row]]) -> Payment:
    (transactions,) = parts
    return Payment(
        id=row["id"],
        order_id=row["order_id"],
        gateway=row["gateway"],
        currency=row["currency"],
        amount_units=row["amount_units"],
        reference=row["reference"],
        intents=[
            Intent(
                id=str(intent["id"]),
                kind=TransactionKind(intent["kind"]),
                amount_units=int(intent["amount_units"]),
                key=str(intent["key"]),
                requested_at=datetime.fromisoformat(intent["requested_at"]),
                actor=str(intent["actor"]),
                holder=str(intent.get("holder", "")),
                leased_until=None
                if intent.get("leased_until") is None
                else datetime.fromisoformat(intent["leased_until"]),
            )
            for intent in row["intents"]
        ],
        attention=row["attention"],
        transactions=[
            Transaction(
                id=entry["transaction_id"],
                kind=TransactionKind(entry["kind"]),
                status=TransactionStatus(entry["status"]),
                amount_units=entry["amount_units"],
                occurred_at=entry["occurred_at"],
                detail=entry["detail"],
                intent_id=entry["intent_id"],
            )
            for entry in transactions
        ],
        version=row["version"],
    )


PAYMENTS: Final = AggregateMapping(
    kind="payment",
    cls=Payment,
    root=t.payments,
    row=_payment_row,
    parts=(
        Part(
            table=t.payment_transactions,
            parent="payment_id",
            rows=_transaction_rows,
            size=lambda payment: len(payment.transactions),
        ),
    ),
    build=_payment,
    events=lambda payment: payment.events,
    order_by=("busy_since", "id"),  # the sweep finds the longest waiting first
)


@final
class SqlPaymentRepository:
    """Payments: a row in ``payments`` and the ledger in ``payment_transactions``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, payment_id: str) -> Payment:
        """:raises NotFound: for an unknown id."""
        found = self._session.get(PAYMENTS, payment_id)
        if found is None:
            raise NotFound("payment", payment_id, field="payment_id")
        return found

    def for_order(self, order_id: str) -> Payment | None:
        """The payment of an order."""
        return self._first(_FOR_ORDER, {"order_id": order_id})

    def find_by_reference(self, gateway: str, reference: str) -> Payment | None:
        """The payment a gateway knows by ``reference``."""
        return self._first(_BY_REFERENCE, {"gateway": gateway, "reference": reference})

    def busy_before(self, cutoff: datetime, limit: int = 100) -> list[Payment]:
        """Payments with an operation under way since before ``cutoff``, the longest
        waiting first."""
        return self._session.load(PAYMENTS, t.payments.c.busy_since < cutoff, limit=limit)

    def add(self, payment: Payment) -> None:
        """Stage a new payment; a taken ``(gateway, reference)`` is a conflict."""
        self._session.stage(PAYMENTS, payment)

    def save(self, payment: Payment) -> None:
        """Stage a changed payment; only new ledger entries are written."""
        self._session.stage(PAYMENTS, payment)

    def adopt(self, payment: Payment) -> None:
        """See the port: no statement."""
        self._session.adopt(PAYMENTS, payment)

    def _first(
        self, condition: sa.ColumnElement[bool], params: Mapping[str, Any]
    ) -> Payment | None:
        found = self._session.load(PAYMENTS, condition, params=params, limit=1)
        return found[0] if found else None


# Lookups built once, executed with their values bound.
_FOR_ORDER: Final = t.payments.c.order_id == sa.bindparam("order_id")
_BY_REFERENCE: Final = sa.and_(
    t.payments.c.gateway == sa.bindparam("gateway"),
    t.payments.c.reference == sa.bindparam("reference"),
)
