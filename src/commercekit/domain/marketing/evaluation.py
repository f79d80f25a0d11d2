"""Offline evaluation of the recommendations, on a synthetic order stream with the
structure real shops have.

The stream (:func:`synthetic_orders`) puts products in categories, makes a few of
them far more popular than the rest (a Zipf-like skew), and pairs products that go
together: an order starts from one product, chosen by popularity, takes its
complement with some probability, and picks up a popular product or two besides
(the noise that makes raw co-occurrence counts recommend best sellers everywhere).

:func:`evaluate` learns from the older orders and asks of each newer order with two
products or more: shown one of its products, does a list of ``k`` hold another of
them? The share of orders where it does is the hit rate at ``k``, measured for
lift-based recommendations (what the store serves), raw co-occurrence counts, and
the best sellers (the popularity baseline every recommender must beat).

Pure: the randomness is a seeded :class:`random.Random` handed in.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import attrs

from commercekit.domain.errors import InvalidInput
from commercekit.domain.marketing.recommendations import (
    BestSellers,
    CoOccurrence,
    recommend,
)

__all__ = [
    "EvaluationRow",
    "Measured",
    "SyntheticShop",
    "evaluate",
    "hit_rate",
    "synthetic_orders",
]

#: The share of the stream held out for measuring, the newest orders.
HOLDOUT: Final = 0.2


@attrs.frozen(kw_only=True)
class SyntheticShop:
    """A generated shop: its products' categories, which products go together, and
    its orders, oldest first."""

    categories: Mapping[str, tuple[str, ...]]
    complements: Mapping[str, str]
    orders: tuple[frozenset[str], ...]


def synthetic_orders(
    rng: random.Random,
    *,
    products: int = 300,
    categories: int = 12,
    orders: int = 6000,
    pair_probability: float = 0.4,
    category_affinity: float = 0.5,
    skew: float = 1.1,
) -> SyntheticShop:
    """A stream of ``orders`` over ``products`` in ``categories``.

    Each product has one complement (products are paired at random). An order
    starts from a product drawn by popularity (weight ``1 / rank ** skew``), adds
    its complement with ``pair_probability``, and zero to two more products drawn by
    popularity, each from the first product's category with ``category_affinity``
    and from the whole store otherwise.
    """
    if products < 2 or categories < 1 or orders < 1:
        raise InvalidInput("needs two products, a category and an order", field="products")
    ids = [f"p{n:04d}" for n in range(products)]
    placed = {p: (f"c{rng.randrange(categories):02d}",) for p in ids}
    ranks = list(range(1, products + 1))
    rng.shuffle(ranks)
    weights = [1 / rank**skew for rank in ranks]
    shuffled = ids[:]
    rng.shuffle(shuffled)
    complements: dict[str, str] = {}
    for first, second in zip(shuffled[0::2], shuffled[1::2], strict=False):
        complements[first], complements[second] = second, first
    everything = (ids, weights)
    by_category: dict[str, tuple[list[str], list[float]]] = {}
    for product, weight in zip(ids, weights, strict=True):
        members, member_weights = by_category.setdefault(placed[product][0], ([], []))
        members.append(product)
        member_weights.append(weight)
    stream: list[frozenset[str]] = []
    for _ in range(orders):
        (start,) = rng.choices(ids, weights)
        basket = {start}
        partner = complements.get(start)
        if partner is not None and rng.random() < pair_probability:
            basket.add(partner)
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            # Shoppers browse within a category more often than across the store.
            pool = by_category[placed[start][0]] if rng.random() < category_affinity else everything
            (extra,) = rng.choices(pool[0], pool[1])
            basket.add(extra)
        stream.append(frozenset(basket))
    return SyntheticShop(categories=placed, complements=complements, orders=tuple(stream))


Recommender = Callable[[str, int], Sequence[str]]
"""Product ids to show beside a product, at most ``k``."""


def hit_rate(
    recommender: Recommender, held_out: Sequence[frozenset[str]], k: int, rng: random.Random
) -> Measured:
    """Ask ``recommender`` about one product (drawn by ``rng``) of each held-out order
    of two products or more, and count the orders where its list of ``k`` holds
    another of them."""
    hits = asked = 0
    shown_anywhere: set[str] = set()
    for basket in held_out:
        if len(basket) < 2:
            continue
        shown = rng.choice(sorted(basket))
        listed = recommender(shown, k)
        shown_anywhere.update(listed)
        asked += 1
        if set(listed) & (basket - {shown}):
            hits += 1
    return Measured(hits=hits, asked=asked, distinct=len(shown_anywhere))


@attrs.frozen(kw_only=True)
class Measured:
    """What one recommender scored on the held-out orders."""

    hits: int
    asked: int
    distinct: int
    """Different products it showed across all its lists: best sellers beside
    everything make few."""

    @property
    def rate(self) -> float:
        """The hit rate: the share of orders asked where the list held a hit."""
        return self.hits / self.asked if self.asked else 0.0


@attrs.frozen(kw_only=True)
class EvaluationRow:
    """Each recommender's score at one ``k``."""

    k: int
    popularity: Measured
    co_count: Measured
    lift: Measured


def evaluate(
    shop: SyntheticShop, *, ks: Sequence[int] = (1, 5, 10), min_support: int = 3, seed: int = 0
) -> list[EvaluationRow]:
    """Learn from the older orders of ``shop``, then measure each recommender on the
    newest :data:`HOLDOUT` of them, at each ``k`` (the product shown for each order is
    drawn with ``seed``, the same for every recommender)."""
    cut = int(len(shop.orders) * (1 - HOLDOUT))
    train, held_out = shop.orders[:cut], shop.orders[cut:]
    counted = CoOccurrence.of(train)
    units = Counter(product for basket in train for product in basket)
    sellers = BestSellers.of(units, shop.categories, limit=max(ks) + 1)
    neighbours = counted.neighbours(min_support=min_support, limit=max(ks))
    overall = list(sellers.overall)

    def popularity(product_id: str, k: int) -> list[str]:
        return [p for p in overall if p != product_id][:k]

    def co_count(product_id: str, k: int) -> list[str]:
        found = counted.by_count(product_id, k)
        return list(dict.fromkeys([*found, *popularity(product_id, k)]))[:k]

    def lift(product_id: str, k: int) -> list[str]:
        listed = recommend(
            [product_id],
            lambda seed: neighbours.get(seed, ()),
            sellers.for_categories(shop.categories.get(product_id, ())),
            k,
        )
        return [r.product_id for r in listed]

    return [
        EvaluationRow(
            k=k,
            popularity=hit_rate(popularity, held_out, k, random.Random(seed)),
            co_count=hit_rate(co_count, held_out, k, random.Random(seed)),
            lift=hit_rate(lift, held_out, k, random.Random(seed)),
        )
        for k in ks
    ]
