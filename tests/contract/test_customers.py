"""The customer repository's promises, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from commercekit.domain.checkout import Address
from commercekit.domain.customers import Customer
from commercekit.errors import ConcurrencyConflict
from commercekit.ports.storage import Storage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOME = Address(name="Ada Lovelace", line1="12 St James's Square", city="London", country="GB")
WORK = Address(
    name="Ada Lovelace",
    line1="Analytical Engine Works",
    city="London",
    postal_code="N1 9GU",
    country="GB",
)


def ada() -> Customer:
    customer = Customer(id="user-1815", email="ada@example.com", name="Ada", created_at=NOW)
    customer.join("wholesale")
    customer.join("staff")
    customer.save_address("home", HOME, default_shipping=True, default_billing=True)
    customer.save_address("work", WORK, default_shipping=True)
    customer.record_consent(True, at=NOW, source="checkout", wording="Send me offers")
    customer.record_consent(False, at=NOW + timedelta(days=3), source="account")
    return customer


def state(customer: Customer) -> dict[str, object]:
    return attrs.asdict(customer)


def test_a_customer_comes_back_with_groups_address_book_and_consent_record(
    storage: Storage,
) -> None:
    customer = ada()
    with storage.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.customers.find("user-1815")
        missing = uow.customers.find("user-404")

    assert found is not None
    assert state(found) == state(customer)
    assert found.groups == ("wholesale", "staff")
    assert found.default_shipping_address == WORK
    assert found.default_billing_address == HOME
    assert [c.granted for c in found.consents] == [True, False]
    assert not found.accepts_marketing
    assert missing is None


def test_a_changed_customer_keeps_its_changes(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.customers.add(ada())
        uow.commit()
    with storage.unit_of_work() as uow:
        customer = uow.customers.find("user-1815")
        assert customer is not None
        customer.leave("staff")
        customer.remove_address("work")
        customer.update(email="countess@example.com")
        customer.record_consent(True, at=NOW + timedelta(days=9), source="account")
        uow.customers.save(customer)
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.customers.find("user-1815")
    assert found is not None
    assert (found.email, found.groups) == ("countess@example.com", ("wholesale",))
    assert [saved.label for saved in found.addresses] == ["home"]
    assert found.accepts_marketing
    assert len(found.consents) == 3


def test_a_customer_with_a_taken_id_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.customers.add(ada())
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.customers.add(Customer(id="user-1815", email="other@example.com", created_at=NOW))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()


def test_two_writers_of_one_customer_the_second_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.customers.add(ada())
        uow.commit()

    with storage.unit_of_work() as first, storage.unit_of_work() as second:
        mine = first.customers.find("user-1815")
        theirs = second.customers.find("user-1815")
        assert mine is not None
        assert theirs is not None
        mine.join("vip")
        first.customers.save(mine)
        first.commit()
        theirs.leave("wholesale")
        second.customers.save(theirs)
        with pytest.raises(ConcurrencyConflict):
            second.commit()

    with storage.unit_of_work() as uow:
        found = uow.customers.find("user-1815")
    assert found is not None
    assert found.groups == ("wholesale", "staff", "vip")


def test_customers_are_read_a_page_at_a_time_by_id(storage: Storage) -> None:
    ids = [f"user-{n:02}" for n in range(7)]
    with storage.unit_of_work() as uow:
        for customer_id in reversed(ids):
            uow.customers.add(
                Customer(id=customer_id, email=f"{customer_id}@example.com", created_at=NOW)
            )
        uow.commit()

    pages: list[list[str]] = []
    after = ""
    while True:
        with storage.unit_of_work() as uow:
            page = [customer.id for customer in uow.customers.page(after=after, limit=3)]
        if not page:
            break
        pages.append(page)
        after = page[-1]

    assert pages == [ids[:3], ids[3:6], ids[6:]]
