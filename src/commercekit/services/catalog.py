"""Managing the catalogue: categories, products and their types, variants, prices,
collections, slugs, tax zones, shipping, promotions and coupons.

Every change of a product, a variant or a price is recorded with its time and actor
(:meth:`CatalogService.history`), and told as ``CatalogUpdated`` so that what shows
the catalogue (a search index) takes it again."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import moneyed

from commercekit.domain._validators import instances, require_instance
from commercekit.domain.catalog import (
    CatalogChange,
    Category,
    Collection,
    Product,
    ProductFilter,
    ProductType,
    PublicationState,
    SlugRecord,
    Variant,
    claim_slug,
    fallback_chain,
    slugify,
)
from commercekit.domain.errors import InvalidInput, NotFound, UnknownSku, shown
from commercekit.domain.events import CatalogUpdated
from commercekit.domain.identifiers import check_key, check_text, check_whole_number
from commercekit.domain.money import normalize_currency
from commercekit.domain.pricing import PriceList, SalePrice, TaxZone, VolumeTier
from commercekit.domain.promotions import Coupon, Promotion
from commercekit.domain.shipping import DeliveryMethod, ShippingZone
from commercekit.ports.storage import CatalogRepository, UnitOfWork
from commercekit.services.base import Service, check_page_size, check_product_ids

__all__ = ["PRODUCT_FIELDS", "CatalogService", "ProductPage", "SlugMatch"]


class CatalogService(Service):
    """What a merchant sets up before anyone can buy. Each call is one transaction."""

    def add_category(self, category: Category) -> None:
        """Add a category (its parent must exist)."""
        require_instance(category, Category, "a Category", field="category")
        self._run(lambda uow: uow.catalog.add_category(category))

    # --- products ------------------------------------------------------------------

    def _prepare(self, uow: UnitOfWork, product: Product) -> dict[str, str]:
        """Check ``product`` against its type (its attributes and its variants', in
        their one spelling each) and claim its slugs; returns them by locale
        (``""``: its own)."""
        if product.type_id is not None:
            uow.catalog.product_type(product.type_id).apply_to(product)
        product.check_variants()
        slugs: dict[str, str] = {}
        wanted = {"": product.slug} | {
            locale: words.slug for locale, words in product.translations.items() if words.slug
        }
        names = {"": product.name} | {
            locale: words.name for locale, words in product.translations.items()
        }
        for locale, slug in wanted.items():
            slugs[locale] = claim_slug(
                product.id,
                slug,
                owner=functools.partial(_slug_owner, uow, locale),
                numbered=bool(names.get(locale)) and slug == _slug_of(names[locale]),
            )
        product.slug = slugs[""]
        product.translations = {
            locale: attrs.evolve(words, slug=slugs.get(locale, words.slug))
            for locale, words in product.translations.items()
        }
        return slugs

    def _changed(
        self, uow: UnitOfWork, product_ids: Iterable[str], changes: Iterable[CatalogChange]
    ) -> None:
        uow.catalog.record_changes(list(changes))
        uow.record_events([CatalogUpdated(occurred_at=self.now, product_ids=tuple(product_ids))])

    def _change(
        self, kind: str, key: str, action: str, actor: str, detail: str = ""
    ) -> CatalogChange:
        return CatalogChange(
            at=self.now, actor=actor, kind=kind, key=key, action=action, detail=detail
        )

    def add_product(self, product: Product, *, actor: str = "staff") -> Product:
        """Add a product with its variants: checked against its product type, its
        slugs made unique (a slug made from the name is numbered, ``tee-2``; a
        merchant's own slug that is taken is refused), stamped with the time it was
        added.

        :raises DuplicateSku: for a SKU already taken; nothing is added then.
        :raises AlreadyExists: naming ``slug``, for a slug of the merchant's that
            another product has.
        :raises InvalidInput: naming the attribute or the variants, for values its type
            refuses or two variants with the same options.
        """
        require_instance(product, Product, "a Product", field="product")
        check_key(actor, "actor")
        added = copy.deepcopy(product)
        if added.created_at is None:
            added.created_at = self.now

        def work(uow: UnitOfWork) -> Product:
            slugs = self._prepare(uow, added)
            uow.catalog.add_product(added)
            uow.catalog.set_slugs(added.id, slugs)
            self._changed(uow, [added.id], [self._change("product", added.id, "added", actor)])
            return added

        return self._run(work)

    def update_product(
        self, product_id: str, changes: Mapping[str, Any], *, actor: str = "staff"
    ) -> Product:
        """Change a product's fields (any of :data:`PRODUCT_FIELDS`): checked as a new
        product would be; a changed slug keeps the old one as a redirect.

        :raises InvalidInput: naming ``changes`` for a field that cannot be changed
            this way, or the field whose new value is refused.
        """
        check_key(product_id, "product_id")
        check_key(actor, "actor")
        fields = _changes(changes, PRODUCT_FIELDS)

        def work(uow: UnitOfWork) -> Product:
            product = uow.catalog.product(product_id)
            names = {**fields}
            if "name" in names and "slug" not in names:
                names["slug"] = ""  # made again from the new name
            changed = attrs.evolve(product, **names)
            slugs = self._prepare(uow, changed)
            uow.catalog.save_product(changed)
            uow.catalog.set_slugs(changed.id, slugs)
            detail = ", ".join(sorted(fields))
            self._changed(
                uow, [changed.id], [self._change("product", changed.id, "updated", actor, detail)]
            )
            return changed

        return self._run(work)

    def put_variant(self, product_id: str, variant: Variant, *, actor: str = "staff") -> Product:
        """Add a variant to a product, or replace the one with its SKU.

        :raises DuplicateSku: for a SKU another product has.
        :raises InvalidInput: naming ``variants``, for options another variant has.
        """
        check_key(product_id, "product_id")
        require_instance(variant, Variant, "a Variant", field="variant")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> Product:
            product = uow.catalog.product(product_id)
            variants = [v for v in product.variants if v.sku != variant.sku]
            replaced = len(variants) != len(product.variants)
            placed = copy.deepcopy(variant)
            placed.product_id = product.id
            at = next((n for n, v in enumerate(product.variants) if v.sku == variant.sku), None)
            variants.insert(len(variants) if at is None else at, placed)
            product.variants = variants
            slugs = self._prepare(uow, product)
            uow.catalog.save_product(product)
            uow.catalog.set_slugs(product.id, slugs)
            action = "replaced" if replaced else "added"
            self._changed(uow, [product.id], [self._change("variant", variant.sku, action, actor)])
            return product

        return self._run(work)

    def remove_variant(self, sku: str, *, actor: str = "staff") -> Product:
        """Take a variant out of its product (orders that hold it keep it).

        :raises UnknownSku: for a SKU no product has.
        :raises InvalidInput: naming ``variants``, for a product's last variant while
            it is on sale.
        """
        check_key(sku, "sku")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> Product:
            owners = uow.catalog.products_for_skus([sku])
            if not owners:
                raise UnknownSku(sku)
            product = owners[0]
            product.variants = [v for v in product.variants if v.sku != sku]
            if not product.variants and product.state is PublicationState.ACTIVE:
                raise InvalidInput("a product on sale keeps at least one variant", field="variants")
            product.check_variants()
            uow.catalog.save_product(product)
            self._changed(uow, [product.id], [self._change("variant", sku, "removed", actor)])
            return product

        return self._run(work)

    def product(self, product_id: str) -> Product:
        """A product with its variants.

        :raises NotFound: for an unknown id.
        """
        check_key(product_id, "product_id")
        return self._read(lambda uow: uow.catalog.product(product_id))

    def product_for_sku(self, sku: str) -> Product:
        """The product a SKU is a variant of (what a cart line shows beside its SKU).

        :raises NotFound: naming ``sku``, for a SKU no product has.
        """
        sku = check_key(sku, "sku")
        found = self._read(lambda uow: uow.catalog.products_for_skus([sku]))
        if not found:
            raise NotFound("product", sku, field="sku")
        return found[0]

    def categories(self) -> list[Category]:
        """Every category, each after its parent: the tree a storefront navigates."""
        return self._read(lambda uow: uow.catalog.categories())

    def products(self, product_ids: Sequence[str]) -> list[Product]:
        """Several products in one read, in the order asked; an unknown id is left
        out. What a listing page shows of a search's hits.

        :raises InvalidInput: naming ``product_ids``, for anything but up to
            :data:`~commercekit.services.base.MAX_PRODUCTS_AT_ONCE` ids, each once.
        """
        ids = check_product_ids(product_ids)
        if not ids:
            return []
        found = {p.id: p for p in self._read(lambda uow: uow.catalog.products(ids))}
        return [found[each] for each in ids if each in found]

    def collections(self) -> list[Collection]:
        """Every collection, by id: what a storefront lists beside its categories
        (its products through :meth:`collection_products`)."""
        return self._read(lambda uow: uow.catalog.collections())

    def publish(self, product_id: str, *, actor: str = "staff") -> None:
        """Put a product on sale."""
        self._change_state(product_id, publish=True, actor=actor)

    def archive(self, product_id: str, *, actor: str = "staff") -> None:
        """Take a product off sale (orders that hold it keep it)."""
        self._change_state(product_id, publish=False, actor=actor)

    def _change_state(self, product_id: str, *, publish: bool, actor: str) -> None:
        check_key(product_id, "product_id")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> None:
            product = uow.catalog.product(product_id)
            if publish:
                product.publish()
            else:
                product.archive()
            uow.catalog.save_product(product)
            action = "published" if publish else "archived"
            self._changed(uow, [product.id], [self._change("product", product.id, action, actor)])

        self._run(work)

    def add_price_list(
        self,
        price_list_id: str,
        currency: str,
        *,
        channel: str | None = None,
        customer_group: str | None = None,
    ) -> None:
        """Create an empty price list."""
        price_list = PriceList(
            price_list_id, currency, channel=channel, customer_group=customer_group
        )
        self._run(lambda uow: uow.catalog.add_price_list(price_list))

    def set_price(
        self,
        price_list_id: str,
        sku: str,
        unit_price: moneyed.Money,
        *,
        tiers: Iterable[VolumeTier] = (),
        sale: SalePrice | None = None,
        actor: str = "staff",
    ) -> None:
        """Set a SKU's price in a list (see :meth:`PriceList.set_price`)."""
        check_key(price_list_id, "price_list_id")
        check_key(sku, "sku")
        check_key(actor, "actor")
        require_instance(unit_price, moneyed.Money, "Money", field="unit_price")
        tiers = instances(tiers, VolumeTier, field="tiers")
        if sale is not None:
            require_instance(sale, SalePrice, "a SalePrice", field="sale")

        def work(uow: UnitOfWork) -> None:
            price_list = uow.catalog.price_list(price_list_id)
            price_list.set_price(sku, unit_price, tiers=tiers, sale=sale)
            uow.catalog.put_prices(price_list_id, {sku: price_list.entries()[sku]})
            detail = f"{price_list_id}: {unit_price.amount} {price_list.currency}"
            self._priced(uow, sku, "priced", actor, detail)

        self._run(work)

    def _priced(self, uow: UnitOfWork, sku: str, action: str, actor: str, detail: str) -> None:
        owners = [product.id for product in uow.catalog.products_for_skus([sku])]
        self._changed(uow, owners, [self._change("price", sku, action, actor, detail)])

    def remove_price(self, price_list_id: str, sku: str, *, actor: str = "staff") -> None:
        """Take a SKU's price out of a list: it is no longer sold at that list's price.

        :raises NotFound: naming ``sku``, for a SKU the list has no price for (or
            ``price_list_id``, for an unknown list).
        """
        check_key(price_list_id, "price_list_id")
        check_key(sku, "sku")
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> None:
            price_list = uow.catalog.price_list(price_list_id)
            price_list.remove_price(sku)
            uow.catalog.remove_prices(price_list_id, [sku])
            self._priced(uow, sku, "unpriced", actor, price_list_id)

        self._run(work)

    def add_tax_zone(self, zone: TaxZone) -> None:
        """Add a tax zone with its rates."""
        require_instance(zone, TaxZone, "a TaxZone", field="zone")
        self._run(lambda uow: uow.catalog.add_tax_zone(zone))

    def add_shipping_zone(self, zone: ShippingZone) -> None:
        """Add a shipping zone (countries, regions, postal-code patterns).

        :raises AlreadyExists: for a taken id.
        """
        require_instance(zone, ShippingZone, "a ShippingZone", field="zone")
        self._run(lambda uow: uow.catalog.add_shipping_zone(zone))

    def add_delivery_method(self, method: DeliveryMethod) -> None:
        """Add a delivery method: the zones it serves (or a pickup location), the stock
        locations it ships from, a rate rule per currency and a delivery estimate.

        :raises AlreadyExists: for a taken id.
        :raises NotFound: naming ``zone_ids`` or ``location_ids``, for a zone or stock
            location the store does not have.
        :raises UnknownCarrier: naming ``carrier``, for a carrier the store has not.
        """
        require_instance(method, DeliveryMethod, "a DeliveryMethod", field="method")

        def work(uow: UnitOfWork) -> None:
            zones = {zone.id for zone in uow.catalog.shipping_zones()}
            for zone_id in sorted(method.zone_ids - zones):
                raise NotFound("shipping zone", zone_id, field="zone_ids")
            locations = {location.id for location in uow.inventory.locations()}
            for location_id in sorted(method.location_ids - locations):
                raise NotFound("stock location", location_id, field="location_ids")
            if method.carrier is not None:
                self._rt.carrier(method.carrier)
            uow.catalog.add_delivery_method(method)

        self._run(work)

    def add_promotion(self, promotion: Promotion) -> None:
        """Add a promotion."""
        require_instance(promotion, Promotion, "a Promotion", field="promotion")
        known = self._rt.promotion_types
        if known is not None:
            parts: list[tuple[str, object]] = [("benefit", promotion.benefit)]
            parts += [("conditions", condition) for condition in promotion.conditions]
            for field, part in parts:
                if type(part) not in known:
                    raise InvalidInput(
                        f"no plugin offers {type(part).__qualname__} as a promotion type",
                        field=field,
                    )
        self._run(lambda uow: uow.catalog.add_promotion(promotion))

    def add_coupon(self, coupon: Coupon) -> None:
        """Add a coupon code for a promotion (which must exist)."""
        require_instance(coupon, Coupon, "a Coupon", field="coupon")

        def work(uow: UnitOfWork) -> None:
            if coupon.promotion_id not in {p.id for p in uow.catalog.promotions()}:
                raise NotFound("promotion", coupon.promotion_id, field="promotion_id")
            uow.catalog.add_coupon(coupon)

        self._run(work)

    # --- product types, collections, slugs, listing, history -------------------------

    def add_product_type(self, product_type: ProductType, *, actor: str = "staff") -> None:
        """Add a product type: the attributes its products and variants have.

        :raises AlreadyExists: for a taken id.
        """
        require_instance(product_type, ProductType, "a ProductType", field="product_type")
        self._recorded(
            "product_type",
            product_type.id,
            "added",
            actor,
            lambda catalog: catalog.add_product_type(product_type),
        )

    def _recorded(
        self,
        kind: str,
        key: str,
        action: str,
        actor: str,
        write: Callable[[CatalogRepository], None],
    ) -> None:
        """``write`` to the catalogue and record the change, in one transaction."""
        check_key(actor, "actor")

        def work(uow: UnitOfWork) -> None:
            write(uow.catalog)
            uow.catalog.record_changes([self._change(kind, key, action, actor)])

        self._run(work)

    def product_types(self) -> list[ProductType]:
        """Every product type."""
        return self._read(lambda uow: uow.catalog.product_types())

    def add_collection(self, collection: Collection, *, actor: str = "staff") -> None:
        """Add a collection: products picked by hand, and those its rule gathers.

        :raises AlreadyExists: for a taken id.
        """
        require_instance(collection, Collection, "a Collection", field="collection")
        self._recorded(
            "collection",
            collection.id,
            "added",
            actor,
            lambda catalog: catalog.add_collection(collection),
        )

    def save_collection(self, collection: Collection, *, actor: str = "staff") -> None:
        """Replace a collection (its picks, rule or order).

        :raises NotFound: for an unknown id.
        """
        require_instance(collection, Collection, "a Collection", field="collection")
        self._recorded(
            "collection",
            collection.id,
            "updated",
            actor,
            lambda catalog: catalog.save_collection(collection),
        )

    def collection_products(
        self,
        collection_id: str,
        *,
        currency: str,
        channel: str | None = None,
        limit: int = 100,
    ) -> list[Product]:
        """A collection's products on sale now, in its order: those picked by hand,
        then those its rule gathers against the catalogue and the prices (in
        ``currency``, for ``channel``) as they are now.

        :raises NotFound: naming ``collection_id``, for an unknown collection.
        """
        check_key(collection_id, "collection_id")
        if channel is not None:
            check_key(channel, "channel")
        currency = normalize_currency(currency)
        limit = check_page_size(check_whole_number(limit, "limit"))
        now = self.now

        def work(uow: UnitOfWork) -> list[Product]:
            collection = uow.catalog.collection(collection_id)
            candidates = uow.catalog.products(collection.product_ids)
            rule = collection.rule
            if rule is not None:
                wanted: list[str | None] = [*sorted(rule.category_ids)] or [None]
                for category in wanted:
                    after: str | None = None
                    while True:
                        where = ProductFilter(category_id=category, state=PublicationState.ACTIVE)
                        page = uow.catalog.list_products(where, after=after, limit=500)
                        candidates.extend(page)
                        if len(page) < 500:
                            break
                        after = page[-1].id
            unique = {p.id: p for p in candidates if p.is_available(now)}
            products = list(unique.values())
            snapshot = self._rt.catalog.get(uow)
            skus = [v.sku for p in products for v in p.variants]
            priced_in = rule.currency if rule is not None and rule.currency else currency
            lists = snapshot.price_book(uow, priced_in, skus).chain(priced_in, channel)
            prices = {}
            for sku in skus:
                units = next(
                    (u for pl in lists if (u := pl.unit_units(sku, 1, now)) is not None), None
                )
                if units is not None:
                    prices[sku] = units
            tree = snapshot.category_tree

            def categories(product: Product) -> frozenset[str]:
                found = set(product.category_ids)
                for category_id in product.category_ids:
                    if category_id in tree:
                        found.update(tree.ancestors(category_id))
                return frozenset(found)

            return collection.arrange(products, categories=categories, prices=prices)[:limit]

        return self._read(work)

    def by_slug(
        self, slug: str, *, locale: str | None = None, channel: str | None = None
    ) -> SlugMatch:
        """The product a slug leads to, in ``locale`` (then its fallbacks, then the
        product's own slug) and ``channel``: with the slug it has now, and whether
        ``slug`` is an earlier one (answer with a redirect to :attr:`SlugMatch.slug`).

        :raises NotFound: naming ``slug``, for a slug that leads nowhere.
        """
        check_text(slug, "slug", max_length=200)
        if locale is not None:
            check_text(locale, "locale", max_length=32)
        if channel is not None:
            check_key(channel, "channel")
        scopes = [*(fallback_chain(locale) if locale else []), ""]
        channels = [channel, ""] if channel else [""]

        def work(uow: UnitOfWork) -> SlugMatch:
            for scope in scopes:
                for where in channels:
                    assert where is not None
                    record = uow.catalog.slug_owner(scope, slug, channel=where)
                    if record is not None:
                        product = uow.catalog.product(record.product_id)
                        current = product.text(scope or None).slug
                        return SlugMatch(product, current, redirect=current != slug)
            raise NotFound("product", slug, field="slug")

        return self._read(work)

    def list_products(
        self,
        *,
        category_id: str | None = None,
        state: str | None = None,
        type_id: str | None = None,
        tag: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> ProductPage:
        """Products by id, a page at a time: pass the page's ``next_after`` as
        ``after`` for the next (keyset pagination: a product added meanwhile never
        shifts a page).

        :param state: ``draft``, ``active`` or ``archived``.
        """
        for name, value in (("category_id", category_id), ("type_id", type_id), ("tag", tag)):
            if value is not None:
                check_key(value, name)
        if after is not None:
            check_key(after, "after")
        try:
            wanted = None if state is None else PublicationState(state)
        except ValueError:
            raise InvalidInput("must be draft, active or archived", field="state") from None
        limit = check_page_size(check_whole_number(limit, "limit"))
        where = ProductFilter(category_id=category_id, state=wanted, type_id=type_id, tag=tag)
        found = self._read(
            lambda uow: uow.catalog.list_products(where, after=after, limit=limit + 1)
        )
        page = found[:limit]
        more = len(found) > limit
        return ProductPage(page, page[-1].id if more and page else None)

    def history(self, kind: str, key: str, *, limit: int = 100) -> list[CatalogChange]:
        """What was done to a product, variant (by SKU), price (by SKU), product type or
        collection, oldest first, with its time and actor."""
        check_key(kind, "kind")
        check_key(key, "key")
        limit = check_page_size(check_whole_number(limit, "limit"))
        return self._read(lambda uow: uow.catalog.changes(kind, key, limit=limit))


@attrs.frozen
class SlugMatch:
    """Where a slug leads: the product, its slug now, and whether the one asked for
    is an earlier slug (a redirect)."""

    product: Product
    slug: str
    redirect: bool


@attrs.frozen
class ProductPage:
    """One page of a listing, and the ``after`` of the next (``None``: the last)."""

    products: list[Product]
    next_after: str | None


#: The fields :meth:`CatalogService.update_product` changes.
PRODUCT_FIELDS: Final = frozenset(
    {
        "name",
        "slug",
        "description",
        "category_ids",
        "attributes",
        "type_id",
        "option_axes",
        "tags",
        "translations",
        "media",
        "seo_title",
        "seo_description",
        "canonical_url",
        "brand",
        "condition",
        "tax_category",
        "available_from",
        "available_until",
    }
)


def _changes(changes: object, allowed: frozenset[str]) -> dict[str, Any]:
    """``changes`` if it maps only fields that may be changed.

    :raises InvalidInput: naming ``changes``.
    """
    if not isinstance(changes, Mapping) or not changes:
        raise InvalidInput("expected a mapping of fields to new values", field="changes")
    for name in changes:
        if name not in allowed:
            raise InvalidInput(
                f"{shown(name)} is not a field that can be changed here", field="changes"
            )
    return dict(changes)


def _slug_owner(uow: UnitOfWork, locale: str, slug: str) -> SlugRecord | None:
    return uow.catalog.slug_owner(locale, slug)


def _slug_of(name: str) -> str:
    try:
        return slugify(name)
    except InvalidInput:
        return ""
