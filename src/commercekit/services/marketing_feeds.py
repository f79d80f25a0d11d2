"""Being found: the URLs of a store's pages, its sitemaps, a product page's
structured data (``store.seo``), and the product feed for shopping ads
(``store.feeds``).

Both read the catalogue as it is stored, a page of products at a time, each page
with its prices (from the lists for the channel, then for everyone; never a
customer group's), its stock and its stock rules, so that a feed or a sitemap of a
hundred thousand products is written in the memory of one page. What a product is
offered at is worked out once, in :mod:`commercekit.domain.marketing.offers`, for
the feed and the structured data alike.

The storefront's URLs come from the store's configuration (``storefront``); without
it, these services refuse with a :class:`~commercekit.domain.errors.ConfigurationError`
naming ``storefront``.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import IO, Any, Final

import attrs

from commercekit.domain.catalog import (
    Category,
    CategoryTree,
    Product,
    ProductFilter,
    PublicationState,
    Variant,
)
from commercekit.domain.channels import Channel
from commercekit.domain.errors import ConfigurationError, InvalidInput, NotFound
from commercekit.domain.identifiers import check_key
from commercekit.domain.marketing.feed import (
    FeedHeader,
    FeedItem,
    FeedReport,
    FeedSettings,
    LeftOut,
    Shipping,
    feed_chunks,
    feed_items,
    shipping_rates,
)
from commercekit.domain.marketing.offers import (
    Offer,
    availability,
    bundle_availability,
)
from commercekit.domain.marketing.seo import (
    Opener,
    SitemapSet,
    SitemapUrl,
    Storefront,
    product_json_ld,
    write_sitemaps,
)
from commercekit.domain.money import normalize_currency
from commercekit.domain.pricing import PriceBook
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Runtime, Service, check_product_ids

__all__ = ["FeedService", "SeoService", "ShoppingFeed", "StorefrontSettings"]

#: How many products are read at once.
PAGE: Final = 500


@attrs.frozen(kw_only=True)
class StorefrontSettings:
    """Where a store's pages are, per channel, and its choices for feeds (built from
    the store's configuration)."""

    storefront: Storefront | None = None
    """``None``: the store has not said where its pages are."""
    channel_urls: Mapping[str, str] = attrs.field(factory=dict)
    """A channel's own base URL, by channel id (others use the storefront's)."""
    feed: FeedSettings = attrs.field(factory=FeedSettings)
    store_name: str = ""

    def storefront_for(self, channel: str | None) -> Storefront:
        """The storefront of ``channel`` (its own base URL, if it has one).

        :raises ConfigurationError: naming ``storefront``, when none is configured.
        """
        if self.storefront is None:
            raise ConfigurationError(
                'the store has no storefront: configure "storefront": {"base_url": "https://..."}',
                field="storefront",
            )
        own = self.channel_urls.get(channel) if channel is not None else None
        return self.storefront if own is None else attrs.evolve(self.storefront, base_url=own)


class ShoppingFeed:
    """A shopping feed being written: iterate it for the document's bytes, a chunk
    at a time (once); :attr:`report` is complete when the last chunk is read."""

    def __init__(self, chunks: Iterator[bytes], report: FeedReport) -> None:
        self._chunks = chunks
        self.report = report

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


@attrs.frozen
class _Where:
    """A request's channel (if any), currency and locale, checked."""

    channel: str | None
    currency: str
    locale: str | None


class _Reading(Service):
    """What the two services share: the storefront per channel, and the offers of a
    page of products."""

    def __init__(self, runtime: Runtime, settings: StorefrontSettings) -> None:
        super().__init__(runtime)
        self._settings = settings

    def _where(self, channel: str | None, currency: str | None = None) -> _Where:
        """The channel (the default one when ``None``), the currency checked against
        it, and its locale.

        :raises NotFound: naming ``channel``, for one the store does not have.
        :raises InvalidInput: naming ``currency``, for one it does not sell in.
        """
        if channel is not None:
            check_key(channel, "channel")
        found: Channel | None = self._rt.settings.channel(channel)
        if currency is None:
            code = found.default_currency if found is not None else ""
        else:
            code = normalize_currency(currency) if found is None else found.currency_for(currency)
        if found is None:
            return _Where(None, code, None)
        return _Where(found.id, code, found.locale)

    def _offers(
        self, uow: UnitOfWork, products: Sequence[Product], where: _Where, now: datetime
    ) -> dict[str, Offer]:
        """Each priced variant's offer in the request's currency: its price from the
        first list of the channel's chain that has it, and whether it can be bought
        (a bundle as far as its parts can)."""
        variants = [variant for product in products for variant in product.variants]
        skus = [variant.sku for variant in variants]
        if not skus:
            return {}
        lists = PriceBook(uow.catalog.price_lists(where.currency, skus)).chain(
            where.currency, where.channel
        )
        entries = [price_list.entries() for price_list in lists]
        tracked = {variant.sku: variant.track_stock for variant in variants}
        parts = {sku for variant in variants for sku in variant.components} - tracked.keys()
        if parts:
            for owner in uow.catalog.products_for_skus(sorted(parts)):
                tracked.update((v.sku, v.track_stock) for v in owner.variants if v.sku in parts)
        stocked = sorted({*skus, *parts})
        available: dict[str, int] = {}
        for item in uow.inventory.items(stocked):
            available[item.sku] = available.get(item.sku, 0) + item.available
        rules = uow.inventory.rules(stocked)
        offers = {}
        for variant in variants:
            sku = variant.sku
            entry = next((found[sku] for found in entries if sku in found), None)
            if entry is None:
                continue
            if variant.components:
                can = bundle_availability(
                    availability(
                        tracked=tracked.get(part, True),
                        available=available.get(part, 0),
                        rule=rules.get(part),
                        now=now,
                        needed=quantity,
                    )
                    for part, quantity in variant.components.items()
                )
            else:
                can = availability(
                    tracked=variant.track_stock,
                    available=available.get(sku, 0),
                    rule=rules.get(sku),
                    now=now,
                )
            offers[sku] = Offer.from_entry(sku, where.currency, entry, can)
        return offers


def _by_product(products: Sequence[Product], offers: Mapping[str, Offer]) -> dict[str, list[Offer]]:
    """Each product's offers, in its variants' order."""
    return {p.id: [offers[v.sku] for v in p.variants if v.sku in offers] for p in products}


def _listed(uow: UnitOfWork, *, where: ProductFilter, after: str | None) -> list[Product]:
    return uow.catalog.list_products(where, after=after, limit=PAGE)


def _ancestors(tree: CategoryTree, category: Category) -> list[Category]:
    return [tree.get(each) for each in reversed(tree.ancestors(category.id))]


class SeoService(_Reading):
    """Where pages are, and what search engines are told about them."""

    def product_url(self, product_id: str, *, channel: str | None = None) -> str:
        """A product's page in a channel (its locale's slug, its base URL).

        :raises NotFound: for an unknown product (or channel).
        :raises ConfigurationError: naming ``storefront``, when none is configured.
        """
        check_key(product_id, "product_id")
        where = self._where(channel)
        storefront = self._settings.storefront_for(where.channel)
        product = self._read(lambda uow: uow.catalog.product(product_id))
        return storefront.product_url(product, locale=where.locale)

    def category_url(self, category_id: str, *, channel: str | None = None) -> str:
        """A category's page in a channel.

        :raises NotFound: naming ``category_id``, for an unknown category.
        :raises ConfigurationError: naming ``storefront``, when none is configured.
        """
        check_key(category_id, "category_id")
        where = self._where(channel)
        storefront = self._settings.storefront_for(where.channel)
        tree = self._read(lambda uow: self._rt.catalog.get(uow).category_tree)
        if category_id not in tree:
            raise NotFound("category", category_id, field="category_id")
        category = tree.get(category_id)
        return storefront.category_url(category, _ancestors(tree, category))

    def offers(self, product_id: str, currency: str, *, channel: str | None = None) -> list[Offer]:
        """What a product page shows of each variant: its price in ``currency`` for
        the channel (the first list of the channel's chain that has it, a sale in
        force included) and whether it can be bought, in the product's variant order.
        A variant without a price is left out. Needs no storefront configuration.

        :raises NotFound: for an unknown product (or channel).
        :raises InvalidInput: naming ``currency``, for one the channel does not sell in.
        """
        check_key(product_id, "product_id")
        where = self._where(channel, currency)
        now = self.now

        def read(uow: UnitOfWork) -> list[Offer]:
            product = uow.catalog.product(product_id)
            return _by_product([product], self._offers(uow, [product], where, now))[product.id]

        return self._read(read)

    def listing_offers(
        self, product_ids: Sequence[str], currency: str, *, channel: str | None = None
    ) -> dict[str, list[Offer]]:
        """:meth:`offers` of several products in one read, by product id (an unknown
        id is left out): what a listing page prices its cards with.

        :raises InvalidInput: naming ``product_ids``, for anything but up to
            :data:`~commercekit.services.base.MAX_PRODUCTS_AT_ONCE` ids, each once;
            naming ``currency``, for one the channel does not sell in.
        """
        ids = check_product_ids(product_ids)
        where = self._where(channel, currency)
        now = self.now

        def read(uow: UnitOfWork) -> dict[str, list[Offer]]:
            products = uow.catalog.products(ids) if ids else []
            return _by_product(products, self._offers(uow, products, where, now))

        return self._read(read)

    def product_json_ld(
        self, product_id: str, currency: str, *, channel: str | None = None
    ) -> dict[str, Any]:
        """A product page's structured data: a schema.org ``Product`` with its offers
        in ``currency`` (see :func:`~commercekit.domain.marketing.seo.product_json_ld`);
        :func:`~commercekit.domain.marketing.seo.json_ld_script` writes it into the
        page.

        :raises NotFound: for an unknown product (or channel).
        :raises InvalidInput: naming ``currency``, for one the channel does not sell in.
        :raises ConfigurationError: naming ``storefront``, when none is configured.
        """
        check_key(product_id, "product_id")
        where = self._where(channel, currency)
        storefront = self._settings.storefront_for(where.channel)
        now = self.now

        def read(uow: UnitOfWork) -> tuple[Product, dict[str, Offer]]:
            product = uow.catalog.product(product_id)
            return product, self._offers(uow, [product], where, now)

        product, offers = self._read(read)
        return product_json_ld(
            product,
            [offers[v.sku] for v in product.variants if v.sku in offers],
            storefront=storefront,
            now=now,
            locale=where.locale,
            brand=self._settings.feed.brand,
        )

    def write_sitemaps(self, open_file: Opener, *, channel: str | None = None) -> SitemapSet:
        """Write the sitemaps of a channel's pages: every category's, and every
        product's that is on sale now, in files of at most 50,000 URLs and 50 MB,
        and the index that lists them (``sitemap.xml``, served from the channel's
        base URL), reading the catalogue a page at a time.

        :param open_file: opens a file by name for writing bytes, as a context
            manager: ``lambda name: (folder / name).open("wb")``.
        :raises InvalidInput: naming ``open_file``, for anything that cannot open a
            file.
        :raises ConfigurationError: naming ``storefront``, when none is configured.
        """
        if not callable(open_file):
            raise InvalidInput("expected a function that opens a file by name", field="open_file")
        where = self._where(channel)
        storefront = self._settings.storefront_for(where.channel)
        now = self.now

        def urls() -> Iterator[SitemapUrl]:
            tree = self._read(lambda uow: self._rt.catalog.get(uow).category_tree)
            for category in tree:
                yield SitemapUrl(storefront.category_url(category, _ancestors(tree, category)))
            after: str | None = None
            on_sale = ProductFilter(state=PublicationState.ACTIVE)
            while True:
                page = self._read(functools.partial(_listed, where=on_sale, after=after))
                for product in page:
                    if product.is_available(now):
                        yield SitemapUrl(storefront.product_url(product, locale=where.locale))
                if len(page) < PAGE:
                    return
                after = page[-1].id

        return write_sitemaps(urls(), open_file, location=storefront.base_url, now=now)


def _product_type(tree: CategoryTree, product: Product) -> str:
    """Where the product sits in the store, from the root down (``Home > Kitchen``):
    its first category's path."""
    for category_id in product.category_ids:
        if category_id in tree:
            category = tree.get(category_id)
            return " > ".join(each.name for each in (*_ancestors(tree, category), category))
    return ""


class FeedService(_Reading):
    """The product feed for shopping ads."""

    def shopping_feed(self, currency: str, *, channel: str | None = None) -> ShoppingFeed:
        """The Merchant Center feed of a channel in ``currency``: one item per
        variant of every product on sale now, priced from the channel's lists (then
        everyone's), in the channel's locale, with shipping from the store's feed
        settings for the currency, or else from its delivery methods. It is written
        as it is read, a page of products at a time: iterate it for the document;
        its report counts what went in and says what was left out and why.

        :raises NotFound: naming ``channel``, for one the store does not have.
        :raises InvalidInput: naming ``currency``, for one the channel does not sell in.
        :raises ConfigurationError: naming ``storefront``, when none is configured.
        """
        where = self._where(channel, currency)
        storefront = self._settings.storefront_for(where.channel)
        settings = self._settings.feed
        now = self.now
        snapshot = self._read(self._rt.catalog.get)
        rates = [rate for rate in settings.shipping if rate.currency == where.currency]
        if not rates:
            rates = shipping_rates(
                snapshot.delivery_methods, snapshot.shipping_zones, where.currency
            )
        header = FeedHeader(
            title=settings.title or self._settings.store_name or storefront.base_url,
            link=storefront.url(""),
            description=settings.description,
        )
        report = FeedReport(
            currency=where.currency, channel=where.channel, most_listed=settings.most_listed
        )

        def shipping(variant: Variant, offer: Offer) -> list[Shipping]:
            weight, price = variant.weight_grams or 0, offer.price_units(now)
            found = (rate.for_item(weight, price) for rate in rates)
            return [each for each in found if each is not None]

        def entries() -> Iterator[FeedItem | LeftOut]:
            after: str | None = None
            while True:
                page, offers = self._read(
                    functools.partial(self._page, after=after, where=where, now=now)
                )
                for product in page:
                    report.products += 1
                    yield from feed_items(
                        product,
                        offers,
                        storefront=storefront,
                        now=now,
                        currency=where.currency,
                        locale=where.locale,
                        brand=settings.brand,
                        product_type=_product_type(snapshot.category_tree, product),
                        shipping=shipping,
                    )
                if len(page) < PAGE:
                    return
                after = page[-1].id

        return ShoppingFeed(feed_chunks(entries(), header=header, report=report), report)

    def _page(
        self, uow: UnitOfWork, *, after: str | None, where: _Where, now: datetime
    ) -> tuple[list[Product], dict[str, Offer]]:
        page = _listed(uow, where=ProductFilter(), after=after)
        listed = [p for p in page if p.is_available(now)]
        return page, self._offers(uow, listed, where, now)

    def write_shopping_feed(
        self, handle: IO[bytes], currency: str, *, channel: str | None = None
    ) -> FeedReport:
        """Write :meth:`shopping_feed` to a file open for writing bytes.

        :returns: what went in, and what was left out and why.
        :raises InvalidInput: naming ``handle``, for anything but a binary file.
        """
        if isinstance(handle, io.TextIOBase) or not callable(getattr(handle, "write", None)):
            raise InvalidInput("expected a file open for writing bytes", field="handle")
        feed = self.shopping_feed(currency, channel=channel)
        for chunk in feed:
            handle.write(chunk)
        return feed.report
