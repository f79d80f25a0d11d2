"""Being found, through a store on memory, a SQLite file and PostgreSQL alike: the new
catalogue fields kept by storage and carried by import and export, the shopping feed
read field by field, sitemaps and structured data, each refusing what it must."""

from __future__ import annotations

import contextlib
import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from commercekit import Category, Money, Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.catalog import Condition, Media, PublicationState
from commercekit.domain.errors import (
    AccessDenied,
    ConfigurationError,
    InvalidInput,
    NotFound,
)
from commercekit.domain.inventory import StockPolicy, StockRule
from commercekit.domain.marketing.feed import GOOGLE_NAMESPACE
from commercekit.domain.marketing.offers import Availability
from commercekit.domain.marketing.seo import json_ld_script
from commercekit.domain.pricing import PriceEntry, SalePrice
from commercekit.domain.shipping import DeliveryMethod, Flat, ShippingZone
from commercekit.store import Store
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_postgres_schema
from tests.services.conftest import START

G: Final = f"{{{GOOGLE_NAMESPACE}}}"
SITEMAP: Final = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SALE_ENDS: Final = START + timedelta(days=5)
CONFIG: Final[dict[str, Any]] = {
    "entry_point_plugins": False,
    "store_name": "Retro & Co",
    "channels": [
        {"id": "web", "currencies": ["EUR", "JPY"], "locale": "en"},
        {"id": "jp", "currencies": ["JPY"], "locale": "ja"},
    ],
    "storefront": {
        "base_url": "https://shop.example",
        "channel_urls": {"jp": "https://shop.example/jp"},
        "feed": {
            "brand": "Retro",
            "shipping": [{"country": "JP", "service": "Yamato", "prices": {"JPY": "800"}}],
        },
    },
}


def backends() -> list[str]:
    found = ["memory", "sqlite"]
    if os.environ.get(POSTGRES_URL_VARIABLE) or os.environ.get("CI") == "true":
        found.append("postgresql")
    return found


@contextlib.contextmanager
def opened(kind: str, folder: Path, config: dict[str, Any] = CONFIG) -> Iterator[Store]:
    if kind == "postgresql":
        with (
            fresh_postgres_schema() as url,
            Store.open(url, config=config, clock=FixedClock(START)) as store,
        ):
            yield store
        return
    url = "memory://" if kind == "memory" else f"sqlite:///{folder / 'shop.db'}"
    with Store.open(url, config=config, clock=FixedClock(START)) as store:
        yield store


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def shop(backend: str, tmp_path: Path) -> Iterator[Store]:
    with opened(backend, tmp_path) as store:
        stocked(store)
        yield store


def stocked(shop: Store) -> None:
    """A lamp of two colours (one on sale, out of stock, without a GTIN), a mug with a
    GTIN in stock, a draft, a kettle without a price and a poster without an image."""
    catalog = shop.catalog
    catalog.add_category(Category(id="home", name="Home", seo_title="Home things"))
    catalog.add_category(Category(id="lighting", name="Lighting", parent_id="home"))
    catalog.add_price_list("eu", "EUR")
    catalog.add_price_list("yen", "JPY")
    catalog.add_price_list("yen-jp", "JPY", channel="jp")
    shop.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    catalog.add_product(
        Product(
            id="lamp",
            name="Desk lamp",
            description="Bright, with a linen shade.",
            brand="Lumen",
            category_ids=["lighting"],
            option_axes=("colour",),
            media=(Media(url="/img/lamp.jpg"),),
            variants=[
                Variant(sku="LAMP-RED", options={"colour": "red"}, mpn="L-1", weight_grams=900),
                Variant(sku="LAMP-BLUE", options={"colour": "blue"}),
            ],
        )
    )
    catalog.add_product(
        Product(
            id="mug",
            name="Retro mug",
            description="Holds tea.",
            media=(Media(url="https://cdn.example/mug.jpg"),),
            variants=[Variant(sku="MUG", gtin="4006381333931")],
        )
    )
    for product_id, name, media in (
        ("draft", "Draft lamp", (Media(url="/img/d.jpg"),)),
        ("kettle", "Kettle", (Media(url="/img/k.jpg"),)),
        ("poster", "Poster", ()),
    ):
        catalog.add_product(
            Product(
                id=product_id,
                name=name,
                description=f"A {name.lower()}.",
                media=media,
                variants=[Variant(sku=product_id.upper())],
            )
        )
    for product_id in ("lamp", "mug", "kettle", "poster"):
        catalog.publish(product_id)
    sale = SalePrice(unit_price=Money("39.90", "EUR"), ends_at=SALE_ENDS)
    catalog.set_price("eu", "LAMP-RED", Money("49.90", "EUR"), sale=sale)
    catalog.set_price("eu", "LAMP-BLUE", Money("49.90", "EUR"))
    for sku in ("MUG", "DRAFT", "POSTER"):
        catalog.set_price("eu", sku, Money("12.00", "EUR"))
    catalog.set_price("yen", "MUG", Money("1500", "JPY"))
    catalog.set_price("yen-jp", "MUG", Money("1200", "JPY"))
    shop.inventory.receive("MUG", "berlin", 5)
    shop.inventory.receive("LAMP-BLUE", "berlin", 2)
    catalog.add_shipping_zone(ShippingZone(id="de", countries=["DE"]))
    catalog.add_delivery_method(
        DeliveryMethod(id="parcel", name="Parcel", rules={"EUR": Flat(490)}, zone_ids={"de"})
    )


def parsed(document: bytes) -> dict[str, ET.Element]:
    """The feed's items, by id."""
    root = ET.fromstring(document)
    assert root.tag == "rss"
    return {item.findtext(f"{G}id", ""): item for item in root.iterfind("channel/item")}


def text(item: ET.Element, name: str) -> list[str]:
    return [each.text or "" for each in item.iterfind(f"{G}{name}")]


# --- storage ------------------------------------------------------------------------------------


def test_the_new_fields_are_kept_by_storage(shop: Store) -> None:
    shop.catalog.add_category(
        Category(
            id="sale",
            name="Sale",
            seo_title="Everything on sale",
            seo_description="Cheaper this week.",
            canonical_url="https://shop.example/sale",
        )
    )
    shop.catalog.add_product(
        Product(
            id="radio",
            name="Radio",
            brand="Braun",
            condition="refurbished",
            canonical_url="https://shop.example/radio",
            variants=[Variant(sku="RADIO", gtin="96385074", mpn="T-1000")],
        )
    )
    shop.catalog.update_product("radio", {"brand": "Dieter", "condition": "used"})

    radio = shop.catalog.product("radio")
    assert (radio.brand, radio.condition, radio.canonical_url) == (
        "Dieter",
        Condition.USED,
        "https://shop.example/radio",
    )
    assert (radio.variants[0].gtin, radio.variants[0].mpn) == ("96385074", "T-1000")
    with shop.storage.unit_of_work() as uow:
        sale = next(c for c in uow.catalog.categories() if c.id == "sale")
    assert (sale.seo_title, sale.seo_description, sale.canonical_url) == (
        "Everything on sale",
        "Cheaper this week.",
        "https://shop.example/sale",
    )
    with pytest.raises(InvalidInput) as refused:
        shop.catalog.update_product("radio", {"condition": "mint"})
    assert refused.value.field == "condition"


def test_import_and_export_carry_brand_identifiers_and_condition(shop: Store) -> None:
    rows = (
        "product_id,name,brand,condition,canonical_url,sku,gtin,mpn,price:eu\n"
        "clock,Clock,Junghans,used,https://shop.example/clock,CLOCK,4006381333931,J-1,80.00\n"
        "bad,Bad,,,,BAD,4006381333932,,1.00\n"
    )
    report = shop.transfer.import_text(rows)
    assert [(error.field, error.line) for error in report.errors] == [("gtin", 3)]
    clock = shop.catalog.product("clock")
    assert (clock.brand, clock.condition, clock.variants[0].gtin) == (
        "Junghans",
        Condition.USED,
        "4006381333931",
    )
    out = io.StringIO()
    shop.transfer.export_file(out, "csv")
    exported = out.getvalue()
    header = exported.splitlines()[0].split(",")
    assert {"brand", "condition", "canonical_url", "gtin", "mpn"} <= set(header)
    assert "Junghans" in exported
    assert "J-1" in exported


# --- the shopping feed --------------------------------------------------------------------------


def test_the_feed_holds_each_variant_field_by_field(shop: Store) -> None:
    feed = shop.feeds.shopping_feed("EUR", channel="web")
    items = parsed(b"".join(feed))

    assert sorted(items) == ["LAMP-BLUE", "LAMP-RED", "MUG"]
    red = items["LAMP-RED"]
    assert {child.tag.removeprefix(G) for child in red} == {
        "id",
        "item_group_id",
        "title",
        "description",
        "link",
        "image_link",
        "availability",
        "price",
        "sale_price",
        "sale_price_effective_date",
        "brand",
        "mpn",
        "condition",
        "product_type",
        "color",
        "shipping_weight",
        "shipping",
    }
    assert text(red, "item_group_id") == ["lamp"]
    assert text(red, "title") == ["Desk lamp (red)"]
    assert text(red, "description") == ["Bright, with a linen shade."]
    assert text(red, "link") == ["https://shop.example/products/desk-lamp?sku=LAMP-RED"]
    assert text(red, "image_link") == ["https://shop.example/img/lamp.jpg"]
    assert text(red, "availability") == ["out_of_stock"]
    assert text(red, "price") == ["49.90 EUR"]
    assert text(red, "sale_price") == ["39.90 EUR"]
    assert text(red, "sale_price_effective_date") == ["2026-11-27T09:00+0000/2026-12-02T09:00+0000"]
    assert text(red, "brand") == ["Lumen"]
    assert text(red, "mpn") == ["L-1"]
    assert text(red, "condition") == ["new"]
    assert text(red, "product_type") == ["Home > Lighting"]
    assert text(red, "shipping_weight") == ["900 g"]
    (shipping,) = red.iterfind(f"{G}shipping")
    assert [(c.tag.removeprefix(G), c.text) for c in shipping] == [
        ("country", "DE"),
        ("service", "Parcel"),
        ("price", "4.90 EUR"),
    ]
    blue = items["LAMP-BLUE"]
    assert text(blue, "availability") == ["in_stock"]
    assert text(blue, "identifier_exists") == ["no"]
    assert text(blue, "sale_price") == []
    mug = items["MUG"]
    assert text(mug, "gtin") == ["4006381333931"]
    assert text(mug, "brand") == ["Retro"]  # the store's brand for a product without one
    assert text(mug, "item_group_id") == []
    assert text(mug, "link") == ["https://shop.example/products/retro-mug"]

    report = feed.report
    assert (report.products, report.items, report.currency, report.channel) == (
        5,
        3,
        "EUR",
        "web",
    )
    assert sorted((e.product_id, e.sku, e.reason.value) for e in report.left_out) == [
        ("draft", None, "unpublished"),
        ("kettle", "KETTLE", "no_price"),
        ("poster", "POSTER", "no_image"),
    ]


def test_a_channels_own_prices_locale_url_and_shipping_are_used(shop: Store) -> None:
    jp = parsed(b"".join(shop.feeds.shopping_feed("JPY", channel="jp")))
    assert sorted(jp) == ["MUG"]
    assert text(jp["MUG"], "price") == ["1200 JPY"]
    assert text(jp["MUG"], "link") == ["https://shop.example/jp/products/retro-mug"]
    (shipping,) = jp["MUG"].iterfind(f"{G}shipping")
    assert [c.text for c in shipping] == ["JP", "Yamato", "800 JPY"]
    web = parsed(b"".join(shop.feeds.shopping_feed("JPY", channel="web")))
    assert text(web["MUG"], "price") == ["1500 JPY"]
    assert text(web["MUG"], "link") == ["https://shop.example/products/retro-mug"]


def test_backorder_and_preorder_are_told(shop: Store) -> None:
    shop.inventory.set_rule(StockRule(sku="LAMP-RED", policy=StockPolicy.BACKORDER))
    shop.inventory.set_rule(
        StockRule(sku="MUG", policy=StockPolicy.PREORDER, preorder_until=START + timedelta(days=9))
    )
    shop.inventory.adjust("MUG", "berlin", -5, reason="broken")
    items = parsed(b"".join(shop.feeds.shopping_feed("EUR")))
    assert text(items["LAMP-RED"], "availability") == ["backorder"]
    assert text(items["MUG"], "availability") == ["preorder"]


def test_a_bundle_is_as_available_as_its_parts(shop: Store) -> None:
    for sku, parts in (("DUO", {"MUG": 2, "LAMP-BLUE": 1}), ("TRIO", {"LAMP-BLUE": 3})):
        shop.catalog.add_product(
            Product(
                id=sku.lower(),
                name=f"{sku.title()} set",
                description="A set.",
                media=(Media(url=f"/img/{sku}.jpg"),),
                variants=[Variant(sku=sku, components=parts)],
            )
        )
        shop.catalog.publish(sku.lower())
        shop.catalog.set_price("eu", sku, Money("60.00", "EUR"))
    items = parsed(b"".join(shop.feeds.shopping_feed("EUR")))
    assert text(items["DUO"], "availability") == ["in_stock"]
    assert text(items["TRIO"], "availability") == ["out_of_stock"]


def test_the_feed_is_written_a_page_at_a_time(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql":
        pytest.skip("the same reads as SQLite; once is enough for a thousand products")
    with opened(backend, tmp_path) as store:
        store.catalog.add_price_list("eu", "EUR")
        with store.storage.unit_of_work() as uow:
            uow.catalog.put_products(
                [
                    Product(
                        id=f"p{n:05d}",
                        name=f"Lamp {n}",
                        description="A lamp.",
                        media=(Media(url=f"/img/{n}.jpg"),),
                        state=PublicationState.ACTIVE,
                        variants=[Variant(sku=f"L{n:05d}")],
                    )
                    for n in range(1200)
                ]
            )
            uow.catalog.put_prices(
                "eu", {f"L{n:05d}": PriceEntry(990, (), None) for n in range(1200)}
            )
            uow.commit()

        feed = store.feeds.shopping_feed("EUR")
        chunks = iter(feed)
        first = next(chunks)
        read_so_far = feed.report.products
        rest = b"".join(chunks)

        assert 0 < read_so_far < 1200
        assert feed.report.products == 1200
        assert len(parsed(first + rest)) == 1200


def test_write_shopping_feed_writes_to_a_binary_file(shop: Store, tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    with path.open("wb") as handle:
        report = shop.feeds.write_shopping_feed(handle, "EUR")
    assert report.items == 3
    assert sorted(parsed(path.read_bytes())) == ["LAMP-BLUE", "LAMP-RED", "MUG"]
    with pytest.raises(InvalidInput) as refused:
        shop.feeds.write_shopping_feed(io.StringIO(), "EUR")  # type: ignore[arg-type]
    assert refused.value.field == "handle"


def test_a_feed_refuses_a_currency_or_channel_it_cannot_serve(shop: Store) -> None:
    with pytest.raises(InvalidInput) as refused:
        shop.feeds.shopping_feed("EUR", channel="jp")
    assert refused.value.field == "currency"
    with pytest.raises(NotFound) as missing:
        shop.feeds.shopping_feed("EUR", channel="moon")
    assert missing.value.field == "channel"
    with pytest.raises(InvalidInput) as unknown:
        shop.feeds.shopping_feed("XYZ")
    assert unknown.value.field == "currency"


def test_without_a_storefront_the_services_say_what_to_configure(tmp_path: Path) -> None:
    with Store.open("memory://", config={"entry_point_plugins": False}) as store:
        store.catalog.add_product(Product(id="mug", name="Mug", variants=[Variant(sku="MUG")]))
        for call in (
            lambda: store.feeds.shopping_feed("EUR"),
            lambda: store.seo.product_url("mug"),
            lambda: store.seo.write_sitemaps(lambda name: contextlib.nullcontext(io.BytesIO())),
        ):
            with pytest.raises(ConfigurationError) as refused:
                call()
            assert refused.value.field == "storefront"


BASE: Final = {"base_url": "https://shop.example"}
FLAT: Final = {"country": "DE", "service": "Parcel", "prices": {"EUR": "4.999"}}


@pytest.mark.parametrize(
    ("storefront", "field"),
    [
        ({"base_url": "javascript:alert(1)"}, "storefront.base_url"),
        ({**BASE, "product_path": "/p/{name}"}, "storefront.product_path"),
        ({**BASE, "channel_urls": {"moon": "https://moon.example"}}, "storefront.channel_urls"),
        ({**BASE, "channel_urls": {"web": "ftp://web.example"}}, "storefront.channel_urls"),
        ({**BASE, "feed": {"shipping": [FLAT]}}, "storefront.feed.shipping.0"),
        ({**BASE, "feed": {"brand": "B" * 71}}, "storefront.feed.brand"),
    ],
)
def test_a_bad_storefront_configuration_is_refused_naming_the_field(
    storefront: dict[str, Any], field: str
) -> None:
    config = {
        "entry_point_plugins": False,
        "channels": [{"id": "web", "currencies": ["EUR"]}],
        "storefront": storefront,
    }
    with pytest.raises(InvalidInput) as refused:
        Store.open("memory://", config=config)
    assert (refused.value.field or "").startswith(field), refused.value


# --- sitemaps and structured data ---------------------------------------------------------------


def test_sitemaps_list_every_category_and_each_product_on_sale(shop: Store) -> None:
    files: dict[str, bytes] = {}

    @contextlib.contextmanager
    def opener(name: str) -> Iterator[io.BytesIO]:
        buffer = io.BytesIO()
        yield buffer
        files[name] = buffer.getvalue()

    written = shop.seo.write_sitemaps(opener, channel="jp")

    assert (written.index, written.urls) == ("sitemap.xml", 6)
    index = ET.fromstring(files["sitemap.xml"])
    assert [each.findtext(f"{SITEMAP}loc") for each in index] == [
        "https://shop.example/jp/sitemap-1.xml"
    ]
    urls = [url.findtext(f"{SITEMAP}loc") for url in ET.fromstring(files["sitemap-1.xml"])]
    assert urls == [
        "https://shop.example/jp/categories/home",
        "https://shop.example/jp/categories/lighting",
        "https://shop.example/jp/products/kettle",
        "https://shop.example/jp/products/desk-lamp",
        "https://shop.example/jp/products/retro-mug",
        "https://shop.example/jp/products/poster",
    ]
    with pytest.raises(InvalidInput) as refused:
        shop.seo.write_sitemaps("sitemaps/")  # type: ignore[arg-type]
    assert refused.value.field == "open_file"


def test_urls_and_structured_data_of_a_product_with_variants(shop: Store) -> None:
    assert shop.seo.product_url("lamp") == "https://shop.example/products/desk-lamp"
    assert shop.seo.category_url("lighting", channel="jp") == (
        "https://shop.example/jp/categories/lighting"
    )
    with pytest.raises(NotFound) as missing:
        shop.seo.category_url("garden")
    assert missing.value.field == "category_id"

    data = shop.seo.product_json_ld("lamp", "EUR")

    assert data["@type"] == "Product"
    assert data["brand"] == {"@type": "Brand", "name": "Lumen"}
    offers = data["offers"]
    assert (offers["@type"], offers["lowPrice"], offers["highPrice"]) == (
        "AggregateOffer",
        "39.90",
        "49.90",
    )
    red, blue = offers["offers"]
    assert (red["sku"], red["price"], red["priceCurrency"]) == ("LAMP-RED", "39.90", "EUR")
    assert red["availability"] == "https://schema.org/OutOfStock"
    assert red["priceValidUntil"] == "2026-12-02"
    assert blue["availability"] == "https://schema.org/InStock"
    assert "</script>" not in json_ld_script(data)[:-9]
    mug = shop.seo.product_json_ld("mug", "JPY", channel="jp")
    assert (mug["offers"]["price"], mug["gtin"]) == ("1200", "4006381333931")


def test_a_product_pages_offers_need_no_storefront_and_hide_drafts(
    backend: str, tmp_path: Path
) -> None:
    plain = {key: value for key, value in CONFIG.items() if key != "storefront"}
    with opened(backend, tmp_path, plain) as shop:
        stocked(shop)
        shopper = shop.as_shopper()

        red, blue = shopper.seo.offers("lamp", "EUR")

        assert (red.sku, red.regular_units, red.sale_units) == ("LAMP-RED", 4990, 3990)
        assert red.availability is Availability.OUT_OF_STOCK
        # What a page shows now by the store's clock, and once the sale has ended.
        assert shop.now() == START
        assert (red.price_units(shop.now()), red.price_units(SALE_ENDS)) == (3990, 4990)
        assert (blue.sku, blue.regular_units, blue.sale_units) == ("LAMP-BLUE", 4990, None)
        # The channel's own list first; a variant without a price is left out.
        assert [o.regular_units for o in shopper.seo.offers("mug", "JPY", channel="jp")] == [1200]
        assert shopper.seo.offers("kettle", "JPY") == []
        with pytest.raises(ConfigurationError):
            shopper.seo.product_json_ld("mug", "EUR")
        for read in (shopper.seo.offers, shopper.seo.product_json_ld):
            with pytest.raises(AccessDenied):
                read("draft", "EUR")
        staff = shop.as_staff("grace", ["catalogue"])
        assert [o.sku for o in staff.seo.offers("draft", "EUR")] == ["DRAFT"]
        with pytest.raises(InvalidInput) as refused:
            shopper.seo.offers("mug", "USD")
        assert refused.value.field == "currency"

        # A listing page's batch: the same offers, in one read for all its cards.
        listed = shopper.seo.listing_offers(["mug", "lamp", "nothing", "kettle"], "EUR")
        assert listed == {
            "mug": shopper.seo.offers("mug", "EUR"),
            "lamp": [red, blue],
            "kettle": [],
        }
        products = shopper.catalog.products(["poster", "nothing", "lamp"])
        assert [p.id for p in products] == ["poster", "lamp"]
        assert shopper.catalog.products([]) == []
        for read in (shopper.catalog.products, lambda ids: shopper.seo.listing_offers(ids, "EUR")):
            with pytest.raises(AccessDenied):
                read(["mug", "draft"])
            for hostile in (["mug", "mug"], [f"p{n}" for n in range(101)], ["\x00"], [7], None):
                with pytest.raises(InvalidInput) as refused:
                    read(hostile)
                assert refused.value.field == "product_ids"
        assert [p.id for p in staff.catalog.products(["draft"])] == ["draft"]


def test_only_staff_with_the_catalogue_may_read_the_whole_feed(shop: Store) -> None:
    shopper = shop.as_shopper()
    assert shopper.seo.product_json_ld("mug", "EUR")["sku"] == "MUG"
    with pytest.raises(AccessDenied):
        shopper.feeds.shopping_feed("EUR")
    with pytest.raises(AccessDenied):
        shopper.seo.write_sitemaps(lambda name: contextlib.nullcontext(io.BytesIO()))
    staff = shop.as_staff("grace", ["catalogue"])
    assert staff.feeds.write_shopping_feed(io.BytesIO(), "EUR").items == 3


def test_control_characters_in_the_catalogue_never_break_the_feed_or_the_sitemap(
    tmp_path: Path,
) -> None:
    """A brand, a category, an MPN or a canonical URL holding characters XML cannot
    hold: the feed and the sitemap still parse, without them."""
    with Store.open(
        f"sqlite:///{tmp_path / 'shop.db'}",
        config={
            "store_name": "S",
            "channels": [{"id": "web", "currencies": ["EUR"]}],
            "storefront": {"base_url": "https://shop.example"},
        },
        clock=FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC)),
    ) as store:
        store.catalog.add_category(Category(id="home", name="Home\x0bGarden"))
        store.catalog.add_product(
            Product(
                id="lamp",
                name="Desk lamp",
                description="d",
                brand="Acme\x01",
                category_ids=["home"],
                canonical_url="https://shop.example/lamp\x02",
                media=(Media(url="/img/lamp.jpg", alt="a"),),
                variants=[Variant(sku="LAMP", mpn="M\x02")],
            )
        )
        store.catalog.publish("lamp")
        store.catalog.add_price_list("eu", "EUR")
        store.catalog.set_price("eu", "LAMP", Money("49.90", "EUR"))

        feed = ET.fromstring(b"".join(store.feeds.shopping_feed("EUR", channel="web")))
        written: dict[str, bytes] = {}

        @contextlib.contextmanager
        def open_file(name: str) -> Iterator[io.BytesIO]:
            handle = io.BytesIO()
            yield handle
            written[name] = handle.getvalue()

        store.seo.write_sitemaps(open_file)

    g = "{http://base.google.com/ns/1.0}"
    item = feed.find("channel/item")
    assert item is not None
    assert item.findtext(f"{g}brand") == "Acme"
    assert item.findtext(f"{g}mpn") == "M"
    assert ET.fromstring(written["sitemap-1.xml"]) is not None
