"""The catalogue: products, their variants and types, categories, collections,
translations, media, slugs and publication state."""

from commercekit.domain._validators import aware_or_none, require_aware
from commercekit.domain.catalog.catalog import Catalog, ItemFacts, check_product_refs, require_new
from commercekit.domain.catalog.categories import Category, CategoryTree
from commercekit.domain.catalog.collections import Collection, CollectionRule, CollectionSort
from commercekit.domain.catalog.media import Media, MediaKind
from commercekit.domain.catalog.products import (
    Condition,
    Dimensions,
    Product,
    PublicationState,
    Variant,
)
from commercekit.domain.catalog.records import (
    CatalogChange,
    ProductFilter,
    SlugRecord,
    claim_slug,
)
from commercekit.domain.catalog.slugs import SLUG_MAX_LENGTH, slugify
from commercekit.domain.catalog.translations import ProductText, fallback_chain
from commercekit.domain.catalog.types import AttributeKind, AttributeSpec, ProductType

__all__ = [
    "SLUG_MAX_LENGTH",
    "AttributeKind",
    "AttributeSpec",
    "Catalog",
    "CatalogChange",
    "Category",
    "CategoryTree",
    "Collection",
    "CollectionRule",
    "CollectionSort",
    "Condition",
    "Dimensions",
    "ItemFacts",
    "Media",
    "MediaKind",
    "Product",
    "ProductFilter",
    "ProductText",
    "ProductType",
    "PublicationState",
    "SlugRecord",
    "Variant",
    "aware_or_none",
    "check_product_refs",
    "claim_slug",
    "fallback_chain",
    "require_aware",
    "require_new",
    "slugify",
]
