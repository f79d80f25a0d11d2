"""Search: the catalogue as a search backend finds it, kept in step by the
catalogue's events.

Each product is indexed as one document per locale it has words in (its own, and
each translation's): its name as the title; its description, SKUs, attribute values
and tags as the body; its categories with their ancestors; its attribute values; the
lowest price of its variants per currency (from the lists for everyone); whether any
variant can be bought (stock on hand, or not tracked); whether it is on sale. A
committed ``CatalogUpdated`` indexes its products again (and forgets those gone), and
``StockChanged`` those of its SKUs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

import attrs

from commercekit.domain._validators import require_instance
from commercekit.domain.catalog import CategoryTree, Product, ProductFilter
from commercekit.domain.errors import ConfigurationError, InvalidInput
from commercekit.domain.events import CatalogUpdated, DomainEvent, StockChanged
from commercekit.domain.identifiers import check_keys
from commercekit.ports.search import SearchBackend, SearchDocument, SearchQuery, SearchResult
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service

__all__ = ["SearchService"]

log = logging.getLogger(__name__)

#: A document to fill in (see :meth:`SearchService._documents`).
_EMPTY: Final = SearchDocument(
    product_id="-", title="", created_at=datetime(2000, 1, 1, tzinfo=UTC)
)
#: How many products are read and indexed at once.
_BATCH: Final = 500


def _body(product: Product) -> str:
    words = [product.description]
    words += [variant.sku for variant in product.variants]
    words += list(product.attributes.values())
    words += [value for variant in product.variants for value in variant.attributes.values()]
    words += [value for variant in product.variants for value in variant.options.values()]
    words += list(product.tags)
    return " ".join(word for word in words if word)


class SearchService(Service):
    """Finds products; indexes them as the catalogue changes."""

    def __init__(self, runtime: Runtime, backend: SearchBackend | None) -> None:
        super().__init__(runtime)
        self._backend = backend

    @property
    def active(self) -> bool:
        """Whether the store has a search backend (``search`` in its configuration)."""
        return self._backend is not None

    def _engine(self) -> SearchBackend:
        if self._backend is None:
            raise ConfigurationError(
                'the store has no search backend: configure "search": {"plugin": "sql"}',
                field="search",
            )
        return self._backend

    def search(self, query: SearchQuery) -> SearchResult:
        """What ``query`` finds (see :class:`SearchQuery`): one page, ranked, with its
        facets counted over everything found.

        :raises InvalidInput: naming ``query``, for anything but a query.
        :raises ConfigurationError: naming ``search``, when the store has no backend.
        """
        require_instance(query, SearchQuery, "a SearchQuery", field="query")
        return self._engine().search(query)

    # --- indexing ------------------------------------------------------------------

    def _documents(self, uow: UnitOfWork, products: Sequence[Product]) -> list[SearchDocument]:
        snapshot = self._rt.catalog.get(uow)
        tree = snapshot.category_tree
        now = self.now
        skus = [variant.sku for product in products for variant in product.variants]
        lowest: dict[str, dict[str, int]] = {}
        currencies = sorted({currency for _, currency in uow.catalog.price_list_currencies()})
        for currency in currencies:
            for price_list in uow.catalog.price_lists(currency, skus):
                if price_list.channel is not None or price_list.customer_group is not None:
                    continue
                for sku in price_list.entries():
                    units = price_list.unit_units(sku, 1, now)
                    if units is not None:
                        held = lowest.setdefault(sku, {})
                        held[currency] = min(units, held.get(currency, units))
        available = {item.sku for item in uow.inventory.items(skus) if item.available > 0}
        documents = []
        for product in products:
            prices: dict[str, int] = {}
            for variant in product.variants:
                for currency, units in lowest.get(variant.sku, {}).items():
                    prices[currency] = min(units, prices.get(currency, units))
            in_stock = any(
                not v.track_stock or v.components or v.sku in available for v in product.variants
            )
            attributes: dict[str, set[str]] = {}
            for name, value in product.attributes.items():
                attributes.setdefault(name, set()).add(value)
            for variant in product.variants:
                for name, value in variant.attributes.items():
                    attributes.setdefault(name, set()).add(value)
            shared = attrs.evolve(
                _EMPTY,
                product_id=product.id,
                title=product.name,
                body=_body(product),
                category_ids=_with_ancestors(tree, product.category_ids),
                attributes={name: tuple(sorted(values)) for name, values in attributes.items()},
                prices=prices,
                in_stock=in_stock,
                published=product.is_available(now),
                created_at=product.created_at or now,
            )
            documents.append(shared)
            for locale in product.translations:
                words = product.text(locale)
                body = f"{words.description} {shared.body}"
                documents.append(attrs.evolve(shared, locale=locale, title=words.name, body=body))
        return documents

    def _by_ids(self, uow: UnitOfWork, *, ids: list[str]) -> tuple[list[str], list[SearchDocument]]:
        products = uow.catalog.products(ids)
        return [product.id for product in products], self._documents(uow, products)

    def _page(
        self, uow: UnitOfWork, *, after: str | None
    ) -> tuple[list[Product], list[SearchDocument]]:
        page = uow.catalog.list_products(ProductFilter(), after=after, limit=_BATCH)
        return page, self._documents(uow, page)

    def index_products(self, product_ids: Iterable[str]) -> int:
        """Index these products again; forget those that are gone.

        :returns: how many products were indexed.
        :raises InvalidInput: naming ``product_ids``, for anything but a list of ids.
        """
        wanted = sorted(set(check_keys(product_ids, "product_ids")))
        engine = self._engine()
        indexed = 0
        for start in range(0, len(wanted), _BATCH):
            chunk = wanted[start : start + _BATCH]

            def read(
                uow: UnitOfWork, chunk: list[str] = chunk
            ) -> tuple[list[str], list[SearchDocument]]:
                products = uow.catalog.products(chunk)
                return [p.id for p in products], self._documents(uow, products)

            found, documents = self._read(read)
            gone = set(chunk) - set(found)
            if gone:
                engine.remove(sorted(gone))
            engine.index(documents)
            indexed += len(found)
        return indexed

    def reindex(self) -> int:
        """Index the whole catalogue afresh, a page of products at a time.

        :returns: how many products were indexed.
        """
        engine = self._engine()
        engine.clear()
        after: str | None = None
        indexed = 0
        while True:

            def read(
                uow: UnitOfWork, after: str | None = after
            ) -> tuple[list[Product], list[SearchDocument]]:
                page = uow.catalog.list_products(ProductFilter(), after=after, limit=_BATCH)
                return page, self._documents(uow, page)

            page, documents = self._read(read)
            engine.index(documents)
            indexed += len(page)
            if len(page) < _BATCH:
                return indexed
            after = page[-1].id

    def on_events(self, events: Sequence[DomainEvent]) -> None:
        """Index what committed events changed. Never raises: a failure is logged,
        and :meth:`reindex` puts it right.

        :raises InvalidInput: naming ``events``, for anything but a list (or tuple).
        """
        if not isinstance(events, list | tuple):
            raise InvalidInput("must be a list of events", field="events")
        if self._backend is None:
            return
        product_ids: set[str] = set()
        skus: set[str] = set()
        for event in events:
            if isinstance(event, CatalogUpdated):
                product_ids.update(event.product_ids)
            elif isinstance(event, StockChanged):
                skus.update(event.skus)
        try:
            if skus:
                owners = self._read(lambda uow: uow.catalog.products_for_skus(sorted(skus)))
                product_ids.update(product.id for product in owners)
            if product_ids:
                self.index_products(product_ids)
        except Exception:  # the change stands; the index catches up at the next reindex
            log.exception("could not index products %s", sorted(product_ids)[:10])


def _with_ancestors(tree: CategoryTree, category_ids: Iterable[str]) -> frozenset[str]:
    found = set(category_ids)
    for category_id in category_ids:
        if category_id in tree:
            found.update(tree.ancestors(category_id))
    return frozenset(found)
