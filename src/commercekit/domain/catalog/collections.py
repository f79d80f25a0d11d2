"""Collections: products a merchant shows together, picked by hand (in the order
given) or gathered by a rule (category, attribute values, tags, a price range, new
since a date), kept in an order of the merchant's choosing.

A rule is evaluated when the collection is read, against the catalogue and the
prices as they are then: a product whose price moves into the range joins it."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from commercekit.domain._validators import aware_or_none, strings, text
from commercekit.domain.catalog.products import Product
from commercekit.domain.catalog.slugs import slugify
from commercekit.domain.errors import InvalidInput
from commercekit.domain.money import normalize_currency

__all__ = ["Collection", "CollectionRule", "CollectionSort"]


def _category_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return strings(value, field="category_ids")


def _tags(value: Iterable[str] | str | None) -> frozenset[str]:
    return frozenset(tag.casefold() for tag in strings(value, field="tags"))


def _attribute_values(
    value: Mapping[str, Iterable[str] | str] | None,
) -> Mapping[str, frozenset[str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("expected attribute names to values", field="attributes")
    return {
        str(name): strings(values, field=f"attributes.{name}") for name, values in value.items()
    }


def _currency(value: str | None) -> str | None:
    return None if value is None else normalize_currency(value)


@attrs.frozen(kw_only=True)
class CollectionRule:
    """What a product must be to join: in one of ``category_ids`` (or below one),
    with each attribute at one of its values (the product's or a variant's), with
    one of ``tags``, with a variant priced from ``price_min_units`` to
    ``price_max_units`` in ``currency``, added at or after ``new_since``. Every
    condition given must hold."""

    category_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_category_ids)
    attributes: Mapping[str, frozenset[str]] = attrs.field(
        factory=dict, converter=_attribute_values
    )
    tags: frozenset[str] = attrs.field(factory=frozenset, converter=_tags)
    currency: str | None = attrs.field(default=None, converter=_currency)
    price_min_units: int | None = None
    price_max_units: int | None = None
    new_since: datetime | None = attrs.field(default=None, validator=aware_or_none)

    def __attrs_post_init__(self) -> None:
        bounds = (self.price_min_units, self.price_max_units)
        for bound in bounds:
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, int) or bound < 0
            ):
                raise InvalidInput("must be whole minor units, not negative", field="price")
        if any(b is not None for b in bounds) and self.currency is None:
            raise InvalidInput("a price range names its currency", field="currency")

    @property
    def priced(self) -> bool:
        return self.price_min_units is not None or self.price_max_units is not None

    def matches(
        self,
        product: Product,
        *,
        categories: frozenset[str],
        prices: Mapping[str, int],
    ) -> bool:
        """Whether ``product`` joins: ``categories`` are its categories with their
        ancestors, ``prices`` its variants' unit prices in minor units of
        :attr:`currency`."""
        if self.category_ids and not self.category_ids & categories:
            return False
        if self.tags and not self.tags & set(product.tags):
            return False
        for name, values in self.attributes.items():
            found = {product.attributes.get(name)} | {
                v.attributes.get(name) for v in product.variants
            }
            if not values & {value for value in found if value is not None}:
                return False
        if self.new_since is not None and (
            product.created_at is None or product.created_at < self.new_since
        ):
            return False
        if self.priced:
            low = self.price_min_units if self.price_min_units is not None else 0
            high = self.price_max_units
            units = [prices[v.sku] for v in product.variants if v.sku in prices]
            if not any(low <= u and (high is None or u <= high) for u in units):
                return False
        return True


class CollectionSort(enum.Enum):
    MANUAL = "manual"
    """Hand-picked products as given, then the rule's by name."""
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NAME = "name"


def _ids(value: Iterable[str] | str) -> tuple[str, ...]:
    ids = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(each, str) for each in ids) or len(set(ids)) != len(ids):
        raise InvalidInput("expected product ids, each once", field="product_ids")
    return ids


@attrs.define(kw_only=True, eq=False)
class Collection:
    """Products shown together: ``product_ids`` picked by hand, in order, and the
    products a ``rule`` gathers after them."""

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(200))
    slug: str = ""
    product_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    rule: CollectionRule | None = None
    sort: CollectionSort = attrs.field(default=CollectionSort.MANUAL, converter=CollectionSort)
    description: str = attrs.field(default="", validator=text(5000, blank=True))

    def __attrs_post_init__(self) -> None:
        self.slug = slugify(self.slug, field="slug") if self.slug else slugify(self.name)

    def arrange(
        self,
        products: Sequence[Product],
        *,
        categories: Callable[[Product], frozenset[str]],
        prices: Mapping[str, int],
    ) -> list[Product]:
        """The collection's products among ``products`` (the candidates: those picked
        and those the rule may gather), in its order. ``prices`` are unit prices in
        minor units by SKU (in the rule's currency), used for a price range and to
        sort by price."""
        by_id = {product.id: product for product in products}
        picked = [by_id[i] for i in self.product_ids if i in by_id]
        chosen = {product.id for product in picked}
        gathered = []
        if self.rule is not None:
            gathered = [
                product
                for product in products
                if product.id not in chosen
                and self.rule.matches(product, categories=categories(product), prices=prices)
            ]
        found = picked + sorted(gathered, key=lambda p: (p.name.casefold(), p.id))
        return _sorted(found, self.sort, prices)


def _cheapest(product: Product, prices: Mapping[str, int]) -> int | None:
    units = [prices[v.sku] for v in product.variants if v.sku in prices]
    return min(units) if units else None


def _sorted(
    products: list[Product], sort: CollectionSort, prices: Mapping[str, int]
) -> list[Product]:
    if sort is CollectionSort.MANUAL:
        return products
    if sort is CollectionSort.NAME:
        return sorted(products, key=lambda p: (p.name.casefold(), p.id))
    if sort is CollectionSort.NEWEST:
        oldest = datetime.min.replace(tzinfo=None)
        return sorted(
            products,
            key=lambda p: (p.created_at.replace(tzinfo=None) if p.created_at else oldest, p.id),
            reverse=True,
        )
    unpriced = [p for p in products if _cheapest(p, prices) is None]
    priced = sorted(
        (p for p in products if _cheapest(p, prices) is not None),
        key=lambda p: (_cheapest(p, prices) or 0, p.id),
        reverse=sort is CollectionSort.PRICE_DESC,
    )
    return priced + unpriced
