"""An exchange: units of an order come back and other goods go out in their place, as
a replacement order paid for first by what the returned units were worth.

pending -> done (the replacement is paid for and open to ship) or undone (its
payment failed or never came: nothing of the exchange stands); done -> cancelled
(the replacement was cancelled afterwards: what the units were worth is owed to the
customer on the original order again).

The link between the two orders is kept here and in both orders' histories; the
replacement is an order like any other, which names the original as the source of
its :attr:`~commercekit.domain.credit.TenderKind.EXCHANGE` tender.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import attrs

from commercekit.domain.credit import Tender, TenderKind
from commercekit.domain.errors import InvalidInput
from commercekit.domain.events import DomainEvent, ExchangeMade
from commercekit.domain.indexed import Index
from commercekit.domain.orders import Order
from commercekit.domain.pricing import PriceBreakdown, TaxAddress

__all__ = ["Exchange", "ExchangeLine", "ExchangeStatus", "replacement_order"]


class ExchangeStatus(enum.Enum):
    """Where an exchange stands."""

    PENDING = "pending"
    """The replacement is written and its stock held; the difference it costs is
    being charged."""
    DONE = "done"
    UNDONE = "undone"
    """The replacement's payment failed (or never came): it was cancelled, and the
    returned units are as they were before the exchange."""
    CANCELLED = "cancelled"
    """The replacement was cancelled once paid: what the units were worth is owed to
    the customer on the original order again."""


@attrs.frozen(kw_only=True)
class ExchangeLine:
    """Units of one returned SKU, and the SKU sent in their place."""

    sku: str
    replacement_sku: str
    quantity: int


@attrs.define(kw_only=True, eq=False)
class Exchange:
    """Returned units of one order swapped for a replacement order."""

    KIND: ClassVar[str] = "exchange"

    id: str
    order_id: str
    """The original order, whose units came back."""
    return_id: str
    replacement_id: str
    """The replacement order, which sends the goods chosen instead."""
    owner: str
    """Whose it is: the return's owner (a customer's id, or a guest's e-mail key)."""
    currency: str
    created_at: datetime
    actor: str
    lines: tuple[ExchangeLine, ...]
    value_units: int
    """What the returned units were worth: what the customer paid for them."""
    price_units: int
    """What the replacement costs (its goods at today's prices; shipping free)."""
    refund_id: str
    """The refund on the original order's ledger that carries the returned units."""
    difference_refund_id: str = ""
    """The refund of what the units were worth beyond the replacement's price."""
    status: ExchangeStatus = ExchangeStatus.PENDING
    settled_at: datetime | None = None
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @staticmethod
    def key(replacement_id: str) -> str:
        """A replacement order has one exchange: its id is the replacement's."""
        return f"exchange:{replacement_id}"

    def index(self) -> Index:
        return Index(
            at=self.created_at, ref=self.order_id, owner=self.owner, state=self.status.value
        )

    @property
    def exchanged_units(self) -> int:
        """What the returned units paid of the replacement."""
        return min(self.value_units, self.price_units)

    @property
    def charged_units(self) -> int:
        """What the replacement costs beyond the units' worth: charged on its payment."""
        return max(0, self.price_units - self.value_units)

    @property
    def difference_units(self) -> int:
        """What the units were worth beyond the replacement's price: refunded."""
        return max(0, self.value_units - self.price_units)

    def complete(self, *, at: datetime) -> bool:
        """The replacement is paid for and open.

        :returns: whether it changed (only a pending exchange completes).
        """
        if self.status is not ExchangeStatus.PENDING:
            return False
        self._settle(ExchangeStatus.DONE, at)
        self.events.append(
            ExchangeMade(
                occurred_at=at,
                exchange_id=self.id,
                order_id=self.order_id,
                replacement_id=self.replacement_id,
                return_id=self.return_id,
                currency=self.currency,
                value_units=self.value_units,
                price_units=self.price_units,
            )
        )
        return True

    def undo(self, *, at: datetime) -> bool:
        """The replacement failed before it was paid for.

        :returns: whether it changed (only a pending exchange is undone).
        """
        if self.status is not ExchangeStatus.PENDING:
            return False
        self._settle(ExchangeStatus.UNDONE, at)
        return True

    def cancel(self, *, at: datetime) -> bool:
        """The replacement was cancelled once paid for.

        :returns: whether it changed (only a done exchange is cancelled).
        """
        if self.status is not ExchangeStatus.DONE:
            return False
        self._settle(ExchangeStatus.CANCELLED, at)
        return True

    def _settle(self, status: ExchangeStatus, at: datetime) -> None:
        self.status = status
        self.settled_at = at
        self.version += 1


def replacement_order(
    *,
    id: str,
    token: str,
    number: str,
    original: Order,
    breakdown: PriceBreakdown,
    names: dict[str, tuple[str, str, bool, bool]],
    tax_address: TaxAddress | None,
    tax_provider: str = "",
    exchanged_units: int,
    payment_gateway: str,
    fingerprint: str,
    at: datetime,
    actor: str,
) -> Order:
    """The order that sends the goods chosen instead of returned ones: the original's
    customer, e-mail, addresses and shipping method (shipping free), priced by
    ``breakdown``, awaiting payment, and paid first by ``exchanged_units`` of what the
    returned units were worth (an :attr:`~TenderKind.EXCHANGE` tender naming the
    original order).

    :param names: per SKU, ``(product id, display name, requires shipping, tracks
        stock)``.
    :raises InvalidInput: naming ``replacements``, for a worth beyond the price or
        below zero.
    """
    ships = any(names[line.sku][2] for line in breakdown.lines)
    order = Order.place(
        id=id,
        token=token,
        # A cart of its own that never was: one cart makes one live order.
        cart_id=f"exchange:{id}",
        customer_id=original.customer_id,
        channel=original.channel,
        number=number,
        email=original.email,
        email_key=original.email_key,
        breakdown=breakdown,
        names=names,
        tax_address=tax_address,
        tax_provider=tax_provider,
        shipping_address=original.shipping_address if ships else None,
        billing_address=original.billing_address,
        shipping=(
            attrs.evolve(original.shipping, price_units=0, expires_at=None)
            if ships and original.shipping is not None
            else None
        ),
        coupon_codes=(),
        payment_gateway=payment_gateway,
        idempotency_key=f"exchange:{id}",
        fingerprint=fingerprint,
        at=at,
        actor=actor,
    )
    if not 0 <= exchanged_units <= order.totals.grand_total_units:
        raise InvalidInput("the units pay at most the replacement's price", field="replacements")
    if not exchanged_units:
        return order
    tender = Tender(
        kind=TenderKind.EXCHANGE,
        source_id=original.id,
        reference=original.number,
        units=exchanged_units,
    )
    order.pay_with((tender,), at=at, actor=actor)
    return order
