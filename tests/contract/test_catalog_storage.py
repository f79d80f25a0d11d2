"""The catalogue's storage promises, checked on every storage: memory, SQLite,
PostgreSQL.

A product comes back with every field it went in with; product types and collections
are kept whole under ids of their own; slugs lead to their product, an earlier slug
stays as a redirect until another product takes it; the change record keeps its
order; a listing pages through exactly the products its filter matches; and bulk
writes of products and prices leave the same state as writing them one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commercekit.adapters.storage import codec
from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.domain.catalog import (
    AttributeSpec,
    CatalogChange,
    Category,
    Collection,
    CollectionRule,
    CollectionSort,
    Dimensions,
    Media,
    Product,
    ProductFilter,
    ProductText,
    ProductType,
    PublicationState,
    SlugRecord,
    Variant,
)
from commercekit.domain.errors import AlreadyExists, ConcurrencyConflict, DuplicateSku, NotFound
from commercekit.domain.money import Money
from commercekit.domain.pricing import PriceEntry, PriceList, SalePrice, VolumeTier
from commercekit.ports.storage import Storage, UnitOfWork
from tests.contract.conftest import BACKENDS
from tests.shop import sql_url

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
BERLIN = timezone(timedelta(hours=1))


def state(value: object) -> dict[str, Any]:
    """Everything a product (or a collection) holds."""
    return attrs.asdict(value, recurse=False)


def product_state(product: Product) -> dict[str, Any]:
    """A product's state, its variants' too; a variant not yet stored belongs to the
    product it is given with."""
    found = state(product)
    found["variants"] = [
        {**state(variant), "product_id": variant.product_id or product.id}
        for variant in product.variants
    ]
    return found


def write(storage: Storage, work: Callable[[UnitOfWork], object]) -> None:
    with storage.unit_of_work() as uow:
        work(uow)
        uow.commit()


def read(storage: Storage, work: Callable[[UnitOfWork], Any]) -> Any:
    with storage.unit_of_work() as uow:
        return work(uow)


def stamp(storage: Storage) -> int:
    return int(read(storage, lambda uow: uow.catalog.stamp()))


@pytest.fixture(params=BACKENDS)
def stamped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A new storage of each kind, freshly migrated: the shared PostgreSQL storage of
    the contract suite is emptied by truncating every table, its stamp's row too."""
    if request.param == "memory":
        yield MemoryStorage()
        return
    with sql_url(request.param, tmp_path) as url, SqlStorage.open(url) as storage:
        yield storage


def categories(storage: Storage, *ids: str) -> None:
    def add(uow: UnitOfWork) -> None:
        for category_id in ids:
            uow.catalog.add_category(Category(id=category_id, name=category_id.title()))

    write(storage, add)


def a_lamp(product_id: str = "lava-lamp", *, skus: Sequence[str] = ("LAVA-LAMP",)) -> Product:
    return Product(
        id=product_id,
        name="Lava lamp",
        category_ids=("lamps",),
        variants=[Variant(sku=sku, options={"colour": f"c{n}"}) for n, sku in enumerate(skus)],
        option_axes=("colour",),
    )


def everything_product() -> Product:
    """A product with every field set to something other than its default."""
    variants = [
        Variant(
            sku="RETRO-CLOCK-OAK",
            options={"wood": "oak", "size": "M"},
            weight_grams=1200,
            dimensions=Dimensions(length_mm=300, width_mm=200, height_mm=90),
            tax_category="reduced",
            track_stock=False,
            digital=False,
            components={"CLOCK-HANDS": 2},
            attributes={"finish": "matte", "battery": "AA"},
        ),
        Variant(
            sku="RETRO-CLOCK-WALNUT",
            options={"wood": "walnut", "size": "M"},
            attributes={"finish": "gloss"},
        ),
    ]
    return Product(
        id="retro-clock",
        name="Retro clock",
        slug="retro-clock-classic",
        description="Ticks loudly.",
        category_ids=("clocks", "home"),
        attributes={"material": "wood", "mechanism": "quartz"},
        type_id="clock",
        option_axes=("wood", "size"),
        tags=("Vintage", "gift ", "vintage"),
        translations={
            "de": ProductText(name="Retro-Uhr", description="Tickt laut.", seo_title="Uhr"),
            "de-AT": ProductText(name="Retro-Uhr", slug="retro-uhr-at", seo_description="Ö"),
            "ja": ProductText(name="レトロ時計"),
        },
        media=(
            Media(url="https://cdn.example.com/clock.jpg", alt="An oak clock"),
            Media(
                url="/media/walnut.png",
                alt="The walnut one",
                variant_skus=("RETRO-CLOCK-WALNUT",),
            ),
            Media(url="https://cdn.example.com/manual.pdf", kind="file"),
        ),
        seo_title="Retro clock in oak or walnut",
        seo_description="A clock that ticks loudly.",
        created_at=datetime(2026, 12, 1, 8, 0, tzinfo=BERLIN),
        tax_category="reduced",
        state=PublicationState.ACTIVE,
        available_from=NOW,
        available_until=NOW + timedelta(days=30),
        variants=variants,
    )


def a_clock_type() -> ProductType:
    return ProductType(
        id="clock",
        name="Clock",
        attributes=(
            AttributeSpec(name="material", kind="choice", choices=("wood", "metal")),
            AttributeSpec(name="diameter", kind="number", unit="cm", required=True),
            AttributeSpec(name="silent", kind="boolean"),
        ),
        variant_attributes=(
            AttributeSpec(name="finish", kind="text"),
            AttributeSpec(name="released", kind="date"),
        ),
    )


def a_collection() -> Collection:
    return Collection(
        id="winter-gifts",
        name="Winter gifts",
        slug="gifts-for-winter",
        product_ids=("retro-clock", "lava-lamp"),
        rule=CollectionRule(
            category_ids={"clocks", "lamps"},
            attributes={"material": ["wood", "metal"], "silent": "true"},
            tags={"Gift", "winter"},
            currency="eur",
            price_min_units=1000,
            price_max_units=9999,
            new_since=datetime(2026, 11, 1, tzinfo=BERLIN),
        ),
        sort=CollectionSort.PRICE_DESC,
        description="Warm things for cold days.",
    )


# --- products: every new field -------------------------------------------------------


def test_every_field_of_a_product_and_its_variants_comes_back(storage: Storage) -> None:
    categories(storage, "clocks", "home")
    product = everything_product()
    write(storage, lambda uow: uow.catalog.add_product(product))

    loaded = read(storage, lambda uow: uow.catalog.product("retro-clock"))

    assert product_state(loaded) == product_state(product)
    assert loaded.tags == ("vintage", "gift")
    assert loaded.translations["de_AT"].slug == "retro-uhr-at"
    assert loaded.media[1].variant_skus == ("RETRO-CLOCK-WALNUT",)
    assert loaded.created_at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_a_saved_product_keeps_its_new_fields_as_changed(storage: Storage) -> None:
    categories(storage, "clocks", "home")
    write(storage, lambda uow: uow.catalog.add_product(everything_product()))

    def change(uow: UnitOfWork) -> Product:
        product: Product = uow.catalog.product("retro-clock")
        product.type_id = None
        product.tags = ("sale",)
        product.translations = {"fr": ProductText(name="Horloge rétro")}
        product.media = ()
        product.seo_title = ""
        product.variants[0].attributes = {}
        uow.catalog.save_product(product)
        return product

    with storage.unit_of_work() as uow:
        changed = change(uow)
        uow.commit()

    loaded = read(storage, lambda uow: uow.catalog.product("retro-clock"))
    assert product_state(loaded) == product_state(changed)
    assert (loaded.type_id, loaded.tags, loaded.media) == (None, ("sale",), ())


def test_a_product_with_only_defaults_comes_back_with_them(storage: Storage) -> None:
    plain = Product(id="bean-bag", name="Bean bag", variants=[Variant(sku="BEAN-BAG")])
    write(storage, lambda uow: uow.catalog.add_product(plain))

    loaded = read(storage, lambda uow: uow.catalog.product("bean-bag"))

    assert product_state(loaded) == product_state(plain)
    assert (loaded.translations, loaded.created_at, loaded.variants[0].attributes) == (
        {},
        None,
        {},
    )


def test_products_by_id_gives_those_stored_once_each_by_id(storage: Storage) -> None:
    categories(storage, "lamps")
    write(
        storage,
        lambda uow: [
            uow.catalog.add_product(a_lamp(f"lamp-{n}", skus=(f"LAMP-{n}",))) for n in (3, 1, 2)
        ],
    )

    found = read(storage, lambda uow: uow.catalog.products(["lamp-2", "nope", "lamp-1", "lamp-2"]))

    assert [p.id for p in found] == ["lamp-1", "lamp-2"]
    assert [v.sku for v in found[0].variants] == ["LAMP-1"]
    assert read(storage, lambda uow: uow.catalog.products([])) == []


# --- product types and collections ---------------------------------------------------


def test_a_product_type_comes_back_whole_and_is_replaced_by_saving(storage: Storage) -> None:
    lamp = ProductType(id="lamp", name="Lamp")
    write(storage, lambda uow: [uow.catalog.add_product_type(t) for t in (a_clock_type(), lamp)])

    assert read(storage, lambda uow: uow.catalog.product_type("clock")) == a_clock_type()
    assert read(storage, lambda uow: uow.catalog.product_types()) == [a_clock_type(), lamp]

    wider = attrs.evolve(lamp, attributes=(AttributeSpec(name="watts", kind="number"),))
    write(storage, lambda uow: uow.catalog.save_product_type(wider))
    assert read(storage, lambda uow: uow.catalog.product_type("lamp")) == wider


def test_a_taken_or_unknown_product_type_id_is_refused(storage: Storage) -> None:
    write(storage, lambda uow: uow.catalog.add_product_type(a_clock_type()))

    with storage.unit_of_work() as uow:
        with pytest.raises(AlreadyExists) as taken:
            uow.catalog.add_product_type(ProductType(id="clock", name="Another clock"))
        with pytest.raises(NotFound) as unknown:
            uow.catalog.product_type("sofa")
        with pytest.raises(NotFound):
            uow.catalog.save_product_type(ProductType(id="sofa", name="Sofa"))

    assert (taken.value.field, unknown.value.field, unknown.value.key) == ("id", "type_id", "sofa")


def test_a_collection_comes_back_whole_and_is_replaced_by_saving(storage: Storage) -> None:
    plain = Collection(id="all-lamps", name="All lamps")
    write(storage, lambda uow: [uow.catalog.add_collection(c) for c in (a_collection(), plain)])

    loaded = read(storage, lambda uow: uow.catalog.collection("winter-gifts"))
    listed = read(storage, lambda uow: uow.catalog.collections())

    assert state(loaded) == state(a_collection())
    assert [state(c) for c in listed] == [state(plain), state(a_collection())]

    renamed = a_collection()
    renamed.name, renamed.rule, renamed.product_ids = "Gifts", None, ("retro-clock",)
    write(storage, lambda uow: uow.catalog.save_collection(renamed))
    assert state(read(storage, lambda uow: uow.catalog.collection("winter-gifts"))) == state(
        renamed
    )


def test_a_taken_or_unknown_collection_id_is_refused(storage: Storage) -> None:
    write(storage, lambda uow: uow.catalog.add_collection(a_collection()))

    with storage.unit_of_work() as uow:
        with pytest.raises(AlreadyExists):
            uow.catalog.add_collection(Collection(id="winter-gifts", name="Again"))
        with pytest.raises(NotFound) as unknown:
            uow.catalog.collection("summer")
        with pytest.raises(NotFound):
            uow.catalog.save_collection(Collection(id="summer", name="Summer"))

    assert (unknown.value.field, unknown.value.key) == ("collection_id", "summer")


@pytest.mark.parametrize(
    ("value", "encode", "decode"),
    [
        (a_clock_type(), codec.encode_product_type, codec.decode_product_type),
        (a_collection(), codec.encode_collection, codec.decode_collection),
        (everything_product().media[1], codec.encode_media, codec.decode_media),
        (
            ProductText(name="Uhr", seo_title="U"),
            codec.encode_product_text,
            codec.decode_product_text,
        ),
    ],
    ids=["ProductType", "Collection", "Media", "ProductText"],
)
def test_every_field_of_a_catalogue_value_is_encoded(
    value: object, encode: Callable[[Any], codec.Json], decode: Callable[[Any], object]
) -> None:
    # A field added to a domain class and forgotten in the codec would be lost.
    encoded = encode(value)
    assert set(encoded) - {"type"} == {field.name for field in attrs.fields(type(value))}
    assert state(decode(encoded)) == state(value)


# --- the stamp -----------------------------------------------------------------------


def test_every_new_catalogue_write_bumps_the_stamp_and_the_record_does_not(
    stamped: Storage,
) -> None:
    storage = stamped
    categories(storage, "lamps")
    write(storage, lambda uow: uow.catalog.add_product(a_lamp()))
    write(storage, lambda uow: uow.catalog.add_price_list(PriceList("eu", "EUR")))
    entry = PriceEntry(1999, (), None)
    bumping: list[Callable[[UnitOfWork], object]] = [
        lambda uow: uow.catalog.add_product_type(a_clock_type()),
        lambda uow: uow.catalog.save_product_type(a_clock_type()),
        lambda uow: uow.catalog.add_collection(a_collection()),
        lambda uow: uow.catalog.save_collection(a_collection()),
        lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "lava-lamp"}),
        lambda uow: uow.catalog.put_products([a_lamp(skus=("LAVA-LAMP", "LAVA-LAMP-2"))]),
        lambda uow: uow.catalog.put_prices("eu", {"LAVA-LAMP": entry}),
        lambda uow: uow.catalog.remove_prices("eu", ["LAVA-LAMP"]),
    ]
    for work in bumping:
        before = stamp(storage)
        write(storage, work)
        assert stamp(storage) > before

    quiet: list[Callable[[UnitOfWork], object]] = [
        lambda uow: uow.catalog.record_changes(
            [CatalogChange(at=NOW, actor="staff", kind="product", key="x", action="added")]
        ),
        lambda uow: uow.catalog.remove_prices("eu", ["NOT-PRICED"]),
        lambda uow: uow.catalog.put_products([]),
        lambda uow: uow.catalog.put_prices("eu", {}),
        lambda uow: uow.catalog.set_slugs("lava-lamp", {}),
    ]
    for work in quiet:
        before = stamp(storage)
        write(storage, work)
        assert stamp(storage) == before


# --- slugs ---------------------------------------------------------------------------


def owner(storage: Storage, locale: str, slug: str, channel: str = "") -> SlugRecord | None:
    found: SlugRecord | None = read(
        storage, lambda uow: uow.catalog.slug_owner(locale, slug, channel=channel)
    )
    return found


@pytest.fixture
def two_lamps(storage: Storage) -> Storage:
    categories(storage, "lamps")
    write(
        storage,
        lambda uow: [
            uow.catalog.add_product(a_lamp("lava-lamp", skus=("LAVA-LAMP",))),
            uow.catalog.add_product(a_lamp("disco-lamp", skus=("DISCO-LAMP",))),
        ],
    )
    return storage


def test_a_slug_leads_to_its_product_and_an_earlier_one_redirects(two_lamps: Storage) -> None:
    storage = two_lamps
    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "lava-lamp"}))
    assert owner(storage, "", "lava-lamp") == SlugRecord("lava-lamp", current=True)
    assert owner(storage, "", "nothing-here") is None

    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "magma-lamp"}))
    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "molten-lamp"}))

    assert owner(storage, "", "molten-lamp") == SlugRecord("lava-lamp", current=True)
    assert owner(storage, "", "magma-lamp") == SlugRecord("lava-lamp", current=False)
    assert owner(storage, "", "lava-lamp") == SlugRecord("lava-lamp", current=False)

    # Taking an earlier slug back makes it current again, and the other a redirect.
    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "lava-lamp"}))
    assert owner(storage, "", "lava-lamp") == SlugRecord("lava-lamp", current=True)
    assert owner(storage, "", "molten-lamp") == SlugRecord("lava-lamp", current=False)


def test_another_product_takes_over_a_redirect(two_lamps: Storage) -> None:
    storage = two_lamps
    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "lava-lamp"}))
    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "magma-lamp"}))
    write(storage, lambda uow: uow.catalog.set_slugs("disco-lamp", {"": "lava-lamp"}))

    assert owner(storage, "", "lava-lamp") == SlugRecord("disco-lamp", current=True)
    assert owner(storage, "", "magma-lamp") == SlugRecord("lava-lamp", current=True)


def test_slugs_are_kept_per_locale_and_per_channel(two_lamps: Storage) -> None:
    storage = two_lamps
    write(
        storage,
        lambda uow: uow.catalog.set_slugs(
            "lava-lamp", {"": "lava-lamp", "de": "lavalampe", "fr": "lampe-a-lave"}
        ),
    )
    write(
        storage,
        lambda uow: uow.catalog.set_slugs("disco-lamp", {"de": "lava-lamp"}, channel="b2b"),
    )
    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"de": "magmalampe"}))

    assert owner(storage, "", "lava-lamp") == SlugRecord("lava-lamp", current=True)
    assert owner(storage, "de", "lava-lamp") is None
    assert owner(storage, "de", "lava-lamp", "b2b") == SlugRecord("disco-lamp", current=True)
    assert owner(storage, "de", "magmalampe") == SlugRecord("lava-lamp", current=True)
    assert owner(storage, "de", "lavalampe") == SlugRecord("lava-lamp", current=False)
    # Changing the German slug left the French and the product's own alone.
    assert owner(storage, "fr", "lampe-a-lave") == SlugRecord("lava-lamp", current=True)
    assert owner(storage, "", "lavalampe") is None
    assert owner(storage, "de", "magmalampe", "b2b") is None


def test_another_products_current_slug_is_refused(two_lamps: Storage) -> None:
    storage = two_lamps
    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "lava-lamp"}))

    with storage.unit_of_work() as uow:
        with pytest.raises(AlreadyExists) as refused:
            uow.catalog.set_slugs("disco-lamp", {"de": "disco", "": "lava-lamp"})
        # The same slug in another locale or channel is free.
        uow.catalog.set_slugs("disco-lamp", {"de": "lava-lamp"})
        uow.catalog.set_slugs("disco-lamp", {"": "lava-lamp"}, channel="b2b")
        uow.commit()

    assert (refused.value.field, refused.value.key) == ("slug", "lava-lamp")
    assert owner(storage, "", "lava-lamp") == SlugRecord("lava-lamp", current=True)
    assert owner(storage, "de", "disco") is None
    assert owner(storage, "de", "lava-lamp") == SlugRecord("disco-lamp", current=True)


def test_two_writers_taking_one_new_slug_do_not_both_win(two_lamps: Storage) -> None:
    storage = two_lamps
    with storage.unit_of_work() as first, storage.unit_of_work() as second:
        first.catalog.set_slugs("lava-lamp", {"": "the-lamp"})
        second.catalog.set_slugs("disco-lamp", {"": "the-lamp"})
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()
    assert owner(storage, "", "the-lamp") == SlugRecord("lava-lamp", current=True)


def test_slugs_of_a_product_in_the_same_unit_of_work_and_of_an_unknown_one(
    storage: Storage,
) -> None:
    categories(storage, "lamps")
    with storage.unit_of_work() as uow:
        uow.catalog.add_product(a_lamp())
        uow.catalog.set_slugs("lava-lamp", {"": "lava-lamp"})
        assert uow.catalog.slug_owner("", "lava-lamp") == SlugRecord("lava-lamp", True)
        with pytest.raises(NotFound):
            uow.catalog.set_slugs("no-such-lamp", {"": "no-such-lamp"})
        uow.commit()
    assert owner(storage, "", "lava-lamp") == SlugRecord("lava-lamp", current=True)


def test_a_product_replaced_by_an_import_keeps_its_slugs(two_lamps: Storage) -> None:
    storage = two_lamps
    write(storage, lambda uow: uow.catalog.set_slugs("lava-lamp", {"": "lava-lamp"}))
    write(storage, lambda uow: uow.catalog.put_products([a_lamp(skus=("LAVA-LAMP-XL",))]))
    assert owner(storage, "", "lava-lamp") == SlugRecord("lava-lamp", current=True)


# --- the change record ---------------------------------------------------------------


def a_change(key: str, action: str, minutes: int = 0, *, kind: str = "product") -> CatalogChange:
    return CatalogChange(
        at=NOW + timedelta(minutes=minutes),
        actor="staff:ada",
        kind=kind,
        key=key,
        action=action,
        detail=f"{action} {key}",
    )


def test_the_change_record_keeps_each_things_changes_in_the_order_recorded(
    storage: Storage,
) -> None:
    first = [a_change("lava-lamp", "added"), a_change("retro-clock", "added")]
    then = [
        a_change("lava-lamp", "published", 5),
        a_change("lava-lamp", "price set", 6, kind="price"),
        # Recorded later with an earlier time: the record keeps the order recorded.
        a_change("lava-lamp", "archived", 1),
    ]
    write(storage, lambda uow: uow.catalog.record_changes(first))
    write(storage, lambda uow: uow.catalog.record_changes(then))
    write(storage, lambda uow: uow.catalog.record_changes([]))

    lamp = read(storage, lambda uow: uow.catalog.changes("product", "lava-lamp"))
    assert lamp == [first[0], then[0], then[2]]
    assert read(storage, lambda uow: uow.catalog.changes("price", "lava-lamp")) == [then[1]]
    assert read(storage, lambda uow: uow.catalog.changes("product", "lava-lamp", limit=2)) == [
        first[0],
        then[0],
    ]
    assert read(storage, lambda uow: uow.catalog.changes("product", "bean-bag")) == []


def test_changes_recorded_in_a_unit_of_work_rolled_back_are_not_kept(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.catalog.record_changes([a_change("lava-lamp", "added")])
    assert read(storage, lambda uow: uow.catalog.changes("product", "lava-lamp")) == []


# --- listing -------------------------------------------------------------------------

LISTING_TAGS = ("summer", "sale", "gift")
LISTING_TYPES = (None, "lamp", "clock")
LISTING_CATEGORIES = ("lamps", "clocks", "garden")
STATES = tuple(PublicationState)


def listed_product(n: int, *, generation: int = 0) -> Product:
    """Product ``n`` of a catalogue spread over every filter's values; another
    ``generation`` moves it to other values (an import replacing it)."""
    k = n + generation
    return Product(
        id=f"p-{n:03d}",
        name=f"Product {n}",
        category_ids=tuple(c for i, c in enumerate(LISTING_CATEGORIES) if (k >> i) & 1),
        state=STATES[k % 3],
        type_id=LISTING_TYPES[(k // 3) % 3],
        tags=tuple(tag for i, tag in enumerate(LISTING_TAGS) if (k * 7 >> i) & 1),
        variants=[Variant(sku=f"P-{n:03d}-{v}") for v in range(1 + k % 2)],
    )


def pages(storage: Storage, where: ProductFilter, limit: int) -> list[list[Product]]:
    found: list[list[Product]] = []
    after: str | None = None
    while True:
        with storage.unit_of_work() as uow:
            page = uow.catalog.list_products(where, after=after, limit=limit)
        if not page:
            return found
        found.append(page)
        after = page[-1].id


@pytest.fixture
def listing(storage: Storage) -> list[Product]:
    categories(storage, *LISTING_CATEGORIES)
    products = [listed_product(n) for n in (11, 3, 7, 0, 5, 1, 8, 2, 13, 4, 9, 6, 10, 12)]
    write(storage, lambda uow: [uow.catalog.add_product(p) for p in products])
    return sorted(products, key=lambda product: product.id)


@pytest.mark.parametrize(
    "where",
    [
        ProductFilter(),
        ProductFilter(category_id="lamps"),
        ProductFilter(state=PublicationState.ACTIVE),
        ProductFilter(type_id="clock"),
        ProductFilter(tag="SALE"),
        ProductFilter(tag="nothing"),
        ProductFilter(category_id="clocks", state=PublicationState.DRAFT, tag="summer"),
        ProductFilter(category_id="garden", type_id="lamp"),
    ],
    ids=repr,
)
def test_a_listing_pages_by_id_through_what_its_filter_matches(
    storage: Storage, listing: list[Product], where: ProductFilter
) -> None:
    expected = [product.id for product in listing if where.matches(product)]

    for limit in (1, 3, 50):
        found = pages(storage, where, limit)
        assert [p.id for page in found for p in page] == expected
        assert all(len(page) == limit for page in found[:-1])

    first = read(storage, lambda uow: uow.catalog.list_products(where, limit=2))
    assert [p.id for p in first] == expected[:2]


def test_a_listing_gives_products_whole(storage: Storage, listing: list[Product]) -> None:
    where = ProductFilter(category_id="lamps")
    found = read(storage, lambda uow: uow.catalog.list_products(where, after="p-002"))
    expected = [p for p in listing if where.matches(p) and p.id > "p-002"]
    assert [product_state(p) for p in found] == [product_state(p) for p in expected]
    assert read(storage, lambda uow: uow.catalog.list_products(where, limit=0)) == []


PROPERTY_POOL = 24


@settings(
    deadline=None,
    max_examples=12,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    batch=st.lists(
        st.tuples(st.integers(0, PROPERTY_POOL - 1), st.integers(0, 5)),
        min_size=1,
        max_size=8,
    ),
)
def test_paging_through_any_filter_gives_the_whole_filtered_catalogue(
    storage: Storage, data: st.DataObject, batch: list[tuple[int, int]]
) -> None:
    # Each example imports more products (some replacing earlier ones) into the same
    # storage; what is stored is every product imported so far, the last version.
    if not read(storage, lambda uow: uow.catalog.categories()):
        categories(storage, *LISTING_CATEGORIES)
    imported = [listed_product(n, generation=g) for n, g in batch]
    write(storage, lambda uow: uow.catalog.put_products(imported))
    stored: list[Product] = read(
        storage,
        lambda uow: uow.catalog.products([f"p-{n:03d}" for n in range(PROPERTY_POOL)]),
    )
    where = data.draw(
        st.builds(
            ProductFilter,
            category_id=st.none() | st.sampled_from(LISTING_CATEGORIES),
            state=st.none() | st.sampled_from(STATES),
            type_id=st.none() | st.sampled_from(LISTING_TYPES[1:]),
            tag=st.none() | st.sampled_from([*LISTING_TAGS, "Summer", "other"]),
        ),
        label="where",
    )
    limit = data.draw(st.integers(1, 6), label="limit")

    found = [p for page in pages(storage, where, limit) for p in page]

    expected = [product for product in stored if where.matches(product)]
    assert [product_state(p) for p in found] == [product_state(p) for p in expected]


# --- importing products --------------------------------------------------------------


def test_an_import_adds_and_replaces_whole_and_twice_leaves_the_same_state(
    storage: Storage,
) -> None:
    categories(storage, "lamps", "clocks")
    write(
        storage,
        lambda uow: [
            uow.catalog.add_product(a_lamp("lava-lamp", skus=("LAVA-RED", "LAVA-BLUE"))),
            uow.catalog.add_product(a_lamp("disco-lamp", skus=("DISCO-LAMP",))),
        ],
    )
    replacement = attrs.evolve(
        everything_product(),
        id="lava-lamp",
        category_ids=("clocks",),
        variants=[
            Variant(sku="LAVA-BLUE", options={"wood": "oak", "size": "S"}),
            Variant(sku="LAVA-GREEN", options={"wood": "oak", "size": "M"}),
        ],
        media=(),
    )
    imported = [
        replacement,
        a_lamp("floor-lamp", skus=("FLOOR-LAMP",)),
        attrs.evolve(everything_product(), category_ids=("clocks",)),
    ]
    ids = ["disco-lamp", "floor-lamp", "lava-lamp", "retro-clock"]

    write(storage, lambda uow: uow.catalog.put_products(imported))
    once = [product_state(p) for p in read(storage, lambda uow: uow.catalog.products(ids))]
    write(storage, lambda uow: uow.catalog.put_products(imported))
    twice = [product_state(p) for p in read(storage, lambda uow: uow.catalog.products(ids))]

    assert once == twice
    assert once[0] == product_state(a_lamp("disco-lamp", skus=("DISCO-LAMP",)))
    assert once[2] == product_state(replacement)
    assert [v["product_id"] for v in once[2]["variants"]] == ["lava-lamp", "lava-lamp"]
    skus = read(storage, lambda uow: uow.catalog.products_for_skus(["LAVA-RED"]))
    assert skus == []


def test_an_import_giving_a_product_twice_keeps_the_last(storage: Storage) -> None:
    categories(storage, "lamps")
    first, last = a_lamp(skus=("LAVA-RED",)), a_lamp(skus=("LAVA-BLUE",))
    write(storage, lambda uow: uow.catalog.put_products([first, last]))
    loaded = read(storage, lambda uow: uow.catalog.product("lava-lamp"))
    assert [v.sku for v in loaded.variants] == ["LAVA-BLUE"]


@pytest.mark.parametrize(
    ("imported", "refusal"),
    [
        # A SKU another stored product has, even one the import takes off it.
        (
            [a_lamp("disco-lamp", skus=("DISCO-LAMP",)), a_lamp("new-lamp", skus=("LAVA-LAMP",))],
            DuplicateSku,
        ),
        ([a_lamp("lava-lamp", skus=("LAVA-2",)), a_lamp("new", skus=("LAVA-LAMP",))], DuplicateSku),
        # A SKU two products of the import have.
        ([a_lamp("one", skus=("SAME",)), a_lamp("two", skus=("SAME",))], DuplicateSku),
        (
            [
                a_lamp("one", skus=("ONE",)),
                attrs.evolve(a_lamp("two", skus=("TWO",)), category_ids=("x",)),
            ],
            NotFound,
        ),
    ],
    ids=["stored-sku", "sku-moved", "sku-twice", "unknown-category"],
)
def test_a_refused_import_stages_nothing(
    stamped: Storage, imported: list[Product], refusal: type[Exception]
) -> None:
    storage = stamped
    categories(storage, "lamps")
    write(storage, lambda uow: uow.catalog.add_product(a_lamp()))
    before = stamp(storage)

    with storage.unit_of_work() as uow:
        with pytest.raises(refusal):
            uow.catalog.put_products(imported)
        uow.commit()

    assert stamp(storage) == before
    stored = read(storage, lambda uow: uow.catalog.list_products(ProductFilter()))
    assert [product_state(p) for p in stored] == [product_state(a_lamp())]


def test_an_import_of_many_products_is_written_in_chunks(storage: Storage) -> None:
    # Past one chunk of writes, with stored and new products in the same chunk.
    categories(storage, "lamps")

    def lamp(n: int, second: str) -> Product:
        return a_lamp(f"lamp-{n:04d}", skus=(f"LAMP-{n:04d}-A", f"LAMP-{n:04d}-{second}"))

    write(storage, lambda uow: uow.catalog.put_products([lamp(n, "B") for n in range(500)]))
    many = [lamp(n, "C") for n in range(1200)]
    write(storage, lambda uow: uow.catalog.put_products(many))

    where = ProductFilter(category_id="lamps")
    found = read(storage, lambda uow: uow.catalog.list_products(where, after="lamp-0998", limit=3))
    assert [p.id for p in found] == ["lamp-0999", "lamp-1000", "lamp-1001"]
    stored = read(storage, lambda uow: uow.catalog.products([p.id for p in many]))
    assert [product_state(p) for p in stored] == [product_state(p) for p in many]
    assert read(storage, lambda uow: uow.catalog.products_for_skus(["LAMP-0001-B"])) == []


# --- prices in bulk ------------------------------------------------------------------


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def entries(**prices: str) -> dict[str, PriceEntry]:
    price_list = PriceList("scratch", "EUR")
    for sku, amount in prices.items():
        price_list.set_price(sku.replace("_", "-"), eur(amount))
    return price_list.entries()


def test_prices_are_put_and_removed_without_touching_the_rest_of_the_list(
    storage: Storage,
) -> None:
    price_list = PriceList("eu", "EUR", channel="web")
    price_list.set_price("RETRO-CLOCK", eur("49.99"))
    price_list.set_price(
        "LAVA-LAMP",
        eur("30.00"),
        tiers=[VolumeTier(min_quantity=3, unit_price=eur("27.50"))],
        sale=SalePrice(unit_price=eur("19.99"), starts_at=NOW, ends_at=NOW + timedelta(days=3)),
    )
    price_list.set_price("BEAN-BAG", eur("15.00"))
    write(storage, lambda uow: uow.catalog.add_price_list(price_list))
    lamp = price_list.entries()["LAVA-LAMP"]

    put = {**entries(RETRO_CLOCK="45.00", DISCO_BALL="12.00"), "LAVA-LAMP-XL": lamp}
    write(storage, lambda uow: uow.catalog.put_prices("eu", put))
    write(storage, lambda uow: uow.catalog.remove_prices("eu", ["BEAN-BAG", "NEVER-PRICED"]))

    loaded: PriceList = read(storage, lambda uow: uow.catalog.price_list("eu"))
    assert loaded.entries() == {
        "RETRO-CLOCK": put["RETRO-CLOCK"],
        "DISCO-BALL": put["DISCO-BALL"],
        "LAVA-LAMP": lamp,
        "LAVA-LAMP-XL": lamp,
    }
    assert (loaded.currency, loaded.channel) == ("EUR", "web")
    assert read(storage, lambda uow: uow.catalog.price_list_currencies()) == [("eu", "EUR")]


def test_prices_for_an_unknown_list_are_refused_and_removing_from_one_does_nothing(
    storage: Storage,
) -> None:
    with storage.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.catalog.put_prices("nowhere", entries(RETRO_CLOCK="1.00"))
        uow.catalog.remove_prices("nowhere", ["RETRO-CLOCK"])
        uow.commit()
    with storage.unit_of_work() as uow, pytest.raises(NotFound):
        uow.catalog.price_list("nowhere")


def test_many_prices_are_put_and_removed_in_chunks(storage: Storage) -> None:
    write(storage, lambda uow: uow.catalog.add_price_list(PriceList("eu", "EUR")))
    prices = {f"SKU-{n:05d}": PriceEntry(100 + n, (), None) for n in range(2500)}
    write(storage, lambda uow: uow.catalog.put_prices("eu", prices))
    write(storage, lambda uow: uow.catalog.remove_prices("eu", list(prices)[::2]))

    loaded: PriceList = read(storage, lambda uow: uow.catalog.price_list("eu"))
    assert loaded.entries() == {sku: e for n, (sku, e) in enumerate(prices.items()) if n % 2}
