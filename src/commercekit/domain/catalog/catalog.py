"""The catalogue in memory: products, variants with unique SKUs, the category tree,
and what pricing needs to know of a SKU."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping

import attrs

from commercekit.domain.catalog.categories import Category, CategoryTree
from commercekit.domain.catalog.products import Product, Variant
from commercekit.domain.errors import (
    AlreadyExists,
    DuplicateSku,
    InvalidInput,
    NotFound,
    UnknownSku,
    shown,
)

__all__ = ["Catalog", "ItemFacts", "check_product_refs", "require_new"]


@attrs.frozen
class ItemFacts:
    """What pricing and promotions need to know about a SKU, resolved once."""

    sku: str
    product_id: str
    category_ids: frozenset[str]
    """The product's categories and all their ancestors."""
    tax_category: str
    product: Product


class Catalog:
    """Products, variants (unique SKUs) and the category tree, in memory."""

    def __init__(self, categories: Iterable[Category] = ()) -> None:
        self.categories = CategoryTree(categories)
        self._products: dict[str, Product] = {}
        self._variants: dict[str, Variant] = {}
        self._facts: dict[str, ItemFacts] = {}

    @classmethod
    def sharing(cls, tree: CategoryTree) -> Catalog:
        """A catalogue over ``tree`` itself rather than a copy of it, for one built
        once and read by many: add or move no category in either afterwards."""
        catalog = cls()
        catalog.categories = tree
        return catalog

    def add_category(self, category: Category) -> None:
        """Add a category to the tree."""
        self.categories.add(category)
        self._facts.clear()

    def move_category(self, category_id: str, new_parent_id: str | None) -> None:
        """Re-parent a category (see :meth:`CategoryTree.move`)."""
        self.categories.move(category_id, new_parent_id)
        self._facts.clear()

    def add_product(self, product: Product) -> None:
        """Add a product with its variants.

        :raises DuplicateSku: if a variant's SKU is already taken (nothing is added).
        :raises NotFound: if the product names a category the tree does not have.
        """
        if product.id in self._products:
            raise InvalidInput(f"product {shown(product.id)} already exists", field="id")
        seen: set[str] = set()
        for variant in product.variants:
            if variant.sku in self._variants or variant.sku in seen:
                raise DuplicateSku(variant.sku)
            seen.add(variant.sku)
        for category_id in product.category_ids:
            self.categories.get(category_id)
        self._products[product.id] = product
        for variant in product.variants:
            variant.product_id = product.id
            self._variants[variant.sku] = variant

    def add_variant(self, product_id: str, variant: Variant) -> None:
        """Add another variant to an existing product."""
        product = self.product(product_id)
        if variant.sku in self._variants:
            raise DuplicateSku(variant.sku)
        variant.product_id = product_id
        product.variants.append(variant)
        self._variants[variant.sku] = variant

    def product(self, product_id: str) -> Product:
        """:raises NotFound: for an unknown product id."""
        try:
            return self._products[product_id]
        except KeyError:
            raise NotFound("product", product_id, field="product_id") from None

    def variant(self, sku: str) -> Variant:
        """:raises UnknownSku: for an unknown SKU."""
        try:
            return self._variants[sku]
        except KeyError:
            raise UnknownSku(sku) from None

    def find_variant(self, sku: str) -> Variant | None:
        """The variant with this SKU, or ``None`` (a product since removed)."""
        return self._variants.get(sku)

    def products(self) -> Iterator[Product]:
        """Every product, in the order added."""
        return iter(self._products.values())

    def facts(self, sku: str) -> ItemFacts:
        """Product, categories (with ancestors) and tax category of a SKU, cached.

        :raises UnknownSku: for an unknown SKU.
        """
        cached = self._facts.get(sku)
        if cached is not None:
            return cached
        variant = self.variant(sku)
        product = self._products[variant.product_id]
        categories: set[str] = set(product.category_ids)
        for category_id in product.category_ids:
            categories.update(self.categories.ancestors(category_id))
        facts = ItemFacts(
            sku=sku,
            product_id=product.id,
            category_ids=frozenset(categories),
            tax_category=variant.tax_category or product.tax_category,
            product=product,
        )
        self._facts[sku] = facts
        return facts

    def invalidate(self) -> None:
        """Forget cached facts after moving categories or changing tax categories."""
        self._facts.clear()


# --- uniqueness: the one decision both storages ask --------------------------------


def require_new(kind: str, key: str, *, taken: bool, field: str = "id") -> None:
    """Refuse adding a ``kind`` under ``key`` when storage holds one already.

    :raises AlreadyExists: naming ``field``.
    """
    if taken:
        raise AlreadyExists(kind, key, field=field)


def check_product_refs(
    product: Product, *, sku_owners: Mapping[str, str], categories: Collection[str]
) -> None:
    """Whether ``product`` may be stored as it is: each SKU once among its variants and
    owned by no other product (``sku_owners``: SKU to the product that has it), and
    every category it names stored (``categories``).

    :raises DuplicateSku: for a SKU taken.
    :raises NotFound: for a category that does not exist.
    """
    seen: set[str] = set()
    for variant in product.variants:
        owner = sku_owners.get(variant.sku)
        if variant.sku in seen or (owner is not None and owner != product.id):
            raise DuplicateSku(variant.sku)
        seen.add(variant.sku)
    for category_id in product.category_ids:
        if category_id not in categories:
            raise NotFound("category", category_id, field="category_ids")
