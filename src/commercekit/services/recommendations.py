"""Recommendations: learnt from the store's sales in a batch, read by storefronts.

:meth:`RecommendationService.rebuild` reads the sales ledger a page of products at a
time: every sale of an order carries the order's id, so the goods that left the shelf
in one order make one basket. (Only goods that keep stock are in the ledger, and
only once they ship: a download, or an order not shipped yet, is not learnt from.)
Browsing sessions, which the store does not keep, are handed in by the application.
The lists it learns are stored, one small record per product beside a head record
(:class:`~commercekit.domain.marketing.recommendations.ModelHead`), so that a product
page costs two primary-key reads and a read of the products it shows.

Run it from a periodic job, one at a time.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

from commercekit.domain.catalog import Product, ProductFilter
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.identifiers import check_key, check_keys, check_whole_number
from commercekit.domain.inventory import MovementKind
from commercekit.domain.marketing.recommendations import (
    HEAD_ID,
    BestSellers,
    CoOccurrence,
    ModelHead,
    Neighbour,
    ProductNeighbours,
    Reason,
    Recommendation,
    check_k,
    recommend,
)
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Service, find_cart

__all__ = ["RecommendationService"]

#: Products read, or lists written, per unit of work.
PAGE: Final = 100
#: The most browsing sessions one rebuild takes, and the most products in one.
MOST_SESSIONS: Final = 1_000_000
MOST_VIEWED: Final = 500


def _whole(value: object, field: str, low: int, high: int) -> int:
    """``value`` as a whole number from ``low`` to ``high`` (its digits too, as a form
    sends them).

    :raises InvalidInput: naming ``field``.
    """
    number = check_whole_number(value, field)
    if not low <= number <= high:
        raise InvalidInput(f"must be a whole number from {low:,} to {high:,}", field=field)
    return number


def _sessions(views: object) -> Iterator[list[str]]:
    """Each browsing session handed in, as product ids.

    :raises InvalidInput: naming ``views``.
    """
    if isinstance(views, str | bytes | Mapping) or not isinstance(views, Iterable):
        raise InvalidInput("expected sessions, each a list of product ids", field="views")
    for count, session in enumerate(views):
        if count >= MOST_SESSIONS:
            raise InvalidInput(f"at most {MOST_SESSIONS:,} sessions", field="views")
        if isinstance(session, str):
            raise InvalidInput("each session is a list of product ids", field="views")
        ids = check_keys(session, "views")
        if len(ids) > MOST_VIEWED:
            raise InvalidInput(f"at most {MOST_VIEWED} products a session", field="views")
        yield ids


def _stocked(product: Product) -> list[str]:
    return [v.sku for v in product.variants if v.track_stock and not v.digital]


class RecommendationService(Service):
    """What to show beside a product or a cart."""

    # --- learning -----------------------------------------------------------------------

    def rebuild(
        self, *, days: int = 365, min_support: int = 2, views: Iterable[Sequence[str]] = ()
    ) -> ModelHead:
        """Learn from the sales of the last ``days`` days (and from ``views``, browsing
        sessions each listing the products one visitor looked at), then serve the new
        lists. Storefronts read the previous build meanwhile.

        :param min_support: the fewest orders (or sessions) a pair must share to be
            recommended together.
        :raises InvalidInput: naming ``days`` (1 to 3,650), ``min_support`` (1 to
            1,000) or ``views``.
        """
        days = _whole(days, "days", 1, 3650)
        min_support = _whole(min_support, "min_support", 1, 1000)
        viewed = CoOccurrence.of(_sessions(views))
        now = self.now
        since = now - timedelta(days=days)
        baskets, units, categories = self._sales(since)
        bought = CoOccurrence.of(baskets.values())
        bought_lists = bought.neighbours(min_support=min_support)
        viewed_lists = viewed.neighbours(min_support=min_support)
        sellers = BestSellers.of(units, categories)

        current = self._read(lambda uow: uow.records(ModelHead).find(HEAD_ID))
        build = 1 if current is None else current.build + 1
        slot = "a" if current is None else current.next_slot
        head = current or ModelHead(built_at=now)
        products = sorted(set(bought_lists) | set(viewed_lists))
        for start in range(0, len(products), PAGE):
            lists = [
                (
                    head.lists_id(product_id, slot=slot),
                    product_id,
                    bought_lists.get(product_id, ()),
                    viewed_lists.get(product_id, ()),
                )
                for product_id in products[start : start + PAGE]
            ]
            self._run(functools.partial(self._write_lists, lists=lists, build=build, at=now))

        def point(uow: UnitOfWork) -> ModelHead:
            found = uow.records(ModelHead).find(HEAD_ID)
            fresh = found or ModelHead(built_at=now)
            fresh.point_at(
                build=build,
                slot=slot,
                built_at=now,
                since=since,
                baskets=bought.baskets,
                sessions=viewed.baskets,
                min_support=min_support,
                best_sellers=sellers,
            )
            if found is None:
                uow.records(ModelHead).add(fresh)
            else:
                uow.records(ModelHead).save(fresh)
            return fresh

        return self._run(point)

    def _sales(
        self, since: datetime
    ) -> tuple[dict[str, set[str]], Counter[str], dict[str, tuple[str, ...]]]:
        """Baskets (the products of each order's sales), units sold per product, and
        every product's categories, a page of products at a time."""
        locations = [place.id for place in self._read(lambda uow: uow.inventory.locations())]
        baskets: dict[str, set[str]] = {}
        units: Counter[str] = Counter()
        categories: dict[str, tuple[str, ...]] = {}
        after: str | None = None
        while True:

            def page(uow: UnitOfWork, after: str | None = after) -> list[Product]:
                found = uow.catalog.list_products(ProductFilter(), after=after, limit=PAGE)
                for product in found:
                    categories[product.id] = product.category_ids
                    for sku in _stocked(product):
                        for location in locations:
                            for movement in uow.inventory.movements(sku, location):
                                if (
                                    movement.kind is MovementKind.SALE
                                    and movement.at >= since
                                    and movement.reference
                                ):
                                    baskets.setdefault(movement.reference, set()).add(product.id)
                                    units[product.id] -= movement.quantity
                return found

            products = self._read(page)
            if len(products) < PAGE:
                return baskets, units, categories
            after = products[-1].id

    def _write_lists(
        self,
        uow: UnitOfWork,
        *,
        lists: Sequence[tuple[str, str, tuple[Neighbour, ...], tuple[Neighbour, ...]]],
        build: int,
        at: datetime,
    ) -> None:
        records = uow.records(ProductNeighbours)
        for record_id, product_id, bought, viewed in lists:
            found = records.find(record_id)
            if found is None:
                records.add(
                    ProductNeighbours(
                        id=record_id,
                        product_id=product_id,
                        build=build,
                        bought=bought,
                        viewed=viewed,
                        built_at=at,
                    )
                )
            else:
                found.rewrite(build=build, bought=bought, viewed=viewed, built_at=at)
                records.save(found)

    def model(self) -> ModelHead | None:
        """What the lists served were learnt from (``None`` before the first build)."""
        return self._read(lambda uow: uow.records(ModelHead).find(HEAD_ID))

    # --- serving ------------------------------------------------------------------------

    def for_product(self, product_id: str, k: int = 4) -> list[Recommendation]:
        """Up to ``k`` products bought together with this one, filled with the best
        sellers of its categories, then of the store; only products on sale now.

        :raises NotFound: naming ``product_id``, for a product the store does not have.
        :param k: a whole number from 1 to 50 (or its digits, as a form sends them).
        :raises InvalidInput: naming ``k``, outside 1 to 50.
        """
        return self._for_product(product_id, k, Reason.BOUGHT_TOGETHER)

    def viewed_with(self, product_id: str, k: int = 4) -> list[Recommendation]:
        """Up to ``k`` products looked at by those who looked at this one, filled as
        :meth:`for_product` fills.

        :raises NotFound: naming ``product_id``.
        :raises InvalidInput: naming ``k``.
        """
        return self._for_product(product_id, k, Reason.VIEWED_TOGETHER)

    def _for_product(self, product_id: str, k: int, reason: Reason) -> list[Recommendation]:
        check_key(product_id, "product_id")
        k = check_k(check_whole_number(k, "k"))

        def work(uow: UnitOfWork) -> list[Recommendation]:
            found = uow.catalog.products([product_id]) if product_id else []
            if not found:
                raise NotFound("product", product_id, field="product_id")
            return self._serve(uow, found, k, reason)

        return self._read(work)

    def for_cart(self, token: str, k: int = 4) -> list[Recommendation]:
        """Up to ``k`` products bought together with what the cart holds (each by its
        best lift with any of them), filled with the best sellers of their categories,
        then of the store; never one the cart holds.

        :raises NotFound: naming ``token``, for a token that opens no cart.
        :raises InvalidInput: naming ``k``.
        """
        check_key(token, "token")
        k = check_k(check_whole_number(k, "k"))

        def work(uow: UnitOfWork) -> list[Recommendation]:
            cart = find_cart(uow, token)
            skus = [sku for sku, _ in cart.items()]
            products = uow.catalog.products_for_skus(skus) if skus else []
            return self._serve(uow, products, k, Reason.BOUGHT_TOGETHER)

        return self._read(work)

    def _serve(
        self, uow: UnitOfWork, seeds: Sequence[Product], k: int, reason: Reason
    ) -> list[Recommendation]:
        head = uow.records(ModelHead).find(HEAD_ID)
        if head is None:
            return []
        records = uow.records(ProductNeighbours)
        lists: dict[str, tuple[Neighbour, ...]] = {}
        for seed in seeds:
            found = records.find(head.lists_id(seed.id))
            if found is not None and found.build == head.build:
                lists[seed.id] = found.bought if reason is Reason.BOUGHT_TOGETHER else found.viewed
        fallback = head.best_sellers.for_categories(
            dict.fromkeys(c for seed in seeds for c in seed.category_ids)
        )
        wanted = {n.product_id for found in lists.values() for n in found} | set(fallback)
        now = self.now
        on_sale = {p.id for p in uow.catalog.products(wanted) if p.is_available(now)}
        keep: Callable[[str], bool] = on_sale.__contains__
        return recommend(
            [seed.id for seed in seeds],
            lambda seed: lists.get(seed, ()),
            fallback,
            k,
            reason=reason,
            keep=keep,
        )
