"""Promotions, coupons, and the engine that applies them and explains each adjustment.

A promotion is conditions + a benefit + a schedule + a priority + a stacking rule.
The engine works on whole minor units, so every discount it hands out is exact, and
it never takes a line (or shipping) below zero.

One concern a module: :mod:`.targeting` (what promotions look at: lines, context,
coupon codes, item filters), :mod:`.conditions`, :mod:`.benefits` and :mod:`.engine`
(promotions, coupons, stacking and the engine); every name is importable from here.
"""

from __future__ import annotations

from commercekit.domain.promotions.benefits import (
    AmountOffOrder,
    Benefit,
    BuyXGetY,
    FixedPrice,
    FreeShipping,
    PercentOffLines,
    PercentOffOrder,
    TieredAmountOff,
)
from commercekit.domain.promotions.conditions import (
    Condition,
    CustomerGroups,
    MinimumQuantity,
    MinimumSubtotal,
)
from commercekit.domain.promotions.engine import (
    Coupon,
    Promotion,
    PromotionEngine,
    PromotionOutcome,
    Stacking,
)
from commercekit.domain.promotions.targeting import (
    CouponUsage,
    ItemFilter,
    PromotionContext,
    PromotionRef,
    WorkLine,
    normalize_coupon_code,
    normalize_coupon_usage,
    normalize_customer_groups,
)

__all__ = [
    "AmountOffOrder",
    "Benefit",
    "BuyXGetY",
    "Condition",
    "Coupon",
    "CouponUsage",
    "CustomerGroups",
    "FixedPrice",
    "FreeShipping",
    "ItemFilter",
    "MinimumQuantity",
    "MinimumSubtotal",
    "PercentOffLines",
    "PercentOffOrder",
    "Promotion",
    "PromotionContext",
    "PromotionEngine",
    "PromotionOutcome",
    "PromotionRef",
    "Stacking",
    "TieredAmountOff",
    "WorkLine",
    "normalize_coupon_code",
    "normalize_coupon_usage",
    "normalize_customer_groups",
]
