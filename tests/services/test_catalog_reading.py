"""What any shopper may read of the catalogue to build pages: the category tree, and
the product a SKU belongs to."""

from __future__ import annotations

import pytest

from commercekit import Category, Product, Variant
from commercekit.domain.access import Permission
from commercekit.domain.errors import AccessDenied, InvalidInput, NotFound
from commercekit.store import Store


def test_a_shopper_reads_the_category_tree_each_after_its_parent(store: Store) -> None:
    store.catalog.add_category(Category(id="mugs", name="Mugs", parent_id="kitchen"))
    shopper = store.as_shopper()

    tree = shopper.catalog.categories()

    assert [(c.id, c.parent_id) for c in tree] == [("kitchen", None), ("mugs", "kitchen")]


def test_a_shopper_finds_the_product_of_a_sku(store: Store) -> None:
    shopper = store.as_shopper()

    assert shopper.catalog.product_for_sku("RETRO-MUG").id == "mug"
    with pytest.raises(NotFound) as missing:
        shopper.catalog.product_for_sku("NO-SUCH-SKU")
    assert missing.value.field == "sku"
    with pytest.raises(InvalidInput) as refused:
        shopper.catalog.product_for_sku("\x00")
    assert refused.value.field == "sku"


def test_a_draft_is_the_catalogue_staff_s_until_it_is_published(store: Store) -> None:
    store.catalog.add_product(Product(id="draft", name="Draft", variants=[Variant(sku="DRAFT")]))
    shopper = store.as_shopper()

    for read in (
        lambda: shopper.catalog.product("draft"),
        lambda: shopper.catalog.product_for_sku("DRAFT"),
    ):
        with pytest.raises(AccessDenied):
            read()
    catalogue = store.as_staff("grace", [Permission.CATALOGUE])
    assert catalogue.catalog.product("draft").id == "draft"
    store.catalog.publish("draft")
    assert shopper.catalog.product("draft").id == "draft"
    assert shopper.catalog.product_for_sku("DRAFT").id == "draft"
    with pytest.raises(NotFound):
        shopper.catalog.product("no-such-product")
