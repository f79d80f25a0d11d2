"""Bought together by lift, best sellers to fill, and the offline benchmark: lift-based
recommendations beat the best sellers on a held-out synthetic order stream."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.errors import InvalidInput
from commercekit.domain.marketing.evaluation import evaluate, synthetic_orders
from commercekit.domain.marketing.recommendations import (
    MAX_BASKET,
    BestSellers,
    CoOccurrence,
    Neighbour,
    Reason,
    check_k,
    recommend,
)

KITCHEN = [
    {"TEAPOT", "KETTLE"},
    {"TEAPOT", "KETTLE"},
    {"TEAPOT", "MUG"},
    {"KETTLE"},
    {"MUG", "SPOON"},
    {"MUG", "SPOON"},
]


def test_lift_is_the_share_of_baskets_holding_both_over_chance() -> None:
    counted = CoOccurrence.of(KITCHEN)
    assert counted.baskets == 6
    # 2 of 6 baskets hold both; each is in 3 of 6: (2/6) / (3/6 * 3/6) = 4/3.
    assert counted.lift("TEAPOT", "KETTLE") == pytest.approx(4 / 3)
    assert counted.lift("KETTLE", "TEAPOT") == pytest.approx(4 / 3)
    # MUG in 3, SPOON in 2: (2/6) / (3/6 * 2/6) = 2.
    assert counted.lift("MUG", "SPOON") == pytest.approx(2.0)
    assert counted.lift("TEAPOT", "SPOON") == 0.0


def test_neighbours_need_support_and_more_than_chance() -> None:
    lists = CoOccurrence.of(KITCHEN).neighbours(min_support=2)
    assert lists == {
        "KETTLE": (Neighbour(product_id="TEAPOT", lift=Decimal("1.3333"), support=2),),
        "MUG": (Neighbour(product_id="SPOON", lift=Decimal("2.0000"), support=2),),
        "SPOON": (Neighbour(product_id="MUG", lift=Decimal("2.0000"), support=2),),
        "TEAPOT": (Neighbour(product_id="KETTLE", lift=Decimal("1.3333"), support=2),),
    }


def test_a_pair_seen_once_does_not_dominate_however_rare() -> None:
    baskets = [*KITCHEN, {"RARE-1", "RARE-2"}]
    assert CoOccurrence.of(baskets).lift("RARE-1", "RARE-2") == pytest.approx(7.0)
    assert "RARE-1" not in CoOccurrence.of(baskets).neighbours(min_support=2)
    assert "RARE-1" in CoOccurrence.of(baskets).neighbours(min_support=1)


def test_lift_recommends_the_partner_where_raw_counts_recommend_the_best_seller() -> None:
    # Everyone buys BAG; TEA goes with CUP.
    baskets = [{"BAG", "TEA"}] * 2 + [{"BAG", "TEA", "CUP"}] * 2 + [{"BAG"}] * 6
    counted = CoOccurrence.of(baskets)
    assert counted.by_count("TEA", 1) == ["BAG"]
    (best,) = counted.neighbours(min_support=2)["TEA"]
    assert (best.product_id, best.lift) == ("CUP", Decimal("2.5000"))


def test_ties_are_broken_by_support_then_by_id() -> None:
    baskets = [{"A", "B", "C", "D"}] * 2 + [{"A", "D"}, {"A"}] + [{"Z"}] * 8
    found = CoOccurrence.of(baskets).neighbours(min_support=1)["A"]
    # Every lift is 3: support x 12 / (4 x baskets of the other), with D in 3 of 12.
    assert [(n.product_id, n.lift, n.support) for n in found] == [
        ("D", Decimal("3.0000"), 3),
        ("B", Decimal("3.0000"), 2),
        ("C", Decimal("3.0000"), 2),
    ]


def test_an_outsize_basket_counts_for_popularity_and_not_for_pairs() -> None:
    big = {f"P{n:03d}" for n in range(MAX_BASKET + 1)}
    counted = CoOccurrence.of([big, {"P000", "P001"}])
    assert counted.items["P000"] == 2
    assert counted.pairs["P000", "P001"] == 1


def test_neighbours_refuse_a_support_below_one() -> None:
    with pytest.raises(InvalidInput) as caught:
        CoOccurrence.of(KITCHEN).neighbours(min_support=0)
    assert caught.value.field == "min_support"


def test_best_sellers_per_category_interleave_then_the_store() -> None:
    sellers = BestSellers.of(
        {"a": 5, "b": 9, "c": 9, "d": 1, "e": 0},
        {"a": ("x",), "b": ("x", "y"), "c": ("y",), "d": ("x",)},
    )
    assert sellers.overall == ("b", "c", "a", "d")
    assert sellers.by_category == {"x": ("b", "a", "d"), "y": ("b", "c")}
    assert sellers.for_categories(["x", "y"]) == ["b", "a", "c", "d"]
    assert sellers.for_categories(["unknown"]) == ["b", "c", "a", "d"]


def test_recommend_fills_with_best_sellers_never_a_seed_twice_or_off_sale() -> None:
    neighbours = {
        "A": (
            Neighbour(product_id="B", lift=Decimal(2), support=2),
            Neighbour(product_id="C", lift=Decimal("1.5"), support=4),
        )
    }
    found = recommend(
        ["A"],
        lambda seed: neighbours.get(seed, ()),
        ["D", "A", "B", "E", "F"],
        4,
        keep=lambda product_id: product_id != "E",
    )
    assert [(r.product_id, r.reason) for r in found] == [
        ("B", Reason.BOUGHT_TOGETHER),
        ("C", Reason.BOUGHT_TOGETHER),
        ("D", Reason.BEST_SELLER),
        ("F", Reason.BEST_SELLER),
    ]
    assert found[0].lift == Decimal(2)
    assert found[2].lift is None


def test_a_cart_takes_each_candidates_best_lift_among_its_products() -> None:
    neighbours = {
        "A": (
            Neighbour(product_id="B", lift=Decimal(2), support=2),
            Neighbour(product_id="C", lift=Decimal("1.5"), support=1),
        ),
        "C": (
            Neighbour(product_id="B", lift=Decimal(3), support=1),
            Neighbour(product_id="D", lift=Decimal("1.2"), support=5),
        ),
    }
    found = recommend(["A", "C"], lambda seed: neighbours.get(seed, ()), [], 5)
    assert [(r.product_id, r.lift, r.support) for r in found] == [
        ("B", Decimal(3), 3),
        ("D", Decimal("1.2"), 5),
    ]


@pytest.mark.parametrize("k", [0, 51, True, 2.0, "3"])
def test_k_is_a_whole_number_from_1_to_50(k: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_k(k)
    assert caught.value.field == "k"


# --- the offline benchmark ------------------------------------------------------------


def test_the_synthetic_stream_is_the_same_for_the_same_seed() -> None:
    one = synthetic_orders(random.Random(7), orders=500)
    other = synthetic_orders(random.Random(7), orders=500)
    assert one == other
    assert one != synthetic_orders(random.Random(8), orders=500)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lift_beats_the_best_sellers_on_held_out_orders(seed: int) -> None:
    rows = evaluate(synthetic_orders(random.Random(seed)), ks=(1, 5, 10), seed=seed)
    for row in rows:
        assert row.lift.asked == row.popularity.asked > 500
        assert row.lift.rate > row.popularity.rate, row


# --- properties ---------------------------------------------------------------------------

products = st.sampled_from([f"P{n}" for n in range(12)])
baskets = st.lists(st.frozensets(products, min_size=1, max_size=5), max_size=40)


@given(baskets=baskets, min_support=st.integers(1, 3))
def test_every_list_is_ranked_and_above_chance(
    baskets: list[frozenset[str]], min_support: int
) -> None:
    counted = CoOccurrence.of(baskets)
    for product, found in counted.neighbours(min_support=min_support).items():
        keys = [(-n.lift, -n.support, n.product_id) for n in found]
        assert keys == sorted(keys)
        for neighbour in found:
            assert neighbour.product_id != product
            assert neighbour.support >= min_support
            assert neighbour.lift > 1


@given(
    baskets=baskets,
    seeds=st.lists(products, max_size=3),
    fallback=st.lists(products, max_size=12),
    k=st.integers(1, 8),
)
def test_a_list_is_at_most_k_distinct_products_none_a_seed(
    baskets: list[frozenset[str]], seeds: list[str], fallback: list[str], k: int
) -> None:
    lists = CoOccurrence.of(baskets).neighbours(min_support=1)
    found = recommend(seeds, lambda seed: lists.get(seed, ()), fallback, k)
    ids = [r.product_id for r in found]
    assert len(ids) <= k
    assert len(set(ids)) == len(ids)
    assert not set(ids) & set(seeds)
