"""Who said what about marketing, by email address: what campaigns and cart reminders
ask before they write to an address, and again before they hand the message over.

Storage finds customers by id only, so each address has a
:class:`~commercekit.domain.marketing.campaigns.Mailbox` record (under its canonical
spelling) that lists the customers registered under it. The store's customer service
is :class:`CustomersByEmail`: every unit of work of it that changes a customer notes
the customer on their address's mailbox in that same unit of work, so a customer is
found by their address from the moment they are registered. A campaign's batch
notes its recipients too, which fills the mailboxes of customers registered before
there were any.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final, TypeVar

from commercekit.domain.customers import Consent, Customer, canonical_email
from commercekit.domain.marketing.campaigns import Mailbox, latest_word
from commercekit.ports.storage import UnitOfWork
from commercekit.services.customers import CustomerService

__all__ = ["NO_CONSENT", "CustomersByEmail", "customers_at", "note_mailbox", "word_on"]

T = TypeVar("T")

#: Why a campaign message or a cart reminder is given up instead of sent.
NO_CONSENT: Final = "no marketing consent on record for the address any more"


def note_mailbox(uow: UnitOfWork, customer: Customer, *, at: datetime, subaddressing: bool) -> None:
    """Note in ``uow`` that ``customer`` is found at their email address (nothing is
    written when the address's mailbox lists them already)."""
    if not customer.email:
        return
    key = canonical_email(customer.email, subaddressing=subaddressing)
    mailboxes = uow.records(Mailbox)
    found = mailboxes.find(Mailbox.key(key))
    if found is None:
        mailbox = Mailbox.of(key, at=at)
        mailbox.note(customer.id)
        mailboxes.add(mailbox)
    elif found.note(customer.id):
        mailboxes.save(found)


def customers_at(uow: UnitOfWork, email_key: str, *, subaddressing: bool) -> list[Customer]:
    """The customers whose email is the address ``email_key`` now (a customer listed
    on its mailbox who has changed address since is not one of them)."""
    mailbox = uow.records(Mailbox).find(Mailbox.key(email_key))
    if mailbox is None:
        return []
    found = []
    for customer_id in mailbox.customer_ids:
        customer = uow.customers.find(customer_id)
        if (
            customer is not None
            and customer.email
            and canonical_email(customer.email, subaddressing=subaddressing) == email_key
        ):
            found.append(customer)
    return found


def word_on(
    uow: UnitOfWork,
    email_key: str,
    *,
    subaddressing: bool,
    customer: Customer | None = None,
) -> bool | None:
    """The latest word on marketing on record for the address ``email_key``: said by
    ``customer`` (the shopper, when known), by any customer registered at the
    address, or there without a record; ``None`` when nobody said anything."""
    consents: list[Consent] = list(customer.consents) if customer is not None else []
    mailbox = uow.records(Mailbox).find(Mailbox.key(email_key)) if email_key else None
    if mailbox is not None:
        consents.extend(mailbox.consents)
        for other in customers_at(uow, email_key, subaddressing=subaddressing):
            if customer is None or other.id != customer.id:
                consents.extend(other.consents)
    return latest_word(consents)


class CustomersByEmail(CustomerService):
    """The customer service whose every change of a customer (registering them,
    changing their email, recording their consent) notes them on their address's
    mailbox, in the unit of work of the change."""

    def _run(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        attempts: int | None = None,
        lost_races: tuple[type[Exception], ...] = (),
    ) -> T:
        def noting(uow: UnitOfWork) -> T:
            result = work(uow)
            if isinstance(result, Customer):
                note_mailbox(
                    uow,
                    result,
                    at=self.now,
                    subaddressing=self._rt.settings.email_subaddressing,
                )
            return result

        return super()._run(noting, attempts=attempts, lost_races=lost_races)
