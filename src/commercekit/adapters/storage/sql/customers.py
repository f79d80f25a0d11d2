"""Customers: their mapping and repository. The address book and the consent
record are JSON, read and written whole with the customer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, final

import sqlalchemy as sa

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql.mapping import AggregateMapping, Row
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.customers import Consent, Customer, SavedAddress

__all__ = ["CUSTOMERS", "SqlCustomerRepository"]


def _customer_row(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "email": customer.email,
        "name": customer.name,
        "groups": list(customer.groups),
        "addresses": [
            {
                "label": saved.label,
                "address": codec.encode_address(saved.address),
                "default_shipping": saved.default_shipping,
                "default_billing": saved.default_billing,
            }
            for saved in customer.addresses
        ],
        "consents": [
            {
                "granted": consent.granted,
                "at": codec.encode_datetime(consent.at),
                "source": consent.source,
                "wording": consent.wording,
            }
            for consent in customer.consents
        ],
        "created_at": customer.created_at,
        "version": customer.version,
    }


def _customer(row: Row, parts: Sequence[Sequence[Row]]) -> Customer:
    consents = []
    for consent in row["consents"]:
        at = codec.decode_datetime(consent["at"])
        assert at is not None  # every consent is written with its time
        consents.append(
            Consent(
                granted=bool(consent["granted"]),
                at=at,
                source=str(consent["source"]),
                wording=str(consent["wording"]),
            )
        )
    return Customer(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        groups=tuple(str(group) for group in row["groups"]),
        addresses=tuple(
            SavedAddress(
                label=str(saved["label"]),
                address=codec.decode_address(saved["address"]),
                default_shipping=bool(saved["default_shipping"]),
                default_billing=bool(saved["default_billing"]),
            )
            for saved in row["addresses"]
        ),
        consents=tuple(consents),
        created_at=row["created_at"],
        version=row["version"],
    )


CUSTOMERS: Final = AggregateMapping(
    kind="customer", cls=Customer, root=t.customers, row=_customer_row, build=_customer
)
#: Built once, so that the statement is prepared once.
_AFTER: Final = t.customers.c.id > sa.bindparam("after")


@final
class SqlCustomerRepository:
    """Customers, one row each, by the application's id."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, customer_id: str) -> Customer | None:
        """The customer with this id, if the store has a record."""
        return self._session.get(CUSTOMERS, customer_id)

    def add(self, customer: Customer) -> None:
        """Stage a new customer; a taken id is a conflict on commit."""
        self._session.stage(CUSTOMERS, customer)

    def save(self, customer: Customer) -> None:
        """Stage a changed customer, written only if unchanged meanwhile."""
        self._session.stage(CUSTOMERS, customer)

    def page(self, *, after: str = "", limit: int = 100) -> list[Customer]:
        """Customers by id, after ``after``: one statement for the page."""
        return self._session.load(CUSTOMERS, _AFTER, params={"after": after}, limit=limit)
