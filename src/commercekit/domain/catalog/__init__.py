"""The catalogue: products, their variants, categories and publication state."""

from commercekit.domain._validators import aware_or_none, require_aware
from commercekit.domain.catalog.catalog import Catalog, ItemFacts, check_product_refs, require_new
from commercekit.domain.catalog.categories import Category, CategoryTree
from commercekit.domain.catalog.products import Dimensions, Product, PublicationState, Variant
from commercekit.domain.catalog.slugs import SLUG_MAX_LENGTH, slugify

__all__ = [
    "SLUG_MAX_LENGTH",
    "Catalog",
    "Category",
    "CategoryTree",
    "Dimensions",
    "ItemFacts",
    "Product",
    "PublicationState",
    "Variant",
    "aware_or_none",
    "check_product_refs",
    "require_aware",
    "require_new",
    "slugify",
]
