"""The catalogue-wide data that pricing and stock planning read on every call
(categories, tax zones, promotions, stock locations), loaded once per catalogue
stamp and shared by every call a store serves.

Every catalogue-wide write bumps the stamp in its own transaction (see
``CatalogRepository.stamp``), so one primary-key read tells whether the snapshot
is still what is stored, in this process or after a write by any other.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import attrs

from commercekit.domain.catalog import Catalog, Category
from commercekit.domain.inventory import StockLocation
from commercekit.domain.pricing import TaxTable, TaxZone
from commercekit.domain.promotions import Coupon, PromotionEngine
from commercekit.ports.storage import UnitOfWork

__all__ = ["CatalogCache", "CatalogSnapshot"]


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

    def catalog(self) -> Catalog:
        """A catalogue with every category and no product yet."""
        return Catalog(self.categories)

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
