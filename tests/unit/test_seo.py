"""Being found, in the domain: GTINs checked by their check digit, where pages live,
sitemaps split as the protocol asks and listed in an index, and a product's
structured data (schema.org JSON-LD) with its offers, safe inside a script element."""

from __future__ import annotations

import contextlib
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.catalog import (
    Category,
    Condition,
    Media,
    Product,
    PublicationState,
    Variant,
)
from commercekit.domain.catalog.translations import ProductText
from commercekit.domain.errors import InvalidInput
from commercekit.domain.inventory import StockPolicy, StockRule
from commercekit.domain.marketing.offers import (
    Availability,
    Offer,
    amount_text,
    availability,
    bundle_availability,
)
from commercekit.domain.marketing.seo import (
    MAX_SITEMAP_URLS,
    SitemapUrl,
    Storefront,
    json_ld_script,
    json_ld_text,
    product_json_ld,
    write_sitemaps,
    xml_text,
)

NOW: Final = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SITEMAP: Final = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SHOP: Final = Storefront(base_url="https://shop.example/")


# --- identifiers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gtin",
    ["96385074", "036000291452", "4006381333931", "9780306406157", "00012345600012"],
    ids=["gtin-8", "gtin-12", "gtin-13", "isbn-13", "gtin-14"],
)
def test_a_gtin_of_any_length_with_its_check_digit_is_taken(gtin: str) -> None:
    assert Variant(sku="RETRO-MUG", gtin=gtin).gtin == gtin


@pytest.mark.parametrize(
    "gtin",
    [
        "4006381333932",
        "96385075",
        "4006 381333931",
        "400638133393",
        "123",
        "ABCDEFGH",
        4006381333931,
    ],
)
def test_a_gtin_with_a_wrong_check_digit_or_shape_is_refused_naming_the_field(gtin: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        Variant(sku="RETRO-MUG", gtin=gtin)  # type: ignore[arg-type]
    assert refused.value.field == "gtin"


@given(st.text("0123456789", min_size=12, max_size=12))
def test_every_twelve_digits_have_exactly_one_check_digit_that_makes_a_gtin_13(body: str) -> None:
    taken = []
    for digit in "0123456789":
        try:
            Variant(sku="RETRO-MUG", gtin=body + digit)
        except InvalidInput:
            continue
        taken.append(digit)
    assert len(taken) == 1


def test_brand_condition_mpn_and_canonical_urls_are_checked() -> None:
    product = Product(id="mug", name="Mug", brand="Retro", condition="refurbished")
    assert product.condition is Condition.REFURBISHED
    for field, value in [
        ("condition", "mint"),
        ("brand", "B" * 71),
        ("canonical_url", "javascript:alert(1)"),
        ("canonical_url", "/products/mug"),
        ("canonical_url", 'https://shop.example/"onmouseover='),
    ]:
        with pytest.raises(InvalidInput) as refused:
            Product(id="mug", name="Mug", **{field: value})
        assert refused.value.field == field
    with pytest.raises(InvalidInput) as refused:
        Variant(sku="MUG", mpn="M" * 71)
    assert refused.value.field == "mpn"
    with pytest.raises(InvalidInput) as refused:
        Category(id="kitchen", name="Kitchen", canonical_url="ftp://shop.example/kitchen")
    assert refused.value.field == "canonical_url"


# --- where pages live --------------------------------------------------------------------


def test_a_product_page_is_the_base_url_and_its_path_with_the_slug_encoded() -> None:
    tea = Product(
        id="tea",
        name="Green tea",
        translations={"ru": ProductText(name="Зелёный чай")},
        variants=[Variant(sku="TEA")],
    )
    assert SHOP.product_url(tea) == "https://shop.example/products/green-tea"
    assert SHOP.product_url(tea, locale="ru") == (
        "https://shop.example/products/%D0%B7%D0%B5%D0%BB%D1%91%D0%BD%D1%8B%D0%B9-%D1%87%D0%B0%D0%B9"
    )
    by_id = Storefront(base_url="https://shop.example/de", product_path="/p/{id}/{slug}")
    assert by_id.product_url(tea) == "https://shop.example/de/p/tea/green-tea"


def test_a_canonical_url_wins_and_a_variant_is_picked_by_a_parameter() -> None:
    tee = Product(
        id="tee",
        name="Tee",
        option_axes=("size",),
        variants=[
            Variant(sku="TEE-S", options={"size": "S"}),
            Variant(sku="TEE/M", options={"size": "M"}),
        ],
    )
    assert SHOP.variant_url(tee, "TEE/M") == "https://shop.example/products/tee?sku=TEE%2FM"
    tee.canonical_url = "https://brand.example/tee?ref=shop"
    assert SHOP.product_url(tee) == "https://brand.example/tee?ref=shop"
    assert SHOP.variant_url(tee, "TEE-S") == "https://brand.example/tee?ref=shop&sku=TEE-S"
    plain = Storefront(base_url="https://shop.example", variant_parameter="")
    assert plain.variant_url(tee, "TEE-S") == "https://brand.example/tee?ref=shop"


def test_a_category_page_may_name_its_whole_path() -> None:
    home = Category(id="home", name="Home")
    kitchen = Category(id="kitchen", name="Kitchen & dining", parent_id="home")
    nested = Storefront(base_url="https://shop.example", category_path="/c/{path}")
    assert nested.category_url(kitchen, [home]) == "https://shop.example/c/home/kitchen-dining"
    assert SHOP.category_url(kitchen, [home]) == "https://shop.example/categories/kitchen-dining"
    kitchen.canonical_url = "https://shop.example/kitchen"
    assert nested.category_url(kitchen, [home]) == "https://shop.example/kitchen"


def test_media_given_as_paths_are_served_from_the_media_url() -> None:
    lamp = Product(
        id="lamp",
        name="Lamp",
        media=(
            Media(url="/img/lamp.jpg"),
            Media(url="https://cdn.example/red.jpg", variant_skus=("LAMP-RED",)),
            Media(url="manual.pdf", kind="file"),
        ),
        variants=[Variant(sku="LAMP-RED", options={"c": "r"}), Variant(sku="LAMP-BLUE")],
    )
    cdn = Storefront(base_url="https://shop.example", media_url="https://img.example/")
    assert cdn.images(lamp) == ["https://img.example/img/lamp.jpg", "https://cdn.example/red.jpg"]
    assert cdn.images(lamp, "LAMP-RED")[0] == "https://cdn.example/red.jpg"
    assert cdn.images(lamp, "LAMP-BLUE") == ["https://img.example/img/lamp.jpg"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("base_url", "javascript:alert(1)"),
        ("base_url", "https://shop.example/?a=1"),
        ("base_url", "shop.example"),
        ("base_url", 'https://shop.example/"'),
        ("product_path", "products/{slug}"),
        ("product_path", "/products/{name}"),
        ("product_path", "/products"),
        ("product_path", "/products/{slug!r}"),
        ("product_path", "/products/{slug:>9}"),
        ("product_path", "/products/{slug"),
        ("product_path", '/products/"{slug}'),
        ("category_path", "/c/{sku}"),
        ("media_url", "data:image/png"),
        ("variant_parameter", "a b"),
    ],
)
def test_a_storefront_refuses_what_would_build_a_wrong_url(field: str, value: str) -> None:
    parts = {"base_url": "https://shop.example", field: value}
    with pytest.raises(InvalidInput) as refused:
        Storefront(**parts)
    assert refused.value.field == field


# --- sitemaps ---------------------------------------------------------------------------------


class Folder:
    """Files opened by name, kept in memory; each counted as it is opened and
    closed."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.open: list[str] = []

    @contextlib.contextmanager
    def opener(self, name: str) -> Iterator[io.BytesIO]:
        assert not self.open, f"{name} opened while {self.open} is"
        self.open.append(name)
        buffer = io.BytesIO()
        try:
            yield buffer
        finally:
            self.open.remove(name)
            self.files[name] = buffer.getvalue()

    def urls(self, name: str) -> list[str]:
        root = ET.fromstring(self.files[name])
        assert root.tag == f"{SITEMAP}urlset"
        return [url.findtext(f"{SITEMAP}loc", "") for url in root]

    def index(self) -> list[str]:
        root = ET.fromstring(self.files["sitemap.xml"])
        assert root.tag == f"{SITEMAP}sitemapindex"
        return [each.findtext(f"{SITEMAP}loc", "") for each in root]


def pages(count: int) -> Iterator[str]:
    for n in range(count):
        yield f"https://shop.example/products/lamp-{n}"


def test_a_sitemap_holds_50000_urls_and_the_next_one_goes_into_a_second_file() -> None:
    folder = Folder()

    written = write_sitemaps(
        pages(MAX_SITEMAP_URLS + 1), folder.opener, location="https://shop.example/", now=NOW
    )

    assert written.index == "sitemap.xml"
    assert [(each.name, each.urls) for each in written.files] == [
        ("sitemap-1.xml", 50_000),
        ("sitemap-2.xml", 1),
    ]
    assert written.urls == 50_001
    assert folder.index() == [
        "https://shop.example/sitemap-1.xml",
        "https://shop.example/sitemap-2.xml",
    ]
    first, second = folder.urls("sitemap-1.xml"), folder.urls("sitemap-2.xml")
    assert first == list(pages(50_000))
    assert second == ["https://shop.example/products/lamp-50000"]
    lastmod = ET.fromstring(folder.files["sitemap.xml"])[0].findtext(f"{SITEMAP}lastmod")
    assert lastmod == "2026-11-27T09:00:00+00:00"
    assert all(
        len(data) == each.size
        for data, each in zip(
            (folder.files["sitemap-1.xml"], folder.files["sitemap-2.xml"]),
            written.files,
            strict=True,
        )
    )


def test_exactly_50000_urls_fit_in_one_file() -> None:
    folder = Folder()
    written = write_sitemaps(
        pages(MAX_SITEMAP_URLS), folder.opener, location="https://shop.example", now=NOW
    )
    assert [each.urls for each in written.files] == [50_000]
    assert folder.index() == ["https://shop.example/sitemap-1.xml"]


def test_a_file_is_closed_before_it_would_pass_its_size_limit() -> None:
    folder = Folder()
    limit = 1_000
    written = write_sitemaps(
        pages(100), folder.opener, location="https://shop.example", now=NOW, max_bytes=limit
    )
    assert len(written.files) > 5
    assert all(len(data) <= limit for data in folder.files.values() if data.find(b"urlset") > 0)
    listed = [url for each in written.files for url in folder.urls(each.name)]
    assert listed == list(pages(100))


def test_urls_are_escaped_too_long_ones_skipped_and_an_empty_set_still_indexed() -> None:
    folder = Folder()
    long = "https://shop.example/" + "a" * 2100
    written = write_sitemaps(
        [
            "https://shop.example/search?q=tea&page=2",
            long,
            SitemapUrl("https://shop.example/x", NOW),
        ],
        folder.opener,
        location="https://shop.example",
        now=NOW,
        name="products",
    )
    assert written.skipped == 1
    assert b"q=tea&amp;page=2" in folder.files["products-1.xml"]
    assert folder.urls("products-1.xml") == [
        "https://shop.example/search?q=tea&page=2",
        "https://shop.example/x",
    ]
    empty = Folder()
    nothing = write_sitemaps([], empty.opener, location="https://shop.example", now=NOW)
    assert [each.urls for each in nothing.files] == [0]
    assert empty.urls("sitemap-1.xml") == []
    assert empty.index() == ["https://shop.example/sitemap-1.xml"]


def test_a_failure_midway_reaches_the_open_file() -> None:
    folder = Folder()
    seen: list[str] = []

    def urls() -> Iterator[str]:
        yield "https://shop.example/a"
        raise RuntimeError("the catalogue went away")

    @contextlib.contextmanager
    def opener(name: str) -> Iterator[io.BytesIO]:
        try:
            with folder.opener(name) as buffer:
                yield buffer
        except RuntimeError:
            seen.append(name)
            raise

    with pytest.raises(RuntimeError):
        write_sitemaps(urls(), opener, location="https://shop.example", now=NOW)
    assert seen == ["sitemap-1.xml"]
    assert "sitemap.xml" not in folder.files


# --- offers -----------------------------------------------------------------------------------


def test_availability_follows_stock_and_the_variants_rule() -> None:
    later = NOW + timedelta(days=30)
    backorder = StockRule(sku="MUG", policy=StockPolicy.BACKORDER, backorder_limit=5)
    preorder = StockRule(sku="MUG", policy=StockPolicy.PREORDER, preorder_until=later)

    def at(available: int, rule: StockRule | None = None, *, when: datetime = NOW) -> Availability:
        return availability(tracked=True, available=available, rule=rule, now=when)

    assert at(3) is Availability.IN_STOCK
    assert at(0) is Availability.OUT_OF_STOCK
    assert availability(tracked=False, available=0, rule=None, now=NOW) is Availability.IN_STOCK
    assert at(0, backorder) is Availability.BACKORDER
    assert at(-4, backorder) is Availability.BACKORDER
    assert at(-5, backorder) is Availability.OUT_OF_STOCK
    assert at(2, backorder) is Availability.IN_STOCK
    assert at(0, preorder) is Availability.PREORDER
    assert at(0, preorder, when=later) is Availability.OUT_OF_STOCK
    assert availability(tracked=True, available=3, rule=None, now=NOW, needed=4) is (
        Availability.OUT_OF_STOCK
    )
    assert bundle_availability([Availability.IN_STOCK, Availability.PREORDER]) is (
        Availability.PREORDER
    )
    assert bundle_availability([Availability.BACKORDER, Availability.OUT_OF_STOCK]) is (
        Availability.OUT_OF_STOCK
    )
    assert bundle_availability([]) is Availability.IN_STOCK


def test_amounts_are_written_with_their_currencys_decimals() -> None:
    assert amount_text(1234, "EUR") == "12.34"
    assert amount_text(100, "EUR") == "1.00"
    assert amount_text(5, "USD") == "0.05"
    assert amount_text(1200, "JPY") == "1200"
    assert amount_text(12345, "KWD") == "12.345"


def test_a_sale_lowers_the_price_only_while_it_is_on() -> None:
    ends = NOW + timedelta(days=2)
    offer = Offer(
        sku="MUG",
        currency="eur",
        regular_units=1200,
        availability=Availability.IN_STOCK,
        sale_units=950,
        sale_starts_at=NOW,
        sale_ends_at=ends,
    )
    assert offer.currency == "EUR"
    assert offer.price_units(NOW - timedelta(seconds=1)) == 1200
    assert offer.sale_ahead(NOW - timedelta(seconds=1))
    assert offer.price_units(NOW) == 950
    assert offer.price_units(ends) == 1200
    dearer = Offer(
        sku="MUG",
        currency="EUR",
        regular_units=1200,
        availability=Availability.IN_STOCK,
        sale_units=1500,
    )
    assert not dearer.has_sale()
    assert dearer.price_units(NOW) == 1200
    with pytest.raises(InvalidInput) as refused:
        Offer(
            sku="MUG",
            currency="EUR",
            regular_units=1,
            availability=Availability.IN_STOCK,
            sale_starts_at=ends,
            sale_ends_at=NOW,
        )
    assert refused.value.field == "sale_ends_at"


# --- structured data --------------------------------------------------------------------------


def tee(**changes: object) -> Product:
    fields: dict[str, object] = {
        "id": "tee",
        "name": "Retro tee",
        "description": "Soft cotton.",
        "brand": "Retro & Co",
        "option_axes": ("size",),
        "media": (Media(url="/img/tee.jpg"),),
        "state": PublicationState.ACTIVE,
        "variants": [
            Variant(sku="TEE-S", options={"size": "S"}, gtin="4006381333931", mpn="T-S"),
            Variant(sku="TEE-M", options={"size": "M"}),
            Variant(sku="TEE-L", options={"size": "L"}),
            Variant(sku="TEE-XL", options={"size": "XL"}),
            Variant(sku="TEE-XXL", options={"size": "XXL"}),
        ],
    }
    fields.update(changes)
    return Product(**fields)  # type: ignore[arg-type]


def offer(sku: str, units: int, can: Availability, **sale: object) -> Offer:
    return Offer(sku=sku, currency="EUR", regular_units=units, availability=can, **sale)  # type: ignore[arg-type]


def test_a_product_with_variants_has_an_aggregate_offer_and_an_offer_per_variant() -> None:
    offers = [
        offer(
            "TEE-S",
            2000,
            Availability.IN_STOCK,
            sale_units=1500,
            sale_ends_at=datetime(2026, 12, 1, tzinfo=UTC),
        ),
        offer("TEE-M", 2000, Availability.OUT_OF_STOCK),
        offer("TEE-L", 2200, Availability.BACKORDER),
        offer("TEE-XL", 2400, Availability.PREORDER),
    ]

    data = product_json_ld(tee(), offers, storefront=SHOP, now=NOW)

    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Product"
    assert data["name"] == "Retro tee"
    assert data["description"] == "Soft cotton."
    assert data["url"] == "https://shop.example/products/retro-tee"
    assert data["image"] == ["https://shop.example/img/tee.jpg"]
    assert data["brand"] == {"@type": "Brand", "name": "Retro & Co"}
    assert "sku" not in data
    aggregate = data["offers"]
    assert aggregate["@type"] == "AggregateOffer"
    assert (aggregate["lowPrice"], aggregate["highPrice"]) == ("15.00", "24.00")
    assert (aggregate["priceCurrency"], aggregate["offerCount"]) == ("EUR", 4)
    small, medium, large, extra = aggregate["offers"]
    assert small == {
        "@type": "Offer",
        "url": "https://shop.example/products/retro-tee?sku=TEE-S",
        "sku": "TEE-S",
        "price": "15.00",
        "priceCurrency": "EUR",
        "availability": "https://schema.org/InStock",
        "itemCondition": "https://schema.org/NewCondition",
        "priceValidUntil": "2026-11-30",
        "gtin": "4006381333931",
        "mpn": "T-S",
    }
    assert (medium["price"], medium["availability"]) == ("20.00", "https://schema.org/OutOfStock")
    assert large["availability"] == "https://schema.org/BackOrder"
    assert extra["availability"] == "https://schema.org/PreOrder"
    assert "priceValidUntil" not in medium
    assert all(isinstance(each["price"], str) for each in aggregate["offers"])


def test_a_product_of_one_variant_has_one_offer_and_its_identifiers() -> None:
    mug = Product(
        id="mug",
        name="Mug",
        condition="used",
        state=PublicationState.ACTIVE,
        variants=[Variant(sku="MUG", gtin="96385074")],
    )
    yen = Offer(sku="MUG", currency="JPY", regular_units=1200, availability=Availability.IN_STOCK)

    data = product_json_ld(mug, [yen], storefront=SHOP, now=NOW, brand="House brand")

    assert (data["sku"], data["gtin"], data["brand"]["name"]) == ("MUG", "96385074", "House brand")
    assert data["offers"]["@type"] == "Offer"
    assert (data["offers"]["price"], data["offers"]["priceCurrency"]) == ("1200", "JPY")
    assert data["offers"]["itemCondition"] == "https://schema.org/UsedCondition"
    assert data["offers"]["url"] == "https://shop.example/products/mug"
    assert "offers" not in product_json_ld(mug, [], storefront=SHOP, now=NOW)


def test_a_product_not_on_sale_is_offered_out_of_stock() -> None:
    draft = tee(state=PublicationState.ARCHIVED)
    data = product_json_ld(
        draft, [offer("TEE-S", 2000, Availability.IN_STOCK)], storefront=SHOP, now=NOW
    )
    assert data["offers"]["offers"][0]["availability"] == "https://schema.org/OutOfStock"


def test_json_ld_cannot_end_its_script_element() -> None:
    hostile = "</script><script>alert(1)</script><!-- & \u2028"
    data = product_json_ld(
        tee(name="Tee </SCRIPT>", description=hostile), [], storefront=SHOP, now=NOW
    )

    script = json_ld_script(data)

    inner = script.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert not re.search(r"[<>&\u2028\u2029]", inner)
    assert json.loads(inner) == data
    assert json.loads(json_ld_text(data))["description"] == hostile


def test_what_xml_cannot_hold_is_dropped_and_the_rest_escaped() -> None:
    # One control character anywhere would make the whole feed or sitemap unreadable.
    brand = "Acme\x01 & <Sons>\x0b\ud800 Ltd"
    written = "<v>" + xml_text(brand) + "</v>"
    assert ET.fromstring(written).text == "Acme & <Sons> Ltd"
