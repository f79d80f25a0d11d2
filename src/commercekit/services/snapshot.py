"""The catalogue that pricing and stock planning read on every call, loaded once
per catalogue stamp and shared by every call a store serves: categories, tax zones,
promotions and stock locations whole, and the products and prices of each SKU the
first time a cart holds it.

Every catalogue write bumps the stamp in its own transaction (see
``CatalogRepository.stamp``), so one primary-key read tells whether the snapshot
is still what is stored, in this process or after a write by any other.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from typing import Final

import attrs

from commercekit.domain.catalog import Catalog, Category, CategoryTree, Product
from commercekit.domain.inventory import StockLocation
from commercekit.domain.pricing import PriceEntry, PriceList, TaxTable, TaxZone
from commercekit.domain.promotions import Coupon, PromotionEngine
from commercekit.ports.storage import UnitOfWork

__all__ = ["CatalogCache", "CatalogSnapshot"]

#: Per-SKU entries a snapshot keeps before it starts afresh: a bound on memory for
#: a catalogue far larger than what sells.
MOST_SKUS_KEPT: Final = 100_000


def _parents_first(categories: Sequence[Category]) -> list[Category]:
    by_id = {c.id: c for c in categories}
    ordered: list[Category] = []
    placed: set[str] = set()

    def place(category: Category) -> None:
        if category.id in placed:
            return
        if category.parent_id is not None and category.parent_id in by_id:
            place(by_id[category.parent_id])
        placed.add(category.id)
        ordered.append(category)

    for category in categories:
        place(category)
    return ordered


_UNREAD: Final = object()


def _header(price_list: PriceList) -> PriceList:
    """A list like ``price_list``, without its prices."""
    return PriceList(
        price_list.id,
        price_list.currency,
        channel=price_list.channel,
        customer_group=price_list.customer_group,
    )


@attrs.frozen
class CatalogSnapshot:
    """The catalogue-wide data as stored at one stamp. Shared between threads: what
    a call needs to change (a catalogue with the cart's products, a promotion engine
    with its coupons, a tax table that remembers addresses) is built afresh from it."""

    stamp: int
    categories: tuple[Category, ...]
    """Every category, each after its parent."""
    tax_zones: tuple[TaxZone, ...]
    promotions: PromotionEngine
    """Every promotion, indexed once; see :meth:`promotion_engine`."""
    locations: tuple[StockLocation, ...]
    """Every stock location, in shipping preference."""
    _products: dict[str, Product | None] = attrs.field(factory=dict, init=False)
    """By SKU, as read at this stamp (``None``: no product has it)."""
    _lists: dict[str, tuple[PriceList, ...]] = attrs.field(factory=dict, init=False)
    """Every price list of a currency, without its prices."""
    _prices: dict[tuple[str, str], dict[str, PriceEntry]] = attrs.field(factory=dict, init=False)
    """By currency and SKU, the SKU's entry in each list that prices it."""
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    """Guards the three above; never held while storage is read."""
    _tree: CategoryTree = attrs.field(init=False)
    """Every category as a tree, built once and shared by every catalogue."""

    @_tree.default
    def _build_tree(self) -> CategoryTree:
        return CategoryTree(self.categories)

    @classmethod
    def load(cls, uow: UnitOfWork, stamp: int) -> CatalogSnapshot:
        """Read it all through ``uow``, after its stamp was read as ``stamp``: a write
        that lands between the two reads bumps the stamp past ``stamp``, so what is
        read is never taken for older than it is."""
        return cls(
            stamp,
            tuple(_parents_first(uow.catalog.categories())),
            tuple(uow.catalog.tax_zones()),
            PromotionEngine(uow.catalog.promotions()),
            tuple(uow.inventory.locations()),
        )

    def catalog(self, uow: UnitOfWork, skus: Collection[str]) -> Catalog:
        """A catalogue with every category and the products of ``skus``: those not
        read at this stamp yet are read through ``uow`` (in one go) and kept."""
        with self._lock:
            known = {sku: self._products.get(sku, _UNREAD) for sku in skus}
        missing = [sku for sku, product in known.items() if product is _UNREAD]
        if missing:
            fresh: dict[str, Product | None] = dict.fromkeys(missing)
            for product in uow.catalog.products_for_skus(missing):
                fresh.update((variant.sku, product) for variant in product.variants)
            known.update(fresh)
            with self._lock:
                if len(self._products) < MOST_SKUS_KEPT:
                    self._products.update(fresh)
        catalog = Catalog.sharing(self._tree)
        added: set[str] = set()
        for held in known.values():
            if isinstance(held, Product) and held.id not in added:
                added.add(held.id)
                catalog.add_product(held)
        return catalog

    def price_lists(self, uow: UnitOfWork, currency: str, skus: Collection[str]) -> list[PriceList]:
        """The price lists in ``currency`` holding the prices of ``skus``: those not
        read at this stamp yet are read through ``uow`` (in one go) and kept."""
        with self._lock:
            headers = self._lists.get(currency)
            known = {sku: self._prices.get((currency, sku)) for sku in skus}
        missing = [sku for sku, entries in known.items() if entries is None]
        if missing or headers is None:
            lists = uow.catalog.price_lists(currency, missing)
            headers = tuple(_header(found) for found in lists)
            fresh: dict[str, dict[str, PriceEntry]] = {sku: {} for sku in missing}
            for found in lists:
                for sku, entry in found.entries().items():
                    fresh[sku][found.id] = entry
            known.update(fresh)
            with self._lock:
                self._lists[currency] = headers
                if len(self._prices) < MOST_SKUS_KEPT:
                    self._prices.update(((currency, sku), e) for sku, e in fresh.items())
        built: list[PriceList] = []
        for header in headers:
            price_list = _header(header)
            for sku, entries in known.items():
                priced = None if entries is None else entries.get(header.id)
                if priced is not None:
                    price_list.load(sku, priced)
            built.append(price_list)
        return built

    def tax_table(self) -> TaxTable:
        """A tax table over every zone."""
        return TaxTable(self.tax_zones)

    def promotion_engine(self, coupons: Sequence[Coupon]) -> PromotionEngine:
        """Every promotion, with these coupons."""
        return self.promotions.with_coupons(coupons)


@attrs.define
class CatalogCache:
    """The newest snapshot a store has read; safe to share between threads."""

    _current: CatalogSnapshot | None = None
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def get(self, uow: UnitOfWork) -> CatalogSnapshot:
        """The snapshot at the stamp stored now: the one held, or one read afresh
        through ``uow`` when the stamp moved (one read when it did not)."""
        stamp = uow.catalog.stamp()
        current = self._current
        if current is not None and current.stamp == stamp:
            return current
        snapshot = CatalogSnapshot.load(uow, stamp)
        with self._lock:
            # Stamps only grow: a slower reader never replaces a newer snapshot.
            if self._current is None or self._current.stamp < stamp:
                self._current = snapshot
        return snapshot
