"""Customers: the record an application keeps in the store for each signed-in
shopper, under its own id for them. The application authenticates; these calls
trust the id they are given and check everything else."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from commercekit.domain.customers import Consent, Customer, check_customer_id
from commercekit.domain.errors import NotFound
from commercekit.domain.identifiers import check_flag, check_text, check_whole_number
from commercekit.domain.orders import Order
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Service, check_page_size
from commercekit.services.schemas import AddressIn, ConsentIn, CustomerIn, parse

__all__ = ["CustomerService", "find_customer"]

#: The longest name of a customer group, or label of a saved address.
MAX_NAME_LENGTH: Final = 64


def find_customer(uow: UnitOfWork, customer_id: str) -> Customer:
    """The customer with this id.

    :raises NotFound: naming ``customer_id``.
    :raises InvalidInput: naming ``customer_id``, for what cannot be an id.
    """
    check_customer_id(customer_id)
    customer = uow.customers.find(customer_id)
    if customer is None:
        raise NotFound("customer", customer_id, field="customer_id")
    return customer


class CustomerService(Service):
    """Register customers, keep their details, address book, groups and consent."""

    def register(self, customer_id: str, details: Mapping[str, Any] | CustomerIn) -> Customer:
        """Record a signed-in shopper under the application's id for them, or bring the
        record up to date (email, name) when there is one.

        :raises InvalidInput: naming the field (a malformed email, say).
        """
        check_customer_id(customer_id)
        checked = parse(CustomerIn, details, field="details")

        def work(uow: UnitOfWork) -> Customer:
            customer = uow.customers.find(customer_id)
            if customer is None:
                customer = Customer(
                    id=customer_id, email=checked.email, name=checked.name, created_at=self.now
                )
                uow.customers.add(customer)
            elif (customer.email, customer.name) != (checked.email, checked.name):
                customer.update(email=checked.email, name=checked.name)
                uow.customers.save(customer)
            return customer

        return self._run(work)

    def get(self, customer_id: str) -> Customer:
        """The customer's record.

        :raises NotFound: for an id the store has no record of.
        """
        return self._read(lambda uow: find_customer(uow, customer_id))

    def _change(self, customer_id: str, change: Callable[[Customer], object]) -> Customer:
        def work(uow: UnitOfWork) -> Customer:
            customer = find_customer(uow, customer_id)
            change(customer)
            uow.customers.save(customer)
            return customer

        return self._run(work)

    def join_group(self, customer_id: str, group: str) -> Customer:
        """Put the customer in a group: its price lists and promotions apply to them."""
        check_text(group, "group", max_length=MAX_NAME_LENGTH)
        return self._change(customer_id, lambda customer: customer.join(group))

    def leave_group(self, customer_id: str, group: str) -> Customer:
        """Take the customer out of a group."""
        check_text(group, "group", max_length=MAX_NAME_LENGTH)
        return self._change(customer_id, lambda customer: customer.leave(group))

    def save_address(
        self,
        customer_id: str,
        label: str,
        address: Mapping[str, Any] | AddressIn,
        *,
        default_shipping: bool = False,
        default_billing: bool = False,
    ) -> Customer:
        """Keep an address in the customer's book under ``label``.

        :raises InvalidInput: naming the field, as a checkout's address would.
        """
        check_text(label, "label", max_length=MAX_NAME_LENGTH)
        check_flag(default_shipping, "default_shipping")
        check_flag(default_billing, "default_billing")
        checked = parse(AddressIn, address, field="address").to_domain()
        return self._change(
            customer_id,
            lambda customer: customer.save_address(
                label, checked, default_shipping=default_shipping, default_billing=default_billing
            ),
        )

    def remove_address(self, customer_id: str, label: str) -> Customer:
        """Drop an address from the customer's book."""
        check_text(label, "label", max_length=MAX_NAME_LENGTH)
        return self._change(customer_id, lambda customer: customer.remove_address(label))

    def record_consent(self, customer_id: str, consent: Mapping[str, Any] | ConsentIn) -> Consent:
        """Record marketing consent given or withdrawn, at the store clock's time and
        with where it was given; earlier records are kept.

        :raises InvalidInput: naming the field.
        """
        checked = parse(ConsentIn, consent, field="consent")
        customer = self._change(
            customer_id,
            lambda found: found.record_consent(
                checked.granted, at=self.now, source=checked.source, wording=checked.wording
            ),
        )
        return customer.consents[-1]

    def orders(self, customer_id: str, *, limit: int = 50) -> list[Order]:
        """The customer's orders, newest first: their order history.

        :param limit: a whole number, or its digits as a form sends them (``"20"``).
        """
        check_customer_id(customer_id)
        limit = check_page_size(check_whole_number(limit, "limit"))
        return self._read(lambda uow: uow.orders.for_customer(customer_id, limit=limit))
