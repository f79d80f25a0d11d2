"""Running a catalogue on a real store (memory and a SQLite file): typed products,
unique slugs with redirects, listing and editing with every change recorded, and
collections that follow the catalogue."""

from __future__ import annotations

import pytest

from commercekit import Money, Product, Variant
from commercekit.domain.catalog import (
    AttributeSpec,
    Collection,
    CollectionRule,
    CollectionSort,
    ProductText,
    ProductType,
)
from commercekit.domain.errors import AlreadyExists, InvalidInput, NotFound
from commercekit.domain.events import CatalogUpdated
from commercekit.store import Store

LAMP = ProductType(
    id="lamp",
    name="Lamp",
    attributes=(AttributeSpec(name="height", kind="number", unit="cm", required=True),),
    variant_attributes=(AttributeSpec(name="bulb", kind="choice", choices=("E27", "GU10")),),
)


def lamp(pid: str = "anchor", name: str = "Anchor lamp", height: str = "40.0") -> Product:
    return Product(
        id=pid,
        name=name,
        type_id="lamp",
        attributes={"height": height},
        variants=[Variant(sku=f"{pid.upper()}-E27", attributes={"bulb": "E27"})],
    )


def test_a_typed_product_is_checked_and_kept_in_its_types_spelling(store: Store) -> None:
    store.catalog.add_product_type(LAMP)
    added = store.catalog.add_product(lamp())
    assert added.attributes == {"height": "40"}
    assert added.created_at == store.runtime.clock.now()
    assert store.catalog.product("anchor").attributes == {"height": "40"}

    with pytest.raises(InvalidInput) as refused:
        store.catalog.add_product(lamp("beacon", "Beacon", height="tall"))
    assert refused.value.field == "attributes.height"
    bad_bulb = lamp("candle", "Candle")
    bad_bulb.variants[0].attributes = {"bulb": "B22"}
    with pytest.raises(InvalidInput) as refused:
        store.catalog.add_product(bad_bulb)
    assert refused.value.field == "variants.0.attributes.bulb"
    with pytest.raises(NotFound):
        store.catalog.product("beacon")


def test_two_variants_with_the_same_options_are_refused(store: Store) -> None:
    store.catalog.add_product(
        Product(
            id="tee",
            name="Tee",
            option_axes=("size",),
            variants=[Variant(sku="TEE-M", options={"size": "M"})],
        )
    )
    store.catalog.put_variant("tee", Variant(sku="TEE-L", options={"size": "L"}))
    with pytest.raises(InvalidInput) as refused:
        store.catalog.put_variant("tee", Variant(sku="TEE-M2", options={"size": "M"}))
    assert refused.value.field == "variants"
    assert [v.sku for v in store.catalog.product("tee").variants] == ["TEE-M", "TEE-L"]


def test_slugs_are_unique_and_a_changed_one_redirects(store: Store) -> None:
    first = store.catalog.add_product(Product(id="tee-1", name="Tee"))
    second = store.catalog.add_product(Product(id="tee-2", name="Tee"))
    assert (first.slug, second.slug) == ("tee", "tee-2")
    with pytest.raises(AlreadyExists) as refused:
        store.catalog.add_product(Product(id="tee-3", name="Shirt", slug="tee"))
    assert refused.value.field == "slug"

    assert store.catalog.by_slug("tee-2").product.id == "tee-2"
    store.catalog.update_product("tee-2", {"name": "Summer tee"})
    moved = store.catalog.by_slug("tee-2")
    assert (moved.product.id, moved.slug, moved.redirect) == ("tee-2", "summer-tee", True)
    now = store.catalog.by_slug("summer-tee")
    assert (now.product.id, now.redirect) == ("tee-2", False)
    # The old slug is free for another product, which takes it over.
    store.catalog.add_product(Product(id="tee-4", name="Tee", slug="tee-2"))
    assert store.catalog.by_slug("tee-2").product.id == "tee-4"
    with pytest.raises(NotFound) as missing:
        store.catalog.by_slug("no-such-thing")
    assert missing.value.field == "slug"


def test_slugs_per_locale_with_the_fallback_chain(store: Store) -> None:
    store.catalog.add_product(
        Product(id="cup", name="Cup", translations={"de": ProductText(name="Becher")})
    )
    assert store.catalog.by_slug("becher", locale="de_AT").product.id == "cup"
    assert store.catalog.by_slug("cup", locale="de").product.id == "cup"  # its own slug
    with pytest.raises(NotFound):
        store.catalog.by_slug("becher")  # not a slug in the default locale


def test_every_change_is_recorded_with_its_time_and_actor(store: Store) -> None:
    store.catalog.add_product(Product(id="cup", name="Cup", variants=[Variant(sku="CUP")]))
    store.catalog.update_product("cup", {"description": "Holds tea."}, actor="staff:ada")
    store.catalog.set_price("eu", "CUP", Money("9.00", "EUR"), actor="staff:ada")
    store.catalog.remove_price("eu", "CUP", actor="staff:bo")
    store.catalog.archive("cup", actor="staff:bo")

    product_history = [(c.action, c.actor) for c in store.catalog.history("product", "cup")]
    assert product_history == [
        ("added", "staff"),
        ("updated", "staff:ada"),
        ("archived", "staff:bo"),
    ]
    prices = [(c.action, c.detail) for c in store.catalog.history("price", "CUP")]
    assert prices == [("priced", "eu: 9.00 EUR"), ("unpriced", "eu")]
    with pytest.raises(NotFound):
        store.catalog.remove_price("eu", "CUP")
    with pytest.raises(InvalidInput) as refused:
        store.catalog.update_product("cup", {"id": "cup"})
    assert refused.value.field == "changes"
    updated = [
        e for _, e in store.storage.undelivered_events(1000) if isinstance(e, CatalogUpdated)
    ]
    assert [event.product_ids for event in updated][-5:] == [("cup",)] * 5


def test_listing_pages_by_keys_with_filters(store: Store) -> None:
    for n in range(7):
        tags = ("summer",) if n % 2 else ()
        store.catalog.add_product(Product(id=f"p{n}", name=f"Product {n}", tags=tags))
    pages, after = [], None
    while True:
        page = store.catalog.list_products(after=after, limit=3)
        pages.append([p.id for p in page.products])
        after = page.next_after
        if after is None:
            break
    listed = [pid for page in pages for pid in page]
    assert listed == sorted(listed)
    assert [pid for pid in listed if pid.startswith("p")] == [f"p{n}" for n in range(7)]
    summer = store.catalog.list_products(tag="Summer", limit=50)
    assert [p.id for p in summer.products] == ["p1", "p3", "p5"]
    assert summer.next_after is None
    with pytest.raises(InvalidInput):
        store.catalog.list_products(state="sold")


def test_an_automatic_collection_follows_a_price_change(store: Store) -> None:
    # The seeded shop: mugs at 12.00, clocks at 40.00, in EUR.
    store.catalog.add_collection(
        Collection(
            id="under-20",
            name="Under 20",
            rule=CollectionRule(currency="EUR", price_max_units=2_000),
            sort=CollectionSort.PRICE_ASC,
        )
    )

    def under_20() -> list[str]:
        return [p.id for p in store.catalog.collection_products("under-20", currency="EUR")]

    assert "mug" in under_20()
    assert "clock" not in under_20()
    store.catalog.add_collection(Collection(id="gifts", name="Gifts", product_ids=["clock"]))
    listed = store.as_shopper().catalog.collections()
    assert [(c.id, c.name) for c in listed] == [("gifts", "Gifts"), ("under-20", "Under 20")]
    store.catalog.set_price("eu", "RETRO-CLOCK", Money("19.00", "EUR"))
    assert under_20()[-1] == "clock"
    store.catalog.set_price("eu", "RETRO-MUG", Money("25.00", "EUR"))
    assert "mug" not in under_20()
