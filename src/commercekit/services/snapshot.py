"""The catalogue that pricing and stock planning read on every call, loaded once
per catalogue stamp and shared by every call a store serves: categories, tax zones,
promotions, stock locations, shipping zones and delivery methods whole, and the
products and prices of each SKU the first time a cart holds it.

Every catalogue write bumps the stamp in its own transaction (see
``CatalogRepository.stamp``), so one primary-key read tells whether the snapshot
is still what is stored, in this process or after a write by any other.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Sequence
from typing import Final

import attrs

from commercekit.domain.catalog import Catalog, Category, CategoryTree, Product
from commercekit.domain.inventory import StockLocation
from commercekit.domain.pricing import PriceBook, PriceList, TaxTable, TaxZone
from commercekit.domain.promotions import Coupon, PromotionEngine
from commercekit.domain.shipping import DeliveryMethod, ShippingZone
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


def _distinct(products: Iterable[Product | object | None]) -> list[Product]:
    """Each product once, in the order first seen."""
    found: dict[str, Product] = {}
    for product in products:
        if isinstance(product, Product):
            found.setdefault(product.id, product)
    return list(found.values())


def _load(into: dict[str, PriceList], lists: Sequence[PriceList]) -> None:
    """Put the prices of ``lists`` into the lists of ``into`` with the same ids."""
    for found in lists:
        target = into.get(found.id)
        if target is not None:
            for sku, entry in found.entries().items():
                target.load(sku, entry)


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
    """The catalogue as stored at one stamp, shared between threads. What a call only
    reads (the catalogue, the price books) is shared and grows as carts bring new
    SKUs; what a call changes (a promotion engine with its coupons, a tax table that
    remembers addresses) is built afresh from it."""

    stamp: int
    categories: tuple[Category, ...]
    """Every category, each after its parent."""
    tax_zones: tuple[TaxZone, ...]
    promotions: PromotionEngine
    """Every promotion, indexed once; see :meth:`promotion_engine`."""
    locations: tuple[StockLocation, ...]
    """Every stock location, in shipping preference."""
    shipping_zones: tuple[ShippingZone, ...] = ()
    delivery_methods: tuple[DeliveryMethod, ...] = ()
    _products: dict[str, Product | None] = attrs.field(factory=dict, init=False)
    """By SKU, as read at this stamp (``None``: no product has it); each one is in
    the shared catalogue."""
    _books: dict[str, tuple[dict[str, PriceList], PriceBook]] = attrs.field(
        factory=dict, init=False
    )
    """By currency, every price list (holding the prices read so far) and a price
    book over them."""
    _priced: set[tuple[str, str]] = attrs.field(factory=set, init=False)
    """The currencies and SKUs whose prices the lists hold."""
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    """Guards what is above and the shared catalogue as they grow; never held while
    storage is read."""
    _tree: CategoryTree = attrs.field(init=False)
    """Every category as a tree, built once."""
    _catalog: Catalog = attrs.field(init=False)
    """Every category and every product read so far, shared by every call."""

    @property
    def category_tree(self) -> CategoryTree:
        """Every category as a tree (shared: read it, never change it)."""
        return self._tree

    @_tree.default
    def _build_tree(self) -> CategoryTree:
        return CategoryTree(self.categories)

    @_catalog.default
    def _build_catalog(self) -> Catalog:
        return Catalog.sharing(self._tree)

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
            tuple(uow.catalog.shipping_zones()),
            tuple(uow.catalog.delivery_methods()),
        )

    def catalog(self, uow: UnitOfWork, skus: Collection[str]) -> Catalog:
        """A catalogue holding every category and the products of ``skus`` (and more):
        those not read at this stamp yet are read through ``uow`` (in one go). It is
        shared: read it, never change it."""
        with self._lock:
            known = {sku: self._products.get(sku, _UNREAD) for sku in skus}
        missing = [sku for sku, product in known.items() if product is _UNREAD]
        if not missing:
            return self._catalog
        fresh: dict[str, Product | None] = dict.fromkeys(missing)
        for product in uow.catalog.products_for_skus(missing):
            fresh.update((variant.sku, product) for variant in product.variants)
        known.update(fresh)
        with self._lock:
            if len(self._products) < MOST_SKUS_KEPT:
                for product in _distinct(fresh.values()):
                    if product.variants and product.variants[0].sku not in self._products:
                        self._catalog.add_product(product)
                        self._products.update((v.sku, product) for v in product.variants)
                self._products.update((sku, None) for sku, found in fresh.items() if not found)
                return self._catalog
        # Far more SKUs than a snapshot keeps: a catalogue for this call alone.
        catalog = Catalog.sharing(self._tree)
        for product in _distinct(known.values()):
            catalog.add_product(product)
        return catalog

    def price_book(self, uow: UnitOfWork, currency: str, skus: Collection[str]) -> PriceBook:
        """A price book over the lists in ``currency`` holding the prices of ``skus``
        (and more): those not read at this stamp yet are read through ``uow`` (in one
        go). It is shared: read it, never change it."""
        with self._lock:
            book = self._books.get(currency)
            missing = [sku for sku in skus if (currency, sku) not in self._priced]
        if book is not None and not missing:
            return book[1]
        lists = uow.catalog.price_lists(currency, missing)
        with self._lock:
            book = self._books.get(currency)
            if book is None:
                shared = {found.id: _header(found) for found in lists}
                book = self._books[currency] = (shared, PriceBook(shared.values()))
            if len(self._priced) < MOST_SKUS_KEPT:
                _load(book[0], lists)
                self._priced.update((currency, sku) for sku in missing)
                return book[1]
            # Far more SKUs than a snapshot keeps: a book for this call alone.
            alone = {list_id: _header(found) for list_id, found in book[0].items()}
            for list_id, found in book[0].items():
                for sku, entry in found.entries().items():
                    if sku in skus:
                        alone[list_id].load(sku, entry)
        _load(alone, lists)
        return PriceBook(alone.values())

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
