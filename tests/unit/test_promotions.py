from __future__ import annotations

from datetime import timedelta

import pytest

from commercekit import (
    AmountOffOrder,
    BuyXGetY,
    Coupon,
    CouponRejected,
    CouponUsage,
    CustomerGroups,
    FixedPrice,
    FreeShipping,
    InvalidInput,
    ItemFilter,
    MinimumQuantity,
    MinimumSubtotal,
    Money,
    PercentOffLines,
    PercentOffOrder,
    PricingContext,
    Promotion,
    Stacking,
    TieredAmountOff,
)
from commercekit.domain.promotions import normalize_coupon_code

from .builders import NOW, cart, eur, shop

PRICES = {"RETRO-CLOCK": "40.00", "LAVA-LAMP": "25.00", "DISCO-BALL": "15.00"}
CATEGORIES = {
    "RETRO-CLOCK": ["decor"],
    "LAVA-LAMP": ["decor", "lighting"],
    "DISCO-BALL": ["lighting"],
}


def price(promotions, *lines, coupons=(), coupon_list=(), **context):
    engine = shop(PRICES, categories=CATEGORIES, promotions=promotions, coupons=coupon_list)
    return engine.price(cart("EUR", *lines, coupons=coupons), PricingContext(now=NOW, **context))


def test_every_adjustment_names_its_promotion_and_says_why():
    result = price(
        [
            Promotion(
                id="lights",
                name="Lighting week",
                target=ItemFilter(category_ids="lighting"),
                benefit=PercentOffLines(20),
            )
        ],
        ("LAVA-LAMP", 1),
        ("RETRO-CLOCK", 1),
    )
    lamp, clock = result.lines
    assert lamp.adjustments[0].promotion_id == "lights"
    assert lamp.adjustments[0].promotion_name == "Lighting week"
    assert lamp.adjustments[0].reason == "20% off"
    assert lamp.adjustments[0].amount == eur("5.00")
    assert clock.adjustments == ()


def test_excluded_items_are_left_alone():
    result = price(
        [
            Promotion(
                id="all",
                name="All but clocks",
                target=ItemFilter(exclude_skus="RETRO-CLOCK"),
                benefit=PercentOffLines(10),
            )
        ],
        ("RETRO-CLOCK", 1),
        ("DISCO-BALL", 1),
    )
    assert [line.discount for line in result.lines] == [eur("0.00"), eur("1.50")]


def test_an_exclusive_promotion_first_in_priority_applies_alone():
    promotions = [
        Promotion(
            id="big",
            name="Big sale",
            benefit=PercentOffLines(30),
            priority=10,
            stacking=Stacking.EXCLUSIVE,
        ),
        Promotion(id="small", name="Small sale", benefit=PercentOffLines(5), priority=1),
    ]
    result = price(promotions, ("RETRO-CLOCK", 1))
    assert result.applied_promotions == ("big",)
    assert result.discount_total == eur("12.00")


def test_an_exclusive_promotion_behind_a_combinable_one_is_passed_over():
    promotions = [
        Promotion(id="first", name="First", benefit=PercentOffLines(5), priority=10),
        Promotion(
            id="exclusive",
            name="Exclusive",
            benefit=PercentOffLines(30),
            priority=5,
            stacking=Stacking.EXCLUSIVE,
        ),
        Promotion(id="last", name="Last", benefit=AmountOffOrder(eur("1.00")), priority=1),
    ]
    result = price(promotions, ("RETRO-CLOCK", 1))
    assert result.applied_promotions == ("first", "last")
    # 5% of 40.00 is 2.00, then 1.00 off what is left.
    assert result.discount_total == eur("3.00")


def test_combined_promotions_apply_each_on_what_the_earlier_left():
    promotions = [
        Promotion(id="a", name="A", benefit=PercentOffLines(50), priority=2),
        Promotion(id="b", name="B", benefit=PercentOffLines(50), priority=1),
    ]
    assert price(promotions, ("RETRO-CLOCK", 1)).lines[0].total == eur("10.00")


def test_minimum_subtotal_counts_targeted_lines_before_discounts():
    promotion = Promotion(
        id="spend",
        name="Spend 50",
        conditions=[MinimumSubtotal(eur("50.00"))],
        benefit=AmountOffOrder(eur("5.00")),
    )
    assert price([promotion], ("RETRO-CLOCK", 1)).discount_total == eur("0.00")
    assert price([promotion], ("RETRO-CLOCK", 1), ("DISCO-BALL", 1)).discount_total == eur("5.00")


def test_minimum_subtotal_in_another_currency_does_not_qualify():
    promotion = Promotion(
        id="spend",
        name="Spend 1",
        conditions=[MinimumSubtotal(Money("1.00", "USD"))],
        benefit=PercentOffLines(10),
    )
    assert price([promotion], ("RETRO-CLOCK", 1)).applied_promotions == ()


def test_minimum_quantity_may_count_other_items_than_the_ones_discounted():
    # Buy two clocks, get 50% off a disco ball.
    promotion = Promotion(
        id="combo",
        name="Clock combo",
        target=ItemFilter(skus="DISCO-BALL"),
        conditions=[MinimumQuantity(2, items=ItemFilter(skus="RETRO-CLOCK"))],
        benefit=PercentOffLines(50),
    )
    assert price([promotion], ("RETRO-CLOCK", 1), ("DISCO-BALL", 1)).discount_total == eur("0.00")
    assert price([promotion], ("RETRO-CLOCK", 2), ("DISCO-BALL", 1)).discount_total == eur("7.50")


def test_customer_group_promotions_only_reach_that_group():
    promotion = Promotion(
        id="staff",
        name="Staff",
        conditions=[CustomerGroups({"staff"})],
        benefit=PercentOffLines(25),
    )
    assert price([promotion], ("RETRO-CLOCK", 1)).discount_total == eur("0.00")
    assert price([promotion], ("RETRO-CLOCK", 1), customer_group="staff").discount_total == eur(
        "10.00"
    )


def test_schedule_window_bounds_a_promotion():
    promotion = Promotion(
        id="later", name="Later", starts_at=NOW + timedelta(hours=1), benefit=PercentOffLines(10)
    )
    ended = Promotion(id="ended", name="Ended", ends_at=NOW, benefit=PercentOffLines(10))
    assert price([promotion, ended], ("RETRO-CLOCK", 1)).applied_promotions == ()


def test_fixed_price_only_lowers_a_price():
    promotion = Promotion(id="twenty", name="All at 20", benefit=FixedPrice(eur("20.00")))
    result = price([promotion], ("RETRO-CLOCK", 2), ("DISCO-BALL", 1))
    assert [line.total for line in result.lines] == [eur("40.00"), eur("15.00")]


def test_percent_off_the_order_rounds_once_and_spreads():
    promotion = Promotion(id="third", name="A third off", benefit=PercentOffOrder("33.33"))
    result = price([promotion], ("RETRO-CLOCK", 1), ("LAVA-LAMP", 1), ("DISCO-BALL", 1))
    # 80.00 * 33.33% = 26.664 -> 26.66, spread 40:25:15.
    assert result.discount_total == eur("26.66")
    assert sum((line.discount for line in result.lines), eur("0")) == eur("26.66")


def test_buy_x_get_y_at_a_percentage():
    promotion = Promotion(
        id="half", name="Second at half price", benefit=BuyXGetY(buy=1, get=1, percent=50)
    )
    result = price([promotion], ("RETRO-CLOCK", 1), ("DISCO-BALL", 1))
    assert [line.discount for line in result.lines] == [eur("0.00"), eur("7.50")]


def test_tiered_spend_gives_the_highest_tier_reached():
    promotion = Promotion(
        id="tiers",
        name="Spend more, save more",
        benefit=TieredAmountOff([(eur("50.00"), eur("5.00")), (eur("100.00"), eur("15.00"))]),
    )
    assert price([promotion], ("RETRO-CLOCK", 1)).discount_total == eur("0.00")
    assert price([promotion], ("RETRO-CLOCK", 1), ("DISCO-BALL", 1)).discount_total == eur("5.00")
    assert price([promotion], ("RETRO-CLOCK", 3)).discount_total == eur("15.00")


def test_free_shipping_takes_the_whole_shipping_charge():
    promotion = Promotion(id="ship", name="Free shipping", benefit=FreeShipping())
    result = price([promotion], ("RETRO-CLOCK", 1), shipping=eur("4.95"))
    assert result.shipping_discount == eur("4.95")
    assert result.shipping_adjustments[0].promotion_id == "ship"
    assert result.grand_total == eur("40.00")


# --- coupons -----------------------------------------------------------------------

WINTER = Promotion(
    id="winter",
    name="Winter coupon",
    requires_coupon=True,
    conditions=[MinimumSubtotal(eur("30.00"))],
    benefit=PercentOffLines(10),
)


def check(code, *lines, coupons=(), usage=None, now=NOW, customer_id=None):
    engine = shop(PRICES, categories=CATEGORIES, promotions=[WINTER], coupons=coupons)
    context = PricingContext(now=now, coupon_usage=usage or {}, customer_id=customer_id)
    engine.check_coupon(cart("EUR", *lines), code, context)


@pytest.mark.parametrize("code", ["WINTER", " winter ", "Winter"])
def test_coupon_codes_are_matched_without_case_or_spaces(code):
    assert normalize_coupon_code(code) == "WINTER"
    check(code, ("RETRO-CLOCK", 1), coupons=[Coupon(code="winter", promotion_id="winter")])


@pytest.mark.parametrize(
    ("coupon", "lines", "usage", "reason"),
    [
        (Coupon(code="OTHER", promotion_id="winter"), [("RETRO-CLOCK", 1)], None, "unknown"),
        (Coupon(code="WINTER", promotion_id="gone"), [("RETRO-CLOCK", 1)], None, "unknown"),
        (
            Coupon(code="WINTER", promotion_id="winter", ends_at=NOW),
            [("RETRO-CLOCK", 1)],
            None,
            "expired",
        ),
        (
            Coupon(code="WINTER", promotion_id="winter", starts_at=NOW + timedelta(days=1)),
            [("RETRO-CLOCK", 1)],
            None,
            "not_yet_valid",
        ),
        (
            Coupon(code="WINTER", promotion_id="winter"),
            [("DISCO-BALL", 1)],
            None,
            "minimum_not_met",
        ),
        (
            Coupon(code="WINTER", promotion_id="winter", usage_limit=100),
            [("RETRO-CLOCK", 1)],
            {"WINTER": CouponUsage(total=100)},
            "limit_reached",
        ),
        (
            Coupon(code="WINTER", promotion_id="winter", usage_limit_per_customer=1),
            [("RETRO-CLOCK", 1)],
            {"WINTER": CouponUsage(total=5, by_customer=1)},
            "limit_reached",
        ),
    ],
)
def test_a_rejected_coupon_says_why(coupon, lines, usage, reason):
    with pytest.raises(CouponRejected) as caught:
        check("winter", *lines, coupons=[coupon], usage=usage)
    assert caught.value.reason == reason
    assert caught.value.code == "coupon_rejected"
    assert caught.value.field == "coupon_code"
    assert caught.value.coupon_code == "WINTER"


def test_a_coupon_under_its_limit_is_accepted():
    coupon = Coupon(
        code="WINTER", promotion_id="winter", usage_limit=100, usage_limit_per_customer=2
    )
    check(
        "WINTER",
        ("RETRO-CLOCK", 1),
        coupons=[coupon],
        usage={"WINTER": CouponUsage(total=99, by_customer=1)},
    )


def test_a_rejected_coupon_on_the_cart_is_reported_not_raised():
    result = price(
        [WINTER],
        ("DISCO-BALL", 1),
        coupons=["WINTER", "BOGUS"],
        coupon_list=[Coupon(code="WINTER", promotion_id="winter")],
    )
    assert result.applied_promotions == ()
    assert result.rejected_coupons == (("WINTER", "minimum_not_met"), ("BOGUS", "unknown"))


def test_a_coupon_promotion_does_not_apply_without_its_code():
    coupons = [Coupon(code="WINTER", promotion_id="winter")]
    assert price([WINTER], ("RETRO-CLOCK", 1), coupon_list=coupons).applied_promotions == ()
    assert price(
        [WINTER], ("RETRO-CLOCK", 1), coupons=["winter"], coupon_list=coupons
    ).applied_promotions == ("winter",)


@pytest.mark.parametrize("code", ["", "   ", "WIN TER", "x" * 65, None, "ÉTÉ"])
def test_malformed_coupon_codes_are_refused(code):
    with pytest.raises(InvalidInput) as caught:
        normalize_coupon_code(code)
    assert caught.value.field == "coupon_code"


# --- the index ---------------------------------------------------------------------


def test_promotions_for_other_products_are_never_evaluated():
    evaluated = []

    class Spy(PercentOffLines):
        def discounts(self, lines, context):
            evaluated.append(lines)
            return super().discounts(lines, context)

    others = [
        Promotion(
            id=f"other-{n}", name="Other", target=ItemFilter(skus=f"OTHER-{n}"), benefit=Spy(10)
        )
        for n in range(200)
    ]
    mine = Promotion(
        id="mine", name="Mine", target=ItemFilter(category_ids="decor"), benefit=Spy(10)
    )
    engine = shop(PRICES, categories=CATEGORIES, promotions=[*others, mine])
    candidates = engine.promotions._candidates(
        engine._work_lines(cart("EUR", ("RETRO-CLOCK", 1)), PricingContext(now=NOW), "EUR")
    )
    assert [p.id for p, _ in candidates] == ["mine"]
    engine.price(cart("EUR", ("RETRO-CLOCK", 1)), PricingContext(now=NOW))
    assert len(evaluated) == 1


@pytest.mark.parametrize(
    "build",
    [
        lambda: PercentOffLines(0),
        lambda: PercentOffLines(101),
        lambda: PercentOffLines(10.5),
        lambda: AmountOffOrder(eur("0.00")),
        lambda: AmountOffOrder(eur("1.005")),
        lambda: BuyXGetY(buy=0, get=1),
        lambda: MinimumQuantity(0),
        lambda: TieredAmountOff([]),
        lambda: Promotion(id="x", name="X", benefit=FreeShipping(), starts_at=NOW, ends_at=NOW),
    ],
)
def test_promotions_that_make_no_sense_are_refused(build):
    with pytest.raises(InvalidInput):
        build()


def test_a_targeted_promotion_still_honours_its_exclusions():
    promotion = Promotion(
        id="lights-but-disco",
        name="Lighting, not disco",
        target=ItemFilter(category_ids="lighting", exclude_skus="DISCO-BALL"),
        benefit=PercentOffLines(10),
    )
    result = price([promotion], ("LAVA-LAMP", 1), ("DISCO-BALL", 1))
    assert [line.discount for line in result.lines] == [eur("2.50"), eur("0.00")]
