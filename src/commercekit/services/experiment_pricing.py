"""How a cart enrolled in an experiment is priced: the arm saved on it changes the
engine pricing builds (see :func:`~commercekit.services.base.load_pricing`), so the
cart page, the checkout summary and the order are priced alike.

One primary-key read per pricing finds that a cart is in no arm; a cart in an arm
that changes prices or promotions costs a read of the arm's price list (for the
cart's SKUs) or of the promotions, and an engine built for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from commercekit.domain.cart import Cart
from commercekit.domain.marketing.experiments import Assignment, arm_engine, assignment_id
from commercekit.domain.pricing import PricingEngine
from commercekit.ports.storage import UnitOfWork

__all__ = ["price_in_arm"]


def price_in_arm(
    uow: UnitOfWork, cart: Cart, engine: PricingEngine, codes: Sequence[str]
) -> PricingEngine:
    """``engine``, or the engine the cart's arm prices with when it is in one that
    changes something (``codes``: the coupon codes pricing weighs)."""
    assignment = uow.records(Assignment).find(assignment_id(cart.id))
    if assignment is None or assignment.changes is None or assignment.changes.is_control:
        return engine
    if assignment.currency != cart.currency:
        return engine
    changes = assignment.changes
    price_list = None
    if changes.price_list_id is not None:
        skus = [sku for sku, _ in cart.items()]
        price_list = next(
            (
                found
                for found in uow.catalog.price_lists(cart.currency, skus)
                if found.id == changes.price_list_id
            ),
            None,
        )
    promotions = None
    if changes.promotion_id is not None or changes.free_shipping_over_units is not None:
        promotions = uow.catalog.promotions()
    return arm_engine(
        engine,
        changes,
        currency=cart.currency,
        price_list=price_list,
        promotions=promotions,
        coupons=uow.catalog.coupons(codes) if promotions is not None and codes else (),
    )
