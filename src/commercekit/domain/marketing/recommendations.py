"""Recommendations learnt from what shoppers bought and looked at together.

Two products are *bought together* when they share orders more often than their
popularity alone explains: the lift of a pair is P(A and B) / (P(A) P(B)), the share
of baskets holding both over what two independent products would share. Raw counts
would recommend the best sellers beside everything; lift recommends the kettle
beside the teapot. A pair seen in fewer than ``min_support`` baskets is not trusted
(two one-off orders of two rarities give a huge lift), and ties are broken by
support, then by id, so the same orders always give the same answer.

*Viewed together* is the same measure over browsing sessions. Where neither knows
enough about a product, the best sellers of its categories fill the list, then the
store's.

Everything here is pure: baskets and sessions come in as sets of product ids.
"""

from __future__ import annotations

import enum
import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Final

import attrs

from commercekit.domain.errors import InvalidInput
from commercekit.domain.events import DomainEvent
from commercekit.domain.indexed import Index

__all__ = [
    "HEAD_ID",
    "MAX_BASKET",
    "MAX_K",
    "MAX_NEIGHBOURS",
    "MIN_CONFIDENCE",
    "BestSellers",
    "CoOccurrence",
    "ModelHead",
    "Neighbour",
    "ProductNeighbours",
    "Reason",
    "Recommendation",
    "check_k",
    "recommend",
]

#: Baskets with more distinct products than this count towards popularity but not
#: towards pairs: a wholesale order of 400 lines says little about what goes with
#: what, and would cost 80,000 pairs.
MAX_BASKET: Final = 50
#: How many neighbours of each product a model keeps (and so how many a list can show).
MAX_NEIGHBOURS: Final = 20
#: The least share of a product's baskets another must be in to be its neighbour.
MIN_CONFIDENCE: Final = 0.01
#: The longest list of recommendations one call returns.
MAX_K: Final = 50
#: Lift kept to this many places: the ranking is made before rounding.
_LIFT_PLACES: Final = Decimal("0.0001")


def check_k(value: object, *, field: str = "k") -> int:
    """``value`` if it is how many recommendations to give: 1 to :data:`MAX_K`.

    :raises InvalidInput: naming ``field``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise InvalidInput(f"must be a whole number from 1 to {MAX_K}", field=field)
    return value


class Reason(enum.Enum):
    """Why a product is recommended."""

    BOUGHT_TOGETHER = "bought_together"
    VIEWED_TOGETHER = "viewed_together"
    BEST_SELLER = "best_seller"


@attrs.frozen(kw_only=True)
class Neighbour:
    """A product found with another more often than chance: its lift and support."""

    product_id: str
    lift: Decimal
    """P(both) / (P(one) P(other)); above 1 means more often than chance."""
    support: int
    """Baskets (or sessions) holding both."""


@attrs.frozen(kw_only=True)
class Recommendation:
    """One product recommended, and why."""

    product_id: str
    reason: Reason
    lift: Decimal | None = None
    """For a product found together with what was asked about; ``None`` for a best
    seller."""
    support: int = 0


def _ranked(
    neighbours: Iterable[tuple[str, float, int]], limit: int
) -> list[tuple[str, float, int]]:
    """The best ``limit`` of ``(id, lift, support)``: highest lift, then support, then
    the smallest id."""
    return heapq.nsmallest(limit, neighbours, key=lambda n: (-n[1], -n[2], n[0]))


@attrs.define
class CoOccurrence:
    """How often products appear, alone and in pairs, across baskets (orders, or
    browsing sessions)."""

    baskets: int = 0
    """Baskets counted (every basket with at least one product)."""
    items: Counter[str] = attrs.field(factory=Counter)
    """Baskets holding each product."""
    pairs: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    """Baskets holding each pair, the smaller id first."""

    @classmethod
    def of(cls, baskets: Iterable[Iterable[str]]) -> CoOccurrence:
        """Counted from ``baskets``, each a collection of product ids (a product twice
        in one basket counts once)."""
        counted = cls()
        for basket in baskets:
            counted.add(basket)
        return counted

    def add(self, basket: Iterable[str]) -> None:
        """Count one more basket."""
        distinct = sorted(set(basket))
        if not distinct:
            return
        self.baskets += 1
        self.items.update(distinct)
        if len(distinct) > MAX_BASKET:
            return
        for n, first in enumerate(distinct):
            for second in distinct[n + 1 :]:
                self.pairs[first, second] += 1

    def lift(self, first: str, second: str) -> float:
        """P(both) / (P(first) P(second)); 0 for products never seen."""
        key = (first, second) if first < second else (second, first)
        together = self.pairs.get(key, 0)
        if not together:
            return 0.0
        return together * self.baskets / (self.items[first] * self.items[second])

    def neighbours(
        self,
        *,
        min_support: int = 2,
        min_confidence: float = MIN_CONFIDENCE,
        limit: int = MAX_NEIGHBOURS,
    ) -> dict[str, tuple[Neighbour, ...]]:
        """For every product A, the products B found with it more often than chance
        (lift above 1), in at least ``min_support`` baskets and in at least
        ``min_confidence`` of A's baskets, best first: highest lift, then highest
        support, then the smallest id.

        :raises InvalidInput: naming ``min_support`` (at least 1), ``min_confidence``
            (from 0 to 1) or ``limit``.
        """
        if isinstance(min_support, bool) or not isinstance(min_support, int) or min_support < 1:
            raise InvalidInput("must be a whole number of at least 1", field="min_support")
        if not isinstance(min_confidence, float | int) or not 0 <= min_confidence <= 1:
            raise InvalidInput("must be from 0 to 1", field="min_confidence")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInput("must be a whole number of at least 1", field="limit")
        found: dict[str, list[tuple[str, float, int]]] = {}
        items = self.items
        for (first, second), together in self.pairs.items():
            if together < min_support:
                continue
            lift = together * self.baskets / (items[first] * items[second])
            if lift <= 1.0:
                continue
            # Directed: a rare product bought three times, each time with a best
            # seller, is a fine neighbour of the best seller's in its own list, and
            # noise in the best seller's.
            if together >= min_confidence * items[first]:
                found.setdefault(first, []).append((second, lift, together))
            if together >= min_confidence * items[second]:
                found.setdefault(second, []).append((first, lift, together))
        return {
            product: tuple(
                Neighbour(
                    product_id=other,
                    lift=Decimal(repr(lift)).quantize(_LIFT_PLACES),
                    support=support,
                )
                for other, lift, support in _ranked(candidates, limit)
            )
            for product, candidates in sorted(found.items())
        }

    def by_count(self, product_id: str, limit: int) -> list[str]:
        """The products most often in the same basket as ``product_id`` (raw counts,
        no lift): what lift is measured against."""
        counts = [
            (second if first == product_id else first, together)
            for (first, second), together in self.pairs.items()
            if product_id in (first, second)
        ]
        return [other for other, _ in heapq.nsmallest(limit, counts, key=lambda c: (-c[1], c[0]))]


@attrs.frozen(kw_only=True)
class BestSellers:
    """The products that sell most, in the store and in each category."""

    overall: tuple[str, ...] = ()
    by_category: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    @classmethod
    def of(
        cls,
        units: Mapping[str, int],
        categories: Mapping[str, Sequence[str]],
        *,
        limit: int = MAX_NEIGHBOURS,
    ) -> BestSellers:
        """From units sold per product and each product's categories: the ``limit``
        best in the store and in each category, most units first (ties by id)."""
        ranked = sorted((p for p, n in units.items() if n > 0), key=lambda p: (-units[p], p))
        by_category: dict[str, list[str]] = {}
        for product in ranked:
            for category in categories.get(product, ()):
                chosen = by_category.setdefault(category, [])
                if len(chosen) < limit:
                    chosen.append(product)
        return cls(
            overall=tuple(ranked[:limit]),
            by_category={c: tuple(ids) for c, ids in sorted(by_category.items())},
        )

    def for_categories(self, category_ids: Iterable[str]) -> list[str]:
        """The best sellers of these categories, interleaved in their order (the
        best of each first), then the store's."""
        lists = [self.by_category.get(c, ()) for c in category_ids]
        found: list[str] = []
        for rank in range(max((len(x) for x in lists), default=0)):
            found.extend(x[rank] for x in lists if rank < len(x))
        found.extend(self.overall)
        return list(dict.fromkeys(found))


def recommend(
    seeds: Sequence[str],
    neighbours_of: Callable[[str], Sequence[Neighbour]],
    fallback: Sequence[str],
    k: int,
    *,
    reason: Reason = Reason.BOUGHT_TOGETHER,
    keep: Callable[[str], bool] = lambda product_id: True,
) -> list[Recommendation]:
    """Up to ``k`` products for a shopper looking at ``seeds`` (a product, or a
    cart's products): the neighbours of the seeds, each by its best lift with any of
    them (then its support summed over them, then its id), then ``fallback`` (best
    sellers) to fill the list. Never a seed, never a product twice, only products
    ``keep`` accepts (those on sale)."""
    k = check_k(k)
    best: dict[str, tuple[Decimal, int]] = {}
    for seed in seeds:
        for neighbour in neighbours_of(seed):
            lift, support = best.get(neighbour.product_id, (Decimal(0), 0))
            best[neighbour.product_id] = (max(lift, neighbour.lift), support + neighbour.support)
    chosen: list[Recommendation] = []
    excluded = set(seeds)
    for product_id, (lift, support) in sorted(
        best.items(), key=lambda entry: (-entry[1][0], -entry[1][1], entry[0])
    ):
        if len(chosen) == k:
            return chosen
        if product_id in excluded or not keep(product_id):
            continue
        excluded.add(product_id)
        chosen.append(
            Recommendation(product_id=product_id, reason=reason, lift=lift, support=support)
        )
    for product_id in fallback:
        if len(chosen) == k:
            break
        if product_id in excluded or not keep(product_id):
            continue
        excluded.add(product_id)
        chosen.append(Recommendation(product_id=product_id, reason=Reason.BEST_SELLER))
    return chosen


# --- the model as stored ------------------------------------------------------------------

#: The one head record of a store's model.
HEAD_ID: Final = "recommendations"


@attrs.define(kw_only=True, eq=False)
class ModelHead:
    """What a store's recommendations were learnt from, and where the learnt lists
    are: each product's lists are a record of their own (:class:`ProductNeighbours`),
    so a storefront reads two small records per product page, never the whole model.

    A build writes its lists into the slot the head does not point at, then points
    the head at it: a storefront reading meanwhile sees the previous build whole.
    """

    KIND: ClassVar[str] = "recommendation_model"

    id: str = HEAD_ID
    build: int = 0
    """Counts the builds; a product's lists belong to the build that wrote them."""
    slot: str = "a"
    """Where this build's lists are (``a`` or ``b``)."""
    built_at: datetime
    since: datetime | None = None
    """The oldest sale learnt from."""
    baskets: int = 0
    sessions: int = 0
    min_support: int = 2
    best_sellers: BestSellers = attrs.field(factory=BestSellers)
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def index(self) -> Index:
        return Index(at=self.built_at, ref=HEAD_ID)

    @property
    def next_slot(self) -> str:
        """Where the next build writes its lists."""
        return "b" if self.slot == "a" else "a"

    def lists_id(self, product_id: str, *, slot: str | None = None) -> str:
        """The id of a product's lists in ``slot`` (this build's by default)."""
        return f"{HEAD_ID}:{slot or self.slot}:{product_id}"

    def point_at(
        self,
        *,
        build: int,
        slot: str,
        built_at: datetime,
        since: datetime | None,
        baskets: int,
        sessions: int,
        min_support: int,
        best_sellers: BestSellers,
    ) -> None:
        """Take a finished build as the current one."""
        self.build, self.slot, self.built_at, self.since = build, slot, built_at, since
        self.baskets, self.sessions, self.min_support = baskets, sessions, min_support
        self.best_sellers = best_sellers
        self.version += 1


@attrs.define(kw_only=True, eq=False)
class ProductNeighbours:
    """One product's learnt lists, in one build's slot."""

    KIND: ClassVar[str] = "product_neighbours"

    id: str
    product_id: str
    build: int
    """The build that wrote it: lists of another build than the head's are stale."""
    bought: tuple[Neighbour, ...] = ()
    viewed: tuple[Neighbour, ...] = ()
    built_at: datetime
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def index(self) -> Index:
        return Index(at=self.built_at, ref=self.product_id)

    def rewrite(
        self,
        *,
        build: int,
        bought: tuple[Neighbour, ...],
        viewed: tuple[Neighbour, ...],
        built_at: datetime,
    ) -> None:
        """Hold a newer build's lists."""
        self.build, self.bought, self.viewed, self.built_at = build, bought, viewed, built_at
        self.version += 1
