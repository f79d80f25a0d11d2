"""Experiments: a visitor's arm is drawn from a digest and stays theirs, a cart keeps
the arm it was enrolled in, an arm changes how a cart is priced, and the results
come out as worked by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit import Cart, Category, Money, PercentOffLines, Product, Promotion, Variant
from commercekit.domain.catalog import Catalog
from commercekit.domain.errors import InvalidInput, InvalidTransition
from commercekit.domain.marketing.experiments import (
    Arm,
    Assignment,
    Experiment,
    ExperimentStatus,
    Visit,
    arm_engine,
    bucket,
    results,
    wilson_interval,
)
from commercekit.domain.pricing import PriceBook, PriceList, PricingContext, PricingEngine
from commercekit.domain.promotions import PromotionEngine

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
VISITORS = [f"visitor-{n}" for n in range(20_000)]


def experiment(*arms: Arm, traffic_percent: int = 100) -> Experiment:
    made = Experiment(
        id="experiment_spring",
        name="Spring prices",
        currency="EUR",
        arms=arms or (Arm(name="control", weight=3), Arm(name="cheaper", price_list_id="b")),
        traffic_percent=traffic_percent,
        created_at=NOW,
    )
    made.start(at=NOW)
    return made


# --- drawing arms -------------------------------------------------------------------------


def test_the_draw_is_a_sha256_digest_the_same_in_every_process() -> None:
    assert bucket("experiment_spring", "visitor-1", 1000) == 240
    assert bucket("experiment_spring", "visitor-2", 1000) == 585
    assert bucket("experiment_spring", "visitor-1", 100, salt="traffic") == 61
    script = (
        "from commercekit.domain.marketing.experiments import bucket;"
        "print(bucket('experiment_spring', 'visitor-1', 1000))"
    )
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            timeout=60,
        )
        assert done.stdout.strip() == "240"


def test_the_same_visitor_always_gets_the_same_arm() -> None:
    test = experiment()
    first = [test.draw(visitor) for visitor in VISITORS[:200]]
    assert first == [experiment().draw(visitor) for visitor in VISITORS[:200]]


def test_arms_share_visitors_as_their_weights_say() -> None:
    drawn = Counter(arm.name for v in VISITORS if (arm := experiment().draw(v)) is not None)
    assert drawn["control"] / len(VISITORS) == pytest.approx(0.75, abs=0.01)
    assert drawn["cheaper"] / len(VISITORS) == pytest.approx(0.25, abs=0.01)


def test_traffic_enrols_a_share_and_more_traffic_moves_no_one_out() -> None:
    few = experiment(traffic_percent=30)
    more = experiment(traffic_percent=60)
    enrolled = {v for v in VISITORS if few.enrols(v)}
    assert len(enrolled) / len(VISITORS) == pytest.approx(0.3, abs=0.01)
    assert all(more.enrols(v) for v in enrolled)
    assert all(few.draw(v) == more.draw(v) for v in list(enrolled)[:500])


def test_a_cart_keeps_its_arm_when_the_weights_change_or_the_experiment_stops() -> None:
    test = experiment()
    visitor = next(v for v in VISITORS if test.draw(v) == test.arm("cheaper"))
    held = Assignment.enrol(test, cart_id="cart-1", visitor_id=visitor, at=NOW)
    assert held.arm == "cheaper"
    assert held.changes is not None
    assert held.changes.price_list_id == "b"
    test.reweight({"control": 10_000, "cheaper": 1})
    assert test.draw(visitor) == test.arm("control")
    test.stop(at=NOW)
    # The assignment is the cart's own copy: nothing the experiment does reaches it.
    assert held.arm == "cheaper"
    assert held.changes.price_list_id == "b"
    with pytest.raises(InvalidTransition):
        Assignment.enrol(test, cart_id="cart-2", visitor_id=visitor, at=NOW)


def test_a_visitor_outside_the_traffic_is_saved_as_outside() -> None:
    test = experiment(traffic_percent=1)
    outside = next(v for v in VISITORS if not test.enrols(v))
    held = Assignment.enrol(test, cart_id="cart-9", visitor_id=outside, at=NOW)
    assert (held.arm, held.changes) == (None, None)


def test_an_experiment_runs_once() -> None:
    test = experiment()
    with pytest.raises(InvalidTransition):
        test.start(at=NOW)
    test.stop(at=NOW)
    assert test.status is ExperimentStatus.STOPPED
    with pytest.raises(InvalidTransition):
        test.stop(at=NOW)
    with pytest.raises(InvalidTransition):
        test.reweight({"control": 1})


@pytest.mark.parametrize(
    ("arms", "field"),
    [
        ((Arm(name="only"),), "arms"),
        ((Arm(name="same"), Arm(name="same")), "arms.name"),
    ],
)
def test_arms_are_checked(arms: tuple[Arm, ...], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        experiment(*arms)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"weight": 0}, "weight"),
        ({"weight": 2.0}, "weight"),
        ({"free_shipping_over": "0"}, "free_shipping_over"),
        ({"free_shipping_over": 1.5}, "free_shipping_over"),
        ({"price_list_id": ""}, "price_list_id"),
    ],
)
def test_an_arm_refuses_what_it_cannot_be(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Arm(name="b", **fields)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_a_threshold_finer_than_a_cent_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        experiment(Arm(name="a"), Arm(name="b", free_shipping_over=Decimal("20.001")))
    assert caught.value.field == "free_shipping_over"


@pytest.mark.parametrize("weights", [{"nobody": 1}, {"control": 0}, {"control": True}, {}])
def test_new_weights_are_checked(weights: dict[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        experiment().reweight(weights)  # type: ignore[arg-type]
    assert caught.value.field == "weights"


# --- an arm's prices -----------------------------------------------------------------------


def engine_and_cart() -> tuple[PricingEngine, Cart, list[Promotion]]:
    catalog = Catalog([Category(id="kitchen", name="Kitchen")])
    mug = Product(
        id="mug", name="Mug", category_ids=["kitchen"], variants=[Variant(sku="RETRO-MUG")]
    )
    mug.publish()
    catalog.add_product(mug)
    prices = PriceList("eu", "EUR")
    prices.set_price("RETRO-MUG", Money("12.00", "EUR"))
    promotions = [
        Promotion(
            id="kitchen-10",
            name="Kitchen week",
            benefit=PercentOffLines(10),
            requires_coupon=True,
        )
    ]
    engine = PricingEngine(
        catalog=catalog, prices=PriceBook([prices]), promotions=PromotionEngine(promotions)
    )
    cart = Cart(id="cart-1", currency="EUR")
    cart.add("RETRO-MUG", 2)
    return engine, cart, promotions


CONTEXT = PricingContext(now=NOW, shipping=Money("4.90", "EUR"))


def changes(arm: Arm) -> object:
    return experiment(Arm(name="control"), arm).changes(arm)


def test_an_arm_tries_its_price_list_first() -> None:
    engine, cart, _ = engine_and_cart()
    cheaper = PriceList("b", "EUR", customer_group="experiment")
    cheaper.set_price("RETRO-MUG", Money("10.00", "EUR"))
    arm = Arm(name="cheaper", price_list_id="b")
    priced = arm_engine(
        engine,
        changes(arm),
        currency="EUR",
        price_list=cheaper,  # type: ignore[arg-type]
    ).price(cart, CONTEXT)
    assert priced.subtotal_units == 2000
    assert engine.price(cart, CONTEXT).subtotal_units == 2400


def test_an_arm_unlocks_its_promotion_without_a_coupon() -> None:
    engine, cart, promotions = engine_and_cart()
    arm = Arm(name="promo", promotion_id="kitchen-10")
    priced = arm_engine(
        engine,
        changes(arm),
        currency="EUR",
        promotions=promotions,  # type: ignore[arg-type]
    ).price(cart, CONTEXT)
    assert priced.discount_units == 240
    assert priced.applied_promotions == ("kitchen-10",)
    assert engine.price(cart, CONTEXT).discount_units == 0


def test_an_arm_gives_free_shipping_from_its_threshold() -> None:
    engine, cart, promotions = engine_and_cart()
    arm = Arm(name="ship", free_shipping_over=Decimal("20.00"))
    free = arm_engine(
        engine,
        changes(arm),
        currency="EUR",
        promotions=promotions,  # type: ignore[arg-type]
    )
    assert free.price(cart, CONTEXT).shipping_discount_units == 490
    cart.change_quantity("RETRO-MUG", 1)
    assert free.price(cart, CONTEXT).shipping_discount_units == 0


# --- results -------------------------------------------------------------------------------


def test_wilson_interval_as_worked_by_hand() -> None:
    # 5 of 20 at 95%: centre (0.25 + z^2/40) / (1 + z^2/20), half-width
    # z / (1 + z^2/20) x sqrt(0.25 x 0.75 / 20 + z^2 / 1600).
    low, high = wilson_interval(5, 20)
    assert (low, high) == pytest.approx((0.11186, 0.46870), abs=1e-5)
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(1, 1)[1] == 1.0


def test_results_per_arm_as_worked_by_hand() -> None:
    test = experiment(Arm(name="control"), Arm(name="free", free_shipping_over=Decimal(50)))
    visits = [
        Visit(visitor_id="v1", arm="control", converted=True, revenue_units=1000),
        Visit(visitor_id="v2", arm="control", converted=False),
        Visit(visitor_id="v3", arm="control", converted=False),
        Visit(visitor_id="v4", arm="control", converted=True, revenue_units=3000),
        # One visitor, two carts, both ordered: one visitor, one conversion.
        Visit(visitor_id="v5", arm="free", converted=True, revenue_units=2000),
        Visit(visitor_id="v5", arm="free", converted=True, revenue_units=500),
    ]
    control, free = results(test, visits)
    assert (control.visitors, control.conversions, control.conversion_rate) == (4, 2, 0.5)
    assert control.revenue == Money("40.00", "EUR")
    assert control.revenue_per_visitor == Money("10.00", "EUR")
    # Per visitor 10, 0, 0, 30 EUR: sample variance (0 + 100 + 100 + 400) / 3 = 200,
    # so the half-width is 1.96 x sqrt(200 / 4) = 13.86 (the low end stops at zero).
    assert control.revenue_per_visitor_interval == (Money("0.00", "EUR"), Money("23.86", "EUR"))
    assert control.conversion_interval == pytest.approx(wilson_interval(2, 4))
    assert (free.visitors, free.conversions, free.conversion_rate) == (1, 1, 1.0)
    assert free.revenue_per_visitor == Money("25.00", "EUR")
    assert free.revenue_per_visitor_interval is None


def test_an_arm_without_visitors_says_so() -> None:
    (control, other) = results(experiment(), [])
    assert (control.visitors, control.conversion_interval) == (0, None)
    assert control.revenue_per_visitor == Money("0.00", "EUR")
    assert attrs.asdict(other)["conversion_rate"] == 0.0


@given(
    weights=st.lists(st.integers(1, 50), min_size=2, max_size=6),
    visitor=st.text(max_size=20),
)
def test_every_visitor_gets_one_arm_of_those_there_the_same_each_time(
    weights: list[int], visitor: str
) -> None:
    arms = tuple(Arm(name=f"arm-{n}", weight=w) for n, w in enumerate(weights))
    first = experiment(*arms).draw(visitor)
    assert first in arms
    assert experiment(*arms).draw(visitor) == first
