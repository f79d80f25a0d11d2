"""A store's return policy: how long after delivery, what cannot come back, what a
return costs the customer and when it costs nothing."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from commercekit.domain.errors import InvalidInput, ReturnRefused

__all__ = ["ReturnPolicy", "ReturnReason", "ReturnShippingPaidBy"]


class ReturnReason(enum.Enum):
    """Why a unit comes back."""

    CHANGED_MIND = "changed_mind"
    DOES_NOT_FIT = "does_not_fit"
    NOT_AS_DESCRIBED = "not_as_described"
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    LOST_IN_TRANSIT = "lost_in_transit"
    OTHER = "other"


class ReturnShippingPaidBy(enum.Enum):
    """Who pays for sending a return back."""

    CUSTOMER = "customer"
    STORE = "store"


def _percent(value: object) -> Decimal | None:
    if value is None:
        return None
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if not number.is_finite() or not 0 <= number <= 100:
        raise InvalidInput("must be a percentage from 0 to 100", field="restocking_fee_percent")
    return number


def _waivers() -> frozenset[ReturnReason]:
    return frozenset({ReturnReason.DAMAGED, ReturnReason.WRONG_ITEM, ReturnReason.LOST_IN_TRANSIT})


@attrs.frozen(kw_only=True)
class ReturnPolicy:
    """What a store accepts back, and on what terms."""

    window_days: int = 30
    """Days from delivery within which a return may be asked for."""
    non_returnable_products: frozenset[str] = frozenset()
    non_returnable_categories: frozenset[str] = frozenset()
    restocking_fee_percent: Decimal | None = attrs.field(default=None, converter=_percent)
    restocking_fees: Mapping[str, int] = attrs.field(factory=dict)
    """A fixed fee per return, in minor units, by currency."""
    return_shipping_paid_by: ReturnShippingPaidBy = ReturnShippingPaidBy.CUSTOMER
    fee_waived_for: frozenset[ReturnReason] = attrs.field(factory=_waivers)
    """Reasons that are the store's fault: no fee, and the store pays the label."""

    def __attrs_post_init__(self) -> None:
        if isinstance(self.window_days, bool) or not 0 <= self.window_days <= 3650:
            raise InvalidInput("must be from 0 to 3650 days", field="window_days")
        if any(isinstance(v, bool) or v < 0 for v in self.restocking_fees.values()):
            raise InvalidInput("must not be negative", field="restocking_fees")

    def check_window(self, delivered_at: datetime | None, now: datetime) -> None:
        """:raises ReturnRefused: ``not_delivered`` before delivery, ``outside_window``
        after the window closed."""
        if delivered_at is None:
            raise ReturnRefused("not_delivered", "the order has not been delivered yet")
        if now > delivered_at + timedelta(days=self.window_days):
            raise ReturnRefused(
                "outside_window", f"returns are taken {self.window_days} days from delivery"
            )

    def check_returnable(self, sku: str, product_id: str, categories: Collection[str]) -> None:
        """:raises ReturnRefused: ``not_returnable`` for a product, or one in a category,
        the store does not take back."""
        if product_id in self.non_returnable_products or any(
            category in self.non_returnable_categories for category in categories
        ):
            raise ReturnRefused("not_returnable", f"{sku} cannot be returned")

    def fixed_fee_units(self, currency: str) -> int:
        """The fixed part of the fee for a return in ``currency``."""
        return self.restocking_fees.get(currency, 0)

    def charges_fee(self, reason: ReturnReason) -> bool:
        """Whether a unit returned for ``reason`` pays the restocking fee."""
        return reason not in self.fee_waived_for

    def customer_pays_label(self, reasons: Collection[ReturnReason]) -> bool:
        """Whether the customer pays the return label for a return of ``reasons``."""
        if self.return_shipping_paid_by is ReturnShippingPaidBy.STORE:
            return False
        return not any(reason in self.fee_waived_for for reason in reasons)
