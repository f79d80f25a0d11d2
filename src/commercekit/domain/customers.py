"""Customers: the store's record of a shopper the application has signed in.

The application authenticates; commercekit keeps the record under the
application's own id: email, name, customer groups (which price lists and
promotions apply), an address book, and marketing consent with when and where it
was given or withdrawn. Carts and orders belong to a customer by that id, or to a
guest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

import attrs

from commercekit.domain.checkout import Address
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.identifiers import check_text

__all__ = ["Consent", "Customer", "SavedAddress", "canonical_email", "check_customer_id"]

#: An application's id for its user: anything up to this long.
MAX_ID_LENGTH: Final = 255
MAX_GROUPS: Final = 50
MAX_ADDRESSES: Final = 50


def _identifier(value: object, field: str, limit: int = MAX_ID_LENGTH) -> str:
    return check_text(value, field, max_length=limit)


def canonical_email(email: str, *, subaddressing: bool = True) -> str:
    """The one spelling of an email address that counts a guest once: case folded
    (``Zoe@`` is ``zoe@``), and, with ``subaddressing``, without a ``+tag`` on the local
    part (``zoe+1@`` is ``zoe@``), which most mail services deliver to the same box."""
    local, at, domain = email.strip().casefold().rpartition("@")
    if not at:
        return email.strip().casefold()
    if subaddressing:
        local = local.split("+", 1)[0] or local
    return f"{local}@{domain}"


def check_customer_id(value: object) -> str:
    """``value`` if it can be an application's id for a customer.

    :raises InvalidInput: naming ``customer_id``.
    """
    return _identifier(value, "customer_id")


def _customer_id(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    _identifier(value, attribute.name)


def _groups(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    groups = tuple(dict.fromkeys(_identifier(group, "groups", 64) for group in value))
    if len(groups) > MAX_GROUPS:
        raise InvalidInput(f"a customer is in at most {MAX_GROUPS} groups", field="groups")
    return groups


@attrs.frozen(kw_only=True)
class Consent:
    """Marketing consent given or withdrawn: what, when and where."""

    granted: bool
    at: datetime
    source: str
    """Where the customer said so: ``checkout``, ``account``, ``import``, ..."""
    wording: str = ""
    """What the customer was shown, as evidence of what they agreed to."""


@attrs.frozen(kw_only=True)
class SavedAddress:
    """An address in a customer's book, under a label of their choosing."""

    label: str
    address: Address
    default_shipping: bool = False
    default_billing: bool = False


@attrs.define(kw_only=True, eq=False)
class Customer:
    """A signed-in shopper's record, under the application's id for them."""

    id: str = attrs.field(validator=_customer_id, on_setattr=attrs.setters.frozen)
    email: str
    name: str = ""
    groups: tuple[str, ...] = attrs.field(default=(), converter=_groups)
    """Customer groups in the order their price lists are preferred."""
    addresses: tuple[SavedAddress, ...] = ()
    consents: tuple[Consent, ...] = ()
    """Every consent given or withdrawn, oldest first; the last one holds."""
    created_at: datetime
    version: int = 0

    @property
    def accepts_marketing(self) -> bool:
        """Whether the latest word on marketing was a yes."""
        return bool(self.consents) and self.consents[-1].granted

    def update(self, *, email: str | None = None, name: str | None = None) -> None:
        """Change the email or the name."""
        if email is not None:
            self.email = email
        if name is not None:
            self.name = name
        self.version += 1

    def join(self, group: str) -> None:
        """Put the customer in a group (its price lists and promotions apply)."""
        if group not in self.groups:
            self.groups = _groups((*self.groups, group))
            self.version += 1

    def leave(self, group: str) -> None:
        """Take the customer out of a group (nothing happens if not in it)."""
        if group in self.groups:
            self.groups = tuple(g for g in self.groups if g != group)
            self.version += 1

    def save_address(
        self,
        label: str,
        address: Address,
        *,
        default_shipping: bool = False,
        default_billing: bool = False,
    ) -> None:
        """Keep an address under ``label`` (replacing one with the same label); a
        default for shipping or billing takes the place of the earlier default."""
        label = _identifier(label, "label", 64)
        if not isinstance(address, Address):
            raise InvalidInput("expected an Address", field="address")
        kept = [saved for saved in self.addresses if saved.label != label]
        if len(kept) >= MAX_ADDRESSES:
            raise InvalidInput(f"an address book holds at most {MAX_ADDRESSES}", field="label")
        if default_shipping:
            kept = [attrs.evolve(saved, default_shipping=False) for saved in kept]
        if default_billing:
            kept = [attrs.evolve(saved, default_billing=False) for saved in kept]
        saved = SavedAddress(
            label=label,
            address=address,
            default_shipping=default_shipping,
            default_billing=default_billing,
        )
        self.addresses = (*kept, saved)
        self.version += 1

    def remove_address(self, label: str) -> None:
        """Drop the address under ``label``.

        :raises NotFound: if there is none.
        """
        if not any(saved.label == label for saved in self.addresses):
            raise NotFound("address labelled", label, field="label")
        self.addresses = tuple(saved for saved in self.addresses if saved.label != label)
        self.version += 1

    def address(self, label: str) -> Address:
        """The address under ``label``.

        :raises NotFound: if there is none.
        """
        for saved in self.addresses:
            if saved.label == label:
                return saved.address
        raise NotFound("address labelled", label, field="label")

    @property
    def default_shipping_address(self) -> Address | None:
        """The address marked for shipping, if any."""
        return next((s.address for s in self.addresses if s.default_shipping), None)

    @property
    def default_billing_address(self) -> Address | None:
        """The address marked for billing, if any."""
        return next((s.address for s in self.addresses if s.default_billing), None)

    def record_consent(
        self, granted: bool, *, at: datetime, source: str, wording: str = ""
    ) -> Consent:
        """Record that the customer gave (or withdrew) marketing consent: the record
        is kept, never overwritten, so that it can be shown later."""
        if not isinstance(granted, bool):
            raise InvalidInput("must be True or False", field="granted")
        consent = Consent(
            granted=granted, at=at, source=_identifier(source, "source", 64), wording=wording
        )
        self.consents = (*self.consents, consent)
        self.version += 1
        return consent
